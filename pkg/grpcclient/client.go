// Package grpcclient dials Lift services: round-robin over resolved
// addresses, automatic retries of idempotent methods on UNAVAILABLE, a
// default deadline, and propagation of request id and credentials.
package grpcclient

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	"github.com/liftlabs/lift/pkg/auth"
	"github.com/liftlabs/lift/pkg/requestid"
	"github.com/liftlabs/lift/pkg/servicecred"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
)

// DefaultTimeout is the deadline given to a call whose context has none.
const DefaultTimeout = 10 * time.Second

// The retry budget of a connection (gRPC retryThrottling): every failed
// attempt costs a token, every success returns RetryTokenRatio, and no
// retry is sent while the bucket holds RetryMaxTokens/2 or fewer. Against a
// backend that fails everything, a connection therefore sends at most
// RetryMaxTokens/2 retries in all, on top of one attempt per call.
const (
	RetryMaxTokens  = 10
	RetryTokenRatio = 0.1
)

// How a connection redials a backend it lost: the first attempt after
// ReconnectBaseDelay, each next one 1.6 times later (±20% jitter), never
// more than ReconnectMaxDelay apart, each given ReconnectConnectTimeout to
// connect. gRPC's default (1 s base, 120 s cap) left a restarted backend
// unused for about a second, every call meanwhile failing UNAVAILABLE;
// a 100 ms base picks it up within a few hundred milliseconds, and the
// 5 s cap keeps a dead backend to one attempt per 5 s per address once
// the backoff has grown (about 9 attempts in the first 10 s). A 5 s connect
// timeout still lets a slow handshake finish on a loaded network.
const (
	ReconnectBaseDelay      = 100 * time.Millisecond
	ReconnectMaxDelay       = 5 * time.Second
	ReconnectConnectTimeout = 5 * time.Second
)

func reconnectParams() grpc.ConnectParams {
	return grpc.ConnectParams{
		Backoff: backoff.Config{
			BaseDelay:  ReconnectBaseDelay,
			Multiplier: 1.6,
			Jitter:     0.2,
			MaxDelay:   ReconnectMaxDelay,
		},
		MinConnectTimeout: ReconnectConnectTimeout,
	}
}

type options struct {
	timeout     time.Duration
	maxAttempts int
	dialOpts    []grpc.DialOption
}

// Option changes Dial's defaults.
type Option func(*options)

// WithTimeout sets the default per-call deadline.
func WithTimeout(d time.Duration) Option { return func(o *options) { o.timeout = d } }

// WithMaxAttempts sets the attempts of a retried call, first one included
// (gRPC caps it at 5).
func WithMaxAttempts(n int) Option { return func(o *options) { o.maxAttempts = n } }

// WithDialOptions adds raw grpc.DialOptions (e.g. TLS credentials).
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(o *options) { o.dialOpts = append(o.dialOpts, opts...) }
}

// clientMetrics are registered once with the default Prometheus registry.
var clientMetrics = sync.OnceValue(func() *grpcprom.ClientMetrics {
	m := grpcprom.NewClientMetrics(grpcprom.WithClientHandlingTimeHistogram())
	prometheus.MustRegister(m)
	return m
})

// Dial returns a connection to target, e.g. "dns:///identity:9101". The
// connection is lazy: Dial does not wait for the server. Traffic is
// plaintext; Lift's services talk over a private network.
func Dial(target string, opts ...Option) (*grpc.ClientConn, error) {
	o := options{timeout: DefaultTimeout, maxAttempts: 4}
	for _, f := range opts {
		f(&o)
	}
	sc, err := serviceConfig(idempotentMethods(), o.maxAttempts)
	if err != nil {
		return nil, err
	}
	dialOpts := append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		// Lift's service credential on every call: internal methods
		// (lift.options.v1.internal) refuse callers without it.
		grpc.WithPerRPCCredentials(servicecred.PerRPC{}),
		grpc.WithDefaultServiceConfig(sc),
		grpc.WithConnectParams(reconnectParams()),
		// A client span per attempt, carrying the trace to the server as
		// W3C traceparent metadata.
		grpc.WithStatsHandler(otelgrpc.NewClientHandler(otelgrpc.WithFilter(filters.Not(filters.HealthCheck())))),
		// Order: deadline first so retries share the one deadline; metadata
		// before metrics so every attempt carries it.
		grpc.WithChainUnaryInterceptor(deadlineUnary(o.timeout), propagateUnary, clientMetrics().UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(propagateStream),
	}, o.dialOpts...)
	cc, err := grpc.NewClient(target, dialOpts...)
	if err != nil {
		return nil, fmt.Errorf("grpc client for %s: %w", target, err)
	}
	return cc, nil
}

type methodName struct {
	Service string `json:"service"`
	Method  string `json:"method,omitempty"`
}

// serviceConfig retries only the idempotent methods: a retried write could
// apply twice. Retries are bounded (maxAttempts, exponential backoff) and
// throttled (gRPC's token bucket: each failure costs 1 token, each success
// returns 0.1, and below half of maxTokens no retry is sent), so a struggling
// backend is not hit by a retry storm.
func serviceConfig(idempotent []methodName, maxAttempts int) (string, error) {
	type retryPolicy struct {
		MaxAttempts          int      `json:"maxAttempts"`
		InitialBackoff       string   `json:"initialBackoff"`
		MaxBackoff           string   `json:"maxBackoff"`
		BackoffMultiplier    float64  `json:"backoffMultiplier"`
		RetryableStatusCodes []string `json:"retryableStatusCodes"`
	}
	type methodConfig struct {
		Name        []methodName `json:"name"`
		RetryPolicy *retryPolicy `json:"retryPolicy,omitempty"`
	}
	cfg := map[string]any{
		"loadBalancingConfig": []map[string]any{{"round_robin": map[string]any{}}},
		"retryThrottling":     map[string]any{"maxTokens": RetryMaxTokens, "tokenRatio": RetryTokenRatio},
	}
	if len(idempotent) > 0 {
		cfg["methodConfig"] = []methodConfig{{
			Name: idempotent,
			RetryPolicy: &retryPolicy{
				MaxAttempts: maxAttempts, InitialBackoff: "0.05s", MaxBackoff: "1s",
				BackoffMultiplier: 2, RetryableStatusCodes: []string{"UNAVAILABLE"},
			},
		}}
	}
	b, err := json.Marshal(cfg)
	return string(b), err
}

func deadlineUnary(d time.Duration) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if _, ok := ctx.Deadline(); !ok && d > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
		}
		return invoker(ctx, method, req, reply, cc, opts...)
	}
}

// outgoing copies the request id and the caller's credential from the
// incoming request (when ctx belongs to one) to the outgoing call, unless
// the caller set them explicitly.
func outgoing(ctx context.Context) context.Context {
	out, _ := metadata.FromOutgoingContext(ctx)
	if len(out.Get(requestid.MetadataKey)) == 0 {
		if id := requestid.FromContext(ctx); id != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, requestid.MetadataKey, id)
		}
	}
	if len(out.Get(auth.MetadataKey)) == 0 {
		in, _ := metadata.FromIncomingContext(ctx)
		if v := in.Get(auth.MetadataKey); len(v) > 0 {
			ctx = metadata.AppendToOutgoingContext(ctx, auth.MetadataKey, v[0])
		}
	}
	return ctx
}

func propagateUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return invoker(outgoing(ctx), method, req, reply, cc, opts...)
}

func propagateStream(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return streamer(outgoing(ctx), desc, cc, method, opts...)
}
