package analysis

import (
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/liftlabs/lift/services/results/internal/stats"
	"github.com/liftlabs/lift/services/results/internal/store"
)

// cupedPaired picks a variation's paired sums for what an aggregator
// measures; zero when the variation had no exposed visitor.
func cupedPaired(rows []store.CupedSums, variation int64, agg aggregator) stats.Paired {
	for _, r := range rows {
		if r.VariationID != variation {
			continue
		}
		s := r.Unique
		switch agg {
		case aggConversions:
			s = r.Conversions
		case aggRevenue:
			s = r.Revenue
		case aggValue:
			s = r.Value
		}
		return stats.Paired{N: r.N, SumX: s.X, SumXX: s.XX, SumY: s.Y, SumYY: s.YY, SumXY: s.XY}
	}
	return stats.Paired{}
}

// cupedLift is one variation's CUPED-adjusted comparison with the
// baseline, or the reason there is none: a variation with fewer than two
// visitors, or nobody with pre-exposure data.
func cupedLift(in Input, cfg stats.Config, key string, agg aggregator, variation int64) (*resultsv1.CupedLift, resultsv1.CupedStatus) {
	rows := in.Cuped[key]
	control, treatment := cupedPaired(rows, in.Baseline, agg), cupedPaired(rows, variation, agg)
	c, ok := stats.CompareCUPED(cfg, control, treatment)
	switch {
	case !ok && (control.N < 2 || treatment.N < 2):
		return nil, resultsv1.CupedStatus_CUPED_STATUS_INSUFFICIENT_DATA
	case !ok:
		return nil, resultsv1.CupedStatus_CUPED_STATUS_NO_PRE_PERIOD_DATA
	}
	return &resultsv1.CupedLift{
		Theta: c.Theta, Value: c.Relative, Interval: intervalProto(c.RelativeInterval), RelativeAvailable: c.RelativeDefined,
		AbsoluteValue: c.Diff, AbsoluteInterval: intervalProto(c.DiffInterval), VarianceReduction: c.VarianceReduction,
	}, resultsv1.CupedStatus_CUPED_STATUS_APPLIED
}
