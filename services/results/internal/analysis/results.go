package analysis

import (
	"strconv"
	"time"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/liftlabs/lift/services/results/internal/catalog"
	"github.com/liftlabs/lift/services/results/internal/stats"
	"github.com/liftlabs/lift/services/results/internal/store"
	"google.golang.org/protobuf/types/known/timestamppb"
)

type aggregator int

const (
	aggUnique aggregator = iota
	aggRevenue
	aggValue
	aggConversions
)

func (a aggregator) kind() stats.Kind {
	if a == aggUnique {
		return stats.KindBinary
	}
	return stats.KindNumeric
}

func (a aggregator) proto() resultsv1.Aggregator {
	switch a {
	case aggRevenue:
		return resultsv1.Aggregator_AGGREGATOR_REVENUE
	case aggValue:
		return resultsv1.Aggregator_AGGREGATOR_VALUE
	case aggConversions:
		return resultsv1.Aggregator_AGGREGATOR_CONVERSIONS
	}
	return resultsv1.Aggregator_AGGREGATOR_UNIQUE_CONVERSIONS
}

// Input is everything one experiment's results are computed from.
type Input struct {
	Experiment *catalog.Experiment
	// Baseline is the variation the others are compared with.
	Baseline int64
	// Metrics to report, in order.
	Metrics []catalog.Metric
	Rollups store.Rollups
	// Config of the statistics; Method and Confidence come from the
	// project's settings.
	Config stats.Config
	// FDR applies Benjamini–Hochberg across every comparison.
	FDR bool
	// Window analysed; zero bounds are open.
	Window store.Window
	// Now is when the results are computed.
	Now time.Time
	// Capped holds the capped metrics' sums, by event key.
	Capped map[string]Capped
	// Cuped holds the CUPED sums per variation, by event key, when
	// variance reduction was requested (PrePeriodDays > 0); nil otherwise.
	Cuped map[string][]store.CupedSums
	// PrePeriodDays is the CUPED pre-exposure window, reported back.
	PrePeriodDays int
}

// Capped is a capped metric's per-visitor totals, capped at Cap, summed by
// variation and exposure day.
type Capped struct {
	Cap  float64
	Days []store.CappedDay
}

// Compute returns the experiment's results.
func Compute(in Input) *resultsv1.ExperimentResults {
	variations := make([]int64, len(in.Experiment.Variations))
	for i, v := range in.Experiment.Variations {
		variations[i] = v.ID
	}
	keys := make([]string, len(in.Metrics))
	for i, m := range in.Metrics {
		keys[i] = m.EventKey
	}
	t := buildTimeline(in.Rollups, variations, keys)
	for key, c := range in.Capped {
		t.addCapped(key, c.Days)
	}
	cfg := withDefaults(in.Config)
	out := &resultsv1.ExperimentResults{
		ExperimentId:        strconv.FormatInt(in.Experiment.ID, 10),
		BaselineVariationId: strconv.FormatInt(in.Baseline, 10),
		Reach:               reach(in.Experiment, in.Baseline, t),
		SampleRatioMismatch: srm(in.Experiment, t),
		StatsConfig: &resultsv1.StatsConfig{
			StatsMethod: methodProto(cfg.Method), ConfidenceLevel: cfg.Confidence,
			FalseDiscoveryRateControl: in.FDR, MixingVariance: cfg.MixingVariance,
			PrePeriodDays: int32(in.PrePeriodDays),
		},
		ComputeTime: timestamppb.New(in.Now),
	}
	if !in.Window.From.IsZero() {
		out.StartTime = timestamppb.New(in.Window.From)
	}
	if !in.Window.To.IsZero() {
		out.EndTime = timestamppb.New(in.Window.To)
	}
	var pending []pendingLift
	for _, m := range in.Metrics {
		for _, agg := range aggregatorsOf(t, m) {
			mr, lifts := metricResults(in, t, cfg, m, agg)
			out.Metrics = append(out.Metrics, mr)
			pending = append(pending, lifts...)
		}
	}
	if in.FDR {
		// Guardrails stay out of the family: a guardrail is a check that
		// must not fail, judged on its own p-value, and adding it to the
		// family would loosen the bar for the metrics that decide.
		var cs []*stats.Comparison
		for i := range pending {
			if !pending[i].guardrail {
				cs = append(cs, &pending[i].c)
			}
		}
		stats.AdjustFDR(cs, cfg.Confidence)
	}
	for _, p := range pending {
		p.into.Lift = liftProto(p.c, cfg.Method)
		p.into.Lift.GuardrailViolated = p.guardrail && p.c.Status == stats.StatusWorse
		p.into.Lift.Cuped = p.cuped
	}
	return out
}

