package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/liftlabs/lift/gateway/gatewaytest"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/liftlabs/lift/services/experiments/experimentstest"
	"github.com/liftlabs/lift/services/identity/identitytest"
	"github.com/liftlabs/lift/services/results/resultstest"
	"github.com/optimizely/go-sdk/v2/pkg/event"
)

// copyBaselineSQL is the table the COPY baseline writes: the columns an
// SDK event carries, keyed by uuid as events are, nothing else.
const copyBaselineSQL = `CREATE TABLE copy_baseline (
	uuid text PRIMARY KEY, visitor_id text NOT NULL, key text NOT NULL, ts timestamptz NOT NULL, value float8)`

// benchRow is one event as the COPY baseline stores it.
type benchRow struct {
	uuid, visitor, key string
	at                 time.Time
	value              *float64
}

// ingestBench is the whole stack behind the gateway with one running
// experiment measuring "purchase", and the results database for the
// baseline.
type ingestBench struct {
	gw                  *gatewaytest.Env
	dbURL               string
	accountID, project  string
	sdkKey, readToken   string
	exp                 *experimentsv1.Experiment
	eventID             string
	seq, visitorsBefore int
	res                 *resultstest.Env
}

// newIngestBench starts the stack; with eventLog, results runs on an
// in-process JetStream log.
func newIngestBench(b *testing.B, eventLog bool) *ingestBench {
	b.Helper()
	id := identitytest.Start(b)
	exp := experimentstest.Start(b, id.Addr)
	id.SetExperimentsAddr(exp.Addr)
	// The production catalog TTL (LIFT_RESULTS_CATALOG_TTL default), not
	// the tests' 1 s, which would refetch the datafile every second.
	res := resultstest.Start(b, id.Addr, exp.Addr, resultstest.Options{CatalogTTL: 30 * time.Second, EventLog: eventLog})
	s := &ingestBench{
		gw: gatewaytest.Start(b, gatewaytest.Backends{
			Identity: "dns:///" + id.Addr, Experiments: "dns:///" + exp.Addr, Results: "dns:///" + res.Addr,
		}),
		dbURL: res.DatabaseURL, res: res,
	}
	acct := id.NewAccount(b)
	s.accountID = acct.ID
	write := experimentstest.WithToken(context.Background(), id.Token(b, acct, identityv1.Scope_SCOPE_WRITE))
	s.readToken = id.Token(b, acct, identityv1.Scope_SCOPE_READ)
	project := id.CreateProject(b, acct.AdminToken, "Web")
	s.project = project.GetId()
	for _, e := range id.Environments(b, acct.AdminToken, s.project) {
		if e.GetKey() == "production" {
			s.sdkKey = e.GetSdkKey()
		}
	}
	ev, err := exp.Client.CreateEvent(write, &experimentsv1.CreateEventRequest{ProjectId: s.project,
		Event: &experimentsv1.Event{Key: "purchase", Name: "purchase"}})
	if err != nil {
		b.Fatal(err)
	}
	s.eventID = ev.GetEvent().GetId()
	created, err := exp.Client.CreateExperiment(write, &experimentsv1.CreateExperimentRequest{ProjectId: s.project,
		Experiment: &experimentsv1.Experiment{Key: "checkout", Name: "checkout", EnvironmentKeys: []string{"production"},
			Variations: []*experimentsv1.Variation{
				{Key: "control", Weight: 5000, Baseline: true, FeatureEnabled: true},
				{Key: "treatment", Weight: 5000, FeatureEnabled: true},
			},
			Metrics: []*experimentsv1.Metric{{EventKey: "purchase", Primary: true}}}})
	if err != nil {
		b.Fatal(err)
	}
	started, err := exp.Client.StartExperiment(write, &experimentsv1.StartExperimentRequest{ExperimentId: created.GetExperiment().GetId()})
	if err != nil {
		b.Fatal(err)
	}
	s.exp = started.GetExperiment()
	return s
}

// next builds the next SDK batch of size events as SDK traffic looks: half
// impressions of new visitors, half purchases (with a value) of visitors
// exposed one batch earlier, every uuid fresh. It returns the JSON body
// and the same events as baseline rows.
func (s *ingestBench) next(b *testing.B, size int) ([]byte, []benchRow) {
	at := time.Now().UTC().Add(-time.Hour).Truncate(time.Millisecond)
	vars := s.exp.GetVariations()
	visitors := make([]event.Visitor, 0, size)
	rows := make([]benchRow, 0, size)
	for range size / 2 {
		s.seq++
		visitor := fmt.Sprintf("v%09d", s.seq)
		imp := fmt.Sprintf("imp-%09d", s.seq)
		visitors = append(visitors, event.Visitor{VisitorID: visitor, Attributes: []event.VisitorAttribute{}, Snapshots: []event.Snapshot{{
			Decisions: []event.Decision{{CampaignID: s.exp.GetLayerId(), ExperimentID: s.exp.GetId(), VariationID: vars[s.seq%2].GetId(),
				Metadata: event.DecisionMetadata{RuleKey: s.exp.GetKey(), RuleType: "experiment", Enabled: true}}},
			Events: []event.SnapshotEvent{{EntityID: s.exp.GetLayerId(), Key: "campaign_activated", Timestamp: at.UnixMilli(), UUID: imp}},
		}}})
		rows = append(rows, benchRow{uuid: imp, visitor: visitor, key: "campaign_activated", at: at})

		buyer := fmt.Sprintf("v%09d", max(s.seq-size/2, 1))
		conv := fmt.Sprintf("conv-%09d", s.seq)
		value := float64(100 + s.seq%50)
		visitors = append(visitors, event.Visitor{VisitorID: buyer, Attributes: []event.VisitorAttribute{}, Snapshots: []event.Snapshot{{
			Events: []event.SnapshotEvent{{EntityID: s.eventID, Key: "purchase", Timestamp: at.Add(time.Minute).UnixMilli(), UUID: conv, Value: &value}},
		}}})
		rows = append(rows, benchRow{uuid: conv, visitor: buyer, key: "purchase", at: at.Add(time.Minute), value: &value})
	}
	body, err := json.Marshal(event.Batch{Revision: "1", AccountID: s.accountID, ProjectID: s.project,
		ClientName: "go-sdk", ClientVersion: "2.3.1", EnrichDecisions: true, Visitors: visitors})
	if err != nil {
		b.Fatal(err)
	}
	return body, rows
}

