package rollup_test

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/liftlabs/lift/pkg/pgtest"
	"github.com/liftlabs/lift/services/results/internal/ingest"
	"github.com/liftlabs/lift/services/results/internal/rollup"
	"github.com/liftlabs/lift/services/results/internal/store"
	"github.com/liftlabs/lift/services/results/migrations"
)

const (
	project    = 7
	experiment = 70
	variation  = 701
)

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

// exposedAndConverted is a batch in which visitor exposes and then converts
// with revenue 250.
func exposedAndConverted(visitor string) *ingest.Batch {
	revenue := int64(250)
	return &ingest.Batch{ProjectID: project,
		Events: []ingest.Event{
			{UUID: "imp-" + visitor, VisitorID: visitor, Key: ingest.ImpressionKey, At: t0},
			{UUID: "buy-" + visitor, VisitorID: visitor, Key: "purchase", At: t0.Add(time.Minute), Revenue: &revenue},
		},
		Exposures: []ingest.Exposure{{EventUUID: "imp-" + visitor, ExperimentID: experiment, VariationID: variation}},
	}
}

func startWorker(t *testing.T, st *store.Store, sweepEvery time.Duration) *rollup.Worker {
	w := rollup.New(st, slog.New(slog.NewTextHandler(io.Discard, nil)), sweepEvery)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); w.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

// waitFolded waits until nothing is pending. It bounds the wait only so
// that a worker that never folds fails the test instead of hanging it.
func waitFolded(t *testing.T, pool *pgxpool.Pool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		var pending int
		if err := pool.QueryRow(context.Background(), `SELECT count(*) FROM pending_rollups`).Scan(&pending); err != nil {
			t.Fatal(err)
		}
		if pending == 0 {
			return
		}
	}
	t.Fatal("the worker left batches pending")
}

// wantFolded waits until nothing is pending and checks the rollups count
// visitors exposed visitors, each converting once with revenue 250.
func wantFolded(t *testing.T, pool *pgxpool.Pool, visitors int64) {
	t.Helper()
	waitFolded(t, pool)
	if v, c, r := rolledUp(t, pool); v != visitors || c != visitors || r != 250*visitors {
		t.Fatalf("rollups hold %d visitors, %d converters, revenue %d; want %d, %d, %d", v, c, r, visitors, visitors, 250*visitors)
	}
}

// rolledUp reads the rollup tables as they are (store.Rollups would fold
// in what is pending first).
func rolledUp(t *testing.T, pool *pgxpool.Pool) (visitors, converters, revenue int64) {
	t.Helper()
	err := pool.QueryRow(context.Background(), `
SELECT (SELECT coalesce(sum(visitors), 0) FROM variation_days WHERE experiment_id = $1),
       (SELECT coalesce(sum(converters), 0) FROM metric_days WHERE experiment_id = $1 AND event_key = 'purchase'),
       (SELECT coalesce(sum(revenue_sum), 0)::bigint FROM metric_days WHERE experiment_id = $1 AND event_key = 'purchase')`,
		experiment).Scan(&visitors, &converters, &revenue)
	if err != nil {
		t.Fatal(err)
	}
	return visitors, converters, revenue
}

func ingestBatch(t *testing.T, st *store.Store, b *ingest.Batch) {
	t.Helper()
	if _, err := st.Ingest(context.Background(), b); err != nil {
		t.Fatal(err)
	}
}

func TestWorker_FoldsInBatchesItIsToldAbout(t *testing.T) {
	pool := pgtest.New(t, migrations.FS)
	st := store.New(pool)
	w := startWorker(t, st, time.Hour) // no sweep: only Notify can fold
	for _, v := range []string{"u1", "u2", "u3"} {
		ingestBatch(t, st, exposedAndConverted(v))
		w.Notify(project)
	}
	wantFolded(t, pool, 3)
}

// Batches committed while no worker ran (another replica stopped first, or
// this process) are folded in when a worker starts.
func TestWorker_FoldsInBatchesLeftFromBefore(t *testing.T) {
	pool := pgtest.New(t, migrations.FS)
	st := store.New(pool)
	ingestBatch(t, st, exposedAndConverted("u1"))
	ingestBatch(t, st, exposedAndConverted("u2"))
	if v, _, _ := rolledUp(t, pool); v != 0 {
		t.Fatalf("rollups hold %d visitors before any catch-up, want 0", v)
	}
	startWorker(t, st, time.Hour) // the sweep when it starts
	wantFolded(t, pool, 2)
}

// A batch nobody told this worker about (committed by another replica) is
// folded in by the periodic sweep.
func TestWorker_SweepFoldsInBatchesOfOtherReplicas(t *testing.T) {
	pool := pgtest.New(t, migrations.FS)
	st := store.New(pool)
	startWorker(t, st, 50*time.Millisecond)
	ingestBatch(t, st, exposedAndConverted("u1")) // no Notify
	wantFolded(t, pool, 1)
}
