// Package rollup runs the background worker that folds committed event
// batches into the rollups, so that ingestion acknowledges a batch as soon
// as its events are durable and reads find little or nothing left to fold.
package rollup

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Store is what the worker needs from the database.
type Store interface {
	PendingProjects(ctx context.Context) ([]int64, error)
	CatchUp(ctx context.Context, projectID int64) error
}

// sweepInterval is how often the worker looks for batches nobody told it
// about: left by another replica or by a process that stopped first.
const sweepInterval = time.Second

var rollupSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
	Name:    "lift_results_rollup_seconds",
	Help:    "Time the rollup worker took to fold one project's pending batches into the rollups.",
	Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
})

func init() { prometheus.MustRegister(rollupSeconds) }

// Worker folds pending batches in after each ingest and on a timer.
type Worker struct {
	store Store
	log   *slog.Logger
	wake  chan struct{}
}

// New returns a worker; Run starts it.
func New(s Store, log *slog.Logger) *Worker {
	return &Worker{store: s, log: log, wake: make(chan struct{}, 1)}
}

// Notify tells the worker a batch was committed. It never blocks: one
// wake-up pending is enough, since each round folds in everything there is.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run folds in pending batches until ctx ends, starting with those left
// from before it started.
func (w *Worker) Run(ctx context.Context) {
	sweep := time.NewTicker(sweepInterval)
	defer sweep.Stop()
	for {
		w.round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-sweep.C:
		}
	}
}

// round catches up every project with pending batches. A failure is only
// logged: the batches stay pending, and the next round or a read retries.
func (w *Worker) round(ctx context.Context) {
	projects, err := w.store.PendingProjects(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("rollup: listing pending batches failed", "error", err.Error())
		}
		return
	}
	for _, p := range projects {
		start := time.Now()
		if err := w.store.CatchUp(ctx, p); err != nil {
			if ctx.Err() == nil {
				w.log.Warn("rollup failed", "project_id", p, "error", err.Error())
			}
			continue
		}
		rollupSeconds.Observe(time.Since(start).Seconds())
	}
}
