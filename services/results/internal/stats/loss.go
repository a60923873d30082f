package stats

import "math"

// Loss is the expected loss (risk) of a decision between a variation and
// the baseline, in the metric's units (a conversion rate, cents or value
// per visitor): what one gives up on average, under the posteriors chance
// to beat uses, if the choice turns out wrong.
type Loss struct {
	// Treatment is the risk of choosing the variation, E[max(m_c − m_t, 0)].
	Treatment float64
	// Control is the risk of keeping the baseline, E[max(m_t − m_c, 0)].
	Control float64
}

// ExpectedLoss is the expected loss of choosing either side. Variations
// with too few visitors give zero losses (Compare reports them as
// undefined).
//
// Binary metrics: one integral over the Beta posteriors (betaLoss).
// Numeric metrics, D = m_t − m_c ~ N(d, σ²):
//
//	E[max(−D, 0)] = σ·φ(d/σ) − d·Φ(−d/σ),  E[max(D, 0)] = σ·φ(d/σ) + d·Φ(d/σ)
func ExpectedLoss(kind Kind, control, treatment Summary) Loss {
	if control.N < kind.minVisitors() || treatment.N < kind.minVisitors() {
		return Loss{}
	}
	if kind == KindBinary {
		pc, pt := posterior(control), posterior(treatment)
		return Loss{Treatment: betaLoss(pc, pt), Control: betaLoss(pt, pc)}
	}
	d := treatment.Mean() - control.Mean()
	sd := math.Sqrt(KindNumeric.meanVariance(control) + KindNumeric.meanVariance(treatment))
	if sd == 0 {
		return Loss{Treatment: math.Max(-d, 0), Control: math.Max(d, 0)}
	}
	z := d / sd
	phi := math.Exp(-z*z/2) / math.Sqrt(2*math.Pi)
	return Loss{Treatment: math.Max(sd*phi-d*normalCDF(-z), 0), Control: math.Max(sd*phi+d*normalCDF(z), 0)}
}

// betaLoss is E[max(p_a − p_b, 0)] for independent Beta posteriors,
// integrated against the narrower density, the other posterior entering
// through its closed-form partial expectation (x·f_{a,b} = a/(a+b)·f_{a+1,b}):
//
//	E[(p_a − x)⁺] = E(p_a)·S_{a⁺}(x) − x·S_a(x)
//	E[(y − p_b)⁺] = y·F_b(y) − E(p_b)·F_{b⁺}(y)
//
// Subtracting two whole chance-to-beat integrals instead would cancel
// almost every digit when the rates are close and the samples large.
func betaLoss(a, b betaPosterior) float64 {
	var l float64
	if b.sd() <= a.sd() {
		aUp, ma := betaPosterior{a: a.a + 1, b: a.b}, a.mean()
		lo, hi := b.window()
		l = integrate(func(x float64) float64 {
			return b.pdf(x) * (ma*aUp.survival(x) - x*a.survival(x))
		}, lo, hi, 1e-15, 1e-8)
	} else {
		bUp, mb := betaPosterior{a: b.a + 1, b: b.b}, b.mean()
		lo, hi := a.window()
		l = integrate(func(y float64) float64 {
			return a.pdf(y) * (y*b.cdf(y) - mb*bUp.cdf(y))
		}, lo, hi, 1e-15, 1e-8)
	}
	return math.Max(l, 0)
}
