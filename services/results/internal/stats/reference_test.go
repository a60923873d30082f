package stats

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"
)

// The reference values in testdata/reference.json were computed once by
// testdata/reference.py with scipy and statsmodels (versions recorded in the
// file); these tests only read them.

// relTol is the largest relative error accepted against the references;
// absTol covers values that are 0 or nearly so.
const (
	relTol = 1e-6
	absTol = 1e-12
)

type refCount struct {
	N int64 `json:"n"`
	X int64 `json:"x"`
}

func (c refCount) summary() Summary { return Binary(c.N, c.X) }

type refSummary struct {
	N     int64   `json:"n"`
	Sum   float64 `json:"sum"`
	SumSq float64 `json:"sum_sq"`
}

func (s refSummary) summary() Summary { return Summary{N: s.N, Sum: s.Sum, SumSq: s.SumSq} }

type reference struct {
	Versions       map[string]string `json:"versions"`
	MixingVariance float64           `json:"mixing_variance"`
	Binary         []struct {
		Control    refCount   `json:"control"`
		Treatment  refCount   `json:"treatment"`
		Confidence float64    `json:"confidence"`
		Z          float64    `json:"z"`
		PValue     float64    `json:"p_value"`
		Diff       float64    `json:"diff"`
		DiffCI     [2]float64 `json:"diff_ci"`
		Relative   *float64   `json:"relative"`
		RelativeCI [2]float64 `json:"relative_ci"`
	} `json:"binary"`
	Numeric []struct {
		Name         string     `json:"name"`
		Control      refSummary `json:"control"`
		Treatment    refSummary `json:"treatment"`
		Confidence   float64    `json:"confidence"`
		Diff         float64    `json:"diff"`
		T            float64    `json:"t"`
		DF           float64    `json:"df"`
		PValue       float64    `json:"p_value"`
		DiffCI       [2]float64 `json:"diff_ci"`
		ChanceToBeat float64    `json:"chance_to_beat"`
		Relative     *float64   `json:"relative"`
		RelativeCI   [2]float64 `json:"relative_ci"`
	} `json:"numeric"`
	MSPRTPoints []struct {
		Estimate  float64 `json:"estimate"`
		Variance  float64 `json:"variance"`
		Tau2      float64 `json:"tau2"`
		Alpha     float64 `json:"alpha"`
		PValue    float64 `json:"p_value"`
		HalfWidth float64 `json:"half_width"`
	} `json:"msprt_points"`
	Sequential []struct {
		Looks []struct {
			Control   refCount `json:"control"`
			Treatment refCount `json:"treatment"`
		} `json:"looks"`
		Confidence float64    `json:"confidence"`
		Tau2       float64    `json:"tau2"`
		PValue     float64    `json:"p_value"`
		DiffCI     [2]float64 `json:"diff_ci"`
		RelativeCI [2]float64 `json:"relative_ci"`
		Scale      float64    `json:"scale"`
	} `json:"sequential"`
	BayesBinary []struct {
		Control      refCount `json:"control"`
		Treatment    refCount `json:"treatment"`
		ChanceToBeat float64  `json:"chance_to_beat"`
	} `json:"bayes_binary"`
	SRM []struct {
		Observed  []int64   `json:"observed"`
		Weights   []float64 `json:"weights"`
		ChiSquare float64   `json:"chi_square"`
		DF        int       `json:"df"`
		PValue    float64   `json:"p_value"`
		Mismatch  bool      `json:"mismatch"`
	} `json:"srm"`
	BH []struct {
		P        []float64 `json:"p"`
		Alpha    float64   `json:"alpha"`
		Adjusted []float64 `json:"adjusted"`
		Reject   []bool    `json:"reject"`
	} `json:"bh"`
	SampleSize []struct {
		Alpha        float64 `json:"alpha"`
		Power        float64 `json:"power"`
		VarControl   float64 `json:"var_control"`
		VarTreatment float64 `json:"var_treatment"`
		Delta        float64 `json:"delta"`
		Ratio        float64 `json:"ratio"`
		NControl     float64 `json:"n_control"`
	} `json:"sample_size"`
	RemainingFixed []struct {
		Control    refCount `json:"control"`
		Treatment  refCount `json:"treatment"`
		Confidence float64  `json:"confidence"`
		Scale      float64  `json:"scale"`
	} `json:"remaining_fixed"`
}

func loadReference(t *testing.T) reference {
	t.Helper()
	var r reference
	loadJSON(t, &r)
	return r
}

