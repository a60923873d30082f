package stats

import "math"

// Interval is a closed interval [Lower, Upper].
type Interval struct {
	// Lower bound.
	Lower float64
	// Upper bound.
	Upper float64
}

// around is the interval center ± half.
func around(center, half float64) Interval {
	return Interval{Lower: center - half, Upper: center + half}
}

// Contains reports whether x lies in the interval.
func (i Interval) Contains(x float64) bool { return i.Lower <= x && x <= i.Upper }

// intersect returns the intersection of two intervals and whether it is
// non-empty.
func intersect(a, b Interval) (Interval, bool) {
	r := Interval{Lower: math.Max(a.Lower, b.Lower), Upper: math.Min(a.Upper, b.Upper)}
	return r, r.Lower <= r.Upper
}

// DiffInterval is the confidence interval for the absolute difference
// m_t − m_c at the given confidence level: the unpooled Wald interval for
// binary metrics (statsmodels confint_proportions_2indep, method "wald"),
// Welch's interval with Welch–Satterthwaite degrees of freedom for numeric
// ones. With zero variance it collapses to the difference itself. ok is
// false when a variation has too few visitors.
func DiffInterval(kind Kind, control, treatment Summary, confidence float64) (iv Interval, ok bool) {
	if control.N < kind.minVisitors() || treatment.N < kind.minVisitors() {
		return Interval{}, false
	}
	alpha := 1 - confidence
	diff := treatment.Mean() - control.Mean()
	a, b := kind.meanVariance(control), kind.meanVariance(treatment)
	if a+b == 0 {
		return around(diff, 0), true
	}
	crit := zCritical(alpha)
	if kind == KindNumeric {
		crit = tCritical(alpha, welchDF(a, b, control.N, treatment.N))
	}
	return around(diff, crit*math.Sqrt(a+b)), true
}

// relativeVariance is the delta-method variance of m_t/m_c:
//
//	Var(m_t/m_c) ≈ Var(m_t)/m_c² + m_t²·Var(m_c)/m_c⁴
//
// The caller guarantees m_c ≠ 0.
func relativeVariance(kind Kind, control, treatment Summary) float64 {
	mc, mt := control.Mean(), treatment.Mean()
	return kind.meanVariance(treatment)/(mc*mc) + mt*mt*kind.meanVariance(control)/(mc*mc*mc*mc)
}

// RelativeLift is the relative lift m_t/m_c − 1 and its confidence interval
// by the delta method with a normal critical value (the ratio of means is
// only asymptotically normal, so a t quantile would add nothing). ok is
// false when the baseline mean is zero (the lift is undefined) or a
// variation has too few visitors.
func RelativeLift(kind Kind, control, treatment Summary, confidence float64) (lift float64, iv Interval, ok bool) {
	if control.N < kind.minVisitors() || treatment.N < kind.minVisitors() || control.Mean() == 0 {
		return 0, Interval{}, false
	}
	lift = treatment.Mean()/control.Mean() - 1
	half := zCritical(1-confidence) * math.Sqrt(relativeVariance(kind, control, treatment))
	return lift, around(lift, half), true
}
