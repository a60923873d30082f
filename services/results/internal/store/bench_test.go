package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/liftlabs/lift/pkg/pgtest"
	"github.com/liftlabs/lift/services/results/internal/ingest"
	"github.com/liftlabs/lift/services/results/internal/store"
	"github.com/liftlabs/lift/services/results/migrations"
)

// benchBatches builds n batches of size events: half impressions of new
// visitors, half conversions of visitors exposed in an earlier batch (the
// common shape of SDK traffic: a decision, then a conversion later).
func benchBatches(n, size int) []*ingest.Batch {
	out := make([]*ingest.Batch, n)
	seq := 0
	for b := range out {
		batch := &ingest.Batch{ProjectID: project}
		for i := 0; i < size/2; i++ {
			seq++
			visitor := fmt.Sprintf("v%09d", seq)
			id := fmt.Sprintf("i-%09d", seq)
			batch.Events = append(batch.Events, ingest.Event{UUID: id, VisitorID: visitor, Key: ingest.ImpressionKey, At: t0})
			batch.Exposures = append(batch.Exposures, ingest.Exposure{EventUUID: id, ExperimentID: experiment, VariationID: varA + int64(seq%2)})
			prev := fmt.Sprintf("v%09d", seq-size/2) // exposed one batch earlier
			rev := int64(100 + seq%50)
			batch.Events = append(batch.Events, ingest.Event{UUID: fmt.Sprintf("c-%09d", seq), VisitorID: prev, Key: "purchase", At: t0.Add(time.Minute), Revenue: &rev})
		}
		out[b] = batch
	}
	return out
}

const copyTableSQL = `CREATE TABLE raw_events (LIKE events INCLUDING ALL)`

// copyBatch is the baseline: the same rows COPYed into a table shaped like
// events (same primary key), one transaction per batch, no rollups.
func copyBatch(ctx context.Context, pool *pgxpool.Pool, b *ingest.Batch) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"raw_events"},
			[]string{"project_id", "uuid", "visitor_id", "key", "occurred_at", "revenue", "value"},
			pgx.CopyFromSlice(len(b.Events), func(i int) ([]any, error) {
				e := b.Events[i]
				return []any{b.ProjectID, e.UUID, e.VisitorID, e.Key, e.At, e.Revenue, e.Value}, nil
			}))
		return err
	})
}

// BenchmarkIngest compares the ingest transaction (dedupe, exposures,
// attribution, rollups; committed, so durable) with a raw COPY of the same
// rows, each committed per batch, in the same run. Compare the events/s
// metrics of the two sub-benchmarks of one size.
func BenchmarkIngest(b *testing.B) {
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d/ingest", size), func(b *testing.B) {
			pool := pgtest.New(b, migrations.FS)
			s := store.New(pool)
			batches := benchBatches(b.N, size)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := s.Ingest(context.Background(), batches[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "events/s")
		})
		b.Run(fmt.Sprintf("batch=%d/copy", size), func(b *testing.B) {
			pool := pgtest.New(b, migrations.FS)
			if _, err := pool.Exec(context.Background(), copyTableSQL); err != nil {
				b.Fatal(err)
			}
			batches := benchBatches(b.N, size)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := copyBatch(context.Background(), pool, batches[i]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "events/s")
		})
	}
}
