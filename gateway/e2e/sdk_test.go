package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/optimizely/go-sdk/v2/pkg/event"
	"google.golang.org/grpc/codes"
)

func TestSDK_DatafileConditionalGets(t *testing.T) {
	s := newSDKStack(t)
	s.runningExperiment(t, "checkout", nil)
	key := s.envs["production"].GetSdkKey()
	path := "/datafiles/" + key + ".json"

	first := s.gw.Do(t, "GET", path, "", nil)
	if first.Status != http.StatusOK {
		t.Fatalf("GET datafile: %d %s", first.Status, first.Body)
	}
	var df struct {
		ProjectID   string `json:"projectId"`
		Revision    string `json:"revision"`
		Experiments []struct {
			Key string `json:"key"`
		} `json:"experiments"`
	}
	if err := json.Unmarshal(first.Body, &df); err != nil {
		t.Fatalf("datafile is not JSON: %v", err)
	}
	if df.ProjectID != s.project.GetId() || len(df.Experiments) != 1 || df.Experiments[0].Key != "checkout" {
		t.Fatalf("datafile: %s", first.Body)
	}
	etag, lm := first.Header.Get("ETag"), first.Header.Get("Last-Modified")
	if !strings.HasPrefix(etag, `"`) || !strings.HasSuffix(etag, `"`) || len(etag) < 3 {
		t.Errorf("ETag %q is not a strong entity tag", etag)
	}
	if _, err := http.ParseTime(lm); err != nil {
		t.Errorf("Last-Modified %q: %v", lm, err)
	}
	if got := first.Header.Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type = %q", got)
	}
	if got := first.Header.Get("Cache-Control"); !strings.Contains(got, "must-revalidate") {
		t.Errorf("Cache-Control = %q", got)
	}

	for _, tc := range []struct {
		name    string
		headers []string
		want    int
	}{
		{"If-None-Match current", []string{"If-None-Match", etag}, http.StatusNotModified},
		{"If-None-Match weak current", []string{"If-None-Match", "W/" + etag}, http.StatusNotModified},
		{"If-None-Match stale", []string{"If-None-Match", `"stale"`}, http.StatusOK},
		{"If-Modified-Since Last-Modified", []string{"If-Modified-Since", lm}, http.StatusNotModified},
		{"If-Modified-Since later", []string{"If-Modified-Since", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}, http.StatusNotModified},
		{"If-Modified-Since earlier", []string{"If-Modified-Since", time.Unix(0, 0).UTC().Format(http.TimeFormat)}, http.StatusOK},
		// If-None-Match wins over If-Modified-Since (RFC 9110 13.1.3).
		{"stale tag, recent date", []string{"If-None-Match", `"stale"`, "If-Modified-Since", lm}, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := s.gw.Do(t, "GET", path, "", nil, tc.headers...)
			if resp.Status != tc.want {
				t.Fatalf("status %d, want %d", resp.Status, tc.want)
			}
			if resp.Header.Get("ETag") != etag {
				t.Errorf("ETag %q, want %q", resp.Header.Get("ETag"), etag)
			}
			if tc.want == http.StatusNotModified && len(resp.Body) != 0 {
				t.Errorf("304 with a body: %s", resp.Body)
			}
			if tc.want == http.StatusOK && string(resp.Body) != string(first.Body) {
				t.Errorf("200 body differs from the first one")
			}
		})
	}

	// A change makes the old validators stale.
	s.runningExperiment(t, "search", nil)
	changed := s.gw.Do(t, "GET", path, "", nil, "If-None-Match", etag)
	if changed.Status != http.StatusOK || changed.Header.Get("ETag") == etag {
		t.Fatalf("after a change: %d, ETag %q (was %q)", changed.Status, changed.Header.Get("ETag"), etag)
	}

	wantError(t, s.gw.Do(t, "GET", "/datafiles/no-such-key.json", "", nil), http.StatusNotFound, codes.NotFound, "")
	wantError(t, s.gw.Do(t, "GET", "/datafiles/"+key, "", nil), http.StatusNotFound, codes.NotFound, "ROUTE_NOT_FOUND")
	wantError(t, s.gw.Do(t, "POST", path, "", "{}"), http.StatusMethodNotAllowed, codes.Unimplemented, "METHOD_NOT_ALLOWED")
}

func TestSDK_EventsIngestOnceAnd204(t *testing.T) {
	s := newSDKStack(t)
	e := s.runningExperiment(t, "checkout", nil)
	control, treatment := e.GetVariations()[0].GetId(), e.GetVariations()[1].GetId()
	key := s.envs["production"].GetSdkKey()
	at := time.Now().UTC().Add(-time.Hour)
	impression := func(visitor, variation, uuid string) event.Visitor {
		return event.Visitor{VisitorID: visitor, Snapshots: []event.Snapshot{{
			Decisions: []event.Decision{{CampaignID: e.GetLayerId(), ExperimentID: e.GetId(), VariationID: variation,
				Metadata: event.DecisionMetadata{RuleKey: e.GetKey(), RuleType: "experiment", Enabled: true}}},
			Events: []event.SnapshotEvent{{EntityID: e.GetLayerId(), Key: "campaign_activated", Timestamp: at.UnixMilli(), UUID: uuid}},
		}}}
	}
	batch, err := json.Marshal(event.Batch{
		Revision: "1", AccountID: s.acct.ID, ProjectID: s.project.GetId(), ClientName: "go-sdk", ClientVersion: "2.3.1",
		EnrichDecisions: true, Visitors: []event.Visitor{
			impression("u1", control, "imp-1"), impression("u2", treatment, "imp-2"), impression("u3", treatment, "imp-3"),
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	events := "/v1/events?sdk_key=" + key

	for i := range 2 { // the SDK retries: the second send is a duplicate
		resp := s.gw.Do(t, "POST", events, "", batch)
		if resp.Status != http.StatusNoContent || len(resp.Body) != 0 {
			t.Fatalf("send %d: %d %s", i+1, resp.Status, resp.Body)
		}
	}
	resp := s.gw.Do(t, "GET", "/v1/experiments/"+e.GetId()+"/results", s.read, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("results: %d %s", resp.Status, resp.Body)
	}
	out := &resultsv1.GetExperimentResultsResponse{}
	resp.JSON(t, out)
	reach := map[string]int64{}
	for _, v := range out.GetResults().GetReach().GetVariations() {
		reach[v.GetVariationId()] = v.GetCount()
	}
	if out.GetResults().GetReach().GetTotalCount() != 3 || reach[control] != 1 || reach[treatment] != 2 {
		t.Fatalf("reach after a batch sent twice: %v", out.GetResults().GetReach())
	}

	wantError(t, s.gw.Do(t, "POST", events, "", `{"visitors": [`), http.StatusBadRequest, codes.InvalidArgument, "")
	wantError(t, s.gw.Do(t, "POST", events, "", `{"project_id": "x"}`), http.StatusBadRequest, codes.InvalidArgument, "")
	wantError(t, s.gw.Do(t, "POST", "/v1/events", "", batch), http.StatusUnauthorized, codes.Unauthenticated, "")
	wantError(t, s.gw.Do(t, "POST", events, "", strings.Repeat(" ", 2<<20)+"{}"), http.StatusRequestEntityTooLarge, codes.ResourceExhausted, "")
	wantError(t, s.gw.Do(t, "GET", events, "", nil), http.StatusMethodNotAllowed, codes.Unimplemented, "METHOD_NOT_ALLOWED")
}
