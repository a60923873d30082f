package store

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/liftlabs/lift/pkg/apierr"
)

// lockRollupSQL serialises the rollups of one project. It is a lock apart
// from the ingest lock: storing batches never waits for a rollup.
const lockRollupSQL = `SELECT pg_advisory_xact_lock(hashtextextended('lift_results.rollup:' || $1::bigint, 0))`

// rollupSQL folds every pending batch of a project that its snapshot sees
// into the rollups, and deletes those pending rows, in one statement.
//
// A visitor's exposure to an experiment is the first impression folded in
// for it (the earliest, when several batches are folded in together): its
// variation and time never change afterwards (SDKs send a user's
// impressions in order, so it is also the earliest). Only conversions at or
// after the exposure count. Every (exposure, conversion) pair is counted
// exactly once, in one of two parts:
//   - the new exposures × every stored conversion of the visitor that the
//     snapshot sees. It sees the events of exactly the batches it takes and
//     of those folded in before: a batch's events and its pending row
//     commit together, and a batch committed later is invisible to both;
//   - exposures stored before × the taken batches' conversions (the
//     statement's snapshot does not see the rows its own CTE inserts into
//     exposures).
//
// The lookups of stored rows are subqueries fenced with OFFSET 0, so the
// planner cannot flatten them into a join that hashes a project's whole
// history (it does, with stale statistics): they stay index probes per new
// row, a cost that does not grow with the tables. Because the rollup lock
// excludes concurrent writers of exposures and the rollups, rows found
// missing are added with plain INSERTs, cheaper than ON CONFLICT's
// speculative insertion; the primary keys still stand guard.
//
// Each visitor's totals per experiment and event key live in
// visitor_metrics. The rollups get the change: a new converter when the
// visitor had no conversion, and (old + delta)² − old² for the sums of
// squares of per-visitor totals (conversions, revenue, value), on the UTC day of the visitor's earliest
// conversion among those taken.
//
// $1 project.
const rollupSQL = `
WITH taken AS (
    DELETE FROM pending_rollups WHERE project_id = $1
    RETURNING *
),
new_conversions AS (
    SELECT t.* FROM taken p,
        unnest(p.conv_visitors, p.conv_keys, p.conv_times, p.conv_revenues, p.conv_values)
            AS t(visitor_id, key, occurred_at, revenue, value)
),
first_seen AS (
    SELECT DISTINCT ON (d.visitor_id, d.experiment_id) d.visitor_id, d.experiment_id, d.variation_id, d.exposed_at
    FROM taken p, unnest(p.exp_visitors, p.exp_times, p.exp_experiments, p.exp_variations)
        AS d(visitor_id, exposed_at, experiment_id, variation_id)
    ORDER BY d.visitor_id, d.experiment_id, d.exposed_at, p.id
),
exposed AS (
    INSERT INTO exposures (project_id, visitor_id, experiment_id, variation_id, exposed_at)
    SELECT $1, f.visitor_id, f.experiment_id, f.variation_id, f.exposed_at FROM first_seen f
    WHERE NOT EXISTS (
        SELECT 1 FROM exposures s
        WHERE s.project_id = $1 AND s.visitor_id = f.visitor_id AND s.experiment_id = f.experiment_id
        OFFSET 0
    )
    RETURNING experiment_id, visitor_id, variation_id, exposed_at
),
attributed AS (
    SELECT e.experiment_id, e.variation_id, e.visitor_id, c.key, c.occurred_at, c.revenue, c.value
    FROM exposed e
    CROSS JOIN LATERAL (
        SELECT ev.key, ev.occurred_at, ev.revenue, ev.value FROM events ev
        WHERE ev.project_id = $1 AND ev.visitor_id = e.visitor_id
          AND ev.key <> 'campaign_activated' AND ev.occurred_at >= e.exposed_at
        OFFSET 0
    ) c
    UNION ALL
    SELECT x.experiment_id, x.variation_id, n.visitor_id, n.key, n.occurred_at, n.revenue, n.value
    FROM new_conversions n
    CROSS JOIN LATERAL (
        SELECT s.experiment_id, s.variation_id FROM exposures s
        WHERE s.project_id = $1 AND s.visitor_id = n.visitor_id AND s.exposed_at <= n.occurred_at
        OFFSET 0
    ) x
),
per_visitor AS (
    SELECT experiment_id, visitor_id, key, min(variation_id) AS variation_id, count(*) AS n,
           coalesce(sum(revenue), 0) AS revenue, coalesce(sum(value), 0) AS value,
           (min(occurred_at) AT TIME ZONE 'UTC')::date AS day
    FROM attributed
    GROUP BY experiment_id, visitor_id, key
),
old AS (
    SELECT p.*, o.conversions IS NOT NULL AS known,
           coalesce(o.conversions, 0) AS old_n, coalesce(o.revenue, 0) AS old_revenue, coalesce(o.value, 0) AS old_value
    FROM per_visitor p
    LEFT JOIN LATERAL (
        SELECT vm.conversions, vm.revenue, vm.value FROM visitor_metrics vm
        WHERE vm.experiment_id = p.experiment_id AND vm.visitor_id = p.visitor_id AND vm.event_key = p.key
        OFFSET 0
    ) o ON true
),
new_totals AS (
    INSERT INTO visitor_metrics (experiment_id, visitor_id, event_key, variation_id, conversions, revenue, value)
    SELECT experiment_id, visitor_id, key, variation_id, n, revenue, value FROM old WHERE NOT known
),
grown_totals AS (
    UPDATE visitor_metrics vm
    SET conversions = vm.conversions + o.n, revenue = vm.revenue + o.revenue, value = vm.value + o.value
    FROM old o
    WHERE o.known AND vm.experiment_id = o.experiment_id AND vm.visitor_id = o.visitor_id AND vm.event_key = o.key
),
metric_rollup AS (
    INSERT INTO metric_days AS m (experiment_id, event_key, variation_id, day, converters, conversions,
                                  conversions_sum_sq, revenue_sum, revenue_sum_sq, value_sum, value_sum_sq)
    SELECT experiment_id, key, variation_id, day,
           count(*) FILTER (WHERE old_n = 0),
           sum(n),
           sum((old_n + n) * (old_n + n) - old_n * old_n),
           sum(revenue),
           sum((old_revenue + revenue) * (old_revenue + revenue) - old_revenue * old_revenue),
           sum(value),
           sum((old_value + value) * (old_value + value) - old_value * old_value)
    FROM old
    GROUP BY experiment_id, key, variation_id, day
    ON CONFLICT (experiment_id, event_key, variation_id, day) DO UPDATE
        SET converters = m.converters + excluded.converters,
            conversions = m.conversions + excluded.conversions,
            conversions_sum_sq = m.conversions_sum_sq + excluded.conversions_sum_sq,
            revenue_sum = m.revenue_sum + excluded.revenue_sum,
            revenue_sum_sq = m.revenue_sum_sq + excluded.revenue_sum_sq,
            value_sum = m.value_sum + excluded.value_sum,
            value_sum_sq = m.value_sum_sq + excluded.value_sum_sq
)
INSERT INTO variation_days AS v (experiment_id, variation_id, day, visitors)
SELECT experiment_id, variation_id, (exposed_at AT TIME ZONE 'UTC')::date, count(*)
FROM exposed
GROUP BY 1, 2, 3
ON CONFLICT (experiment_id, variation_id, day) DO UPDATE SET visitors = v.visitors + excluded.visitors`

