package identitytest_test

import (
	"context"
	"testing"
	"time"

	"github.com/liftlabs/lift/pkg/auth"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"github.com/liftlabs/lift/services/identity/identitytest"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Other services authenticate through auth.NewIdentityAuthenticator against
// the real identity service, exactly as this test does.
func TestEnv_ServesOtherServicesAuthenticator(t *testing.T) {
	env := identitytest.Start(t)
	acct := env.NewAccount(t)
	read := env.Token(t, acct, identityv1.Scope_SCOPE_READ)
	p := env.CreateProject(t, acct.AdminToken, "Web")
	if p.GetAccountId() != acct.ID || len(env.Environments(t, read, p.GetId())) != 2 {
		t.Fatalf("project = %v", p)
	}

	a := auth.NewIdentityAuthenticator(env.Client, time.Minute)
	got, err := a.Authenticate(context.Background(), read)
	if err != nil || got.AccountID != acct.ID || !got.HasScope(identityv1.Scope_SCOPE_READ) || got.HasScope(identityv1.Scope_SCOPE_WRITE) {
		t.Fatalf("principal = %+v, %v", got, err)
	}
	if _, err := a.Authenticate(context.Background(), "lift_pat_nope"); status.Code(err) != codes.Unauthenticated {
		t.Fatalf("bad token: %v", err)
	}
}
