package server_test

import (
	"testing"
	"time"

	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"github.com/liftlabs/lift/services/identity/internal/secret"
	"github.com/liftlabs/lift/services/identity/internal/store"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

func TestOtherAccountsResourcesAreNotFound(t *testing.T) {
	e := start(t)
	mine, theirs := e.account(t, "mine"), e.account(t, "theirs")
	p := e.project(t, theirs.admin, "Secret")
	tok, err := e.c.ListTokens(as(theirs.admin), &identityv1.ListTokensRequest{})
	if err != nil {
		t.Fatal(err)
	}
	theirToken := tok.GetTokens()[0].GetId()

	calls := map[string]func() error{
		"get": func() error {
			_, err := e.c.GetProject(as(mine.admin), &identityv1.GetProjectRequest{ProjectId: p.GetId()})
			return err
		},
		"update": func() error {
			_, err := e.c.UpdateProject(as(mine.admin), &identityv1.UpdateProjectRequest{
				Project: &identityv1.Project{Id: p.GetId(), Name: "x"}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"name"}}})
			return err
		},
		"delete": func() error {
			_, err := e.c.DeleteProject(as(mine.admin), &identityv1.DeleteProjectRequest{ProjectId: p.GetId()})
			return err
		},
		"list environments": func() error {
			_, err := e.c.ListEnvironments(as(mine.admin), &identityv1.ListEnvironmentsRequest{ProjectId: p.GetId()})
			return err
		},
		"create environment": func() error {
			_, err := e.c.CreateEnvironment(as(mine.admin), &identityv1.CreateEnvironmentRequest{
				ProjectId: p.GetId(), Environment: &identityv1.Environment{Key: "x"}})
			return err
		},
		"revoke token": func() error {
			_, err := e.c.RevokeToken(as(mine.admin), &identityv1.RevokeTokenRequest{TokenId: theirToken})
			return err
		},
		"huge id": func() error {
			_, err := e.c.GetProject(as(mine.admin), &identityv1.GetProjectRequest{ProjectId: "9999999999999999999"})
			return err
		},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) { wantCode(t, call(), codes.NotFound) })
	}
	// And the project is untouched, the token still works.
	if _, err := e.c.GetProject(as(theirs.admin), &identityv1.GetProjectRequest{ProjectId: p.GetId()}); err != nil {
		t.Fatal(err)
	}
	list, err := e.c.ListProjects(as(mine.admin), &identityv1.ListProjectsRequest{})
	if err != nil || len(list.GetProjects()) != 0 {
		t.Fatalf("mine lists %v, %v", list, err)
	}
}

func TestScopes_ReadTokenCannotWriteWriteTokenCannotAdmin(t *testing.T) {
	e := start(t)
	a := e.account(t, "acme")
	read := e.token(t, a, identityv1.Scope_SCOPE_READ)
	write := e.token(t, a, identityv1.Scope_SCOPE_WRITE)
	p := e.project(t, write, "Web")

	if _, err := e.c.GetProject(as(read), &identityv1.GetProjectRequest{ProjectId: p.GetId()}); err != nil {
		t.Fatalf("read token reads: %v", err)
	}
	_, err := e.c.CreateProject(as(read), &identityv1.CreateProjectRequest{Project: &identityv1.Project{Name: "x"}})
	wantCode(t, err, codes.PermissionDenied)
	_, err = e.c.DeleteProject(as(read), &identityv1.DeleteProjectRequest{ProjectId: p.GetId()})
	wantCode(t, err, codes.PermissionDenied)
	_, err = e.c.CreateToken(as(write), &identityv1.CreateTokenRequest{Scopes: []identityv1.Scope{identityv1.Scope_SCOPE_ADMIN}})
	wantCode(t, err, codes.PermissionDenied)
	_, err = e.c.ListTokens(as(read), &identityv1.ListTokensRequest{})
	wantCode(t, err, codes.PermissionDenied)
}

func TestBadTokensAreUnauthenticatedWithOneMessage(t *testing.T) {
	e := start(t)
	a := e.account(t, "acme")
	revoked := e.token(t, a, identityv1.Scope_SCOPE_ADMIN)
	list, err := e.c.ListTokens(as(a.admin), &identityv1.ListTokensRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.RevokeToken(as(a.admin), &identityv1.RevokeTokenRequest{TokenId: list.GetTokens()[1].GetId()}); err != nil {
		t.Fatal(err)
	}
	// An expired token cannot be made through the API (expire_time must be
	// in the future), so it goes straight into the store.
	expired := secret.NewToken()
	past := time.Now().Add(-time.Minute)
	accountID := mustInt(t, a.id)
	if _, err := e.store.CreateToken(t.Context(), accountID, store.NewToken{Scopes: []identityv1.Scope{identityv1.Scope_SCOPE_ADMIN},
		ExpireTime: &past, Hash: expired.Hash, DisplayPrefix: expired.DisplayPrefix}); err != nil {
		t.Fatal(err)
	}
	messages := map[string]bool{}
	for name, ctx := range map[string]func() error{
		"missing": func() error {
			_, err := e.c.ListProjects(t.Context(), &identityv1.ListProjectsRequest{})
			return err
		},
		"malformed": func() error {
			_, err := e.c.ListProjects(as("not-a-token"), &identityv1.ListProjectsRequest{})
			return err
		},
		"unknown": func() error {
			_, err := e.c.ListProjects(as(secret.NewToken().Secret), &identityv1.ListProjectsRequest{})
			return err
		},
		"expired": func() error {
			_, err := e.c.ListProjects(as(expired.Secret), &identityv1.ListProjectsRequest{})
			return err
		},
		"revoked": func() error {
			_, err := e.c.ListProjects(as(revoked), &identityv1.ListProjectsRequest{})
			return err
		},
		"revoked via AuthenticateToken": func() error {
			_, err := e.c.AuthenticateToken(t.Context(), &identityv1.AuthenticateTokenRequest{Token: revoked})
			return err
		},
		"expired via AuthenticateToken": func() error {
			_, err := e.c.AuthenticateToken(t.Context(), &identityv1.AuthenticateTokenRequest{Token: expired.Secret})
			return err
		},
	} {
		err := ctx()
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("%s: %v, want Unauthenticated", name, err)
		}
		messages[status.Convert(err).Message()] = true
	}
	if len(messages) != 1 {
		t.Errorf("messages differ: %v", messages)
	}
	p, err := e.c.AuthenticateToken(t.Context(), &identityv1.AuthenticateTokenRequest{Token: a.admin})
	if err != nil || p.GetPrincipal().GetAccountId() != a.id || p.GetPrincipal().GetScopes()[0] != identityv1.Scope_SCOPE_ADMIN {
		t.Fatalf("AuthenticateToken(valid) = %v, %v", p, err)
	}
}
