// Package pgtest gives each test a fresh, migrated database on the real
// Postgres at LIFT_PG_URL, cloned from a template that is migrated once per
// set of migrations.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/liftlabs/lift/pkg/pg"
)

// DefaultURL is used when LIFT_PG_URL is unset.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// templates caches, per process, the migrations hashes whose template is
// known to exist.
var templates sync.Map // hash → struct{}

// New returns a pool on a fresh database holding the schema of migrations.
// The database is dropped when the test ends; tests may run in parallel.
func New(t testing.TB, migrations fs.FS) *pgxpool.Pool {
	t.Helper()
	pool, err := pg.NewPool(context.Background(), URL(t, migrations))
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(pool.Close) // runs before the drop registered by URL
	return pool
}

// URL returns the connection URL of a fresh migrated database that is
// dropped when the test ends, for code that opens its own pool (e.g. a
// service started with pg.Open). Close all its connections before the test
// ends, or the drop terminates them.
func URL(t testing.TB, migrations fs.FS) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	base := baseConfig(t)
	admin, err := pgx.ConnectConfig(ctx, base)
	if err != nil {
		t.Fatalf("pgtest: connect to %s (set LIFT_PG_URL): %v", base.Host, err)
	}
	defer admin.Close(ctx)

	tpl, err := ensureTemplate(ctx, admin, base, migrations)
	if err != nil {
		t.Fatalf("pgtest: template: %v", err)
	}
	name := "lift_test_" + randomHex(8)
	if _, err := admin.Exec(ctx, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s",
		pgx.Identifier{name}.Sanitize(), pgx.Identifier{tpl}.Sanitize())); err != nil {
		t.Fatalf("pgtest: clone template: %v", err)
	}
	t.Cleanup(func() { drop(base, name) })
	return connString(base, name)
}

// ensureTemplate creates and migrates the template database for these
// migrations unless it exists. Templates are named by a hash of the
// migration files, so a changed migration gets a new template. An advisory
// lock serialises test binaries of different packages running at once; the
// template is built under a temporary name and renamed when complete, so a
// crashed run never leaves a half-migrated template behind.
func ensureTemplate(ctx context.Context, admin *pgx.Conn, base *pgx.ConnConfig, migrations fs.FS) (string, error) {
	hash, err := migrationsHash(migrations)
	if err != nil {
		return "", err
	}
	name := "lift_tpl_" + hash
	if _, ok := templates.Load(hash); ok {
		return name, nil
	}
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock(hashtext($1))", name); err != nil {
		return "", err
	}
	defer admin.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock(hashtext($1))", name) //nolint:errcheck
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if !exists {
		if err := buildTemplate(ctx, admin, base, name); err != nil {
			return "", err
		}
		if err := migrateTemplate(ctx, admin, base, name, migrations); err != nil {
			return "", err
		}
	}
	templates.Store(hash, struct{}{})
	stampAndPrune(ctx, admin, name)
	return name, nil
}

// templateUnusedFor is how long a template no test binary has used stays:
// templates are named by their migrations' hash, so every migration change
// leaves the previous one behind.
const templateUnusedFor = 24 * time.Hour

// templateStamp marks a template's comment with when it was last used.
const templateStamp = "lift pgtest template, last used "

// stampAndPrune records that name is in use and drops the templates no
// test has used for templateUnusedFor. Only stamped templates are dropped,
// and never with FORCE: one in use (another checkout's tests on the same
// server) stays. Failures only leave a template behind, so they are
// ignored.
func stampAndPrune(ctx context.Context, admin *pgx.Conn, name string) {
	now := time.Now().UTC()
	_, _ = admin.Exec(ctx, fmt.Sprintf("COMMENT ON DATABASE %s IS '%s%s'",
		pgx.Identifier{name}.Sanitize(), templateStamp, now.Format(time.RFC3339)))
	rows, err := admin.Query(ctx, `SELECT datname, coalesce(shobj_description(oid, 'pg_database'), '')
		FROM pg_database WHERE datname LIKE 'lift\_tpl\_%' AND datname <> $1`, name)
	if err != nil {
		return
	}
	var stale []string
	for rows.Next() {
		var db, comment string
		if rows.Scan(&db, &comment) != nil {
			continue
		}
		used, ok := strings.CutPrefix(comment, templateStamp)
		if t, err := time.Parse(time.RFC3339, used); ok && err == nil && now.Sub(t) > templateUnusedFor {
			stale = append(stale, db)
		}
	}
	rows.Close()
	for _, db := range stale {
		_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{db}.Sanitize())
	}
}

func buildTemplate(ctx context.Context, admin *pgx.Conn, _ *pgx.ConnConfig, name string) error {
	tmp := pgx.Identifier{name + "_building"}.Sanitize()
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+tmp+" WITH (FORCE)"); err != nil {
		return err
	}
	_, err := admin.Exec(ctx, "CREATE DATABASE "+tmp)
	return err
}

func migrateTemplate(ctx context.Context, admin *pgx.Conn, base *pgx.ConnConfig, name string, migrations fs.FS) error {
	tmp := name + "_building"
	pool, err := pgxpool.New(ctx, connString(base, tmp))
	if err != nil {
		return err
	}
	err = pg.Migrate(ctx, pool, migrations)
	pool.Close() // CREATE DATABASE … TEMPLATE needs the template idle
	if err != nil {
		return err
	}
	_, err = admin.Exec(ctx, fmt.Sprintf("ALTER DATABASE %s RENAME TO %s",
		pgx.Identifier{tmp}.Sanitize(), pgx.Identifier{name}.Sanitize()))
	return err
}

func migrationsHash(migrations fs.FS) (string, error) {
	files, err := pg.MigrationFiles(migrations)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, f := range files {
		b, err := fs.ReadFile(migrations, f)
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", f, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

func drop(base *pgx.ConnConfig, name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	admin, err := pgx.ConnectConfig(ctx, base)
	if err != nil {
		return
	}
	defer admin.Close(ctx)
	_, _ = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)")
}

func baseConfig(t testing.TB) *pgx.ConnConfig {
	cfg, err := pgx.ParseConfig(baseURL())
	if err != nil {
		t.Fatalf("pgtest: LIFT_PG_URL: %v", err)
	}
	return cfg
}

// connString is LIFT_PG_URL with the database replaced by name.
func connString(_ *pgx.ConnConfig, name string) string {
	u, _ := url.Parse(baseURL()) // parsed successfully by baseConfig already
	u.Path = "/" + name
	return u.String()
}

func baseURL() string {
	if u := os.Getenv("LIFT_PG_URL"); u != "" {
		return u
	}
	return DefaultURL
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
