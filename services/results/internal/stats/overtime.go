package stats

// DailyLift is a variation's lift over the baseline as it stood at one look
// (the end of one day): the point of a "lift over time" chart.
type DailyLift struct {
	// Defined is false while a variation has too few visitors; the other
	// fields are then 0.
	Defined bool
	// Diff is m_t − m_c.
	Diff float64
	// DiffInterval is the interval of Diff under the method: always-valid
	// (running intersection up to this look) for sequential, credible for
	// Bayesian, confidence for frequentist.
	DiffInterval Interval
	// RelativeDefined is false when the baseline mean is 0.
	RelativeDefined bool
	// Relative is m_t/m_c − 1.
	Relative float64
	// RelativeInterval is the interval of Relative, of the same kind as
	// DiffInterval.
	RelativeInterval Interval
}

// LiftOverTime is the lift and its interval at every look (cumulative
// snapshots in time order), computed from the snapshots alone. The last
// point agrees with Compare on the same looks (for the Bayesian method
// with its credible intervals).
func LiftOverTime(kind Kind, cfg Config, looks []Look) []DailyLift {
	cfg = cfg.withDefaults()
	alpha := 1 - cfg.Confidence
	out := make([]DailyLift, len(looks))
	var seq sequentialLooks
	for i, l := range looks {
		c, t := l.Control, l.Treatment
		if c.N < kind.minVisitors() || t.N < kind.minVisitors() {
			continue
		}
		d := DailyLift{Defined: true, Diff: t.Mean() - c.Mean()}
		d.Relative, d.RelativeInterval, d.RelativeDefined = RelativeLift(kind, c, t, cfg.Confidence)
		switch cfg.Method {
		case MethodSequential:
			seq.observe(kind, cfg.MixingVariance, alpha, l)
			d.DiffInterval = seq.diff.Interval()
			if d.RelativeDefined && seq.rel.Looks() > 0 {
				d.RelativeInterval = seq.rel.Interval()
			}
		case MethodBayesian:
			d.DiffInterval, _ = CredibleDiff(kind, c, t, cfg.Confidence)
			if d.RelativeDefined {
				d.RelativeInterval, _ = CredibleLift(kind, c, t, cfg.Confidence)
			}
		default:
			d.DiffInterval, _ = DiffInterval(kind, c, t, cfg.Confidence)
		}
		out[i] = d
	}
	return out
}
