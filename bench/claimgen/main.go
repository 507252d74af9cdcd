// claimgen drives WorkService.ClaimTask with ghz's runner, each request as a different
// (contractor, task) pair so that every request can be granted: request n is contractor
// n mod C on task n mod T, with C and T coprime (unique pairs for n < C*T). The ghz CLI
// cannot vary the bearer token per request, hence this wrapper. Reads a JSON plan on
// stdin, writes ghz's JSON report on stdout (with each call's latency in "details").
//
// With "method": "submit" it drives WorkService.SubmitWork instead: request n hands in
// results[n mod R] for claims[n], as its contractor (tokens[claim_tokens[n]]), so each
// claim is submitted once; total is then at most the number of claims.
package main

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/bojand/ghz/runner"
	"github.com/jhump/protoreflect/desc"
	"google.golang.org/grpc/metadata"
)

type plan struct {
	Host        string   `json:"host"`
	Proto       string   `json:"proto"`
	ImportPath  string   `json:"import_path"`
	Tokens      []string `json:"tokens"`
	Tasks       []string `json:"tasks"`
	Prefix      string   `json:"prefix"`
	Total       uint     `json:"total"`
	Concurrency uint     `json:"concurrency"`
	Connections uint     `json:"connections"`
	RPS         uint     `json:"rps"`
	CPUs        uint     `json:"cpus"`
	// Submit mode.
	Method        string   `json:"method"`
	Claims        []string `json:"claims"`
	ClaimTokens   []int    `json:"claim_tokens"`
	Results       []string `json:"results"`
	WorkedSeconds uint64   `json:"worked_seconds"`
}

func main() {
	var p plan
	if err := json.NewDecoder(os.Stdin).Decode(&p); err != nil {
		fmt.Fprintln(os.Stderr, "plan:", err)
		os.Exit(2)
	}
	md := make([]metadata.MD, len(p.Tokens))
	for i, tok := range p.Tokens {
		md[i] = metadata.Pairs("authorization", "Bearer "+tok)
	}
	method, perCall := "crewline.v1.WorkService.ClaimTask", claimCalls(p, md)
	if p.Method == "submit" {
		if p.Total > uint(len(p.Claims)) || len(p.ClaimTokens) != len(p.Claims) || len(p.Results) == 0 {
			fmt.Fprintln(os.Stderr, "plan: submit needs a token index per claim, results, and total <= claims")
			os.Exit(2)
		}
		method, perCall = "crewline.v1.WorkService.SubmitWork", submitCalls(p, md)
	}
	opts := append([]runner.Option{
		runner.WithProtoFile(p.Proto, []string{p.ImportPath}),
		runner.WithInsecure(true),
		runner.WithTotalRequests(p.Total),
		runner.WithConcurrency(p.Concurrency),
		runner.WithConnections(p.Connections),
		runner.WithRPS(p.RPS),
		runner.WithCPUs(p.CPUs),
		runner.WithTimeout(20 * time.Second),
	}, perCall...)
	report, err := runner.Run(method, p.Host, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(report); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

// claimCalls: request n is contractor n mod C claiming task n mod T.
func claimCalls(p plan, md []metadata.MD) []runner.Option {
	c, t := int64(len(md)), int64(len(p.Tasks))
	return []runner.Option{
		runner.WithMetadataProvider(func(cd *runner.CallData) (*metadata.MD, error) {
			m := md[cd.RequestNumber%c].Copy()
			return &m, nil
		}),
		runner.WithBinaryDataFunc(func(_ *desc.MethodDescriptor, cd *runner.CallData) []byte {
			return claimRequest(fmt.Sprintf("%s-%d", p.Prefix, cd.RequestNumber), p.Tasks[cd.RequestNumber%t])
		}),
	}
}

// submitCalls: request n submits claims[n] as its own contractor. The requests are
// encoded before the run, so the generator spends nothing on them while it is timed.
func submitCalls(p plan, md []metadata.MD) []runner.Option {
	bodies := make([][]byte, p.Total)
	for n := range bodies {
		bodies[n] = submitRequest(p.Claims[n], p.Results[n%len(p.Results)], p.WorkedSeconds)
	}
	return []runner.Option{
		runner.WithMetadataProvider(func(cd *runner.CallData) (*metadata.MD, error) {
			m := md[p.ClaimTokens[cd.RequestNumber]].Copy()
			return &m, nil
		}),
		runner.WithBinaryDataFunc(func(_ *desc.MethodDescriptor, cd *runner.CallData) []byte {
			return bodies[cd.RequestNumber]
		}),
	}
}

// submitRequest encodes SubmitWorkRequest{claim_id: 1, result: 3, worked_seconds: 5}.
func submitRequest(claimID, result string, worked uint64) []byte {
	out := make([]byte, 0, 16+len(claimID)+len(result))
	out = append(out, 0x0a)
	out = binary.AppendUvarint(out, uint64(len(claimID)))
	out = append(out, claimID...)
	out = append(out, 0x1a)
	out = binary.AppendUvarint(out, uint64(len(result)))
	out = append(out, result...)
	if worked > 0 {
		out = append(out, 0x28)
		out = binary.AppendUvarint(out, worked)
	}
	return out
}

// claimRequest encodes ClaimTaskRequest{request_id: 1, task_id: 3} (both under 128 bytes).
func claimRequest(requestID, taskID string) []byte {
	out := make([]byte, 0, 4+len(requestID)+len(taskID))
	out = append(out, 0x0a, byte(len(requestID)))
	out = append(out, requestID...)
	out = append(out, 0x1a, byte(len(taskID)))
	return append(out, taskID...)
}