// loadJSON decodes testdata/reference.json into v (a struct naming the
// sections a test reads).
func loadJSON(t *testing.T, v any) {
	t.Helper()
	b, err := os.ReadFile("testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

// worstRelErr is the largest relative error seen against the references,
// reported by TestMain in verbose mode.
var worstRelErr float64

func TestMain(m *testing.M) {
	code := m.Run()
	if testing.Verbose() {
		fmt.Printf("largest relative error against the references: %.3g\n", worstRelErr)
	}
	os.Exit(code)
}

// assertClose fails unless got is within relTol of want (or absTol of it).
func assertClose(t *testing.T, what string, got, want float64) {
	t.Helper()
	d := math.Abs(got - want)
	if d > absTol && want != 0 {
		worstRelErr = math.Max(worstRelErr, d/math.Abs(want))
	}
	if d > absTol && d > relTol*math.Abs(want) {
		t.Errorf("%s = %.17g, want %.17g (relative error %.3g)", what, got, want, d/math.Abs(want))
	}
}

func assertInterval(t *testing.T, what string, got Interval, want [2]float64) {
	t.Helper()
	assertClose(t, what+".Lower", got.Lower, want[0])
	assertClose(t, what+".Upper", got.Upper, want[1])
}

func TestReference_RecordsVersions(t *testing.T) {
	r := loadReference(t)
	for _, k := range []string{"python", "scipy", "statsmodels", "numpy"} {
		if r.Versions[k] == "" {
			t.Errorf("reference.json does not record the %s version", k)
		}
	}
	if r.MixingVariance != DefaultMixingVariance {
		t.Errorf("reference computed with mixing variance %v, package default is %v", r.MixingVariance, DefaultMixingVariance)
	}
}

func TestTwoProportionZTest_MatchesStatsmodels(t *testing.T) {
	for _, c := range loadReference(t).Binary {
		res, ok := TwoProportionZTest(c.Control.summary(), c.Treatment.summary())
		if !ok {
			t.Fatalf("%+v: not computed", c)
		}
		assertClose(t, "z", res.Statistic, c.Z)
		assertClose(t, "p", res.PValue, c.PValue)
	}
}

func TestDiffInterval_BinaryMatchesStatsmodelsWald(t *testing.T) {
	for _, c := range loadReference(t).Binary {
		iv, ok := DiffInterval(KindBinary, c.Control.summary(), c.Treatment.summary(), c.Confidence)
		if !ok {
			t.Fatalf("%+v: not computed", c)
		}
		assertInterval(t, "diff CI", iv, c.DiffCI)
	}
}

func TestRelativeLift_BinaryMatchesDeltaMethod(t *testing.T) {
	for _, c := range loadReference(t).Binary {
		lift, iv, ok := RelativeLift(KindBinary, c.Control.summary(), c.Treatment.summary(), c.Confidence)
		if ok != (c.Relative != nil) {
			t.Fatalf("%+v: ok = %v", c, ok)
		}
		if ok {
			assertClose(t, "relative", lift, *c.Relative)
			assertInterval(t, "relative CI", iv, c.RelativeCI)
		}
	}
}

func TestWelchTTest_MatchesScipy(t *testing.T) {
	for _, c := range loadReference(t).Numeric {
		ctl, trt := c.Control.summary(), c.Treatment.summary()
		res, ok := WelchTTest(ctl, trt)
		if !ok || res.Degenerate {
			t.Fatalf("%s: ok=%v degenerate=%v", c.Name, ok, res.Degenerate)
		}
		assertClose(t, c.Name+" t", res.Statistic, c.T)
		assertClose(t, c.Name+" df", res.DF, c.DF)
		assertClose(t, c.Name+" p", res.PValue, c.PValue)
		iv, _ := DiffInterval(KindNumeric, ctl, trt, c.Confidence)
		assertInterval(t, c.Name+" diff CI", iv, c.DiffCI)
		assertClose(t, c.Name+" chance", ChanceToBeatNormal(ctl, trt), c.ChanceToBeat)
		lift, riv, ok := RelativeLift(KindNumeric, ctl, trt, c.Confidence)
		if ok != (c.Relative != nil) {
			t.Fatalf("%s: relative ok = %v", c.Name, ok)
		}
		if ok {
			assertClose(t, c.Name+" relative", lift, *c.Relative)
			assertInterval(t, c.Name+" relative CI", riv, c.RelativeCI)
		}
	}
}

func TestMSPRT_MatchesIndependentImplementation(t *testing.T) {
	for _, c := range loadReference(t).MSPRTPoints {
		assertClose(t, "p", MSPRTPValue(c.Estimate, c.Variance, c.Tau2), c.PValue)
		assertClose(t, "half width", MSPRTHalfWidth(c.Variance, c.Tau2, c.Alpha), c.HalfWidth)
	}
}

func TestCompare_SequentialMatchesReference(t *testing.T) {
	for i, c := range loadReference(t).Sequential {
		looks := make([]Look, len(c.Looks))
		for j, l := range c.Looks {
			looks[j] = Look{Control: l.Control.summary(), Treatment: l.Treatment.summary()}
		}
		r := Compare(KindBinary, Config{Method: MethodSequential, Confidence: c.Confidence}, looks)
		assertClose(t, "tau2", r.Tau2, c.Tau2)
		assertClose(t, "p", r.PValue, c.PValue)
		assertInterval(t, "diff CI", r.DiffInterval, c.DiffCI)
		assertInterval(t, "relative CI", r.RelativeInterval, c.RelativeCI)
		now := looks[len(looks)-1]
		v := KindBinary.meanVariance(now.Control) + KindBinary.meanVariance(now.Treatment)
		k, ok := scaleSequential(r.Diff, v, r.Tau2, 1-c.Confidence)
		if !ok {
			t.Fatalf("case %d: scale unknown", i)
		}
		assertClose(t, "scale", k, c.Scale)
		if (c.Scale > 1) != (r.Remaining.Visitors > 0) {
			t.Errorf("case %d: remaining %d with scale %v", i, r.Remaining.Visitors, c.Scale)
		}
	}
}

func TestChanceToBeatBinary_MatchesQuad(t *testing.T) {
	for _, c := range loadReference(t).BayesBinary {
		got := ChanceToBeatBinary(c.Control.summary(), c.Treatment.summary())
		assertClose(t, "chance", got, c.ChanceToBeat)
	}
}

func TestSampleRatioMismatch_MatchesScipyChisquare(t *testing.T) {
	for _, c := range loadReference(t).SRM {
		r := SampleRatioMismatch(c.Observed, c.Weights)
		if !r.Tested || r.DF != c.DF || r.Mismatch != c.Mismatch {
			t.Errorf("%v/%v: %+v", c.Observed, c.Weights, r)
		}
		assertClose(t, "chi2", r.ChiSquare, c.ChiSquare)
		assertClose(t, "p", r.PValue, c.PValue)
	}
}

func TestBenjaminiHochberg_MatchesStatsmodels(t *testing.T) {
	for _, c := range loadReference(t).BH {
		q := BenjaminiHochberg(c.P)
		d := Discoveries(q, c.Alpha)
		for i := range c.P {
			assertClose(t, "q", q[i], c.Adjusted[i])
			if d[i] != c.Reject[i] {
				t.Errorf("%v: discovery %d = %v, want %v", c.P, i, d[i], c.Reject[i])
			}
		}
	}
}

func TestSampleSize_MatchesStatsmodelsPower(t *testing.T) {
	for _, c := range loadReference(t).SampleSize {
		nc, nt, ok := SampleSize(c.Alpha, c.Power, c.VarControl, c.VarTreatment, c.Delta, c.Ratio)
		if !ok {
			t.Fatalf("%+v: not computed", c)
		}
		assertClose(t, "n_control", nc, c.NControl)
		assertClose(t, "n_treatment", nt, c.Ratio*c.NControl)
	}
}

func TestRemaining_FixedHorizonMatchesReference(t *testing.T) {
	for _, c := range loadReference(t).RemainingFixed {
		ctl, trt := c.Control.summary(), c.Treatment.summary()
		v := fixedHorizonVariance(KindBinary, ctl, trt)
		k, ok := scaleFixed(trt.Mean()-ctl.Mean(), v, zCritical(1-c.Confidence))
		if !ok {
			t.Fatal("scale unknown")
		}
		assertClose(t, "scale", k, c.Scale)
		r := Compare(KindBinary, Config{Method: MethodFrequentist, Confidence: c.Confidence}, []Look{{ctl, trt}})
		want := int64(0)
		if c.Scale > 1 {
			want = int64(math.Ceil(float64(ctl.N+trt.N) * (c.Scale - 1)))
		}
		if d := r.Remaining.Visitors - want; d < -1 || d > 1 || !r.Remaining.Known {
			t.Errorf("remaining = %+v, want about %d", r.Remaining, want)
		}
	}
}
