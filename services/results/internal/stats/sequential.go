package stats

import "math"

// DefaultMixingVariance is the default mSPRT mixing variance in standardized
// units: the prior on the true difference is N(0, τ²) with
// τ² = DefaultMixingVariance × σ², σ² the visitors' pooled variance, i.e. a
// prior standard deviation of 0.1σ (effects of about a tenth of a standard
// deviation: 3 percentage points on a 10 % conversion rate's σ = 0.3 is a
// 30 % relative lift at one τ). Smaller values make the test most powerful
// for smaller effects and longer experiments, larger ones for large effects
// found early. It is a parameter of Config.
const DefaultMixingVariance = 0.01

// mSPRT implements the mixture sequential probability ratio test with a
// normal mixing distribution (Johari, Pekelis, Walsh, "Always Valid
// Inference: Continuous Monitoring of A/B Tests", 2015–2022, §4; Optimizely's
// Stats Engine). For an asymptotically normal estimate θ̂ with variance V
// and mixing distribution N(θ0, τ²), the mixture likelihood ratio against
// θ0 is
//
//	Λ = sqrt(V/(V+τ²)) · exp(τ²(θ̂−θ0)² / (2V(V+τ²)))
//
// The always-valid p-value after n looks is min(1, min_{m≤n} 1/Λ_m) and the
// always-valid (1−α) interval is the intersection over looks of
// {θ0 : Λ_m(θ0) < 1/α}, i.e. θ̂ ± sqrt(2V(V+τ²)/τ² · (log(1/α) + ½·log((V+τ²)/V))).

// MSPRTPValue is the mSPRT p-value at one look, min(1, 1/Λ) for θ0 = 0;
// feed it to a running minimum to get the always-valid p-value. It is
// computed in log space so that large statistics do not overflow. With V = 0
// it is 1 when the estimate is 0 and 0 otherwise. tau2 must be positive.
func MSPRTPValue(estimate, variance, tau2 float64) float64 {
	if variance <= 0 {
		if estimate == 0 {
			return 1
		}
		return 0
	}
	s := variance + tau2
	logInvLambda := 0.5*math.Log(s/variance) - tau2*estimate*estimate/(2*variance*s)
	return math.Exp(math.Min(logInvLambda, 0))
}

// MSPRTHalfWidth is the half-width of the mSPRT (1−α) confidence interval
// at one look; 0 when V = 0.
func MSPRTHalfWidth(variance, tau2, alpha float64) float64 {
	if variance <= 0 {
		return 0
	}
	s := variance + tau2
	return math.Sqrt(2 * variance * s / tau2 * (math.Log(1/alpha) + 0.5*math.Log(s/variance)))
}

// Sequence accumulates mSPRT looks into always-valid results: the running
// minimum of the p-values and the running intersection of the intervals.
// The zero value is ready to use.
type Sequence struct {
	looks    int
	pValue   float64
	interval Interval
}

// Observe adds one look: the estimate, its variance, the mixing variance τ²
// and α.
func (s *Sequence) Observe(estimate, variance, tau2, alpha float64) {
	p := MSPRTPValue(estimate, variance, tau2)
	iv := around(estimate, MSPRTHalfWidth(variance, tau2, alpha))
	if s.looks == 0 {
		s.pValue, s.interval = p, iv
	} else {
		s.pValue = math.Min(s.pValue, p)
		// An empty intersection means the estimate has moved outside every
		// earlier interval, which the guarantee allows with probability at
		// most α; the newest interval is then the honest summary.
		if r, ok := intersect(s.interval, iv); ok {
			s.interval = r
		} else {
			s.interval = iv
		}
	}
	s.looks++
}

// PValue is the always-valid p-value so far (1 before any look).
func (s *Sequence) PValue() float64 {
	if s.looks == 0 {
		return 1
	}
	return s.pValue
}

// Interval is the always-valid interval so far.
func (s *Sequence) Interval() Interval { return s.interval }

// Looks is the number of looks observed.
func (s *Sequence) Looks() int { return s.looks }
