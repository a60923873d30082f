package server_test

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// referenceData sends the dataset of reference.py's service_case: 1000
// visitors per arm, 100 control and 130 treatment purchases, a second
// purchase by every tenth treatment buyer in a later batch. It returns the
// batches in sending order.
func (s *stack) referenceData() [][]*resultsv1.Visitor {
	seq := 0
	var all []*resultsv1.Visitor
	for i := 0; i < 1000; i++ {
		c := visitor(fmt.Sprintf("c-%04d", i), &seq).impression(s.e.GetId(), s.control, 0)
		if i < 100 {
			c.conversion("purchase", 5, 1000+37*int64(i))
		}
		tr := visitor(fmt.Sprintf("t-%04d", i), &seq).impression(s.e.GetId(), s.treat, 0)
		if i < 130 {
			tr.conversion("purchase", 5, 1100+41*int64(i))
		}
		all = append(all, c.v, tr.v)
	}
	var batches [][]*resultsv1.Visitor
	for len(all) > 0 {
		batches = append(batches, all[:100])
		all = all[100:]
	}
	var again []*resultsv1.Visitor
	for i := 0; i < 130; i += 10 {
		again = append(again, visitor(fmt.Sprintf("t-%04d", i), &seq).conversion("purchase", 60, 500).v)
	}
	return append(batches, again)
}

func near(got, want float64) bool {
	return math.Abs(got-want) <= 1e-9*math.Max(1, math.Abs(want))
}

