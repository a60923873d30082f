package attacks

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liftlabs/lift/gateway/gatewaytest"
	"github.com/liftlabs/lift/gateway/internal/admit"
	"github.com/liftlabs/lift/gateway/internal/httpmw"
	"github.com/liftlabs/lift/gateway/internal/stacktest"
	"github.com/liftlabs/lift/services/identity/identitytest"
	"google.golang.org/grpc"
)

// attackerAddr is the attacker's source address; the real client uses
// 127.0.0.1.
var attackerAddr = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}

// defaults are the binary's default limits (gateway/cmd/gateway), with a
// shorter upload grace so that the tests need not wait 10 s.
func defaults(extra ...gatewaytest.Option) []gatewaytest.Option {
	return append([]gatewaytest.Option{
		gatewaytest.WithMaxInFlight(1000),
		gatewaytest.WithMaxInFlightPerAddr(100),
		gatewaytest.WithRateLimits(gatewaytest.RatePolicy{RPS: 100, Burst: 200}, gatewaytest.RatePolicy{RPS: 1000, Burst: 2000}),
		gatewaytest.WithFailureRateLimit(admit.DefaultFailures),
		gatewaytest.WithUploadRate(2*time.Second, httpmw.DefaultUploadRate.MinBytesPerSecond),
	}, extra...)
}

// calls counts identity's RPCs by method name.
type calls struct {
	authenticate, resolve atomic.Int64
}

func (c *calls) interceptor() identitytest.Option {
	return identitytest.WithUnaryInterceptor(func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		switch {
		case strings.HasSuffix(info.FullMethod, "/AuthenticateToken"):
			c.authenticate.Add(1)
		case strings.HasSuffix(info.FullMethod, "/ResolveSdkKey"):
			c.resolve.Add(1)
		}
		return h(ctx, req)
	})
}

// startStack runs the whole stack with the default limits (plus opts),
// counting identity's calls.
func startStack(t *testing.T, opts ...gatewaytest.Option) (*stacktest.Stack, *calls) {
	t.Helper()
	c := &calls{}
	s := stacktest.Start(t, stacktest.Options{Gateway: defaults(opts...), Identity: []identitytest.Option{c.interceptor()}})
	return s, c
}

// attackerClient is an HTTP client whose connections come from
// attackerAddr (kept alive while the gateway allows it).
func attackerClient() *http.Client {
	d := &net.Dialer{LocalAddr: attackerAddr, Timeout: 5 * time.Second}
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: d.DialContext, MaxIdleConnsPerHost: 64,
	}}
}

// latencies times n sequential GETs of path with token by the real client
// and fails the test on any answer but 200.
func latencies(t *testing.T, s *stacktest.Stack, path, token string, n int) []time.Duration {
	t.Helper()
	out := make([]time.Duration, 0, n)
	for range n {
		start := time.Now()
		r := s.GW.Do(t, "GET", path, token, nil)
		out = append(out, time.Since(start))
		if r.Status != http.StatusOK {
			t.Fatalf("real client: GET %s: %d %s", path, r.Status, r.Body)
		}
	}
	return out
}

// p99 is the 99th percentile (nearest rank).
func p99(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*99+99)/100 - 1
	return s[min(max(i, 0), len(s)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

// lookupBound is the most lookups of unknown credentials one address can
// cause in elapsed: the failure bucket's burst, then its rate.
func lookupBound(elapsed time.Duration) int64 {
	p := admit.DefaultFailures
	return int64(p.Burst) + int64(elapsed.Seconds()*p.RPS) + 1
}
