// Package rollup runs the background worker that folds committed event
// batches into the rollups, so that ingestion acknowledges a batch as soon
// as its events are durable and reads find little or nothing left to fold.
package rollup

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Store is what the worker needs from the database.
type Store interface {
	PendingProjects(ctx context.Context) ([]int64, error)
	CatchUp(ctx context.Context, projectID int64) error
}

// SweepInterval is how often the service's worker looks for batches
// nobody told it about: left by another replica or by a process that
// stopped first.
const SweepInterval = time.Second

var rollupSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
	Name:    "lift_results_rollup_seconds",
	Help:    "Time the rollup worker took to fold one project's pending batches into the rollups.",
	Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
})

func init() { prometheus.MustRegister(rollupSeconds) }

// Worker folds pending batches in after each ingest and on a timer.
type Worker struct {
	store      Store
	log        *slog.Logger
	sweepEvery time.Duration
	wake       chan struct{}

	mu  sync.Mutex
	due map[int64]bool // projects told about since the last round
}

// New returns a worker that also sweeps every sweepEvery; Run starts it.
func New(s Store, log *slog.Logger, sweepEvery time.Duration) *Worker {
	return &Worker{store: s, log: log, sweepEvery: sweepEvery, wake: make(chan struct{}, 1), due: map[int64]bool{}}
}

// Notify tells the worker a batch of the project was committed. It never
// blocks: one wake-up pending is enough, since each round folds in every
// project it was told about.
func (w *Worker) Notify(projectID int64) {
	w.mu.Lock()
	w.due[projectID] = true
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Run folds in pending batches until ctx ends, starting with those left
// from before it started.
func (w *Worker) Run(ctx context.Context) {
	w.sweep(ctx)
	sweep := time.NewTicker(w.sweepEvery)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
			w.mu.Lock()
			due := w.due
			w.due = map[int64]bool{}
			w.mu.Unlock()
			for p := range due {
				w.fold(ctx, p)
			}
		case <-sweep.C:
			w.sweep(ctx)
		}
	}
}

// sweep folds in every project with pending batches, told about or not.
func (w *Worker) sweep(ctx context.Context) {
	projects, err := w.store.PendingProjects(ctx)
	if err != nil {
		if ctx.Err() == nil {
			w.log.Warn("rollup: listing pending batches failed", "error", err.Error())
		}
		return
	}
	for _, p := range projects {
		w.fold(ctx, p)
	}
}

// fold catches up one project. A failure is only logged: the batches stay
// pending, and the next sweep or a read retries.
func (w *Worker) fold(ctx context.Context, projectID int64) {
	start := time.Now()
	if err := w.store.CatchUp(ctx, projectID); err != nil {
		if ctx.Err() == nil {
			w.log.Warn("rollup failed", "project_id", projectID, "error", err.Error())
		}
		return
	}
	rollupSeconds.Observe(time.Since(start).Seconds())
}
