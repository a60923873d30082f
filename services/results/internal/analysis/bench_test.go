package analysis

import (
	"testing"
	"time"

	"github.com/liftlabs/lift/services/results/internal/catalog"
	"github.com/liftlabs/lift/services/results/internal/stats"
	"github.com/liftlabs/lift/services/results/internal/store"
)

// BenchmarkCompute_60Days is the analysis of the 10 M-event benchmark's
// rollups (server.BenchmarkGetExperimentResults_10MEvents) without the
// database: two variations, one metric with revenue, 60 days, the
// sequential method.
func BenchmarkCompute_60Days(b *testing.B) {
	exp := &catalog.Experiment{ID: 1, ProjectID: 1, Variations: []catalog.Variation{
		{ID: 10, Key: "a", Weight: 5000, Baseline: true}, {ID: 11, Key: "b", Weight: 5000}},
		Metrics: []catalog.Metric{{EventKey: "purchase", Primary: true}}}
	var r store.Rollups
	first := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for d := range 60 {
		day := first.AddDate(0, 0, d)
		for _, v := range []int64{10, 11} {
			r.Variations = append(r.Variations, store.VariationDay{VariationID: v, Day: day, Visitors: 33333})
			r.Metrics = append(r.Metrics, store.MetricDay{EventKey: "purchase", VariationID: v, Day: day,
				Converters: 8333 + v, Conversions: 50000, RevenueSum: 2.1e7 + float64(v)*1e4, RevenueSumSq: 9e10})
		}
	}
	in := Input{Experiment: exp, Baseline: 10, Metrics: exp.Metrics, Rollups: r,
		Config: stats.Config{Method: stats.MethodSequential}, Now: first}
	for b.Loop() {
		Compute(in)
	}
}
