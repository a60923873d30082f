package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/liftlabs/lift/pkg/auth"
	"github.com/liftlabs/lift/pkg/eventlog"
	"github.com/liftlabs/lift/pkg/grpcserver"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/liftlabs/lift/services/results/internal/catalog"
	"github.com/liftlabs/lift/services/results/internal/consumer"
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
	// EventLog, when set, is where the ingest RPCs append batches; a
	// consumer on it (run by Workers.Run) stores them. Without it batches
	// are stored before the RPC answers.
	EventLog *eventlog.Log
	// ExtraUnary run right before the handlers (after auth and
	// validation); tests use them to observe or slow down calls.
	ExtraUnary []grpc.UnaryServerInterceptor
}

// Workers are the background work the service needs while it serves.
type Workers struct {
	Rollups  *rollup.Worker
	Consumer *consumer.Consumer // nil without an event log
	Store    *store.Store
}

// Run runs the workers until ctx ends.
func (w *Workers) Run(ctx context.Context) {
	if w.Consumer == nil {
		w.Rollups.Run(ctx)
		return
	}
	done := make(chan struct{})
	go func() { defer close(done); w.Consumer.Run(ctx) }()
	w.Rollups.Run(ctx)
	<-done
}

// NewGRPCServer returns the chassis gRPC server with the ResultsService
// registered, and the workers that must run (Workers.Run) while it
// serves. The binary and resultstest both build them here. It fails only
// when the event log's consumer cannot be created.
func NewGRPCServer(c Config) (*grpc.Server, *Workers, error) {
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
	w := &Workers{Rollups: rollup.New(st, c.Logger, rollup.SweepInterval), Store: st}
	svc := New(st, cat, c.Limits, w.Rollups.Notify)
	if c.EventLog != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cons, err := consumer.New(ctx, c.EventLog, st, cat, c.Limits, c.Logger, w.Rollups.Notify)
		if err != nil {
			return nil, nil, err
		}
		w.Consumer = cons
		svc.WithEventLog(c.EventLog, cons.WaitCaughtUp)
	}
	resultsv1.RegisterResultsServiceServer(srv, svc)
	return srv, w, nil
}

// maxMessageBytes is the largest request accepted: a 4 MB SDK batch plus
// framing.
const maxMessageBytes = 5 << 20
