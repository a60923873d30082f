package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"testing"
	"time"

	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/optimizely/go-sdk/v2/pkg/event"
	"google.golang.org/grpc/codes"
)

// The traffic TestResultsOverREST sends, and so its exact results.
const (
	controlVisitors, controlConverters     = 1000, 100
	treatmentVisitors, treatmentConverters = 1000, 130
	visitorsPerBatch                       = 250
)

// Two-proportion z-test references for treatment 130/1000 against control
// 100/1000 at 95 % confidence, computed once with Python 3.11.2 and
// scipy 1.10.1 (/usr/bin/python3) by the formulas of
// services/results/internal/stats/testdata/reference.py (binary_case):
//
//	from scipy.stats import norm; import math
//	nc,xc,nt,xt,conf=1000,100,1000,130,0.95
//	pc,pt=xc/nc,xt/nt; pp=(xc+xt)/(nc+nt)
//	z=(pt-pc)/math.sqrt(pp*(1-pp)*(1/nc+1/nt)); p=2*norm.sf(abs(z))
//	zc=norm.ppf(1-(1-conf)/2); se=math.sqrt(pc*(1-pc)/nc+pt*(1-pt)/nt)
//	rel=pt/pc-1; vr=pt*(1-pt)/nt/pc**2+pt**2*(pc*(1-pc)/nc)/pc**4
//	print(repr(z),repr(p),repr(pt-pc),repr(pt-pc-zc*se),repr(pt-pc+zc*se),
//	      repr(rel),repr(rel-zc*math.sqrt(vr)),repr(rel+zc*math.sqrt(vr)))
//
// statsmodels' proportions_ztest([130,100],[1000,1000]) gives the same z and
// p (2.102740605622114, 0.03548845046647471).
const (
	refPValue      = 0.03548845046647471
	refAbsolute    = 0.03
	refAbsoluteLow = 0.0020679344393763656
	refAbsoluteUp  = 0.057932065560623636
	refRelative    = 0.30000000000000004
	refRelativeLow = -0.01917939771358701
	refRelativeUp  = 0.6191793977135871
)

const relTol = 1e-6

