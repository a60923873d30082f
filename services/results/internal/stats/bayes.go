package stats

import (
	"math"

	"gonum.org/v1/gonum/mathext"
)

// betaPosterior is the Beta(1+x, 1+n−x) posterior of a conversion rate
// under a uniform Beta(1,1) prior.
type betaPosterior struct{ a, b float64 }

func posterior(s Summary) betaPosterior {
	return betaPosterior{a: 1 + s.Sum, b: 1 + float64(s.N) - s.Sum}
}

func (p betaPosterior) mean() float64 { return p.a / (p.a + p.b) }

func (p betaPosterior) sd() float64 {
	s := p.a + p.b
	return math.Sqrt(p.a * p.b / (s * s * (s + 1)))
}

// logPDF is the log density, finite inside (0, 1).
func (p betaPosterior) logPDF(x float64) float64 {
	return (p.a-1)*math.Log(x) + (p.b-1)*math.Log1p(-x) - mathext.Lbeta(p.a, p.b)
}

func (p betaPosterior) pdf(x float64) float64 {
	if x <= 0 || x >= 1 {
		// Only reached at the ends of the [0,1] window; the integration
		// nodes are interior, so this just avoids log(0).
		return 0
	}
	return math.Exp(p.logPDF(x))
}

func (p betaPosterior) cdf(x float64) float64 { return mathext.RegIncBeta(p.a, p.b, x) }

// survival is 1 − CDF, computed as I_{1−x}(b, a) to keep small tails exact.
func (p betaPosterior) survival(x float64) float64 { return mathext.RegIncBeta(p.b, p.a, 1-x) }

// window is where all but a negligible part (far below 1e-20) of the
// density lies: 50 standard deviations either side of the mean, clipped to
// [0, 1]. Beta tails decay at least exponentially beyond a few standard
// deviations, for skewed shapes such as Beta(1, n) too.
func (p betaPosterior) window() (lo, hi float64) {
	m, sd := p.mean(), p.sd()
	return math.Max(0, m-50*sd), math.Min(1, m+50*sd)
}

// ChanceToBeatBinary is the posterior probability that the treatment's
// conversion rate exceeds the baseline's, P(p_t > p_c), with independent
// Beta(1,1) priors, by numerical integration (not sampling):
//
//	P(p_t > p_c) = ∫ f_c(y)·(1 − F_t(y)) dy = ∫ f_t(x)·F_c(x) dx
//
// The integral is taken against the narrower of the two posterior densities,
// over its window, so that the other factor (a CDF) is smooth on the scale
// of the integration and adaptive Gauss–Kronrod converges quickly even with
// millions of visitors.
func ChanceToBeatBinary(control, treatment Summary) float64 {
	return chanceBeta(posterior(control), posterior(treatment))
}

// chanceBeta is P(p_t > p_c) for independent Beta posteriors.
func chanceBeta(pc, pt betaPosterior) float64 {
	var p float64
	if pc.sd() <= pt.sd() {
		lo, hi := pc.window()
		p = integrate(func(y float64) float64 { return pc.pdf(y) * pt.survival(y) }, lo, hi, 1e-15, 1e-11)
	} else {
		lo, hi := pt.window()
		p = integrate(func(x float64) float64 { return pt.pdf(x) * pc.cdf(x) }, lo, hi, 1e-15, 1e-11)
	}
	return math.Min(math.Max(p, 0), 1)
}

// ChanceToBeatNormal is the probability that the treatment's mean exceeds
// the baseline's under the normal approximation with flat priors: the
// posterior of m_t − m_c is N(m_t − m_c, s_c²/n_c + s_t²/n_t), so
//
//	P = Φ((m_t − m_c) / sqrt(s_c²/n_c + s_t²/n_t))
//
// With zero variance it is 1, 0 or ½ as the difference is positive,
// negative or zero. Variations with fewer than two visitors give ½.
func ChanceToBeatNormal(control, treatment Summary) float64 {
	if control.N < 2 || treatment.N < 2 {
		return 0.5
	}
	diff := treatment.Mean() - control.Mean()
	v := KindNumeric.meanVariance(control) + KindNumeric.meanVariance(treatment)
	if v == 0 {
		switch {
		case diff > 0:
			return 1
		case diff < 0:
			return 0
		}
		return 0.5
	}
	return normalCDF(diff / math.Sqrt(v))
}
