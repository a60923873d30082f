package server

import (
	"context"

	"github.com/liftlabs/lift/pkg/httpmeta"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"github.com/liftlabs/lift/services/identity/internal/secret"
)

// CreateEnvironment adds an environment with a fresh SDK key to a project.
func (s *Server) CreateEnvironment(ctx context.Context, req *identityv1.CreateEnvironmentRequest) (*identityv1.CreateEnvironmentResponse, error) {
	account, project, err := ids(ctx, req.GetProjectId(), "PROJECT_NOT_FOUND")
	if err != nil {
		return nil, err
	}
	in := req.GetEnvironment()
	e, err := s.store.CreateEnvironment(ctx, account, project,
		&identityv1.Environment{Key: in.GetKey(), Name: in.GetName(), SdkKey: secret.NewSDKKey()})
	if err != nil {
		return nil, err
	}
	// No GET route serves one environment, so no Location.
	httpmeta.Created(ctx, "")
	return &identityv1.CreateEnvironmentResponse{Environment: e}, nil
}

// ListEnvironments lists a project's environments.
func (s *Server) ListEnvironments(ctx context.Context, req *identityv1.ListEnvironmentsRequest) (*identityv1.ListEnvironmentsResponse, error) {
	account, project, err := ids(ctx, req.GetProjectId(), "PROJECT_NOT_FOUND")
	if err != nil {
		return nil, err
	}
	envs, err := s.store.ListEnvironments(ctx, account, project)
	if err != nil {
		return nil, err
	}
	return &identityv1.ListEnvironmentsResponse{Environments: envs}, nil
}

// ResolveSdkKey finds the environment of an SDK key. It is PUBLIC: the SDK
// key is the credential, as it is for Optimizely's datafile CDN.
func (s *Server) ResolveSdkKey(ctx context.Context, req *identityv1.ResolveSdkKeyRequest) (*identityv1.ResolveSdkKeyResponse, error) {
	e, account, err := s.store.ResolveSdkKey(ctx, req.GetSdkKey())
	if err != nil {
		return nil, err
	}
	return &identityv1.ResolveSdkKeyResponse{Environment: e, AccountId: account}, nil
}
