package server

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/liftlabs/lift/pkg/apierr"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/liftlabs/lift/services/results/internal/analysis"
	"github.com/liftlabs/lift/services/results/internal/catalog"
	"github.com/liftlabs/lift/services/results/internal/stats"
	"github.com/liftlabs/lift/services/results/internal/store"
)

// GetExperimentResults analyses an experiment of the caller's account with
// its project's statistics settings.
func (s *Server) GetExperimentResults(ctx context.Context, req *resultsv1.GetExperimentResultsRequest) (*resultsv1.GetExperimentResultsResponse, error) {
	id, _ := strconv.ParseInt(req.GetExperimentId(), 10, 64) // pattern-validated
	exp, err := s.catalog.Experiment(ctx, id)
	if err != nil {
		return nil, err
	}
	project, err := s.catalog.Project(ctx, exp.ProjectID)
	if err != nil {
		return nil, err
	}
	baseline, err := baselineOf(exp, req.GetBaselineVariationId())
	if err != nil {
		return nil, err
	}
	window, err := windowOf(req)
	if err != nil {
		return nil, err
	}
	metrics := metricsOf(exp, req.GetMetricKeys())
	keys := make([]string, len(metrics))
	for i, m := range metrics {
		keys[i] = m.EventKey
	}
	s.caughtUp(ctx)
	rollups, err := s.store.Rollups(ctx, exp.ProjectID, id, keys, window)
	if err != nil {
		return nil, err
	}
	capped, err := s.cappedMetrics(ctx, exp, metrics, window)
	if err != nil {
		return nil, err
	}
	cuped, preDays, err := s.cupedSums(ctx, exp, metrics, req, window)
	if err != nil {
		return nil, err
	}
	settings := project.GetSettings()
	res := analysis.Compute(analysis.Input{
		Experiment: exp, Baseline: baseline, Metrics: metrics, Rollups: rollups, Capped: capped,
		Cuped: cuped, PrePeriodDays: preDays,
		Config: stats.Config{Method: analysis.Method(settings.GetStatsMethod()), Confidence: settings.GetConfidenceLevel()},
		FDR:    settings.GetFalseDiscoveryRateControl(), Window: window, Now: s.now(),
	})
	return &resultsv1.GetExperimentResultsResponse{Results: res}, nil
}

func baselineOf(exp *catalog.Experiment, requested string) (int64, error) {
	if requested == "" {
		return exp.Baseline().ID, nil
	}
	id, _ := strconv.ParseInt(requested, 10, 64)
	if _, ok := exp.Variation(id); !ok {
		return 0, apierr.InvalidArgument("UNKNOWN_VARIATION", "baseline_variation_id %s is not a variation of experiment %d", requested, exp.ID).
			With("variation_id", requested)
	}
	return id, nil
}

// metricsOf is the experiment's metrics, or the requested event keys (in
// request order; keys the experiment does not list are analysed too, as
// secondary metrics).
func metricsOf(exp *catalog.Experiment, keys []string) []catalog.Metric {
	if len(keys) == 0 {
		return exp.Metrics
	}
	var out []catalog.Metric
	seen := map[string]bool{}
	for _, k := range keys {
		if seen[k] {
			continue
		}
		seen[k] = true
		m := catalog.Metric{EventKey: k}
		if i := slices.IndexFunc(exp.Metrics, func(m catalog.Metric) bool { return m.EventKey == k }); i >= 0 {
			m = exp.Metrics[i]
		}
		out = append(out, m)
	}
	return out
}

// windowOf rounds the requested times to the UTC days the rollups are kept
// in: the start down to its midnight, the end up to the next one.
func windowOf(req *resultsv1.GetExperimentResultsRequest) (store.Window, error) {
	var w store.Window
	if req.GetStartTime() != nil {
		w.From = req.GetStartTime().AsTime().UTC().Truncate(24 * time.Hour)
	}
	if req.GetEndTime() != nil {
		end := req.GetEndTime().AsTime().UTC()
		w.To = end.Truncate(24 * time.Hour)
		if w.To.Before(end) {
			w.To = w.To.Add(24 * time.Hour)
		}
	}
	if !w.From.IsZero() && !w.To.IsZero() && !w.From.Before(w.To) {
		return w, apierr.InvalidArgument("INVALID_WINDOW", "start_time must be before end_time")
	}
	return w, nil
}
