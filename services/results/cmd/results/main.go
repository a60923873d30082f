// Command results runs the results service (event ingestion and experiment
// statistics).
package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/liftlabs/lift/pkg/admin"
	"github.com/liftlabs/lift/pkg/config"
	"github.com/liftlabs/lift/pkg/eventlog"
	"github.com/liftlabs/lift/pkg/grpcclient"
	"github.com/liftlabs/lift/pkg/grpcserver"
	"github.com/liftlabs/lift/pkg/logging"
	"github.com/liftlabs/lift/pkg/pg"
	"github.com/liftlabs/lift/pkg/servicecred"
	"github.com/liftlabs/lift/pkg/tracing"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"github.com/liftlabs/lift/services/results/internal/ingest"
	"github.com/liftlabs/lift/services/results/internal/server"
	"github.com/liftlabs/lift/services/results/migrations"
)

const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/lift_results?sslmode=disable"

type settings struct {
	trace                                                     tracing.Settings
	grpcAddr, adminAddr, dbURL, identityAddr, experimentsAddr string
	authTTL, catalogTTL                                       time.Duration
	limits                                                    ingest.Limits
	// natsURL names the event log's servers; empty stores batches before
	// answering, without a log.
	natsURL      string
	natsReplicas int
}

func main() {
	cfg := config.New()
	s := settings{
		grpcAddr:        cfg.String("LIFT_GRPC_ADDR", ":9103"),
		adminAddr:       cfg.Listener("LIFT_ADMIN_ADDR", ":9203"),
		dbURL:           cfg.String("LIFT_DATABASE_URL", defaultDatabaseURL),
		identityAddr:    cfg.String("LIFT_IDENTITY_ADDR", "dns:///127.0.0.1:9101"),
		experimentsAddr: cfg.String("LIFT_EXPERIMENTS_ADDR", "dns:///127.0.0.1:9102"),
		authTTL:         cfg.Duration("LIFT_AUTH_CACHE_TTL", 10*time.Second),
		// How long experiments, project settings and datafiles are reused.
		catalogTTL: cfg.Duration("LIFT_RESULTS_CATALOG_TTL", 30*time.Second),
		limits: ingest.Limits{
			MaxEvents:     cfg.IntAtLeast("LIFT_RESULTS_MAX_BATCH_EVENTS", 10000, 1),
			MaxFutureSkew: cfg.Duration("LIFT_RESULTS_MAX_FUTURE_SKEW", time.Hour),
		},
	}
	s.natsURL = cfg.String("LIFT_NATS_URL", "")
	// 3 on a 3-node JetStream cluster.
	s.natsReplicas = cfg.IntAtLeast("LIFT_NATS_STREAM_REPLICAS", 1, 1)
	s.trace = tracing.Load(cfg)
	log := logging.New("results", cfg.LogLevel())
	servicecred.Load(cfg)
	cfg.ExitOnError()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, log, s); err != nil {
		log.Error("results stopped", "error", err.Error())
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, s settings) error {
	stopTracing, err := tracing.Setup(ctx, "results", s.trace)
	if err != nil {
		return err
	}
	defer stopTracing()
	pool, err := pg.Open(ctx, s.dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	defer pg.RegisterPoolMetrics(pool)()
	if err := pg.Migrate(ctx, pool, migrations.FS); err != nil {
		return err
	}
	identity, err := grpcclient.Dial(s.identityAddr)
	if err != nil {
		return err
	}
	defer identity.Close()
	experiments, err := grpcclient.Dial(s.experimentsAddr)
	if err != nil {
		return err
	}
	defer experiments.Close()
	var events *eventlog.Log
	if s.natsURL != "" {
		octx, cancel := context.WithTimeout(ctx, time.Minute)
		events, err = eventlog.Open(octx, eventlog.Options{URL: s.natsURL, Replicas: s.natsReplicas, Name: "results"})
		cancel()
		if err != nil {
			return err
		}
		defer events.Close()
	}
	srv, workers, err := server.NewGRPCServer(server.Config{
		Pool:         pool,
		Identity:     identityv1.NewIdentityServiceClient(identity),
		Experiments:  experimentsv1.NewExperimentsServiceClient(experiments),
		AuthCacheTTL: s.authTTL, CatalogTTL: s.catalogTTL, Limits: s.limits, Logger: log,
		EventLog: events,
	})
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", s.grpcAddr)
	if err != nil {
		return err
	}
	go admin.Serve(ctx, s.adminAddr, log, admin.Route{Pattern: "GET /set-aside", Handler: server.SetAsideHandler(workers.Store)})
	go workers.Run(ctx)
	return grpcserver.Serve(ctx, srv, lis, log)
}