func TestIngestEvents_ResultsMatchReferenceCountsAndStatistics(t *testing.T) {
	s := newStack(t)
	s.setStats(t, identityv1.StatsMethod_STATS_METHOD_FREQUENTIST, 0.95, false)
	ref := loadReference(t)
	batches := s.referenceData()
	for i, b := range batches {
		resp := s.ingest(t, b...)
		if resp.GetDuplicateEvents() != 0 {
			t.Fatalf("batch %d: %d duplicates", i, resp.GetDuplicateEvents())
		}
	}
	// A client that never saw the acknowledgement sends a batch again: it
	// is stored once.
	again := s.ingest(t, batches[3]...)
	if again.GetAcceptedEvents() != 0 || again.GetDuplicateEvents() == 0 {
		t.Fatalf("resent batch: %+v", again)
	}

	r := s.results(t, nil)
	if r.GetReach().GetTotalCount() != 2000 || r.GetReach().GetBaselineCount() != 1000 || r.GetSampleRatioMismatch().GetMismatch() {
		t.Fatalf("reach %+v srm %+v", r.GetReach(), r.GetSampleRatioMismatch())
	}
	if sc := r.GetStatsConfig(); sc.GetStatsMethod() != identityv1.StatsMethod_STATS_METHOD_FREQUENTIST || sc.GetConfidenceLevel() != 0.95 {
		t.Fatalf("stats config %+v", sc)
	}
	// purchase: conversion rate and revenue; signup: conversion rate only
	// (no events, all zeros).
	if len(r.GetMetrics()) != 3 {
		t.Fatalf("%d metric results, want 3", len(r.GetMetrics()))
	}
	rate, revenue := r.GetMetrics()[0], r.GetMetrics()[1]
	if rate.GetAggregator() != resultsv1.Aggregator_AGGREGATOR_UNIQUE_CONVERSIONS || !rate.GetPrimary() ||
		revenue.GetAggregator() != resultsv1.Aggregator_AGGREGATOR_REVENUE {
		t.Fatalf("metrics %v / %v", rate.GetAggregator(), revenue.GetAggregator())
	}
	ctl, trt := rate.GetResults()[0], rate.GetResults()[1]
	if !ctl.GetIsBaseline() || ctl.GetLift() != nil || ctl.GetSamples() != 1000 || ctl.GetConverters() != 100 || ctl.GetConversions() != 100 {
		t.Fatalf("control %+v", ctl)
	}
	if trt.GetSamples() != 1000 || trt.GetConverters() != 130 || trt.GetConversions() != ref.TreatmentConversions || trt.GetRate() != 0.13 {
		t.Fatalf("treatment %+v", trt)
	}
	l := trt.GetLift()
	checks := []struct {
		name      string
		got, want float64
	}{
		{"p", l.GetPValue(), ref.Binary.PValue},
		{"diff lower", l.GetAbsoluteConfidenceInterval().GetLower(), ref.Binary.DiffCI[0]},
		{"diff upper", l.GetAbsoluteConfidenceInterval().GetUpper(), ref.Binary.DiffCI[1]},
		{"relative", l.GetValue(), ref.Binary.Relative},
		{"relative lower", l.GetConfidenceInterval().GetLower(), ref.Binary.RelativeCI[0]},
		{"relative upper", l.GetConfidenceInterval().GetUpper(), ref.Binary.RelativeCI[1]},
		{"chance", l.GetChanceToBeatBaseline(), ref.ChanceToBeat},
	}
	rc, rt := revenue.GetResults()[0], revenue.GetResults()[1]
	rl := rt.GetLift()
	checks = append(checks, []struct {
		name      string
		got, want float64
	}{
		{"revenue control sum", rc.GetValue(), ref.Revenue.Control.Sum},
		{"revenue treatment sum", rt.GetValue(), ref.Revenue.Treatment.Sum},
		{"revenue treatment variance", rt.GetVariance(), (ref.Revenue.Treatment.SumSq - ref.Revenue.Treatment.Sum*ref.Revenue.Treatment.Sum/1000) / 999},
		{"revenue p", rl.GetPValue(), ref.Revenue.PValue},
		{"revenue diff lower", rl.GetAbsoluteConfidenceInterval().GetLower(), ref.Revenue.DiffCI[0]},
		{"revenue diff upper", rl.GetAbsoluteConfidenceInterval().GetUpper(), ref.Revenue.DiffCI[1]},
		{"revenue relative", rl.GetValue(), ref.Revenue.Relative},
		{"revenue chance", rl.GetChanceToBeatBaseline(), ref.Revenue.ChanceToBeat},
	}...)
	for _, c := range checks {
		if !near(c.got, c.want) {
			t.Errorf("%s = %.15g, want %.15g", c.name, c.got, c.want)
		}
	}
	if !l.GetIsSignificant() || l.GetLiftStatus() != resultsv1.LiftStatus_LIFT_STATUS_BETTER || l.GetVisitorsRemaining() != 0 {
		t.Errorf("lift verdict %+v", l)
	}
	if len(trt.GetSeries()) != 1 || trt.GetSeries()[0].GetSamples() != 1000 || trt.GetSeries()[0].GetConverters() != 130 {
		t.Errorf("series %+v", trt.GetSeries())
	}
}

