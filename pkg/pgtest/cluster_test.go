package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/liftlabs/lift/pkg/pgtest"
)

func TestCluster_StopsAndStartsKeepingData(t *testing.T) {
	c := pgtest.NewCluster(t)
	ctx := context.Background()
	exec := func(sql string) int {
		conn, err := pgx.Connect(ctx, c.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		var n int
		if err := conn.QueryRow(ctx, sql).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	exec("WITH c AS (SELECT 1) SELECT 0") // reachable
	conn, err := pgx.Connect(ctx, c.URL)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE t AS SELECT 1 AS n"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	c.Stop(t)
	if conn, err := pgx.Connect(ctx, c.URL); err == nil {
		conn.Close(ctx)
		t.Fatal("connected to a stopped cluster")
	}
	c.Start(t)
	if n := exec("SELECT count(*)::int FROM t"); n != 1 {
		t.Fatalf("rows after restart = %d", n)
	}
}
