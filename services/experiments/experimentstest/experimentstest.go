// Package experimentstest runs the real experiments service on a loopback
// port with a fresh database, for tests in any module.
package experimentstest

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/liftlabs/lift/pkg/grpctest"
	"github.com/liftlabs/lift/pkg/pgtest"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"github.com/liftlabs/lift/services/experiments/internal/server"
	"github.com/liftlabs/lift/services/experiments/migrations"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
)

// Env is a running experiments service.
type Env struct {
	// Addr is host:port; dial it as "dns:///"+Addr, or set
	// LIFT_EXPERIMENTS_ADDR to that for code under test.
	Addr   string
	Conn   *grpc.ClientConn
	Client experimentsv1.ExperimentsServiceClient

	srv *grpc.Server
}

// Kill stops the service abruptly, as if its process died: the port stops
// listening, open connections and streams are cut, RPCs in flight fail.
func (e *Env) Kill() { e.srv.Stop() }

// Options tune Start; the zero value is what most tests want.
type Options struct {
	// CacheTTL of identity answers; default 10s.
	CacheTTL time.Duration
	// MaxStale of served datafiles; default 1s.
	MaxStale time.Duration
	// LogWriter, when set, receives the service's log lines.
	LogWriter io.Writer
	// Unary interceptors run right before the handlers (after auth and
	// validation), e.g. to delay or observe calls.
	Unary []grpc.UnaryServerInterceptor
}

// Start runs experiments against the identity service at identityAddr
// (e.g. identitytest.Start(t).Addr) until the test ends. Set LIFT_TEST_LOG=1
// to see its logs.
func Start(t testing.TB, identityAddr string, opts ...Options) *Env {
	t.Helper()
	o := Options{CacheTTL: 10 * time.Second, MaxStale: time.Second}
	if len(opts) > 0 {
		if opts[0].CacheTTL != 0 {
			o.CacheTTL = opts[0].CacheTTL
		}
		if opts[0].MaxStale != 0 {
			o.MaxStale = opts[0].MaxStale
		}
		o.LogWriter = opts[0].LogWriter
		o.Unary = opts[0].Unary
	}
	pool := pgtest.New(t, migrations.FS)
	logger := grpctest.Logger("experiments", o.LogWriter)
	identity := grpctest.Dial(t, identityAddr)
	srv := server.NewGRPCServer(server.Config{
		Pool: pool, Identity: identityv1.NewIdentityServiceClient(identity),
		CacheTTL: o.CacheTTL, MaxStale: o.MaxStale, Logger: logger, ExtraUnary: o.Unary,
	})
	addr := grpctest.Start(t, srv)
	conn := grpctest.Dial(t, addr)
	return &Env{Addr: addr, Conn: conn, Client: experimentsv1.NewExperimentsServiceClient(conn), srv: srv}
}

// WithToken returns ctx carrying token as the request's credential.
func WithToken(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}
