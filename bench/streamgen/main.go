// streamgen holds many WorkService.StreamOffers streams for bench/fanout.py and records,
// for each (stream, task), the CLOCK_MONOTONIC time its first offer arrived, and for each
// stream the time of its first withdrawal with reason NOT_ELIGIBLE (bench/scorewithdraw.py). That is the
// clock Python's time.monotonic() reads, so the times compare with the submitting
// process's.
//
// The messages are built and decoded from protos/ at run time (protocompile + dynamicpb),
// as claimgen does through ghz, so no generated code is kept.
//
// Usage: streamgen PLAN.json. The plan names the proto, the targets and one entry per
// stream (its index, target, bearer token and whether it is eligible). Stream i goes on
// a connection of its own target; each connection carries at most streams_per_conn
// streams. Protocol, one JSON object per line:
//
//	stdout  {"ready": N, "ended": {...}}   every stream has ended its snapshot or failed
//	stdin   {"wait": [task ids], "timeout": seconds}
//	stdout  {"receipts": {task: [[index, ns], ...]}, "ended": {...}}
//	        once every eligible stream has each task, or at the timeout
//	stdin   {"withdrawals": [stream indexes], "timeout": seconds}
//	stdout  {"withdrawn": {index: ns, ...}, "ended": {...}}
//	        every stream's first NOT_ELIGIBLE withdrawal so far (any task), once each
//	        stream listed has one, or at the timeout
//	stdin   {"stop": true}  (or end of input)
//	stdout  {"kinds": {kind: count}, "ended": {...}}, then exit
//
// "ended" maps a stream index to why it ended (a status, or "ended by the server").
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sync"
	"time"

	"github.com/bufbuild/protocompile"
	"golang.org/x/sys/unix"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

const method = "/crewline.v1.WorkService/StreamOffers"

type stream struct {
	Index    int    `json:"index"`
	Target   string `json:"target"`
	Token    string `json:"token"`
	Eligible bool   `json:"eligible"`
}

type plan struct {
	Proto          string   `json:"proto"`       // relative to import_path
	ImportPath     string   `json:"import_path"` // protos/
	ProjectID      string   `json:"project_id"`
	StreamsPerConn int      `json:"streams_per_conn"`
	ReadyTimeout   float64  `json:"ready_timeout"` // seconds
	CPUProfile     string   `json:"cpu_profile"`   // optional: a pprof CPU profile, to here
	Streams        []stream `json:"streams"`
}

type receipt [2]int64 // stream index, CLOCK_MONOTONIC ns

// state is shared by the stream goroutines and the control loop.
type state struct {
	mu        sync.Mutex
	receipts  map[string][]receipt // task id -> first receipt on each stream
	eligible  map[string]int       // task id -> eligible streams that have it
	kinds     map[string]int
	withdrawn map[string]int64  // stream index -> its first NOT_ELIGIBLE withdrawal, ns
	ended     map[string]string // stream index -> why
	settled   int               // streams whose snapshot ended or that ended
	opened    int               // streams whose first snapshot ended
	changed   chan struct{}     // closed and replaced on every change
}

func (s *state) notify() { // with s.mu held
	close(s.changed)
	s.changed = make(chan struct{})
}

func monotonicNs() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		panic(err)
	}
	return ts.Nano()
}

// fields: what streamgen reads of a StreamOffersResponse, by field number from the proto.
// Responses are scanned with protowire rather than decoded: only each offer's task_id is
// read, so the client spends little CPU beside the servers it measures.
type fields struct {
	request   protoreflect.MessageDescriptor
	projectID protoreflect.FieldDescriptor
	events    map[protowire.Number]string // the oneof "event": number -> name
	changes   protowire.Number            // StreamOffersResponse.changes (OfferChanges)
	change    protowire.Number            // OfferChanges.changes (repeated OfferChange)
	offered   protowire.Number            // OfferChange.offered (Offer)
	taskID    protowire.Number            // Offer.task_id
	withdrawn protowire.Number            // OfferChange.withdrawn (OfferWithdrawn)
	reason    protowire.Number            // OfferWithdrawn.reason
	// WithdrawalReason.WITHDRAWAL_REASON_NOT_ELIGIBLE's value
	notEligible protoreflect.EnumNumber
}

