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

// lockProjectSQL serialises the ingest transactions of one project. It is
// what makes the rest simple and correct: the uuids found missing stay
// missing until this transaction ends (so a plain INSERT cannot collide), and
// an exposure and a conversion of one visitor sent by two clients at once
// cannot each miss the other. Batches of one experiment would queue on its
// rollup rows anyway.
const lockProjectSQL = `SELECT pg_advisory_xact_lock(hashtextextended('lift_results.ingest:' || $1::bigint, 0))`

// storedUUIDsSQL finds which of a batch's events are already stored: a
// client resending a batch it got no answer for. One primary-key probe per
// uuid; OFFSET 0 keeps the planner from turning it into a scan of the
// project's events when its statistics are stale.
const storedUUIDsSQL = `
SELECT u.uuid FROM unnest($2::text[]) AS u(uuid)
WHERE EXISTS (SELECT 1 FROM events e WHERE e.project_id = $1 AND e.uuid = u.uuid OFFSET 0)`

// insertEventsSQL stores a batch's new events. A multi-row INSERT rather
// than COPY: it can share one pipelined round trip with the lock and the
// rollups (COPY needs a transaction opened, and closed, by round trips of
// its own), which measured faster for batches of 100 and no slower for
// batches of 1000 (services/results README, Ingestion).
const insertEventsSQL = `
INSERT INTO events (project_id, uuid, visitor_id, key, occurred_at, revenue, value)
SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::bigint[], $7::float8[])`

