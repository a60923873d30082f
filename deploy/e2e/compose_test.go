package e2e

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liftlabs/lift/deploy/internal/apiclient"
)

// project is the compose project the test runs as: its own name, so a
// developer's stack (project "lift") is untouched, and a fixed one, so the
// images it builds are reused by the next run.
const project = "lift-e2e"

// TestComposeStack brings up deploy/docker-compose.yml, unchanged, and runs
// each check against it in turn. The stack is taken down with its volumes
// at the end (and at the start, if an interrupted run left one).
func TestComposeStack(t *testing.T) {
	if os.Getenv("LIFT_COMPOSE_E2E") == "skip" {
		if inCI {
			t.Fatal("LIFT_COMPOSE_E2E=skip is refused in CI")
		}
		t.Skip("LIFT_COMPOSE_E2E=skip")
	}
	// A first run on a fresh machine builds everything (see the README);
	// make test allows it 30 minutes. A bare `go test ./...` (10 minutes)
	// leaves it out rather than fail half way.
	if d, ok := t.Deadline(); ok && time.Until(d) < 20*time.Minute {
		if inCI {
			t.Fatalf("%v left before the test timeout: run it through make test (-timeout 30m)", time.Until(d).Round(time.Second))
		}
		t.Skipf("%v left before the test timeout, 20 minutes needed: make test runs it", time.Until(d).Round(time.Second))
	}
	lockMachine(t)
	ensureDocker(t)
	prepareImages(t)

	port := freePort(t)
	secret := rand.Text()
	c := &compose{root: repoRoot(t), project: project, env: []string{
		"LIFT_HTTP_PORT=" + strconv.Itoa(port),
		"LIFT_BOOTSTRAP_SECRET=" + secret,
	}}
	c.run(t, 2*time.Minute, "--profile", "demo", "down", "--volumes", "--remove-orphans", "--timeout", "5")
	t.Cleanup(func() {
		if t.Failed() {
			t.Log(c.logs())
		}
		if out, err := c.try(2*time.Minute, "--profile", "demo", "down", "--volumes", "--remove-orphans", "--timeout", "10"); err != nil {
			t.Errorf("docker compose down: %v\n%s", err, out)
		}
	})

	build := c.timed(t, 20*time.Minute, "build")
	up := c.timed(t, 5*time.Minute, "up", "--detach", "--wait")
	t.Logf("FIGURE build %v (images reused when present); up to healthy %v (first start: initdb and migrations)",
		build.Round(100*time.Millisecond), up.Round(100*time.Millisecond))

	base := "http://127.0.0.1:" + strconv.Itoa(port)
	token := bootstrap(t, base, secret, "E2E")

	t.Run("EveryContainerRunsAsNonRoot", func(t *testing.T) { checkNonRoot(t, c) })
	t.Run("SmokeSuitePasses", func(t *testing.T) { runSmoke(t, base, token) })
	sdk := &sdkRun{}
	t.Run("GoSDKDatafileDecideEvents", func(t *testing.T) { sdk = runGoSDK(t, base, token) })
	t.Run("KilledResultsLosesNothingAcknowledged", func(t *testing.T) { killResults(t, c, base, token) })
	t.Run("DownUpKeepsData", func(t *testing.T) {
		c.run(t, 2*time.Minute, "down", "--timeout", "10")
		again := c.timed(t, 5*time.Minute, "up", "--detach", "--wait")
		t.Logf("FIGURE up to healthy after down (volumes kept) %v", again.Round(100*time.Millisecond))
		if sdk.experiment == nil {
			t.Skip("the SDK step made no data to look for")
		}
		// The token (identity's database), the experiment (experiments')
		// and its counts (results') all survived.
		sdk.wantCounted(t, apiclient.New(base, token), 30*time.Second)
	})
	t.Run("DemoProfileBootstrapsAndPrintsAToken", func(t *testing.T) { runDemo(t, c, base) })
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// bootstrap creates an account through the public API, as the README's
// first steps do, and returns its admin token.
func bootstrap(t *testing.T, base, secret, name string) string {
	t.Helper()
	var out struct {
		Secret string `json:"secret"`
	}
	if _, err := apiclient.New(base, "").Do(context.Background(), "POST", "/v1/accounts:bootstrap",
		map[string]string{"bootstrapSecret": secret, "accountName": name}, &out); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}
	return out.Secret
}

