package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/liftlabs/lift/gateway/gatewaytest"
	"github.com/liftlabs/lift/services/results/resultstest"
	"google.golang.org/grpc/codes"
)

// maxPageSize is the largest page_size every List RPC accepts (buf.validate
// lte in the protos); larger is a 400, not silently capped.
const maxPageSize = 1000

// optimizelyBatch is an SDK event batch of n conversions of one visitor.
func optimizelyBatch(projectID, eventKey string, n int) string {
	var events []string
	ts := time.Now().UnixMilli()
	for i := range n {
		events = append(events, fmt.Sprintf(`{"key":%q,"uuid":"limit-%d-%d","timestamp":%d}`, eventKey, ts, i, ts))
	}
	return fmt.Sprintf(`{"account_id":"1","project_id":%q,"visitors":[{"visitor_id":"u1","attributes":[],"snapshots":[{"decisions":[],"events":[%s]}]}]}`,
		projectID, strings.Join(events, ","))
}

// typedBatch is a REST ingest body of n conversions of one visitor.
func typedBatch(eventKey string, n int) map[string]any {
	var events []any
	ts := time.Now().UnixMilli()
	for i := range n {
		events = append(events, map[string]any{"key": eventKey, "uuid": fmt.Sprintf("typed-%d-%d", ts, i), "timestamp": fmt.Sprint(ts)})
	}
	return map[string]any{"visitors": []any{map[string]any{"visitorId": "u1", "snapshots": []any{map[string]any{"events": events}}}}}
}

// nested is an audience condition tree nested depth operator lists deep.
func nested(depth int) string {
	leaf := `{"name":"plan","type":"custom_attribute","match":"exact","value":"pro"}`
	return strings.Repeat(`["and",`, depth) + leaf + strings.Repeat(`]`, depth)
}