// pendingLift is a comparison whose proto is filled in once the false
// discovery rate adjustment has seen all of them.
type pendingLift struct {
	c         stats.Comparison
	guardrail bool
	cuped     *resultsv1.CupedLift
	into      *resultsv1.VariationResult
}

// aggregatorsOf lists what to report for a metric: what its kind says, or
// without a kind the conversion rate always, revenue and value per visitor
// when any event carried them.
func aggregatorsOf(t *timeline, m catalog.Metric) []aggregator {
	switch m.Kind {
	case experimentsv1.MetricKind_METRIC_KIND_UNIQUE_CONVERSIONS:
		return []aggregator{aggUnique}
	case experimentsv1.MetricKind_METRIC_KIND_CONVERSIONS_PER_VISITOR:
		return []aggregator{aggConversions}
	case experimentsv1.MetricKind_METRIC_KIND_REVENUE_PER_VISITOR:
		return []aggregator{aggRevenue}
	case experimentsv1.MetricKind_METRIC_KIND_VALUE_PER_VISITOR:
		return []aggregator{aggValue}
	}
	key := m.EventKey
	aggs := []aggregator{aggUnique}
	var revenue, value bool
	if i := t.last(); i >= 0 {
		for _, series := range t.metrics[key] {
			s := series[i]
			revenue = revenue || s.revenue != 0 || s.revenueSq != 0
			value = value || s.value != 0 || s.valueSq != 0
		}
	}
	if revenue {
		aggs = append(aggs, aggRevenue)
	}
	if value {
		aggs = append(aggs, aggValue)
	}
	return aggs
}

func metricResults(in Input, t *timeline, cfg stats.Config, m catalog.Metric, agg aggregator) (*resultsv1.MetricResults, []pendingLift) {
	mr := &resultsv1.MetricResults{EventKey: m.EventKey, Aggregator: agg.proto(), Primary: m.Primary, Role: m.Role(),
		Direction: experimentsv1.MetricDirection_METRIC_DIRECTION_INCREASE}
	if m.LowerIsBetter {
		mr.Direction = experimentsv1.MetricDirection_METRIC_DIRECTION_DECREASE
	}
	if c, ok := in.Capped[m.EventKey]; ok && agg != aggUnique {
		mr.CappedAt = c.Cap
	}
	var lifts []pendingLift
	last := t.last()
	for _, v := range in.Experiment.Variations {
		s := t.summary(m.EventKey, v.ID, agg, last)
		vr := &resultsv1.VariationResult{
			VariationId: strconv.FormatInt(v.ID, 10), VariationKey: v.Key, IsBaseline: v.ID == in.Baseline,
			Samples: s.N, Value: s.Sum, Rate: s.Mean(), Variance: agg.kind().Variance(s),
			Series: series(t, m.EventKey, v.ID, agg),
		}
		if last >= 0 {
			vr.Converters = t.metrics[m.EventKey][v.ID][last].converters
			vr.Conversions = t.metrics[m.EventKey][v.ID][last].conversions
		}
		mr.Results = append(mr.Results, vr)
		if v.ID == in.Baseline {
			continue
		}
		looks := make([]stats.Look, len(t.days))
		for i := range t.days {
			looks[i] = stats.Look{
				Control:   t.summary(m.EventKey, in.Baseline, agg, i),
				Treatment: t.summary(m.EventKey, v.ID, agg, i),
			}
		}
		c := stats.Compare(agg.kind(), cfg, looks)
		if m.LowerIsBetter {
			c.SetLowerIsBetter()
		}
		p := pendingLift{c: c, guardrail: m.Guardrail, into: vr}
		if in.Cuped != nil {
			var status resultsv1.CupedStatus
			p.cuped, status = cupedLift(in, cfg, m.EventKey, agg, v.ID)
			if mr.CupedStatus != resultsv1.CupedStatus_CUPED_STATUS_INSUFFICIENT_DATA {
				mr.CupedStatus = status // insufficient data anywhere is what the metric reports
			}
		}
		lifts = append(lifts, p)
		for i, d := range stats.LiftOverTime(agg.kind(), cfg, looks) {
			vr.Series[i].Lift = dailyLiftProto(d)
		}
	}
	return mr, lifts
}

