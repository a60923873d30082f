package server

import (
	"context"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/liftlabs/lift/services/results/internal/analysis"
	"github.com/liftlabs/lift/services/results/internal/catalog"
	"github.com/liftlabs/lift/services/results/internal/store"
)

// capColumns maps the numeric metric kinds to the per-visitor total they
// cap (the experiments service only accepts capping on these kinds).
var capColumns = map[experimentsv1.MetricKind]store.CapColumn{
	experimentsv1.MetricKind_METRIC_KIND_CONVERSIONS_PER_VISITOR: store.CapConversions,
	experimentsv1.MetricKind_METRIC_KIND_REVENUE_PER_VISITOR:     store.CapRevenue,
	experimentsv1.MetricKind_METRIC_KIND_VALUE_PER_VISITOR:       store.CapValue,
}

// cappedMetrics reads the capped sums of the metrics that have capping: the
// cap is the fixed value, or the percentile of the converting visitors'
// totals (none when nobody converted: there is nothing to cap). Called
// after Rollups, which has folded in every pending batch.
func (s *Server) cappedMetrics(ctx context.Context, exp *catalog.Experiment, metrics []catalog.Metric, w store.Window) (map[string]analysis.Capped, error) {
	var out map[string]analysis.Capped
	for _, m := range metrics {
		col, ok := capColumns[m.Kind]
		if m.Capping == nil || !ok {
			continue
		}
		limit := m.Capping.GetValue()
		if p, isPercentile := m.Capping.GetCap().(*experimentsv1.MetricCapping_Percentile); isPercentile {
			v, found, err := s.store.CapPercentile(ctx, exp.ID, m.EventKey, col, p.Percentile)
			if err != nil {
				return nil, err
			}
			if !found {
				continue
			}
			limit = v
		}
		days, err := s.store.CappedDays(ctx, exp.ProjectID, exp.ID, m.EventKey, col, limit, w)
		if err != nil {
			return nil, err
		}
		if out == nil {
			out = map[string]analysis.Capped{}
		}
		out[m.EventKey] = analysis.Capped{Cap: limit, Days: days}
	}
	return out, nil
}

// defaultPrePeriodDays is CUPED's pre-exposure window when the request
// does not set one: two weeks covers weekly cycles twice.
const defaultPrePeriodDays = 14

// cupedSums reads the CUPED sums of every metric when the request asks for
// variance reduction (nil and 0 otherwise). Called after Rollups, which has
// folded in every pending batch.
func (s *Server) cupedSums(ctx context.Context, exp *catalog.Experiment, metrics []catalog.Metric, req *resultsv1.GetExperimentResultsRequest, w store.Window) (map[string][]store.CupedSums, int, error) {
	if !req.GetVarianceReduction() {
		return nil, 0, nil
	}
	days := int(req.GetPrePeriodDays())
	if days == 0 {
		days = defaultPrePeriodDays
	}
	out := make(map[string][]store.CupedSums, len(metrics))
	for _, m := range metrics {
		sums, err := s.store.CupedSums(ctx, exp.ProjectID, exp.ID, m.EventKey, days, w)
		if err != nil {
			return nil, 0, err
		}
		out[m.EventKey] = sums
	}
	return out, days, nil
}
