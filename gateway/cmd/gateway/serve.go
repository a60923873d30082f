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

// run serves HTTP and the gateway's gRPC server until ctx ends. The gRPC
// server drains only after HTTP has: in-flight /v2 REST requests still need
// it. If the gRPC server fails, HTTP stops too.
func run(ctx context.Context, httpAddr string, gw *router.Gateway, logger *slog.Logger) error {
	httpCtx, stopHTTP := context.WithCancel(ctx)
	defer stopHTTP()
	grpcCtx, stopGRPC := context.WithCancel(context.WithoutCancel(ctx))
	grpcDone := make(chan error, 1)
	go func() {
		err := gw.ServeGRPC(grpcCtx)
		if err != nil {
			stopHTTP()
		}
		grpcDone <- err
	}()
	httpErr := serve(httpCtx, httpAddr, gw, logger)
	stopGRPC()
	return errors.Join(httpErr, <-grpcDone)
}

// shutdownTimeout bounds how long in-flight requests may take to finish
// after SIGTERM; it stays below Kubernetes' default 30 s grace period.
const shutdownTimeout = 20 * time.Second

// serve answers HTTP on addr until ctx ends, then stops accepting
// connections and waits (bounded) for in-flight requests.
func serve(ctx context.Context, addr string, h http.Handler, logger *slog.Logger) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		IdleTimeout:       120 * time.Second,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	done := make(chan error, 1)
	go func() {
		<-ctx.Done()
		logger.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
		defer cancel()
		done <- srv.Shutdown(sctx)
	}()
	logger.Info("gateway listening", "addr", lis.Addr().String())
	if err := srv.Serve(lis); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return <-done
}
