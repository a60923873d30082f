// Command liftrun runs the whole Lift stack on this machine without Docker
// (`make run`): the three services and the gateway against the local
// Postgres, a demo account and project seeded once, prefixed logs, and a
// clean stop of everything on Ctrl-C.
package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/liftlabs/lift/deploy/internal/demo"
	"github.com/liftlabs/lift/deploy/internal/supervisor"
)

const (
	gatewayURL = "http://127.0.0.1:8080"
	readyWait  = 60 * time.Second
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "liftrun:", err)
		os.Exit(1)
	}
}

func run() error {
	pgURL := envOr("LIFT_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	binDir := envOr("LIFT_RUN_BIN", "out")
	stateDir := envOr("LIFT_RUN_STATE", ".run")
	st, err := demo.LoadState(filepath.Join(stateDir, "demo.json"))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	g := supervisor.New(os.Stdout)
	defer g.Stop(15 * time.Second)
	for _, p := range processes(binDir, pgURL, st.BootstrapSecret) {
		if err := g.Start(p); err != nil {
			return err
		}
	}
	if err := waitReady(ctx, gatewayURL+"/readyz"); err != nil {
		return err
	}
	if err := demo.Ensure(ctx, gatewayURL, st); err != nil {
		return fmt.Errorf("seeding demo data: %w", err)
	}
	fmt.Print(st.Banner(gatewayURL))
	return g.Wait(ctx)
}

// processes lists the binaries in start order with the environment each
// reads (see docs/ARCHITECTURE.md for every variable).
func processes(bin, pgURL, secret string) []supervisor.Process {
	db := func(name string) string { return "LIFT_DATABASE_URL=" + withDatabase(pgURL, name) }
	backends := []string{
		"LIFT_IDENTITY_ADDR=dns:///127.0.0.1:9101",
		"LIFT_EXPERIMENTS_ADDR=dns:///127.0.0.1:9102",
		"LIFT_RESULTS_ADDR=dns:///127.0.0.1:9103",
	}
	return []supervisor.Process{
		{Name: "identity", Path: filepath.Join(bin, "identity"), Env: append([]string{db("lift_identity"), "LIFT_GRPC_ADDR=127.0.0.1:9101", "LIFT_ADMIN_ADDR=127.0.0.1:9201", "LIFT_BOOTSTRAP_SECRET=" + secret}, backends...)},
		{Name: "experiments", Path: filepath.Join(bin, "experiments"), Env: append([]string{db("lift_experiments"), "LIFT_GRPC_ADDR=127.0.0.1:9102", "LIFT_ADMIN_ADDR=127.0.0.1:9202"}, backends...)},
		{Name: "results", Path: filepath.Join(bin, "results"), Env: append([]string{db("lift_results"), "LIFT_GRPC_ADDR=127.0.0.1:9103", "LIFT_ADMIN_ADDR=127.0.0.1:9203"}, backends...)},
		{Name: "gateway", Path: filepath.Join(bin, "gateway"), Env: append([]string{"LIFT_HTTP_ADDR=127.0.0.1:8080", "LIFT_ADMIN_ADDR=127.0.0.1:9204"}, backends...)},
	}
}

// withDatabase returns pgURL pointing at database name instead.
func withDatabase(pgURL, name string) string {
	u, err := url.Parse(pgURL)
	if err != nil {
		return pgURL
	}
	u.Path = "/" + name
	return u.String()
}

func waitReady(ctx context.Context, u string) error {
	ctx, cancel := context.WithTimeout(ctx, readyWait)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stack not ready at %s after %s", u, readyWait)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
