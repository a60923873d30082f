package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// Both reads take the window as [$2, $3) in days; NULL bounds are open.
const (
	variationDaysSQL = `
SELECT variation_id, day, visitors FROM variation_days
WHERE experiment_id = $1 AND ($2::date IS NULL OR day >= $2) AND ($3::date IS NULL OR day < $3)
ORDER BY day, variation_id`

	metricDaysSQL = `
SELECT event_key, variation_id, day, converters, conversions, conversions_sum_sq::float8,
       revenue_sum::float8, revenue_sum_sq::float8, value_sum, value_sum_sq
FROM metric_days
WHERE experiment_id = $1 AND ($2::date IS NULL OR day >= $2) AND ($3::date IS NULL OR day < $3)
  AND event_key = ANY($4)
ORDER BY day, event_key, variation_id`
)

// VariationDay is the visitors first exposed to a variation on one day.
type VariationDay struct {
	VariationID int64
	Day         time.Time
	Visitors    int64
}

// MetricDay is the change of one metric's sums for one variation on one
// day.
type MetricDay struct {
	EventKey    string
	VariationID int64
	Day         time.Time
	Converters  int64
	Conversions int64
	// ConversionsSumSq is the change of the sum over visitors of their
	// squared number of conversions.
	ConversionsSumSq float64
	RevenueSum       float64
	RevenueSumSq     float64
	ValueSum         float64
	ValueSumSq       float64
}

// Rollups are an experiment's daily rows, in day order.
type Rollups struct {
	Variations []VariationDay
	Metrics    []MetricDay
}

// Window is a range of UTC days [From, To); a zero bound is open.
type Window struct {
	From, To time.Time
}

func (w Window) args() (from, to any) {
	if !w.From.IsZero() {
		from = w.From
	}
	if !w.To.IsZero() {
		to = w.To
	}
	return from, to
}

// Rollups reads an experiment's daily rollups for the event keys in the
// window, after folding in the batches of its project still pending (so a
// read sees every event acknowledged before it), all in one round trip.
// Their size depends on variations × metrics × days only, never on the
// number of events.
func (s *Store) Rollups(ctx context.Context, projectID, experimentID int64, keys []string, w Window) (Rollups, error) {
	from, to := w.args()
	var r Rollups
	b := &pgx.Batch{}
	queueCatchUp(b, projectID)
	b.Queue(variationDaysSQL, experimentID, from, to).Query(func(rows pgx.Rows) error {
		var err error
		r.Variations, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (VariationDay, error) {
			var d VariationDay
			err := row.Scan(&d.VariationID, &d.Day, &d.Visitors)
			return d, err
		})
		return err
	})
	b.Queue(metricDaysSQL, experimentID, from, to, keys).Query(func(rows pgx.Rows) error {
		var err error
		r.Metrics, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (MetricDay, error) {
			var d MetricDay
			err := row.Scan(&d.EventKey, &d.VariationID, &d.Day, &d.Converters, &d.Conversions, &d.ConversionsSumSq,
				&d.RevenueSum, &d.RevenueSumSq, &d.ValueSum, &d.ValueSumSq)
			return d, err
		})
		return err
	})
	if err := s.pool.SendBatch(ctx, b).Close(); err != nil {
		return Rollups{}, rollupError(err)
	}
	return r, nil
}
