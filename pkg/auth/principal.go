// Package auth authenticates API tokens and enforces the access level each
// RPC declares with the lift.options.v1.access method option.
package auth

import (
	"context"
	"slices"

	"github.com/liftlabs/lift/pkg/apierr"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
)

// TokenPrefix starts every API token secret, so leaked tokens are easy to
// grep for and to recognise in secret scanners.
const TokenPrefix = "lift_pat_"

// Principal is who a request acts for.
type Principal struct {
	AccountID string
	TokenID   string
	Scopes    []identityv1.Scope
}

// Authenticator turns a token secret into a principal. It returns
// ErrUnauthenticated for any token that is not valid.
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Principal, error)
}

// ErrUnauthenticated is returned for a missing, malformed, unknown, expired or
// revoked token alike: the message never hints which.
var ErrUnauthenticated = apierr.Unauthenticated("UNAUTHENTICATED", "missing or invalid API token")

type ctxKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, ctxKey{}, p)
}

// FromContext returns the principal of an authenticated request.
func FromContext(ctx context.Context) (Principal, bool) {
	p, ok := ctx.Value(ctxKey{}).(Principal)
	return p, ok
}

// Require returns the principal or ErrUnauthenticated. Handlers of
// non-public RPCs can rely on the interceptor having set it; PUBLIC handlers
// that need a caller use this.
func Require(ctx context.Context) (Principal, error) {
	p, ok := FromContext(ctx)
	if !ok {
		return Principal{}, ErrUnauthenticated
	}
	return p, nil
}

// HasScope reports whether p may act at the level of want. Scopes are
// ordered (admin ⊃ write ⊃ read), so the highest scope held decides.
func (p Principal) HasScope(want identityv1.Scope) bool {
	if len(p.Scopes) == 0 {
		return false
	}
	return slices.Max(p.Scopes) >= want
}
