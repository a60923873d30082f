// Package resultstest runs the real results service on a loopback port
// with a fresh database, for tests in any module.
package resultstest

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/liftlabs/lift/pkg/eventlog"
	"github.com/liftlabs/lift/pkg/grpctest"
	"github.com/liftlabs/lift/pkg/pg"
	"github.com/liftlabs/lift/pkg/pgtest"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/liftlabs/lift/services/results/internal/ingest"
	"github.com/liftlabs/lift/services/results/internal/server"
	"github.com/liftlabs/lift/services/results/migrations"
	natsserver "github.com/nats-io/nats-server/v2/server"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Env is a running results service.
type Env struct {
	// Addr is host:port; dial it as "dns:///"+Addr, or set
	// LIFT_RESULTS_ADDR to that for code under test.
	Addr   string
	Conn   *grpc.ClientConn
	Client resultsv1.ResultsServiceClient
	// DatabaseURL is the service's own database, for tests that inspect
	// or disturb it (e.g. terminate its connections).
	DatabaseURL string
	// Pool is the pool the service itself uses.
	Pool *pgxpool.Pool

	// NATS is the in-process JetStream server of an Env started with
	// Options.EventLog (nil otherwise); EventLog the service's connection.
	NATS     *natsserver.Server
	EventLog *eventlog.Log

	srv       *grpc.Server
	newServer func() *grpc.Server
	// stopRollups stops the instance's rollup worker.
	stopRollups context.CancelFunc
}

// Kill stops the service abruptly, as if its process died: the port stops
// listening, open connections are cut, RPCs in flight fail and its rollup
// worker stops.
func (e *Env) Kill() {
	e.srv.Stop()
	e.stopRollups()
}

// Restart starts a new instance of the service (empty caches, same
// database and configuration) on the address of the killed one.
func (e *Env) Restart(t testing.TB) {
	t.Helper()
	e.srv = e.newServer()
	grpctest.StartOn(t, e.srv, e.Addr)
}

// Options tune Start; the zero value is what most tests want.
type Options struct {
	// MaxBatchEvents limits batches; default 10000.
	MaxBatchEvents int
	// CatalogTTL of experiments, projects and datafiles; default 1s.
	CatalogTTL time.Duration
	// LogWriter, when set, receives the service's log lines.
	LogWriter io.Writer
	// Unary interceptors run right before the handlers (after auth and
	// validation), e.g. to delay or observe calls.
	Unary []grpc.UnaryServerInterceptor
	// DatabaseURL is a database to use (migrated by Start) instead of a
	// fresh one on the shared server, e.g. one on a pgtest.NewCluster the
	// test stops and starts.
	DatabaseURL string
	// EventLog runs the service on an event log: an in-process JetStream
	// server with its store in a temporary directory.
	EventLog bool
	// NATSURL runs it on the event log of that server instead (another
	// Env's NATS, or a nats-server process the test kills).
	NATSURL string
}

// Start runs results against the identity and experiments services at
// those addresses (identitytest.Start(t).Addr, experimentstest.Start(…).Addr)
// until the test ends. Set LIFT_TEST_LOG=1 to see its logs.
func Start(t testing.TB, identityAddr, experimentsAddr string, opts ...Options) *Env {
	t.Helper()
	o := Options{MaxBatchEvents: 10000, CatalogTTL: time.Second}
	if len(opts) > 0 {
		if opts[0].MaxBatchEvents != 0 {
			o.MaxBatchEvents = opts[0].MaxBatchEvents
		}
		if opts[0].CatalogTTL != 0 {
			o.CatalogTTL = opts[0].CatalogTTL
		}
		o.LogWriter = opts[0].LogWriter
		o.Unary = opts[0].Unary
		o.DatabaseURL = opts[0].DatabaseURL
		o.EventLog = opts[0].EventLog
		o.NATSURL = opts[0].NATSURL
	}
	url := o.DatabaseURL
	if url == "" {
		url = pgtest.URL(t, migrations.FS)
	}
	pool, err := pg.NewPool(context.Background(), url)
	if err != nil {
		t.Fatalf("resultstest: %v", err)
	}
	t.Cleanup(pool.Close)
	if o.DatabaseURL != "" {
		if err := pg.Migrate(context.Background(), pool, migrations.FS); err != nil {
			t.Fatalf("resultstest: migrate: %v", err)
		}
	}
	logger := grpctest.Logger("results", o.LogWriter)
	identity := grpctest.Dial(t, identityAddr)
	experiments := grpctest.Dial(t, experimentsAddr)
	env := &Env{DatabaseURL: url, Pool: pool}
	switch {
	case o.NATSURL != "":
		env.EventLog = openEventLog(t, o.NATSURL)
	case o.EventLog:
		env.NATS, env.EventLog = startEventLog(t)
	}
	env.newServer = func() *grpc.Server {
		srv, workers, err := server.NewGRPCServer(server.Config{
			Pool:         pool,
			Identity:     identityv1.NewIdentityServiceClient(identity),
			Experiments:  experimentsv1.NewExperimentsServiceClient(experiments),
			AuthCacheTTL: time.Second, CatalogTTL: o.CatalogTTL,
			Limits:     ingest.Limits{MaxEvents: o.MaxBatchEvents, MaxFutureSkew: time.Hour},
			Logger:     logger,
			ExtraUnary: o.Unary,
			EventLog:   env.EventLog,
		})
		if err != nil {
			t.Fatalf("resultstest: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); workers.Run(ctx) }()
		env.stopRollups = func() { cancel(); <-done }
		return srv
	}
	env.srv = env.newServer()
	// The worker stops before the pool closes (cleanups run last first).
	t.Cleanup(func() { env.stopRollups() })
	env.Addr = grpctest.Start(t, env.srv)
	env.Conn = grpctest.Dial(t, env.Addr)
	env.Client = resultsv1.NewResultsServiceClient(env.Conn)
	return env
}

// startEventLog runs an in-process JetStream server until the test ends
// and connects to it.
func startEventLog(t testing.TB) (*natsserver.Server, *eventlog.Log) {
	t.Helper()
	ns, err := eventlog.RunEmbedded(eventlog.EmbeddedOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatalf("resultstest: %v", err)
	}
	t.Cleanup(ns.Shutdown)
	return ns, openEventLog(t, ns.ClientURL())
}

func openEventLog(t testing.TB, url string) *eventlog.Log {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	l, err := eventlog.Open(ctx, eventlog.Options{URL: url, Name: "results"})
	if err != nil {
		t.Fatalf("resultstest: %v", err)
	}
	t.Cleanup(l.Close)
	return l
}

// WithToken returns ctx carrying token as the request's credential.
func WithToken(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}
