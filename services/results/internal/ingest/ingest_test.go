package ingest

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/liftlabs/lift/pkg/apierr"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/structpb"
)

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

var limits = Limits{MaxEvents: 100, MaxFutureSkew: time.Hour, Now: func() time.Time { return now }}

func reason(err error) string {
	var e *apierr.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

func attr(key string, v *structpb.Value) *resultsv1.VisitorAttribute {
	return &resultsv1.VisitorAttribute{Key: key, EntityId: key, Type: "custom", Value: v}
}

func TestIsBot_OnlyWhenFilteringIsOnAndTheAgentIsABot(t *testing.T) {
	googlebot := "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
	safari := "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Version/17.5 Mobile/15E148 Safari/604.1"
	cases := []struct {
		filtering *bool
		datafile  bool
		agent     string
		want      bool
	}{
		{ptr(true), false, googlebot, true},
		{ptr(false), true, googlebot, false}, // the SDK's attribute wins
		{nil, true, googlebot, true},
		{nil, false, googlebot, false},
		{ptr(true), false, safari, false},
		{ptr(true), false, "", false},
		{ptr(true), false, "curl/8.5.0", true},
		{ptr(true), false, "python-requests/2.31", true},
		{ptr(true), false, "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/126.0 Safari/537.36", true},
	}
	for _, c := range cases {
		var attrs []*resultsv1.VisitorAttribute
		if c.filtering != nil {
			attrs = append(attrs, attr(botFilteringAttribute, structpb.NewBoolValue(*c.filtering)))
		}
		if c.agent != "" {
			attrs = append(attrs, attr(userAgentAttribute, structpb.NewStringValue(c.agent)))
		}
		if got := isBot(attrs, c.datafile); got != c.want {
			t.Errorf("filtering %v datafile %v agent %q: %v, want %v", c.filtering, c.datafile, c.agent, got, c.want)
		}
	}
}

func ptr[T any](v T) *T { return &v }

func impressionSnapshot(exp, variation, uuid string, at time.Time, holdback bool) *resultsv1.Snapshot {
	return &resultsv1.Snapshot{
		Decisions: []*resultsv1.Decision{{ExperimentId: exp, VariationId: variation, IsCampaignHoldback: holdback}},
		Events:    []*resultsv1.SnapshotEvent{{Key: ImpressionKey, Uuid: uuid, Timestamp: at.UnixMilli()}},
	}
}

func TestBuild_ExposuresOnlyFromImpressionsAndNotForHoldbacks(t *testing.T) {
	req := &resultsv1.IngestEventsRequest{ProjectId: "7", Visitors: []*resultsv1.Visitor{{
		VisitorId: "u1",
		Snapshots: []*resultsv1.Snapshot{
			impressionSnapshot("10", "11", "a", now, false),
			impressionSnapshot("10", "12", "b", now, true),
			{ // decisions without an impression: context, not an exposure (and unknown ids are fine)
				Decisions: []*resultsv1.Decision{{ExperimentId: "99", VariationId: "98"}},
				Events:    []*resultsv1.SnapshotEvent{{Key: "purchase", Uuid: "c", Timestamp: now.UnixMilli(), Revenue: ptr(int64(5))}},
			},
			{Events: []*resultsv1.SnapshotEvent{{Key: "purchase", Uuid: "c", Timestamp: now.UnixMilli()}}}, // same uuid again
		},
	}}}
	if ids := ExperimentIDs(req); len(ids) != 1 || ids[0] != 10 {
		t.Fatalf("experiment ids %v", ids)
	}
	b, err := Build(req, Known{10: {11: true, 12: true}}, limits, false)
	if err != nil {
		t.Fatal(err)
	}
	if b.ProjectID != 7 || len(b.Events) != 3 || len(b.Exposures) != 1 || b.Exposures[0] != (Exposure{EventUUID: "a", ExperimentID: 10, VariationID: 11}) {
		t.Fatalf("batch %+v", b)
	}
	if *b.Events[2].Revenue != 5 || b.Events[2].Value != nil || !b.Events[0].At.Equal(now) {
		t.Fatalf("events %+v", b.Events)
	}
}

func TestBuild_RejectsWithReasonsNamingTheCulprit(t *testing.T) {
	visitor := func(s ...*resultsv1.Snapshot) *resultsv1.IngestEventsRequest {
		return &resultsv1.IngestEventsRequest{ProjectId: "7", Visitors: []*resultsv1.Visitor{{VisitorId: "u", Snapshots: s}}}
	}
	known := Known{10: {11: true}}
	many := visitor()
	for i := 0; i < 101; i++ {
		many.Visitors[0].Snapshots = append(many.Visitors[0].Snapshots, impressionSnapshot("10", "11", string(rune('a'+i%26))+strings.Repeat("x", i), now, false))
	}
	cases := []struct {
		name, reason, mention string
		req                   *resultsv1.IngestEventsRequest
	}{
		{"unknown experiment", "UNKNOWN_EXPERIMENT", "42", visitor(impressionSnapshot("42", "11", "a", now, false))},
		{"unknown variation", "UNKNOWN_VARIATION", "13", visitor(impressionSnapshot("10", "13", "a", now, false))},
		{"future", "TIMESTAMP_IN_FUTURE", `"late"`, visitor(impressionSnapshot("10", "11", "late", now.Add(61*time.Minute), false))},
		{"too many", "BATCH_TOO_LARGE", "101", many},
	}
	for _, c := range cases {
		_, err := Build(c.req, known, limits, false)
		if reason(err) != c.reason || !strings.Contains(err.Error(), c.mention) {
			t.Errorf("%s: %v, want %s mentioning %s", c.name, err, c.reason, c.mention)
		}
	}
	// Just inside the skew is fine.
	if _, err := Build(visitor(impressionSnapshot("10", "11", "ok", now.Add(59*time.Minute), false)), known, limits, false); err != nil {
		t.Errorf("59 minutes ahead: %v", err)
	}
}

func TestBuild_DropsBotsWhole(t *testing.T) {
	req := &resultsv1.IngestEventsRequest{ProjectId: "7", Visitors: []*resultsv1.Visitor{{
		VisitorId:  "crawler",
		Attributes: []*resultsv1.VisitorAttribute{attr(userAgentAttribute, structpb.NewStringValue("Bingbot/2.0"))},
		Snapshots:  []*resultsv1.Snapshot{impressionSnapshot("10", "11", "a", now, false), impressionSnapshot("10", "11", "b", now, false)},
	}}}
	b, err := Build(req, Known{10: {11: true}}, limits, true)
	if err != nil || len(b.Events) != 0 || b.BotEvents != 2 {
		t.Fatalf("%+v, %v", b, err)
	}
}

func TestParseOptimizely_KeepsExperimentsDropsRollouts(t *testing.T) {
	body := `{
	  "account_id": "1", "project_id": "7", "revision": "3", "client_name": "python-sdk", "client_version": "5.0.1",
	  "anonymize_ip": true, "enrich_decisions": true, "region": "US",
	  "visitors": [{
	    "visitor_id": "u1",
	    "attributes": [{"entity_id": "$opt_bot_filtering", "key": "$opt_bot_filtering", "type": "custom", "value": true},
	                   {"entity_id": "100", "key": "age", "type": "custom", "value": 31}],
	    "snapshots": [
	      {"decisions": [{"campaign_id": "10", "experiment_id": "10", "variation_id": "11",
	                      "metadata": {"flag_key": "f", "rule_key": "e", "rule_type": "feature-test", "variation_key": "on", "enabled": true}}],
	       "events": [{"entity_id": "10", "key": "campaign_activated", "timestamp": 1777636800000, "uuid": "imp"}]},
	      {"decisions": [{"campaign_id": "20", "experiment_id": "20", "variation_id": "21", "metadata": {"rule_type": "rollout"}}],
	       "events": [{"entity_id": "20", "key": "campaign_activated", "timestamp": 1777636800000, "uuid": "rollout"}]},
	      {"events": [{"entity_id": "5", "key": "purchase", "timestamp": 1777636900000, "uuid": "buy",
	                   "revenue": 4200, "value": 3.5, "tags": {"revenue": 4200, "value": 3.5, "currency": "EUR"}}]}
	    ]
	  }]
	}`
	req, ignored, err := ParseOptimizely([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if ignored != 1 || req.GetProjectId() != "7" || len(req.GetVisitors()[0].GetSnapshots()) != 2 {
		t.Fatalf("ignored %d, request %v", ignored, req)
	}
	buy := req.GetVisitors()[0].GetSnapshots()[1].GetEvents()[0]
	if buy.GetRevenue() != 4200 || buy.GetValue() != 3.5 || buy.GetTimestamp() != 1777636900000 {
		t.Fatalf("conversion %v", buy)
	}
	if a := req.GetVisitors()[0].GetAttributes(); len(a) != 2 || !a[0].GetValue().GetBoolValue() || a[1].GetValue().GetNumberValue() != 31 {
		t.Fatalf("attributes %v", a)
	}
}

func TestParseOptimizely_RevenueMustBeWholeCents(t *testing.T) {
	for body, ok := range map[string]bool{
		`{"project_id": "7", "visitors": [{"visitor_id": "u", "snapshots": [{"events": [{"key": "k", "uuid": "a", "timestamp": 1, "revenue": 1500.0}]}]}]}`: true,
		`{"project_id": "7", "visitors": [{"visitor_id": "u", "snapshots": [{"events": [{"key": "k", "uuid": "a", "timestamp": 1, "revenue": 15.5}]}]}]}`:   false,
		`{"project_id": "7", "visitors": [{"visitor_id": "u", "snapshots": [{"events": [{"key": "k", "uuid": "a", "timestamp": 1, "revenue": "15"}]}]}]}`:   true, // a numeric string decodes as a number, as encoding/json does
		`not json`: false,
	} {
		_, _, err := ParseOptimizely([]byte(body))
		if (err == nil) != ok || (err != nil && reason(err) != "MALFORMED_BATCH") {
			t.Errorf("%s: %v", body, err)
		}
	}
}

// The JSON v2 decoder is configured to read what encoding/json read.
func TestParseOptimizely_LenientAsEncodingJSON(t *testing.T) {
	event := func(fields string) string {
		return `{"project_id": "7", "visitors": [{"visitor_id": "u", "snapshots": [{"events": [{"key": "k", "uuid": "a", "timestamp": 1` + fields + `}]}]}]}`
	}
	for body, ok := range map[string]bool{
		event(`, "revenue": 9007199254740993`):      true, // 2⁵³+1: exact, not rounded through a float
		event(`, "revenue": null, "value": null`):   true,
		event(`, "tags": {"a": [1, {"b": null}]}`):  true,
		event(`, "tags": null`):                     true,
		event(`, "tags": 5`):                        false,
		event(`, "revenue": "15x"`):                 false,
		event(`, "revenue": true`):                  false,
		event(`, "uuid": "b"`):                      true, // a repeated name keeps its last value
		event(`, "Revenue": 7`):                     true, // names match case-insensitively
		"{\"project_id\": \"7\", \"visitors\": []}": true,
	} {
		req, _, err := ParseOptimizely([]byte(body))
		if (err == nil) != ok || (err != nil && reason(err) != "MALFORMED_BATCH") {
			t.Errorf("%s: %v", body, err)
			continue
		}
		if err != nil || len(req.GetVisitors()) == 0 {
			continue
		}
		e := req.GetVisitors()[0].GetSnapshots()[0].GetEvents()[0]
		switch {
		case strings.Contains(body, "9007199254740993") && e.GetRevenue() != 9007199254740993,
			strings.Contains(body, `"uuid": "b"`) && e.GetUuid() != "b",
			strings.Contains(body, `"Revenue"`) && e.GetRevenue() != 7:
			t.Errorf("%s: read as %v", body, e)
		}
	}
	// Invalid UTF-8 is refused, naming the field: replaced, it made two
	// visitors one.
	_, _, err := ParseOptimizely([]byte("{\"project_id\": \"7\", \"visitors\": [{\"visitor_id\": \"u\xff\"}]}"))
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "/visitors/0/visitor_id") {
		t.Errorf("invalid UTF-8: %v", err)
	}
}