// checkNonRoot: no process of any container runs as root. The health
// probes Docker execs are left out: they run as the image's user, which for
// postgres (the official image as the stand-in) is root until its
// entrypoint drops to the postgres user.
func checkNonRoot(t *testing.T, c *compose) {
	containers := c.containers(t)
	services := strings.Fields(c.run(t, time.Minute, "config", "--services"))
	if len(containers) != len(services) {
		t.Fatalf("containers running for %v, want one for each of %v", containers, services)
	}
	for svc, id := range containers {
		out := run(t, time.Minute, nil, "docker", "top", id, "-eo", "pid,uid,args")
		lines := strings.Split(strings.TrimSpace(out), "\n")
		procs := 0
		for _, line := range lines[1:] {
			f := strings.Fields(line) // pid, uid, args
			if len(f) < 3 || f[2] == "pg_isready" || f[2] == "/usr/local/bin/healthcheck" {
				continue
			}
			procs++
			if f[1] == "0" {
				t.Errorf("%s: runs as root: %s", svc, line)
			}
		}
		if procs == 0 {
			t.Errorf("%s: no process seen:\n%s", svc, out)
		}
		t.Logf("%s: %d processes, none root (uid %s)", svc, procs, strings.Fields(lines[1])[1])
	}
}

// runSmoke runs `make smoke` against the stack, exactly as the README says.
func runSmoke(t *testing.T, base, token string) {
	out := run(t, 5*time.Minute, nil, "make", "-C", repoRoot(t), "--no-print-directory", "smoke", "BASE_URL="+base, "TOKEN="+token)
	last := regexp.MustCompile(`(?m)^(\d+) passed, 0 failed$`).FindStringSubmatch(out)
	if last == nil {
		t.Fatalf("make smoke did not end with 'N passed, 0 failed':\n%s", out)
	}
	t.Logf("FIGURE make smoke: %s passed, 0 failed", last[1])
}

// runDemo starts the demo profile's one-shot job and reads the token it
// prints, then uses it.
func runDemo(t *testing.T, c *compose, base string) {
	c.run(t, 5*time.Minute, "--profile", "demo", "up", "--detach", "demo-seed")
	deadline := time.Now().Add(2 * time.Minute)
	var state struct {
		Status   string
		ExitCode int
	}
	for {
		out := run(t, time.Minute, nil, "docker", "inspect", "--format", "{{json .State}}", project+"-demo-seed-1")
		if err := json.Unmarshal([]byte(out), &state); err != nil {
			t.Fatalf("docker inspect: %v: %s", err, out)
		}
		if state.Status == "exited" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("demo-seed still %s after 2 minutes", state.Status)
		}
		time.Sleep(500 * time.Millisecond)
	}
	logs := c.run(t, time.Minute, "--profile", "demo", "logs", "--no-color", "--no-log-prefix", "demo-seed")
	if state.ExitCode != 0 {
		t.Fatalf("demo-seed exited %d:\n%s", state.ExitCode, logs)
	}
	m := regexp.MustCompile(`"secret":\s*"(lift_pat_[^"]+)"`).FindStringSubmatch(logs)
	if m == nil {
		t.Fatalf("demo-seed printed no token:\n%s", logs)
	}
	user := run(t, time.Minute, nil, "docker", "inspect", "--format", "{{.Config.User}}", project+"-demo-seed-1")
	if u := strings.TrimSpace(user); u == "" || u == "0" || strings.HasPrefix(u, "0:") || u == "root" {
		t.Errorf("demo-seed ran as %q, want a non-root user", u)
	}
	var projects struct {
		Projects []any `json:"projects"`
	}
	if _, err := apiclient.New(base, m[1]).Do(context.Background(), "GET", "/v1/projects", nil, &projects); err != nil {
		t.Fatalf("the printed token does not work: %v", err)
	}
	t.Logf("demo-seed printed a working token (%s…)", m[1][:12])
}
