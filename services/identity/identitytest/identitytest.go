// Package identitytest runs the real identity service on a loopback port
// with a fresh database, for tests in any module.
package identitytest

import (
	"context"
	"io"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/liftlabs/lift/pkg/grpcclient"
	"github.com/liftlabs/lift/pkg/grpctest"
	"github.com/liftlabs/lift/pkg/pgtest"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"github.com/liftlabs/lift/services/identity/internal/server"
	"github.com/liftlabs/lift/services/identity/internal/store"
	"github.com/liftlabs/lift/services/identity/migrations"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
)

// BootstrapSecret is the LIFT_BOOTSTRAP_SECRET of servers started here.
const BootstrapSecret = "identitytest-bootstrap-secret"

// Env is a running identity service.
type Env struct {
	// Addr is host:port; dial it as "dns:///"+Addr, or set
	// LIFT_IDENTITY_ADDR to that for code under test.
	Addr   string
	Conn   *grpc.ClientConn
	Client identityv1.IdentityServiceClient
	// Pool is the service's own database, for tests that must put it in a
	// state the API cannot reach (e.g. a token that has already expired).
	Pool *pgxpool.Pool

	newServer   func() *grpc.Server
	experiments *manual.Resolver
}

// SetExperimentsAddr points the service at the experiments service
// (host:port), which it asks before deleting a project. Identity starts
// first, so the address comes late: until it is set, a project deletion
// waits for it (up to its deadline).
func (e *Env) SetExperimentsAddr(addr string) {
	e.experiments.UpdateState(resolver.State{Addresses: []resolver.Address{{Addr: addr}}})
}

// StartReplica starts another instance of the service on the same
// database, on a port of its own, as a second replica behind a load
// balancer would be. stop stops it as SIGTERM does (health NOT_SERVING,
// in-flight RPCs finish) and returns once it has stopped.
func (e *Env) StartReplica(t testing.TB) (addr string, stop func()) {
	t.Helper()
	return grpctest.StartStoppable(t, e.newServer())
}

// Account is a bootstrapped account and its admin token secret.
type Account struct {
	ID         string
	AdminToken string
}

// Option changes the test server.
type Option func(*options)

type options struct {
	unary     []grpc.UnaryServerInterceptor
	logWriter io.Writer
}

// WithLogWriter sends the service's log lines to w.
func WithLogWriter(w io.Writer) Option { return func(o *options) { o.logWriter = w } }

// WithUnaryInterceptor adds an interceptor inside the server's own chain,
// e.g. to observe the deadline or metadata a call arrives with, or to hold
// a call open.
func WithUnaryInterceptor(i grpc.UnaryServerInterceptor) Option {
	return func(o *options) { o.unary = append(o.unary, i) }
}

// Start runs identity until the test ends. Set LIFT_TEST_LOG=1 to see its
// logs.
func Start(t testing.TB, opts ...Option) *Env {
	t.Helper()
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	pool := pgtest.New(t, migrations.FS)
	logger := grpctest.Logger("identity", o.logWriter)
	// Experiments is dialled through a resolver whose address
	// SetExperimentsAddr fills in later.
	r := manual.NewBuilderWithScheme("identitytest-experiments")
	expConn, err := grpcclient.Dial(r.Scheme()+":///experiments", grpcclient.WithDialOptions(grpc.WithResolvers(r)))
	if err != nil {
		t.Fatalf("identitytest: dial experiments: %v", err)
	}
	t.Cleanup(func() { _ = expConn.Close() })
	experiments := experimentsv1.NewExperimentsServiceClient(expConn)
	newServer := func() *grpc.Server {
		return server.NewGRPCServer(store.New(pool), BootstrapSecret, experiments, logger, o.unary...)
	}
	addr := grpctest.Start(t, newServer())
	conn := grpctest.Dial(t, addr)
	return &Env{Addr: addr, Conn: conn, Client: identityv1.NewIdentityServiceClient(conn), Pool: pool,
		newServer: newServer, experiments: r}
}

// WithToken returns ctx carrying token as the request's credential.
func WithToken(ctx context.Context, token string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
}

// NewAccount bootstraps a fresh account with an admin token.
func (e *Env) NewAccount(t testing.TB) Account {
	t.Helper()
	resp, err := e.Client.BootstrapAccount(context.Background(), &identityv1.BootstrapAccountRequest{
		BootstrapSecret: BootstrapSecret, AccountName: t.Name(),
	})
	if err != nil {
		t.Fatalf("identitytest: bootstrap: %v", err)
	}
	return Account{ID: resp.GetAccountId(), AdminToken: resp.GetSecret()}
}

// Token creates a token of acct with the given scopes and returns its
// secret.
func (e *Env) Token(t testing.TB, acct Account, scopes ...identityv1.Scope) string {
	t.Helper()
	resp, err := e.Client.CreateToken(WithToken(context.Background(), acct.AdminToken), &identityv1.CreateTokenRequest{
		Name: t.Name(), Scopes: scopes,
	})
	if err != nil {
		t.Fatalf("identitytest: create token: %v", err)
	}
	return resp.GetSecret()
}

// CreateProject creates a project (with its production and development
// environments) using token.
func (e *Env) CreateProject(t testing.TB, token, name string) *identityv1.Project {
	t.Helper()
	resp, err := e.Client.CreateProject(WithToken(context.Background(), token), &identityv1.CreateProjectRequest{
		Project: &identityv1.Project{Name: name},
	})
	if err != nil {
		t.Fatalf("identitytest: create project: %v", err)
	}
	return resp.GetProject()
}

// Environments lists a project's environments (production, development, …).
func (e *Env) Environments(t testing.TB, token, projectID string) []*identityv1.Environment {
	t.Helper()
	resp, err := e.Client.ListEnvironments(WithToken(context.Background(), token), &identityv1.ListEnvironmentsRequest{ProjectId: projectID})
	if err != nil {
		t.Fatalf("identitytest: list environments: %v", err)
	}
	return resp.GetEnvironments()
}
