// Package pg opens Postgres pools, runs embedded SQL migrations and maps
// driver errors to apierr errors, so stores never deal with SQLSTATE codes.
package pg

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Open connects to url, creating the database first if it does not exist
// (so a fresh Postgres needs no manual step), and pings it.
func Open(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := Config(url)
	if err != nil {
		return nil, err
	}
	pool, err := connect(ctx, cfg)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "3D000" { // invalid_catalog_name
		if err := createDatabase(ctx, cfg.ConnConfig, cfg.ConnConfig.Database); err != nil {
			return nil, err
		}
		pool, err = connect(ctx, cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to database %q: %w", cfg.ConnConfig.Database, err)
	}
	return pool, nil
}

// Config parses url into a pool configuration with Lift's settings: every
// statement run for a traced request is a span (see Tracer).
func Config(url string) (*pgxpool.Config, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	cfg.ConnConfig.Tracer = tracer{}
	return cfg, nil
}

// NewPool returns a pool on url configured by Config, without connecting
// (test helpers whose database exists use it).
func NewPool(ctx context.Context, url string) (*pgxpool.Pool, error) {
	cfg, err := Config(url)
	if err != nil {
		return nil, err
	}
	return pgxpool.NewWithConfig(ctx, cfg)
}

func connect(ctx context.Context, cfg *pgxpool.Config) (*pgxpool.Pool, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}

// createDatabase creates name through the server's maintenance database.
// A concurrent creator winning the race (42P04) is success.
func createDatabase(ctx context.Context, base *pgx.ConnConfig, name string) error {
	cfg := base.Copy()
	cfg.Database = "postgres"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect to maintenance database: %w", err)
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if err != nil && !(errors.As(err, &pgErr) && pgErr.Code == "42P04") {
		return fmt.Errorf("create database %q: %w", name, err)
	}
	return nil
}

// InTx runs fn in a transaction, committing when it returns nil and rolling
// back otherwise (and on panic).
func InTx(ctx context.Context, pool *pgxpool.Pool, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, pool, fn)
}
