// Package gatewaytest runs the real gateway handler on a loopback HTTP
// server against the given backends, so end-to-end tests in every module
// share one harness.
package gatewaytest

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/liftlabs/lift/gateway/internal/httpmw"
	"github.com/liftlabs/lift/gateway/internal/router"
	"github.com/liftlabs/lift/pkg/admin"
	"github.com/liftlabs/lift/pkg/grpcserver"
	"github.com/liftlabs/lift/pkg/grpctest"
	"github.com/liftlabs/lift/pkg/ratelimit"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Backends are gRPC targets, e.g. "dns:///"+identityEnv.Addr; empty ones
// are not served.
type Backends = router.Backends

// Option changes the gateway's test configuration.
type Option func(*router.Config)

// WithMaxBodyBytes sets LIFT_HTTP_MAX_BODY_BYTES.
func WithMaxBodyBytes(n int64) Option { return func(c *router.Config) { c.MaxBodyBytes = n } }

// WithSDKMaxBodyBytes sets LIFT_SDK_MAX_BODY_BYTES.
func WithSDKMaxBodyBytes(n int64) Option { return func(c *router.Config) { c.SDKMaxBodyBytes = n } }

// RatePolicy is a token bucket: requests per second and burst.
type RatePolicy = ratelimit.Policy

// WithRateLimits sets the API and SDK token buckets (LIFT_RATE_LIMIT_* and
// LIFT_SDK_RATE_LIMIT_*); by default tests run without rate limits.
func WithRateLimits(api, sdk RatePolicy) Option {
	return func(c *router.Config) { c.APIRateLimit, c.SDKRateLimit = api, sdk }
}

// WithMaxInFlight sets LIFT_HTTP_MAX_IN_FLIGHT.
func WithMaxInFlight(n int) Option { return func(c *router.Config) { c.MaxInFlight = n } }

// WithMaxInFlightPerAddr sets LIFT_HTTP_MAX_IN_FLIGHT_PER_ADDR.
func WithMaxInFlightPerAddr(n int) Option {
	return func(c *router.Config) { c.MaxInFlightPerAddr = n }
}

// WithFailureRateLimit sets LIFT_AUTH_FAILURE_RATE_LIMIT_* (each client
// address's bucket of failed credentials); by default tests run without.
func WithFailureRateLimit(p RatePolicy) Option {
	return func(c *router.Config) { c.FailureRateLimit = p }
}

// WithUploadRate sets LIFT_HTTP_UPLOAD_GRACE and
// LIFT_HTTP_MIN_UPLOAD_BYTES_PER_SECOND.
func WithUploadRate(grace time.Duration, minBytesPerSecond int64) Option {
	return func(c *router.Config) {
		c.UploadRate = httpmw.UploadRate{Grace: grace, MinBytesPerSecond: minBytesPerSecond}
	}
}

// WithGRPCLimits sets the limits of the gateway's own gRPC server.
func WithGRPCLimits(l grpcserver.Limits) Option { return func(c *router.Config) { c.GRPCLimits = l } }

// WithBodyMemory sets LIFT_HTTP_BODY_MEMORY_BYTES.
func WithBodyMemory(n int64) Option { return func(c *router.Config) { c.BodyMemory = n } }

// WithRequestTimeout sets LIFT_HTTP_REQUEST_TIMEOUT.
func WithRequestTimeout(d time.Duration) Option {
	return func(c *router.Config) { c.RequestTimeout = d }
}

// WithLogWriter sends the gateway's log lines to w.
func WithLogWriter(w io.Writer) Option {
	return func(c *router.Config) { c.Logger = grpctest.Logger("gateway", w) }
}

// WithV2BackendTimeout sets LIFT_V2_BACKEND_TIMEOUT.
func WithV2BackendTimeout(d time.Duration) Option {
	return func(c *router.Config) { c.V2.BackendTimeout = d }
}

// WithAuthCacheTTL sets LIFT_AUTH_CACHE_TTL of the gateway's own token
// checks (its gRPC server, behind /v2).
func WithAuthCacheTTL(d time.Duration) Option { return func(c *router.Config) { c.AuthCacheTTL = d } }

// WithV2MaxInFlight sets LIFT_V2_MAX_IN_FLIGHT.
func WithV2MaxInFlight(n int) Option { return func(c *router.Config) { c.V2.MaxInFlight = n } }

// Env is a running gateway.
type Env struct {
	// URL is the base URL, e.g. "http://127.0.0.1:41234".
	URL    string
	Client *http.Client
	// GRPCAddr is the host:port of the gateway's own gRPC server (the /v2
	// GatewayService); empty unless all three backends are configured.
	GRPCAddr string
	// AdminURL serves what the binary serves on its admin port (among
	// them the deep backend check, GET /readyz/backends).
	AdminURL string
	stop     func()
}

