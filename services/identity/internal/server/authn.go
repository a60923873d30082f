package server

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"

	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/auth"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"github.com/liftlabs/lift/services/identity/internal/secret"
	"github.com/liftlabs/lift/services/identity/internal/store"
	"google.golang.org/grpc/codes"
)

// Authenticator verifies tokens against the store directly: identity's own
// server must not call itself over gRPC to authenticate.
type Authenticator struct{ store Store }

// NewAuthenticator returns the in-process Authenticator for identity's
// server.
func NewAuthenticator(s Store) *Authenticator { return &Authenticator{store: s} }

// Authenticate implements auth.Authenticator. Malformed, unknown, expired
// and revoked tokens all get auth.ErrUnauthenticated.
func (a *Authenticator) Authenticate(ctx context.Context, token string) (auth.Principal, error) {
	p, err := a.principal(ctx, token)
	if err != nil {
		return auth.Principal{}, err
	}
	return auth.Principal{AccountID: p.GetAccountId(), TokenID: p.GetTokenId(), Scopes: p.GetScopes()}, nil
}

func (a *Authenticator) principal(ctx context.Context, token string) (*identityv1.Principal, error) {
	if !secret.WellFormed(token) {
		return nil, auth.ErrUnauthenticated
	}
	p, err := a.store.Authenticate(ctx, secret.HashToken(token))
	if e, ok := apierr.As(err); ok && e.Code == codes.NotFound {
		return nil, auth.ErrUnauthenticated
	}
	return p, err
}

// AuthenticateToken is how every other service checks a token (through
// auth.NewIdentityAuthenticator).
func (s *Server) AuthenticateToken(ctx context.Context, req *identityv1.AuthenticateTokenRequest) (*identityv1.AuthenticateTokenResponse, error) {
	p, err := NewAuthenticator(s.store).principal(ctx, req.GetToken())
	if err != nil {
		return nil, err
	}
	return &identityv1.AuthenticateTokenResponse{Principal: p}, nil
}

// BootstrapAccount creates an account and its first admin token when the
// caller knows LIFT_BOOTSTRAP_SECRET. With no secret configured the RPC is
// FailedPrecondition (BOOTSTRAP_DISABLED): the server is not set up for it,
// whoever asks. A wrong secret is PermissionDenied.
func (s *Server) BootstrapAccount(ctx context.Context, req *identityv1.BootstrapAccountRequest) (*identityv1.BootstrapAccountResponse, error) {
	if s.bootstrapSecret == "" {
		return nil, apierr.FailedPrecondition("BOOTSTRAP_DISABLED", "account bootstrap is disabled (LIFT_BOOTSTRAP_SECRET is not set)")
	}
	// Hashing first makes the comparison constant-time in the length too.
	want, got := sha256.Sum256([]byte(s.bootstrapSecret)), sha256.Sum256([]byte(req.GetBootstrapSecret()))
	if subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
		return nil, apierr.PermissionDenied("BOOTSTRAP_SECRET_INVALID", "the bootstrap secret is not valid")
	}
	account, tok, sec, err := Bootstrap(ctx, s.store, req.GetAccountName())
	if err != nil {
		return nil, err
	}
	return &identityv1.BootstrapAccountResponse{AccountId: account, Token: tok, Secret: sec}, nil
}

// Bootstrap creates an account with an admin token named "bootstrap" and
// returns the token's secret. The CLI's bootstrap subcommand uses it too.
func Bootstrap(ctx context.Context, s Store, accountName string) (string, *identityv1.Token, string, error) {
	sec := secret.NewToken()
	account, tok, err := s.CreateAccount(ctx, accountName, store.NewToken{
		Name: "bootstrap", Scopes: []identityv1.Scope{identityv1.Scope_SCOPE_ADMIN},
		Hash: sec.Hash, DisplayPrefix: sec.DisplayPrefix,
	})
	if err != nil {
		return "", nil, "", err
	}
	return account, tok, sec.Secret, nil
}
