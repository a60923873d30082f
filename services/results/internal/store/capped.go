package store

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
)

// CapColumn is the per-visitor total a capped metric measures.
type CapColumn string

// The visitor_metrics columns a cap applies to.
const (
	CapConversions CapColumn = "conversions"
	CapRevenue     CapColumn = "revenue"
	CapValue       CapColumn = "value"
)

// capTotalSQL picks the visitor_metrics column a CapColumn names, passed as
// $4, so the queries below stay constant SQL (deploy/sqlscan_test.go).
const capTotalSQL = `(CASE $4::text WHEN 'conversions' THEN vm.conversions::float8
  WHEN 'revenue' THEN vm.revenue::float8 ELSE vm.value::float8 END)`

// capPercentileSQL is the percentile (continuous, as numpy's default
// "linear" method) of the non-zero per-visitor totals of one metric over
// every variation; NULL when no visitor has one.
const capPercentileSQL = `
SELECT percentile_cont($3::float8) WITHIN GROUP (ORDER BY ` + capTotalSQL + `)
FROM visitor_metrics vm WHERE vm.experiment_id = $1 AND vm.event_key = $2 AND ` + capTotalSQL + ` <> 0`

// cappedDaysSQL sums the capped per-visitor totals by variation and UTC day
// of exposure (the visitors' cohorts), within the window of exposure days.
// $1 project, $2 experiment, $3 event key, $4 column, $5 cap, $6/$7 window.
const cappedDaysSQL = `
SELECT vm.variation_id, (x.exposed_at AT TIME ZONE 'UTC')::date AS day,
       sum(least(` + capTotalSQL + `, $5::float8)), sum(least(` + capTotalSQL + `, $5::float8) ^ 2)
FROM visitor_metrics vm
JOIN exposures x ON x.project_id = $1 AND x.visitor_id = vm.visitor_id AND x.experiment_id = vm.experiment_id
WHERE vm.experiment_id = $2 AND vm.event_key = $3
  AND ($6::date IS NULL OR x.exposed_at >= $6::date) AND ($7::date IS NULL OR x.exposed_at < $7::date)
GROUP BY 1, 2
ORDER BY 2, 1`

// CappedDay is the capped per-visitor totals of the visitors first exposed
// to a variation on one day.
type CappedDay struct {
	VariationID int64
	Day         time.Time
	Sum, SumSq  float64
}

// CapPercentile is the given percentile (in (0, 1)) of a metric's non-zero
// per-visitor totals; ok is false when no visitor has one.
func (s *Store) CapPercentile(ctx context.Context, experimentID int64, key string, col CapColumn, p float64) (cap float64, ok bool, err error) {
	var v *float64
	err = s.pool.QueryRow(ctx, capPercentileSQL, experimentID, key, p, string(col)).Scan(&v)
	if err != nil || v == nil {
		return 0, false, err
	}
	return *v, true, nil
}

// CappedDays reads a metric's per-visitor totals capped at cap, summed per
// variation and exposure day. It reads one row per converting visitor of
// the metric (visitor_metrics joined with their exposures), so it costs
// what the metric's converters number, unlike the rollups; only capped
// metrics use it. Visitors without a conversion add nothing to the sums.
func (s *Store) CappedDays(ctx context.Context, projectID, experimentID int64, key string, col CapColumn, cap float64, w Window) ([]CappedDay, error) {
	from, to := w.args()
	rows, _ := s.pool.Query(ctx, cappedDaysSQL, projectID, experimentID, key, string(col), cap, from, to)
	return pgx.CollectRows(rows, func(row pgx.CollectableRow) (CappedDay, error) {
		var d CappedDay
		err := row.Scan(&d.VariationID, &d.Day, &d.Sum, &d.SumSq)
		return d, err
	})
}
