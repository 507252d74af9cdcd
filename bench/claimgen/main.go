// claimgen drives WorkService.ClaimTask with ghz's runner, each request as a different
// (contractor, task) pair so that every request can be granted: request n is contractor
// n mod C on task n mod T, with C and T coprime (unique pairs for n < C*T). The ghz CLI
// cannot vary the bearer token per request, hence this wrapper. Reads a JSON plan on
// stdin, writes ghz's JSON report on stdout.
package main

import (
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
}

func main() {
	var p plan
	if err := json.NewDecoder(os.Stdin).Decode(&p); err != nil {
		fmt.Fprintln(os.Stderr, "plan:", err)
		os.Exit(2)
	}
	c, t := int64(len(p.Tokens)), int64(len(p.Tasks))
	md := make([]metadata.MD, c)
	for i, tok := range p.Tokens {
		md[i] = metadata.Pairs("authorization", "Bearer "+tok)
	}
	opts := []runner.Option{
		runner.WithProtoFile(p.Proto, []string{p.ImportPath}),
		runner.WithInsecure(true),
		runner.WithTotalRequests(p.Total),
		runner.WithConcurrency(p.Concurrency),
		runner.WithConnections(p.Connections),
		runner.WithRPS(p.RPS),
		runner.WithCPUs(p.CPUs),
		runner.WithTimeout(20 * time.Second),
		runner.WithMetadataProvider(func(cd *runner.CallData) (*metadata.MD, error) {
			m := md[cd.RequestNumber%c].Copy()
			return &m, nil
		}),
		runner.WithBinaryDataFunc(func(_ *desc.MethodDescriptor, cd *runner.CallData) []byte {
			return claimRequest(fmt.Sprintf("%s-%d", p.Prefix, cd.RequestNumber), p.Tasks[cd.RequestNumber%t])
		}),
	}
	report, err := runner.Run("crewline.v1.WorkService.ClaimTask", p.Host, opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "run:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(report); err != nil {
		fmt.Fprintln(os.Stderr, "report:", err)
		os.Exit(1)
	}
}

// claimRequest encodes ClaimTaskRequest{request_id: 1, task_id: 3} (both under 128 bytes).
func claimRequest(requestID, taskID string) []byte {
	out := make([]byte, 0, 4+len(requestID)+len(taskID))
	out = append(out, 0x0a, byte(len(requestID)))
	out = append(out, requestID...)
	out = append(out, 0x1a, byte(len(taskID)))
	return append(out, taskID...)
}