func loadFields(p plan) (fields, error) {
	compiler := protocompile.Compiler{
		Resolver: protocompile.WithStandardImports(&protocompile.SourceResolver{
			ImportPaths: []string{p.ImportPath},
		}),
	}
	files, err := compiler.Compile(context.Background(), filepath.ToSlash(p.Proto))
	if err != nil {
		return fields{}, err
	}
	msgs := files[0].Messages()
	message := func(name protoreflect.Name) (protoreflect.MessageDescriptor, error) {
		if m := msgs.ByName(name); m != nil {
			return m, nil
		}
		return nil, fmt.Errorf("%s: no message %s", p.Proto, name)
	}
	number := func(m protoreflect.MessageDescriptor, name protoreflect.Name) protowire.Number {
		if fd := m.Fields().ByName(name); fd != nil {
			return fd.Number()
		}
		err = fmt.Errorf("%s: no field %s.%s", p.Proto, m.Name(), name)
		return 0
	}
	f := fields{events: map[protowire.Number]string{}}
	var resp, changes, change, offer, withdrawn protoreflect.MessageDescriptor
	for name, into := range map[protoreflect.Name]*protoreflect.MessageDescriptor{
		"StreamOffersRequest": &f.request, "StreamOffersResponse": &resp,
		"OfferChanges": &changes, "OfferChange": &change, "Offer": &offer,
		"OfferWithdrawn": &withdrawn,
	} {
		if *into, err = message(name); err != nil {
			return fields{}, err
		}
	}
	f.projectID = f.request.Fields().ByName("project_id")
	event := resp.Oneofs().ByName("event")
	if f.projectID == nil || event == nil {
		return fields{}, fmt.Errorf("%s: no project_id or event oneof", p.Proto)
	}
	for i := 0; i < event.Fields().Len(); i++ {
		fd := event.Fields().Get(i)
		f.events[fd.Number()] = string(fd.Name())
	}
	f.changes = number(resp, "changes")
	f.change = number(changes, "changes")
	f.offered = number(change, "offered")
	f.taskID = number(offer, "task_id")
	f.withdrawn = number(change, "withdrawn")
	f.reason = number(withdrawn, "reason")
	reasons := files[0].Enums().ByName("WithdrawalReason")
	if reasons == nil || reasons.Values().ByName("WITHDRAWAL_REASON_NOT_ELIGIBLE") == nil {
		return fields{}, fmt.Errorf("%s: no WithdrawalReason.WITHDRAWAL_REASON_NOT_ELIGIBLE", p.Proto)
	}
	f.notEligible = reasons.Values().ByName("WITHDRAWAL_REASON_NOT_ELIGIBLE").Number()
	return f, err
}

// rawCodec passes messages through as bytes: the request is marshalled beforehand, the
// responses are scanned by scan. Named "proto", so the content type stays the same.
type rawCodec struct{}

func (rawCodec) Name() string { return "proto" }

func (rawCodec) Marshal(v any) ([]byte, error) { return v.([]byte), nil }

func (rawCodec) Unmarshal(data []byte, v any) error {
	*v.(*[]byte) = data
	return nil
}

// each calls fn with the contents of every length-delimited field numbered num in b.
func each(b []byte, num protowire.Number, fn func([]byte)) error {
	for len(b) > 0 {
		n, typ, size := protowire.ConsumeTag(b)
		if size < 0 {
			return protowire.ParseError(size)
		}
		b = b[size:]
		if n == num && typ == protowire.BytesType {
			v, size := protowire.ConsumeBytes(b)
			if size < 0 {
				return protowire.ParseError(size)
			}
			fn(v)
			b = b[size:]
			continue
		}
		size = protowire.ConsumeFieldValue(n, typ, b)
		if size < 0 {
			return protowire.ParseError(size)
		}
		b = b[size:]
	}
	return nil
}

// scan returns the event's kind ("None" if unset) and the task ids of its offers.
func (f fields) scan(b []byte) (kind string, offered []string, err error) {
	kind, offered, _, err = f.scanAll(b)
	return kind, offered, err
}

// isNotEligible says whether an OfferWithdrawn's reason is NOT_ELIGIBLE.
func (f fields) isNotEligible(w []byte) (bool, error) {
	for len(w) > 0 {
		n, typ, size := protowire.ConsumeTag(w)
		if size < 0 {
			return false, protowire.ParseError(size)
		}
		w = w[size:]
		if n == f.reason && typ == protowire.VarintType {
			v, size := protowire.ConsumeVarint(w)
			if size < 0 {
				return false, protowire.ParseError(size)
			}
			return protoreflect.EnumNumber(v) == f.notEligible, nil
		}
		size = protowire.ConsumeFieldValue(n, typ, w)
		if size < 0 {
			return false, protowire.ParseError(size)
		}
		w = w[size:]
	}
	return false, nil
}

