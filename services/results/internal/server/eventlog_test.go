package server_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/liftlabs/lift/services/results/resultstest"
	"github.com/optimizely/go-sdk/v2/pkg/event"
	"google.golang.org/grpc/codes"
)

// samples reads the experiment's visitors per variation (in variation
// order) from the first metric's results.
func (s *stack) samples(t *testing.T, experimentID string) []int64 {
	t.Helper()
	resp, err := s.r.GetExperimentResults(s.read, &resultsv1.GetExperimentResultsRequest{ExperimentId: experimentID})
	if err != nil {
		t.Fatalf("results: %v", err)
	}
	var out []int64
	for _, v := range resp.GetResults().GetMetrics()[0].GetResults() {
		out = append(out, v.GetSamples())
	}
	return out
}

func (s *stack) sendSDK(t *testing.T, sdkKey string, visitors ...event.Visitor) {
	t.Helper()
	if _, err := s.r.IngestOptimizelyBatch(t.Context(), &resultsv1.IngestOptimizelyBatchRequest{Batch: s.sdkBatch(visitors...), SdkKey: sdkKey}); err != nil {
		t.Fatalf("batch: %v", err)
	}
}

func impressionOf(experiment, variation, visitorID, uuid string, at time.Time) event.Visitor {
	return event.Visitor{VisitorID: visitorID, Snapshots: []event.Snapshot{{
		Decisions: []event.Decision{{CampaignID: "1", ExperimentID: experiment, VariationID: variation,
			Metadata: event.DecisionMetadata{RuleType: "experiment"}}},
		Events: []event.SnapshotEvent{{EntityID: "1", Key: "campaign_activated", Timestamp: at.UnixMilli(), UUID: uuid}},
	}}}
}

