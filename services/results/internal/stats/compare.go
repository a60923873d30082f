package stats

import "math"

// Method is how a comparison is judged.
type Method int

const (
	// MethodSequential: always-valid mSPRT p-values and intervals, safe to
	// look at any time.
	MethodSequential Method = iota + 1
	// MethodFrequentist: fixed-horizon z-test (binary) or Welch t-test
	// (numeric), valid once, at a sample size chosen in advance.
	MethodFrequentist
	// MethodBayesian: chance to beat baseline.
	MethodBayesian
)

// DefaultConfidence is used when Config.Confidence is 0.
const DefaultConfidence = 0.95

// Config is how comparisons are computed.
type Config struct {
	// Method; 0 means MethodSequential.
	Method Method
	// Confidence level in (0, 1); 0 means DefaultConfidence.
	Confidence float64
	// MixingVariance is the mSPRT τ² in standardized units (multiplied by
	// the visitors' pooled variance); 0 means DefaultMixingVariance.
	MixingVariance float64
}

// withDefaults fills in the zero values.
func (c Config) withDefaults() Config {
	if c.Method == 0 {
		c.Method = MethodSequential
	}
	if c.Confidence <= 0 || c.Confidence >= 1 {
		c.Confidence = DefaultConfidence
	}
	if c.MixingVariance <= 0 {
		c.MixingVariance = DefaultMixingVariance
	}
	return c
}

// Look is the cumulative state of a baseline and a variation at one time.
type Look struct {
	// Control is the baseline.
	Control Summary
	// Treatment is the variation compared with it.
	Treatment Summary
}

// Status is the verdict on a variation: higher values are better unless
// the comparison was set to LowerIsBetter.
type Status int

const (
	// StatusInconclusive: not significant (or not enough data).
	StatusInconclusive Status = iota
	// StatusBetter: significantly better than the baseline.
	StatusBetter
	// StatusWorse: significantly worse than the baseline.
	StatusWorse
)

// Comparison is a variation judged against the baseline on one metric.
// Every number is finite; fields that cannot be computed are 0 with a flag.
type Comparison struct {
	// Defined is false when a variation has too few visitors (none for a
	// binary metric, fewer than two for a numeric one); then only
	// PValue = 1, ChanceToBeatBaseline = ½ and Status are set.
	Defined bool
	// Diff is m_t − m_c.
	Diff float64
	// DiffInterval is the confidence interval for Diff (always-valid for
	// the sequential method).
	DiffInterval Interval
	// RelativeDefined is false when the baseline mean is 0.
	RelativeDefined bool
	// Relative is the relative lift m_t/m_c − 1.
	Relative float64
	// RelativeInterval is the confidence interval for Relative.
	RelativeInterval Interval
	// PValue is the two-sided p-value (always-valid for the sequential
	// method; for the Bayesian method the posterior probability of the less
	// likely direction, 1 − max(P(better), P(worse))).
	PValue float64
	// AdjustedPValue is the Benjamini–Hochberg q-value after AdjustFDR,
	// otherwise equal to PValue. Significance is judged on it.
	AdjustedPValue float64
	// Significant is AdjustedPValue < 1 − confidence.
	Significant bool
	// ChanceToBeatBaseline is P(m_t > m_c) under flat priors (Beta(1,1)
	// for binary metrics, normal approximation for numeric ones).
	ChanceToBeatBaseline float64
	// Loss is the expected loss of choosing the variation or keeping the
	// baseline (Bayesian method only; zero otherwise).
	Loss Loss
	// CredibleInterval is the credible interval of Relative (Bayesian
	// method only; zero otherwise or when RelativeDefined is false).
	CredibleInterval Interval
	// Remaining is the visitors still needed to reach significance if the
	// observed effect persists.
	Remaining Remaining
	// Status follows from Significant and the sign of Diff.
	Status Status
	// Tau2 is the absolute mSPRT mixing variance used at the last look
	// (sequential method only).
	Tau2 float64
	// LowerIsBetter is set by SetLowerIsBetter: Status, ChanceToBeatBaseline
	// and Loss then take a decrease as the improvement.
	LowerIsBetter bool
	// alpha is 1 − the confidence level Compare judged at.
	alpha float64
}

// SetLowerIsBetter judges the comparison for a metric whose decrease is the
// improvement (churn, latency, refunds): chance to beat becomes the
// probability that the variation's mean is lower, the two risks swap, and
// a significant decrease is StatusBetter. Diff, the intervals and the
// p-values do not change (they are two-sided). Call it before AdjustFDR.
func (r *Comparison) SetLowerIsBetter() {
	if r.LowerIsBetter {
		return
	}
	r.LowerIsBetter = true
	r.ChanceToBeatBaseline = 1 - r.ChanceToBeatBaseline
	r.Loss.Treatment, r.Loss.Control = r.Loss.Control, r.Loss.Treatment
	r.judge(r.alpha)
}

