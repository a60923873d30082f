package server

import (
	"context"
	"strconv"
	"time"

	"github.com/liftlabs/lift/pkg/httpmeta"
	"github.com/liftlabs/lift/pkg/pagetoken"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"github.com/liftlabs/lift/services/identity/internal/secret"
	"github.com/liftlabs/lift/services/identity/internal/store"
)

// CreateToken creates a token for the caller's account and returns its
// secret, the only time it is ever available.
func (s *Server) CreateToken(ctx context.Context, req *identityv1.CreateTokenRequest) (*identityv1.CreateTokenResponse, error) {
	account, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	sec := secret.NewToken()
	var expire *time.Time
	if req.GetExpireTime() != nil {
		t := req.GetExpireTime().AsTime()
		expire = &t
	}
	tok, err := s.store.CreateToken(ctx, account, store.NewToken{
		Name: req.GetName(), Scopes: req.GetScopes(), ExpireTime: expire, Hash: sec.Hash, DisplayPrefix: sec.DisplayPrefix,
	})
	if err != nil {
		return nil, err
	}
	httpmeta.Created(ctx, "")
	return &identityv1.CreateTokenResponse{Token: tok, Secret: sec.Secret}, nil
}

// ListTokens pages through the caller's tokens (never their secrets).
func (s *Server) ListTokens(ctx context.Context, req *identityv1.ListTokensRequest) (*identityv1.ListTokensResponse, error) {
	account, err := caller(ctx)
	if err != nil {
		return nil, err
	}
	after, err := pagetoken.Decode(req.GetPageToken())
	if err != nil {
		return nil, err
	}
	size := pagetoken.Size(req.GetPageSize())
	rows, err := s.store.ListTokens(ctx, account, after, size+1)
	if err != nil {
		return nil, err
	}
	page, next := pagetoken.Next(rows, size, func(t *identityv1.Token) int64 {
		id, _ := strconv.ParseInt(t.GetId(), 10, 64)
		return id
	})
	return &identityv1.ListTokensResponse{Tokens: page, NextPageToken: next}, nil
}

// RevokeToken revokes a token of the caller's account. Other services
// notice within their auth cache TTL.
func (s *Server) RevokeToken(ctx context.Context, req *identityv1.RevokeTokenRequest) (*identityv1.RevokeTokenResponse, error) {
	account, id, err := ids(ctx, req.GetTokenId(), "TOKEN_NOT_FOUND")
	if err != nil {
		return nil, err
	}
	tok, err := s.store.RevokeToken(ctx, account, id)
	if err != nil {
		return nil, err
	}
	return &identityv1.RevokeTokenResponse{Token: tok}, nil
}