func TestResultsOverREST(t *testing.T) {
	s := newRESTStack(t)
	s.useFrequentist(t)
	eventID := s.createEvent(t, "purchase")
	e := s.createExperiment(t, experimentBody("checkout", "purchase"))
	s.must(t, "POST", "/v1/experiments/"+e.ID+":start", s.admin, "{}", http.StatusOK, nil)
	control, treatment := e.Variations[0].ID, e.Variations[1].ID
	if e.Variations[0].Key != "control" {
		control, treatment = treatment, control
	}
	events := "/v1/events?sdk_key=" + s.sdkKey(t, "production")

	// Visitor i of a variation converts when i < its converters; the
	// visitors are cut into batches the way an SDK's dispatcher flushes.
	at := time.Now().UTC().Add(-time.Hour)
	visitor := func(variation string, i int, converts bool) event.Visitor {
		id := fmt.Sprintf("%s-%d", variation, i)
		snaps := []event.Snapshot{{
			Decisions: []event.Decision{{CampaignID: e.LayerID, ExperimentID: e.ID, VariationID: variation,
				Metadata: event.DecisionMetadata{RuleKey: e.Key, RuleType: "experiment", Enabled: true}}},
			Events: []event.SnapshotEvent{{EntityID: e.LayerID, Key: "campaign_activated", Timestamp: at.UnixMilli(), UUID: "imp-" + id}},
		}}
		if converts {
			snaps = append(snaps, event.Snapshot{Events: []event.SnapshotEvent{{
				EntityID: eventID, Key: "purchase", Timestamp: at.Add(time.Minute).UnixMilli(), UUID: "conv-" + id}}})
		}
		return event.Visitor{VisitorID: id, Attributes: []event.VisitorAttribute{}, Snapshots: snaps}
	}
	var all []event.Visitor
	for i := range controlVisitors {
		all = append(all, visitor(control, i, i < controlConverters))
	}
	for i := range treatmentVisitors {
		all = append(all, visitor(treatment, i, i < treatmentConverters))
	}
	batch := func(vs []event.Visitor) []byte {
		b, err := json.Marshal(event.Batch{Revision: "1", AccountID: s.accountID, ProjectID: s.projectID,
			ClientName: "go-sdk", ClientVersion: "2.3.1", EnrichDecisions: true, Visitors: vs})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var batches [][]byte
	for lo := 0; lo < len(all); lo += visitorsPerBatch {
		batches = append(batches, batch(all[lo:min(lo+visitorsPerBatch, len(all))]))
	}
	// A retried batch: the same events again must count once.
	batches = append(batches, batches[3])
	for i, b := range batches {
		if resp := s.gw.Do(t, "POST", events, "", b); resp.Status != http.StatusNoContent || len(resp.Body) != 0 {
			t.Fatalf("batch %d: %d %s", i, resp.Status, resp.Body)
		}
	}

	// Malformed batches are refused whole: fresh visitors in a batch cut
	// short, and in a batch whose last visitor has no id.
	extra := []event.Visitor{visitor(treatment, treatmentVisitors, true), visitor(treatment, treatmentVisitors+1, true)}
	truncated := batch(extra)
	wantError(t, s.gw.Do(t, "POST", events, "", truncated[:len(truncated)-20]), http.StatusBadRequest, codes.InvalidArgument, "")
	noID := visitor(control, controlVisitors, true)
	noID.VisitorID = ""
	wantError(t, s.gw.Do(t, "POST", events, "", batch(append(extra, noID))), http.StatusBadRequest, codes.InvalidArgument, "")

	resp := s.must(t, "GET", "/v1/experiments/"+e.ID+"/results", s.read, nil, http.StatusOK, nil)
	out := &resultsv1.GetExperimentResultsResponse{}
	resp.JSON(t, out)
	r := out.GetResults()
	if got := r.GetStatsConfig().GetStatsMethod(); got != identityv1.StatsMethod_STATS_METHOD_FREQUENTIST {
		t.Fatalf("stats method = %v, want frequentist", got)
	}
	if r.GetStatsConfig().GetConfidenceLevel() != 0.95 || r.GetStatsConfig().GetFalseDiscoveryRateControl() {
		t.Fatalf("stats config = %v, want 0.95 without FDR control", r.GetStatsConfig())
	}
	if r.GetBaselineVariationId() != control {
		t.Errorf("baseline = %s, want control %s", r.GetBaselineVariationId(), control)
	}

	reach := map[string]int64{}
	for _, v := range r.GetReach().GetVariations() {
		reach[v.GetVariationId()] = v.GetCount()
	}
	if r.GetReach().GetTotalCount() != controlVisitors+treatmentVisitors || reach[control] != controlVisitors || reach[treatment] != treatmentVisitors {
		t.Errorf("reach = %v, want %d control and %d treatment", r.GetReach(), controlVisitors, treatmentVisitors)
	}
	if len(r.GetMetrics()) != 1 || r.GetMetrics()[0].GetEventKey() != "purchase" {
		t.Fatalf("metrics: %s", resp.Body)
	}
	want := map[string][2]int64{control: {controlVisitors, controlConverters}, treatment: {treatmentVisitors, treatmentConverters}}
	var treat *resultsv1.VariationResult
	for _, v := range r.GetMetrics()[0].GetResults() {
		w := want[v.GetVariationId()]
		if v.GetSamples() != w[0] || v.GetConverters() != w[1] || v.GetConversions() != w[1] {
			t.Errorf("%s: samples %d, converters %d, conversions %d; want %d, %d, %d",
				v.GetVariationKey(), v.GetSamples(), v.GetConverters(), v.GetConversions(), w[0], w[1], w[1])
		}
		if v.GetVariationId() == treatment {
			treat = v
		}
	}
	if treat == nil {
		t.Fatalf("no treatment result: %s", resp.Body)
	}

	l := treat.GetLift()
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"p-value", l.GetPValue(), refPValue},
		{"adjusted p-value", l.GetAdjustedPValue(), refPValue},
		{"significance", l.GetSignificance(), 1 - refPValue},
		{"relative lift", l.GetValue(), refRelative},
		{"relative interval lower", l.GetConfidenceInterval().GetLower(), refRelativeLow},
		{"relative interval upper", l.GetConfidenceInterval().GetUpper(), refRelativeUp},
		{"absolute lift", l.GetAbsoluteValue(), refAbsolute},
		{"absolute interval lower", l.GetAbsoluteConfidenceInterval().GetLower(), refAbsoluteLow},
		{"absolute interval upper", l.GetAbsoluteConfidenceInterval().GetUpper(), refAbsoluteUp},
	} {
		if math.Abs(c.got-c.want) > relTol*math.Abs(c.want) {
			t.Errorf("%s = %.17g, want %.17g (relative tolerance %g)", c.name, c.got, c.want, relTol)
		}
	}
	if !l.GetRelativeAvailable() || !l.GetIsSignificant() || l.GetLiftStatus() != resultsv1.LiftStatus_LIFT_STATUS_BETTER {
		t.Errorf("verdict: relative available %v, significant %v, status %v; want true, true, BETTER",
			l.GetRelativeAvailable(), l.GetIsSignificant(), l.GetLiftStatus())
	}
}

// useFrequentist switches the project to the fixed-horizon z-test through
// a masked PATCH of its settings.
func (s *restStack) useFrequentist(t *testing.T) {
	t.Helper()
	var out struct {
		Project struct {
			Settings struct {
				StatsMethod     string  `json:"statsMethod"`
				ConfidenceLevel float64 `json:"confidenceLevel"`
			} `json:"settings"`
		} `json:"project"`
	}
	s.must(t, "PATCH", "/v1/projects/"+s.projectID+"?updateMask=settings.stats_method", s.admin,
		map[string]any{"settings": map[string]any{"statsMethod": "STATS_METHOD_FREQUENTIST"}}, http.StatusOK, &out)
	if got := out.Project.Settings; got.StatsMethod != "STATS_METHOD_FREQUENTIST" || got.ConfidenceLevel != 0.95 {
		t.Fatalf("settings after PATCH = %+v", got)
	}
}

// sdkKey returns the SDK key of the project's environment with key env.
func (s *restStack) sdkKey(t *testing.T, env string) string {
	t.Helper()
	var out struct {
		Environments []struct {
			Key    string `json:"key"`
			SDKKey string `json:"sdkKey"`
		} `json:"environments"`
	}
	s.must(t, "GET", "/v1/projects/"+s.projectID+"/environments", s.read, nil, http.StatusOK, &out)
	for _, e := range out.Environments {
		if e.Key == env {
			return e.SDKKey
		}
	}
	t.Fatalf("no environment %q: %+v", env, out.Environments)
	return ""
}