// Compare judges the treatment against the control. looks are cumulative
// snapshots in time order, the last being now; the sequential method uses
// all of them (each is a peek, so the p-value is the running minimum and the
// interval the running intersection), the others only the last.
func Compare(kind Kind, cfg Config, looks []Look) Comparison {
	cfg = cfg.withDefaults()
	r := Comparison{PValue: 1, AdjustedPValue: 1, ChanceToBeatBaseline: 0.5}
	if len(looks) == 0 {
		return r
	}
	now := looks[len(looks)-1]
	c, t := now.Control, now.Treatment
	if c.N < kind.minVisitors() || t.N < kind.minVisitors() {
		return r
	}
	alpha := 1 - cfg.Confidence
	r.Defined = true
	r.Diff = t.Mean() - c.Mean()
	r.ChanceToBeatBaseline = chanceToBeat(kind, c, t)
	r.Relative, r.RelativeInterval, r.RelativeDefined = RelativeLift(kind, c, t, cfg.Confidence)
	r.DiffInterval, _ = DiffInterval(kind, c, t, cfg.Confidence)
	v := kind.meanVariance(c) + kind.meanVariance(t)
	switch cfg.Method {
	case MethodFrequentist:
		r.PValue = fixedHorizonP(kind, c, t)
		k, ok := scaleFixed(r.Diff, fixedHorizonVariance(kind, c, t), zCritical(alpha))
		r.Remaining = remaining(k, ok, c, t)
	case MethodBayesian:
		r.PValue = 1 - math.Max(r.ChanceToBeatBaseline, 1-r.ChanceToBeatBaseline)
		// Two more posterior integrals for rates (about twice chance to
		// beat's cost), so only where the method asks for them.
		r.Loss = ExpectedLoss(kind, c, t)
		r.CredibleInterval, _ = CredibleLift(kind, c, t, cfg.Confidence)
		k, ok := scaleFixed(r.Diff, v, zOneSided(alpha))
		r.Remaining = remaining(k, ok, c, t)
	default:
		sequential(kind, cfg.MixingVariance, alpha, looks, &r)
		k, ok := scaleSequential(r.Diff, v, r.Tau2, alpha)
		r.Remaining = remaining(k, ok, c, t)
	}
	r.AdjustedPValue = r.PValue
	r.alpha = alpha
	r.judge(alpha)
	return r
}

// judge sets Significant and Status from AdjustedPValue.
func (r *Comparison) judge(alpha float64) {
	r.Significant = r.Defined && r.AdjustedPValue < alpha
	improvement := r.Diff
	if r.LowerIsBetter {
		improvement = -r.Diff
	}
	switch {
	case r.Significant && improvement > 0:
		r.Status = StatusBetter
	case r.Significant && improvement < 0:
		r.Status = StatusWorse
	default:
		r.Status = StatusInconclusive
	}
}

func fixedHorizonP(kind Kind, c, t Summary) float64 {
	var res TestResult
	if kind == KindBinary {
		res, _ = TwoProportionZTest(c, t)
	} else {
		res, _ = WelchTTest(c, t)
	}
	return res.PValue
}

// fixedHorizonVariance is the variance of the difference the fixed-horizon
// test divides by: pooled for the z-test, so that the visitors remaining are
// those after which that very test turns significant.
func fixedHorizonVariance(kind Kind, c, t Summary) float64 {
	if kind != KindBinary {
		return kind.meanVariance(c) + kind.meanVariance(t)
	}
	nc, nt := float64(c.N), float64(t.N)
	p := (c.Sum + t.Sum) / (nc + nt)
	return math.Max(p*(1-p), 0) * (1/nc + 1/nt)
}

func chanceToBeat(kind Kind, c, t Summary) float64 {
	if kind == KindBinary {
		return ChanceToBeatBinary(c, t)
	}
	return ChanceToBeatNormal(c, t)
}

// sequential runs the mSPRT over every look with enough visitors (see
// sequentialLooks) and records the always-valid results at the last one.
func sequential(kind Kind, mix, alpha float64, looks []Look, r *Comparison) {
	var s sequentialLooks
	for _, l := range looks {
		s.observe(kind, mix, alpha, l)
	}
	r.Tau2 = s.tau2
	r.PValue = s.diff.PValue()
	r.DiffInterval = s.diff.Interval()
	if r.RelativeDefined && s.rel.Looks() > 0 {
		r.RelativeInterval = s.rel.Interval()
	}
}

// sequentialLooks is the mSPRT on the absolute difference and (where the
// baseline mean is not 0) on the relative lift, whose mixing variance is
// τ²/m_c² so that both tests put the same prior on the effect. Looks with
// too few visitors are skipped.
type sequentialLooks struct {
	diff, rel Sequence
	// tau2 is the absolute mixing variance of the last look used.
	tau2 float64
}

func (s *sequentialLooks) observe(kind Kind, mix, alpha float64, l Look) {
	c, t := l.Control, l.Treatment
	if c.N < kind.minVisitors() || t.N < kind.minVisitors() {
		return
	}
	tau2 := mix * (kind.unitVariance(c) + kind.unitVariance(t)) / 2
	v := kind.meanVariance(c) + kind.meanVariance(t)
	s.diff.Observe(t.Mean()-c.Mean(), v, tau2, alpha)
	s.tau2 = tau2
	if mc := c.Mean(); mc != 0 {
		s.rel.Observe(t.Mean()/mc-1, relativeVariance(kind, c, t), tau2/(mc*mc), alpha)
	}
}

// AdjustFDR applies Benjamini–Hochberg across the defined comparisons (all
// metrics × variations of an experiment) and re-judges them on the
// adjusted p-values at the given confidence level.
func AdjustFDR(cs []*Comparison, confidence float64) {
	var idx []int
	var ps []float64
	for i, c := range cs {
		if c.Defined {
			idx = append(idx, i)
			ps = append(ps, c.PValue)
		}
	}
	q := BenjaminiHochberg(ps)
	for j, i := range idx {
		cs[i].AdjustedPValue = q[j]
		cs[i].judge(1 - confidence)
	}
}

// Significance is 1 − AdjustedPValue, the "statistical significance" users
// are shown.
func (r Comparison) Significance() float64 { return 1 - r.AdjustedPValue }
