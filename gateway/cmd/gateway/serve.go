package main

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/liftlabs/lift/gateway/internal/router"
)

// Shutdown timing. Everything after SIGTERM shares one deadline,
// shutdownBudget, below Kubernetes' default 30 s grace period: HTTP and the
// gRPC server drain in parallel (HTTP for at most httpDrain, gRPC for
// pkg/grpcserver.DrainTimeout, 20 s), then queued impressions are sent and
// connections closed with what remains.
const (
	shutdownBudget = 25 * time.Second
	httpDrain      = 20 * time.Second
)

// run serves HTTP and the gateway's gRPC server until ctx ends (or one of
// them fails), then shuts the gateway down as described above. /readyz
// answers 503 from the first moment of the shutdown.
func run(ctx context.Context, httpAddr string, gw *router.Gateway, logger *slog.Logger) error {
	lis, err := net.Listen("tcp", httpAddr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           gw,
		ReadHeaderTimeout: 10 * time.Second,
		// A backstop only: request bodies have their own minimum upload
		// rate (LIFT_HTTP_MIN_UPLOAD_BYTES_PER_SECOND), which moves this
		// deadline for a body still arriving fast enough.
		ReadTimeout: 60 * time.Second,
		IdleTimeout: 120 * time.Second,
		ErrorLog:    slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	serveCtx, stopServing := context.WithCancel(ctx)
	defer stopServing()
	grpcDone := make(chan error, 1)
	go func() { grpcDone <- gw.ServeGRPC(serveCtx) }()
	httpDone := make(chan error, 1)
	go func() { httpDone <- srv.Serve(lis) }()
	logger.Info("gateway listening", "addr", lis.Addr().String())

	var errs []error
	select {
	case <-ctx.Done():
	case err := <-httpDone:
		errs = append(errs, err)
		httpDone = nil
	case err := <-grpcDone:
		errs = append(errs, err)
		grpcDone = nil
	}
	logger.Info("shutting down")
	start := time.Now()
	gw.Drain()
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownBudget)
	defer cancel()
	stopServing() // the gRPC server drains from here, in parallel with HTTP
	hctx, hcancel := context.WithTimeout(sctx, httpDrain)
	errs = append(errs, srv.Shutdown(hctx))
	hcancel()
	if httpDone != nil {
		if err := <-httpDone; !errors.Is(err, http.ErrServerClosed) {
			errs = append(errs, err)
		}
	}
	if grpcDone != nil {
		errs = append(errs, <-grpcDone)
	}
	errs = append(errs, gw.Shutdown(sctx))
	logger.Info("gateway stopped", "shutdown_seconds", time.Since(start).Seconds())
	return errors.Join(errs...)
}