// scanAll is scan, and also counts the withdrawals with reason NOT_ELIGIBLE.
func (f fields) scanAll(b []byte) (kind string, offered []string, notEligible int, err error) {
	kind = "None"
	var event []byte
	var eventNum protowire.Number
	for rest := b; len(rest) > 0; { // the oneof's last field on the wire wins
		n, typ, size := protowire.ConsumeTag(rest)
		if size < 0 {
			return "", nil, 0, protowire.ParseError(size)
		}
		rest = rest[size:]
		size = protowire.ConsumeFieldValue(n, typ, rest)
		if size < 0 {
			return "", nil, 0, protowire.ParseError(size)
		}
		if name, ok := f.events[n]; ok {
			kind, eventNum = name, n
			event, _ = protowire.ConsumeBytes(rest[:size])
		}
		rest = rest[size:]
	}
	if eventNum != f.changes {
		return kind, nil, 0, nil
	}
	var inner error
	keep := func(e error) {
		if inner == nil {
			inner = e
		}
	}
	err = each(event, f.change, func(change []byte) {
		keep(each(change, f.offered, func(offer []byte) {
			keep(each(offer, f.taskID, func(id []byte) { offered = append(offered, string(id)) }))
		}))
		keep(each(change, f.withdrawn, func(w []byte) {
			yes, e := f.isNotEligible(w)
			keep(e)
			if yes {
				notEligible++
			}
		}))
	})
	if err == nil {
		err = inner
	}
	return kind, offered, notEligible, err
}

func run(ctx context.Context, conn *grpc.ClientConn, f fields, request []byte, st stream, s *state) {
	key := fmt.Sprint(st.Index)
	snapshotEnded := false
	end := func(why string) {
		s.mu.Lock()
		defer s.mu.Unlock()
		s.ended[key] = why
		if !snapshotEnded { // it settles by ending
			s.settled++
		}
		s.notify()
	}
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+st.Token)
	cs, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, method,
		grpc.ForceCodec(rawCodec{}))
	if err == nil {
		if err = cs.SendMsg(request); err == nil {
			err = cs.CloseSend()
		}
	}
	if err != nil {
		end(status.Code(err).String() + ": " + status.Convert(err).Message())
		return
	}
	seen := map[string]bool{}
	for {
		var msg []byte
		if err := cs.RecvMsg(&msg); err != nil {
			if err == io.EOF {
				end("ended by the server")
			} else {
				end(status.Code(err).String() + ": " + status.Convert(err).Message())
			}
			return
		}
		at := monotonicNs()
		kind, offered, notEligible, err := f.scanAll(msg)
		if err != nil {
			end("malformed response: " + err.Error())
			return
		}
		var fresh []string
		for _, task := range offered {
			if !seen[task] {
				seen[task] = true
				fresh = append(fresh, task)
			}
		}
		s.mu.Lock()
		s.kinds[kind]++
		for _, task := range fresh {
			s.receipts[task] = append(s.receipts[task], receipt{int64(st.Index), at})
			if st.Eligible {
				s.eligible[task]++
			}
		}
		if _, ok := s.withdrawn[key]; notEligible > 0 && !ok {
			s.withdrawn[key] = at
			s.notify()
		}
		if kind == "snapshot_end" && !snapshotEnded {
			snapshotEnded = true
			s.settled++
			s.opened++
		}
		if len(fresh) > 0 || kind == "snapshot_end" {
			s.notify()
		}
		s.mu.Unlock()
	}
}

func emit(out *bufio.Writer, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	out.Write(b)
	out.WriteByte('\n')
	out.Flush()
}

// waitFor blocks until cond (called with s.mu held) holds or the deadline passes.
func waitFor(s *state, deadline time.Time, cond func() bool) {
	for {
		s.mu.Lock()
		ok, changed := cond(), s.changed
		s.mu.Unlock()
		left := time.Until(deadline)
		if ok || left <= 0 {
			return
		}
		select {
		case <-changed:
		case <-time.After(left):
		}
	}
}

