// Package grpcserver builds the gRPC server every Lift service runs: one
// ordered interceptor chain, health, reflection, metrics and graceful stop.
package grpcserver

import (
	"log/slog"
	"sync"

	"buf.build/go/protovalidate"
	grpcprom "github.com/grpc-ecosystem/go-grpc-middleware/providers/prometheus"
	pvmw "github.com/grpc-ecosystem/go-grpc-middleware/v2/interceptors/protovalidate"
	"github.com/liftlabs/lift/pkg/auth"
	"github.com/liftlabs/lift/pkg/nulbyte"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc/filters"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"
)

// Options configures New.
type Options struct {
	// Logger receives request logs; defaults to slog.Default().
	Logger *slog.Logger
	// Authenticator verifies API tokens. Required: every server enforces
	// the access option of its methods.
	Authenticator auth.Authenticator
	// ExtraUnary run after validation, right before the handler.
	ExtraUnary []grpc.UnaryServerInterceptor
	// ServerOptions are appended to the grpc.NewServer options.
	ServerOptions []grpc.ServerOption
	// Limits bound calls at once and per caller; the zero value means
	// DefaultLimits.
	Limits Limits
}

// validator is built once per process: compiling the CEL rules is the
// expensive part and the result is safe for concurrent use.
var validator = sync.OnceValues(func() (protovalidate.Validator, error) { return protovalidate.New() })

// Metrics are the process-wide gRPC server metrics, registered once with the
// default Prometheus registry (served by pkg/admin on /metrics).
var Metrics = sync.OnceValue(func() *grpcprom.ServerMetrics {
	// Latency is lift_grpc_server_handling_seconds (metrics.go): this
	// library's histogram cannot be labelled by code.
	m := grpcprom.NewServerMetrics()
	prometheus.MustRegister(m)
	return m
})

// healthServers remembers each server's health service so Serve can flip it
// to NOT_SERVING before draining.
var healthServers sync.Map // *grpc.Server → *health.Server

// New returns a server with Lift's interceptor chain, grpc.health.v1 and
// reflection registered. Register the service, then call Serve.
func New(o Options) *grpc.Server {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Authenticator == nil {
		panic("grpcserver.New: Options.Authenticator is required")
	}
	v, err := validator()
	if err != nil {
		panic("protovalidate: " + err.Error()) // only with broken generated code
	}
	if o.Limits == (Limits{}) {
		o.Limits = DefaultLimits
	}
	lim := newLimiter(o.Limits)
	m := Metrics()
	// The order matters, outermost first:
	//  0. (stats handler, before any interceptor) the OpenTelemetry server
	//     span, continuing the caller's trace (W3C traceparent metadata);
	//  1. request id: everything after logs and returns it;
	//  2. metrics (counts, latency, in flight) and logging see the final
	//     code, after error mapping;
	//  3. error mapping turns apierr/driver/unknown errors into statuses, so it
	//     must wrap everything that can fail, including recovery and auth;
	//  4. recovery turns a handler panic into an error that (3) masks as
	//     Internal with the request id;
	//  5. internal methods (lift.options.v1.internal) refuse callers without
	//     Lift's service credential, before anything else is spent on them;
	//     then auth before validation: an unauthenticated caller learns
	//     nothing about the request shape;
	//  6. limits (calls at once, per-caller rate) once the caller is known,
	//     before validation spends anything on the request;
	//  7. validation right before the handler: the declared rules, then no
	//     NUL in any string (Postgres text cannot hold one).
	unary := append([]grpc.UnaryServerInterceptor{
		requestIDUnary,
		m.UnaryServerInterceptor(),
		metricsUnary,
		loggingUnary(o.Logger),
		errorsUnary,
		recoveryUnary,
		internalUnary,
		auth.UnaryServerInterceptor(o.Authenticator),
		lim.unary,
		pvmw.UnaryServerInterceptor(v),
		nulbyte.UnaryServerInterceptor(),
	}, o.ExtraUnary...)
	stream := []grpc.StreamServerInterceptor{
		requestIDStream,
		m.StreamServerInterceptor(),
		metricsStream,
		recoveryStream,
		internalStream,
		auth.StreamServerInterceptor(o.Authenticator),
		lim.stream,
		pvmw.StreamServerInterceptor(v),
	}
	opts := append([]grpc.ServerOption{
		// Health probes would make a trace every few seconds each.
		grpc.StatsHandler(otelgrpc.NewServerHandler(otelgrpc.WithFilter(filters.Not(filters.HealthCheck())))),
		grpc.ChainUnaryInterceptor(unary...), grpc.ChainStreamInterceptor(stream...)}, o.ServerOptions...)
	srv := grpc.NewServer(opts...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(srv, hs)
	healthServers.Store(srv, hs)
	reflection.Register(srv)
	return srv
}
