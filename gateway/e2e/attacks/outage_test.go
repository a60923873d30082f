package attacks

import (
	"net/http"
	"strings"
	"testing"

	"github.com/liftlabs/lift/gateway/internal/stacktest"
	"github.com/liftlabs/lift/pkg/pgtest"
	"github.com/liftlabs/lift/services/identity/identitytest"
	"github.com/liftlabs/lift/services/results/resultstest"
)

// driverText is what the driver and the network put in their errors
// (addresses, users, SQLSTATEs); none of it may reach a client.
var driverText = []string{"127.0.0.1", "user=", "database=", "connect", "dial", "SQLSTATE", "pgx", "postgres", "refused"}

// TestDatabaseOutage_NoDriverText (break 6): with results' Postgres
// stopped, event batches and results reads fail in the one shape (503)
// and no response carries the driver's or the network's text. (POST
// /v1/events answered "failed to connect to `user=postgres
// database=postgres`: 127.0.0.1:46023 … connection refused".)
func TestDatabaseOutage_NoDriverText(t *testing.T) {
	db := pgtest.NewCluster(t)
	c := &calls{}
	s := stacktest.Start(t, stacktest.Options{
		Gateway:  defaults(),
		Identity: []identitytest.Option{c.interceptor()},
		Results:  resultstest.Options{DatabaseURL: db.URL},
	})
	e := s.CreateExperiment(t, "outage")
	s.Must(t, "POST", "/v1/experiments/"+e.ID+":start", s.Admin, "{}", http.StatusOK, nil)
	events := "/v1/events?sdk_key=" + s.SDKKey(t, "production")
	batch := s.SDKBatch(t, e, "v", 5)
	if r := s.GW.Do(t, "POST", events, "", batch); r.Status != http.StatusNoContent {
		t.Fatalf("before the outage: %d %s", r.Status, r.Body)
	}
	db.Stop(t)
	statuses := map[int]int{}
	for i := range 5 {
		for _, r := range []struct {
			method, path, token string
			body                any
		}{
			{"POST", events, "", s.SDKBatch(t, e, "w"+string(rune('a'+i)), 5)},
			{"GET", "/v1/experiments/" + e.ID + "/results", s.Read, nil},
		} {
			resp := s.GW.Do(t, r.method, r.path, r.token, r.body)
			statuses[resp.Status]++
			for _, bad := range driverText {
				if strings.Contains(strings.ToLower(string(resp.Body)), strings.ToLower(bad)) {
					t.Errorf("%s %s during the outage: %d carries %q: %s", r.method, r.path, resp.Status, bad, resp.Body)
				}
			}
		}
	}
	t.Logf("results' database down: statuses %v, no driver text in any body", statuses)
	if statuses[http.StatusServiceUnavailable] == 0 {
		t.Errorf("statuses %v, want 503s during the outage", statuses)
	}
	db.Start(t)
}
