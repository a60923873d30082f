package e2e

import (
	"context"
	"net/http"
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
	experimentsDelay = 20 * time.Millisecond // GetExperiment, GetLayer, GetExperimentLayer
	identityDelay    = 30 * time.Millisecond // GetProject
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
