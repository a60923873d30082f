package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a private, throwaway Postgres server for tests that must stop
// and start the database (the shared one at LIFT_PG_URL serves every test
// running in parallel and must never be restarted).
type Cluster struct {
	// URL is the connection URL of its "postgres" database.
	URL      string
	dir, bin string
	// asUser prefixes the server commands when running as root.
	asUser   []string
	uid, gid int
}

// With CI=true (.ci/run sets it) a missing PostgreSQL server installation
// fails the tests that need a private cluster instead of skipping them: a
// durability test that silently does not run proves nothing.

// serverBinDir finds the directory holding pg_ctl and initdb: PATH, then
// pg_config --bindir, then every version under the usual install roots
// (Debian/Ubuntu, RHEL/PGDG, Homebrew), newest first.
func serverBinDir() (dir string, looked []string) {
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		// Often a symlink (or Debian's wrapper) into the real directory,
		// which also holds initdb and postgres.
		if real, err := filepath.EvalSymlinks(p); err == nil && fileExists(filepath.Join(filepath.Dir(real), "initdb")) {
			return filepath.Dir(real), nil
		}
		if fileExists(filepath.Join(filepath.Dir(p), "initdb")) {
			return filepath.Dir(p), nil
		}
	}
	looked = append(looked, "$PATH")
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		d := strings.TrimSpace(string(out))
		if fileExists(filepath.Join(d, "pg_ctl")) {
			return d, nil
		}
		looked = append(looked, d)
	}
	for _, pattern := range []string{"/usr/lib/postgresql/*/bin", "/usr/pgsql-*/bin", "/opt/homebrew/opt/postgresql@*/bin", "/usr/local/opt/postgresql@*/bin"} {
		dirs, _ := filepath.Glob(pattern)
		sort.Sort(sort.Reverse(byVersion(dirs)))
		for _, d := range dirs {
			if fileExists(filepath.Join(d, "pg_ctl")) {
				return d, nil
			}
		}
		looked = append(looked, pattern)
	}
	return "", looked
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// byVersion orders install directories by the number in their path, so
// .../17/bin sorts after .../9.6/bin.
type byVersion []string

func (v byVersion) Len() int      { return len(v) }
func (v byVersion) Swap(i, j int) { v[i], v[j] = v[j], v[i] }
func (v byVersion) Less(i, j int) bool {
	return versionOf(v[i]) < versionOf(v[j])
}

func versionOf(dir string) float64 {
	f := strings.FieldsFunc(dir, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	for _, s := range f {
		if n, err := strconv.ParseFloat(strings.Trim(s, "."), 64); err == nil {
			return n
		}
	}
	return 0
}

// NewCluster initialises and starts a cluster in a temporary directory on a
// free loopback port, trusting local connections, and stops and removes it
// when the test ends. It skips the test when the PostgreSQL server
// binaries are not installed. Postgres refuses to run as root: as root, it
// runs them as the "postgres" OS user.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	c := &Cluster{}
	bin, looked := serverBinDir()
	if bin == "" {
		msg := fmt.Sprintf("pgtest: no PostgreSQL server binaries (pg_ctl) in %v: cannot run a private cluster", looked)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: install the postgresql package)")
		}
		t.Skip(msg + "; with CI=true this fails")
	}
	c.bin = bin
	dir, err := os.MkdirTemp("", "lift-pgcluster-")
	if err != nil {
		t.Fatal(err)
	}
	c.dir = dir
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("pgtest: running as root and there is no postgres user to run a cluster as: %v", err)
		}
		c.uid, _ = strconv.Atoi(u.Uid)
		c.gid, _ = strconv.Atoi(u.Gid)
		if err := os.Chown(dir, c.uid, c.gid); err != nil {
			t.Fatal(err)
		}
		c.asUser = []string{"runuser", "-u", "postgres", "--"}
	}
	port := freePort(t)
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	c.run(t, "initdb", "-D", c.data(), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
	conf := fmt.Sprintf("port = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\nfsync = off\nmax_connections = 50\n", port, dir)
	if err := os.WriteFile(filepath.Join(c.data(), "postgresql.auto.conf"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if c.asUser != nil { // the server's user must own what root wrote
		if err := os.Chown(filepath.Join(c.data(), "postgresql.auto.conf"), c.uid, c.gid); err != nil {
			t.Fatal(err)
		}
	}
	c.Start(t)
	t.Cleanup(func() { c.Stop(t) })
	return c
}

// Start starts the server and waits until it accepts connections.
func (c *Cluster) Start(t testing.TB) {
	t.Helper()
	c.run(t, "pg_ctl", "-D", c.data(), "-l", filepath.Join(c.dir, "log"), "-w", "-t", "60", "start")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		conn, err := pgx.Connect(ctx, c.URL)
		if err == nil {
			conn.Close(ctx)
			return
		}
		if ctx.Err() != nil {
			t.Fatalf("pgtest: cluster did not accept connections: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop stops the server the way a restart or failover does: "fast"
// shutdown rolls back open transactions and closes every connection.
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(filepath.Join(c.data(), "postmaster.pid")); err != nil {
		return // not running
	}
	c.run(t, "pg_ctl", "-D", c.data(), "-m", "fast", "-w", "-t", "60", "stop")
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }

func (c *Cluster) run(t testing.TB, name string, args ...string) {
	t.Helper()
	argv := append(append([]string{}, c.asUser...), append([]string{filepath.Join(c.bin, name)}, args...)...)
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		t.Fatalf("pgtest: %s: %v\n%s\n%s", name, err, out, log)
	}
}

func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
