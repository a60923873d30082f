// Package v2 implements lift.gateway.v2.GatewayService, the composite
// endpoints: each answers in one call what a client would otherwise put
// together from several /v1 calls, by calling the backends concurrently
// over gRPC (never a database), each call with its own deadline.
//
// The service runs on the gateway's own gRPC server (pkg/grpcserver, so
// auth, validation, error mapping, logging and metrics are the same as in
// every service); the REST side under /v2 is grpc-gateway calling that
// server over gRPC, exactly as /v1 calls the backends.
package v2

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"github.com/liftlabs/lift/pkg/auth"
	"github.com/liftlabs/lift/pkg/grpcserver"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	gatewayv2 "github.com/liftlabs/lift/proto/gen/go/lift/gateway/v2"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"google.golang.org/grpc"
)

var _ gatewayv2.GatewayServiceServer = (*Server)(nil)

// Defaults of Options.
const (
	DefaultBackendTimeout = 2 * time.Second
	DefaultMaxInFlight    = 8
)

// Options tune the composite endpoints.
type Options struct {
	// BackendTimeout is the deadline of each backend call
	// (LIFT_V2_BACKEND_TIMEOUT); a call that exceeds it fails its part
	// with DEADLINE_EXCEEDED.
	BackendTimeout time.Duration
	// MaxInFlight bounds the result summaries one overview fetches at a
	// time (LIFT_V2_MAX_IN_FLIGHT).
	MaxInFlight int
}

// Backends are the clients of the services the endpoints compose. Their
// connections must forward the caller's credential and request id
// (pkg/grpcclient does).
type Backends struct {
	Identity    identityv1.IdentityServiceClient
	Experiments experimentsv1.ExperimentsServiceClient
	Results     resultsv1.ResultsServiceClient
}

// Server implements GatewayService.
type Server struct {
	gatewayv2.UnimplementedGatewayServiceServer
	backends Backends
	opts     Options
}

// New returns the service; zero options take the defaults.
func New(b Backends, o Options) *Server {
	if o.BackendTimeout <= 0 {
		o.BackendTimeout = DefaultBackendTimeout
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = DefaultMaxInFlight
	}
	return &Server{backends: b, opts: o}
}

// NewGRPCServer returns the chassis gRPC server (pkg/grpcserver's chain,
// health, reflection) with the service registered. authn checks callers'
// tokens; the backends check them again, as for any caller. limits (zero:
// grpcserver.DefaultLimits) keep direct callers to what REST allows.
func NewGRPCServer(s *Server, authn auth.Authenticator, logger *slog.Logger, limits grpcserver.Limits) *grpc.Server {
	srv := grpcserver.New(grpcserver.Options{Logger: logger, Authenticator: authn, Limits: limits})
	gatewayv2.RegisterGatewayServiceServer(srv, s)
	return srv
}

// Register adds the /v2 REST routes to mux, calling the gateway's gRPC
// server over conn so REST callers go through its whole interceptor chain.
func Register(ctx context.Context, mux *runtime.ServeMux, conn grpc.ClientConnInterface) error {
	if err := gatewayv2.RegisterGatewayServiceHandlerClient(ctx, mux, gatewayv2.NewGatewayServiceClient(conn)); err != nil {
		return fmt.Errorf("register /v2 handlers: %w", err)
	}
	return nil
}
