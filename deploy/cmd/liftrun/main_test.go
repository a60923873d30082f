package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/optimizely/go-sdk/v2/pkg/client"
	"github.com/optimizely/go-sdk/v2/pkg/config"
	"github.com/optimizely/go-sdk/v2/pkg/decide"
	"github.com/optimizely/go-sdk/v2/pkg/event"
)

const pgURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// TestRunStartsSeedsAndStops does what `make run` does — build the binaries,
// start the stack, wait for the banner — then calls the gateway with the
// printed token and stops the runner as Ctrl-C would. It runs on shifted
// ports and its own databases, so a developer's stack is left alone.
func TestRunStartsSeedsAndStops(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs every binary")
	}
	bin, state := t.TempDir(), t.TempDir()
	build := exec.Command("go", "build", "-o", bin,
		"github.com/liftlabs/lift/services/identity/cmd/identity",
		"github.com/liftlabs/lift/services/experiments/cmd/experiments",
		"github.com/liftlabs/lift/services/results/cmd/results",
		"github.com/liftlabs/lift/gateway/cmd/gateway",
		"github.com/liftlabs/lift/deploy/cmd/liftrun")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	prefix := fmt.Sprintf("lift_runtest_%d_", os.Getpid())
	t.Cleanup(func() { dropDatabases(t, prefix) })

	run := exec.Command(filepath.Join(bin, "liftrun"))
	run.Env = append(os.Environ(), "LIFT_PG_URL="+pgURL, "LIFT_RUN_BIN="+bin, "LIFT_RUN_STATE="+state,
		"LIFT_RUN_PORT_OFFSET=1500", "LIFT_RUN_DB_PREFIX="+prefix)
	stdout, _ := run.StdoutPipe()
	run.Stderr = run.Stdout
	if err := run.Start(); err != nil {
		t.Fatal(err)
	}
	defer run.Process.Kill()

	banner := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		var log strings.Builder
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if strings.HasPrefix(sc.Text(), "Stop with Ctrl-C") {
				banner <- log.String()
			}
		}
		banner <- "runner output ended:\n" + log.String()
	}()
	select {
	case out := <-banner:
		if !strings.Contains(out, "Lift is running") {
			t.Fatalf("no banner:\n%s", out)
		}
	case <-time.After(2 * time.Minute):
		t.Fatal("stack not running after 2 minutes")
	}

	raw, err := os.ReadFile(filepath.Join(state, "demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Fatal(err)
	}
	base := "http://127.0.0.1:9580"
	var projects struct {
		Projects []struct{ Name string } `json:"projects"`
	}
	get(t, base+"/v1/projects", s["token"], &projects)
	if len(projects.Projects) != 1 || projects.Projects[0].Name != "Demo shop" {
		t.Errorf("projects = %+v, want the one demo project", projects)
	}
	// The seeded traffic is 6000 visitors split evenly.
	var results struct {
		Results struct {
			Reach struct {
				TotalCount string `json:"totalCount"`
			} `json:"reach"`
		} `json:"results"`
	}
	get(t, base+"/v1/experiments/"+s["experiment_id"]+"/results", s["token"], &results)
	if got := results.Results.Reach.TotalCount; got != "6000" {
		t.Errorf("results reach = %q, want 6000", got)
	}

	checkDemoFlags(t, base, s["sdk_key"])

	if err := run.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- run.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("runner exit after Ctrl-C: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("runner did not stop within 30s of Ctrl-C")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("gateway still answers after the runner stopped")
	}
}

// checkDemoFlags: the README's decide examples answer real variations —
// checkout from the running A/B test, new_search from the US delivery —
// through Agent's POST /v1/decide and through the real Go SDK.
func checkDemoFlags(t *testing.T, base, sdkKey string) {
	t.Helper()
	decideFlag := func(user, country, flag string) map[string]any {
		body := fmt.Sprintf(`{"userId": %q, "userAttributes": {"country": %q}}`, user, country)
		req, _ := http.NewRequest(http.MethodPost, base+"/v1/decide?keys="+flag, strings.NewReader(body))
		req.Header.Set("X-Optimizely-SDK-Key", sdkKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("decide %s: %d %v", flag, resp.StatusCode, err)
		}
		return out
	}
	cm := config.NewPollingProjectConfigManager(sdkKey, config.WithDatafileURLTemplate(base+"/datafiles/%s.json"), config.WithPollingInterval(time.Hour))
	sdk, err := (&client.OptimizelyFactory{SDKKey: sdkKey}).Client(client.WithConfigManager(cm), client.WithEventDispatcher(discard{}))
	if err != nil {
		t.Fatal(err)
	}
	defer sdk.Close()
	searchOn := 0
	for i := range 40 {
		user := fmt.Sprintf("user-%d", i)
		uc := sdk.CreateUserContext(user, map[string]any{"country": "US"})
		for _, flag := range []string{"checkout", "new_search"} {
			got, want := decideFlag(user, "US", flag), uc.Decide(flag, []decide.OptimizelyDecideOptions{decide.DisableDecisionEvent})
			if got["variationKey"] != want.VariationKey || got["ruleKey"] != want.RuleKey {
				t.Fatalf("%s %s: decide %v, Go SDK %+v", user, flag, got, want)
			}
			switch {
			case flag == "checkout" && want.VariationKey != "control" && want.VariationKey != "treatment":
				t.Fatalf("demo checkout decided %+v, want the A/B test's variation", want)
			case flag == "new_search" && want.VariationKey == "on":
				searchOn++
			}
		}
		if d := decideFlag(user, "FR", "new_search"); d["variationKey"] != "off" {
			t.Fatalf("new_search outside the US: %v", d)
		}
	}
	if searchOn == 0 || searchOn == 40 {
		t.Fatalf("new_search on for %d of 40 US users, want about half", searchOn)
	}
}

type discard struct{}

func (discard) DispatchEvent(event.LogEvent) (bool, error) { return true, nil }

func get(t *testing.T, url, token string, out any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

// dropDatabases removes the test stack's databases (psql comes with the
// Postgres that make test needs anyway).
func dropDatabases(t *testing.T, prefix string) {
	for _, name := range []string{"identity", "experiments", "results"} {
		sql := fmt.Sprintf(`DROP DATABASE IF EXISTS "%s%s" WITH (FORCE)`, prefix, name)
		if out, err := exec.Command("psql", pgURL, "-qc", sql).CombinedOutput(); err != nil {
			t.Logf("cleanup: %v: %s", err, out)
		}
	}
}

// TestRunRefusesBusyPorts: with one of the stack's ports taken (as by a
// first `make run`), a second run fails naming the port, before it starts
// anything or prints a banner for the other stack.
func TestRunRefusesBusyPorts(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	// The stack's HTTP port (8080 + offset) is the busy one.
	offset := port - 8080
	run := exec.Command("go", "run", ".")
	run.Env = append(os.Environ(), "LIFT_PG_URL="+pgURL, "LIFT_RUN_BIN="+t.TempDir(), "LIFT_RUN_STATE="+t.TempDir(),
		fmt.Sprintf("LIFT_RUN_PORT_OFFSET=%d", offset), "LIFT_RUN_DB_PREFIX=lift_busytest_")
	out, err := run.CombinedOutput()
	if err == nil {
		t.Fatalf("second run succeeded:\n%s", out)
	}
	if !strings.Contains(string(out), fmt.Sprintf("127.0.0.1:%d is in use", port)) || strings.Contains(string(out), "Lift is running") {
		t.Errorf("output:\n%s", out)
	}
}
