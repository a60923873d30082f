package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/liftlabs/lift/gateway/gatewaytest"
	"github.com/liftlabs/lift/pkg/grpctest"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	gatewayv2 "github.com/liftlabs/lift/proto/gen/go/lift/gateway/v2"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/liftlabs/lift/services/identity/identitytest"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

// The traffic of the /v2 tests: exact counts the responses must show.
var v2Traffic = map[string][2]int{"control": {200, 20}, "treatment": {200, 30}}

func TestV2ExperimentResults_OneCallHasEverything(t *testing.T) {
	s := newV2Stack(t, v2Options{})
	layer := s.createLayer(t, "checkout_layer", "Checkout layer")
	e := s.startExperiment(t, "checkout", layer.GetId(), 4000, 6000)
	s.ingest(t, e, v2Traffic)

	resp := s.gw.Do(t, "GET", "/v2/experiments/"+e.GetId()+"/results", s.read, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("status %d: %s", resp.Status, resp.Body)
	}
	got := &gatewayv2.GetExperimentResultsResponse{}
	resp.JSON(t, got)

	x := got.GetExperiment()
	if x.GetId() != e.GetId() || x.GetName() != "Experiment checkout" || x.GetStatus() != experimentsv1.ExperimentStatus_EXPERIMENT_STATUS_RUNNING {
		t.Errorf("experiment = %v", x)
	}
	var names []string
	var weights []int32
	for _, v := range x.GetVariations() {
		names, weights = append(names, v.GetName()), append(weights, v.GetWeight())
	}
	if fmt.Sprint(names, weights) != "[Control Treatment] [4000 6000]" {
		t.Errorf("variations %v with weights %v, want [Control Treatment] [4000 6000]", names, weights)
	}
	l := got.GetLayer()
	if l.GetId() != layer.GetId() || l.GetName() != "Checkout layer" || len(l.GetAllocations()) != 1 ||
		l.GetAllocations()[0].GetExperimentId() != e.GetId() || l.GetFreeTraffic() != 5000 {
		t.Errorf("layer = %v", l)
	}
	if len(got.GetWarnings()) != 0 {
		t.Errorf("warnings = %v, want none", got.GetWarnings())
	}
	st := got.GetSettings()
	if st.GetStatsMethod() != identityv1.StatsMethod_STATS_METHOD_SEQUENTIAL || st.GetConfidenceLevel() != 0.95 {
		t.Errorf("settings = %v, want the project's defaults (sequential, 0.95)", st)
	}

	r := got.GetResults()
	if r.GetTotalVisitors() != 400 || len(r.GetReach()) != 2 {
		t.Fatalf("reach: %v", r)
	}
	wantReach := map[string]int64{"Control": 200, "Treatment": 200}
	for _, v := range r.GetReach() {
		if v.GetReach().GetCount() != wantReach[v.GetVariationName()] {
			t.Errorf("reach of %q = %d", v.GetVariationName(), v.GetReach().GetCount())
		}
	}
	if len(r.GetMetrics()) != 1 || r.GetMetrics()[0].GetEventKey() != "purchase" || !r.GetMetrics()[0].GetPrimary() {
		t.Fatalf("metrics: %v", r.GetMetrics())
	}
	wantConverters := map[string]int64{"Control": 20, "Treatment": 30}
	for _, v := range r.GetMetrics()[0].GetVariations() {
		if v.GetResult().GetSamples() != wantReach[v.GetVariationName()] || v.GetResult().GetConverters() != wantConverters[v.GetVariationName()] {
			t.Errorf("%q: %d samples, %d converters", v.GetVariationName(), v.GetResult().GetSamples(), v.GetResult().GetConverters())
		}
	}

	// The statistics are the results service's, untouched: the same as /v1.
	v1 := &resultsv1.GetExperimentResultsResponse{}
	s.gw.Do(t, "GET", "/v1/experiments/"+e.GetId()+"/results", s.read, nil).JSON(t, v1)
	for i, v := range r.GetMetrics()[0].GetVariations() {
		if want := v1.GetResults().GetMetrics()[0].GetResults()[i]; !proto.Equal(v.GetResult(), want) {
			t.Errorf("variation %d differs from /v1:\n%v\n%v", i, v.GetResult(), want)
		}
	}
	if !proto.Equal(st, v1.GetResults().GetStatsConfig()) {
		t.Errorf("settings %v, /v1 results used %v", st, v1.GetResults().GetStatsConfig())
	}

	// Each backend call was timed by part (served on the admin /metrics).
	for _, part := range []string{"experiment", "layer", "results"} {
		if n := partCalls(t, "GetExperimentResults", part, "OK"); n == 0 {
			t.Errorf("lift_gateway_composite_part_seconds has no OK %s call", part)
		}
	}

	// An experiment in no layer: nothing is missing, so no warning.
	solo := s.startExperiment(t, "solo", "", 5000, 5000)
	alone := &gatewayv2.GetExperimentResultsResponse{}
	s.gw.Do(t, "GET", "/v2/experiments/"+solo.GetId()+"/results", s.read, nil).JSON(t, alone)
	if alone.GetExperiment().GetId() != solo.GetId() || alone.GetLayer() != nil || len(alone.GetWarnings()) != 0 || alone.GetResults().GetTotalVisitors() != 0 {
		t.Errorf("experiment without layer: layer %v, warnings %v, results %v", alone.GetLayer(), alone.GetWarnings(), alone.GetResults())
	}

	// Internal callers get the same from the gateway's gRPC server.
	cc := grpctest.Dial(t, s.gw.GRPCAddr)
	viaGRPC, err := gatewayv2.NewGatewayServiceClient(cc).GetExperimentResults(
		identitytest.WithToken(context.Background(), s.read), &gatewayv2.GetExperimentResultsRequest{ExperimentId: e.GetId()})
	if err != nil {
		t.Fatalf("gRPC: %v", err)
	}
	// Each call computes the results afresh.
	viaGRPC.GetResults().ComputeTime, got.GetResults().ComputeTime = nil, nil
	if !proto.Equal(viaGRPC, got) {
		t.Errorf("gRPC and REST differ:\n%v\n%v", viaGRPC, got)
	}
}

