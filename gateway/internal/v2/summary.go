package v2

import (
	"fmt"
	"strings"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	gatewayv2 "github.com/liftlabs/lift/proto/gen/go/lift/gateway/v2"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
)

// summarize sums up an experiment's results on its primary metric's
// conversion rate (the metric the experiment is decided on): the
// challenger with the highest lift over the baseline, its significance and
// verdict.
func summarize(e *experimentsv1.Experiment, r *resultsv1.ExperimentResults) *gatewayv2.ResultSummary {
	names := variationNames(e)
	s := &gatewayv2.ResultSummary{
		Visitors:            r.GetReach().GetTotalCount(),
		SampleRatioMismatch: r.GetSampleRatioMismatch().GetMismatch(),
	}
	m := primaryMetric(r)
	if m == nil {
		s.Text = fmt.Sprintf("%d visitors; no primary metric", s.Visitors)
		return withSRMText(s)
	}
	s.PrimaryMetric = m.GetEventKey()
	var base, lead *resultsv1.VariationResult
	for _, v := range m.GetResults() {
		if v.GetIsBaseline() {
			base = v
			continue
		}
		if v.GetLift() != nil && (lead == nil || liftKey(v) > liftKey(lead)) {
			lead = v
		}
	}
	if base != nil {
		s.BaselineVariationName = label(names, base)
	}
	if lead == nil {
		s.Text = fmt.Sprintf("%d visitors; no variation to compare on %s", s.Visitors, s.PrimaryMetric)
		return withSRMText(s)
	}
	l := lead.GetLift()
	s.LeadingVariationId = lead.GetVariationId()
	s.LeadingVariationKey = lead.GetVariationKey()
	s.LeadingVariationName = label(names, lead)
	s.Lift = l.GetValue()
	s.Significance = l.GetSignificance()
	s.IsSignificant = l.GetIsSignificant()
	s.LiftStatus = l.GetLiftStatus()
	change := fmt.Sprintf("%+.1f%%", 100*l.GetValue())
	if !l.GetRelativeAvailable() {
		change = fmt.Sprintf("%+.4g absolute", l.GetAbsoluteValue())
	}
	verdict := strings.ToLower(strings.TrimPrefix(l.GetLiftStatus().String(), "LIFT_STATUS_"))
	s.Text = fmt.Sprintf("%s vs %s: %s on %s, significance %.1f%% (%s); %d visitors",
		s.LeadingVariationName, s.BaselineVariationName, change, s.PrimaryMetric, 100*l.GetSignificance(), verdict, s.Visitors)
	return withSRMText(s)
}

// primaryMetric is the conversion-rate entry of the primary metric, or nil.
func primaryMetric(r *resultsv1.ExperimentResults) *resultsv1.MetricResults {
	for _, m := range r.GetMetrics() {
		if m.GetPrimary() && m.GetAggregator() == resultsv1.Aggregator_AGGREGATOR_UNIQUE_CONVERSIONS {
			return m
		}
	}
	return nil
}

// liftKey orders challengers: by relative lift, or by absolute difference
// when the baseline's rate is 0 (then no variation has a relative lift).
func liftKey(v *resultsv1.VariationResult) float64 {
	if v.GetLift().GetRelativeAvailable() {
		return v.GetLift().GetValue()
	}
	return v.GetLift().GetAbsoluteValue()
}

func label(names map[string]string, v *resultsv1.VariationResult) string {
	return nameOf(names, v.GetVariationId(), v.GetVariationKey())
}

func withSRMText(s *gatewayv2.ResultSummary) *gatewayv2.ResultSummary {
	if s.GetSampleRatioMismatch() {
		s.Text += "; sample ratio mismatch: do not trust these results"
	}
	return s
}
