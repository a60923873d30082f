package stats

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

func TestSequence_PValueNeverIncreasesAndIntervalsNest(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var seq Sequence
	var nc, xc, nt, xt int64
	prevP := 1.0
	prev := Interval{Lower: math.Inf(-1), Upper: math.Inf(1)}
	for look := 0; look < 200; look++ {
		for i := 0; i < 100; i++ {
			nc++
			nt++
			if rng.Float64() < 0.10 {
				xc++
			}
			if rng.Float64() < 0.11 {
				xt++
			}
		}
		c, tr := Binary(nc, xc), Binary(nt, xt)
		est := tr.Mean() - c.Mean()
		v := KindBinary.meanVariance(c) + KindBinary.meanVariance(tr)
		tau2 := DefaultMixingVariance * (KindBinary.unitVariance(c) + KindBinary.unitVariance(tr)) / 2
		if one := around(est, MSPRTHalfWidth(v, tau2, 0.05)); !one.Contains(est) {
			t.Fatalf("look %d: interval %+v does not contain the estimate %v", look, one, est)
		}
		seq.Observe(est, v, tau2, 0.05)
		if p := seq.PValue(); p > prevP {
			t.Fatalf("look %d: p-value rose from %v to %v", look, prevP, p)
		} else {
			prevP = p
		}
		iv := seq.Interval()
		if iv.Lower < prev.Lower || iv.Upper > prev.Upper {
			t.Fatalf("look %d: interval %+v is not inside %+v", look, iv, prev)
		}
		prev = iv
	}
	if seq.Looks() != 200 {
		t.Errorf("looks = %d", seq.Looks())
	}
}

func TestMSPRTHalfWidth_IncreasesWithVariance(t *testing.T) {
	// scaleSequential's bisection relies on this.
	for _, alpha := range []float64{0.01, 0.05, 0.2} {
		for _, tau2 := range []float64{1e-6, 1e-3, 1} {
			prev := 0.0
			for v := 1e-12; v < 1e3; v *= 1.5 {
				h := MSPRTHalfWidth(v, tau2, alpha)
				if h <= prev {
					t.Fatalf("alpha %v tau2 %v: half width %v at V=%v after %v", alpha, tau2, h, v, prev)
				}
				prev = h
			}
		}
	}
}

func TestMSPRTPValue_DoesNotOverflow(t *testing.T) {
	if p := MSPRTPValue(1, 1e-12, 1e-2); p != 0 {
		t.Errorf("p = %v, want 0 (underflow)", p)
	}
	if p := MSPRTPValue(0, 1e-12, 1e-2); p != 1 {
		t.Errorf("p = %v, want 1", p)
	}
}

func TestChanceToBeatBinary_IsSymmetric(t *testing.T) {
	pairs := [][2]Summary{
		{Binary(1000, 100), Binary(1000, 120)},
		{Binary(30, 2), Binary(2000000, 150000)},
		{Binary(0, 0), Binary(50, 50)},
	}
	for _, p := range pairs {
		a, b := ChanceToBeatBinary(p[0], p[1]), ChanceToBeatBinary(p[1], p[0])
		if math.Abs(a+b-1) > 1e-9 {
			t.Errorf("%+v: %v + %v != 1", p, a, b)
		}
		if e := ChanceToBeatBinary(p[0], p[0]); math.Abs(e-0.5) > 1e-9 {
			t.Errorf("%+v against itself: %v", p[0], e)
		}
	}
}

func TestBenjaminiHochberg_PreservesOrderAndNeverLowersP(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	p := make([]float64, 40)
	for i := range p {
		p[i] = rng.Float64() * rng.Float64()
	}
	q := BenjaminiHochberg(p)
	idx := make([]int, len(p))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return p[idx[a]] < p[idx[b]] })
	for r, i := range idx {
		if q[i] < p[i] || q[i] > 1 {
			t.Errorf("q[%d] = %v for p = %v", i, q[i], p[i])
		}
		if r > 0 && q[i] < q[idx[r-1]] {
			t.Errorf("q not monotone in p at rank %d", r)
		}
	}
}