// TestResourceLimits: oversize bodies are 413 (API and SDK routes), every
// page_size above 1000 is 400 on every list of the OpenAPI document, a
// batch over LIFT_RESULTS_MAX_BATCH_EVENTS is 400 (typed and SDK), and
// audience conditions nested deeper than 16 operator lists are 400 naming
// the field, on create and update, before anything evaluates them. (The
// per-token rate limit, 429, is TestRateLimits'.)
func TestResourceLimits(t *testing.T) {
	const maxBatch = 5
	const bodyLimit = 64 << 10
	s := newSecurityStack(t, stackConfig{
		gateway: []gatewaytest.Option{gatewaytest.WithMaxBodyBytes(bodyLimit), gatewaytest.WithSDKMaxBodyBytes(bodyLimit)},
		results: resultstest.Options{MaxBatchEvents: maxBatch},
	})
	a := s.a

	t.Run("oversize bodies are 413", func(t *testing.T) {
		big := strings.Repeat("x", bodyLimit+1)
		for _, r := range []struct{ method, path, token string }{
			{"POST", "/v1/projects", a.admin},
			{"PATCH", "/v1/flags/" + a.flag + "?updateMask=name", a.admin},
			{"POST", "/v1/projects/" + a.project + "/events:ingest", a.write},
			{"POST", "/v1/events?sdk_key=" + a.sdkKey, ""},
			{"POST", "/v1/accounts:bootstrap", ""},
		} {
			resp := s.gw.Do(t, r.method, r.path, r.token, `{"name":"`+big+`"}`)
			wantError(t, resp, http.StatusRequestEntityTooLarge, codes.ResourceExhausted, "REQUEST_TOO_LARGE")
		}
	})

	t.Run("page_size above the maximum is 400 on every list", func(t *testing.T) {
		lists := 0
		for _, op := range apiOperations(t) {
			if op.method != "GET" || !slices.Contains(queryParams(t, op), "pageSize") {
				continue
			}
			lists++
			path, err := fill(op, a)
			if err != nil {
				t.Fatal(err)
			}
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			resp := s.gw.Do(t, "GET", path+sep+fmt.Sprintf("pageSize=%d", maxPageSize+1), a.admin, nil)
			wantError(t, resp, http.StatusBadRequest, codes.InvalidArgument, "")
			if got := violations(t, resp); !slices.ContainsFunc(got, func(f string) bool { return strings.HasSuffix(f, "page_size") }) {
				t.Errorf("%s: violations %v do not name page_size", op, got)
			}
			if resp := s.gw.Do(t, "GET", path+sep+fmt.Sprintf("pageSize=%d", maxPageSize), a.admin, nil); resp.Status != http.StatusOK {
				t.Errorf("%s: pageSize=%d is %d: %s", op, maxPageSize, resp.Status, resp.Body)
			}
		}
		if lists < 6 {
			t.Fatalf("only %d paginated lists found", lists)
		}
	})

	t.Run("too many events in one batch are 400", func(t *testing.T) {
		before := visitors(t, s, a)
		resp := s.gw.Do(t, "POST", "/v1/projects/"+a.project+"/events:ingest", a.write, typedBatch(a.eventKey, maxBatch+1))
		wantError(t, resp, http.StatusBadRequest, codes.InvalidArgument, "BATCH_TOO_LARGE")
		resp = s.gw.Do(t, "POST", "/v1/events?sdk_key="+url.QueryEscape(a.sdkKey), "", optimizelyBatch(a.project, a.eventKey, maxBatch+1))
		wantError(t, resp, http.StatusBadRequest, codes.InvalidArgument, "BATCH_TOO_LARGE")
		// At the limit it is accepted.
		s.do(t, "POST", "/v1/events?sdk_key="+url.QueryEscape(a.sdkKey), "", optimizelyBatch(a.project, a.eventKey, maxBatch), http.StatusNoContent, nil)
		if after := visitors(t, s, a); after != before {
			t.Errorf("conversions without exposure changed the visitor count: %s → %s", before, after)
		}
	})

	t.Run("deeply nested audience conditions are 400 naming the field", func(t *testing.T) {
		ok := experimentBody("nested-ok", a.eventKey)
		ok["audienceConditions"] = nested(15)
		var draft experimentEnvelope
		s.do(t, "POST", "/v1/projects/"+a.project+"/experiments", a.admin, ok, http.StatusCreated, &draft)
		for _, depth := range []int{17, 5000} {
			body := experimentBody(fmt.Sprintf("nested-%d", depth), a.eventKey)
			body["audienceConditions"] = nested(depth)
			resp := s.gw.Do(t, "POST", "/v1/projects/"+a.project+"/experiments", a.admin, body)
			info := wantError(t, resp, http.StatusBadRequest, codes.InvalidArgument, "")
			if info.GetMetadata()["field"] != "experiment.audience_conditions" && !slices.Contains(violations(t, resp), "experiment.audience_conditions") {
				t.Errorf("depth %d: error does not name experiment.audience_conditions: %s", depth, resp.Body)
			}
			if msg := resp.Error(t).GetMessage(); !strings.Contains(msg, "deeper than 16") {
				t.Errorf("depth %d: message %q does not say the limit", depth, msg)
			}
			// The draft may change its conditions, so only the depth stops it.
			upd := s.gw.Do(t, "PATCH", "/v1/experiments/"+draft.Experiment.ID+"?updateMask=audience_conditions", a.admin,
				map[string]any{"audienceConditions": nested(depth)})
			info = wantError(t, upd, http.StatusBadRequest, codes.InvalidArgument, "")
			if info.GetMetadata()["field"] != "experiment.audience_conditions" && !slices.Contains(violations(t, upd), "experiment.audience_conditions") {
				t.Errorf("depth %d: update error does not name experiment.audience_conditions: %s", depth, upd.Body)
			}
		}
	})
}

// queryParams lists an operation's query parameters.
func queryParams(t *testing.T, op operation) []string {
	t.Helper()
	doc := openAPI(t)
	var out []string
	for _, p := range doc.Paths[op.path][strings.ToLower(op.method)].Parameters {
		if p.In == "query" {
			out = append(out, p.Name)
		}
	}
	return out
}

// visitors is the number of visitors exposed to tn's experiment (the
// results' reach.totalCount).
func visitors(t *testing.T, s *securityStack, tn *tenant) string {
	t.Helper()
	var out map[string]any
	s.do(t, "GET", "/v1/experiments/"+tn.experiment+"/results", tn.read, nil, http.StatusOK, &out)
	var find func(v any) (string, bool)
	find = func(v any) (string, bool) {
		if m, ok := v.(map[string]any); ok {
			if r, ok := m["reach"].(map[string]any); ok {
				return fmt.Sprint(r["totalCount"]), true
			}
			for _, x := range m {
				if n, ok := find(x); ok {
					return n, true
				}
			}
		}
		return "", false
	}
	n, ok := find(out)
	if !ok {
		t.Fatalf("no reach in results: %v", out)
	}
	return n
}