// rollupSQL records the exposures of a batch's new events and updates
// every rollup in one statement, after the events were inserted by the
// previous statement of the same transaction.
//
// A visitor's exposure to an experiment is the first impression stored for
// it: its variation and time never change afterwards (SDKs send a user's
// impressions in order, so it is also the earliest). Only conversions at or
// after the exposure count. Every (exposure, conversion) pair is counted
// exactly once, in one of two parts:
//   - this batch's new exposures × every stored conversion of the visitor,
//     this batch's included (the previous statement's insert is visible);
//   - exposures stored before × this batch's conversions (the statement's
//     snapshot does not see the rows its own CTE inserts into exposures).
//
// The lookups of stored rows are subqueries fenced with OFFSET 0, so the
// planner cannot flatten them into a join that hashes a project's whole
// history (it does, with stale statistics): they stay index probes per new
// row, a cost that does not grow with the tables. Because the project lock
// excludes concurrent writers, rows found missing are added with plain
// INSERTs, cheaper than ON CONFLICT's speculative insertion; the primary
// keys still stand guard.
//
// Each visitor's totals per experiment and event key live in
// visitor_metrics. The rollups get the change: a new converter when the
// visitor had no conversion, and (old + delta)² − old² for the sums of
// squares of per-visitor totals, on the UTC day of the visitor's earliest
// conversion in the batch.
//
// $1 project, $2..$6 the new conversions (visitor, key, time, revenue,
// value), $7..$11 the new exposures (visitor, time, experiment, variation).
const rollupSQL = `
WITH new_conversions AS (
    SELECT * FROM unnest($2::text[], $3::text[], $4::timestamptz[], $5::bigint[], $6::float8[])
        AS t(visitor_id, key, occurred_at, revenue, value)
),
first_seen AS (
    SELECT DISTINCT ON (visitor_id, experiment_id) visitor_id, experiment_id, variation_id, exposed_at
    FROM unnest($7::text[], $8::timestamptz[], $9::bigint[], $10::bigint[]) AS d(visitor_id, exposed_at, experiment_id, variation_id)
    ORDER BY visitor_id, experiment_id, exposed_at
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
           coalesce(sum(revenue), 0)::bigint AS revenue, coalesce(sum(value), 0) AS value,
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
                                  revenue_sum, revenue_sum_sq, value_sum, value_sum_sq)
    SELECT experiment_id, key, variation_id, day,
           count(*) FILTER (WHERE old_n = 0),
           sum(n),
           sum(revenue),
           sum((old_revenue + revenue)::numeric * (old_revenue + revenue) - old_revenue::numeric * old_revenue),
           sum(value),
           sum((old_value + value) * (old_value + value) - old_value * old_value)
    FROM old
    GROUP BY experiment_id, key, variation_id, day
    ON CONFLICT (experiment_id, event_key, variation_id, day) DO UPDATE
        SET converters = m.converters + excluded.converters,
            conversions = m.conversions + excluded.conversions,
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

// maxAttempts bounds the retries of a batch whose transaction failed for a
// reason worth retrying: a lost connection, a deadlock, a serialisation
// failure. Retrying is safe even when the failure hid a successful commit:
// the batch's uuids are already stored then, and the retry stores nothing.
const maxAttempts = 3

// IngestResult counts what a batch did.
type IngestResult struct {
	// Inserted events are new; the others were duplicates.
	Inserted int
}

// Ingest stores a batch and updates the rollups in one transaction. It
// returns only after the commit: a nil error means the events are durable.
func (s *Store) Ingest(ctx context.Context, b *ingest.Batch) (IngestResult, error) {
	// The first attempt assumes every event is new and inserts them
	// without looking; a duplicate (a resent batch) fails the insert on the
	// primary key, and the next attempt looks first. So does any retry, since a
	// failed attempt may have committed.
	res, err := s.ingestOnce(ctx, b, false)
	for attempt := 2; attempt <= maxAttempts && err != nil && ctx.Err() == nil; attempt++ {
		if !retryable(err) && !isDuplicate(err) {
			break
		}
		res, err = s.ingestOnce(ctx, b, true)
	}
	if err != nil && retryable(err) {
		return IngestResult{}, apierr.Unavailable("EVENTS_NOT_STORED", "the events could not be stored, retry the batch: %v", err)
	}
	return res, err
}

// ingestOnce runs one transaction; with look it first finds the events
// already stored and skips them.
func (s *Store) ingestOnce(ctx context.Context, b *ingest.Batch, look bool) (IngestResult, error) {
	if !look {
		fresh := newOnly(b, nil)
		if len(fresh.Events) == 0 {
			return IngestResult{}, nil
		}
		// One round trip: outside BEGIN, the statements of a pipelined
		// batch run in one implicit transaction that the closing Sync
		// commits (or rolls back at the first error, skipping the rest),
		// and Close returns only after that commit.
		batch := &pgx.Batch{}
		batch.Queue(lockProjectSQL, b.ProjectID)
		queueWrites(batch, fresh)
		if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
			return IngestResult{}, err
		}
		return IngestResult{Inserted: len(fresh.Events)}, nil
	}
	var res IngestResult
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		stored := map[string]bool{}
		uuids := make([]string, len(b.Events))
		for i, e := range b.Events {
			uuids[i] = e.UUID
		}
		batch := &pgx.Batch{}
		batch.Queue(lockProjectSQL, b.ProjectID)
		batch.Queue(storedUUIDsSQL, b.ProjectID, uuids).Query(func(rows pgx.Rows) error {
			var u string
			_, err := pgx.ForEachRow(rows, []any{&u}, func() error { stored[u] = true; return nil })
			return err
		})
		if err := tx.SendBatch(ctx, batch).Close(); err != nil {
			return err
		}
		fresh := newOnly(b, stored)
		res.Inserted = len(fresh.Events)
		if len(fresh.Events) == 0 {
			return nil
		}
		batch = &pgx.Batch{}
		queueWrites(batch, fresh)
		return tx.SendBatch(ctx, batch).Close()
	})
	return res, err
}

// queueWrites queues the insert of b's events and the rollup statement,
// which sees them (a later statement of the same transaction).
func queueWrites(batch *pgx.Batch, b *ingest.Batch) {
	n := len(b.Events)
	uuids, visitors, keys := make([]string, n), make([]string, n), make([]string, n)
	times, revenues, values := make([]time.Time, n), make([]*int64, n), make([]*float64, n)
	for i, e := range b.Events {
		uuids[i], visitors[i], keys[i], times[i], revenues[i], values[i] = e.UUID, e.VisitorID, e.Key, e.At, e.Revenue, e.Value
	}
	batch.Queue(insertEventsSQL, b.ProjectID, uuids, visitors, keys, times, revenues, values)
	batch.Queue(rollupSQL, rollupArgs(b)...)
}

// newOnly is the part of b not stored yet, each uuid once.
func newOnly(b *ingest.Batch, stored map[string]bool) *ingest.Batch {
	out := &ingest.Batch{ProjectID: b.ProjectID}
	taken := make(map[string]bool, len(b.Events))
	for _, e := range b.Events {
		if !stored[e.UUID] && !taken[e.UUID] {
			taken[e.UUID] = true
			out.Events = append(out.Events, e)
		}
	}
	for _, x := range b.Exposures {
		if !stored[x.EventUUID] {
			out.Exposures = append(out.Exposures, x)
		}
	}
	return out
}

func rollupArgs(b *ingest.Batch) []any {
	var visitors, keys []string
	var times []time.Time
	var revenues []*int64
	var values []*float64
	impressions := make(map[string]ingest.Event, len(b.Exposures))
	for _, e := range b.Events {
		if e.Key == ingest.ImpressionKey {
			impressions[e.UUID] = e
			continue
		}
		visitors, keys, times = append(visitors, e.VisitorID), append(keys, e.Key), append(times, e.At)
		revenues, values = append(revenues, e.Revenue), append(values, e.Value)
	}
	var expVisitors []string
	var expTimes []time.Time
	var experiments, variations []int64
	for _, x := range b.Exposures {
		imp, ok := impressions[x.EventUUID]
		if !ok {
			continue // a decision without its impression records no exposure
		}
		expVisitors, expTimes = append(expVisitors, imp.VisitorID), append(expTimes, imp.At)
		experiments, variations = append(experiments, x.ExperimentID), append(variations, x.VariationID)
	}
	return []any{b.ProjectID, visitors, keys, times, revenues, values, expVisitors, expTimes, experiments, variations}
}

// isDuplicate reports a primary-key violation: an event of the batch is
// already stored.
func isDuplicate(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23505"
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
