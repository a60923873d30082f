package store

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// cupedSQL pairs every exposed visitor's total of one metric after
// exposure (Y, from visitor_metrics; 0 without a conversion) with their
// total in the pre-exposure window (X, from the stored events; 0 without
// one), for the four ways of measuring it, and sums per variation. One
// row per exposed visitor of the experiment is read, each with an index
// probe into its events.
//
// $1 project, $2 experiment, $3 event key, $4 pre-exposure days, $5/$6
// window of exposure days (NULL is open).
const cupedSQL = `
WITH pairs AS (
    SELECT x.variation_id,
           (pre.n > 0)::int::float8 AS ux, (coalesce(vm.conversions, 0) > 0)::int::float8 AS uy,
           pre.n::float8 AS cx, coalesce(vm.conversions, 0)::float8 AS cy,
           pre.revenue::float8 AS rx, coalesce(vm.revenue, 0)::float8 AS ry,
           pre.value AS vx, coalesce(vm.value, 0)::float8 AS vy
    FROM exposures x
    CROSS JOIN LATERAL (
        SELECT count(*) AS n, coalesce(sum(e.revenue), 0) AS revenue, coalesce(sum(e.value), 0)::float8 AS value
        FROM events e
        WHERE e.project_id = $1 AND e.visitor_id = x.visitor_id AND e.key = $3 AND e.key <> 'campaign_activated'
          AND e.occurred_at >= x.exposed_at - make_interval(days => $4::int) AND e.occurred_at < x.exposed_at
    ) pre
    LEFT JOIN visitor_metrics vm ON vm.experiment_id = x.experiment_id AND vm.visitor_id = x.visitor_id AND vm.event_key = $3
    WHERE x.project_id = $1 AND x.experiment_id = $2
      AND ($5::date IS NULL OR x.exposed_at >= $5::date) AND ($6::date IS NULL OR x.exposed_at < $6::date)
)
SELECT variation_id, count(*),
       sum(ux), sum(ux * ux), sum(uy), sum(uy * uy), sum(ux * uy),
       sum(cx), sum(cx * cx), sum(cy), sum(cy * cy), sum(cx * cy),
       sum(rx), sum(rx * rx), sum(ry), sum(ry * ry), sum(rx * ry),
       sum(vx), sum(vx * vx), sum(vy), sum(vy * vy), sum(vx * vy)
FROM pairs GROUP BY variation_id`

// PairedSums are one variation's sums over its visitors of the covariate
// X (pre-exposure) and the outcome Y (after exposure).
type PairedSums struct {
	X, XX, Y, YY, XY float64
}

// CupedSums are one variation's paired sums, for each way of measuring the
// metric.
type CupedSums struct {
	VariationID int64
	N           int64
	// Unique: converted at all (0/1); Conversions: number of conversion
	// events; Revenue: cents; Value: the value tag's total.
	Unique, Conversions, Revenue, Value PairedSums
}

// CupedSums reads the CUPED sums of one metric of an experiment, with a
// pre-exposure window of preDays days, per variation.
func (s *Store) CupedSums(ctx context.Context, projectID, experimentID int64, key string, preDays int, w Window) ([]CupedSums, error) {
	from, to := w.args()
	rows, _ := s.pool.Query(ctx, cupedSQL, projectID, experimentID, key, preDays, from, to)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (CupedSums, error) {
		var c CupedSums
		err := row.Scan(&c.VariationID, &c.N,
			&c.Unique.X, &c.Unique.XX, &c.Unique.Y, &c.Unique.YY, &c.Unique.XY,
			&c.Conversions.X, &c.Conversions.XX, &c.Conversions.Y, &c.Conversions.YY, &c.Conversions.XY,
			&c.Revenue.X, &c.Revenue.XX, &c.Revenue.Y, &c.Revenue.YY, &c.Revenue.XY,
			&c.Value.X, &c.Value.XX, &c.Value.Y, &c.Value.YY, &c.Value.XY)
		return c, err
	})
}
