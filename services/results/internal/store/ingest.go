package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/services/results/internal/ingest"
)

// lockProjectSQL serialises the ingest transactions of one project. Without
// it, an exposure and a conversion of the same visitor committed by two
// concurrent transactions would each miss the other (neither snapshot sees
// the other's row) and the conversion would never be attributed. Batches of
// one experiment would queue on its rollup rows anyway.
const lockProjectSQL = `SELECT pg_advisory_xact_lock(hashtextextended('lift_results.ingest:' || $1::bigint, 0))`

// ingestSQL stores a batch and updates every rollup in one statement. Its
// data-modifying CTEs share one snapshot: `events` and `exposures` read in
// it are the rows committed before this batch, and the CTEs' RETURNING
// rows are this batch's new ones, so every (exposure, conversion) pair is
// counted exactly once:
//   - new exposures × stored conversions,
//   - new exposures × new conversions,
//   - stored exposures × new conversions.
//
// The lookups of stored rows are LATERAL subqueries fenced with OFFSET 0, so
// the planner cannot flatten them into a join that hashes a project's whole
// history (it does, with stale statistics): they stay index probes per new
// row, a cost that does not grow with the tables.
//
// Only conversions at or after the exposure count. Each visitor's totals per
// experiment and event key live in visitor_metrics; the rollups get the
// change, including (new total)² − (old total)² for the sums of squares, on
// the UTC day of the visitor's earliest conversion in the batch.
//
// $1 project, $2..$7 events (uuid, visitor, key, time, revenue, value),
// $8..$10 exposures (event uuid, experiment, variation).
const ingestSQL = `
WITH input AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::bigint[], $7::float8[])
        AS t(uuid, visitor_id, key, occurred_at, revenue, value)
),
inserted AS (
    INSERT INTO events (project_id, uuid, visitor_id, key, occurred_at, revenue, value)
    SELECT $1, uuid, visitor_id, key, occurred_at, revenue, value FROM input
    ON CONFLICT (project_id, uuid) DO NOTHING
    RETURNING uuid, visitor_id, key, occurred_at, revenue, value
),
decisions AS (
    SELECT * FROM unnest($8::text[], $9::bigint[], $10::bigint[]) AS d(uuid, experiment_id, variation_id)
),
exposed AS (
    INSERT INTO exposures (project_id, visitor_id, experiment_id, variation_id, exposed_at)
    SELECT DISTINCT ON (i.visitor_id, d.experiment_id) $1, i.visitor_id, d.experiment_id, d.variation_id, i.occurred_at
    FROM inserted i JOIN decisions d USING (uuid)
    ORDER BY i.visitor_id, d.experiment_id, i.occurred_at
    ON CONFLICT (project_id, visitor_id, experiment_id) DO NOTHING
    RETURNING experiment_id, visitor_id, variation_id, exposed_at
),
new_conversions AS (
    SELECT visitor_id, key, occurred_at, revenue, value FROM inserted WHERE key <> 'campaign_activated'
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
    SELECT e.experiment_id, e.variation_id, e.visitor_id, n.key, n.occurred_at, n.revenue, n.value
    FROM exposed e
    JOIN new_conversions n ON n.visitor_id = e.visitor_id AND n.occurred_at >= e.exposed_at
    UNION ALL
    SELECT e.experiment_id, e.variation_id, n.visitor_id, n.key, n.occurred_at, n.revenue, n.value
    FROM new_conversions n
    CROSS JOIN LATERAL (
        SELECT x.experiment_id, x.variation_id FROM exposures x
        WHERE x.project_id = $1 AND x.visitor_id = n.visitor_id AND x.exposed_at <= n.occurred_at
        OFFSET 0
    ) e
),
per_visitor AS (
    SELECT experiment_id, visitor_id, key, min(variation_id) AS variation_id, count(*) AS n,
           coalesce(sum(revenue), 0)::numeric AS revenue, coalesce(sum(value), 0) AS value,
           (min(occurred_at) AT TIME ZONE 'UTC')::date AS day
    FROM attributed
    GROUP BY experiment_id, visitor_id, key
),
totals AS (
    INSERT INTO visitor_metrics AS vm (experiment_id, visitor_id, event_key, variation_id, conversions, revenue, value)
    SELECT experiment_id, visitor_id, key, variation_id, n, revenue, value FROM per_visitor
    ON CONFLICT (experiment_id, visitor_id, event_key) DO UPDATE
        SET conversions = vm.conversions + excluded.conversions,
            revenue = vm.revenue + excluded.revenue,
            value = vm.value + excluded.value
    RETURNING experiment_id, visitor_id, event_key, conversions, revenue, value
),
metric_rollup AS (
    INSERT INTO metric_days AS m (experiment_id, event_key, variation_id, day, converters, conversions,
                                  revenue_sum, revenue_sum_sq, value_sum, value_sum_sq)
    SELECT p.experiment_id, p.key, p.variation_id, p.day,
           count(*) FILTER (WHERE t.conversions = p.n),
           sum(p.n),
           sum(p.revenue),
           sum(t.revenue * t.revenue - (t.revenue - p.revenue) * (t.revenue - p.revenue)),
           sum(p.value),
           sum(t.value * t.value - (t.value - p.value) * (t.value - p.value))
    FROM per_visitor p
    JOIN totals t ON t.experiment_id = p.experiment_id AND t.visitor_id = p.visitor_id AND t.event_key = p.key
    GROUP BY p.experiment_id, p.key, p.variation_id, p.day
    ON CONFLICT (experiment_id, event_key, variation_id, day) DO UPDATE
        SET converters = m.converters + excluded.converters,
            conversions = m.conversions + excluded.conversions,
            revenue_sum = m.revenue_sum + excluded.revenue_sum,
            revenue_sum_sq = m.revenue_sum_sq + excluded.revenue_sum_sq,
            value_sum = m.value_sum + excluded.value_sum,
            value_sum_sq = m.value_sum_sq + excluded.value_sum_sq
),
exposure_rollup AS (
    INSERT INTO variation_days AS v (experiment_id, variation_id, day, visitors)
    SELECT experiment_id, variation_id, (exposed_at AT TIME ZONE 'UTC')::date, count(*)
    FROM exposed
    GROUP BY 1, 2, 3
    ON CONFLICT (experiment_id, variation_id, day) DO UPDATE SET visitors = v.visitors + excluded.visitors
)
SELECT (SELECT count(*) FROM inserted)`

