package v2

import (
	"context"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	gatewayv2 "github.com/liftlabs/lift/proto/gen/go/lift/gateway/v2"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"golang.org/x/sync/errgroup"
)

// The parts of GetExperimentResults. The project's statistics settings
// need no call of their own: the results carry the settings they were
// computed with (results.v1.StatsConfig), which is also the only way to be
// sure the two agree.
var (
	partExperiment = part{"GetExperimentResults", "experiment", "experiments"}
	partLayer      = part{"GetExperimentResults", "layer", "experiments"}
	partResults    = part{"GetExperimentResults", "results", "results"}
)

// GetExperimentResults fetches the experiment, its layer and its results at
// once: each call needs only the experiment id (the layer is looked up by
// experiment, GetExperimentLayer), so the response takes as long as the
// slowest call, not their sum. The experiment and the results are
// required; the layer is optional.
func (s *Server) GetExperimentResults(ctx context.Context, req *gatewayv2.GetExperimentResultsRequest) (*gatewayv2.GetExperimentResultsResponse, error) {
	id := req.GetExperimentId()
	var (
		exp      *experimentsv1.Experiment
		layer    *experimentsv1.Layer
		layerErr error
		res      *resultsv1.ExperimentResults
	)
	// A required part failing cancels the others through gctx.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		r, err := call(gctx, s, partExperiment, func(ctx context.Context) (*experimentsv1.GetExperimentResponse, error) {
			return s.backends.Experiments.GetExperiment(ctx, &experimentsv1.GetExperimentRequest{ExperimentId: id})
		})
		exp = r.GetExperiment()
		return err
	})
	g.Go(func() error {
		r, err := call(gctx, s, partLayer, func(ctx context.Context) (*experimentsv1.GetExperimentLayerResponse, error) {
			return s.backends.Experiments.GetExperimentLayer(ctx, &experimentsv1.GetExperimentLayerRequest{ExperimentId: id})
		})
		layer, layerErr = r.GetLayer(), err
		return nil // optional: reported as a warning below
	})
	g.Go(func() error {
		r, err := call(gctx, s, partResults, func(ctx context.Context) (*resultsv1.GetExperimentResultsResponse, error) {
			return s.backends.Results.GetExperimentResults(ctx, &resultsv1.GetExperimentResultsRequest{ExperimentId: id})
		})
		res = r.GetResults()
		return err
	})
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := &gatewayv2.GetExperimentResultsResponse{
		Experiment: exp,
		Layer:      layer,
		Settings:   res.GetStatsConfig(),
		Results:    labelResults(res, variationNames(exp)),
	}
	// Without a layer id there is nothing missing, whatever the lookup said.
	if layerErr != nil && exp.GetLayerId() != "" {
		out.Warnings = append(out.Warnings, warning(gatewayv2.Part_PART_LAYER, exp.GetLayerId(), partLayer, layerErr))
	}
	return out, nil
}

// variationNames maps variation ids to their names, or their keys for
// variations without a name.
func variationNames(e *experimentsv1.Experiment) map[string]string {
	names := make(map[string]string, len(e.GetVariations()))
	for _, v := range e.GetVariations() {
		name := v.GetName()
		if name == "" {
			name = v.GetKey()
		}
		names[v.GetId()] = name
	}
	return names
}

// nameOf is the name of variation id, or key for a variation no longer in
// the experiment.
func nameOf(names map[string]string, id, key string) string {
	if n, ok := names[id]; ok {
		return n
	}
	return key
}

// labelResults is r with every variation labelled by its name.
func labelResults(r *resultsv1.ExperimentResults, names map[string]string) *gatewayv2.ExperimentResults {
	out := &gatewayv2.ExperimentResults{
		StartTime:           r.GetStartTime(),
		EndTime:             r.GetEndTime(),
		ComputeTime:         r.GetComputeTime(),
		BaselineVariationId: r.GetBaselineVariationId(),
		TotalVisitors:       r.GetReach().GetTotalCount(),
		SampleRatioMismatch: r.GetSampleRatioMismatch(),
	}
	for _, v := range r.GetReach().GetVariations() {
		out.Reach = append(out.Reach, &gatewayv2.VariationReach{VariationName: nameOf(names, v.GetVariationId(), v.GetVariationKey()), Reach: v})
	}
	for _, m := range r.GetMetrics() {
		mr := &gatewayv2.MetricResults{EventKey: m.GetEventKey(), Aggregator: m.GetAggregator(), Primary: m.GetPrimary()}
		for _, v := range m.GetResults() {
			mr.Variations = append(mr.Variations, &gatewayv2.VariationResult{VariationName: nameOf(names, v.GetVariationId(), v.GetVariationKey()), Result: v})
		}
		out.Metrics = append(out.Metrics, mr)
	}
	return out
}
