package stats

import "math"

// Kind is the shape of a metric's per-visitor value.
type Kind int

const (
	// KindBinary metrics are 0 or 1 per visitor (converted or not).
	KindBinary Kind = iota + 1
	// KindNumeric metrics are any real value per visitor (revenue, a
	// count, a duration); visitors without an event count as 0.
	KindNumeric
)

// Summary is what the aggregation keeps about one variation × metric: the
// number of visitors and the first two power sums of their values. For a
// binary metric Sum = SumSq = converters.
type Summary struct {
	// N is the number of visitors exposed.
	N int64
	// Sum is the sum of the per-visitor values.
	Sum float64
	// SumSq is the sum of the squares of the per-visitor values.
	SumSq float64
}

// Binary summarises a binary metric: n visitors, of whom converters
// converted.
func Binary(n, converters int64) Summary {
	return Summary{N: n, Sum: float64(converters), SumSq: float64(converters)}
}

// Mean is the per-visitor mean, 0 without visitors.
func (s Summary) Mean() float64 {
	if s.N == 0 {
		return 0
	}
	return s.Sum / float64(s.N)
}

// SampleVariance is the unbiased sample variance (n−1 denominator). It is 0
// with fewer than two visitors, and clamps the small negative values that
// floating-point cancellation can produce for near-constant data.
func (s Summary) SampleVariance() float64 {
	if s.N < 2 {
		return 0
	}
	n := float64(s.N)
	v := (s.SumSq - s.Sum*s.Sum/n) / (n - 1)
	return math.Max(v, 0)
}

// unitVariance is the per-visitor variance a metric's tests use: p(1−p) for
// binary metrics (the binomial plug-in, as the z-test and Wald interval
// define it) and the sample variance for numeric ones.
func (k Kind) unitVariance(s Summary) float64 {
	if k == KindBinary {
		p := s.Mean()
		return math.Max(p*(1-p), 0)
	}
	return s.SampleVariance()
}

// minVisitors is the fewest visitors per variation a test needs: a sample
// variance needs two.
func (k Kind) minVisitors() int64 {
	if k == KindBinary {
		return 1
	}
	return 2
}

// meanVariance is the variance of a variation's mean.
func (k Kind) meanVariance(s Summary) float64 {
	if s.N == 0 {
		return 0
	}
	return k.unitVariance(s) / float64(s.N)
}

// Variance is the per-visitor variance a metric's tests use: p(1−p) for a
// binary metric, the sample variance for a numeric one.
func (k Kind) Variance(s Summary) float64 { return k.unitVariance(s) }
