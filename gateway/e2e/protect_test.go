package e2e

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liftlabs/lift/gateway/gatewaytest"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"github.com/liftlabs/lift/services/identity/identitytest"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// A rate that refills one token per 1000 s: within a test, a bucket holds
// exactly its burst, whatever the machine's speed.
const glacial = 0.001

func wantRateLimited(t *testing.T, resp *gatewaytest.Response) {
	t.Helper()
	info := wantError(t, resp, http.StatusTooManyRequests, codes.ResourceExhausted, "RATE_LIMITED")
	secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	// The next token is 1000 s after the burst was spent, less the test's
	// own running time.
	if err != nil || secs < 1 || secs > 1000 {
		t.Errorf("Retry-After = %q, want whole seconds in [1, 1000]", resp.Header.Get("Retry-After"))
	}
	if info.GetMetadata()["retry_after_seconds"] != resp.Header.Get("Retry-After") {
		t.Errorf("ErrorInfo retry_after_seconds %q, header %q", info.GetMetadata()["retry_after_seconds"], resp.Header.Get("Retry-After"))
	}
}

func TestProtect_RateLimitPerTokenAndSDKKey(t *testing.T) {
	s := newSDKStack(t, gatewaytest.WithRateLimits(
		gatewaytest.RatePolicy{RPS: glacial, Burst: 3},
		gatewaytest.RatePolicy{RPS: glacial, Burst: 5},
	))
	tokenA, tokenB := s.read, s.acct.AdminToken
	path := "/v1/projects/" + s.project.GetId()

	for i := range 3 {
		if r := s.gw.Do(t, "GET", path, tokenA, nil); r.Status != http.StatusOK {
			t.Fatalf("request %d of token A's burst: %d %s", i+1, r.Status, r.Body)
		}
	}
	wantRateLimited(t, s.gw.Do(t, "GET", path, tokenA, nil))
	// Refused requests take no token and the refusal holds for any route.
	wantRateLimited(t, s.gw.Do(t, "GET", "/v1/projects", tokenA, nil))

	// Token B has its own bucket.
	if r := s.gw.Do(t, "GET", path, tokenB, nil); r.Status != http.StatusOK {
		t.Fatalf("token B limited by token A's use: %d %s", r.Status, r.Body)
	}

	// The SDK endpoints have their own buckets, by SDK key: token A's
	// exhaustion does not touch them, and each SDK key has its burst.
	prod, dev := s.envs["production"].GetSdkKey(), s.envs["development"].GetSdkKey()
	for i := range 5 {
		if r := s.gw.Do(t, "GET", "/datafiles/"+prod+".json", tokenA, nil); r.Status != http.StatusOK {
			t.Fatalf("datafile %d: %d %s", i+1, r.Status, r.Body)
		}
	}
	wantRateLimited(t, s.gw.Do(t, "GET", "/datafiles/"+prod+".json", "", nil))
	// Events with the same SDK key share its bucket.
	wantRateLimited(t, s.gw.Do(t, "POST", "/v1/events?sdk_key="+prod, "", `{}`))
	if r := s.gw.Do(t, "GET", "/datafiles/"+dev+".json", "", nil); r.Status != http.StatusOK {
		t.Fatalf("another SDK key limited: %d %s", r.Status, r.Body)
	}

	// Anonymous callers share their address's bucket.
	for i := range 3 {
		if r := s.gw.Do(t, "GET", "/openapi.json", "", nil); r.Status != http.StatusOK {
			t.Fatalf("anonymous request %d: %d", i+1, r.Status)
		}
	}
	wantRateLimited(t, s.gw.Do(t, "GET", "/openapi.json", "", nil))

	// Probes are never limited.
	for range 10 {
		if r := s.gw.Do(t, "GET", "/healthz", "", nil); r.Status != http.StatusOK {
			t.Fatalf("/healthz: %d", r.Status)
		}
	}
}

