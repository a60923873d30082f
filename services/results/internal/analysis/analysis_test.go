package analysis

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
	"time"

	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/liftlabs/lift/services/results/internal/catalog"
	"github.com/liftlabs/lift/services/results/internal/stats"
	"github.com/liftlabs/lift/services/results/internal/store"
	"google.golang.org/protobuf/encoding/protojson"
)

var (
	d1 = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
	d2 = d1.AddDate(0, 0, 1)
	d3 = d1.AddDate(0, 0, 2)
)

func experiment() *catalog.Experiment {
	return &catalog.Experiment{ID: 5, ProjectID: 1, Variations: []catalog.Variation{
		{ID: 50, Key: "a", Weight: 5000, Baseline: true}, {ID: 51, Key: "b", Weight: 2500}, {ID: 52, Key: "c", Weight: 2500},
	}, Metrics: []catalog.Metric{{EventKey: "buy", Primary: true}, {EventKey: "click"}}}
}

func rollups() store.Rollups {
	return store.Rollups{
		Variations: []store.VariationDay{
			{VariationID: 50, Day: d1, Visitors: 1000}, {VariationID: 51, Day: d1, Visitors: 500}, {VariationID: 52, Day: d1, Visitors: 500},
			{VariationID: 50, Day: d2, Visitors: 1000}, {VariationID: 51, Day: d2, Visitors: 500}, {VariationID: 52, Day: d2, Visitors: 500},
			{VariationID: 50, Day: d3, Visitors: 1000}, {VariationID: 51, Day: d3, Visitors: 500}, {VariationID: 52, Day: d3, Visitors: 500},
		},
		Metrics: []store.MetricDay{
			{EventKey: "buy", VariationID: 50, Day: d1, Converters: 100, Conversions: 110, RevenueSum: 5000, RevenueSumSq: 400000},
			{EventKey: "buy", VariationID: 51, Day: d1, Converters: 70, Conversions: 75, RevenueSum: 4000, RevenueSumSq: 350000},
			{EventKey: "buy", VariationID: 50, Day: d3, Converters: 200, Conversions: 210, RevenueSum: 9000, RevenueSumSq: 800000},
			{EventKey: "buy", VariationID: 51, Day: d3, Converters: 110, Conversions: 120, RevenueSum: 7000, RevenueSumSq: 700000},
			{EventKey: "buy", VariationID: 52, Day: d2, Converters: 90, Conversions: 90},
			{EventKey: "click", VariationID: 50, Day: d2, Converters: 10, Conversions: 10},
		},
	}
}

func TestCompute_CumulativeSeriesAndSequentialLooks(t *testing.T) {
	in := Input{Experiment: experiment(), Baseline: 50, Metrics: experiment().Metrics, Rollups: rollups(),
		Config: stats.Config{Method: stats.MethodSequential, Confidence: 0.9}, Now: d3}
	r := Compute(in)
	// buy: conversion rate and revenue; click: conversion rate only.
	if len(r.GetMetrics()) != 3 || r.GetMetrics()[1].GetAggregator() != resultsv1.Aggregator_AGGREGATOR_REVENUE {
		t.Fatalf("metrics %v", r.GetMetrics())
	}
	b := r.GetMetrics()[0].GetResults()[1]
	wantSeries := []struct{ n, conv int64 }{{500, 70}, {1000, 70}, {1500, 180}}
	for i, p := range b.GetSeries() {
		if p.GetSamples() != wantSeries[i].n || p.GetConverters() != wantSeries[i].conv || !p.GetDay().AsTime().Equal([]time.Time{d1, d2, d3}[i]) {
			t.Errorf("series[%d] = %v", i, p)
		}
	}
	if b.GetSamples() != 1500 || b.GetConverters() != 180 || b.GetConversions() != 195 || b.GetRate() != 0.12 {
		t.Fatalf("variation b %v", b)
	}
	// The lift is the stats package's sequential comparison over the three
	// daily looks.
	looks := []stats.Look{
		{Control: stats.Binary(1000, 100), Treatment: stats.Binary(500, 70)},
		{Control: stats.Binary(2000, 100), Treatment: stats.Binary(1000, 70)},
		{Control: stats.Binary(3000, 300), Treatment: stats.Binary(1500, 180)},
	}
	want := stats.Compare(stats.KindBinary, stats.Config{Method: stats.MethodSequential, Confidence: 0.9}, looks)
	l := b.GetLift()
	if l.GetPValue() != want.PValue || l.GetAbsoluteConfidenceInterval().GetLower() != want.DiffInterval.Lower || l.GetValue() != want.Relative {
		t.Fatalf("lift %v, want %+v", l, want)
	}
	if r.GetMetrics()[0].GetResults()[0].GetLift() != nil {
		t.Fatal("the baseline has a lift")
	}
	rev := r.GetMetrics()[1].GetResults()[1]
	if rev.GetValue() != 11000 || math.Abs(rev.GetRate()-11000.0/1500) > 1e-12 {
		t.Fatalf("revenue %v", rev)
	}
	if r.GetReach().GetTotalCount() != 6000 || r.GetReach().GetBaselineCount() != 3000 || r.GetSampleRatioMismatch().GetMismatch() {
		t.Fatalf("reach %v srm %v", r.GetReach(), r.GetSampleRatioMismatch())
	}
}