// An experiment started while results holds an older datafile of the SDK
// key: its batches are acknowledged, and counted exactly, not refused.
func TestEventLog_ExperimentStartedAfterTheDatafileWasCachedCountsExactly(t *testing.T) {
	s := newStack(t, resultstest.Options{EventLog: true, CatalogTTL: time.Hour})
	at := day()
	s.sendSDK(t, s.sdkKey, impressionOf(s.e.GetId(), s.control, "warm", "warm-1", at)) // caches the datafile
	if got := s.samples(t, s.e.GetId()); got[0] != 1 {
		t.Fatalf("first experiment samples %v", got)
	}

	created, err := s.exp.Client.CreateExperiment(s.write, &experimentsv1.CreateExperimentRequest{
		ProjectId: s.project.GetId(),
		Experiment: &experimentsv1.Experiment{
			Key: "onboarding", EnvironmentKeys: []string{"production"},
			Variations: []*experimentsv1.Variation{{Key: "a", Weight: 5000, Baseline: true}, {Key: "b", Weight: 5000}},
			Metrics:    []*experimentsv1.Metric{{EventKey: "signup", Primary: true}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	started, err := s.exp.Client.StartExperiment(s.write, &experimentsv1.StartExperimentRequest{ExperimentId: created.GetExperiment().GetId()})
	if err != nil {
		t.Fatal(err)
	}
	e2 := started.GetExperiment()
	a, b := e2.GetVariations()[0].GetId(), e2.GetVariations()[1].GetId()
	var visitors []event.Visitor
	for i := range 30 {
		v := a
		if i%3 == 0 {
			v = b
		}
		visitors = append(visitors, impressionOf(e2.GetId(), v, fmt.Sprintf("n%d", i), fmt.Sprintf("new-%d", i), at))
	}
	s.sendSDK(t, s.sdkKey, visitors[:15]...)
	s.sendSDK(t, s.sdkKey, visitors[15:]...)
	s.sendSDK(t, s.sdkKey, visitors[15:]...) // resent: counted once
	if got := s.samples(t, e2.GetId()); len(got) != 2 || got[0] != 20 || got[1] != 10 {
		t.Fatalf("new experiment samples %v, want [20 10]", got)
	}
}

// A development key's batch naming a production-only experiment is
// acknowledged, counts nowhere, and is set aside with its reason; the
// rest of its batch is stored.
func TestEventLog_OtherEnvironmentsExperimentIsSetAside(t *testing.T) {
	s := newStack(t, resultstest.Options{EventLog: true})
	devKey := ""
	for _, e := range s.id.Environments(t, s.acct.AdminToken, s.project.GetId()) {
		if e.GetKey() == "development" {
			devKey = e.GetSdkKey()
		}
	}
	if devKey == "" {
		t.Fatal("no development environment")
	}
	at := day()
	s.sendSDK(t, s.sdkKey, impressionOf(s.e.GetId(), s.control, "p1", "prod-1", at))
	s.sendSDK(t, devKey,
		impressionOf(s.e.GetId(), s.treat, "d1", "dev-1", at),
		sdkConversion("d1", "purchase", "dev-conv-1", at.Add(time.Minute), 100, nil))
	if got := s.samples(t, s.e.GetId()); got[0] != 1 || got[1] != 0 {
		t.Fatalf("samples %v, want [1 0]", got)
	}
	var reason, experiment string
	var stored int
	err := s.res.Pool.QueryRow(context.Background(), `SELECT reason, experiment_id FROM set_aside_events WHERE uuid = 'dev-1'`).Scan(&reason, &experiment)
	if err != nil || reason != "UNKNOWN_EXPERIMENT" || experiment != s.e.GetId() {
		t.Fatalf("set aside: %q %q %v", reason, experiment, err)
	}
	if err := s.res.Pool.QueryRow(context.Background(), `SELECT count(*) FROM events WHERE uuid = 'dev-conv-1'`).Scan(&stored); err != nil || stored != 1 {
		t.Fatalf("the batch's conversion: %d stored, %v", stored, err)
	}
}

// With the log down nothing is acknowledged: the client is told to retry.
func TestEventLog_DownIsUnavailable(t *testing.T) {
	s := newStack(t, resultstest.Options{EventLog: true})
	s.res.NATS.Shutdown()
	body := s.sdkBatch(impressionOf(s.e.GetId(), s.control, "u", "down-1", day()))
	var err error
	for range 2 { // the first may be sent before the client sees the close
		_, err = s.r.IngestOptimizelyBatch(t.Context(), &resultsv1.IngestOptimizelyBatchRequest{Batch: body, SdkKey: s.sdkKey})
	}
	assertReason(t, err, codes.Unavailable, "EVENT_LOG_UNAVAILABLE")
}

// Two results replicas consume the same log at once (batches are sent
// through both): every batch is stored once, and the rollups equal the
// counts recomputed from what was sent.
func TestEventLog_TwoConsumersRollupsEqualRecomputation(t *testing.T) {
	s := newStack(t, resultstest.Options{EventLog: true})
	second := resultstest.Start(t, s.id.Addr, s.exp.Addr, resultstest.Options{DatabaseURL: s.res.DatabaseURL, NATSURL: s.res.NATS.ClientURL()})
	clients := []resultsv1.ResultsServiceClient{s.r, second.Client}
	at := day()
	type want struct{ samples, converters, conversions int64 }
	expect := map[string]*want{s.control: {}, s.treat: {}}
	var batches [][]event.Visitor
	for b := range 120 {
		var vs []event.Visitor
		for i := range 8 {
			n := b*8 + i
			id, variation := fmt.Sprintf("v%d", n), s.control
			if n%3 == 0 {
				variation = s.treat
			}
			expect[variation].samples++
			vs = append(vs, impressionOf(s.e.GetId(), variation, id, fmt.Sprintf("imp-%d", n), at))
			if n%4 == 0 {
				// a purchase, sometimes two, after the exposure
				expect[variation].converters++
				for k := range 1 + n%8/4 {
					expect[variation].conversions++
					vs = append(vs, sdkConversion(id, "purchase", fmt.Sprintf("buy-%d-%d", n, k), at.Add(time.Duration(k+1)*time.Minute), 100, nil))
				}
			}
		}
		batches = append(batches, vs)
	}
	errs := make(chan error, len(batches))
	for i, vs := range batches {
		go func() {
			_, err := clients[i%2].IngestOptimizelyBatch(t.Context(), &resultsv1.IngestOptimizelyBatchRequest{Batch: s.sdkBatch(vs...), SdkKey: s.sdkKey})
			errs <- err
		}()
	}
	for range batches {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range clients { // either replica's read waits for both consumers
		resp, err := r.GetExperimentResults(s.read, &resultsv1.GetExperimentResultsRequest{ExperimentId: s.e.GetId(), MetricKeys: []string{"purchase"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range resp.GetResults().GetMetrics()[0].GetResults() {
			w := expect[v.GetVariationId()]
			if v.GetSamples() != w.samples || v.GetConverters() != w.converters || v.GetConversions() != w.conversions {
				t.Errorf("variation %s: samples %d converters %d conversions %d, recomputed %+v",
					v.GetVariationKey(), v.GetSamples(), v.GetConverters(), v.GetConversions(), *w)
			}
		}
	}
	var stored int
	if err := s.res.Pool.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	var sent int
	for _, w := range expect {
		sent += int(w.samples + w.conversions)
	}
	if stored != sent {
		t.Errorf("%d events stored, %d sent", stored, sent)
	}
	t.Logf("two consumers: %d batches, %d events stored once, rollups %+v / %+v", len(batches), stored, *expect[s.control], *expect[s.treat])
}
