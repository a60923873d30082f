package faults

import (
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/liftlabs/lift/gateway/gatewaytest"
	"github.com/liftlabs/lift/pkg/grpcclient"
	"github.com/liftlabs/lift/pkg/grpctest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// TestFault_RetriesStayWithinTheBudget points the gateway's identity
// backend at a gRPC server that answers UNAVAILABLE to everything and
// counts the attempts it receives. Reads are retried on UNAVAILABLE, but
// the connection's retry throttling stops retrying once the failures have
// drained half its token bucket: a failing backend gets at most
// RetryMaxTokens/2 retries in all, not a multiple of the traffic.
func TestFault_RetriesStayWithinTheBudget(t *testing.T) {
	var attempts atomic.Int64
	down := grpc.NewServer(grpc.UnknownServiceHandler(func(any, grpc.ServerStream) error {
		attempts.Add(1)
		return status.Error(codes.Unavailable, "down")
	}))
	gw := gatewaytest.Start(t, gatewaytest.Backends{Identity: "dns:///" + grpctest.Start(t, down)})

	const calls, workers = 200, 4
	var wg sync.WaitGroup
	var answered tally
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range calls / workers {
				answered.add(send(gw, "GET", "/v1/projects", "lift_pat_whatever", ""))
			}
		}()
	}
	wg.Wait()

	budget := int64(grpcclient.RetryMaxTokens / 2)
	t.Logf("%d calls (each a read the client may retry up to 3 times) → %d attempts at the backend; retry budget %d; replies %s",
		calls, attempts.Load(), budget, &answered)
	if answered.count(http.StatusServiceUnavailable) != calls || answered.codes[int(codes.Unavailable)] != calls {
		t.Errorf("replies %s, want every call 503 UNAVAILABLE", &answered)
	}
	if n := attempts.Load(); n > calls+budget {
		t.Errorf("%d attempts for %d calls: more than the %d retries throttling allows", n, calls, budget)
	}
	if attempts.Load() == calls {
		t.Error("no call was retried at all: the retry policy is not in effect")
	}
}
