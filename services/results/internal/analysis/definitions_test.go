package analysis

import (
	"encoding/json"
	"math"
	"os"
	"reflect"
	"testing"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/liftlabs/lift/services/results/internal/catalog"
	"github.com/liftlabs/lift/services/results/internal/stats"
	"github.com/liftlabs/lift/services/results/internal/store"
)

// definitionsReference is the "metric_definitions" case of
// ../stats/testdata/reference.json (computed by reference.py there).
type definitionsReference struct {
	Confidence float64 `json:"confidence"`
	Metrics    []struct {
		Key       string `json:"key"`
		Kind      int32  `json:"kind"`
		Direction int32  `json:"direction"`
		Role      int32  `json:"role"`
		Control   struct {
			N     int64   `json:"n"`
			X     int64   `json:"x"`
			Sum   float64 `json:"sum"`
			SumSq float64 `json:"sum_sq"`
		} `json:"control"`
		Treatment struct {
			N     int64   `json:"n"`
			X     int64   `json:"x"`
			Sum   float64 `json:"sum"`
			SumSq float64 `json:"sum_sq"`
		} `json:"treatment"`
		PValue            float64 `json:"p_value"`
		AdjustedPValue    float64 `json:"adjusted_p_value"`
		Status            string  `json:"status"`
		ChanceToBeat      float64 `json:"chance_to_beat"`
		GuardrailViolated bool    `json:"guardrail_violated"`
	} `json:"metrics"`
}

func nearRel(got, want float64) bool {
	return math.Abs(got-want) <= 1e-6*math.Abs(want) || math.Abs(got-want) <= 1e-12
}

func TestCompute_DefinedMetricsFollowDirectionRoleAndKind(t *testing.T) {
	b, err := os.ReadFile("../stats/testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	var all struct {
		Ref definitionsReference `json:"metric_definitions"`
	}
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	ref := all.Ref
	exp := &catalog.Experiment{ID: 9, ProjectID: 1, Variations: []catalog.Variation{
		{ID: 90, Key: "control", Weight: 5000, Baseline: true}, {ID: 91, Key: "treatment", Weight: 5000}}}
	n := ref.Metrics[0].Control.N
	r := store.Rollups{Variations: []store.VariationDay{{VariationID: 90, Day: d1, Visitors: n}, {VariationID: 91, Day: d1, Visitors: n}}}
	for _, m := range ref.Metrics {
		exp.Metrics = append(exp.Metrics, catalog.Metric{
			EventKey: m.Key, Primary: m.Role == 1, Kind: experimentsv1.MetricKind(m.Kind),
			LowerIsBetter: m.Direction == 2, Guardrail: m.Role == 3,
		})
		for _, v := range []struct {
			id         int64
			x          int64
			sum, sumSq float64
		}{{90, m.Control.X, m.Control.Sum, m.Control.SumSq}, {91, m.Treatment.X, m.Treatment.Sum, m.Treatment.SumSq}} {
			d := store.MetricDay{EventKey: m.Key, VariationID: v.id, Day: d1, Converters: v.x}
			switch experimentsv1.MetricKind(m.Kind) {
			case experimentsv1.MetricKind_METRIC_KIND_CONVERSIONS_PER_VISITOR:
				d.Conversions, d.ConversionsSumSq = int64(v.sum), v.sumSq
			case experimentsv1.MetricKind_METRIC_KIND_VALUE_PER_VISITOR:
				d.ValueSum, d.ValueSumSq = v.sum, v.sumSq
			}
			r.Metrics = append(r.Metrics, d)
		}
	}
	out := Compute(Input{Experiment: exp, Baseline: 90, Metrics: exp.Metrics, Rollups: r, FDR: true,
		Config: stats.Config{Method: stats.MethodFrequentist, Confidence: ref.Confidence}, Now: d1})
	if len(out.GetMetrics()) != len(ref.Metrics) {
		t.Fatalf("%d metric results, want one per defined metric (%d)", len(out.GetMetrics()), len(ref.Metrics))
	}
	wantAgg := map[int32]resultsv1.Aggregator{1: resultsv1.Aggregator_AGGREGATOR_UNIQUE_CONVERSIONS,
		2: resultsv1.Aggregator_AGGREGATOR_CONVERSIONS, 4: resultsv1.Aggregator_AGGREGATOR_VALUE}
	wantStatus := map[string]resultsv1.LiftStatus{"better": resultsv1.LiftStatus_LIFT_STATUS_BETTER,
		"worse": resultsv1.LiftStatus_LIFT_STATUS_WORSE, "inconclusive": resultsv1.LiftStatus_LIFT_STATUS_INCONCLUSIVE}
	for i, m := range ref.Metrics {
		mr := out.GetMetrics()[i]
		l := mr.GetResults()[1].GetLift()
		if mr.GetEventKey() != m.Key || mr.GetAggregator() != wantAgg[m.Kind] || int32(mr.GetRole()) != m.Role ||
			int32(mr.GetDirection()) != m.Direction {
			t.Errorf("%s: metric %v/%v role %v direction %v", m.Key, mr.GetEventKey(), mr.GetAggregator(), mr.GetRole(), mr.GetDirection())
		}
		if !nearRel(l.GetPValue(), m.PValue) || !nearRel(l.GetAdjustedPValue(), m.AdjustedPValue) ||
			!nearRel(l.GetChanceToBeatBaseline(), m.ChanceToBeat) {
			t.Errorf("%s: p %.12g adjusted %.12g chance %.12g, want %.12g %.12g %.12g", m.Key,
				l.GetPValue(), l.GetAdjustedPValue(), l.GetChanceToBeatBaseline(), m.PValue, m.AdjustedPValue, m.ChanceToBeat)
		}
		if l.GetLiftStatus() != wantStatus[m.Status] || l.GetGuardrailViolated() != m.GuardrailViolated {
			t.Errorf("%s: status %v guardrail violated %v, want %s %v", m.Key, l.GetLiftStatus(), l.GetGuardrailViolated(), m.Status, m.GuardrailViolated)
		}
	}
}

