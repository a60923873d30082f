// Package store is the identity service's Postgres access: hand-written SQL
// (one named constant per query) returning API messages, with driver errors
// translated to apierr errors at this boundary.
package store

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Store runs the identity queries on a pool.
type Store struct {
	pool *pgxpool.Pool
}

// New returns a Store over pool (migrated with the migrations package).
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }

// querier is what a pool and a transaction have in common, so single-row
// helpers run in either.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func idString(id int64) string { return strconv.FormatInt(id, 10) }

func ts(t time.Time) *timestamppb.Timestamp { return timestamppb.New(t) }

func tsOrNil(t *time.Time) *timestamppb.Timestamp {
	if t == nil {
		return nil
	}
	return timestamppb.New(*t)
}
