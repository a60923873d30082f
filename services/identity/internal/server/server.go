// Package server implements the IdentityService RPCs: thin handlers that
// take the principal from the context, call the store and return its result.
package server

import (
	"context"
	"strconv"

	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/auth"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"github.com/liftlabs/lift/services/identity/internal/store"
	"google.golang.org/grpc"
)

var _ identityv1.IdentityServiceServer = (*Server)(nil)

// Store is what the handlers need from the database.
type Store interface {
	CreateAccount(ctx context.Context, name string, first store.NewToken) (string, *identityv1.Token, error)
	CreateProject(ctx context.Context, accountID int64, p *identityv1.Project, envs []*identityv1.Environment) (*identityv1.Project, error)
	GetProject(ctx context.Context, accountID, id int64) (*identityv1.Project, error)
	ListProjects(ctx context.Context, accountID, afterID int64, limit int) ([]*identityv1.Project, error)
	UpdateProject(ctx context.Context, accountID, id int64, etag string, change func(*identityv1.Project)) (*identityv1.Project, error)
	DeleteProject(ctx context.Context, accountID, id int64) error
	CreateEnvironment(ctx context.Context, accountID, projectID int64, e *identityv1.Environment) (*identityv1.Environment, error)
	ListEnvironments(ctx context.Context, accountID, projectID int64) ([]*identityv1.Environment, error)
	ResolveSdkKey(ctx context.Context, sdkKey string) (*identityv1.Environment, string, error)
	CreateToken(ctx context.Context, accountID int64, t store.NewToken) (*identityv1.Token, error)
	ListTokens(ctx context.Context, accountID, afterID int64, limit int) ([]*identityv1.Token, error)
	RevokeToken(ctx context.Context, accountID, id int64) (*identityv1.Token, error)
	Authenticate(ctx context.Context, hash []byte) (*identityv1.Principal, error)
}

// Experiments is what identity asks the experiments service: whether a
// project still has flags, experiments or audiences (an
// experimentsv1.ExperimentsServiceClient has it).
type Experiments interface {
	GetProjectUsage(ctx context.Context, in *experimentsv1.GetProjectUsageRequest, opts ...grpc.CallOption) (*experimentsv1.GetProjectUsageResponse, error)
}

// Server implements identityv1.IdentityServiceServer.
type Server struct {
	identityv1.UnimplementedIdentityServiceServer
	store           Store
	bootstrapSecret string
	experiments     Experiments
}

// New returns a Server. An empty bootstrapSecret disables BootstrapAccount.
func New(s Store, bootstrapSecret string, experiments Experiments) *Server {
	return &Server{store: s, bootstrapSecret: bootstrapSecret, experiments: experiments}
}

// caller returns the account id of the authenticated caller. The auth
// interceptor guarantees a principal on every non-PUBLIC method.
func caller(ctx context.Context) (int64, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return 0, err
	}
	id, err := strconv.ParseInt(p.AccountID, 10, 64)
	if err != nil {
		return 0, auth.ErrUnauthenticated
	}
	return id, nil
}

// parseID parses a numeric id that passed validation; one too large for
// int64 cannot exist, so it is notFound.
func parseID(s, notFoundReason string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, apierr.NotFound(notFoundReason, "%s", "not found")
	}
	return id, nil
}

// ids resolves the caller and a resource id together, the first lines of
// most handlers.
func ids(ctx context.Context, id, notFoundReason string) (account, resource int64, err error) {
	if account, err = caller(ctx); err != nil {
		return 0, 0, err
	}
	resource, err = parseID(id, notFoundReason)
	return account, resource, err
}
