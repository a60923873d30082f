package grpcserver

import (
	"context"
	"strings"
	"sync"

	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/auth"
	"github.com/liftlabs/lift/pkg/servicecred"
	optionsv1 "github.com/liftlabs/lift/proto/gen/go/lift/options/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// errInternalOnly is the answer to a caller without the service credential.
// It says no more than that: not whether the request would have worked.
var errInternalOnly = apierr.PermissionDenied("INTERNAL_METHOD", "only Lift's own services may call this method")

// internalMethods caches whether a full method name is marked
// (lift.options.v1.internal).
var internalMethods sync.Map // string → bool

// IsInternal reports whether fullMethod ("/pkg.Service/Method") is marked
// (lift.options.v1.internal) in its proto.
func IsInternal(fullMethod string) bool {
	if v, ok := internalMethods.Load(fullMethod); ok {
		return v.(bool)
	}
	internal := false
	if svc, method, ok := strings.Cut(strings.TrimPrefix(fullMethod, "/"), "/"); ok {
		if md := auth.MethodDescriptor(svc, method); md != nil {
			internal, _ = proto.GetExtension(md.Options(), optionsv1.E_Internal).(bool)
		}
	}
	internalMethods.Store(fullMethod, internal)
	return internal
}

// checkInternal refuses an internal method to a caller without the
// service credential.
func checkInternal(ctx context.Context, fullMethod string) error {
	if IsInternal(fullMethod) && !servicecred.Valid(ctx) {
		return errInternalOnly
	}
	return nil
}

func internalUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	if err := checkInternal(ctx, info.FullMethod); err != nil {
		return nil, err
	}
	return handler(ctx, req)
}

func internalStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	if err := checkInternal(ss.Context(), info.FullMethod); err != nil {
		return err
	}
	return handler(srv, ss)
}
