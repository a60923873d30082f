package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/liftlabs/lift/pkg/pgtest"
	"github.com/liftlabs/lift/services/results/internal/ingest"
	"github.com/liftlabs/lift/services/results/internal/store"
	"github.com/liftlabs/lift/services/results/migrations"
)

// recomputeSQL computes, from the raw events alone and in one pass, what
// the incremental rollups must add up to per variation and event key:
// first exposures, conversions at or after them, per-visitor totals and
// their squares. It is written independently of the ingest statement (a
// plain join over the whole history) to check it.
const recomputeSQL = `
WITH first_exposure AS (
    SELECT DISTINCT ON (e.visitor_id) e.visitor_id, e.occurred_at, x.variation_id
    FROM events e JOIN exposures x ON x.project_id = e.project_id AND x.visitor_id = e.visitor_id
    WHERE e.key = 'campaign_activated' AND x.experiment_id = $1
    ORDER BY e.visitor_id, e.occurred_at
),
per_visitor AS (
    SELECT f.variation_id, c.key, c.visitor_id, count(*) AS n,
           coalesce(sum(c.revenue), 0)::float8 AS revenue, coalesce(sum(c.value), 0) AS value
    FROM events c JOIN first_exposure f ON f.visitor_id = c.visitor_id AND c.occurred_at >= f.occurred_at
    WHERE c.key <> 'campaign_activated'
    GROUP BY 1, 2, 3
)
SELECT variation_id, key, count(*), sum(n), sum(revenue), sum(revenue * revenue), sum(value), sum(value * value)
FROM per_visitor GROUP BY 1, 2`

// recompute returns the from-scratch totals per variation for key; the
// visitors are counted from the exposures table.
func recompute(t *testing.T, pool *pgxpool.Pool, key string) map[int64]totals {
	t.Helper()
	out := map[int64]totals{}
	rows, err := pool.Query(context.Background(), recomputeSQL, experiment)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v int64
		var k string
		var x totals
		if err := rows.Scan(&v, &k, &x.converters, &x.conversions, &x.revenue, &x.revenueSq, &x.value, &x.valueSq); err != nil {
			t.Fatal(err)
		}
		if k == key {
			y := out[v]
			x.visitors = y.visitors
			out[v] = x
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows, err = pool.Query(context.Background(), `SELECT variation_id, count(*) FROM exposures WHERE experiment_id = $1 GROUP BY 1`, experiment)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v, n int64
		if err := rows.Scan(&v, &n); err != nil {
			t.Fatal(err)
		}
		x := out[v]
		x.visitors = n
		out[v] = x
	}
	return out
}

// TestIngest_IncrementalRollupsEqualRecomputation sends random traffic in
// shuffled batches (conversions before or after exposures, in earlier or
// later batches, repeated exposures, resent batches) and checks the
// rollups against a recomputation from the raw events.
func TestIngest_IncrementalRollupsEqualRecomputation(t *testing.T) {
	pool := pgtest.New(t, migrations.FS)
	s := store.New(pool)
	rng := rand.New(rand.NewPCG(42, 7))
	var events []ingest.Event
	var exposures []ingest.Exposure
	for v := 0; v < 400; v++ {
		visitor := fmt.Sprintf("v%03d", v)
		variation := int64(varA + rng.IntN(2))
		for i := 0; i < 1+rng.IntN(2); i++ { // sometimes a second exposure, maybe to the other arm
			id := fmt.Sprintf("imp-%03d-%d", v, i)
			at := t0.Add(time.Duration(rng.IntN(72*60)) * time.Minute)
			events = append(events, ingest.Event{UUID: id, VisitorID: visitor, Key: ingest.ImpressionKey, At: at})
			exposures = append(exposures, ingest.Exposure{EventUUID: id, ExperimentID: experiment, VariationID: variation})
			if rng.IntN(5) == 0 {
				variation = varA + varB - variation
			}
		}
		for i := 0; i < rng.IntN(4); i++ {
			key := []string{"purchase", "signup"}[rng.IntN(2)]
			e := ingest.Event{UUID: fmt.Sprintf("cnv-%03d-%d", v, i), VisitorID: visitor, Key: key,
				At: t0.Add(time.Duration(rng.IntN(96*60)) * time.Minute)}
			if rng.IntN(2) == 0 {
				r := int64(rng.IntN(10000))
				e.Revenue = &r
			} else {
				x := rng.Float64() * 10
				e.Value = &x
			}
			events = append(events, e)
		}
	}
	rng.Shuffle(len(events), func(i, j int) { events[i], events[j] = events[j], events[i] })
	inArrivalOrder(events)
	var batches []*ingest.Batch
	for len(events) > 0 {
		n := min(len(events), 1+rng.IntN(60))
		b := &ingest.Batch{ProjectID: project, Events: events[:n]}
		for _, e := range b.Events {
			for _, x := range exposures {
				if x.EventUUID == e.UUID {
					b.Exposures = append(b.Exposures, x)
				}
			}
		}
		batches = append(batches, b)
		events = events[n:]
	}
	for i, b := range batches {
		if _, err := s.Ingest(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		if i%5 == 0 { // a client resending an earlier batch
			if _, err := s.Ingest(context.Background(), batches[rng.IntN(i+1)]); err != nil {
				t.Fatal(err)
			}
		}
		// The worker folds in one batch or several at once, depending on
		// how far behind it is: both must add up to the same rollups.
		if rng.IntN(3) == 0 {
			if err := s.CatchUp(context.Background(), project); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, key := range []string{"purchase", "signup"} {
		got, want := sumRollups(t, s, key), recompute(t, pool, key)
		for _, v := range []int64{varA, varB} {
			g, w := got[v], want[v]
			if g.visitors != w.visitors || g.converters != w.converters || g.conversions != w.conversions ||
				g.revenue != w.revenue || g.revenueSq != w.revenueSq || !nearly(g.value, w.value) || !nearly(g.valueSq, w.valueSq) {
				t.Errorf("%s variation %d: incremental %+v, recomputed %+v", key, v, g, w)
			}
		}
		t.Logf("%s: %+v", key, got)
	}
}

// inArrivalOrder gives each visitor's impressions their times in the order
// they will be sent, as SDKs send them; conversions stay anywhere. The store
// takes the first impression it receives as the exposure, which the
// recomputation (the earliest impression) then agrees with.
func inArrivalOrder(events []ingest.Event) {
	times := map[string][]time.Time{}
	for _, e := range events {
		if e.Key == ingest.ImpressionKey {
			times[e.VisitorID] = append(times[e.VisitorID], e.At)
		}
	}
	for _, ts := range times {
		slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	}
	for i, e := range events {
		if e.Key == ingest.ImpressionKey {
			events[i].At = times[e.VisitorID][0]
			times[e.VisitorID] = times[e.VisitorID][1:]
		}
	}
}

func nearly(a, b float64) bool {
	d := a - b
	return d < 1e-9*(1+b) && -d < 1e-9*(1+b)
}
