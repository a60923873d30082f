package faults

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liftlabs/lift/gateway/internal/stacktest"
	"github.com/liftlabs/lift/pkg/grpcclient"
	"google.golang.org/grpc/codes"
)

// TestFault_KilledBackendFailsFastAndGatewayRecovers kills the results
// service while four clients keep reading an experiment's results (which
// only results answers) and the experiment and project themselves (which
// experiments and identity answer). While results is down, its endpoint
// answers 503 UNAVAILABLE at once — not 504 after the gateway's deadline —
// and the other endpoints keep answering 200. A new results instance on the
// same address is used again without restarting the gateway.
func TestFault_KilledBackendFailsFastAndGatewayRecovers(t *testing.T) {
	s := stacktest.Start(t)
	e := s.CreateExperiment(t, "checkout")
	paths := []string{"/v1/experiments/" + e.ID + "/results", "/v1/experiments/" + e.ID, "/v1/projects/" + s.ProjectID}
	const affected = 0

	// phase: 0 before the kill, 1 while results is down, 2 after its
	// restart. A request is counted in a phase only if it started and
	// ended in it.
	var phase atomic.Int32
	var tallies [3][3]tally
	var crossing tally
	stop := load(4, func(int) {
		for i, p := range paths {
			before := phase.Load()
			r := send(s.GW, "GET", p, s.Read, "")
			if after := phase.Load(); after != before {
				crossing.add(r)
				continue
			}
			tallies[before][i].add(r)
		}
	})
	waitFor(t, 30*time.Second, "results answered before the kill", func() bool { return tallies[0][affected].count(http.StatusOK) >= 20 })
	s.Results.Kill()
	phase.Store(1)
	waitFor(t, 30*time.Second, "requests while results is down", func() bool { return tallies[1][affected].total() >= 40 })
	s.Results.Restart(t)
	restarted := time.Now()
	phase.Store(2)
	var recovered time.Duration
	waitFor(t, 60*time.Second, "results answering again", func() bool {
		if recovered == 0 && tallies[2][affected].count(http.StatusOK) > 0 {
			recovered = time.Since(restarted)
		}
		return tallies[2][affected].count(http.StatusOK) >= 20
	})
	stop()

	names := []string{"before the kill", "results down", "after the restart"}
	for ph := range tallies {
		for i, p := range paths {
			t.Logf("%-17s GET %-40s %s", names[ph], p, &tallies[ph][i])
		}
	}
	// The reconnect figures (pkg/grpcclient's Reconnect* constants decide
	// them): how long results stayed unused after it came back, and how
	// many calls failed meanwhile.
	t.Logf("requests crossing a phase change: %s; first success %v after the restart, %d 503s after the restart",
		&crossing, recovered, tallies[2][affected].count(http.StatusServiceUnavailable))

	for ph := range tallies {
		for i := range paths {
			tl := &tallies[ph][i]
			switch {
			case i != affected || ph == 0:
				if tl.count(http.StatusOK) != tl.total() {
					t.Errorf("%s, GET %s: %s, want every request answered 200", names[ph], paths[i], tl)
				}
			default: // results' endpoint while down or reconnecting
				unavailable := tl.codes[int(codes.Unavailable)]
				if failed := tl.total() - tl.count(http.StatusOK); tl.count(http.StatusServiceUnavailable) != failed || unavailable != failed {
					t.Errorf("%s, GET %s: %s, want every failure 503 UNAVAILABLE", names[ph], paths[i], tl)
				}
				if ph == 1 && tl.count(http.StatusOK) != 0 {
					t.Errorf("results answered 200 while killed: %s", tl)
				}
				// 503 is the proof of failing fast (a wait for the deadline
				// would be 504); the bound below only catches a hang.
				if tl.maxFail >= grpcclient.DefaultTimeout {
					t.Errorf("%s: a failure took %v, the gateway's deadline is %v", names[ph], tl.maxFail, grpcclient.DefaultTimeout)
				}
			}
		}
	}
	for st := range crossing.statuses {
		if st != http.StatusOK && st != http.StatusServiceUnavailable {
			t.Errorf("a request crossing the kill or restart got %d: %s", st, &crossing)
		}
	}
}
