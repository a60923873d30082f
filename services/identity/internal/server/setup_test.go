package server_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/liftlabs/lift/pkg/grpctest"
	"github.com/liftlabs/lift/pkg/pgtest"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"github.com/liftlabs/lift/services/identity/internal/server"
	"github.com/liftlabs/lift/services/identity/internal/store"
	"github.com/liftlabs/lift/services/identity/migrations"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

const bootstrapSecret = "test-secret"

// env is a real identity server on loopback over a fresh database, with the
// store and pool exposed for the few tests that must set up state the API
// cannot (an already expired token).
type env struct {
	c     identityv1.IdentityServiceClient
	store *store.Store
	pool  *pgxpool.Pool
	// usage is the stand-in experiments service identity asks before a
	// project is deleted.
	usage *usageServer
}

// usageServer is a real loopback gRPC server implementing only the
// experiments method identity calls, GetProjectUsage, answering the counts
// a test sets per project (none: an empty project).
type usageServer struct {
	experimentsv1.UnimplementedExperimentsServiceServer
	mu     sync.Mutex
	counts map[string]*experimentsv1.GetProjectUsageResponse
	asked  []string
}

func (u *usageServer) GetProjectUsage(_ context.Context, req *experimentsv1.GetProjectUsageRequest) (*experimentsv1.GetProjectUsageResponse, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.asked = append(u.asked, req.GetProjectId())
	if c, ok := u.counts[req.GetProjectId()]; ok {
		return c, nil
	}
	return &experimentsv1.GetProjectUsageResponse{}, nil
}

func (u *usageServer) set(projectID string, c *experimentsv1.GetProjectUsageResponse) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.counts[projectID] = c
}

// startUsage serves a usageServer on loopback and returns it with a client.
func startUsage(t *testing.T) (*usageServer, experimentsv1.ExperimentsServiceClient) {
	t.Helper()
	u := &usageServer{counts: map[string]*experimentsv1.GetProjectUsageResponse{}}
	srv := grpc.NewServer()
	experimentsv1.RegisterExperimentsServiceServer(srv, u)
	return u, experimentsv1.NewExperimentsServiceClient(grpctest.Dial(t, grpctest.Start(t, srv)))
}

func start(t *testing.T) *env {
	t.Helper()
	t.Parallel()
	pool := pgtest.New(t, migrations.FS)
	st := store.New(pool)
	usage, experiments := startUsage(t)
	srv := server.NewGRPCServer(st, bootstrapSecret, experiments, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	cc := grpctest.Dial(t, grpctest.Start(t, srv))
	return &env{c: identityv1.NewIdentityServiceClient(cc), store: st, pool: pool, usage: usage}
}

type account struct{ id, admin string }

func (e *env) account(t *testing.T, name string) account {
	t.Helper()
	resp, err := e.c.BootstrapAccount(context.Background(), &identityv1.BootstrapAccountRequest{BootstrapSecret: bootstrapSecret, AccountName: name})
	if err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	return account{id: resp.GetAccountId(), admin: resp.GetSecret()}
}

func (e *env) token(t *testing.T, a account, scopes ...identityv1.Scope) string {
	t.Helper()
	resp, err := e.c.CreateToken(as(a.admin), &identityv1.CreateTokenRequest{Name: "t", Scopes: scopes})
	if err != nil {
		t.Fatalf("create token: %v", err)
	}
	return resp.GetSecret()
}

func (e *env) project(t *testing.T, token, name string) *identityv1.Project {
	t.Helper()
	resp, err := e.c.CreateProject(as(token), &identityv1.CreateProjectRequest{Project: &identityv1.Project{Name: name}})
	if err != nil {
		t.Fatalf("create project: %v", err)
	}
	return resp.GetProject()
}

func as(token string) context.Context {
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("code = %v (%v), want %v", got, err, want)
	}
}

func reason(err error) string {
	for _, d := range status.Convert(err).Details() {
		if i, ok := d.(*errdetails.ErrorInfo); ok {
			return i.GetReason()
		}
	}
	return ""
}