func TestV2ExperimentResults_LayerFailingIsAWarning(t *testing.T) {
	s := newV2Stack(t, v2Options{experiments: []grpc.UnaryServerInterceptor{
		failing(codes.Unavailable, func(any) bool { return true }, "GetExperimentLayer"),
	}})
	layer := s.createLayer(t, "l", "L")
	e := s.startExperiment(t, "layered", layer.GetId(), 5000, 5000)
	resp := s.gw.Do(t, "GET", "/v2/experiments/"+e.GetId()+"/results", s.read, nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("status %d: %s", resp.Status, resp.Body)
	}
	got := &gatewayv2.GetExperimentResultsResponse{}
	resp.JSON(t, got)
	if got.GetLayer() != nil || got.GetExperiment().GetId() != e.GetId() || got.GetResults() == nil {
		t.Errorf("want experiment and results without layer: %s", resp.Body)
	}
	if len(got.GetWarnings()) != 1 {
		t.Fatalf("warnings = %v, want one", got.GetWarnings())
	}
	w := got.GetWarnings()[0]
	if w.GetPart() != gatewayv2.Part_PART_LAYER || w.GetResourceId() != layer.GetId() || w.GetBackend() != "experiments" ||
		w.GetCode() != "UNAVAILABLE" || w.GetMessage() == "" {
		t.Errorf("warning = %v", w)
	}
}

func TestV2ExperimentResults_ResultsBackendDownIs503(t *testing.T) {
	s := newV2Stack(t, v2Options{resultsTarget: deadTarget(t)})
	e := s.startExperiment(t, "down", "", 5000, 5000)
	info := wantError(t, s.gw.Do(t, "GET", "/v2/experiments/"+e.GetId()+"/results", s.read, nil),
		http.StatusServiceUnavailable, codes.Unavailable, "BACKEND_UNAVAILABLE")
	if info.GetMetadata()["backend"] != "results" || info.GetMetadata()["part"] != "results" {
		t.Errorf("error metadata = %v, want backend and part results", info.GetMetadata())
	}
}

func TestV2ExperimentResults_SlowBackendIs504(t *testing.T) {
	s := newV2Stack(t, v2Options{
		results: []grpc.UnaryServerInterceptor{slow(time.Minute, "GetExperimentResults")},
		// The production default: long enough that only the slowed results
		// call can exceed it, even on a loaded machine.
		gateway: []gatewaytest.Option{gatewaytest.WithV2BackendTimeout(2 * time.Second)},
	})
	e := s.startExperiment(t, "slow", "", 5000, 5000)
	info := wantError(t, s.gw.Do(t, "GET", "/v2/experiments/"+e.GetId()+"/results", s.read, nil),
		http.StatusGatewayTimeout, codes.DeadlineExceeded, "BACKEND_DEADLINE_EXCEEDED")
	if info.GetMetadata()["backend"] != "results" {
		t.Errorf("error metadata = %v, want backend results", info.GetMetadata())
	}
}

func TestV2_OtherAccountIs404(t *testing.T) {
	s := newV2Stack(t, v2Options{})
	e := s.startExperiment(t, "mine", "", 5000, 5000)
	wantError(t, s.gw.Do(t, "GET", "/v2/experiments/"+e.GetId()+"/results", s.other.AdminToken, nil),
		http.StatusNotFound, codes.NotFound, "")
	wantError(t, s.gw.Do(t, "GET", "/v2/projects/"+s.project.GetId()+"/overview", s.other.AdminToken, nil),
		http.StatusNotFound, codes.NotFound, "")
	wantError(t, s.gw.Do(t, "GET", "/v2/experiments/"+e.GetId()+"/results", "", nil),
		http.StatusUnauthorized, codes.Unauthenticated, "")
	wantError(t, s.gw.Do(t, "GET", "/v2/projects/abc/overview", s.read, nil),
		http.StatusBadRequest, codes.InvalidArgument, "")
}

