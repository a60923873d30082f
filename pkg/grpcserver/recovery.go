package grpcserver

import (
	"context"
	"fmt"
	"runtime/debug"

	"github.com/liftlabs/lift/pkg/logging"
	"google.golang.org/grpc"
)

// recovered turns a panic value into an error after logging it with the
// stack; the error interceptor then masks it as Internal.
func recovered(ctx context.Context, method string, p any) error {
	logging.FromContext(ctx).Error("panic in handler", "method", method, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
	return fmt.Errorf("panic in %s: %v", method, p)
}

func recoveryUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
	defer func() {
		if p := recover(); p != nil {
			resp, err = nil, recovered(ctx, info.FullMethod, p)
		}
	}()
	return handler(ctx, req)
}

func recoveryStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = mapError(ss.Context(), recovered(ss.Context(), info.FullMethod, p))
		}
	}()
	return handler(srv, ss)
}
