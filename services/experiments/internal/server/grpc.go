package server

import (
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/liftlabs/lift/pkg/auth"
	"github.com/liftlabs/lift/pkg/grpcserver"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"github.com/liftlabs/lift/services/experiments/internal/delivery"
	"github.com/liftlabs/lift/services/experiments/internal/directory"
	"github.com/liftlabs/lift/services/experiments/internal/store"
	"google.golang.org/grpc"
)

// Config is what the service is built from.
type Config struct {
	// Pool is the migrated experiments database.
	Pool *pgxpool.Pool
	// Identity is a client of the identity service over a connection that
	// forwards the caller's credential (pkg/grpcclient).
	Identity identityv1.IdentityServiceClient
	// CacheTTL bounds how long identity's answers (tokens, project
	// ownership, environments, SDK keys) are reused.
	CacheTTL time.Duration
	// MaxStale is how long a built datafile is served without checking its
	// revision in the database; this replica's own writes apply at once.
	MaxStale time.Duration
	Logger   *slog.Logger
	// ExtraUnary run right before the handlers (after auth and
	// validation); tests use them to observe or slow down calls.
	ExtraUnary []grpc.UnaryServerInterceptor
}

// NewGRPCServer returns the chassis gRPC server with the
// ExperimentsService registered. The binary and experimentstest both build
// it here so they cannot drift apart.
func NewGRPCServer(c Config) *grpc.Server {
	var cache *delivery.Cache
	st := store.New(c.Pool, func(envs []int64) { cache.Invalidate(envs) })
	cache = delivery.New(st, c.MaxStale)
	srv := grpcserver.New(grpcserver.Options{
		Logger:        c.Logger,
		Authenticator: auth.NewIdentityAuthenticator(c.Identity, c.CacheTTL),
		ExtraUnary:    c.ExtraUnary,
	})
	experimentsv1.RegisterExperimentsServiceServer(srv, New(st, directory.New(c.Identity, c.CacheTTL), cache))
	return srv
}
