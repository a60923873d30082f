package v2

import (
	"testing"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
)

func experiment() *experimentsv1.Experiment {
	return &experimentsv1.Experiment{Variations: []*experimentsv1.Variation{
		{Id: "1", Key: "control", Name: "Control", Baseline: true},
		{Id: "2", Key: "blue", Name: "Blue button"},
		{Id: "3", Key: "green"}, // no name: labelled by its key
	}}
}

func results(srm bool, metrics ...*resultsv1.MetricResults) *resultsv1.ExperimentResults {
	return &resultsv1.ExperimentResults{
		Reach:               &resultsv1.Reach{TotalCount: 3000},
		SampleRatioMismatch: &resultsv1.SampleRatioMismatch{Mismatch: srm},
		Metrics:             metrics,
	}
}

func variation(id, key string, lift *resultsv1.Lift) *resultsv1.VariationResult {
	return &resultsv1.VariationResult{VariationId: id, VariationKey: key, IsBaseline: lift == nil, Lift: lift}
}

func TestSummarize_PicksTheChallengerWithTheHighestLift(t *testing.T) {
	m := &resultsv1.MetricResults{EventKey: "purchase", Primary: true, Aggregator: resultsv1.Aggregator_AGGREGATOR_UNIQUE_CONVERSIONS,
		Results: []*resultsv1.VariationResult{
			variation("1", "control", nil),
			variation("2", "blue", &resultsv1.Lift{Value: 0.12, RelativeAvailable: true, Significance: 0.971, IsSignificant: true, LiftStatus: resultsv1.LiftStatus_LIFT_STATUS_BETTER}),
			variation("3", "green", &resultsv1.Lift{Value: -0.05, RelativeAvailable: true, Significance: 0.4, LiftStatus: resultsv1.LiftStatus_LIFT_STATUS_INCONCLUSIVE}),
		}}
	// The revenue entry of the primary metric is not what is summed up.
	revenue := &resultsv1.MetricResults{EventKey: "purchase", Primary: true, Aggregator: resultsv1.Aggregator_AGGREGATOR_REVENUE}
	s := summarize(experiment(), results(false, revenue, m))
	if s.GetLeadingVariationName() != "Blue button" || s.GetLeadingVariationId() != "2" || s.GetBaselineVariationName() != "Control" ||
		s.GetLift() != 0.12 || !s.GetIsSignificant() || s.GetVisitors() != 3000 {
		t.Errorf("summary = %v", s)
	}
	if want := "Blue button vs Control: +12.0% on purchase, significance 97.1% (better); 3000 visitors"; s.GetText() != want {
		t.Errorf("text = %q, want %q", s.GetText(), want)
	}
}

func TestSummarize_ZeroBaselineRateComparesAbsoluteDifferences(t *testing.T) {
	m := &resultsv1.MetricResults{EventKey: "signup", Primary: true, Aggregator: resultsv1.Aggregator_AGGREGATOR_UNIQUE_CONVERSIONS,
		Results: []*resultsv1.VariationResult{
			variation("1", "control", nil),
			variation("2", "blue", &resultsv1.Lift{AbsoluteValue: 0.001, LiftStatus: resultsv1.LiftStatus_LIFT_STATUS_INCONCLUSIVE}),
			variation("3", "green", &resultsv1.Lift{AbsoluteValue: 0.002, Significance: 0.5, LiftStatus: resultsv1.LiftStatus_LIFT_STATUS_INCONCLUSIVE}),
		}}
	s := summarize(experiment(), results(true, m))
	if want := "green vs Control: +0.002 absolute on signup, significance 50.0% (inconclusive); 3000 visitors; sample ratio mismatch: do not trust these results"; s.GetText() != want {
		t.Errorf("text = %q, want %q", s.GetText(), want)
	}
	if !s.GetSampleRatioMismatch() || s.GetLeadingVariationKey() != "green" {
		t.Errorf("summary = %v", s)
	}
}

func TestSummarize_WithoutPrimaryMetric(t *testing.T) {
	s := summarize(experiment(), results(false))
	if s.GetText() != "3000 visitors; no primary metric" || s.GetPrimaryMetric() != "" || s.GetLeadingVariationId() != "" {
		t.Errorf("summary = %v", s)
	}
}
