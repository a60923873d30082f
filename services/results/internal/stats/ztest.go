package stats

import "math"

// TestResult is the outcome of a fixed-horizon two-sample test.
type TestResult struct {
	// Statistic is z or Welch's t; 0 when the test is degenerate.
	Statistic float64
	// DF is the Welch–Satterthwaite degrees of freedom (0 for the z-test
	// and for a degenerate t-test).
	DF float64
	// PValue is two-sided.
	PValue float64
	// Degenerate is set when the standard error is zero (every visitor has
	// the same value): PValue is then 1 if the means are equal and 0 if not,
	// the limit of the test as the variance goes to 0.
	Degenerate bool
}

// degenerate is the limit of a test whose standard error is zero.
func degenerate(diff float64) TestResult {
	p := 1.0
	if diff != 0 {
		p = 0
	}
	return TestResult{PValue: p, Degenerate: true}
}

// TwoProportionZTest tests the difference of two conversion rates with the
// classic pooled-variance z statistic
//
//	z = (p_t − p_c) / sqrt(p̂(1−p̂)(1/n_c + 1/n_t)),  p̂ = (x_c + x_t)/(n_c + n_t)
//
// (statsmodels proportions_ztest). ok is false when a variation has no
// visitors.
func TwoProportionZTest(control, treatment Summary) (r TestResult, ok bool) {
	if control.N < 1 || treatment.N < 1 {
		return TestResult{PValue: 1}, false
	}
	nc, nt := float64(control.N), float64(treatment.N)
	pooled := (control.Sum + treatment.Sum) / (nc + nt)
	diff := treatment.Mean() - control.Mean()
	se := math.Sqrt(math.Max(pooled*(1-pooled), 0) * (1/nc + 1/nt))
	if se == 0 {
		return degenerate(diff), true
	}
	z := diff / se
	return TestResult{Statistic: z, PValue: normalTwoSidedP(z)}, true
}

// WelchTTest tests the difference of two means without assuming equal
// variances:
//
//	t = (m_t − m_c) / sqrt(s_c²/n_c + s_t²/n_t)
//	df = (s_c²/n_c + s_t²/n_t)² / ((s_c²/n_c)²/(n_c−1) + (s_t²/n_t)²/(n_t−1))
//
// (scipy ttest_ind with equal_var=False). ok is false when a variation has
// fewer than two visitors.
func WelchTTest(control, treatment Summary) (r TestResult, ok bool) {
	if control.N < 2 || treatment.N < 2 {
		return TestResult{PValue: 1}, false
	}
	a := KindNumeric.meanVariance(control)
	b := KindNumeric.meanVariance(treatment)
	diff := treatment.Mean() - control.Mean()
	if a+b == 0 {
		return degenerate(diff), true
	}
	df := welchDF(a, b, control.N, treatment.N)
	t := diff / math.Sqrt(a+b)
	return TestResult{Statistic: t, DF: df, PValue: tTwoSidedP(t, df)}, true
}

// welchDF is the Welch–Satterthwaite degrees of freedom for the variances of
// two means a and b.
func welchDF(a, b float64, nc, nt int64) float64 {
	return (a + b) * (a + b) / (a*a/float64(nc-1) + b*b/float64(nt-1))
}
