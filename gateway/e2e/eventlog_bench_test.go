package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/optimizely/go-sdk/v2/pkg/event"
)

// clients is how many SDK-like clients post at once in the event-log
// benchmarks (and publish at once in the bare baseline).
const clients = 16

// parallel runs f(i) for i in [0, n) on clients goroutines and returns how
// long it took.
func parallel(n int, f func(i int)) time.Duration {
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				f(i)
			}
		}()
	}
	wg.Wait()
	return time.Since(start)
}

// BenchmarkEventLog measures the event path on an in-process JetStream
// (file store) with results consuming into Postgres, each figure against a
// baseline measured in the same run (run it with -benchtime 1x):
//
//   - batch=1: 1-event SDK batches POSTed by 16 clients to the gateway and
//     answered 204 (the log has them) per second, against a bare
//     JetStream publish of the same payloads by 16 publishers to a stream
//     of their own on the same server (ratio_vs_bare_publish: the limit
//     of this design is the log's own rate).
//   - batch=100: 100-event batches, events acknowledged per second.
//   - visible: from the first POST of the 100-event batches until a
//     results read (which waits for the consumer) counts all of them,
//     against a raw COPY of the same rows committed per batch
//     (visible_vs_copy), and the consumer's backlog when the last batch
//     was acknowledged (lag-batches).
func BenchmarkEventLog(b *testing.B) {
	s := newIngestBench(b, true)
	ctx := context.Background()
	nc, err := nats.Connect(s.res.NATS.ClientURL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "BARE", Subjects: []string{"bare"}, Storage: jetstream.FileStorage}); err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, s.dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, copyBaselineSQL); err != nil {
		b.Fatal(err)
	}
	path := "/v1/events?sdk_key=" + s.sdkKey
	post := func(body []byte) {
		if resp := s.gw.Do(b, "POST", path, "", body); resp.Status != http.StatusNoContent {
			b.Errorf("POST events: %d %s", resp.Status, resp.Body)
		}
	}
	build := func(n, size int) ([][]byte, [][]benchRow) {
		bodies, rows := make([][]byte, n), make([][]benchRow, n)
		for i := range n {
			bodies[i], rows[i] = s.next(b, size)
		}
		return bodies, rows
	}
	const singles, hundreds = 4000, 400
	var ones, bare, visible, copyTime time.Duration
	var lag uint64
	for b.Loop() {
		b.StopTimer()
		bodies := make([][]byte, singles)
		for i := range bodies {
			bodies[i] = s.impression(b)
		}
		b.StartTimer()
		ones = parallel(singles, func(i int) { post(bodies[i]) })
		bare = parallel(singles, func(i int) {
			if _, err := js.Publish(ctx, "bare", bodies[i]); err != nil {
				b.Error(err)
			}
		})

		b.StopTimer()
		bodies, rows := build(hundreds, 100)
		before := s.seq
		b.StartTimer()
		start := time.Now()
		parallel(hundreds, func(i int) { post(bodies[i]) })
		acked := time.Since(start)
		if lag, err = s.res.EventLog.Backlog(ctx); err != nil {
			b.Fatal(err)
		}
		var out resultsv1.GetExperimentResultsResponse
		s.gw.Must(b, "GET", "/v1/experiments/"+s.exp.GetId()+"/results", s.readToken, nil, http.StatusOK, &out)
		visible = time.Since(start)
		if got, want := out.GetResults().GetReach().GetTotalCount(), int64(s.seq); got != want {
			b.Fatalf("results count %d exposed visitors after the read, want %d (%d new)", got, want, s.seq-before)
		}
		copyStart := time.Now()
		for _, r := range rows {
			if err := copyRows(ctx, conn, r); err != nil {
				b.Fatal(err)
			}
		}
		copyTime = time.Since(copyStart)
		b.ReportMetric(float64(hundreds*100)/acked.Seconds(), "batch100-acked-events/s")
	}
	b.ReportMetric(float64(singles)/ones.Seconds(), "batch1-acked/s")
	b.ReportMetric(float64(singles)/bare.Seconds(), "bare-publish/s")
	b.ReportMetric(bare.Seconds()/ones.Seconds(), "ratio_vs_bare_publish")
	b.ReportMetric(float64(hundreds*100)/visible.Seconds(), "visible-events/s")
	b.ReportMetric(float64(hundreds*100)/copyTime.Seconds(), "copy-events/s")
	b.ReportMetric(copyTime.Seconds()/visible.Seconds(), "visible_vs_copy")
	b.ReportMetric(float64(lag), "lag-batches")
}

// impression is a 1-event SDK batch: one new visitor's impression.
func (s *ingestBench) impression(b *testing.B) []byte {
	s.seq++
	v := s.exp.GetVariations()[s.seq%2]
	body, err := json.Marshal(event.Batch{Revision: "1", AccountID: s.accountID, ProjectID: s.project,
		ClientName: "go-sdk", ClientVersion: "2.3.1", EnrichDecisions: true, Visitors: []event.Visitor{{
			VisitorID: fmt.Sprintf("v%09d", s.seq), Attributes: []event.VisitorAttribute{}, Snapshots: []event.Snapshot{{
				Decisions: []event.Decision{{CampaignID: s.exp.GetLayerId(), ExperimentID: s.exp.GetId(), VariationID: v.GetId(),
					Metadata: event.DecisionMetadata{RuleKey: s.exp.GetKey(), RuleType: "experiment", Enabled: true}}},
				Events: []event.SnapshotEvent{{EntityID: s.exp.GetLayerId(), Key: "campaign_activated",
					Timestamp: time.Now().Add(-time.Hour).UnixMilli(), UUID: fmt.Sprintf("one-%09d", s.seq)}},
			}},
		}}})
	if err != nil {
		b.Fatal(err)
	}
	return body
}