func series(t *timeline, key string, variation int64, agg aggregator) []*resultsv1.DailyPoint {
	out := make([]*resultsv1.DailyPoint, len(t.days))
	for i, day := range t.days {
		s := t.summary(key, variation, agg, i)
		sums := t.metrics[key][variation][i]
		out[i] = &resultsv1.DailyPoint{
			Day: timestamppb.New(day), Samples: s.N, Converters: sums.converters, Conversions: sums.conversions,
			Value: s.Sum, Rate: s.Mean(),
		}
	}
	return out
}

func liftProto(c stats.Comparison, method stats.Method) *resultsv1.Lift {
	status := resultsv1.LiftStatus_LIFT_STATUS_INCONCLUSIVE
	switch c.Status {
	case stats.StatusBetter:
		status = resultsv1.LiftStatus_LIFT_STATUS_BETTER
	case stats.StatusWorse:
		status = resultsv1.LiftStatus_LIFT_STATUS_WORSE
	}
	return &resultsv1.Lift{
		Value:                      c.Relative,
		ConfidenceInterval:         intervalProto(c.RelativeInterval),
		RelativeAvailable:          c.RelativeDefined,
		AbsoluteValue:              c.Diff,
		AbsoluteConfidenceInterval: intervalProto(c.DiffInterval),
		Significance:               c.Significance(),
		PValue:                     c.PValue,
		AdjustedPValue:             c.AdjustedPValue,
		IsSignificant:              c.Significant,
		LiftStatus:                 status,
		ChanceToBeatBaseline:       c.ChanceToBeatBaseline,
		VisitorsRemaining:          c.Remaining.Visitors,
		VisitorsRemainingKnown:     c.Remaining.Known,
		InsufficientData:           !c.Defined,
		ExpectedLoss:               c.Loss.Treatment,
		BaselineExpectedLoss:       c.Loss.Control,
		CredibleInterval:           credibleProto(c, method),
	}
}

func credibleProto(c stats.Comparison, method stats.Method) *resultsv1.Interval {
	if method != stats.MethodBayesian || !c.RelativeDefined {
		return nil
	}
	return intervalProto(c.CredibleInterval)
}

func dailyLiftProto(d stats.DailyLift) *resultsv1.DailyLift {
	if !d.Defined {
		return &resultsv1.DailyLift{InsufficientData: true}
	}
	return &resultsv1.DailyLift{
		Value:             d.Relative,
		Interval:          intervalProto(d.RelativeInterval),
		RelativeAvailable: d.RelativeDefined,
		AbsoluteValue:     d.Diff,
		AbsoluteInterval:  intervalProto(d.DiffInterval),
	}
}

func intervalProto(i stats.Interval) *resultsv1.Interval {
	return &resultsv1.Interval{Lower: i.Lower, Upper: i.Upper}
}

func withDefaults(c stats.Config) stats.Config {
	if c.Method == 0 {
		c.Method = stats.MethodSequential
	}
	if c.Confidence <= 0 || c.Confidence >= 1 {
		c.Confidence = stats.DefaultConfidence
	}
	if c.MixingVariance <= 0 {
		c.MixingVariance = stats.DefaultMixingVariance
	}
	return c
}

// Method maps a project's stats method to the stats package's.
func Method(m identityv1.StatsMethod) stats.Method {
	switch m {
	case identityv1.StatsMethod_STATS_METHOD_FREQUENTIST:
		return stats.MethodFrequentist
	case identityv1.StatsMethod_STATS_METHOD_BAYESIAN:
		return stats.MethodBayesian
	}
	return stats.MethodSequential
}

func methodProto(m stats.Method) identityv1.StatsMethod {
	switch m {
	case stats.MethodFrequentist:
		return identityv1.StatsMethod_STATS_METHOD_FREQUENTIST
	case stats.MethodBayesian:
		return identityv1.StatsMethod_STATS_METHOD_BAYESIAN
	}
	return identityv1.StatsMethod_STATS_METHOD_SEQUENTIAL
}
