// Command experiments runs the experiments service (flags, experiments,
// layers, events, datafiles, Decide).
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
	"github.com/liftlabs/lift/pkg/grpcclient"
	"github.com/liftlabs/lift/pkg/grpcserver"
	"github.com/liftlabs/lift/pkg/logging"
	"github.com/liftlabs/lift/pkg/pg"
	"github.com/liftlabs/lift/pkg/servicecred"
	"github.com/liftlabs/lift/pkg/tracing"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"github.com/liftlabs/lift/services/experiments/internal/server"
	"github.com/liftlabs/lift/services/experiments/migrations"
)

const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/lift_experiments?sslmode=disable"

type settings struct {
	trace                                    tracing.Settings
	grpcAddr, adminAddr, dbURL, identityAddr string
	cacheTTL, maxStale                       time.Duration
}

func main() {
	cfg := config.New()
	s := settings{
		grpcAddr:     cfg.String("LIFT_GRPC_ADDR", ":9102"),
		adminAddr:    cfg.Listener("LIFT_ADMIN_ADDR", ":9202"),
		dbURL:        cfg.String("LIFT_DATABASE_URL", defaultDatabaseURL),
		identityAddr: cfg.String("LIFT_IDENTITY_ADDR", "dns:///127.0.0.1:9101"),
		cacheTTL:     cfg.Duration("LIFT_AUTH_CACHE_TTL", 10*time.Second),
		// How long a replica serves a datafile without checking whether
		// another replica changed it.
		maxStale: cfg.Duration("LIFT_DATAFILE_MAX_STALENESS", time.Second),
	}
	s.trace = tracing.Load(cfg)
	log := logging.New("experiments", cfg.LogLevel())
	servicecred.Load(cfg)
	cfg.ExitOnError()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, log, s); err != nil {
		log.Error("experiments stopped", "error", err.Error())
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, s settings) error {
	stopTracing, err := tracing.Setup(ctx, "experiments", s.trace)
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
	srv := server.NewGRPCServer(server.Config{
		Pool: pool, Identity: identityv1.NewIdentityServiceClient(identity),
		CacheTTL: s.cacheTTL, MaxStale: s.maxStale, Logger: log,
	})
	lis, err := net.Listen("tcp", s.grpcAddr)
	if err != nil {
		return err
	}
	go admin.Serve(ctx, s.adminAddr, log)
	return grpcserver.Serve(ctx, srv, lis, log)
}
