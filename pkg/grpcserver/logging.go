package grpcserver

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/liftlabs/lift/pkg/logging"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// loggingUnary logs one line per RPC with its final code. The base logger is
// put in the context first so handlers log with service and request id.
func loggingUnary(base *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		l := logging.ForRequest(ctx, base)
		ctx = logging.WithLogger(ctx, l)
		start := time.Now()
		resp, err := handler(ctx, req)
		code := status.Code(err)
		level := slog.LevelInfo
		switch {
		case strings.HasPrefix(info.FullMethod, "/grpc.health."):
			level = slog.LevelDebug // probes would drown everything else
		case code == codes.Internal || code == codes.Unknown || code == codes.DataLoss:
			level = slog.LevelError
		}
		l.Log(ctx, level, "rpc", "method", info.FullMethod, "code", code.String(),
			"duration_ms", float64(time.Since(start).Microseconds())/1000)
		return resp, err
	}
}