func TestCompute_CappedMetricUsesCappedCohortSums(t *testing.T) {
	exp := experiment()
	exp.Metrics = []catalog.Metric{{EventKey: "buy", Primary: true, Kind: experimentsv1.MetricKind_METRIC_KIND_REVENUE_PER_VISITOR,
		Capping: &experimentsv1.MetricCapping{Cap: &experimentsv1.MetricCapping_Value{Value: 50}}}}
	capped := map[string]Capped{"buy": {Cap: 50, Days: []store.CappedDay{
		{VariationID: 50, Day: d1, Sum: 4000, SumSq: 180000}, {VariationID: 51, Day: d1, Sum: 3000, SumSq: 140000},
		{VariationID: 50, Day: d3, Sum: 1000, SumSq: 45000}, {VariationID: 99, Day: d2, Sum: 7, SumSq: 49},
	}}}
	r := Compute(Input{Experiment: exp, Baseline: 50, Metrics: exp.Metrics, Rollups: rollups(), Capped: capped,
		Config: stats.Config{Method: stats.MethodFrequentist}, Now: d3})
	m := r.GetMetrics()[0]
	if len(r.GetMetrics()) != 1 || m.GetAggregator() != resultsv1.Aggregator_AGGREGATOR_REVENUE || m.GetCappedAt() != 50 {
		t.Fatalf("metrics %v", r.GetMetrics())
	}
	var got []float64
	for _, p := range m.GetResults()[0].GetSeries() {
		got = append(got, p.GetValue())
	}
	if want := []float64{4000, 4000, 5000}; !reflect.DeepEqual(got, want) {
		t.Errorf("baseline capped series %v, want %v", got, want)
	}
	b := m.GetResults()[1]
	want := stats.Compare(stats.KindNumeric, stats.Config{Method: stats.MethodFrequentist},
		[]stats.Look{{Control: stats.Summary{N: 3000, Sum: 5000, SumSq: 225000}, Treatment: stats.Summary{N: 1500, Sum: 3000, SumSq: 140000}}})
	if b.GetValue() != 3000 || b.GetLift().GetPValue() != want.PValue {
		t.Errorf("capped treatment %v, want p %v", b, want.PValue)
	}
}