func TestAdjustFDR_WithdrawsMarginalDiscoveries(t *testing.T) {
	cs := []*Comparison{
		{Defined: true, PValue: 0.001, Diff: 1},
		{Defined: true, PValue: 0.04, Diff: -1},
		{Defined: true, PValue: 0.5, Diff: 1},
		{Defined: false, PValue: 1},
	}
	AdjustFDR(cs, 0.95)
	if !cs[0].Significant || cs[0].Status != StatusBetter {
		t.Errorf("strong result: %+v", cs[0])
	}
	if cs[1].Significant || cs[1].Status != StatusInconclusive || cs[1].AdjustedPValue != 0.06 {
		t.Errorf("marginal result: %+v", cs[1])
	}
	if cs[3].AdjustedPValue != 0 || cs[3].Significant {
		t.Errorf("undefined comparison was adjusted: %+v", cs[3])
	}
}

func TestCompare_FrequentistBinaryUsesPooledZTest(t *testing.T) {
	c, tr := Binary(10000, 500), Binary(10000, 580)
	r := Compare(KindBinary, Config{Method: MethodFrequentist}, []Look{{c, tr}})
	z, _ := TwoProportionZTest(c, tr)
	if r.PValue != z.PValue || !r.Significant || r.Status != StatusBetter || r.Significance() != 1-z.PValue {
		t.Errorf("%+v, z-test %+v", r, z)
	}
}

func TestCompare_BayesianSignificanceFollowsChanceToBeat(t *testing.T) {
	c, tr := Binary(1000, 100), Binary(1000, 70)
	r := Compare(KindBinary, Config{Method: MethodBayesian, Confidence: 0.95}, []Look{{c, tr}})
	if r.ChanceToBeatBaseline > 0.05 || !r.Significant || r.Status != StatusWorse {
		t.Errorf("%+v", r)
	}
	assertClose(t, "p", r.PValue, r.ChanceToBeatBaseline)
}

func TestCompare_SequentialIsMoreConservativeThanFixedHorizon(t *testing.T) {
	looks := []Look{{Binary(20000, 1000), Binary(20000, 1100)}}
	seq := Compare(KindBinary, Config{Method: MethodSequential}, looks)
	fix := Compare(KindBinary, Config{Method: MethodFrequentist}, looks)
	if seq.PValue <= fix.PValue {
		t.Errorf("sequential p %v ≤ fixed p %v", seq.PValue, fix.PValue)
	}
	if w, f := seq.DiffInterval.Upper-seq.DiffInterval.Lower, fix.DiffInterval.Upper-fix.DiffInterval.Lower; w <= f {
		t.Errorf("sequential interval width %v ≤ fixed %v", w, f)
	}
}

func TestCompare_RemainingVisitorsReachSignificance(t *testing.T) {
	// Grow both samples by the predicted amount, keeping the rates: the
	// result must then be (just) significant, and not before. The Bayesian
	// estimate uses the normal approximation of the Beta posteriors, so it
	// is only checked to 2 %.
	for _, m := range []Method{MethodFrequentist, MethodSequential, MethodBayesian} {
		slack := 1e-4
		if m == MethodBayesian {
			slack = 0.02
		}
		c, tr := Binary(2000, 200), Binary(2000, 224)
		r := Compare(KindBinary, Config{Method: m}, []Look{{c, tr}})
		if r.Significant || !r.Remaining.Known || r.Remaining.Visitors == 0 {
			t.Fatalf("method %d: %+v", m, r)
		}
		k := float64(c.N+tr.N+r.Remaining.Visitors) / float64(c.N+tr.N)
		grow := func(s Summary, k float64) Summary {
			return Summary{N: int64(math.Round(float64(s.N) * k)), Sum: s.Sum * k, SumSq: s.SumSq * k}
		}
		after := Compare(KindBinary, Config{Method: m}, []Look{{grow(c, k*(1+slack)), grow(tr, k*(1+slack))}})
		before := Compare(KindBinary, Config{Method: m}, []Look{{grow(c, k*(1-slack)), grow(tr, k*(1-slack))}})
		if !after.Significant || before.Significant {
			t.Errorf("method %d: remaining %d: significant before %v after %v (p %v / %v)",
				m, r.Remaining.Visitors, before.Significant, after.Significant, before.PValue, after.PValue)
		}
	}
}
