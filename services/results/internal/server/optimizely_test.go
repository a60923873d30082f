package server_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/optimizely/go-sdk/v2/pkg/event"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// sdkBatch builds a batch with the Optimizely Go SDK's own event types, so
// the JSON is exactly what an SDK sends.
func (s *stack) sdkBatch(visitors ...event.Visitor) []byte {
	b, err := json.Marshal(event.Batch{
		Revision: "7", AccountID: s.acct.ID, ProjectID: s.project.GetId(), ClientName: "go-sdk", ClientVersion: "2.3.1",
		AnonymizeIP: true, EnrichDecisions: true, Visitors: visitors,
	})
	if err != nil {
		panic(err)
	}
	return b
}

func sdkAttributes(botFiltering bool, userAgent string) []event.VisitorAttribute {
	attrs := []event.VisitorAttribute{{Key: "$opt_bot_filtering", EntityID: "$opt_bot_filtering", AttributeType: "custom", Value: botFiltering}}
	if userAgent != "" {
		attrs = append(attrs, event.VisitorAttribute{Key: "$opt_user_agent", EntityID: "$opt_user_agent", AttributeType: "custom", Value: userAgent})
	}
	return attrs
}

func (s *stack) sdkImpression(visitorID, variation, uuid string, at time.Time, attrs []event.VisitorAttribute) event.Visitor {
	return event.Visitor{
		VisitorID: visitorID, Attributes: attrs,
		Snapshots: []event.Snapshot{{
			Decisions: []event.Decision{{
				CampaignID: "1", ExperimentID: s.e.GetId(), VariationID: variation,
				Metadata: event.DecisionMetadata{FlagKey: "f", RuleKey: "checkout", RuleType: "experiment", VariationKey: "x", Enabled: true},
			}},
			Events: []event.SnapshotEvent{{EntityID: "1", Key: "campaign_activated", Timestamp: at.UnixMilli(), UUID: uuid, Tags: map[string]any{}}},
		}},
	}
}

func sdkConversion(visitorID, key, uuid string, at time.Time, revenue int64, attrs []event.VisitorAttribute) event.Visitor {
	return event.Visitor{
		VisitorID: visitorID, Attributes: attrs,
		Snapshots: []event.Snapshot{{Events: []event.SnapshotEvent{{
			EntityID: "99", Key: key, Timestamp: at.UnixMilli(), UUID: uuid,
			Tags: map[string]any{"revenue": revenue}, Revenue: &revenue,
		}}}},
	}
}

