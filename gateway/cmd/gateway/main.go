// Command gateway is Lift's REST front: it serves every public RPC under
// /v1 by calling the services over gRPC, plus the OpenAPI documents, the
// docs page and the probes.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/liftlabs/lift/gateway/internal/httpmw"
	"github.com/liftlabs/lift/gateway/internal/router"
	"github.com/liftlabs/lift/pkg/admin"
	"github.com/liftlabs/lift/pkg/config"
	"github.com/liftlabs/lift/pkg/logging"
)

func main() {
	l := config.New()
	httpAddr := l.String("LIFT_HTTP_ADDR", ":8080")
	adminAddr := l.String("LIFT_ADMIN_ADDR", ":9204")
	cfg := router.Config{
		Backends: router.Backends{
			Identity:    l.String("LIFT_IDENTITY_ADDR", "dns:///127.0.0.1:9101"),
			Experiments: l.String("LIFT_EXPERIMENTS_ADDR", "dns:///127.0.0.1:9102"),
			Results:     l.String("LIFT_RESULTS_ADDR", "dns:///127.0.0.1:9103"),
		},
		MaxBodyBytes: int64(l.Int("LIFT_HTTP_MAX_BODY_BYTES", httpmw.DefaultMaxBodyBytes)),
	}
	level := l.LogLevel()
	l.ExitOnError()
	if cfg.MaxBodyBytes <= 0 {
		fmt.Fprintf(os.Stderr, "invalid configuration:\nLIFT_HTTP_MAX_BODY_BYTES=%d: want a positive number of bytes\n", cfg.MaxBodyBytes)
		os.Exit(2)
	}

	logger := logging.New("gateway", level)
	cfg.Logger = logger
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	gw, err := router.New(ctx, cfg)
	if err != nil {
		logger.Error("start gateway", "error", err.Error())
		os.Exit(1)
	}
	defer func() { _ = gw.Close() }()
	go admin.Serve(ctx, adminAddr, logger)
	if err := serve(ctx, httpAddr, gw, logger); err != nil {
		logger.Error("gateway stopped", "error", err.Error())
		os.Exit(1)
	}
}
