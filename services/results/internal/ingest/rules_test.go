package ingest

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"buf.build/go/protovalidate"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// sdkShapedRequest is what ParseOptimizely makes of a typical SDK batch:
// an impression with its decision, a conversion with a value, attributes.
func sdkShapedRequest() *resultsv1.IngestEventsRequest {
	value := 12.5
	return &resultsv1.IngestEventsRequest{ProjectId: "42", Visitors: []*resultsv1.Visitor{
		{VisitorId: "user-1", Attributes: []*resultsv1.VisitorAttribute{
			{EntityId: "$opt_user_agent", Key: "$opt_user_agent", Type: "custom", Value: structpb.NewStringValue("Mozilla/5.0")},
		}, Snapshots: []*resultsv1.Snapshot{{
			Decisions: []*resultsv1.Decision{{CampaignId: "7", ExperimentId: "8", VariationId: "9"}},
			Events:    []*resultsv1.SnapshotEvent{{EntityId: "7", Key: ImpressionKey, Timestamp: 1763900000000, Uuid: "a1b2"}},
		}}},
		{VisitorId: "user-1", Snapshots: []*resultsv1.Snapshot{{
			Events: []*resultsv1.SnapshotEvent{{EntityId: "11", Key: "purchase", Timestamp: 1763900060000, Uuid: "c3d4", Value: &value}},
		}}},
	}}
}

func TestPlainlyValid_AcceptsTheTypicalSDKBatch(t *testing.T) {
	req := sdkShapedRequest()
	if err := protovalidate.Validate(req); err != nil {
		t.Fatalf("the sample is invalid: %v", err)
	}
	if !PlainlyValid(req) {
		t.Fatal("PlainlyValid is not sure of a typical SDK batch: protovalidate would run on every batch")
	}
}

// The pre-check may say "not sure" of a valid batch (protovalidate then
// decides), never "valid" of an invalid one. Each case changes one field of
// a valid batch to a value at or just past a declared limit.
func TestPlainlyValid_NeverAcceptsWhatProtovalidateRefuses(t *testing.T) {
	strs := func(n int, unit string) string { return strings.Repeat(unit, n) }
	idCases := []string{"", "0", "1", "1234567890123456789", "12345678901234567890", "-1", " 1", "1\n", "1a", "١"}
	textCases := func(limit int) []string {
		var out []string
		for _, n := range []int{0, 1, limit - 1, limit, limit + 1} {
			if n >= 0 {
				out = append(out, strs(n, "x"), strs(n, "é"))
			}
		}
		return out
	}
	floats := []float64{0, -1, 1e15, -1e15, math.Nextafter(1e15, 2e15), math.Nextafter(-1e15, -2e15), 1e308, math.NaN(), math.Inf(1), math.Inf(-1)}
	type mutation func(r *resultsv1.IngestEventsRequest)
	var cases []mutation
	for _, s := range idCases {
		cases = append(cases,
			func(r *resultsv1.IngestEventsRequest) { r.ProjectId = s },
			func(r *resultsv1.IngestEventsRequest) { r.Visitors[0].Snapshots[0].Decisions[0].ExperimentId = s },
			func(r *resultsv1.IngestEventsRequest) { r.Visitors[0].Snapshots[0].Decisions[0].VariationId = s })
	}
	for _, s := range textCases(256) {
		cases = append(cases,
			func(r *resultsv1.IngestEventsRequest) { r.Visitors[0].VisitorId = s },
			func(r *resultsv1.IngestEventsRequest) { r.Visitors[0].Attributes[0].EntityId = s },
			func(r *resultsv1.IngestEventsRequest) { r.Visitors[0].Attributes[0].Key = s })
	}
	for _, s := range textCases(64) {
		cases = append(cases,
			func(r *resultsv1.IngestEventsRequest) { r.Visitors[0].Attributes[0].Type = s },
			func(r *resultsv1.IngestEventsRequest) { r.Visitors[0].Snapshots[0].Decisions[0].CampaignId = s },
			func(r *resultsv1.IngestEventsRequest) { r.Visitors[0].Snapshots[0].Events[0].EntityId = s },
			func(r *resultsv1.IngestEventsRequest) { r.Visitors[0].Snapshots[0].Events[0].Uuid = s })
	}
	for _, s := range textCases(128) {
		cases = append(cases, func(r *resultsv1.IngestEventsRequest) { r.Visitors[1].Snapshots[0].Events[0].Key = s })
	}
	for _, ts := range []int64{-1, 0, 1} {
		cases = append(cases, func(r *resultsv1.IngestEventsRequest) { r.Visitors[1].Snapshots[0].Events[0].Timestamp = ts })
	}
	for _, f := range floats {
		cases = append(cases, func(r *resultsv1.IngestEventsRequest) { r.Visitors[1].Snapshots[0].Events[0].Value = &f })
	}
	for _, n := range []int{100, 101} {
		cases = append(cases, func(r *resultsv1.IngestEventsRequest) {
			tags := map[string]*structpb.Value{}
			for i := range n {
				tags[strs(i+1, "k")] = structpb.NewNullValue()
			}
			r.Visitors[1].Snapshots[0].Events[0].Tags = tags
		})
	}
	repeat := func(n int, f func(r *resultsv1.IngestEventsRequest, i int)) mutation {
		return func(r *resultsv1.IngestEventsRequest) {
			for i := range n {
				f(r, i)
			}
		}
	}
	for _, n := range []int{99, 100} { // to 100 and 101 decisions
		cases = append(cases, repeat(n, func(r *resultsv1.IngestEventsRequest, _ int) {
			s := r.Visitors[0].Snapshots[0]
			s.Decisions = append(s.Decisions, proto.Clone(s.Decisions[0]).(*resultsv1.Decision))
		}))
	}
	for _, n := range []int{199, 200} { // to 200 and 201 attributes
		cases = append(cases, repeat(n, func(r *resultsv1.IngestEventsRequest, _ int) {
			v := r.Visitors[0]
			v.Attributes = append(v.Attributes, proto.Clone(v.Attributes[0]).(*resultsv1.VisitorAttribute))
		}))
	}
	for _, n := range []int{9998, 9999} { // to 10000 and 10001 visitors
		cases = append(cases, repeat(n, func(r *resultsv1.IngestEventsRequest, _ int) {
			r.Visitors = append(r.Visitors, r.Visitors[1])
		}))
	}
	// And combinations of two, at random, for interactions.
	rng := rand.New(rand.NewPCG(5, 9))
	single := len(cases)
	for range 2000 {
		a, b := cases[rng.IntN(single)], cases[rng.IntN(single)]
		cases = append(cases, func(r *resultsv1.IngestEventsRequest) { a(r); b(r) })
	}
	cases = append(cases, func(r *resultsv1.IngestEventsRequest) { r.Visitors = nil })

	accepted, refused := 0, 0
	for i, mutate := range cases {
		r := sdkShapedRequest()
		mutate(r)
		verdict := protovalidate.Validate(r)
		if verdict != nil {
			refused++
		}
		if PlainlyValid(r) {
			accepted++
			if verdict != nil {
				t.Fatalf("case %d: PlainlyValid accepted a batch protovalidate refuses: %v", i, verdict)
			}
		}
	}
	// The cases must exercise both sides, or the check proves nothing.
	if refused < 100 || accepted < 100 {
		t.Fatalf("only %d cases refused by protovalidate and %d plainly valid: the cases do not reach the limits", refused, accepted)
	}
	t.Logf("%d cases: %d refused by protovalidate, %d plainly valid, none of them refused", len(cases), refused, accepted)
}
