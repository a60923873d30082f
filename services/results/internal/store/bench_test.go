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

// batchSource returns a function that builds the next batch of size events
// as SDK traffic looks: half impressions of new visitors, half conversions
// (with revenue) of visitors exposed one batch earlier.
func batchSource(size int) func() *ingest.Batch {
	seq := 0
	return func() *ingest.Batch {
		batch := &ingest.Batch{ProjectID: project}
		for i := 0; i < size/2; i++ {
			seq++
			visitor := fmt.Sprintf("v%09d", seq)
			id := fmt.Sprintf("i-%09d", seq)
			batch.Events = append(batch.Events, ingest.Event{UUID: id, VisitorID: visitor, Key: ingest.ImpressionKey, At: t0})
			batch.Exposures = append(batch.Exposures, ingest.Exposure{EventUUID: id, ExperimentID: experiment, VariationID: varA + int64(seq%2)})
			prev := fmt.Sprintf("v%09d", seq-size/2)
			rev := int64(100 + seq%50)
			batch.Events = append(batch.Events, ingest.Event{UUID: fmt.Sprintf("c-%09d", seq), VisitorID: prev, Key: "purchase", At: t0.Add(time.Minute), Revenue: &rev})
		}
		return batch
	}
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

// BenchmarkIngest compares the ingest transaction (dedupe, the events and
// their pending rollup; committed, so durable: what an acknowledgement
// waits for) with a raw COPY of the same rows committed per batch,
// interleaved in one loop on one database so both see the same machine.
// Each batch's rollup (exposures, attribution, rollups) is folded in right
// after it, timed apart. It reports the rates and the ratios with and
// without the rollup.
func BenchmarkIngest(b *testing.B) {
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			pool := pgtest.New(b, migrations.FS)
			s := store.New(pool)
			ctx := context.Background()
			if _, err := pool.Exec(ctx, copyTableSQL); err != nil {
				b.Fatal(err)
			}
			next := batchSource(size)
			var ingestTime, rollupTime, copyTime time.Duration
			events := 0
			for b.Loop() {
				batch := next()
				start := time.Now()
				if _, err := s.Ingest(ctx, batch); err != nil {
					b.Fatal(err)
				}
				ingestTime += time.Since(start)
				start = time.Now()
				if err := s.CatchUp(ctx, project); err != nil {
					b.Fatal(err)
				}
				rollupTime += time.Since(start)
				start = time.Now()
				if err := copyBatch(ctx, pool, batch); err != nil {
					b.Fatal(err)
				}
				copyTime += time.Since(start)
				events += size
			}
			rate := func(d time.Duration) float64 { return float64(events) / d.Seconds() }
			b.ReportMetric(rate(ingestTime), "ingest-events/s")
			b.ReportMetric(rate(copyTime), "copy-events/s")
			// The acknowledged part (Ingest), and Ingest with the rollup
			// folded in right after each batch, one after the other.
			b.ReportMetric(100*rate(ingestTime)/rate(copyTime), "%-of-copy")
			b.ReportMetric(100*rate(ingestTime+rollupTime)/rate(copyTime), "%-of-copy-with-rollup")
		})
	}
}
