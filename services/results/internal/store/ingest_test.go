package store_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/liftlabs/lift/pkg/pgtest"
	"github.com/liftlabs/lift/services/results/internal/ingest"
	"github.com/liftlabs/lift/services/results/internal/store"
	"github.com/liftlabs/lift/services/results/migrations"
)

var t0 = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

const (
	project    = 1
	experiment = 100
	varA       = 1001
	varB       = 1002
)

// batchBuilder writes test batches tersely.
type batchBuilder struct {
	b   ingest.Batch
	seq *int
}

func newBatch(seq *int) *batchBuilder {
	return &batchBuilder{b: ingest.Batch{ProjectID: project}, seq: seq}
}

func (bb *batchBuilder) uuid() string {
	*bb.seq++
	return "u-" + time.Duration(*bb.seq).String()
}

func (bb *batchBuilder) impression(visitor string, variation int64, at time.Time) *batchBuilder {
	id := bb.uuid()
	bb.b.Events = append(bb.b.Events, ingest.Event{UUID: id, VisitorID: visitor, Key: ingest.ImpressionKey, At: at})
	bb.b.Exposures = append(bb.b.Exposures, ingest.Exposure{EventUUID: id, ExperimentID: experiment, VariationID: variation})
	return bb
}

func (bb *batchBuilder) conversion(visitor, key string, at time.Time, revenue *int64, value *float64) *batchBuilder {
	bb.b.Events = append(bb.b.Events, ingest.Event{UUID: bb.uuid(), VisitorID: visitor, Key: key, At: at, Revenue: revenue, Value: value})
	return bb
}

func i64(v int64) *int64     { return &v }
func f64(v float64) *float64 { return &v }
func minute(d int) time.Time { return t0.Add(time.Duration(d) * time.Minute) }

type totals struct {
	visitors, converters, conversions  int64
	revenue, revenueSq, value, valueSq float64
}

// sumRollups folds in the pending batches, as a read of the results does,
// and sums the experiment's rollups over all days.
func sumRollups(t *testing.T, s *store.Store, key string) map[int64]totals {
	t.Helper()
	r, err := s.Rollups(context.Background(), project, experiment, []string{key}, store.Window{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64]totals{}
	for _, d := range r.Variations {
		x := out[d.VariationID]
		x.visitors += d.Visitors
		out[d.VariationID] = x
	}
	for _, d := range r.Metrics {
		x := out[d.VariationID]
		x.converters += d.Converters
		x.conversions += d.Conversions
		x.revenue += d.RevenueSum
		x.revenueSq += d.RevenueSumSq
		x.value += d.ValueSum
		x.valueSq += d.ValueSumSq
		out[d.VariationID] = x
	}
	return out
}

func mustIngest(t *testing.T, s *store.Store, b *batchBuilder, wantInserted int) {
	t.Helper()
	res, err := s.Ingest(context.Background(), &b.b)
	if err != nil {
		t.Fatal(err)
	}
	if res.Inserted != wantInserted {
		t.Fatalf("inserted %d events, want %d", res.Inserted, wantInserted)
	}
}

func TestIngest_AttributesConversionsAfterFirstExposureOnce(t *testing.T) {
	s := store.New(pgtest.New(t, migrations.FS))
	seq := 0
	first := newBatch(&seq).
		impression("u1", varA, minute(0)).
		conversion("u1", "purchase", minute(1), i64(500), nil).
		conversion("u1", "purchase", minute(2), i64(300), nil).
		conversion("u2", "purchase", minute(-1), i64(9999), nil). // before exposure: never counts
		impression("u2", varB, minute(0)).
		conversion("u2", "purchase", minute(5), i64(1000), nil).
		impression("u3", varA, minute(0))
	mustIngest(t, s, first, 7)
	mustIngest(t, s, first, 0) // the same batch again: all duplicates

	// u4 converts before its impression arrives (out of order, another
	// batch): the conversion made after the exposure is claimed when the
	// exposure comes, the one made before never is.
	mustIngest(t, s, newBatch(&seq).
		conversion("u4", "purchase", minute(10), nil, f64(2.5)).
		conversion("u4", "purchase", minute(0), nil, f64(100)), 2)
	mustIngest(t, s, newBatch(&seq).
		impression("u4", varB, minute(1)).
		impression("u1", varB, minute(3)), 2) // u1's first exposure (A) stands

	// u1 buys again later: the per-visitor total becomes 1000, so the sum
	// of squares must be 1000², not 800² + 200².
	mustIngest(t, s, newBatch(&seq).conversion("u1", "purchase", minute(30), i64(200), nil), 1)

	got := sumRollups(t, s, "purchase")
	want := map[int64]totals{
		varA: {visitors: 2, converters: 1, conversions: 3, revenue: 1000, revenueSq: 1e6},
		varB: {visitors: 2, converters: 2, conversions: 2, revenue: 1000, revenueSq: 1e6, value: 2.5, valueSq: 6.25},
	}
	for v, w := range want {
		if got[v] != w {
			t.Errorf("variation %d: got %+v, want %+v", v, got[v], w)
		}
	}
}

// A batch holding one event twice (and one already stored) stores each
// once and counts the exposure once.
func TestIngest_RepeatedEventInOneBatchStoredOnce(t *testing.T) {
	s := store.New(pgtest.New(t, migrations.FS))
	seq := 0
	stored := newBatch(&seq).conversion("u1", "purchase", minute(5), i64(100), nil)
	mustIngest(t, s, stored, 1)
	b := newBatch(&seq).impression("u1", varA, minute(0))
	b.b.Events = append(b.b.Events, b.b.Events[0], stored.b.Events[0])
	b.b.Exposures = append(b.b.Exposures, b.b.Exposures[0])
	mustIngest(t, s, b, 1)
	got := sumRollups(t, s, "purchase")
	if want := (totals{visitors: 1, converters: 1, conversions: 1, revenue: 100, revenueSq: 1e4}); got[varA] != want {
		t.Errorf("got %+v, want %+v", got[varA], want)
	}
}

// A visitor's revenue total past the range of bigint (many large
// purchases) is summed exactly and never fails the rollup, which would hold
// up every later batch and read of the project.
func TestIngest_RevenueTotalsBeyondBigintStayExact(t *testing.T) {
	s := store.New(pgtest.New(t, migrations.FS))
	seq := 0
	mustIngest(t, s, newBatch(&seq).impression("u1", varA, minute(0)).impression("u2", varB, minute(0)), 2)
	mustIngest(t, s, newBatch(&seq).conversion("u1", "purchase", minute(1), i64(math.MaxInt64-10), nil), 1)
	mustIngest(t, s, newBatch(&seq).conversion("u1", "purchase", minute(2), i64(math.MaxInt64-10), nil), 1)
	mustIngest(t, s, newBatch(&seq).conversion("u2", "purchase", minute(3), i64(700), nil), 1)

	got := sumRollups(t, s, "purchase")
	total := 2 * float64(math.MaxInt64-10) // read back as float8, as the results are
	if a := got[varA]; a.visitors != 1 || a.converters != 1 || a.conversions != 2 || a.revenue != total || a.revenueSq != total*total {
		t.Errorf("variation A: got %+v, want one converter with 2 purchases totalling %g", a, total)
	}
	if want := (totals{visitors: 1, converters: 1, conversions: 1, revenue: 700, revenueSq: 490000}); got[varB] != want {
		t.Errorf("variation B: got %+v, want %+v", got[varB], want)
	}
}
