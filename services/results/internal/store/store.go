// Package store holds the results service's SQL: the ingest transaction
// that stores events, the rollup that folds them into the per-day
// aggregates, and the rollup reads.
package store

import "github.com/jackc/pgx/v5/pgxpool"

// Store is the results database.
type Store struct {
	pool *pgxpool.Pool
}

// New returns a store on pool.
func New(pool *pgxpool.Pool) *Store { return &Store{pool: pool} }
