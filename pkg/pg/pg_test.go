package pg_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5"
	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/pg"
	"github.com/liftlabs/lift/pkg/pgtest"
	"google.golang.org/grpc/codes"
)

var migrations = os.DirFS("testdata/migrations")

func TestOpen_CreatesMissingDatabaseAndMigrateIsIdempotent(t *testing.T) {
	ctx := context.Background()
	// pgtest's URL with a database name that does not exist yet.
	url := pgtest.URL(t, migrations)
	missing := strings.Replace(url, "/lift_test_", "/lift_open_", 1)
	pool, err := pg.Open(ctx, missing)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		pool.Close()
		admin := pgtest.New(t, migrations)
		_, _ = admin.Exec(context.Background(), "DROP DATABASE IF EXISTS "+pgx.Identifier{pool.Config().ConnConfig.Database}.Sanitize()+" WITH (FORCE)")
	})
	for range 2 {
		if err := pg.Migrate(ctx, pool, migrations); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM schema_migrations").Scan(&n); err != nil || n != 2 {
		t.Fatalf("schema_migrations rows = %d, %v; want 2", n, err)
	}
}

func TestTranslate_DriverErrors(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t, migrations)
	var parent int64
	if err := pool.QueryRow(ctx, "INSERT INTO parents (name) VALUES ('a') RETURNING id").Scan(&parent); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "INSERT INTO children (parent_id) VALUES ($1)", parent); err != nil {
		t.Fatal(err)
	}
	_, dup := pool.Exec(ctx, "INSERT INTO parents (name) VALUES ('a')")
	_, badRef := pool.Exec(ctx, "INSERT INTO children (parent_id) VALUES (999)")
	_, stillUsed := pool.Exec(ctx, "DELETE FROM parents WHERE id = $1", parent)
	stillUsed = pg.Deleting(stillUsed) // what the delete paths of the stores do
	noRows := pool.QueryRow(ctx, "SELECT id FROM parents WHERE id = -1").Scan(new(int64))
	cases := []struct {
		err    error
		code   codes.Code
		reason string
	}{
		{dup, codes.AlreadyExists, "ALREADY_EXISTS"},
		{badRef, codes.NotFound, "PARENT_NOT_FOUND"},
		{stillUsed, codes.FailedPrecondition, "STILL_REFERENCED"},
		{noRows, codes.NotFound, "PARENT_NOT_FOUND"},
	}
	for _, c := range cases {
		got := pg.Translate(c.err, "PARENT_NOT_FOUND")
		e, ok := apierr.As(got)
		if !ok || e.Code != c.code || e.Reason != c.reason {
			t.Errorf("Translate(%v) = %v, want %v %s", c.err, got, c.code, c.reason)
		}
		// Nothing of the schema reaches the client's message or details.
		if ok && (strings.Contains(e.Message, "parents") || strings.Contains(e.Message, "fkey") || len(e.Metadata) > 0) {
			t.Errorf("Translate(%v) exposes the schema: %q %v", c.err, e.Message, e.Metadata)
		}
	}
	if got := pg.Translate(nil, "X"); got != nil {
		t.Errorf("Translate(nil) = %v", got)
	}
	other := errors.New("boom")
	if got := pg.Translate(other, "X"); got != other {
		t.Errorf("unknown errors pass through, got %v", got)
	}
}

func TestInTx_RollsBackOnError(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t, migrations)
	err := pg.InTx(ctx, pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "INSERT INTO parents (name) VALUES ('x')"); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, "INSERT INTO children (parent_id) VALUES (999)")
		return err
	})
	if err == nil {
		t.Fatal("want error")
	}
	var n int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM parents").Scan(&n); err != nil || n != 0 {
		t.Fatalf("parents = %d, %v; want 0", n, err)
	}
}

// An applied migration whose file changed afterwards stops Migrate (and so
// the service's start) with an error naming it; a legacy row without a
// checksum gets one instead.
func TestMigrate_RefusesAChangedAppliedMigration(t *testing.T) {
	ctx := context.Background()
	pool := pgtest.New(t, migrations) // migrated, checksums recorded
	if err := pg.Migrate(ctx, pool, migrations); err != nil {
		t.Fatalf("unchanged files: %v", err)
	}
	files, err := pg.MigrationFiles(migrations)
	if err != nil || len(files) == 0 {
		t.Fatalf("files %v, %v", files, err)
	}
	first, _ := fs.ReadFile(migrations, files[0])
	edited := fstest.MapFS{}
	for _, f := range files {
		b, _ := fs.ReadFile(migrations, f)
		edited[f] = &fstest.MapFile{Data: b}
	}
	edited[files[0]] = &fstest.MapFile{Data: append(append([]byte{}, first...), []byte("\n-- edited after it was applied\n")...)}
	err = pg.Migrate(ctx, pool, edited)
	if err == nil || !strings.Contains(err.Error(), files[0]) || !strings.Contains(err.Error(), "must not change") {
		t.Fatalf("edited applied migration: %v, want an error naming %s", err, files[0])
	}
	t.Logf("refused: %v", err)

	// A row from before checksums: it gets one, and then guards the file.
	if _, err := pool.Exec(ctx, "UPDATE schema_migrations SET checksum = NULL"); err != nil {
		t.Fatal(err)
	}
	if err := pg.Migrate(ctx, pool, migrations); err != nil {
		t.Fatalf("legacy rows: %v", err)
	}
	if err := pg.Migrate(ctx, pool, edited); err == nil {
		t.Fatal("edited file accepted after the legacy rows got checksums")
	}
}