func TestGetExperimentResults_ConversionsPerVisitorWhereLowerIsBetter(t *testing.T) {
	s := newStack(t)
	s.setStats(t, identityv1.StatsMethod_STATS_METHOD_FREQUENTIST, 0.95, false)
	_, err := s.exp.Client.UpdateExperiment(s.write, &experimentsv1.UpdateExperimentRequest{
		Experiment: &experimentsv1.Experiment{Id: s.e.GetId(), Etag: s.e.GetEtag(), Metrics: []*experimentsv1.Metric{{
			EventKey: "purchase", Primary: true, Kind: experimentsv1.MetricKind_METRIC_KIND_CONVERSIONS_PER_VISITOR,
			Direction: experimentsv1.MetricDirection_METRIC_DIRECTION_DECREASE,
		}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"metrics"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range s.referenceData() {
		s.ingest(t, b...)
	}
	var ref struct {
		ServiceConversions struct {
			PValue            float64 `json:"p_value"`
			VarianceControl   float64 `json:"variance_control"`
			VarianceTreatment float64 `json:"variance_treatment"`
		} `json:"service_conversions"`
	}
	raw, err := os.ReadFile("../stats/testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	r := s.results(t, nil)
	if len(r.GetMetrics()) != 1 || r.GetMetrics()[0].GetAggregator() != resultsv1.Aggregator_AGGREGATOR_CONVERSIONS {
		t.Fatalf("metrics %v", r.GetMetrics())
	}
	ctl, trt := r.GetMetrics()[0].GetResults()[0], r.GetMetrics()[0].GetResults()[1]
	// Counted by the rollups: 100 and 130 buyers, 13 of the latter twice.
	if ctl.GetValue() != 100 || trt.GetValue() != 143 || !near(ctl.GetVariance(), ref.ServiceConversions.VarianceControl) ||
		!near(trt.GetVariance(), ref.ServiceConversions.VarianceTreatment) {
		t.Fatalf("control %v treatment %v", ctl, trt)
	}
	l := trt.GetLift()
	// More purchases per visitor is significant, and worse: the metric says
	// lower is better.
	if !near(l.GetPValue(), ref.ServiceConversions.PValue) || l.GetLiftStatus() != resultsv1.LiftStatus_LIFT_STATUS_WORSE ||
		l.GetChanceToBeatBaseline() > 0.01 || r.GetMetrics()[0].GetDirection() != experimentsv1.MetricDirection_METRIC_DIRECTION_DECREASE {
		t.Errorf("lift %v", l)
	}
}

func TestGetExperimentResults_CappedRevenueMatchesWinsorizedReference(t *testing.T) {
	var ref struct {
		ServiceCapped map[string]struct {
			Cap     float64 `json:"cap"`
			Control struct {
				Sum   float64 `json:"sum"`
				SumSq float64 `json:"sum_sq"`
			} `json:"control"`
			Treatment struct {
				Sum float64 `json:"sum"`
			} `json:"treatment"`
			PValue float64    `json:"p_value"`
			DiffCI [2]float64 `json:"diff_ci"`
		} `json:"service_capped"`
	}
	raw, err := os.ReadFile("../stats/testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	for name, capping := range map[string]*experimentsv1.MetricCapping{
		"percentile_90": {Cap: &experimentsv1.MetricCapping_Percentile{Percentile: 0.9}},
		"fixed_4000":    {Cap: &experimentsv1.MetricCapping_Value{Value: 4000}},
	} {
		t.Run(name, func(t *testing.T) {
			want := ref.ServiceCapped[name]
			s := newStack(t)
			s.setStats(t, identityv1.StatsMethod_STATS_METHOD_FREQUENTIST, 0.95, false)
			_, err := s.exp.Client.UpdateExperiment(s.write, &experimentsv1.UpdateExperimentRequest{
				Experiment: &experimentsv1.Experiment{Id: s.e.GetId(), Etag: s.e.GetEtag(), Metrics: []*experimentsv1.Metric{{
					EventKey: "purchase", Primary: true, Kind: experimentsv1.MetricKind_METRIC_KIND_REVENUE_PER_VISITOR, Capping: capping,
				}}},
				UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"metrics"}},
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, b := range s.referenceData() {
				s.ingest(t, b...)
			}
			m := s.results(t, nil).GetMetrics()[0]
			ctl, trt := m.GetResults()[0], m.GetResults()[1]
			l := trt.GetLift()
			for _, c := range []struct {
				name      string
				got, want float64
			}{
				{"cap", m.GetCappedAt(), want.Cap},
				{"control sum", ctl.GetValue(), want.Control.Sum},
				{"control variance", ctl.GetVariance(), (want.Control.SumSq - want.Control.Sum*want.Control.Sum/1000) / 999},
				{"treatment sum", trt.GetValue(), want.Treatment.Sum},
				{"day 1 treatment sum", trt.GetSeries()[0].GetValue(), want.Treatment.Sum},
				{"p", l.GetPValue(), want.PValue},
				{"diff lower", l.GetAbsoluteConfidenceInterval().GetLower(), want.DiffCI[0]},
				{"diff upper", l.GetAbsoluteConfidenceInterval().GetUpper(), want.DiffCI[1]},
			} {
				if !near(c.got, c.want) {
					t.Errorf("%s = %.15g, want %.15g", c.name, c.got, c.want)
				}
			}
		})
	}
}

func TestGetExperimentResults_BayesianReportsRiskAndCredibleIntervals(t *testing.T) {
	s := newStack(t)
	s.setStats(t, identityv1.StatsMethod_STATS_METHOD_BAYESIAN, 0.95, false)
	for _, b := range s.referenceData() {
		s.ingest(t, b...)
	}
	rateRef, revenueRef := loadBayesReference(t)
	r := s.results(t, &resultsv1.GetExperimentResultsRequest{MetricKeys: []string{"purchase"}})
	for i, ref := range []bayesReference{rateRef, revenueRef} {
		trt := r.GetMetrics()[i].GetResults()[1]
		l := trt.GetLift()
		for _, c := range []struct {
			name      string
			got, want float64
		}{
			{"expected loss", l.GetExpectedLoss(), ref.LossTreatment},
			{"baseline expected loss", l.GetBaselineExpectedLoss(), ref.LossControl},
			{"credible lower", l.GetCredibleInterval().GetLower(), ref.CredibleRelative[0]},
			{"credible upper", l.GetCredibleInterval().GetUpper(), ref.CredibleRelative[1]},
			// One day of data: the lift over time is that day's credible interval.
			{"day 1 credible lower", trt.GetSeries()[0].GetLift().GetInterval().GetLower(), ref.CredibleRelative[0]},
		} {
			if !near(c.got, c.want) {
				t.Errorf("metric %d %s = %.15g, want %.15g", i, c.name, c.got, c.want)
			}
		}
	}
}

func TestGetExperimentResults_SequentialIsTheProjectDefault(t *testing.T) {
	s := newStack(t)
	ref := loadReference(t)
	for _, b := range s.referenceData() {
		s.ingest(t, b...)
	}
	r := s.results(t, &resultsv1.GetExperimentResultsRequest{MetricKeys: []string{"purchase"}})
	if r.GetStatsConfig().GetStatsMethod() != identityv1.StatsMethod_STATS_METHOD_SEQUENTIAL {
		t.Fatalf("stats config %+v", r.GetStatsConfig())
	}
	l := r.GetMetrics()[0].GetResults()[1].GetLift()
	if !near(l.GetPValue(), ref.SequentialP) ||
		!near(l.GetAbsoluteConfidenceInterval().GetLower(), ref.SequentialDiffCI[0]) ||
		!near(l.GetAbsoluteConfidenceInterval().GetUpper(), ref.SequentialDiffCI[1]) {
		t.Errorf("sequential lift %+v, want p %v CI %v", l, ref.SequentialP, ref.SequentialDiffCI)
	}
	// Every event is on one day: lift over time is one point, the same
	// always-valid interval.
	series := r.GetMetrics()[0].GetResults()[1].GetSeries()
	if len(series) != 1 || !near(series[0].GetLift().GetAbsoluteInterval().GetLower(), ref.SequentialDiffCI[0]) ||
		!near(series[0].GetLift().GetAbsoluteInterval().GetUpper(), ref.SequentialDiffCI[1]) {
		t.Errorf("lift over time %v, want one day with CI %v", series, ref.SequentialDiffCI)
	}
	// The always-valid test is not yet convinced by what the fixed-horizon
	// test calls significant; it says how much longer to run.
	if l.GetIsSignificant() || !l.GetVisitorsRemainingKnown() || l.GetVisitorsRemaining() <= 0 {
		t.Errorf("sequential verdict %+v", l)
	}
}
