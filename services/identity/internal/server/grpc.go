package server

import (
	"log/slog"

	"github.com/liftlabs/lift/pkg/grpcserver"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"google.golang.org/grpc"
)

// NewGRPCServer returns the chassis gRPC server with the IdentityService
// registered (asking experiments before a project is deleted),
// authenticating with the store directly. The binary and
// identitytest both build it here so they cannot drift apart; extra
// interceptors (tests only) run innermost.
func NewGRPCServer(s Store, bootstrapSecret string, experiments Experiments, logger *slog.Logger, extra ...grpc.UnaryServerInterceptor) *grpc.Server {
	srv := grpcserver.New(grpcserver.Options{Logger: logger, Authenticator: NewAuthenticator(s), ExtraUnary: extra})
	identityv1.RegisterIdentityServiceServer(srv, New(s, bootstrapSecret, experiments))
	return srv
}
