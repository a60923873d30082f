package stats

// SRMThreshold is the p-value below which a sample ratio mismatch is
// flagged. It is strict on purpose: the check runs on every read of every
// experiment, and a false alarm discredits a healthy experiment.
const SRMThreshold = 0.001

// SRM is the outcome of a sample-ratio-mismatch check.
type SRM struct {
	// Tested is false when there was nothing to test: no exposures, or
	// fewer than two variations with a positive weight.
	Tested bool
	// ChiSquare is Pearson's statistic over the variations with a positive
	// weight.
	ChiSquare float64
	// DF is the degrees of freedom (variations with a positive weight − 1).
	DF int
	// PValue is P(χ²_DF ≥ ChiSquare); 0 when UnexpectedTraffic.
	PValue float64
	// UnexpectedTraffic is set when a variation with zero weight has
	// exposures, a mismatch no statistic is needed for.
	UnexpectedTraffic bool
	// Mismatch is set when PValue < SRMThreshold or UnexpectedTraffic.
	Mismatch bool
}

// SampleRatioMismatch tests observed exposure counts against the configured
// weights (any positive scale, e.g. basis points) with Pearson's chi-square
// goodness-of-fit test (scipy.stats.chisquare): expected_i = N·w_i/Σw,
// χ² = Σ (o_i − e_i)²/e_i with k−1 degrees of freedom. observed and weights
// are parallel slices.
func SampleRatioMismatch(observed []int64, weights []float64) SRM {
	var total int64
	var wsum float64
	var r SRM
	k := 0
	for i, w := range weights {
		if w > 0 {
			wsum += w
			total += observed[i]
			k++
		} else if observed[i] > 0 {
			r.UnexpectedTraffic = true
		}
	}
	if r.UnexpectedTraffic {
		r.Tested, r.Mismatch = true, true
		return r
	}
	if total == 0 || k < 2 {
		r.PValue = 1
		return r
	}
	for i, w := range weights {
		if w <= 0 {
			continue
		}
		e := float64(total) * w / wsum
		d := float64(observed[i]) - e
		r.ChiSquare += d * d / e
	}
	r.Tested = true
	r.DF = k - 1
	r.PValue = chiSquareSurvival(r.ChiSquare, r.DF)
	r.Mismatch = r.PValue < SRMThreshold
	return r
}