func TestIngestOptimizelyBatch_SDKJSONWithSDKKeyCountsOnceAndFiltersBots(t *testing.T) {
	s := newStack(t)
	at := day()
	human := sdkAttributes(true, "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Safari/605.1.15")
	bot := sdkAttributes(true, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")
	rollout := event.Visitor{VisitorID: "r1", Attributes: human, Snapshots: []event.Snapshot{{
		Decisions: []event.Decision{{CampaignID: "5", ExperimentID: "987654", VariationID: "123", Metadata: event.DecisionMetadata{RuleType: "rollout"}}},
		Events:    []event.SnapshotEvent{{EntityID: "5", Key: "campaign_activated", Timestamp: at.UnixMilli(), UUID: "rollout-1"}},
	}}}
	body := s.sdkBatch(
		s.sdkImpression("u1", s.control, "imp-1", at, human),
		sdkConversion("u1", "purchase", "conv-1", at.Add(time.Minute), 1250, human),
		s.sdkImpression("u2", s.treat, "imp-2", at, human),
		s.sdkImpression("bot1", s.treat, "imp-3", at, bot),
		sdkConversion("bot1", "purchase", "conv-3", at.Add(time.Minute), 999, bot),
		rollout,
	)
	req := &resultsv1.IngestOptimizelyBatchRequest{Batch: body, SdkKey: s.sdkKey}
	resp, err := s.r.IngestOptimizelyBatch(t.Context(), req) // no API token: the SDK key is the credential
	if err != nil {
		t.Fatal(err)
	}
	if resp.GetAcceptedEvents() != 3 || resp.GetBotEvents() != 2 || resp.GetIgnoredEvents() != 1 || resp.GetDuplicateEvents() != 0 {
		t.Fatalf("first send: %+v", resp)
	}
	resp, err = s.r.IngestOptimizelyBatch(t.Context(), req) // the SDK retries
	if err != nil || resp.GetAcceptedEvents() != 0 || resp.GetDuplicateEvents() != 3 {
		t.Fatalf("second send: %+v, %v", resp, err)
	}

	r := s.results(t, &resultsv1.GetExperimentResultsRequest{MetricKeys: []string{"purchase"}})
	if r.GetReach().GetTotalCount() != 2 {
		t.Fatalf("reach %+v", r.GetReach())
	}
	rate := r.GetMetrics()[0].GetResults()
	if rate[0].GetSamples() != 1 || rate[0].GetConverters() != 1 || rate[1].GetSamples() != 1 || rate[1].GetConverters() != 0 {
		t.Fatalf("results %v", rate)
	}
	if rev := r.GetMetrics()[1]; rev.GetAggregator() != resultsv1.Aggregator_AGGREGATOR_REVENUE || rev.GetResults()[0].GetValue() != 1250 {
		t.Fatalf("revenue %v", rev)
	}
}

func TestIngestOptimizelyBatch_WithAPITokenInsteadOfSDKKey(t *testing.T) {
	s := newStack(t)
	body := s.sdkBatch(s.sdkImpression("u1", s.treat, "imp-1", day(), nil))
	resp, err := s.r.IngestOptimizelyBatch(s.write, &resultsv1.IngestOptimizelyBatchRequest{Batch: body})
	if err != nil || resp.GetAcceptedEvents() != 1 {
		t.Fatalf("%+v, %v", resp, err)
	}
	_, err = s.r.IngestOptimizelyBatch(t.Context(), &resultsv1.IngestOptimizelyBatchRequest{Batch: body})
	assertReason(t, err, codes.Unauthenticated, "CREDENTIAL_REQUIRED")
	_, err = s.r.IngestOptimizelyBatch(s.read, &resultsv1.IngestOptimizelyBatchRequest{Batch: body})
	assertReason(t, err, codes.PermissionDenied, "WRITE_SCOPE_REQUIRED")
}

func TestIngestOptimizelyBatch_RejectsBadBatchesWhole(t *testing.T) {
	s := newStack(t)
	at := day()
	good := s.sdkImpression("u1", s.control, "imp-ok", at, nil)
	cases := []struct {
		name   string
		body   []byte
		reason string
	}{
		{"malformed JSON", []byte(`{"project_id": "1", "visitors": [`), "MALFORMED_BATCH"},
		{"no project", []byte(`{"visitors": []}`), "MALFORMED_BATCH"},
		{"event without uuid", s.sdkBatch(good, sdkConversion("u1", "purchase", "", at, 1, nil)), "MALFORMED_BATCH"},
		{"unknown experiment", s.sdkBatch(good, func() event.Visitor {
			v := s.sdkImpression("u2", s.control, "imp-x", at, nil)
			v.Snapshots[0].Decisions[0].ExperimentID = "424242"
			return v
		}()), "UNKNOWN_EXPERIMENT"},
		{"unknown variation", s.sdkBatch(good, s.sdkImpression("u2", "777", "imp-y", at, nil)), "UNKNOWN_VARIATION"},
		{"timestamp in the future", s.sdkBatch(good, sdkConversion("u1", "purchase", "conv-f", time.Now().Add(3*time.Hour), 1, nil)), "TIMESTAMP_IN_FUTURE"},
		{"fractional revenue", []byte(fmt.Sprintf(`{"project_id": %q, "visitors": [{"visitor_id": "u", "snapshots": [{"events": [{"key": "purchase", "uuid": "a", "timestamp": %d, "revenue": 12.5}]}]}]}`,
			s.project.GetId(), at.UnixMilli())), "MALFORMED_BATCH"},
		{"value beyond 10^15", []byte(fmt.Sprintf(`{"project_id": %q, "visitors": [{"visitor_id": "u", "snapshots": [{"events": [{"key": "purchase", "uuid": "a", "timestamp": %d, "value": 1e200}]}]}]}`,
			s.project.GetId(), at.UnixMilli())), "MALFORMED_BATCH"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := s.r.IngestOptimizelyBatch(t.Context(), &resultsv1.IngestOptimizelyBatchRequest{Batch: c.body, SdkKey: s.sdkKey})
			assertReason(t, err, codes.InvalidArgument, c.reason)
		})
	}
	// All or nothing: the good impression in every rejected batch was not
	// stored.
	if r := s.results(t, nil); r.GetReach().GetTotalCount() != 0 {
		t.Fatalf("rejected batches left %d visitors", r.GetReach().GetTotalCount())
	}
}

