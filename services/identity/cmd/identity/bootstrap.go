package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/liftlabs/lift/pkg/config"
	"github.com/liftlabs/lift/pkg/pg"
	"github.com/liftlabs/lift/services/identity/internal/server"
	"github.com/liftlabs/lift/services/identity/internal/store"
	"github.com/liftlabs/lift/services/identity/migrations"
)

// bootstrap creates an account and an admin token directly in the database
// (LIFT_DATABASE_URL) and prints the token secret alone on stdout, so
// scripts can capture it: TOKEN=$(identity bootstrap --account demo).
func bootstrap(args []string) int {
	fs := flag.NewFlagSet("bootstrap", flag.ContinueOnError)
	name := fs.String("account", "", "name of the account to create (required)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *name == "" || len(*name) > 200 {
		fmt.Fprintln(os.Stderr, "usage: identity bootstrap --account NAME (1-200 characters)")
		return 2
	}
	cfg := config.New()
	dbURL := cfg.String("LIFT_DATABASE_URL", defaultDatabaseURL)
	cfg.ExitOnError()

	ctx := context.Background()
	pool, err := pg.Open(ctx, dbURL)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bootstrap:", err)
		return 1
	}
	defer pool.Close()
	if err := pg.Migrate(ctx, pool, migrations.FS); err != nil {
		fmt.Fprintln(os.Stderr, "bootstrap:", err)
		return 1
	}
	account, tok, secret, err := server.Bootstrap(ctx, store.New(pool), *name)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bootstrap:", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "created account %s with admin token %s (%s…)\n", account, tok.GetId(), tok.GetDisplayPrefix())
	fmt.Println(secret)
	return 0
}