func copyEnded(s *state) map[string]string { // with s.mu held
	m := make(map[string]string, len(s.ended))
	for k, v := range s.ended {
		m[k] = v
	}
	return m
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: streamgen PLAN.json")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "plan:", err)
		os.Exit(2)
	}
	var p plan
	if err := json.Unmarshal(raw, &p); err != nil {
		fmt.Fprintln(os.Stderr, "plan:", err)
		os.Exit(2)
	}
	if p.StreamsPerConn <= 0 || p.ReadyTimeout <= 0 {
		fmt.Fprintln(os.Stderr, "plan: streams_per_conn and ready_timeout must be positive")
		os.Exit(2)
	}
	f, err := loadFields(p)
	if err != nil {
		fmt.Fprintln(os.Stderr, "proto:", err)
		os.Exit(2)
	}
	req := dynamicpb.NewMessage(f.request)
	req.Set(f.projectID, protoreflect.ValueOfString(p.ProjectID))
	request, err := proto.Marshal(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, "request:", err)
		os.Exit(2)
	}
	s := &state{
		receipts:  map[string][]receipt{},
		eligible:  map[string]int{},
		kinds:     map[string]int{},
		withdrawn: map[string]int64{},
		ended:     map[string]string{},
		changed:   make(chan struct{}),
	}
	eligible := 0
	for _, st := range p.Streams {
		if st.Eligible {
			eligible++
		}
	}

	if p.CPUProfile != "" {
		out, err := os.Create(p.CPUProfile)
		if err == nil {
			err = pprof.StartCPUProfile(out)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "cpu profile:", err)
			os.Exit(2)
		}
		defer pprof.StopCPUProfile()
	}

	ctx, cancel := context.WithCancel(context.Background())
	var conns []*grpc.ClientConn
	current := map[string]*grpc.ClientConn{} // target -> connection being filled
	onConn := map[string]int{}
	var wg sync.WaitGroup
	for _, st := range p.Streams {
		if onConn[st.Target]%p.StreamsPerConn == 0 { // a new HTTP/2 connection
			conn, err := grpc.NewClient(st.Target,
				grpc.WithTransportCredentials(insecure.NewCredentials()))
			if err != nil {
				fmt.Fprintln(os.Stderr, "dial:", err)
				os.Exit(1)
			}
			conns = append(conns, conn)
			current[st.Target] = conn
		}
		onConn[st.Target]++
		wg.Add(1)
		go func(conn *grpc.ClientConn, st stream) {
			defer wg.Done()
			run(ctx, conn, f, request, st, s)
		}(current[st.Target], st)
	}

	out := bufio.NewWriter(os.Stdout)
	total := len(p.Streams)
	waitFor(s, time.Now().Add(time.Duration(p.ReadyTimeout*float64(time.Second))),
		func() bool { return s.settled >= total })
	s.mu.Lock()
	emit(out, map[string]any{"ready": s.opened, "ended": copyEnded(s)})
	s.mu.Unlock()

	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	for in.Scan() {
		var order struct {
			Wait        []string `json:"wait"`
			Withdrawals []int    `json:"withdrawals"`
			Timeout     float64  `json:"timeout"`
			Stop        bool     `json:"stop"`
		}
		if err := json.Unmarshal(in.Bytes(), &order); err != nil {
			fmt.Fprintln(os.Stderr, "order:", err)
			os.Exit(2)
		}
		if order.Stop {
			break
		}
		deadline := time.Now().Add(time.Duration(order.Timeout * float64(time.Second)))
		if order.Withdrawals != nil {
			waitFor(s, deadline, func() bool {
				for _, index := range order.Withdrawals {
					if _, ok := s.withdrawn[fmt.Sprint(index)]; !ok {
						return false
					}
				}
				return true
			})
			s.mu.Lock()
			got := make(map[string]int64, len(s.withdrawn))
			for k, v := range s.withdrawn {
				got[k] = v
			}
			emit(out, map[string]any{"withdrawn": got, "ended": copyEnded(s)})
			s.mu.Unlock()
			continue
		}
		waitFor(s, deadline, func() bool {
			for _, task := range order.Wait {
				if s.eligible[task] < eligible {
					return false
				}
			}
			return true
		})
		s.mu.Lock()
		got := make(map[string][]receipt, len(order.Wait))
		for _, task := range order.Wait {
			got[task] = append([]receipt{}, s.receipts[task]...)
			if got[task] == nil {
				got[task] = []receipt{}
			}
		}
		emit(out, map[string]any{"receipts": got, "ended": copyEnded(s)})
		s.mu.Unlock()
	}
	cancel()
	wg.Wait()
	for _, conn := range conns {
		conn.Close()
	}
	s.mu.Lock()
	for k, v := range s.ended { // cancelled by us, not a failure
		if v == "Canceled: context canceled" {
			delete(s.ended, k)
		}
	}
	emit(out, map[string]any{"kinds": s.kinds, "ended": copyEnded(s)})
	s.mu.Unlock()
}
