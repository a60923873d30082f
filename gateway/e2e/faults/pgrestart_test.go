package faults

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/liftlabs/lift/gateway/internal/stacktest"
	"github.com/liftlabs/lift/pkg/pgtest"
	"github.com/liftlabs/lift/services/results/resultstest"
	"google.golang.org/grpc/codes"
)

// TestFault_PostgresRestartLosesNoAcknowledgedEvent restarts the results
// database (a private cluster: the shared one serves other tests) while
// two SDK-like clients post event batches through the gateway. Every batch
// answered 204 is stored whole afterwards; during the outage the clients
// get 503 UNAVAILABLE, which tells them to resend; the service reconnects
// by itself; and once the clients resend what failed, every event is
// stored exactly once.
func TestFault_PostgresRestartLosesNoAcknowledgedEvent(t *testing.T) {
	db := pgtest.NewCluster(t)
	s := stacktest.Start(t, stacktest.Options{Results: resultstest.Options{DatabaseURL: db.URL}})
	e := s.CreateExperiment(t, "purchase")
	s.Must(t, "POST", "/v1/experiments/"+e.ID+":start", s.Admin, "{}", http.StatusOK, nil)
	events := "/v1/events?sdk_key=" + s.SDKKey(t, "production")
	const perBatch = 10 // visitors, 2 events each

	var mu sync.Mutex
	var (
		acked, failed    []string // batch prefixes
		sent, ackedAfter int
		restarted        bool
		statuses         = map[string]int{}
	)
	batches := map[string][]byte{}
	stop := load(2, func(w int) {
		mu.Lock()
		prefix := fmt.Sprintf("w%d-b%d-", w, sent)
		sent++
		mu.Unlock()
		b := s.SDKBatch(t, e, prefix, perBatch)
		r := send(s.GW, "POST", events, "", string(b))
		mu.Lock()
		defer mu.Unlock()
		batches[prefix] = b
		statuses[fmt.Sprintf("%d/%s", r.status, codes.Code(r.code))]++
		switch {
		case r.status == http.StatusNoContent:
			acked = append(acked, prefix)
			if restarted {
				ackedAfter++
			}
		case r.status == http.StatusServiceUnavailable && r.code == int(codes.Unavailable):
			failed = append(failed, prefix)
		default:
			failed = append(failed, prefix) // reported below
		}
		if r.status != http.StatusNoContent {
			time.Sleep(20 * time.Millisecond) // a client backs off before sending more
		}
	})
	count := func(f func() int) func() int { return func() int { mu.Lock(); defer mu.Unlock(); return f() } }
	nAcked := count(func() int { return len(acked) })
	nFailed := count(func() int { return len(failed) })
	waitFor(t, 60*time.Second, "batches acknowledged before the restart", func() bool { return nAcked() >= 10 })
	db.Stop(t)
	down := nFailed()
	waitFor(t, 60*time.Second, "clients told to retry during the outage", func() bool { return nFailed() >= down+5 })
	db.Start(t)
	mu.Lock()
	restarted = true
	mu.Unlock()
	waitFor(t, 60*time.Second, "batches acknowledged after the restart", func() bool { return count(func() int { return ackedAfter })() >= 10 })
	stop()

	stored := func(prefixes []string) (events int) {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, db.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var uuids []string
		for _, p := range prefixes {
			for i := range perBatch {
				uuids = append(uuids, fmt.Sprintf("imp-%s%d", p, i), fmt.Sprintf("conv-%s%d", p, i))
			}
		}
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM events WHERE uuid = ANY($1)`, uuids).Scan(&events); err != nil {
			t.Fatal(err)
		}
		return events
	}
	ackedEvents, found := len(acked)*perBatch*2, stored(acked)
	t.Logf("batches sent %d: acknowledged %d (%d after the restart), refused %d; replies %v", sent, len(acked), ackedAfter, len(failed), statuses)
	t.Logf("events acknowledged %d, found after the restart %d", ackedEvents, found)
	if found != ackedEvents {
		t.Errorf("%d events were acknowledged but %d are stored", ackedEvents, found)
	}
	for k, n := range statuses {
		if k != "204/OK" && k != "503/Unavailable" {
			t.Errorf("%d replies %s: a database outage must answer 503 UNAVAILABLE (retry)", n, k)
		}
	}

	// The clients resend what was refused; whether or not those batches
	// had been committed, each event is then stored once.
	for _, p := range failed {
		if r := send(s.GW, "POST", events, "", string(batches[p])); r.status != http.StatusNoContent {
			t.Fatalf("resending batch %s: %d", p, r.status)
		}
	}
	all := append(append([]string{}, acked...), failed...)
	if got, want := stored(all), len(all)*perBatch*2; got != want {
		t.Errorf("after resending: %d events stored, want %d", got, want)
	}
	var total int
	conn, err := pgx.Connect(context.Background(), db.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := conn.QueryRow(context.Background(), `SELECT count(*) FROM events`).Scan(&total); err != nil {
		t.Fatal(err)
	}
	if total != len(all)*perBatch*2 {
		t.Errorf("events table holds %d rows, want %d (no duplicates)", total, len(all)*perBatch*2)
	}
	t.Logf("after resending the %d refused batches: %d events stored, %d expected", len(failed), total, len(all)*perBatch*2)
}
