package stats

import "math"

// Paired is what CUPED needs about one variation: the visitors, the power
// sums of their metric value in the experiment (Y) and of their value of
// the same metric before exposure (X, the covariate), and the sum of the
// products.
type Paired struct {
	N           int64
	SumX, SumXX float64
	SumY, SumYY float64
	SumXY       float64
}

// centered returns the within-arm centred sums Sxx, Syy, Sxy.
func (p Paired) centered() (sxx, syy, sxy float64) {
	n := float64(p.N)
	return p.SumXX - p.SumX*p.SumX/n, p.SumYY - p.SumY*p.SumY/n, p.SumXY - p.SumX*p.SumY/n
}

// CUPED is a variance-reduced comparison (Deng, Xu, Kohavi, Walker,
// "Improving the Sensitivity of Online Controlled Experiments by Utilizing
// Pre-Experiment Data", WSDM 2013): each visitor's Y is replaced by
// Y − θ(X − x̄), which keeps every arm's mean difference unbiased (X is
// fixed before exposure) and divides its variance by 1/(1 − ρ²).
type CUPED struct {
	// Theta is Cov(X, Y)/Var(X) pooled within the arms:
	// (Sxy_c + Sxy_t)/(Sxx_c + Sxx_t), so a treatment effect on Y does not
	// leak into it.
	Theta float64
	// Diff is the adjusted difference of means, (ȳ_t − θx̄_t) − (ȳ_c − θx̄_c).
	Diff float64
	// DiffInterval is its interval under the method (see CompareCUPED).
	DiffInterval Interval
	// RelativeDefined is false when the baseline's mean ȳ_c is 0.
	RelativeDefined bool
	// Relative is Diff/ȳ_c, the adjusted relative lift.
	Relative float64
	// RelativeInterval is DiffInterval/ȳ_c (the baseline mean taken as
	// known, as the adjustment's variance dominates).
	RelativeInterval Interval
	// VarianceReduction is 1 − Var(adjusted Diff)/Var(raw Diff), the share
	// of the variance removed (≈ ρ² with equal arms).
	VarianceReduction float64
	// Variance is the variance of the adjusted Diff.
	Variance float64
}

// CompareCUPED adjusts a comparison with the pre-exposure covariate. The
// interval follows the method: a normal confidence interval for the
// frequentist method, a normal credible interval (flat prior) for the
// Bayesian one, and the mSPRT interval at this look for the sequential one
// (τ² from the adjusted per-visitor variances, as Compare does with the
// raw ones). ok is false with fewer than two visitors in an arm or no
// variance in the covariate (nobody had pre-exposure data).
func CompareCUPED(cfg Config, control, treatment Paired) (r CUPED, ok bool) {
	cfg = cfg.withDefaults()
	if control.N < 2 || treatment.N < 2 {
		return CUPED{}, false
	}
	cxx, cyy, cxy := control.centered()
	txx, tyy, txy := treatment.centered()
	if cxx+txx <= 0 {
		return CUPED{}, false
	}
	r.Theta = (cxy + txy) / (cxx + txx)
	nc, nt := float64(control.N), float64(treatment.N)
	mc := control.SumY/nc - r.Theta*control.SumX/nc
	mt := treatment.SumY/nt - r.Theta*treatment.SumX/nt
	r.Diff = mt - mc
	// Per-visitor variance of Y − θX within an arm (n − 1 denominator).
	adj := func(xx, yy, xy, n float64) float64 {
		return math.Max(yy-2*r.Theta*xy+r.Theta*r.Theta*xx, 0) / (n - 1)
	}
	vc, vt := adj(cxx, cyy, cxy, nc), adj(txx, tyy, txy, nt)
	r.Variance = vc/nc + vt/nt
	raw := math.Max(cyy, 0)/(nc-1)/nc + math.Max(tyy, 0)/(nt-1)/nt
	if raw > 0 {
		r.VarianceReduction = 1 - r.Variance/raw
	}
	alpha := 1 - cfg.Confidence
	half := zCritical(alpha) * math.Sqrt(r.Variance)
	if cfg.Method == MethodSequential {
		half = MSPRTHalfWidth(r.Variance, cfg.MixingVariance*(vc+vt)/2, alpha)
	}
	r.DiffInterval = around(r.Diff, half)
	if base := control.SumY / nc; base != 0 {
		r.RelativeDefined = true
		r.Relative = r.Diff / base
		r.RelativeInterval = Interval{Lower: r.DiffInterval.Lower / base, Upper: r.DiffInterval.Upper / base}
		if base < 0 {
			r.RelativeInterval = Interval{Lower: r.RelativeInterval.Upper, Upper: r.RelativeInterval.Lower}
		}
	}
	return r, true
}
