// Package analysis turns an experiment's daily rollups into its results:
// cumulative series per variation and metric, the comparisons with the
// baseline (package stats), false discovery rate control, reach and the
// sample-ratio check.
package analysis

import (
	"slices"
	"time"

	"github.com/liftlabs/lift/services/results/internal/stats"
	"github.com/liftlabs/lift/services/results/internal/store"
)

// sums are one variation's cumulative metric sums at the end of a day.
type sums struct {
	converters, conversions                           int64
	conversionsSq, revenue, revenueSq, value, valueSq float64
}

func (s sums) add(d store.MetricDay) sums {
	return s.plus(sums{
		converters: d.Converters, conversions: d.Conversions, conversionsSq: d.ConversionsSumSq,
		revenue: d.RevenueSum, revenueSq: d.RevenueSumSq, value: d.ValueSum, valueSq: d.ValueSumSq,
	})
}

func (s sums) plus(o sums) sums {
	return sums{
		converters: s.converters + o.converters, conversions: s.conversions + o.conversions,
		conversionsSq: s.conversionsSq + o.conversionsSq,
		revenue:       s.revenue + o.revenue, revenueSq: s.revenueSq + o.revenueSq,
		value: s.value + o.value, valueSq: s.valueSq + o.valueSq,
	}
}

// timeline is the cumulative state of every variation at the end of each
// day that has data.
type timeline struct {
	days     []time.Time
	visitors map[int64][]int64           // variation → cumulative visitors per day
	metrics  map[string]map[int64][]sums // event key → variation → cumulative sums per day
	// capped replaces the numeric sums of capped metrics: event key →
	// variation → cumulative capped (sum, sum of squares) per day, by the
	// visitors' exposure day.
	capped map[string]map[int64][][2]float64
}

// addCapped records a capped metric's sums (per variation and exposure
// day) as cumulative series on the timeline's days.
func (t *timeline) addCapped(key string, days []store.CappedDay) {
	if t.capped == nil {
		t.capped = map[string]map[int64][][2]float64{}
	}
	perVar := map[int64][][2]float64{}
	for v := range t.visitors {
		perVar[v] = make([][2]float64, len(t.days))
	}
	for _, d := range days {
		series, ok := perVar[d.VariationID]
		i, found := slices.BinarySearchFunc(t.days, d.Day, func(a, b time.Time) int { return a.Compare(b) })
		if !ok || !found {
			continue // a removed variation, or a day without exposures in the window
		}
		series[i][0] += d.Sum
		series[i][1] += d.SumSq
	}
	for _, series := range perVar {
		for i := 1; i < len(series); i++ {
			series[i][0] += series[i-1][0]
			series[i][1] += series[i-1][1]
		}
	}
	t.capped[key] = perVar
}

func buildTimeline(r store.Rollups, variations []int64, keys []string) *timeline {
	var days []time.Time
	for _, d := range r.Variations {
		days = append(days, d.Day)
	}
	for _, d := range r.Metrics {
		days = append(days, d.Day)
	}
	slices.SortFunc(days, func(a, b time.Time) int { return a.Compare(b) })
	days = slices.CompactFunc(days, func(a, b time.Time) bool { return a.Equal(b) })
	index := make(map[time.Time]int, len(days))
	for i, d := range days {
		index[d] = i
	}
	t := &timeline{days: days, visitors: map[int64][]int64{}, metrics: map[string]map[int64][]sums{}}
	for _, v := range variations {
		t.visitors[v] = make([]int64, len(days))
	}
	for _, d := range r.Variations {
		if _, ok := t.visitors[d.VariationID]; !ok {
			t.visitors[d.VariationID] = make([]int64, len(days))
		}
		t.visitors[d.VariationID][index[d.Day]] += d.Visitors
	}
	for _, k := range keys {
		t.metrics[k] = map[int64][]sums{}
		for _, v := range variations {
			t.metrics[k][v] = make([]sums, len(days))
		}
	}
	for _, d := range r.Metrics {
		perVar, ok := t.metrics[d.EventKey][d.VariationID]
		if !ok {
			continue // a variation no longer in the experiment
		}
		perVar[index[d.Day]] = perVar[index[d.Day]].add(d)
	}
	for _, series := range t.visitors {
		for i := 1; i < len(series); i++ {
			series[i] += series[i-1]
		}
	}
	for _, perVar := range t.metrics {
		for _, series := range perVar {
			for i := 1; i < len(series); i++ {
				series[i] = series[i-1].plus(series[i])
			}
		}
	}
	return t
}

// last is the index of the last day, -1 without data.
func (t *timeline) last() int { return len(t.days) - 1 }

// summary is what stats needs for one variation, metric and aggregator at
// the end of day i.
func (t *timeline) summary(key string, variation int64, agg aggregator, i int) stats.Summary {
	if i < 0 {
		return stats.Summary{}
	}
	n := t.visitors[variation][i]
	if c, ok := t.capped[key]; ok && agg != aggUnique {
		return stats.Summary{N: n, Sum: c[variation][i][0], SumSq: c[variation][i][1]}
	}
	s := t.metrics[key][variation][i]
	switch agg {
	case aggRevenue:
		return stats.Summary{N: n, Sum: s.revenue, SumSq: s.revenueSq}
	case aggValue:
		return stats.Summary{N: n, Sum: s.value, SumSq: s.valueSq}
	case aggConversions:
		return stats.Summary{N: n, Sum: float64(s.conversions), SumSq: s.conversionsSq}
	}
	return stats.Binary(n, s.converters)
}
