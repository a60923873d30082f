// Command liftrun runs the whole Lift stack on this machine without Docker
// (`make run`): the three services and the gateway against the local
// Postgres, an embedded NATS JetStream server for the event log (unless
// LIFT_NATS_URL names one), a demo account and project seeded once,
// prefixed logs, and a clean stop of everything on Ctrl-C.
package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/liftlabs/lift/deploy/internal/demo"
	"github.com/liftlabs/lift/deploy/internal/supervisor"
	"github.com/liftlabs/lift/pkg/config"
	"github.com/liftlabs/lift/pkg/eventlog"
)

const readyWait = 60 * time.Second

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "liftrun:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := config.New()
	pgURL := cfg.String("LIFT_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable")
	binDir := cfg.String("LIFT_RUN_BIN", "out")
	stateDir := cfg.String("LIFT_RUN_STATE", ".run")
	// A port offset and a database prefix let a second stack (the runner's
	// own test) run beside a developer's without touching its data.
	l := layout{offset: cfg.Int("LIFT_RUN_PORT_OFFSET", 0), dbPrefix: cfg.String("LIFT_RUN_DB_PREFIX", "lift_")}
	natsURL := cfg.String("LIFT_NATS_URL", "")
	if err := cfg.Err(); err != nil {
		return err
	}
	gatewayURL := "http://" + l.addr(8080)
	st, err := demo.LoadState(filepath.Join(stateDir, "demo.json"))
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Another stack on these ports would answer the readiness check below
	// and get the banner printed for it: refuse before starting anything.
	if err := l.portsFree(); err != nil {
		return err
	}

	if natsURL == "" {
		// The event log's store lives with the rest of the run's state:
		// batches acknowledged and not yet stored survive a restart.
		ns, err := eventlog.RunEmbedded(eventlog.EmbeddedOptions{Dir: filepath.Join(stateDir, "nats")})
		if err != nil {
			return err
		}
		// Stopped after the services (deferred first, runs last).
		defer ns.WaitForShutdown()
		defer ns.Shutdown()
		natsURL = ns.ClientURL()
		fmt.Println("liftrun: embedded NATS JetStream at", natsURL, "store", filepath.Join(stateDir, "nats"))
	}

	g := supervisor.New(os.Stdout)
	defer g.Stop(15 * time.Second)
	// The services' credential for each other (pkg/servicecred): fresh
	// every run, known only to the processes started here.
	cred := rand.Text() + rand.Text()
	for _, p := range l.processes(binDir, pgURL, st.BootstrapSecret, natsURL, cred) {
		if err := g.Start(p); err != nil {
			return err
		}
	}
	// The gateway's /readyz is about the gateway alone; its admin port's
	// /readyz/backends says the services answer too.
	if err := waitReady(ctx, "http://"+l.addr(9204)+"/readyz/backends"); err != nil {
		return err
	}
	if err := demo.Ensure(ctx, gatewayURL, st); err != nil {
		return fmt.Errorf("seeding demo data: %w", err)
	}
	fmt.Print(st.Banner(gatewayURL))
	return g.Wait(ctx)
}

// layout places one stack's ports and databases.
type layout struct {
	offset   int
	dbPrefix string
}

func (l layout) addr(port int) string { return fmt.Sprintf("127.0.0.1:%d", port+l.offset) }

// ports are every port the stack listens on, before the offset.
var ports = []int{8080, 9101, 9102, 9103, 9104, 9201, 9202, 9203, 9204}

// portsFree fails, naming the port, if any of the stack's ports is taken.
func (l layout) portsFree() error {
	for _, p := range ports {
		lis, err := net.Listen("tcp", l.addr(p))
		if err != nil {
			return fmt.Errorf("port %s is in use (another Lift stack? set LIFT_RUN_PORT_OFFSET to run a second one): %w", l.addr(p), err)
		}
		_ = lis.Close()
	}
	return nil
}

// processes lists the binaries in start order with the environment each
// reads (see docs/ARCHITECTURE.md for every variable).
func (l layout) processes(bin, pgURL, secret, natsURL, cred string) []supervisor.Process {
	db := func(name string) string { return "LIFT_DATABASE_URL=" + withDatabase(pgURL, l.dbPrefix+name) }
	backends := []string{
		"LIFT_SERVICE_CREDENTIAL=" + cred,
		"LIFT_IDENTITY_ADDR=dns:///" + l.addr(9101),
		"LIFT_EXPERIMENTS_ADDR=dns:///" + l.addr(9102),
		"LIFT_RESULTS_ADDR=dns:///" + l.addr(9103),
	}
	service := func(name string, grpcPort, adminPort int, extra ...string) supervisor.Process {
		env := append([]string{db(name), "LIFT_GRPC_ADDR=" + l.addr(grpcPort), "LIFT_ADMIN_ADDR=" + l.addr(adminPort)}, extra...)
		return supervisor.Process{Name: name, Path: filepath.Join(bin, name), Env: append(env, backends...)}
	}
	return []supervisor.Process{
		service("identity", 9101, 9201, "LIFT_BOOTSTRAP_SECRET="+secret),
		service("experiments", 9102, 9202),
		service("results", 9103, 9203, "LIFT_NATS_URL="+natsURL),
		{Name: "gateway", Path: filepath.Join(bin, "gateway"), Env: append([]string{"LIFT_HTTP_ADDR=" + l.addr(8080), "LIFT_GRPC_ADDR=" + l.addr(9104), "LIFT_ADMIN_ADDR=" + l.addr(9204)}, backends...)},
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
