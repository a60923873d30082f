package server_test

import (
	"context"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
)

// seedSQL loads an experiment's history straight into the tables with
// generate_series: visitors exposed over 60 days, alternating variations,
// every fourth converting six times.
var seedSQL = []string{
	`ALTER TABLE events DROP CONSTRAINT events_pkey`,
	`DROP INDEX events_conversions_by_visitor`,
	`INSERT INTO events (project_id, uuid, visitor_id, key, occurred_at)
	 SELECT @project, 'imp-' || g, 'v' || g, 'campaign_activated', @first::timestamptz + (g % 60) * interval '1 day'
	 FROM generate_series(1, @visitors::bigint) g`,
	`INSERT INTO exposures (project_id, visitor_id, experiment_id, variation_id, exposed_at)
	 SELECT @project, 'v' || g, @experiment, CASE WHEN g % 2 = 0 THEN @control::bigint ELSE @treatment::bigint END, @first::timestamptz + (g % 60) * interval '1 day'
	 FROM generate_series(1, @visitors::bigint) g`,
	`INSERT INTO events (project_id, uuid, visitor_id, key, occurred_at, revenue)
	 SELECT @project, 'cnv-' || g || '-' || k, 'v' || g, 'purchase', @first::timestamptz + (g % 60) * interval '1 day' + k * interval '1 minute', 100 + (g * k) % 5000
	 FROM generate_series(4, @visitors::bigint, 4) g, generate_series(1, 6) k`,
	`ALTER TABLE events ADD PRIMARY KEY (project_id, uuid)`,
	`CREATE INDEX events_conversions_by_visitor ON events (project_id, visitor_id, occurred_at) WHERE key <> 'campaign_activated'`,
	// The rollups these rows make, computed in bulk.
	`INSERT INTO visitor_metrics (experiment_id, visitor_id, event_key, variation_id, conversions, revenue, value)
	 SELECT x.experiment_id, c.visitor_id, c.key, x.variation_id, count(*), sum(c.revenue), 0
	 FROM events c JOIN exposures x ON x.project_id = c.project_id AND x.visitor_id = c.visitor_id AND c.occurred_at >= x.exposed_at
	 WHERE c.key <> 'campaign_activated' GROUP BY 1, 2, 3, 4`,
	`INSERT INTO variation_days (experiment_id, variation_id, day, visitors)
	 SELECT experiment_id, variation_id, (exposed_at AT TIME ZONE 'UTC')::date, count(*) FROM exposures GROUP BY 1, 2, 3`,
	`INSERT INTO metric_days (experiment_id, event_key, variation_id, day, converters, conversions, revenue_sum, revenue_sum_sq, value_sum, value_sum_sq)
	 SELECT vm.experiment_id, vm.event_key, vm.variation_id, (x.exposed_at AT TIME ZONE 'UTC')::date,
	        count(*), sum(vm.conversions), sum(vm.revenue), sum(vm.revenue * vm.revenue), 0, 0
	 FROM visitor_metrics vm JOIN exposures x ON x.project_id = @project AND x.visitor_id = vm.visitor_id AND x.experiment_id = vm.experiment_id
	 GROUP BY 1, 2, 3, 4`,
	`ANALYZE`,
}

// BenchmarkGetExperimentResults_10MEvents reads the results of an
// experiment with 10 million stored events (4M impressions, 6M purchases;
// LIFT_BENCH_VISITORS changes the 4M) through the whole service: auth, the
// experiment and project from the catalog, the rollup reads, statistics
// for every variation and day (sequential method), the response.
func BenchmarkGetExperimentResults_10MEvents(b *testing.B) {
	visitors := int64(4_000_000)
	if v, err := strconv.ParseInt(os.Getenv("LIFT_BENCH_VISITORS"), 10, 64); err == nil {
		visitors = v
	}
	s := newStack(b)
	ctx := context.Background()
	start := time.Now()
	first := day().Truncate(24*time.Hour).AddDate(0, 0, -60)
	args := pgx.NamedArgs{
		"project": s.project.GetId(), "experiment": s.e.GetId(), "control": s.control, "treatment": s.treat,
		"first": first, "visitors": visitors,
	}
	for _, q := range seedSQL {
		if _, err := s.res.Pool.Exec(ctx, q, args); err != nil {
			b.Fatalf("%s: %v", q, err)
		}
	}
	var events int64
	if err := s.res.Pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&events); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d events in %s", events, time.Since(start).Round(time.Second))
	req := &resultsv1.GetExperimentResultsRequest{ExperimentId: s.e.GetId()}
	var last *resultsv1.ExperimentResults
	var took []time.Duration
	for b.Loop() {
		t0 := time.Now()
		resp, err := s.r.GetExperimentResults(s.read, req)
		if err != nil {
			b.Fatal(err)
		}
		took = append(took, time.Since(t0))
		last = resp.GetResults()
	}
	// The acceptance is on the tail (p99 ≤ 50 ms), not the mean.
	slices.Sort(took)
	b.ReportMetric(float64(took[(len(took)*99)/100].Microseconds())/1000, "p99-ms")
	if last.GetReach().GetTotalCount() != visitors {
		b.Fatalf("reach %d, want %d", last.GetReach().GetTotalCount(), visitors)
	}
	b.ReportMetric(float64(events), "events")
}
