package main

import (
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/dynamicpb"
)

// A StreamOffersResponse built from the real protos, scanned back.
func TestScan(t *testing.T) {
	f, err := loadFields(plan{Proto: "crewline/v1/work_service.proto", ImportPath: "../../protos"})
	if err != nil {
		t.Fatal(err)
	}
	file := f.request.ParentFile()
	msg := func(name protoreflect.Name) *dynamicpb.Message {
		return dynamicpb.NewMessage(file.Messages().ByName(name))
	}
	set := func(m *dynamicpb.Message, field protoreflect.Name, v protoreflect.Value) {
		m.Set(m.Descriptor().Fields().ByName(field), v)
	}
	changes := msg("OfferChanges")
	list := changes.Mutable(changes.Descriptor().Fields().ByName("changes")).List()
	for _, id := range []string{"t1", "", "t2"} {
		change := msg("OfferChange")
		if id == "" { // a withdrawal: not an offer
			w := msg("OfferWithdrawn")
			set(w, "task_id", protoreflect.ValueOfString("gone"))
			set(change, "withdrawn", protoreflect.ValueOfMessage(w))
		} else {
			offer := msg("Offer")
			set(offer, "task_id", protoreflect.ValueOfString(id))
			set(offer, "title", protoreflect.ValueOfString("a title"))
			set(change, "offered", protoreflect.ValueOfMessage(offer))
		}
		list.Append(protoreflect.ValueOfMessage(change))
	}
	resp := msg("StreamOffersResponse")
	set(resp, "changes", protoreflect.ValueOfMessage(changes))
	b, err := proto.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	kind, offered, err := f.scan(b)
	if err != nil || kind != "changes" || !slices.Equal(offered, []string{"t1", "t2"}) {
		t.Fatalf("scan: %q %q %v", kind, offered, err)
	}

	end := msg("StreamOffersResponse")
	se := msg("SnapshotEnd")
	set(se, "offers", protoreflect.ValueOfInt32(3))
	set(end, "snapshot_end", protoreflect.ValueOfMessage(se))
	b, _ = proto.Marshal(end)
	if kind, offered, err := f.scan(b); err != nil || kind != "snapshot_end" || offered != nil {
		t.Fatalf("scan: %q %q %v", kind, offered, err)
	}
	if kind, _, err := f.scan(nil); err != nil || kind != "None" {
		t.Fatalf("scan of nothing: %q %v", kind, err)
	}
	if _, _, err := f.scan([]byte{0x32, 0x05, 0x0a}); err == nil { // truncated
		t.Fatal("scan of a truncated message: no error")
	}
}

// A truncated offer inside a well-formed change list is an error, not a silent skip.
func TestScanTruncatedOffer(t *testing.T) {
	f, err := loadFields(plan{Proto: "crewline/v1/work_service.proto", ImportPath: "../../protos"})
	if err != nil {
		t.Fatal(err)
	}
	offer := []byte{0x0a, 0x09, 't'} // task_id says 9 bytes, has 1
	change := append([]byte{0x0a, byte(len(offer))}, offer...)
	changes := append([]byte{0x0a, byte(len(change))}, change...)
	resp := append([]byte{0x32, byte(len(changes))}, changes...)
	if _, _, err := f.scan(resp); err == nil {
		t.Fatal("no error")
	}
}

// Withdrawals are counted only when their reason is NOT_ELIGIBLE.
func TestScanNotEligible(t *testing.T) {
	f, err := loadFields(plan{Proto: "crewline/v1/work_service.proto", ImportPath: "../../protos"})
	if err != nil {
		t.Fatal(err)
	}
	file := f.request.ParentFile()
	msg := func(name protoreflect.Name) *dynamicpb.Message {
		return dynamicpb.NewMessage(file.Messages().ByName(name))
	}
	reasons := file.Enums().ByName("WithdrawalReason").Values()
	changes := msg("OfferChanges")
	list := changes.Mutable(changes.Descriptor().Fields().ByName("changes")).List()
	for _, reason := range []protoreflect.Name{
		"WITHDRAWAL_REASON_FILLED", "WITHDRAWAL_REASON_NOT_ELIGIBLE", "WITHDRAWAL_REASON_NOT_ELIGIBLE",
	} {
		w := msg("OfferWithdrawn")
		w.Set(w.Descriptor().Fields().ByName("task_id"), protoreflect.ValueOfString("t"))
		w.Set(w.Descriptor().Fields().ByName("reason"),
			protoreflect.ValueOfEnum(reasons.ByName(reason).Number()))
		change := msg("OfferChange")
		change.Set(change.Descriptor().Fields().ByName("withdrawn"), protoreflect.ValueOfMessage(w))
		list.Append(protoreflect.ValueOfMessage(change))
	}
	resp := msg("StreamOffersResponse")
	resp.Set(resp.Descriptor().Fields().ByName("changes"), protoreflect.ValueOfMessage(changes))
	b, err := proto.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	kind, offered, notEligible, err := f.scanAll(b)
	if err != nil || kind != "changes" || offered != nil || notEligible != 2 {
		t.Fatalf("scanAll: %q %q %d %v", kind, offered, notEligible, err)
	}
}