func TestV2ExperimentResults_CallerCancellationCancelsEveryBackendCall(t *testing.T) {
	exps := newBlocker("GetExperiment", "GetExperimentLayer")
	res := newBlocker("GetExperimentResults")
	s := newV2Stack(t, v2Options{
		experiments: []grpc.UnaryServerInterceptor{exps.interceptor},
		results:     []grpc.UnaryServerInterceptor{res.interceptor},
		// Long enough that only the caller can end the calls.
		gateway: []gatewaytest.Option{gatewaytest.WithV2BackendTimeout(time.Hour)},
	})
	e := s.startExperiment(t, "cancelled", "", 5000, 5000)

	cancel, errc := s.getCancellable(t, "/v2/experiments/"+e.GetId()+"/results")
	started := map[string]bool{}
	for len(started) < 3 {
		select {
		case m := <-exps.started:
			started[m] = true
		case m := <-res.started:
			started[m] = true
		}
	}
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("request succeeded after cancel")
	}
	for range 2 {
		<-exps.done
	}
	<-res.done
	wantCanceled(t, exps.endings(), map[string]int{"GetExperiment": 1, "GetExperimentLayer": 1})
	wantCanceled(t, res.endings(), map[string]int{"GetExperimentResults": 1})
}

// getCancellable sends GET path with the read token in the background;
// cancel abandons it, and errc receives the client's error.
func (s *v2Stack) getCancellable(t *testing.T, path string) (cancel func(), errc <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", s.gw.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+s.read)
	c := make(chan error, 1)
	go func() {
		resp, err := s.gw.Client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		c <- err
	}()
	return cancel, c
}

// wantCanceled checks that want[method] calls ended, each with
// context.Canceled.
func wantCanceled(t *testing.T, ended map[string][]error, want map[string]int) {
	t.Helper()
	for name, n := range want {
		if len(ended[name]) != n {
			t.Errorf("%d %s calls ended, want %d", len(ended[name]), name, n)
		}
		for _, err := range ended[name] {
			if err != context.Canceled {
				t.Errorf("%s ended with %v, want context.Canceled", name, err)
			}
		}
	}
}

// With the identity the gateway calls stopped, its own token check of a
// token it has not cached fails in the shape of every /v2 backend outage:
// 503 BACKEND_UNAVAILABLE naming identity and the authentication. A token
// it checked within LIFT_AUTH_CACHE_TTL keeps working for the parts that
// need no identity call.
func TestV2_IdentityDownIs503NamingIdentity(t *testing.T) {
	s := newV2Stack(t, v2Options{
		stoppableIdentity: true,
		gateway:           []gatewaytest.Option{gatewaytest.WithAuthCacheTTL(time.Hour)},
	})
	e := s.startExperiment(t, "e", "", 5000, 5000)
	results := "/v2/experiments/" + e.GetId() + "/results"
	overview := "/v2/projects/" + s.project.GetId() + "/overview"
	if r := s.gw.Do(t, "GET", results, s.read, nil); r.Status != http.StatusOK { // caches s.read
		t.Fatalf("before the outage: %d %s", r.Status, r.Body)
	}
	fresh := s.id.Token(t, s.acct, identityv1.Scope_SCOPE_READ) // never seen by the gateway
	s.stopGatewayIdentity()

	for _, p := range []string{results, overview} {
		r := s.gw.Do(t, "GET", p, fresh, nil)
		info := wantError(t, r, http.StatusServiceUnavailable, codes.Unavailable, "BACKEND_UNAVAILABLE")
		if info.GetMetadata()["backend"] != "identity" || info.GetMetadata()["part"] != "authentication" {
			t.Errorf("%s: error metadata = %v, want backend identity, part authentication", p, info.GetMetadata())
		}
		if strings.Contains(string(r.Body), "127.0.0.1") || strings.Contains(string(r.Body), "dial") {
			t.Errorf("%s: error reveals the network: %s", p, r.Body)
		}
	}

	// The cached token passes the gateway's check: the results need only
	// experiments and results (whose identity is up)…
	if r := s.gw.Do(t, "GET", results, s.read, nil); r.Status != http.StatusOK {
		t.Errorf("cached token, results: %d %s", r.Status, r.Body)
	}
	// …while the overview needs the project from the stopped identity.
	info := wantError(t, s.gw.Do(t, "GET", overview, s.read, nil), http.StatusServiceUnavailable, codes.Unavailable, "BACKEND_UNAVAILABLE")
	if b, p := info.GetMetadata()["backend"], info.GetMetadata()["part"]; b != "identity" || (p != "project" && p != "environments") {
		t.Errorf("cached token, overview: error metadata = %v, want backend identity, part project or environments", info.GetMetadata())
	}
}

// partCalls is how many calls of a composite part with code the gateway's
// histogram has recorded (the gateway runs in this process, so its metrics
// are in the default registry).
func partCalls(t *testing.T, endpoint, part, code string) uint64 {
	t.Helper()
	families, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"endpoint": endpoint, "part": part, "code": code}
	var n uint64
	for _, f := range families {
		if f.GetName() != "lift_gateway_composite_part_seconds" {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if want[l.GetName()] != l.GetValue() {
					continue metrics
				}
			}
			n += m.GetHistogram().GetSampleCount()
		}
	}
	return n
}
