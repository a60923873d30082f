package ingest

import (
	"strconv"
	"testing"
	"time"

	"buf.build/go/protovalidate"
	"github.com/liftlabs/lift/pkg/nulbyte"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"google.golang.org/protobuf/proto"
)

// FuzzParseOptimizely feeds arbitrary bytes through the path an SDK event
// batch takes in the results service: ParseOptimizely, protovalidate,
// CheckSize and Build against the experiments the batch itself names.
// Nothing may panic; a rejected batch is an apierr with a message; a NUL
// is found in no string of a batch MayHoldNUL clears; an
// accepted one never yields more stored events than it holds, and the
// parsed request survives a proto round trip unchanged.
func FuzzParseOptimizely(f *testing.F) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for _, s := range []string{
		`{"project_id":"7","visitors":[{"visitor_id":"u","attributes":[{"entity_id":"1","key":"plan","type":"custom","value":"pro"}],"snapshots":[{"decisions":[{"campaign_id":"1","experiment_id":"11","variation_id":"21"}],"events":[{"entity_id":"1","key":"campaign_activated","uuid":"a","timestamp":` + strconv.FormatInt(now, 10) + `}]}]}]}`,
		`{"project_id":"7","visitors":[{"visitor_id":"u","snapshots":[{"events":[{"key":"purchase","uuid":"b","timestamp":1,"revenue":1500,"value":2.5,"tags":{"k":[1,{"x":null}]}}]}]}]}`,
		`{"project_id":"7","visitors":[{"visitor_id":"u","snapshots":[{"decisions":[{"experiment_id":"11","variation_id":"21","metadata":{"rule_type":"rollout"}}],"events":[{"key":"campaign_activated","uuid":"c","timestamp":1}]}]}]}`,
		`{"project_id":"7","visitors":[{"visitor_id":"bot","attributes":[{"key":"$opt_bot_filtering","value":true},{"key":"$opt_user_agent","value":"Googlebot/2.1"}],"snapshots":[{"events":[{"key":"k","uuid":"d","timestamp":1}]}]}]}`,
		`{"project_id":"7","visitors":[{"visitor_id":"u","snapshots":[{"events":[{"key":"k","uuid":"e","timestamp":1,"revenue":12.5}]}]}]}`,
		`{"project_id":"x","visitors":[]}`,
		`{"visitors":[]}`,
		`{"project_id":"7","visitors":[{"visitor_id":"u","snapshots":[{"events":[{"key":"k","uuid":"f","timestamp":99999999999999999}]}]}]}`,
		`{"project_id":"7","visitors":[{"visitor_id":"u\u0000","attributes":[{"value":{"k\\u0000":"\u0000"}}]}]}`,
		`[]`, `null`, `{`, "\x00", `{"project_id":"7","visitors":[{"attributes":[{"value":1e400}]}]}`,
	} {
		f.Add([]byte(s))
	}
	lim := Limits{MaxEvents: 100, MaxFutureSkew: time.Hour, Now: func() time.Time { return time.UnixMilli(now) }}
	f.Fuzz(func(t *testing.T, body []byte) {
		req, ignored, err := ParseOptimizely(body)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("rejection without a message")
			}
			return
		}
		if ignored < 0 {
			t.Fatalf("ignored = %d", ignored)
		}
		if !MayHoldNUL(body) && nulbyte.Check(req) != nil {
			t.Fatal("a NUL in a string parsed from a body MayHoldNUL cleared")
		}
		if protovalidate.Validate(req) != nil {
			if PlainlyValid(req) {
				t.Fatalf("PlainlyValid accepted a batch protovalidate refuses: %v", protovalidate.Validate(req))
			}
			return
		}
		wire, err := proto.Marshal(req)
		if err != nil {
			t.Fatalf("parsed request does not marshal: %v", err)
		}
		back := &resultsv1.IngestEventsRequest{}
		if err := proto.Unmarshal(wire, back); err != nil || !proto.Equal(back, req) {
			t.Fatalf("parsed request does not survive a round trip: %v", err)
		}
		known := Known{}
		for _, v := range req.GetVisitors() {
			for _, s := range v.GetSnapshots() {
				for _, d := range s.GetDecisions() {
					e, err1 := strconv.ParseInt(d.GetExperimentId(), 10, 64)
					vr, err2 := strconv.ParseInt(d.GetVariationId(), 10, 64)
					if err1 == nil && err2 == nil {
						if known[e] == nil {
							known[e] = map[int64]bool{}
						}
						known[e][vr] = true
					}
				}
			}
		}
		b, err := Build(req, known, lim, false)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("rejection without a message")
			}
			return
		}
		n := CountEvents(req)
		if len(b.Events)+b.BotEvents > n {
			t.Fatalf("%d events and %d bots stored from a batch of %d", len(b.Events), b.BotEvents, n)
		}
		for _, e := range b.Events {
			if e.At.After(time.UnixMilli(now).Add(time.Hour)) {
				t.Fatalf("event %q in the future: %v", e.UUID, e.At)
			}
		}
	})
}