// maxAttempts bounds the retries of a batch whose transaction failed for a
// reason worth retrying: a lost connection, a deadlock, a serialisation
// failure. Retrying is safe even when the failure hid a successful commit:
// the batch's uuids are already stored then, and the retry inserts nothing.
const maxAttempts = 3

// IngestResult counts what a batch did.
type IngestResult struct {
	// Inserted events are new; the others were duplicates.
	Inserted int
}

// Ingest stores a batch and updates the rollups in one transaction. It
// returns only after the commit: a nil error means the events are durable.
func (s *Store) Ingest(ctx context.Context, b *ingest.Batch) (IngestResult, error) {
	args := ingestArgs(b)
	var res IngestResult
	var err error
	for attempt := 1; attempt <= maxAttempts; attempt++ {
		res, err = s.ingestOnce(ctx, b.ProjectID, args)
		if err == nil || !retryable(err) || ctx.Err() != nil {
			break
		}
	}
	if err != nil && retryable(err) {
		return IngestResult{}, apierr.Unavailable("EVENTS_NOT_STORED", "the events could not be stored, retry the batch: %v", err)
	}
	return res, err
}

func (s *Store) ingestOnce(ctx context.Context, project int64, args []any) (IngestResult, error) {
	var res IngestResult
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		batch := &pgx.Batch{}
		batch.Queue(lockProjectSQL, project)
		batch.Queue(ingestSQL, args...).QueryRow(func(row pgx.Row) error {
			var n int64
			err := row.Scan(&n)
			res.Inserted = int(n)
			return err
		})
		return tx.SendBatch(ctx, batch).Close()
	})
	return res, err
}

func ingestArgs(b *ingest.Batch) []any {
	n := len(b.Events)
	uuids, visitors, keys := make([]string, n), make([]string, n), make([]string, n)
	times, revenues, values := make([]time.Time, n), make([]*int64, n), make([]*float64, n)
	for i, e := range b.Events {
		uuids[i], visitors[i], keys[i], times[i], revenues[i], values[i] = e.UUID, e.VisitorID, e.Key, e.At, e.Revenue, e.Value
	}
	m := len(b.Exposures)
	expUUIDs, experiments, variations := make([]string, m), make([]int64, m), make([]int64, m)
	for i, x := range b.Exposures {
		expUUIDs[i], experiments[i], variations[i] = x.EventUUID, x.ExperimentID, x.VariationID
	}
	return []any{b.ProjectID, uuids, visitors, keys, times, revenues, values, expUUIDs, experiments, variations}
}

// retryable reports whether a failed ingest transaction may be retried:
// deadlocks, serialisation failures, a server shutting the connection
// (pg_terminate_backend, a restart), and any failure without a SQLSTATE,
// i.e. a connection that broke. Errors the server raised about the data
// itself (classes 22, 23, 42, …) would fail again and are returned.
func retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "40001", "40P01", // serialization_failure, deadlock_detected
			"57P01", "57P02", "57P03": // admin_shutdown, crash_shutdown, cannot_connect_now
			return true
		}
		return pgErr.Code[:2] == "08" // connection exceptions
	}
	return true
}
