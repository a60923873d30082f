// Command gateway is Lift's REST front: it serves every public RPC under
// /v1 by calling the services over gRPC, the /v2 composite endpoints (also
// over gRPC on LIFT_GRPC_ADDR), plus the OpenAPI documents, the docs page
// and the probes.
package main

import (
	"context"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/liftlabs/lift/gateway/internal/admit"
	"github.com/liftlabs/lift/gateway/internal/httpmw"
	"github.com/liftlabs/lift/gateway/internal/router"
	"github.com/liftlabs/lift/gateway/internal/sdk"
	v2 "github.com/liftlabs/lift/gateway/internal/v2"
	"github.com/liftlabs/lift/pkg/admin"
	"github.com/liftlabs/lift/pkg/config"
	"github.com/liftlabs/lift/pkg/logging"
	"github.com/liftlabs/lift/pkg/ratelimit"
	"github.com/liftlabs/lift/pkg/servicecred"
	"github.com/liftlabs/lift/pkg/tracing"
)

// defaultSDKMaxBodyBytes is the largest SDK event batch results accepts
// (the batch field's rule in IngestOptimizelyBatchRequest, 4,000,000
// bytes; results' gRPC receive limit is that plus framing): one limit,
// refused with 413 here before anything is sent on.
const defaultSDKMaxBodyBytes = 4_000_000

func main() {
	// os.Exit only here, after gateway has returned: its deferred Close
	// (the impression flush, the connections) must run.
	if !gateway() {
		os.Exit(1)
	}
}

// gateway runs the gateway until SIGTERM or SIGINT and reports whether it
// ended cleanly; failures are logged.
func gateway() bool {
	l := config.New()
	httpAddr := l.String("LIFT_HTTP_ADDR", ":8080")
	adminAddr := l.Listener("LIFT_ADMIN_ADDR", ":9204")
	grpcAddr := l.Listener("LIFT_GRPC_ADDR", ":9104")
	cfg := router.Config{
		Backends: router.Backends{
			Identity:    l.String("LIFT_IDENTITY_ADDR", "dns:///127.0.0.1:9101"),
			Experiments: l.String("LIFT_EXPERIMENTS_ADDR", "dns:///127.0.0.1:9102"),
			Results:     l.String("LIFT_RESULTS_ADDR", "dns:///127.0.0.1:9103"),
		},
		MaxBodyBytes:    int64(l.IntAtLeast("LIFT_HTTP_MAX_BODY_BYTES", httpmw.DefaultMaxBodyBytes, 1)),
		SDKMaxBodyBytes: int64(l.IntAtLeast("LIFT_SDK_MAX_BODY_BYTES", defaultSDKMaxBodyBytes, 1)),
		APIRateLimit: ratelimit.Policy{
			RPS:   float64(l.IntAtLeast("LIFT_RATE_LIMIT_RPS", 100, 0)),
			Burst: l.IntAtLeast("LIFT_RATE_LIMIT_BURST", 200, 0),
		},
		SDKRateLimit: ratelimit.Policy{
			RPS:   float64(l.IntAtLeast("LIFT_SDK_RATE_LIMIT_RPS", 1000, 0)),
			Burst: l.IntAtLeast("LIFT_SDK_RATE_LIMIT_BURST", 2000, 0),
		},
		// Off by default: a valid SDK key's decides are not capped (Agent
		// has no cap); keys the edge does not hold fall under the SDK limit.
		DecideRateLimit: ratelimit.Policy{
			RPS:   float64(l.IntAtLeast("LIFT_DECIDE_RATE_LIMIT_RPS", 0, 0)),
			Burst: l.IntAtLeast("LIFT_DECIDE_RATE_LIMIT_BURST", 0, 0),
		},
		Engines: sdk.EngineOptions{
			Max:  l.IntAtLeast("LIFT_EDGE_MAX_ENGINES", 10_000, 1),
			Idle: l.Duration("LIFT_EDGE_ENGINE_IDLE", 10*time.Minute),
		},
		FailureRateLimit: ratelimit.Policy{
			RPS:   float64(l.IntAtLeast("LIFT_AUTH_FAILURE_RATE_LIMIT_RPS", int(admit.DefaultFailures.RPS), 0)),
			Burst: l.IntAtLeast("LIFT_AUTH_FAILURE_RATE_LIMIT_BURST", admit.DefaultFailures.Burst, 0),
		},
		MaxInFlight:        l.IntAtLeast("LIFT_HTTP_MAX_IN_FLIGHT", 1000, 0),
		MaxInFlightPerAddr: l.IntAtLeast("LIFT_HTTP_MAX_IN_FLIGHT_PER_ADDR", 100, 0),
		BodyMemory:         int64(l.IntAtLeast("LIFT_HTTP_BODY_MEMORY_BYTES", httpmw.DefaultBodyMemory, 0)),
		UploadRate: httpmw.UploadRate{
			Grace:             l.Duration("LIFT_HTTP_UPLOAD_GRACE", httpmw.DefaultUploadRate.Grace),
			MinBytesPerSecond: int64(l.IntAtLeast("LIFT_HTTP_MIN_UPLOAD_BYTES_PER_SECOND", int(httpmw.DefaultUploadRate.MinBytesPerSecond), 1)),
		},
		RequestTimeout: l.Duration("LIFT_HTTP_REQUEST_TIMEOUT", 30*time.Second),
		AuthCacheTTL:   l.Duration("LIFT_AUTH_CACHE_TTL", 10*time.Second),
		V2: v2.Options{
			BackendTimeout: l.Duration("LIFT_V2_BACKEND_TIMEOUT", v2.DefaultBackendTimeout),
			MaxInFlight:    l.IntAtLeast("LIFT_V2_MAX_IN_FLIGHT", v2.DefaultMaxInFlight, 1),
		},
	}
	level := l.LogLevel()
	trace := tracing.Load(l)
	cfg.ExportSpans = trace.Exporter != "none"
	servicecred.Load(l)
	l.ExitOnError()
	logger := logging.New("gateway", level)
	cfg.Logger = logger
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	stopTracing, err := tracing.Setup(ctx, "gateway", trace)
	if err != nil {
		logger.Error("start tracing", "error", err.Error())
		return false
	}
	defer stopTracing()
	if grpcAddr != "" {
		lis, err := net.Listen("tcp", grpcAddr)
		if err != nil {
			logger.Error("listen for gRPC", "addr", grpcAddr, "error", err.Error())
			return false
		}
		cfg.GRPC = lis
	}
	gw, err := router.New(ctx, cfg)
	if err != nil {
		logger.Error("start gateway", "error", err.Error())
		return false
	}
	defer func() { _ = gw.Close() }() // run has shut it down already, unless it failed to start
	go admin.Serve(ctx, adminAddr, logger, router.AdminRoutes(gw)...)
	if err := run(ctx, httpAddr, gw, logger); err != nil {
		logger.Error("gateway stopped", "error", err.Error())
		return false
	}
	return true
}
