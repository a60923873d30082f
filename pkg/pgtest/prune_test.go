package pgtest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Templates no test used for a day are dropped; fresh and unstamped ones
// (another checkout's, older code's) stay.
func TestStampAndPrune_DropsOnlyStaleStampedTemplates(t *testing.T) {
	ctx := context.Background()
	url := os.Getenv("LIFT_PG_URL")
	if url == "" {
		url = DefaultURL
	}
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Skipf("no Postgres: %v", err)
	}
	defer admin.Close(ctx)
	suffix := fmt.Sprintf("prune_%d_%d", os.Getpid(), time.Now().UnixNano())
	stale, fresh, bare := "lift_tpl_stale_"+suffix, "lift_tpl_fresh_"+suffix, "lift_tpl_bare_"+suffix
	for _, db := range []string{stale, fresh, bare} {
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+db); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+db) })
	}
	old := time.Now().UTC().Add(-48 * time.Hour).Format(time.RFC3339)
	if _, err := admin.Exec(ctx, fmt.Sprintf("COMMENT ON DATABASE %s IS '%s%s'", stale, templateStamp, old)); err != nil {
		t.Fatal(err)
	}
	stampAndPrune(ctx, admin, fresh)
	for db, want := range map[string]bool{stale: false, fresh: true, bare: true} {
		var exists bool
		if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", db).Scan(&exists); err != nil {
			t.Fatal(err)
		}
		if exists != want {
			t.Errorf("%s exists = %v, want %v", db, exists, want)
		}
	}
}
