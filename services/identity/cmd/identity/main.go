// Command identity runs the identity service (accounts, projects,
// environments, API tokens). `identity bootstrap --account NAME` creates an
// account and prints its first admin token.
package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/liftlabs/lift/pkg/admin"
	"github.com/liftlabs/lift/pkg/config"
	"github.com/liftlabs/lift/pkg/grpcclient"
	"github.com/liftlabs/lift/pkg/grpcserver"
	"github.com/liftlabs/lift/pkg/logging"
	"github.com/liftlabs/lift/pkg/pg"
	"github.com/liftlabs/lift/pkg/servicecred"
	"github.com/liftlabs/lift/pkg/tracing"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/liftlabs/lift/services/identity/internal/server"
	"github.com/liftlabs/lift/services/identity/internal/store"
	"github.com/liftlabs/lift/services/identity/migrations"
)

const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/lift_identity?sslmode=disable"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "bootstrap" {
		os.Exit(bootstrap(os.Args[2:]))
	}
	cfg := config.New()
	grpcAddr := cfg.String("LIFT_GRPC_ADDR", ":9101")
	adminAddr := cfg.Listener("LIFT_ADMIN_ADDR", ":9201")
	dbURL := cfg.String("LIFT_DATABASE_URL", defaultDatabaseURL)
	bootstrapSecret := cfg.String("LIFT_BOOTSTRAP_SECRET", "")
	// Asked before a project is deleted (it refuses while flags remain).
	experimentsAddr := cfg.String("LIFT_EXPERIMENTS_ADDR", "dns:///127.0.0.1:9102")
	trace := tracing.Load(cfg)
	log := logging.New("identity", cfg.LogLevel())
	servicecred.Load(cfg)
	cfg.ExitOnError()

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, log, trace, grpcAddr, adminAddr, dbURL, bootstrapSecret, experimentsAddr); err != nil {
		log.Error("identity stopped", "error", err.Error())
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, trace tracing.Settings, grpcAddr, adminAddr, dbURL, bootstrapSecret, experimentsAddr string) error {
	stopTracing, err := tracing.Setup(ctx, "identity", trace)
	if err != nil {
		return err
	}
	defer stopTracing()
	pool, err := pg.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer pool.Close()
	defer pg.RegisterPoolMetrics(pool)()
	if err := pg.Migrate(ctx, pool, migrations.FS); err != nil {
		return err
	}
	experiments, err := grpcclient.Dial(experimentsAddr)
	if err != nil {
		return err
	}
	defer experiments.Close()
	srv := server.NewGRPCServer(store.New(pool), bootstrapSecret, experimentsv1.NewExperimentsServiceClient(experiments), log)
	lis, err := net.Listen("tcp", grpcAddr)
	if err != nil {
		return err
	}
	go admin.Serve(ctx, adminAddr, log)
	return grpcserver.Serve(ctx, srv, lis, log)
}
