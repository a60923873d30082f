package e2e

import (
	"fmt"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liftlabs/lift/gateway/gatewaytest"
	gatewayv2 "github.com/liftlabs/lift/proto/gen/go/lift/gateway/v2"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

func TestV2ProjectOverview_SummarisesRunningExperiments(t *testing.T) {
	var broken string        // the experiment whose results fail
	var listDown atomic.Bool // experiments cannot list, once set
	s := newV2Stack(t, v2Options{
		results: []grpc.UnaryServerInterceptor{
			failing(codes.Unavailable, func(req any) bool {
				r, ok := req.(*resultsv1.GetExperimentResultsRequest)
				return ok && r.GetExperimentId() == broken
			}, "GetExperimentResults"),
		},
		experiments: []grpc.UnaryServerInterceptor{
			failing(codes.Unavailable, func(any) bool { return listDown.Load() }, "ListExperiments"),
		},
	})
	a := s.startExperiment(t, "a", "", 5000, 5000)
	s.ingest(t, a, v2Traffic)
	b := s.startExperiment(t, "b", "", 5000, 5000)
	broken = b.GetId()
	c := s.startExperiment(t, "c", "", 5000, 5000)
	if _, err := s.exp.Client.PauseExperiment(s.admin(), pause(c.GetId())); err != nil {
		t.Fatal(err)
	}

	resp := s.gw.Do(t, "GET", "/v2/projects/"+s.project.GetId()+"/overview", s.read, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("status %d: %s", resp.Status, resp.Body)
	}
	got := &gatewayv2.GetProjectOverviewResponse{}
	resp.JSON(t, got)
	if got.GetProject().GetId() != s.project.GetId() || got.GetProject().GetName() != "Web shop" {
		t.Errorf("project = %v", got.GetProject())
	}
	var envs []string
	for _, e := range got.GetEnvironments() {
		envs = append(envs, e.GetKey())
	}
	if fmt.Sprint(envs) != "[production development]" {
		t.Errorf("environments = %v", envs)
	}
	// The paused experiment is not running; the others keep their order.
	run := got.GetRunningExperiments()
	if len(run) != 2 || run[0].GetExperimentId() != a.GetId() || run[1].GetExperimentId() != b.GetId() {
		t.Fatalf("running experiments: %s", resp.Body)
	}
	if run[0].GetName() != "Experiment a" || run[0].GetKey() != "a" || run[0].GetStartTime() == nil {
		t.Errorf("summary of a: %v", run[0])
	}

	// a's summary against its /v1 results.
	v1 := &resultsv1.GetExperimentResultsResponse{}
	s.gw.Do(t, "GET", "/v1/experiments/"+a.GetId()+"/results", s.read, nil).JSON(t, v1)
	var lift *resultsv1.Lift
	for _, v := range v1.GetResults().GetMetrics()[0].GetResults() {
		if v.GetVariationKey() == "treatment" {
			lift = v.GetLift()
		}
	}
	sum := run[0].GetResult()
	if sum.GetVisitors() != 400 || sum.GetPrimaryMetric() != "purchase" || sum.GetLeadingVariationName() != "Treatment" ||
		sum.GetLeadingVariationKey() != "treatment" || sum.GetBaselineVariationName() != "Control" {
		t.Errorf("summary = %v", sum)
	}
	// 30/200 against 20/200: +50 %.
	if d := sum.GetLift() - 0.5; d > 1e-12 || d < -1e-12 {
		t.Errorf("lift = %v, want 0.5", sum.GetLift())
	}
	if sum.GetSignificance() != lift.GetSignificance() || sum.GetIsSignificant() != lift.GetIsSignificant() || sum.GetLiftStatus() != lift.GetLiftStatus() {
		t.Errorf("summary %v disagrees with /v1 lift %v", sum, lift)
	}
	verdict := map[resultsv1.LiftStatus]string{resultsv1.LiftStatus_LIFT_STATUS_BETTER: "better", resultsv1.LiftStatus_LIFT_STATUS_WORSE: "worse", resultsv1.LiftStatus_LIFT_STATUS_INCONCLUSIVE: "inconclusive"}
	want := fmt.Sprintf("Treatment vs Control: +50.0%% on purchase, significance %.1f%% (%s); 400 visitors", 100*lift.GetSignificance(), verdict[lift.GetLiftStatus()])
	if sum.GetText() != want {
		t.Errorf("text = %q, want %q", sum.GetText(), want)
	}

	// b's results failed: no summary, one warning naming it.
	if run[1].GetResult() != nil {
		t.Errorf("b has a summary: %v", run[1].GetResult())
	}
	if len(got.GetWarnings()) != 1 {
		t.Fatalf("warnings = %v", got.GetWarnings())
	}
	w := got.GetWarnings()[0]
	if w.GetPart() != gatewayv2.Part_PART_RESULT_SUMMARY || w.GetResourceId() != b.GetId() || w.GetBackend() != "results" || w.GetCode() != "UNAVAILABLE" {
		t.Errorf("warning = %v", w)
	}

	// The list of running experiments is required: without it, 503 naming
	// the experiments backend.
	listDown.Store(true)
	info := wantError(t, s.gw.Do(t, "GET", "/v2/projects/"+s.project.GetId()+"/overview", s.read, nil),
		http.StatusServiceUnavailable, codes.Unavailable, "BACKEND_UNAVAILABLE")
	if info.GetMetadata()["backend"] != "experiments" || info.GetMetadata()["part"] != "running experiments" {
		t.Errorf("error metadata = %v, want backend experiments, part running experiments", info.GetMetadata())
	}
}

func TestV2ProjectOverview_FanOutIsBounded(t *testing.T) {
	const experiments, limit = 10, 3
	r := newRounds(limit, experiments, "GetExperimentResults")
	s := newV2Stack(t, v2Options{
		results: []grpc.UnaryServerInterceptor{r.interceptor},
		gateway: []gatewaytest.Option{gatewaytest.WithV2MaxInFlight(limit), gatewaytest.WithV2BackendTimeout(time.Minute)},
	})
	for i := range experiments {
		s.startExperiment(t, fmt.Sprintf("e%d", i), "", 5000, 5000)
	}
	resp := s.gw.Do(t, "GET", "/v2/projects/"+s.project.GetId()+"/overview", s.read, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("status %d: %s", resp.Status, resp.Body)
	}
	got := &gatewayv2.GetProjectOverviewResponse{}
	resp.JSON(t, got)
	if len(got.GetRunningExperiments()) != experiments || len(got.GetWarnings()) != 0 {
		t.Fatalf("%d summaries, warnings %v", len(got.GetRunningExperiments()), got.GetWarnings())
	}
	for _, e := range got.GetRunningExperiments() {
		if e.GetResult() == nil || e.GetResult().GetText() == "" {
			t.Errorf("no summary for %s", e.GetKey())
		}
	}
	// Every round filled up (else the calls would have waited out their
	// minute), and no more than the limit ran at once.
	if m := r.max(); m != limit {
		t.Errorf("max results calls in flight = %d, want %d", m, limit)
	}
}

// A caller that goes away cancels every backend call the overview has in
// flight: first while the project, environments and experiment list are
// being fetched, then while the project, environments and the summaries
// (the list being in) are.
func TestV2ProjectOverview_CallerCancellationCancelsEveryBackendCall(t *testing.T) {
	id := newBlocker("GetProject", "ListEnvironments")
	list := newBlocker("ListExperiments")
	res := newBlocker("GetExperimentResults")
	for _, b := range []*blocker{id, list, res} {
		b.off.Store(true) // while the stack is set up
	}
	s := newV2Stack(t, v2Options{
		identity:    []grpc.UnaryServerInterceptor{id.interceptor},
		experiments: []grpc.UnaryServerInterceptor{list.interceptor},
		results:     []grpc.UnaryServerInterceptor{res.interceptor},
		// Long enough that only the caller can end the calls.
		gateway: []gatewaytest.Option{gatewaytest.WithV2BackendTimeout(time.Hour)},
	})
	const running = 2
	for i := range running {
		s.startExperiment(t, fmt.Sprintf("e%d", i), "", 5000, 5000)
	}
	overview := "/v2/projects/" + s.project.GetId() + "/overview"

	// cancelOnceStarted sends the request, waits until want[method] calls
	// are held, cancels, and waits for every held call to end.
	cancelOnceStarted := func(want map[string]int) {
		t.Helper()
		cancel, errc := s.getCancellable(t, overview)
		defer cancel()
		started, total := map[string]int{}, 0
		for _, n := range want {
			total += n
		}
		for range total {
			select {
			case m := <-id.started:
				started[m]++
			case m := <-list.started:
				started[m]++
			case m := <-res.started:
				started[m]++
			case err := <-errc:
				t.Fatalf("request ended before its calls were held (%v held): %v", started, err)
			}
		}
		if fmt.Sprint(started) != fmt.Sprint(want) {
			t.Fatalf("held calls %v, want %v", started, want)
		}
		cancel()
		if err := <-errc; err == nil {
			t.Fatal("request succeeded after cancel")
		}
		for range total {
			select {
			case <-id.done:
			case <-list.done:
			case <-res.done:
			}
		}
	}

	id.off.Store(false)
	list.off.Store(false)
	cancelOnceStarted(map[string]int{"GetProject": 1, "ListEnvironments": 1, "ListExperiments": 1})
	wantCanceled(t, id.endings(), map[string]int{"GetProject": 1, "ListEnvironments": 1})
	wantCanceled(t, list.endings(), map[string]int{"ListExperiments": 1})

	list.off.Store(true)
	res.off.Store(false)
	cancelOnceStarted(map[string]int{"GetProject": 1, "ListEnvironments": 1, "GetExperimentResults": running})
	wantCanceled(t, id.endings(), map[string]int{"GetProject": 1, "ListEnvironments": 1})
	wantCanceled(t, res.endings(), map[string]int{"GetExperimentResults": running})
}