// copyRows COPYs one batch's rows into copy_baseline in its own
// transaction: the floor for storing them durably, without HTTP, auth,
// validation, deduplication, exposures or rollups.
func copyRows(ctx context.Context, conn *pgx.Conn, rows []benchRow) error {
	return pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"copy_baseline"}, []string{"uuid", "visitor_id", "key", "ts", "value"},
			pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
				r := rows[i]
				return []any{r.uuid, r.visitor, r.key, r.at, r.value}, nil
			}))
		return err
	})
}

// BenchmarkIngestThroughGateway measures durable ingestion as an SDK sees
// it: Optimizely event batches POSTed over real HTTP to the gateway, which
// answers 204 only once results has committed them, and then a results
// read every 10,000 events, which waits for the rollups to be up to date
// (they are folded in after the acknowledgement, beside the next batches).
// The read is charged to the gateway although it is no ingestion work; per
// events rather than per batch, so both batch sizes pay for the same
// number of reads. Interleaved with those rounds, on
// the same Postgres (results' own database), a raw COPY of the same rows
// committed per batch is the baseline. Batch building is outside both
// timings. It reports both rates and ratio_vs_copy (gateway events/s ÷ COPY
// events/s).
func BenchmarkIngestThroughGateway(b *testing.B) {
	for _, size := range []int{100, 1000} {
		b.Run(fmt.Sprintf("batch=%d", size), func(b *testing.B) {
			s := newIngestBench(b, false)
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, s.dbURL)
			if err != nil {
				b.Fatal(err)
			}
			defer conn.Close(ctx)
			if _, err := conn.Exec(ctx, copyBaselineSQL); err != nil {
				b.Fatal(err)
			}
			path := "/v1/events?sdk_key=" + s.sdkKey
			resultsPath := "/v1/experiments/" + s.exp.GetId() + "/results"
			var gatewayTime, copyTime, readTime time.Duration
			var pending [][]benchRow // the round's batches, COPYed one by one
			events := 0
			// finishRound ends a round of batches: a results read, timed as
			// part of the gateway's work, folds in the rollups the worker
			// has not yet (the acknowledgement comes before them) and must
			// count every exposure sent; then the round's rows are COPYed,
			// with no rollup running beside them.
			finishRound := func() {
				start := time.Now()
				var results resultsv1.GetExperimentResultsResponse
				s.gw.Must(b, "GET", resultsPath, s.readToken, nil, http.StatusOK, &results)
				gatewayTime += time.Since(start)
				readTime += time.Since(start)
				if got := results.GetResults().GetReach().GetTotalCount(); got != int64(events/2) {
					b.Fatalf("results count %d exposed visitors, want %d", got, events/2)
				}
				for _, rows := range pending {
					start = time.Now()
					if err := copyRows(ctx, conn, rows); err != nil {
						b.Fatal(err)
					}
					copyTime += time.Since(start)
				}
				pending = pending[:0]
			}
			round := 10000 / size // batches between results reads
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				body, rows := s.next(b, size)
				b.StartTimer()
				start := time.Now()
				if resp := s.gw.Do(b, "POST", path, "", body); resp.Status != http.StatusNoContent {
					b.Fatalf("POST events: %d %s", resp.Status, resp.Body)
				}
				gatewayTime += time.Since(start)
				pending = append(pending, rows)
				events += size
				if i%round == round-1 {
					finishRound()
				}
			}
			if len(pending) > 0 {
				finishRound()
			}
			// Both sides stored every event once.
			var stored, copied int
			if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM copy_baseline)`).Scan(&stored, &copied); err != nil {
				b.Fatal(err)
			}
			if stored != events || copied != events {
				b.Fatalf("stored %d events through the gateway and %d by COPY, want %d each", stored, copied, events)
			}
			gatewayRate, copyRate := float64(events)/gatewayTime.Seconds(), float64(events)/copyTime.Seconds()
			b.ReportMetric(gatewayRate, "gateway-events/s")
			b.ReportMetric(copyRate, "copy-events/s")
			b.ReportMetric(gatewayRate/copyRate, "ratio_vs_copy")
			// Where the time goes, per batch: the acknowledged POST, the
			// share of the results reads (the rollups left to fold in), the
			// COPY.
			perBatch := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(events/size) }
			b.ReportMetric(perBatch(gatewayTime-readTime), "post-µs/batch")
			b.ReportMetric(perBatch(readTime), "read-µs/batch")
			b.ReportMetric(perBatch(copyTime), "copy-µs/batch")
		})
	}
}
