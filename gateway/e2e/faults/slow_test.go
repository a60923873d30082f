package faults

import (
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
// answering; once the latency goes, results answers again; and no
// goroutine is left serving a request or waiting for a call: abandoned
// calls are cleaned up on the gateway and in the service.
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
	// as large as they will get.
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
	totalBefore, before := settled(s)
	if len(before) != 0 {
		t.Fatalf("requests still being served before the slow calls:\n%s", strings.Join(before, "\n\n"))
	}

	proxy.SetLatency(latency)
	slow := exchange(slowPath)
	other := exchange(otherPath)
	proxy.SetLatency(0)
	waitFor(t, 30*time.Second, "results answering again", func() bool { return send(s.GW, "GET", slowPath, s.Read, "").status == http.StatusOK })
	totalAfter, after := settled(s)

	t.Logf("results %v slow, gateway request timeout %v: %s", latency, timeout, slow)
	t.Logf("experiments meanwhile:             %s", other)
	t.Logf("goroutines: %d before, %d after the slow calls; serving a request or waiting for a call: %d before, %d after",
		totalBefore, totalAfter, len(before), len(after))
	if n := slow.count(http.StatusGatewayTimeout); n != workers*perWorker || slow.codes[int(codes.DeadlineExceeded)] != n {
		t.Errorf("slow backend: %s, want all %d requests 504 DEADLINE_EXCEEDED", slow, workers*perWorker)
	}
	if slow.maxFail >= latency {
		t.Errorf("a request waited %v, longer than the backend's delay: the deadline did not bound it", slow.maxFail)
	}
	if other.count(http.StatusOK) != workers*perWorker {
		t.Errorf("experiments while results was slow: %s", other)
	}
	if len(after) != 0 {
		t.Errorf("%d goroutines still serve a request or wait for a call after every client got its answer (a leak):\n%s",
			len(after), strings.Join(after, "\n\n"))
	}
}

// requestFrames mark a goroutine that serves an HTTP request or a gRPC
// call, or waits for a call's answer. Once every client has its answer and
// idle connections are closed, none may be left: one left is an abandoned
// call nobody cleaned up. (The total number of goroutines, printed, is no
// test: the pools' and transports' own background work comes and goes.)
var requestFrames = []string{
	"net/http.(*conn).serve",
	"grpc.(*Server).processUnaryRPC", "grpc.(*Server).processStreamingRPC",
	"google.golang.org/grpc.invoke(", "grpc.(*clientStream)",
}

// settled closes the client's idle connections and waits (up to 15 s) until
// no goroutine serves a request; it returns the number of goroutines and
// the stacks of those still serving one.
func settled(s *stacktest.Stack) (total int, serving []string) {
	s.GW.Client.CloseIdleConnections()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		buf := make([]byte, 1<<22)
		stacks := strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n")
		serving = serving[:0]
		for _, g := range stacks {
			for _, f := range requestFrames {
				if strings.Contains(g, f) && !strings.Contains(g, "faults.settled") {
					serving = append(serving, g)
					break
				}
			}
		}
		if len(serving) == 0 || time.Now().After(deadline) {
			return len(stacks), serving
		}
	}
}
