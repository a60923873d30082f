package store_test

import (
	"testing"

	"github.com/liftlabs/lift/pkg/pgtest"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"github.com/liftlabs/lift/services/identity/internal/secret"
	"github.com/liftlabs/lift/services/identity/internal/store"
	"github.com/liftlabs/lift/services/identity/migrations"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestCreateProject_FailedEnvironmentInsertLeavesNothingBehind(t *testing.T) {
	t.Parallel()
	pool := pgtest.New(t, migrations.FS)
	st := store.New(pool)
	tok := secret.NewToken()
	account, _, err := st.CreateAccount(t.Context(), "acme", store.NewToken{
		Scopes: []identityv1.Scope{identityv1.Scope_SCOPE_ADMIN}, Hash: tok.Hash, DisplayPrefix: tok.DisplayPrefix})
	if err != nil {
		t.Fatal(err)
	}
	var accountID int64
	if err := pool.QueryRow(t.Context(), "SELECT $1::bigint", account).Scan(&accountID); err != nil {
		t.Fatal(err)
	}
	// The second environment repeats the first one's key: its insert fails
	// after the project and the first environment were written.
	envs := []*identityv1.Environment{
		{Key: "production", SdkKey: secret.NewSDKKey()},
		{Key: "production", SdkKey: secret.NewSDKKey()},
	}
	_, err = st.CreateProject(t.Context(), accountID, &identityv1.Project{Name: "Web",
		Settings: &identityv1.ProjectSettings{ConfidenceLevel: 0.95, StatsMethod: identityv1.StatsMethod_STATS_METHOD_SEQUENTIAL}}, envs)
	if status.Code(err) != codes.AlreadyExists {
		t.Fatalf("err = %v, want AlreadyExists", err)
	}
	var projects, environments int
	if err := pool.QueryRow(t.Context(), "SELECT (SELECT count(*) FROM projects), (SELECT count(*) FROM environments)").
		Scan(&projects, &environments); err != nil {
		t.Fatal(err)
	}
	if projects != 0 || environments != 0 {
		t.Fatalf("left behind: %d projects, %d environments", projects, environments)
	}
}
