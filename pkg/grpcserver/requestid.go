package grpcserver

import (
	"context"

	"github.com/liftlabs/lift/pkg/logging"
	"github.com/liftlabs/lift/pkg/requestid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// withRequestID adopts the caller's x-request-id (or makes one), puts it in
// the context and the context's logger, and returns it in the response
// header metadata.
func withRequestID(ctx context.Context) context.Context {
	md, _ := metadata.FromIncomingContext(ctx)
	id := ""
	if v := md.Get(requestid.MetadataKey); len(v) > 0 && requestid.Valid(v[0]) {
		id = v[0]
	} else {
		id = requestid.New()
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs(requestid.MetadataKey, id))
	ctx = requestid.WithID(ctx, id)
	return logging.WithLogger(ctx, logging.ForRequest(ctx, logging.FromContext(ctx)))
}

func requestIDUnary(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	return handler(withRequestID(ctx), req)
}

func requestIDStream(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	return handler(srv, &ctxStream{ServerStream: ss, ctx: withRequestID(ss.Context())})
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *ctxStream) Context() context.Context { return s.ctx }
