// Command gateway is Lift's REST front: it serves every public RPC under
// /v1 by calling the services over gRPC, the /v2 composite endpoints (also
// over gRPC on LIFT_GRPC_ADDR), plus the OpenAPI documents, the docs page
// and the probes.
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/liftlabs/lift/gateway/internal/httpmw"
	"github.com/liftlabs/lift/gateway/internal/ratelimit"
	"github.com/liftlabs/lift/gateway/internal/router"
	v2 "github.com/liftlabs/lift/gateway/internal/v2"
	"github.com/liftlabs/lift/pkg/admin"
	"github.com/liftlabs/lift/pkg/config"
	"github.com/liftlabs/lift/pkg/logging"
	"github.com/liftlabs/lift/pkg/tracing"
)

// defaultSDKMaxBodyBytes (10 MiB) fits a full SDK event batch (results
// accepts up to 10,000 events, a few hundred bytes each).
const defaultSDKMaxBodyBytes = 10 << 20

func main() {
	l := config.New()
	httpAddr := l.String("LIFT_HTTP_ADDR", ":8080")
	adminAddr := l.String("LIFT_ADMIN_ADDR", ":9204")
	grpcAddr := l.String("LIFT_GRPC_ADDR", ":9104")
	cfg := router.Config{
		Backends: router.Backends{
			Identity:    l.String("LIFT_IDENTITY_ADDR", "dns:///127.0.0.1:9101"),
			Experiments: l.String("LIFT_EXPERIMENTS_ADDR", "dns:///127.0.0.1:9102"),
			Results:     l.String("LIFT_RESULTS_ADDR", "dns:///127.0.0.1:9103"),
		},
		MaxBodyBytes:    int64(l.Int("LIFT_HTTP_MAX_BODY_BYTES", httpmw.DefaultMaxBodyBytes)),
		SDKMaxBodyBytes: int64(l.Int("LIFT_SDK_MAX_BODY_BYTES", defaultSDKMaxBodyBytes)),
		APIRateLimit: ratelimit.Policy{
			RPS:   float64(l.Int("LIFT_RATE_LIMIT_RPS", 100)),
			Burst: l.Int("LIFT_RATE_LIMIT_BURST", 200),
		},
		SDKRateLimit: ratelimit.Policy{
			RPS:   float64(l.Int("LIFT_SDK_RATE_LIMIT_RPS", 1000)),
			Burst: l.Int("LIFT_SDK_RATE_LIMIT_BURST", 2000),
		},
		MaxInFlight:    l.Int("LIFT_HTTP_MAX_IN_FLIGHT", 1000),
		RequestTimeout: l.Duration("LIFT_HTTP_REQUEST_TIMEOUT", 30*time.Second),
		AuthCacheTTL:   l.Duration("LIFT_AUTH_CACHE_TTL", 10*time.Second),
		V2: v2.Options{
			BackendTimeout: l.Duration("LIFT_V2_BACKEND_TIMEOUT", v2.DefaultBackendTimeout),
			MaxInFlight:    l.Int("LIFT_V2_MAX_IN_FLIGHT", v2.DefaultMaxInFlight),
		},
	}
	level := l.LogLevel()
	trace := tracing.Load(l)
	l.ExitOnError()
	var bad []string
	for name, n := range map[string]int64{
		"LIFT_HTTP_MAX_BODY_BYTES": cfg.MaxBodyBytes, "LIFT_SDK_MAX_BODY_BYTES": cfg.SDKMaxBodyBytes,
	} {
		if n <= 0 {
			bad = append(bad, fmt.Sprintf("%s=%d: want a positive number of bytes", name, n))
		}
	}
	for name, n := range map[string]int64{
		"LIFT_RATE_LIMIT_RPS": int64(cfg.APIRateLimit.RPS), "LIFT_RATE_LIMIT_BURST": int64(cfg.APIRateLimit.Burst),
		"LIFT_SDK_RATE_LIMIT_RPS": int64(cfg.SDKRateLimit.RPS), "LIFT_SDK_RATE_LIMIT_BURST": int64(cfg.SDKRateLimit.Burst),
		"LIFT_HTTP_MAX_IN_FLIGHT": int64(cfg.MaxInFlight),
	} {
		if n < 0 {
			bad = append(bad, fmt.Sprintf("%s=%d: want 0 (no limit) or more", name, n))
		}
	}
	if cfg.V2.BackendTimeout <= 0 {
		bad = append(bad, fmt.Sprintf("LIFT_V2_BACKEND_TIMEOUT=%s: want a positive duration", cfg.V2.BackendTimeout))
	}
	if cfg.V2.MaxInFlight <= 0 {
		bad = append(bad, fmt.Sprintf("LIFT_V2_MAX_IN_FLIGHT=%d: want a positive number", cfg.V2.MaxInFlight))
	}
	if cfg.RequestTimeout < 0 {
		bad = append(bad, fmt.Sprintf("LIFT_HTTP_REQUEST_TIMEOUT=%s: want 0 (none) or more", cfg.RequestTimeout))
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		fmt.Fprintf(os.Stderr, "invalid configuration:\n%s\n", strings.Join(bad, "\n"))
		os.Exit(2)
	}

	logger := logging.New("gateway", level)
	cfg.Logger = logger
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	stopTracing, err := tracing.Setup(ctx, "gateway", trace)
	if err != nil {
		logger.Error("start tracing", "error", err.Error())
		os.Exit(1)
	}
	defer stopTracing()
	if grpcAddr != "" {
		lis, err := net.Listen("tcp", grpcAddr)
		if err != nil {
			logger.Error("listen for gRPC", "addr", grpcAddr, "error", err.Error())
			os.Exit(1)
		}
		cfg.GRPC = lis
	}
	gw, err := router.New(ctx, cfg)
	if err != nil {
		logger.Error("start gateway", "error", err.Error())
		os.Exit(1)
	}
	defer func() { _ = gw.Close() }()
	go admin.Serve(ctx, adminAddr, logger)
	if err := run(ctx, httpAddr, gw, logger); err != nil {
		logger.Error("gateway stopped", "error", err.Error())
		os.Exit(1)
	}
}
