package stats

import "math"

// SampleSize is the number of visitors per variation a fixed-horizon
// two-sided test at level alpha needs to detect an absolute difference
// delta with the given power, with ratio = n_t/n_c:
//
//	n_c = (z_{1−α/2} + z_{power})² · (σ_c² + σ_t²/ratio) / δ²,  n_t = ratio·n_c
//
// (the normal power formula; statsmodels NormalIndPower with a one-sided
// α/2, which drops the negligible far tail, gives the same). ok is false
// when delta is 0 or both variances are 0.
func SampleSize(alpha, power, varControl, varTreatment, delta, ratio float64) (nControl, nTreatment float64, ok bool) {
	v := varControl + varTreatment/ratio
	if delta == 0 || v <= 0 || ratio <= 0 {
		return 0, 0, false
	}
	z := zCritical(alpha) + zOneSided(1-power)
	nc := z * z * v / (delta * delta)
	return nc, ratio * nc, true
}

// Remaining is an estimate of the visitors still needed to reach
// significance.
type Remaining struct {
	// Known is false when no number of visitors would make the observed
	// effect significant (it is exactly zero).
	Known bool
	// Visitors is the additional visitors for the variation and the
	// baseline together, split as they are now; 0 once significant.
	Visitors int64
}

// remainingForScale turns the factor k by which both variations' visitors
// must grow into the visitors still to come.
func remainingForScale(k float64, control, treatment Summary) Remaining {
	if k <= 1 {
		return Remaining{Known: true}
	}
	now := float64(control.N + treatment.N)
	extra := math.Ceil(now * (k - 1))
	if extra > math.MaxInt64/2 {
		extra = math.MaxInt64 / 2
	}
	return Remaining{Known: true, Visitors: int64(extra)}
}

// scaleFixed is the factor k by which both variations' visitors must grow
// until |δ| / sqrt(V/k) reaches crit, assuming the observed means and
// variances persist and traffic keeps its split (the variance of the
// difference then shrinks as V/k): k = crit²·V/δ². ok is false when δ = 0.
func scaleFixed(diff, variance, crit float64) (k float64, ok bool) {
	if diff == 0 {
		return 0, false
	}
	return crit * crit * variance / (diff * diff), true
}

// scaleSequential is the factor k until the mSPRT interval excludes 0,
// i.e. MSPRTHalfWidth(V/k, τ², α) ≤ |δ|, under the same assumptions. The
// half-width increases with V (d/dV of its square is
// (2V+τ²)(log(1/α) + ½log(1+τ²/V)) − τ²/2 > 0 for α < 0.5), so k is found
// by bisection on log k. ok is false when δ = 0.
func scaleSequential(diff, variance, tau2, alpha float64) (k float64, ok bool) {
	d := math.Abs(diff)
	if d == 0 {
		return 0, false
	}
	if variance == 0 || MSPRTHalfWidth(variance, tau2, alpha) <= d {
		return 1, true
	}
	above := func(logK float64) bool { return MSPRTHalfWidth(variance/math.Exp(logK), tau2, alpha) > d }
	lo, hi := 0.0, 1.0
	for above(hi) {
		hi *= 2
		if hi > 700 {
			return math.Exp(700), true
		}
	}
	for i := 0; i < 200 && hi-lo > 1e-14*hi; i++ {
		if mid := (lo + hi) / 2; above(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return math.Exp(hi), true
}

// remaining turns a scale factor into visitors still to come.
func remaining(k float64, ok bool, control, treatment Summary) Remaining {
	if !ok {
		return Remaining{}
	}
	return remainingForScale(k, control, treatment)
}