// Admin GETs path from the admin endpoints.
func (e *Env) Admin(t testing.TB, path string) *Response {
	t.Helper()
	resp, err := e.Client.Get(e.AdminURL + path)
	if err != nil {
		t.Fatalf("GET admin %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET admin %s: %v", path, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}
}

// Close shuts the gateway down as the binary does on SIGTERM: the servers
// stop, then the gateway sends what it queued (impressions) and closes its
// connections. The test's cleanup does the same if Close was not called.
func (e *Env) Close() { e.stop() }

// Start serves the gateway until the test ends. With all three backends it
// also serves /v2 and its gRPC server on a loopback port. Set
// LIFT_TEST_LOG=1 to see its logs.
func Start(t testing.TB, backends Backends, opts ...Option) *Env {
	t.Helper()
	// Spans as with export on: tests may install a recording provider.
	cfg := router.Config{Backends: backends, Logger: grpctest.Logger("gateway", nil), ExportSpans: true}
	for _, o := range opts {
		o(&cfg)
	}
	if backends.Identity != "" && backends.Experiments != "" && backends.Results != "" {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("gatewaytest: %v", err)
		}
		cfg.GRPC = lis
	}
	gw, err := router.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("gatewaytest: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	grpcDone := make(chan error, 1)
	go func() { grpcDone <- gw.ServeGRPC(ctx) }()
	srv := httptest.NewServer(gw)
	adminSrv := httptest.NewServer(admin.Handler(router.AdminRoutes(gw)...))
	stop := sync.OnceFunc(func() {
		adminSrv.Close()
		srv.Close()
		cancel()
		if err := <-grpcDone; err != nil {
			t.Errorf("gatewaytest: gRPC server: %v", err)
		}
		_ = gw.Close()
	})
	t.Cleanup(stop)
	env := &Env{URL: srv.URL, Client: srv.Client(), AdminURL: adminSrv.URL, stop: stop}
	if cfg.GRPC != nil {
		env.GRPCAddr = cfg.GRPC.Addr().String()
	}
	return env
}

// Response is a fully read HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do sends a request with an optional Bearer token and body, and reads the
// whole response. body may be nil, a string or []byte (sent as is), an
// io.Reader (sent chunked, without Content-Length), or any other value
// (sent as JSON). headers are extra "Key", "Value" pairs.
func (e *Env) Do(t testing.TB, method, path, token string, body any, headers ...string) *Response {
	t.Helper()
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	case []byte:
		r = bytes.NewReader(b)
	case io.Reader:
		r = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatalf("gatewaytest: encode body: %v", err)
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.URL+path, r)
	if err != nil {
		t.Fatalf("gatewaytest: %v", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.Client.Do(req)
	if err != nil {
		t.Fatalf("gatewaytest: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("gatewaytest: read %s %s: %v", method, path, err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// Must is Do for steps that must succeed: it fails the test unless the
// status is want, and decodes the body into out when out is not nil.
func (e *Env) Must(t testing.TB, method, path, token string, body any, want int, out any) *Response {
	t.Helper()
	resp := e.Do(t, method, path, token, body)
	if resp.Status != want {
		t.Fatalf("%s %s: status %d, want %d; body %s", method, path, resp.Status, want, resp.Body)
	}
	if out != nil {
		resp.JSON(t, out)
	}
	return resp
}

// JSON decodes the body into v: a proto message with protojson (unknown
// fields fail, so responses must match the generated types), anything else
// with encoding/json.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	var err error
	if m, ok := v.(proto.Message); ok {
		err = protojson.Unmarshal(r.Body, m)
	} else {
		err = json.Unmarshal(r.Body, v)
	}
	if err != nil {
		t.Fatalf("gatewaytest: decode %s: %v", r.Body, err)
	}
}

// Error decodes an error body as google.rpc.Status, strictly: unknown
// fields fail, so the test proves the body has exactly the standard shape.
func (r *Response) Error(t testing.TB) *spb.Status {
	t.Helper()
	st := &spb.Status{}
	if err := protojson.Unmarshal(r.Body, st); err != nil {
		t.Fatalf("gatewaytest: error body is not a google.rpc.Status: %v: %s", err, r.Body)
	}
	return st
}

// LogBuffer is a log destination (WithLogWriter, the services' LogWriter
// options) that the processes' many goroutines may write to at once;
// String is what was logged so far.
type LogBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *LogBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *LogBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
