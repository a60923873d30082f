package server_test

import (
	"context"
	"slices"
	"testing"

	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"google.golang.org/grpc/codes"
)

func TestGetCaller_ReturnsTheTokensAccountAndScopes(t *testing.T) {
	e := start(t)
	a := e.account(t, "acme")
	read := e.token(t, a, identityv1.Scope_SCOPE_READ)

	for _, c := range []struct {
		token string
		want  identityv1.Scope
	}{{a.admin, identityv1.Scope_SCOPE_ADMIN}, {read, identityv1.Scope_SCOPE_READ}} {
		resp, err := e.c.GetCaller(as(c.token), &identityv1.GetCallerRequest{})
		if err != nil {
			t.Fatal(err)
		}
		p := resp.GetPrincipal()
		if p.GetAccountId() != a.id || p.GetTokenId() == "" || !slices.Equal(p.GetScopes(), []identityv1.Scope{c.want}) {
			t.Errorf("GetCaller(%v token) = %v", c.want, p)
		}
	}
	_, err := e.c.GetCaller(context.Background(), &identityv1.GetCallerRequest{})
	wantCode(t, err, codes.Unauthenticated)
}