// pendingProjectsSQL lists the projects with batches not folded in yet.
const pendingProjectsSQL = `SELECT DISTINCT project_id FROM pending_rollups`

// CatchUp folds every batch of the project committed so far into the
// rollups. The rollup worker calls it after each ingest, so that reads
// (Rollups, which fold in what is left) rarely find anything to do.
func (s *Store) CatchUp(ctx context.Context, projectID int64) error {
	err := s.catchUpOnce(ctx, projectID)
	// Safe to retry even when the failure hid a commit: the pending rows
	// are gone then and the retry folds in nothing twice.
	for attempt := 2; attempt <= maxAttempts && err != nil && ctx.Err() == nil && retryable(err); attempt++ {
		err = s.catchUpOnce(ctx, projectID)
	}
	return rollupError(err)
}

// catchUpOnce is one round trip: the statements of a pipelined batch run
// in one implicit transaction, committed by its Sync.
func (s *Store) catchUpOnce(ctx context.Context, projectID int64) error {
	b := &pgx.Batch{}
	queueCatchUp(b, projectID)
	return s.pool.SendBatch(ctx, b).Close()
}

// queueCatchUp queues the rollup lock and the rollup of the project's
// pending batches.
func queueCatchUp(b *pgx.Batch, projectID int64) {
	b.Queue(lockRollupSQL, projectID)
	b.Queue(rollupSQL, projectID)
}

// rollupError reports a rollup that failed for a reason worth retrying as
// UNAVAILABLE; the batches stay pending, nothing is lost.
func rollupError(err error) error {
	if err != nil && retryable(err) {
		// The driver's text (addresses, users) is for the log, not the client.
		return errors.Join(apierr.Unavailable("ROLLUP_FAILED", "the results could not be brought up to date, retry"), err)
	}
	return err
}

// PendingProjects lists the projects with batches not folded in yet: left
// by this process, another replica, or one that stopped before its worker
// got to them.
func (s *Store) PendingProjects(ctx context.Context) ([]int64, error) {
	rows, _ := s.pool.Query(ctx, pendingProjectsSQL)
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}
