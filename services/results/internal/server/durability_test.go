package server_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"google.golang.org/grpc/codes"
)

// terminateSQL ends every connection of the service to its database (not
// the caller's own): what a database failover or restart does to it.
const terminateSQL = `
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'`

func TestIngestEvents_AcknowledgedEventsSurviveKilledConnections(t *testing.T) {
	s := newStack(t)
	ctx := context.Background()
	killer, err := pgx.Connect(ctx, s.res.DatabaseURL)
	if err != nil {
		t.Fatal(err)
	}
	defer killer.Close(ctx)

	const batches, perBatch = 60, 50
	seq := 0
	all := make([][]*resultsv1.Visitor, batches)
	uuids := make([][]string, batches)
	for b := range all {
		for i := 0; i < perBatch; i++ {
			v := visitor(fmt.Sprintf("b%02d-v%02d", b, i), &seq).impression(s.e.GetId(), []string{s.control, s.treat}[i%2], 0).
				conversion("purchase", 1, int64(100+i))
			all[b] = append(all[b], v.v)
			for _, sn := range v.v.Snapshots {
				uuids[b] = append(uuids[b], sn.Events[0].Uuid)
			}
		}
	}

	// Kill the service's busy connections over and over while two clients
	// send batches: paced during the first half of the batches (the
	// service's own retries absorb most kills), then as fast as possible
	// (attempts keep dying, batches fail and must say so).
	var stop atomic.Bool
	var killed, sent atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			var n int64
			if err := killer.QueryRow(ctx, terminateSQL).Scan(&n); err != nil {
				t.Errorf("terminate: %v", err)
				return
			}
			killed.Add(n)
			if sent.Load() < batches/2 {
				// The assertions below hold whatever the interleaving;
				// the pace only makes both outcomes likely.
				time.Sleep(100 * time.Millisecond)
			}
		}
	}()
	acked := make([]bool, batches)
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for b := w; b < batches; b += 2 {
				_, err := s.r.IngestEvents(s.write, &resultsv1.IngestEventsRequest{ProjectId: s.project.GetId(), Visitors: all[b]})
				sent.Add(1)
				if err == nil {
					acked[b] = true
					continue
				}
				if c := statusCode(err); c != codes.Unavailable {
					t.Errorf("batch %d: %v, want UNAVAILABLE (retry) for a storage failure", b, err)
				}
			}
		}(w)
	}
	wg.Wait()
	stop.Store(true)
	<-done

	nAcked, committedUnacked := 0, 0
	for b, ok := range acked {
		var stored int
		if err := killer.QueryRow(ctx, `SELECT count(*) FROM events WHERE uuid = ANY($1)`, uuids[b]).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		switch {
		case ok && stored != len(uuids[b]):
			t.Errorf("batch %d was acknowledged but %d of its %d events are stored", b, stored, len(uuids[b]))
		case !ok && stored != 0 && stored != len(uuids[b]):
			t.Errorf("failed batch %d is half stored: %d of %d events", b, stored, len(uuids[b]))
		case ok:
			nAcked++
		case stored != 0:
			committedUnacked++ // the commit went through, its answer did not
		}
	}
	t.Logf("%d of %d batches acknowledged while %d backends were terminated; %d failed batches had committed anyway",
		nAcked, batches, killed.Load(), committedUnacked)
	if killed.Load() == 0 {
		t.Fatal("no connection was terminated during ingestion: the test proved nothing")
	}

	// The client retries what was not acknowledged; whether or not those
	// batches had committed, every visitor and conversion counts once.
	for b, ok := range acked {
		if !ok {
			s.ingest(t, all[b]...)
		}
	}
	r := s.results(t, &resultsv1.GetExperimentResultsRequest{MetricKeys: []string{"purchase"}})
	res := r.GetMetrics()[0].GetResults()
	if r.GetReach().GetTotalCount() != batches*perBatch || res[0].GetConverters()+res[1].GetConverters() != batches*perBatch ||
		res[0].GetConversions()+res[1].GetConversions() != batches*perBatch {
		t.Fatalf("after retries: reach %d, converters %d+%d", r.GetReach().GetTotalCount(), res[0].GetConverters(), res[1].GetConverters())
	}
}
