package faults

import (
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liftlabs/lift/gateway/gatewaytest"
	"github.com/liftlabs/lift/gateway/internal/stacktest"
	"google.golang.org/grpc/codes"
)

// TestFault_SlowBackendIsBoundedByDeadlineWithoutLeaks puts a proxy that
// holds every byte for 3 s between the gateway and results. With the
// gateway's request timeout (LIFT_HTTP_REQUEST_TIMEOUT) at 1 s, clients get
// 504 DEADLINE_EXCEEDED, not a hang; experiments, not behind the proxy, keeps
// answering; once the latency goes, results answers again; and the process
// is left with no more goroutines than before: abandoned calls are cleaned
// up on the gateway and in the service.
func TestFault_SlowBackendIsBoundedByDeadlineWithoutLeaks(t *testing.T) {
	var proxy *latencyProxy
	const timeout, latency = time.Second, 3 * time.Second
	s := stacktest.Start(t, stacktest.Options{
		Route: func(name, addr string) string {
			if name != "results" {
				return addr
			}
			proxy = startLatencyProxy(t, addr)
			return proxy.Addr()
		},
		Gateway: []gatewaytest.Option{gatewaytest.WithRequestTimeout(timeout)},
	})
	e := s.CreateExperiment(t, "checkout")
	slowPath, otherPath := "/v1/experiments/"+e.ID+"/results", "/v1/experiments/"+e.ID
	const workers, perWorker = 6, 3
	// Warm up with the same concurrency, so that connections and pools are
	// as large as they will get, then count.
	exchange := func(path string, headers ...string) *tally {
		var tl tally
		var wg sync.WaitGroup
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range perWorker {
					tl.add(send(s.GW, "GET", path, s.Read, "", headers...))
				}
			}()
		}
		wg.Wait()
		return &tl
	}
	if tl := exchange(slowPath); tl.count(http.StatusOK) != workers*perWorker {
		t.Fatalf("warm-up: %s", tl)
	}
	before := settledGoroutines(s, 0)

	proxy.SetLatency(latency)
	slow := exchange(slowPath)
	other := exchange(otherPath)
	proxy.SetLatency(0)
	waitFor(t, 30*time.Second, "results answering again", func() bool { return send(s.GW, "GET", slowPath, s.Read, "").status == http.StatusOK })
	after := settledGoroutines(s, before)

	t.Logf("results %v slow, gateway request timeout %v: %s", latency, timeout, slow)
	t.Logf("experiments meanwhile:             %s", other)
	t.Logf("goroutines: %d before, %d after the slow calls", before, after)
	if n := slow.count(http.StatusGatewayTimeout); n != workers*perWorker || slow.codes[int(codes.DeadlineExceeded)] != n {
		t.Errorf("slow backend: %s, want all %d requests 504 DEADLINE_EXCEEDED", slow, workers*perWorker)
	}
	if slow.maxFail >= latency {
		t.Errorf("a request waited %v, longer than the backend's delay: the deadline did not bound it", slow.maxFail)
	}
	if other.count(http.StatusOK) != workers*perWorker {
		t.Errorf("experiments while results was slow: %s", other)
	}
	// An abandoned call that leaked would leave a goroutine or more per
	// call (here workers*perWorker = 18); the slack absorbs a background
	// goroutine of the runtime or a pool that happens to be alive at the
	// second count.
	if after > before+leakSlack {
		t.Errorf("goroutines grew from %d to %d: something waits forever; goroutines by creator now:\n%s", before, after, goroutinesByCreator())
	}
}

const leakSlack = 2

// goroutinesByCreator counts the live goroutines by the function that
// started them, to tell what a leak is made of.
func goroutinesByCreator() string {
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	counts := map[string]int{}
	for _, g := range strings.Split(string(buf), "\n\n") {
		creator := "main"
		if i := strings.Index(g, "created by "); i >= 0 {
			creator = strings.SplitN(g[i+len("created by "):], "\n", 2)[0]
		}
		counts[creator]++
	}
	var b strings.Builder
	for c, n := range counts {
		fmt.Fprintf(&b, "%4d %s\n", n, c)
	}
	return b.String()
}

// settledGoroutines closes the client's idle connections and returns the
// number of goroutines once it stops falling: right away when it is at or
// below target, else after it held still for half a second (at most 15 s).
func settledGoroutines(s *stacktest.Stack, target int) int {
	s.GW.Client.CloseIdleConnections()
	n, still := runtime.NumGoroutine(), 0
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		m := runtime.NumGoroutine()
		if target > 0 && m <= target {
			return m
		}
		if m >= n {
			still++
		} else {
			still = 0
		}
		n = m
		if target == 0 && still >= 10 {
			break
		}
	}
	return n
}
