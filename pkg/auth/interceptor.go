package auth

import (
	"context"
	"strings"

	"github.com/liftlabs/lift/pkg/apierr"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	optionsv1 "github.com/liftlabs/lift/proto/gen/go/lift/options/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// MetadataKey is the gRPC metadata key of the credential
// ("Bearer lift_pat_…"); grpc-gateway forwards the HTTP Authorization header
// under the same name.
const MetadataKey = "authorization"

var requiredScope = map[optionsv1.Access]identityv1.Scope{
	optionsv1.Access_ACCESS_READ:  identityv1.Scope_SCOPE_READ,
	optionsv1.Access_ACCESS_WRITE: identityv1.Scope_SCOPE_WRITE,
	optionsv1.Access_ACCESS_ADMIN: identityv1.Scope_SCOPE_ADMIN,
}

// TokenFromContext returns the bearer token of the incoming metadata, or "".
func TokenFromContext(ctx context.Context) string {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get(MetadataKey) {
		scheme, tok, ok := strings.Cut(v, " ")
		if ok && strings.EqualFold(scheme, "bearer") {
			return strings.TrimSpace(tok)
		}
	}
	return ""
}

// Check authenticates the request for fullMethod and returns ctx with the
// principal attached. PUBLIC methods never fail here, but get a principal
// when a valid token was sent.
func Check(ctx context.Context, a Authenticator, fullMethod string) (context.Context, error) {
	access := MethodAccess(fullMethod)
	tok := TokenFromContext(ctx)
	if access == optionsv1.Access_ACCESS_PUBLIC {
		if tok != "" {
			if p, err := a.Authenticate(ctx, tok); err == nil {
				ctx = WithPrincipal(ctx, p)
			}
		}
		return ctx, nil
	}
	if tok == "" {
		return ctx, ErrUnauthenticated
	}
	p, err := a.Authenticate(ctx, tok)
	if err != nil {
		return ctx, err
	}
	want := requiredScope[access]
	if !p.HasScope(want) {
		return ctx, apierr.PermissionDenied("INSUFFICIENT_SCOPE", "the API token lacks the %s scope",
			strings.ToLower(strings.TrimPrefix(want.String(), "SCOPE_"))).With("required_scope", want.String())
	}
	return WithPrincipal(ctx, p), nil
}

// UnaryServerInterceptor enforces each method's declared access level.
func UnaryServerInterceptor(a Authenticator) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, err := Check(ctx, a, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return handler(ctx, req)
	}
}

// StreamServerInterceptor does the same for streams (health Watch and
// reflection are PUBLIC; any other stream needs its declared scope).
func StreamServerInterceptor(a Authenticator) grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
		ctx, err := Check(ss.Context(), a, info.FullMethod)
		if err != nil {
			return err
		}
		return handler(srv, &wrappedStream{ServerStream: ss, ctx: ctx})
	}
}

type wrappedStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (w *wrappedStream) Context() context.Context { return w.ctx }
