package e2e

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/liftlabs/lift/services/identity/identitytest"
	"google.golang.org/grpc"
)

// Injected backend latencies of BenchmarkV2ExperimentResults.
const (
	experimentsDelay = 20 * time.Millisecond // GetExperiment, GetLayer, GetExperimentLayer, ListExperiments
	identityDelay    = 30 * time.Millisecond // GetProject, ListEnvironments
	resultsDelay     = 40 * time.Millisecond // GetExperimentResults
)

// BenchmarkV2ExperimentResults measures, in the same run with known
// injected delays per backend:
//
//   - composite/slowest: one GET /v2/experiments/{id}/results against the
//     slowest single backend call it makes, called directly over gRPC
//     (target ≤ 1.2: the calls run concurrently);
//   - v2/sequential_v1: the same /v2 call against the four /v1 calls a
//     client would otherwise make one after another (experiment, layer,
//     project, results).
func BenchmarkV2ExperimentResults(b *testing.B) {
	s := newV2Stack(b, v2Options{
		experiments: []grpc.UnaryServerInterceptor{slow(experimentsDelay, "GetExperiment", "GetLayer", "GetExperimentLayer")},
		identity:    []grpc.UnaryServerInterceptor{slow(identityDelay, "GetProject")},
		results:     []grpc.UnaryServerInterceptor{slow(resultsDelay, "GetExperimentResults")},
		// results keeps the experiment's definition for the whole run, so
		// its own (slowed) GetExperiment to experiments does not land on
		// random iterations of one side or the other.
		resultsCatalogTTL: time.Hour,
	})
	layer := s.createLayer(b, "bench_layer", "Bench layer")
	e := s.startExperiment(b, "bench", layer.GetId(), 5000, 5000)
	s.ingest(b, e, v2Traffic)
	ctx := identitytest.WithToken(context.Background(), s.read)
	get := func(path string) {
		if resp := s.gw.Do(b, "GET", path, s.read, nil); resp.Status != http.StatusOK {
			b.Fatalf("GET %s: %d %s", path, resp.Status, resp.Body)
		}
	}
	// The backend calls of the composite, made directly.
	parts := map[string]func() error{
		"experiment": func() error {
			_, err := s.exp.Client.GetExperiment(ctx, &experimentsv1.GetExperimentRequest{ExperimentId: e.GetId()})
			return err
		},
		"layer": func() error {
			_, err := s.exp.Client.GetExperimentLayer(ctx, &experimentsv1.GetExperimentLayerRequest{ExperimentId: e.GetId()})
			return err
		},
		"results": func() error {
			_, err := s.res.Client.GetExperimentResults(ctx, &resultsv1.GetExperimentResultsRequest{ExperimentId: e.GetId()})
			return err
		},
	}
	v2 := func() { get("/v2/experiments/" + e.GetId() + "/results") }
	v1 := func() {
		get("/v1/experiments/" + e.GetId())
		get("/v1/layers/" + layer.GetId())
		get("/v1/projects/" + s.project.GetId())
		get("/v1/experiments/" + e.GetId() + "/results")
	}
	// Warm every cache (tokens, results' catalog) and connection.
	v2()
	v1()
	if _, err := s.id.Client.GetProject(ctx, &identityv1.GetProjectRequest{ProjectId: s.project.GetId()}); err != nil {
		b.Fatal(err)
	}

	timed := func(f func()) time.Duration {
		start := time.Now()
		f()
		return time.Since(start)
	}
	var composite, sequential time.Duration
	partTotal := map[string]time.Duration{}
	b.ResetTimer()
	for b.Loop() {
		composite += timed(v2)
		sequential += timed(v1)
		for name, call := range parts {
			partTotal[name] += timed(func() {
				if err := call(); err != nil {
					b.Fatalf("%s: %v", name, err)
				}
			})
		}
	}
	var slowest time.Duration
	for _, d := range partTotal {
		slowest = max(slowest, d)
	}
	n := float64(b.N)
	b.ReportMetric(composite.Seconds()*1000/n, "composite_ms")
	b.ReportMetric(slowest.Seconds()*1000/n, "slowest_part_ms")
	b.ReportMetric(sequential.Seconds()*1000/n, "sequential_v1_ms")
	b.ReportMetric(float64(composite)/float64(slowest), "composite/slowest")
	b.ReportMetric(float64(composite)/float64(sequential), "v2/sequential_v1")
}

// BenchmarkV2ProjectOverview measures GET /v2/projects/{id}/overview over
// 16 running experiments with the same injected delays, at the default
// fan-out bound of 8, against the calls it makes done one after another
// directly over gRPC (GetProject, ListEnvironments, ListExperiments and 16
// GetExperimentResults): overview/sequential_calls. With two rounds of
// summaries the ideal is (list + 2 × results) / (2 × identity + list + 16 ×
// results) = 100 ms / 720 ms ≈ 0.14 here.
func BenchmarkV2ProjectOverview(b *testing.B) {
	const experiments = 16
	s := newV2Stack(b, v2Options{
		experiments:       []grpc.UnaryServerInterceptor{slow(experimentsDelay, "ListExperiments")},
		identity:          []grpc.UnaryServerInterceptor{slow(identityDelay, "GetProject", "ListEnvironments")},
		results:           []grpc.UnaryServerInterceptor{slow(resultsDelay, "GetExperimentResults")},
		resultsCatalogTTL: time.Hour,
	})
	var ids []string
	for i := range experiments {
		ids = append(ids, s.startExperiment(b, "e"+strconv.Itoa(i), "", 5000, 5000).GetId())
	}
	ctx := identitytest.WithToken(context.Background(), s.read)
	overview := func() {
		if resp := s.gw.Do(b, "GET", "/v2/projects/"+s.project.GetId()+"/overview", s.read, nil); resp.Status != http.StatusOK {
			b.Fatalf("overview: %d %s", resp.Status, resp.Body)
		}
	}
	sequential := func() {
		pid := s.project.GetId()
		_, err1 := s.id.Client.GetProject(ctx, &identityv1.GetProjectRequest{ProjectId: pid})
		_, err2 := s.id.Client.ListEnvironments(ctx, &identityv1.ListEnvironmentsRequest{ProjectId: pid})
		_, err3 := s.exp.Client.ListExperiments(ctx, &experimentsv1.ListExperimentsRequest{ProjectId: pid, Status: experimentsv1.ExperimentStatus_EXPERIMENT_STATUS_RUNNING})
		if err := errors.Join(err1, err2, err3); err != nil {
			b.Fatal(err)
		}
		for _, id := range ids {
			if _, err := s.res.Client.GetExperimentResults(ctx, &resultsv1.GetExperimentResultsRequest{ExperimentId: id}); err != nil {
				b.Fatal(err)
			}
		}
	}
	overview() // warm caches and connections
	sequential()
	var fanOut, oneByOne time.Duration
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		overview()
		fanOut += time.Since(start)
		start = time.Now()
		sequential()
		oneByOne += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(fanOut.Seconds()*1000/n, "overview_ms")
	b.ReportMetric(oneByOne.Seconds()*1000/n, "sequential_calls_ms")
	b.ReportMetric(float64(fanOut)/float64(oneByOne), "overview/sequential_calls")
}
