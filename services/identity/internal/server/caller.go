package server

import (
	"context"

	"github.com/liftlabs/lift/pkg/auth"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
)

// GetCaller returns the principal the auth interceptor found for the
// request's token, so a client learns its scopes through the public API.
func (s *Server) GetCaller(ctx context.Context, _ *identityv1.GetCallerRequest) (*identityv1.GetCallerResponse, error) {
	p, err := auth.Require(ctx)
	if err != nil {
		return nil, err
	}
	return &identityv1.GetCallerResponse{Principal: &identityv1.Principal{
		AccountId: p.AccountID, TokenId: p.TokenID, Scopes: p.Scopes,
	}}, nil
}
