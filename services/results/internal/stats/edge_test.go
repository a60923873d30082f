package stats

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// assertFinite walks v and fails on any NaN or infinite float, the values
// encoding/json refuses to marshal.
func assertFinite(t *testing.T, name string, v any) {
	t.Helper()
	var walk func(path string, x reflect.Value)
	walk = func(path string, x reflect.Value) {
		switch x.Kind() {
		case reflect.Float64:
			if f := x.Float(); math.IsNaN(f) || math.IsInf(f, 0) {
				t.Errorf("%s%s = %v", name, path, f)
			}
		case reflect.Struct:
			for i := 0; i < x.NumField(); i++ {
				walk(path+"."+x.Type().Field(i).Name, x.Field(i))
			}
		}
	}
	walk("", reflect.ValueOf(v))
	if _, err := json.Marshal(v); err != nil {
		t.Errorf("%s: %v", name, err)
	}
}

var allMethods = []Method{MethodSequential, MethodFrequentist, MethodBayesian}

// nullP reports whether p is what a method gives for two identical
// variations: 1 for the tests, and for the Bayesian method's posterior
// probability of the less likely direction anything from 0.4 to 0.5 (the
// Beta(1,1) prior weighs differently on samples of different sizes).
func nullP(m Method, p float64) bool {
	if m == MethodBayesian {
		return p >= 0.4 && p <= 0.5
	}
	return p == 1
}

func compareAll(t *testing.T, kind Kind, c, tr Summary) []Comparison {
	t.Helper()
	var out []Comparison
	for _, m := range allMethods {
		r := Compare(kind, Config{Method: m}, []Look{{c, tr}})
		assertFinite(t, "comparison", r)
		out = append(out, r)
	}
	return out
}

func TestCompare_ZeroConversionsEverywhereIsInconclusiveWithoutRelativeLift(t *testing.T) {
	for i, r := range compareAll(t, KindBinary, Binary(1000, 0), Binary(1000, 0)) {
		if !r.Defined || r.RelativeDefined || r.Significant || !nullP(allMethods[i], r.PValue) || r.Diff != 0 {
			t.Errorf("%+v", r)
		}
		if r.Remaining.Known {
			t.Errorf("remaining known for a zero effect: %+v", r.Remaining)
		}
		if math.Abs(r.ChanceToBeatBaseline-0.5) > 1e-9 {
			t.Errorf("chance = %v, want 0.5", r.ChanceToBeatBaseline)
		}
	}
}

func TestCompare_ZeroBaselineConversionsLeavesRelativeLiftUndefined(t *testing.T) {
	for _, r := range compareAll(t, KindBinary, Binary(5000, 0), Binary(5000, 40)) {
		if !r.Defined || r.RelativeDefined || r.Status != StatusBetter {
			t.Errorf("%+v", r)
		}
	}
}

func TestCompare_AllConversionsEverywhereIsDegenerateButDefined(t *testing.T) {
	for i, r := range compareAll(t, KindBinary, Binary(200, 200), Binary(300, 300)) {
		if !r.Defined || !r.RelativeDefined || r.Relative != 0 || !nullP(allMethods[i], r.PValue) || r.Significant {
			t.Errorf("%+v", r)
		}
		if r.DiffInterval != (Interval{}) || r.RelativeInterval != (Interval{}) {
			t.Errorf("intervals %+v %+v, want [0,0]", r.DiffInterval, r.RelativeInterval)
		}
	}
}

func TestCompare_EmptyVariationIsUndefined(t *testing.T) {
	cases := []struct {
		kind Kind
		c, t Summary
	}{
		{KindBinary, Binary(0, 0), Binary(100, 10)},
		{KindBinary, Binary(100, 10), Binary(0, 0)},
		{KindNumeric, Summary{N: 1, Sum: 3, SumSq: 9}, Summary{N: 10, Sum: 30, SumSq: 100}},
		{KindNumeric, Summary{}, Summary{}},
	}
	for _, c := range cases {
		for _, r := range compareAll(t, c.kind, c.c, c.t) {
			if r.Defined || r.Significant || r.PValue != 1 || r.ChanceToBeatBaseline != 0.5 || r.Status != StatusInconclusive {
				t.Errorf("%+v vs %+v: %+v", c.c, c.t, r)
			}
		}
	}
	if r := Compare(KindBinary, Config{}, nil); r.Defined {
		t.Errorf("no looks: %+v", r)
	}
}

