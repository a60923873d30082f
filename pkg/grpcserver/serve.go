package grpcserver

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
)

// DrainTimeout bounds how long Serve waits for in-flight RPCs after its
// context ends before it cuts the remaining ones off.
var DrainTimeout = 20 * time.Second

// Serve serves srv on lis until ctx ends (e.g. from signal.NotifyContext on
// SIGTERM/SIGINT), then marks health NOT_SERVING and stops gracefully: new
// RPCs are refused, in-flight ones finish (up to DrainTimeout).
func Serve(ctx context.Context, srv *grpc.Server, lis net.Listener, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.Default()
	}
	Metrics().InitializeMetrics(srv)
	hs, _ := healthServers.Load(srv)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(lis) }()
	logger.Info("grpc server listening", "addr", lis.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("grpc server draining")
	if h, ok := hs.(*health.Server); ok {
		h.Shutdown()
	}
	stopped := make(chan struct{})
	go func() { srv.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(DrainTimeout):
		logger.Warn("grpc drain timed out; stopping", "timeout", DrainTimeout.String())
		srv.Stop()
		<-stopped
	}
	if err := <-errc; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
		return err
	}
	logger.Info("grpc server stopped")
	return nil
}
