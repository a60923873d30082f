// Package fakeauth is a fixed-table Authenticator for the chassis' own tests,
// which cannot depend on the identity service.
package fakeauth

import (
	"context"

	"github.com/liftlabs/lift/pkg/auth"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
)

// Tokens known to Authenticator, one per scope.
const (
	Read  = "lift_pat_read"
	Write = "lift_pat_write"
	Admin = "lift_pat_admin"
)

// Authenticator accepts the three tokens above for account "1".
type Authenticator struct{}

// Authenticate implements auth.Authenticator.
func (Authenticator) Authenticate(_ context.Context, tok string) (auth.Principal, error) {
	scope := map[string]identityv1.Scope{Read: identityv1.Scope_SCOPE_READ, Write: identityv1.Scope_SCOPE_WRITE, Admin: identityv1.Scope_SCOPE_ADMIN}[tok]
	if scope == identityv1.Scope_SCOPE_UNSPECIFIED {
		return auth.Principal{}, auth.ErrUnauthenticated
	}
	return auth.Principal{AccountID: "1", TokenID: "1", Scopes: []identityv1.Scope{scope}}, nil
}