func TestCompare_ZeroVarianceWithDifferentMeansIsSignificant(t *testing.T) {
	c := Summary{N: 10, Sum: 50, SumSq: 250}  // every visitor 5
	tr := Summary{N: 10, Sum: 70, SumSq: 490} // every visitor 7
	for _, r := range compareAll(t, KindNumeric, c, tr) {
		if !r.Defined || r.PValue != 0 || !r.Significant || r.Status != StatusBetter {
			t.Errorf("%+v", r)
		}
		if r.DiffInterval != (Interval{2, 2}) {
			t.Errorf("diff interval %+v, want [2,2]", r.DiffInterval)
		}
		if !r.Remaining.Known || r.Remaining.Visitors != 0 {
			t.Errorf("remaining %+v", r.Remaining)
		}
	}
	res, ok := WelchTTest(c, tr)
	if !ok || !res.Degenerate || res.PValue != 0 {
		t.Errorf("welch %+v", res)
	}
}

func TestCompare_ZeroVarianceWithEqualMeansIsNotSignificant(t *testing.T) {
	c := Summary{N: 10, Sum: 50, SumSq: 250}
	for i, r := range compareAll(t, KindNumeric, c, c) {
		if !r.Defined || !nullP(allMethods[i], r.PValue) || r.Significant || r.Remaining.Known {
			t.Errorf("%+v", r)
		}
	}
}

func TestWelchTTest_OneConstantArmUsesTheOthersDegreesOfFreedom(t *testing.T) {
	c := Summary{N: 50, Sum: 250, SumSq: 1250}
	tr := Summary{N: 8, Sum: 48, SumSq: 300}
	res, ok := WelchTTest(c, tr)
	if !ok || res.Degenerate {
		t.Fatalf("%+v", res)
	}
	assertClose(t, "df", res.DF, 7)
}

func TestSummary_SampleVarianceClampsCancellation(t *testing.T) {
	// 3 visitors with value 0.1: rounding makes SumSq − Sum²/N slightly
	// negative.
	s := Summary{N: 3, Sum: 0.1 + 0.1 + 0.1, SumSq: 0.01 + 0.01 + 0.01}
	if v := s.SampleVariance(); v < 0 || v > 1e-15 {
		t.Errorf("variance = %v", v)
	}
	if (Summary{N: 1, Sum: 3, SumSq: 9}).SampleVariance() != 0 {
		t.Error("variance of one visitor is not 0")
	}
}

func TestSampleRatioMismatch_EdgeCases(t *testing.T) {
	r := SampleRatioMismatch([]int64{0, 0}, []float64{5000, 5000})
	if r.Tested || r.Mismatch || r.PValue != 1 {
		t.Errorf("no traffic: %+v", r)
	}
	r = SampleRatioMismatch([]int64{100}, []float64{10000})
	if r.Tested || r.Mismatch {
		t.Errorf("one variation: %+v", r)
	}
	r = SampleRatioMismatch([]int64{100, 100, 3}, []float64{5000, 5000, 0})
	if !r.Tested || !r.Mismatch || !r.UnexpectedTraffic || r.PValue != 0 {
		t.Errorf("traffic to a zero-weight variation: %+v", r)
	}
	r = SampleRatioMismatch([]int64{100, 100, 0}, []float64{5000, 5000, 0})
	if !r.Tested || r.Mismatch || r.DF != 1 || r.PValue != 1 {
		t.Errorf("zero-weight variation without traffic: %+v", r)
	}
	r = SampleRatioMismatch([]int64{0, 10000}, []float64{1, 1})
	if !r.Mismatch || r.PValue != 0 {
		// p underflows to 0: still finite, still a mismatch.
		t.Errorf("all traffic on one side: %+v", r)
	}
	assertFinite(t, "srm", r)
}

func TestSampleSize_UndefinedWithoutAnEffect(t *testing.T) {
	if _, _, ok := SampleSize(0.05, 0.8, 1, 1, 0, 1); ok {
		t.Error("delta 0 gave a sample size")
	}
	if _, _, ok := SampleSize(0.05, 0.8, 0, 0, 1, 1); ok {
		t.Error("zero variance gave a sample size")
	}
}

func TestBenjaminiHochberg_Empty(t *testing.T) {
	if q := BenjaminiHochberg(nil); len(q) != 0 {
		t.Errorf("q = %v", q)
	}
}
