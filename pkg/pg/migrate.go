package pg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// migrateLockID is the advisory lock key that serialises migrations, so
// several replicas starting at once apply each file exactly once.
const migrateLockID = 7_031_985_463

const createMigrationsTableSQL = `
CREATE TABLE IF NOT EXISTS schema_migrations (
	version    text PRIMARY KEY,
	applied_at timestamptz NOT NULL DEFAULT now()
)`

// addChecksumSQL adds the checksum column to tables created before it
// existed; their rows get theirs on the next start (recordChecksumSQL).
const addChecksumSQL = `ALTER TABLE schema_migrations ADD COLUMN IF NOT EXISTS checksum text`

const recordChecksumSQL = `UPDATE schema_migrations SET checksum = $2 WHERE version = $1 AND checksum IS NULL`

// checksum is the SHA-256 of a migration file, hex.
func checksum(sql []byte) string {
	sum := sha256.Sum256(sql)
	return hex.EncodeToString(sum[:])
}

// Migrate applies the *.sql files at the root of fsys that are not yet
// recorded in schema_migrations, in name order (NNNN_name.sql), each in its
// own transaction together with its bookkeeping row and the file's
// checksum. A migration already applied whose file has changed since is an
// error: the service refuses to start rather than run on a schema that is
// not what its files say (a new change needs a new file).
//
// This small runner replaces tern/v2's migrate package on purpose: Lift's
// migrations are plain forward-only SQL, and tern would add text/template
// (and sprig) processing and its own version table format for nothing.
func Migrate(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS) error {
	files, err := MigrationFiles(fsys)
	if err != nil {
		return err
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", migrateLockID); err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrateLockID) //nolint:errcheck
	if _, err := conn.Exec(ctx, createMigrationsTableSQL); err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	if _, err := conn.Exec(ctx, addChecksumSQL); err != nil {
		return fmt.Errorf("schema_migrations checksum: %w", err)
	}
	rows, _ := conn.Query(ctx, "SELECT version, coalesce(checksum, '') FROM schema_migrations")
	applied := map[string]string{}
	for rows.Next() {
		var version, sum string
		if err := rows.Scan(&version, &sum); err != nil {
			rows.Close()
			return fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[version] = sum
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read schema_migrations: %w", err)
	}
	for _, name := range files {
		version := strings.TrimSuffix(name, ".sql")
		sql, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sum := checksum(sql)
		if recorded, ok := applied[version]; ok {
			switch recorded {
			case sum:
			case "": // applied before checksums were recorded
				if _, err := conn.Exec(ctx, recordChecksumSQL, version, sum); err != nil {
					return fmt.Errorf("migration %s: record checksum: %w", name, err)
				}
			default:
				return fmt.Errorf("migration %s was applied with checksum %s but the file now has %s: an applied migration must not change (add a new one)", name, recorded[:12], sum[:12])
			}
			continue
		}
		err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, string(sql)); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, "INSERT INTO schema_migrations (version, checksum) VALUES ($1, $2)", version, sum)
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %s: %w", name, err)
		}
	}
	return nil
}

// MigrationFiles returns the names of the *.sql files at the root of fsys,
// sorted.
func MigrationFiles(fsys fs.FS) ([]string, error) {
	entries, err := fs.ReadDir(fsys, ".")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var names []string
	for _, e := range entries {
		if !e.IsDir() && path.Ext(e.Name()) == ".sql" {
			names = append(names, e.Name())
		}
	}
	slices.Sort(names)
	return names, nil
}
