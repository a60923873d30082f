package pgtest_test

import (
	"context"
	"testing"
	"testing/fstest"

	"github.com/liftlabs/lift/pkg/pgtest"
)

var migrations = fstest.MapFS{
	"0001_items.sql": {Data: []byte("CREATE TABLE items (id int PRIMARY KEY);")},
}

// Each parallel test writes the same key: they only pass if every test has
// a database of its own.
func TestNew_EachTestGetsAFreshMigratedDatabase(t *testing.T) {
	for _, name := range []string{"a", "b", "c", "d"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			pool := pgtest.New(t, migrations)
			if _, err := pool.Exec(context.Background(), "INSERT INTO items (id) VALUES (1)"); err != nil {
				t.Fatal(err)
			}
		})
	}
}
