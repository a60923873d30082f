package server

import (
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/liftlabs/lift/pkg/auth"
	"github.com/liftlabs/lift/pkg/grpcserver"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/liftlabs/lift/services/results/internal/catalog"
	"github.com/liftlabs/lift/services/results/internal/ingest"
	"github.com/liftlabs/lift/services/results/internal/rollup"
	"github.com/liftlabs/lift/services/results/internal/store"
	"google.golang.org/grpc"
)

// Config is what the service is built from.
type Config struct {
	// Pool is the migrated results database.
	Pool *pgxpool.Pool
	// Identity and Experiments are clients over connections that forward
	// the caller's credential (pkg/grpcclient).
	Identity    identityv1.IdentityServiceClient
	Experiments experimentsv1.ExperimentsServiceClient
	// AuthCacheTTL bounds how long token checks are reused; CatalogTTL how
	// long experiments, projects and datafiles are.
	AuthCacheTTL time.Duration
	CatalogTTL   time.Duration
	// Limits of ingested batches.
	Limits ingest.Limits
	Logger *slog.Logger
	// ExtraUnary run right before the handlers (after auth and
	// validation); tests use them to observe or slow down calls.
	ExtraUnary []grpc.UnaryServerInterceptor
}

// NewGRPCServer returns the chassis gRPC server with the ResultsService
// registered, and the rollup worker that must run (Worker.Run) while it
// serves. The binary and resultstest both build them here.
func NewGRPCServer(c Config) (*grpc.Server, *rollup.Worker) {
	srv := grpcserver.New(grpcserver.Options{
		Logger:        c.Logger,
		Authenticator: auth.NewIdentityAuthenticator(c.Identity, c.AuthCacheTTL),
		ExtraUnary:    c.ExtraUnary,
		// SDK batches arrive as one message; let them be as large as the
		// RPC's own validation allows.
		ServerOptions: []grpc.ServerOption{grpc.MaxRecvMsgSize(maxMessageBytes)},
	})
	cat := catalog.New(c.Experiments, c.Identity, c.CatalogTTL)
	st := store.New(c.Pool)
	worker := rollup.New(st, c.Logger, rollup.SweepInterval)
	resultsv1.RegisterResultsServiceServer(srv, New(st, cat, c.Limits, worker.Notify))
	return srv, worker
}

// maxMessageBytes is the largest request accepted: a 4 MB SDK batch plus
// framing.
const maxMessageBytes = 5 << 20