// A decoded JSON string holds a NUL only through the escape \u0000, so
// validation looks for NULs only in bodies that have it: such a NUL is
// refused naming its field wherever it is, a raw NUL byte is malformed
// JSON, and an escaped backslash before "u0000" is six ordinary characters.
func TestIngestOptimizelyBatch_NULOnlyThroughItsEscape(t *testing.T) {
	s := newStack(t)
	at := day()
	withAttr := func(value any) []event.VisitorAttribute {
		return []event.VisitorAttribute{{Key: "plan", EntityID: "plan", AttributeType: "custom", Value: value}}
	}
	rejected := []struct {
		name, field string
		body        []byte
	}{
		{"in visitor_id", "visitors[0].visitor_id", s.sdkBatch(s.sdkImpression("u\x00", s.control, "imp-1", at, nil))},
		{"in an attribute value", "visitors[0].attributes[0].value", s.sdkBatch(s.sdkImpression("u1", s.control, "imp-1", at, withAttr("pro\x00")))},
		{"in an event key", "visitors[0].snapshots[0].events[0].key", s.sdkBatch(sdkConversion("u1", "pur\x00chase", "conv-1", at, 1, nil))},
	}
	for _, c := range rejected {
		t.Run(c.name, func(t *testing.T) {
			if !bytes.Contains(c.body, []byte(`\u0000`)) {
				t.Fatalf("the SDK did not escape the NUL: %s", c.body)
			}
			_, err := s.r.IngestOptimizelyBatch(t.Context(), &resultsv1.IngestOptimizelyBatchRequest{Batch: c.body, SdkKey: s.sdkKey})
			assertReason(t, err, codes.InvalidArgument, "MALFORMED_BATCH")
			if msg := status.Convert(err).Message(); !strings.Contains(msg, c.field) {
				t.Fatalf("%q does not name %s", msg, c.field)
			}
		})
	}
	raw := bytes.Replace(s.sdkBatch(s.sdkImpression("u1", s.control, "imp-1", at, nil)), []byte(`"u1"`), []byte("\"u\x001\""), 1)
	_, err := s.r.IngestOptimizelyBatch(t.Context(), &resultsv1.IngestOptimizelyBatchRequest{Batch: raw, SdkKey: s.sdkKey})
	assertReason(t, err, codes.InvalidArgument, "MALFORMED_BATCH")
	if msg := status.Convert(err).Message(); !strings.Contains(msg, "not valid JSON") {
		t.Fatalf("a raw NUL byte: %q", msg)
	}

	literal := s.sdkBatch(s.sdkImpression(`u\u0000`, s.control, "imp-literal", at, withAttr(`pro\u0000`)))
	if !bytes.Contains(literal, []byte(`\\u0000`)) {
		t.Fatalf("the backslash is not escaped: %s", literal)
	}
	resp, err := s.r.IngestOptimizelyBatch(t.Context(), &resultsv1.IngestOptimizelyBatchRequest{Batch: literal, SdkKey: s.sdkKey})
	if err != nil || resp.GetAcceptedEvents() != 1 {
		t.Fatalf("an escaped backslash before u0000: %+v, %v", resp, err)
	}
}

func TestIngestEvents_RejectsOversizeBatch(t *testing.T) {
	s := newStack(t, resultstestOptions(5))
	seq := 0
	var vs []*resultsv1.Visitor
	for i := 0; i < 6; i++ {
		vs = append(vs, visitor(fmt.Sprintf("v%d", i), &seq).impression(s.e.GetId(), s.control, 0).v)
	}
	_, err := s.r.IngestEvents(s.write, &resultsv1.IngestEventsRequest{ProjectId: s.project.GetId(), Visitors: vs})
	assertReason(t, err, codes.InvalidArgument, "BATCH_TOO_LARGE")
	if resp := s.ingest(t, vs[:5]...); resp.GetAcceptedEvents() != 5 {
		t.Fatalf("batch at the limit: %+v", resp)
	}
}

func TestIngestEvents_AnotherAccountsExperimentIsUnknown(t *testing.T) {
	s := newStack(t)
	other := s.id.NewAccount(t)
	otherWrite := s.id.Token(t, other, identityScopeWrite)
	otherProject := s.id.CreateProject(t, other.AdminToken, "Theirs")
	seq := 0
	_, err := s.r.IngestEvents(withToken(otherWrite), &resultsv1.IngestEventsRequest{
		ProjectId: otherProject.GetId(),
		Visitors:  []*resultsv1.Visitor{visitor("u1", &seq).impression(s.e.GetId(), s.control, 0).v},
	})
	assertReason(t, err, codes.InvalidArgument, "UNKNOWN_EXPERIMENT")
	// Nor may they write into our project, or read our results.
	_, err = s.r.IngestEvents(withToken(otherWrite), &resultsv1.IngestEventsRequest{
		ProjectId: s.project.GetId(),
		Visitors:  []*resultsv1.Visitor{visitor("u1", &seq).conversion("purchase", 0, -1).v},
	})
	assertReason(t, err, codes.NotFound, "PROJECT_NOT_FOUND")
	_, err = s.r.GetExperimentResults(withToken(otherWrite), &resultsv1.GetExperimentResultsRequest{ExperimentId: s.e.GetId()})
	if c := statusCode(err); c != codes.NotFound {
		t.Fatalf("reading another account's results: %v", err)
	}
}
