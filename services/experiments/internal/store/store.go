// Package store is the experiments service's Postgres access: hand-written
// SQL (one named constant per query) returning API messages, with driver
// errors translated to apierr errors at this boundary. Every write runs in
// a transaction that also re-hashes the project's datafiles and raises the
// revision of those whose content changed.
package store

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/liftlabs/lift/pkg/apierr"
	"github.com/liftlabs/lift/pkg/pg"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Store runs the experiments queries on a pool.
type Store struct {
	pool *pgxpool.Pool
	// changed is told, after commit, which environments got a new
	// datafile revision (for cache invalidation); may be nil.
	changed func(environmentIDs []int64)
}

// New returns a Store over pool (migrated with the migrations package).
// onRevision, if not nil, is called after every commit that raised some
// environments' datafile revisions.
func New(pool *pgxpool.Pool, onRevision func(environmentIDs []int64)) *Store {
	return &Store{pool: pool, changed: onRevision}
}

// querier is what a pool and a transaction have in common, so single-row
// helpers run in either.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// lockProjectSQL serialises the writes of one project, so that the
// datafile hash computed at the end of a write sees every earlier write
// and no two writes raise the same revision.
const lockProjectSQL = `SELECT pg_advisory_xact_lock($1)`

// write runs fn in a transaction holding the project's lock, then refreshes
// the project's datafile revisions in the same transaction.
func (s *Store) write(ctx context.Context, projectID int64, fn func(tx pgx.Tx) error) error {
	var bumped []int64
	err := pg.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, lockProjectSQL, projectID); err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			return err
		}
		var err error
		bumped, err = refreshRevisions(ctx, tx, projectID)
		return err
	})
	if err == nil && len(bumped) > 0 && s.changed != nil {
		s.changed(bumped)
	}
	return err
}

// checkEtag rejects a stale etag; an empty one means "whatever is stored".
func checkEtag(kind, etag string, version int64) error {
	if etag != "" && etag != strconv.FormatInt(version, 10) {
		return apierr.Aborted("ETAG_MISMATCH", "the %s changed since it was read; read it again and retry", kind).
			With("current_etag", strconv.FormatInt(version, 10))
	}
	return nil
}

// ParseID parses a numeric id that passed validation; one too large for
// int64 cannot exist, so it is notFound.
func ParseID(s, notFoundReason string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, apierr.NotFound(notFoundReason, "%s", "not found")
	}
	return id, nil
}

// ParseOptionalID is ParseID for a reference that may be empty (0).
func ParseOptionalID(s, notFoundReason string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	return ParseID(s, notFoundReason)
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }

func optionalID(id *int64) string {
	if id == nil {
		return ""
	}
	return idString(*id)
}

// nullID is a reference column's value: 0 is NULL.
func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

func tsOrNil(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}

// FormatID writes an id as the numeric string the API uses.
func FormatID(id int64) string { return idString(id) }