// With both in-flight slots held by requests that are inside the gateway
// (their backend call has arrived and is held there), the next request is
// refused with 503 OVERLOADED at once, the probes still answer, and once
// the held requests finish the gateway serves again.
func TestProtect_MaxInFlight(t *testing.T) {
	arrived := make(chan struct{}, 2)
	release := make(chan struct{})
	var holding atomic.Bool
	holding.Store(true)
	hold := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if strings.HasSuffix(info.FullMethod, "/ListProjects") && holding.Load() {
			arrived <- struct{}{}
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return h(ctx, req)
	}
	id := identitytest.Start(t, identitytest.WithUnaryInterceptor(hold))
	acct := id.NewAccount(t)
	token := id.Token(t, acct, identityv1.Scope_SCOPE_READ)
	gw := gatewaytest.Start(t, gatewaytest.Backends{Identity: "dns:///" + id.Addr}, gatewaytest.WithMaxInFlight(2))

	// Plain HTTP in the goroutines: gatewaytest's helpers may only fail the
	// test from its own goroutine.
	held := make(chan int, 2)
	for range 2 {
		go func() {
			req, _ := http.NewRequest("GET", gw.URL+"/v1/projects", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := gw.Client.Do(req)
			if err != nil {
				held <- 0
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			held <- resp.StatusCode
		}()
	}
	for range 2 {
		select {
		case <-arrived:
		case <-time.After(30 * time.Second):
			t.Fatal("the held requests never reached the backend")
		}
	}

	refused := gw.Do(t, "GET", "/v1/projects", token, nil)
	info := wantError(t, refused, http.StatusServiceUnavailable, codes.Unavailable, "OVERLOADED")
	if refused.Header.Get("Retry-After") != "1" || info.GetMetadata()["max_in_flight"] != "2" {
		t.Errorf("Retry-After %q, metadata %v", refused.Header.Get("Retry-After"), info.GetMetadata())
	}
	// Still alive, but not ready: a load balancer should send new
	// requests elsewhere until slots free up.
	if r := gw.Do(t, "GET", "/healthz", "", nil); r.Status != http.StatusOK {
		t.Errorf("/healthz while full: %d %s", r.Status, r.Body)
	}
	wantError(t, gw.Do(t, "GET", "/readyz", "", nil), http.StatusServiceUnavailable, codes.Unavailable, "NOT_READY")

	holding.Store(false)
	close(release)
	for range 2 {
		if status := <-held; status != http.StatusOK {
			t.Errorf("held request: %d, want 200", status)
		}
	}
	if r := gw.Do(t, "GET", "/v1/projects", token, nil); r.Status != http.StatusOK {
		t.Errorf("after the held requests ended: %d %s", r.Status, r.Body)
	}
}

// The request's deadline reaches the backend: the server-side default
// (LIFT_HTTP_REQUEST_TIMEOUT), and a client's shorter Grpc-Timeout. The
// bounds are exact, not timing: the deadline is set before the call, so
// what is left when it arrives can only be less.
func TestProtect_DeadlineReachesBackend(t *testing.T) {
	var mu sync.Mutex
	var left time.Duration
	observe := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		if strings.HasSuffix(info.FullMethod, "/ListProjects") {
			mu.Lock()
			left = -1
			if d, ok := ctx.Deadline(); ok {
				left = time.Until(d)
			}
			mu.Unlock()
		}
		return h(ctx, req)
	}
	id := identitytest.Start(t, identitytest.WithUnaryInterceptor(observe))
	acct := id.NewAccount(t)
	token := id.Token(t, acct, identityv1.Scope_SCOPE_READ)
	// 7 s is below pkg/grpcclient's 10 s per-call default, so only the
	// request deadline can explain a backend deadline under it.
	gw := gatewaytest.Start(t, gatewaytest.Backends{Identity: "dns:///" + id.Addr}, gatewaytest.WithRequestTimeout(7*time.Second))

	for _, tc := range []struct {
		name    string
		headers []string
		max     time.Duration
	}{
		{"server default", nil, 7 * time.Second},
		{"client Grpc-Timeout", []string{"Grpc-Timeout", "3S"}, 3 * time.Second},
		{"client asks for more than the server allows", []string{"Grpc-Timeout", "60S"}, 7 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := gw.Do(t, "GET", "/v1/projects", token, nil, tc.headers...); r.Status != http.StatusOK {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
			mu.Lock()
			defer mu.Unlock()
			if left <= 0 || left > tc.max {
				t.Errorf("backend saw %v left, want a deadline of at most %v", left, tc.max)
			}
		})
	}
}

// The SDK event endpoint has its own, higher body limit; the API keeps its
// own, and both answer 413 above theirs.
func TestProtect_BodyLimits(t *testing.T) {
	s := newSDKStack(t, gatewaytest.WithMaxBodyBytes(1024), gatewaytest.WithSDKMaxBodyBytes(8192))
	key := s.envs["production"].GetSdkKey()
	mid := `{"project_id":"` + s.project.GetId() + `","visitors":[],"pad":"` + strings.Repeat("x", 4000) + `"}`

	// 4 KB reaches results, which judges the (empty) batch.
	wantError(t, s.gw.Do(t, "POST", "/v1/events?sdk_key="+key, "", mid), http.StatusBadRequest, codes.InvalidArgument, "MALFORMED_BATCH")
	wantError(t, s.gw.Do(t, "POST", "/v1/projects", s.acct.AdminToken, mid), http.StatusRequestEntityTooLarge, codes.ResourceExhausted, "REQUEST_TOO_LARGE")
	big := strings.Repeat("x", 9000)
	wantError(t, s.gw.Do(t, "POST", "/v1/events?sdk_key="+key, "", big), http.StatusRequestEntityTooLarge, codes.ResourceExhausted, "REQUEST_TOO_LARGE")
	// Chunked (no Content-Length) is cut off at the limit too.
	wantError(t, s.gw.Do(t, "POST", "/v1/events?sdk_key="+key, "", io.NopCloser(strings.NewReader(big))), http.StatusRequestEntityTooLarge, codes.ResourceExhausted, "REQUEST_TOO_LARGE")
}