func TestCompute_LiftOverTimeIsEachDaysCumulativeLift(t *testing.T) {
	looks := []stats.Look{
		{Control: stats.Binary(1000, 100), Treatment: stats.Binary(500, 70)},
		{Control: stats.Binary(2000, 100), Treatment: stats.Binary(1000, 70)},
		{Control: stats.Binary(3000, 300), Treatment: stats.Binary(1500, 180)},
	}
	for _, method := range []stats.Method{stats.MethodSequential, stats.MethodFrequentist, stats.MethodBayesian} {
		cfg := stats.Config{Method: method, Confidence: 0.9}
		r := Compute(Input{Experiment: experiment(), Baseline: 50, Metrics: experiment().Metrics, Rollups: rollups(), Config: cfg, Now: d3})
		want := stats.LiftOverTime(stats.KindBinary, cfg, looks)
		b := r.GetMetrics()[0].GetResults()[1]
		for i, p := range b.GetSeries() {
			l, w := p.GetLift(), want[i]
			if l.GetInsufficientData() || l.GetValue() != w.Relative || !l.GetRelativeAvailable() ||
				l.GetInterval().GetLower() != w.RelativeInterval.Lower || l.GetInterval().GetUpper() != w.RelativeInterval.Upper ||
				l.GetAbsoluteValue() != w.Diff || l.GetAbsoluteInterval().GetLower() != w.DiffInterval.Lower ||
				l.GetAbsoluteInterval().GetUpper() != w.DiffInterval.Upper {
				t.Errorf("method %d day %d: lift %v, want %+v", method, i, l, w)
			}
		}
		if method != stats.MethodBayesian {
			last := b.GetSeries()[2].GetLift()
			if last.GetInterval().GetLower() != b.GetLift().GetConfidenceInterval().GetLower() {
				t.Errorf("method %d: last day %v, lift %v", method, last, b.GetLift())
			}
		}
		for _, p := range r.GetMetrics()[0].GetResults()[0].GetSeries() {
			if p.GetLift() != nil {
				t.Fatalf("the baseline has a daily lift: %v", p)
			}
		}
		// "click" has no conversions in the baseline on day 1: its relative
		// lift is unavailable that day, the absolute one is still given.
		click := r.GetMetrics()[2].GetResults()[1].GetSeries()[0].GetLift()
		if click.GetInsufficientData() || click.GetRelativeAvailable() || click.GetValue() != 0 {
			t.Errorf("method %d: click day 1 %v", method, click)
		}
	}
}

func TestCompute_FalseDiscoveryRateAdjustsAcrossMetricsAndVariations(t *testing.T) {
	in := Input{Experiment: experiment(), Baseline: 50, Metrics: experiment().Metrics, Rollups: rollups(),
		Config: stats.Config{Method: stats.MethodFrequentist}, FDR: true, Now: d3}
	r := Compute(in)
	var ps, qs []float64
	for _, m := range r.GetMetrics() {
		for _, v := range m.GetResults() {
			if l := v.GetLift(); l != nil && !l.GetInsufficientData() {
				ps, qs = append(ps, l.GetPValue()), append(qs, l.GetAdjustedPValue())
				if l.GetSignificance() != 1-l.GetAdjustedPValue() {
					t.Errorf("significance %v with adjusted p %v", l.GetSignificance(), l.GetAdjustedPValue())
				}
			}
		}
	}
	if !reflect.DeepEqual(qs, stats.BenjaminiHochberg(ps)) {
		t.Fatalf("adjusted %v, want BH of %v", qs, ps)
	}
	if len(ps) != 6 || !r.GetStatsConfig().GetFalseDiscoveryRateControl() {
		t.Fatalf("%d comparisons", len(ps))
	}
}

func TestCompute_NoDataIsNeutralAndMarshals(t *testing.T) {
	r := Compute(Input{Experiment: experiment(), Baseline: 50, Metrics: experiment().Metrics, Now: d1})
	l := r.GetMetrics()[0].GetResults()[1].GetLift()
	if !l.GetInsufficientData() || l.GetIsSignificant() || l.GetLiftStatus() != resultsv1.LiftStatus_LIFT_STATUS_INCONCLUSIVE || l.GetPValue() != 1 {
		t.Fatalf("lift %v", l)
	}
	if r.GetSampleRatioMismatch().GetTested() || r.GetReach().GetTotalCount() != 0 {
		t.Fatalf("srm %v", r.GetSampleRatioMismatch())
	}
	b, err := protojson.Marshal(r)
	if err != nil || !json.Valid(b) {
		t.Fatalf("marshal: %v", err)
	}
}

func TestCompute_TrafficToARemovedVariationIsAMismatch(t *testing.T) {
	rs := rollups()
	rs.Variations = append(rs.Variations, store.VariationDay{VariationID: 99, Day: d3, Visitors: 4})
	r := Compute(Input{Experiment: experiment(), Baseline: 50, Metrics: experiment().Metrics, Rollups: rs, Now: d3})
	if s := r.GetSampleRatioMismatch(); !s.GetMismatch() || !s.GetUnexpectedTraffic() {
		t.Fatalf("srm %v", s)
	}
}
