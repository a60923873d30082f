package analysis

import (
	"slices"
	"strconv"

	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/liftlabs/lift/services/results/internal/catalog"
	"github.com/liftlabs/lift/services/results/internal/stats"
)

// visitorsNow is a variation's visitors at the end of the window.
func (t *timeline) visitorsNow(variation int64) int64 {
	if s := t.visitors[variation]; len(s) > 0 {
		return s[len(s)-1]
	}
	return 0
}

func reach(e *catalog.Experiment, baseline int64, t *timeline) *resultsv1.Reach {
	r := &resultsv1.Reach{}
	for _, v := range e.Variations {
		n := t.visitorsNow(v.ID)
		r.TotalCount += n
		if v.ID == baseline {
			r.BaselineCount += n
		} else {
			r.TreatmentCount += n
		}
		r.Variations = append(r.Variations, &resultsv1.VariationReach{
			VariationId: strconv.FormatInt(v.ID, 10), VariationKey: v.Key, Count: n, ExpectedWeight: v.Weight,
		})
	}
	for _, v := range r.Variations {
		if r.TotalCount > 0 {
			v.VariationReach = float64(v.Count) / float64(r.TotalCount)
		}
	}
	return r
}

// srm checks exposures against the weights. Visitors of a variation that
// is no longer in the experiment count as traffic to a zero weight.
func srm(e *catalog.Experiment, t *timeline) *resultsv1.SampleRatioMismatch {
	var observed []int64
	var weights []float64
	for _, v := range e.Variations {
		observed = append(observed, t.visitorsNow(v.ID))
		weights = append(weights, float64(v.Weight))
	}
	var extra []int64
	for id := range t.visitors {
		if _, ok := e.Variation(id); !ok {
			extra = append(extra, id)
		}
	}
	slices.Sort(extra)
	for _, id := range extra {
		observed = append(observed, t.visitorsNow(id))
		weights = append(weights, 0)
	}
	r := stats.SampleRatioMismatch(observed, weights)
	return &resultsv1.SampleRatioMismatch{
		Tested: r.Tested, ChiSquare: r.ChiSquare, DegreesOfFreedom: int32(r.DF), PValue: r.PValue,
		UnexpectedTraffic: r.UnexpectedTraffic, Mismatch: r.Mismatch,
	}
}
