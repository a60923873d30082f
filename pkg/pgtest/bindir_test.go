package pgtest

import (
	"os"
	"sort"
	"testing"
)

func TestServerBinDir_FindsThisMachinesServer(t *testing.T) {
	dir, looked := serverBinDir()
	t.Logf("pg_ctl in %q (looked in %v)", dir, looked)
	if dir == "" && os.Getenv("CI") == "true" {
		t.Fatalf("no pg_ctl found in %v", looked)
	}
}

func TestVersionOrder(t *testing.T) {
	dirs := byVersion{"/usr/lib/postgresql/9.6/bin", "/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/15/bin"}
	sort.Sort(sort.Reverse(dirs))
	if dirs[0] != "/usr/lib/postgresql/17/bin" || dirs[2] != "/usr/lib/postgresql/9.6/bin" {
		t.Errorf("newest first: %v", dirs)
	}
}
