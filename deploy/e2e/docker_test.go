package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// inCI: CI sets CI=true. There the compose test never skips: a machine
// without Docker gets Debian's docker.io installed, as .ci/run does.
var inCI = os.Getenv("CI") == "true"

// repoRoot is the repository's top folder (this file is deploy/e2e/…).
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// run runs a command with a deadline and returns its combined output; a
// failure ends the test with that output.
func run(t *testing.T, timeout time.Duration, env []string, name string, args ...string) string {
	t.Helper()
	out, err := tryRun(timeout, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func tryRun(timeout time.Duration, env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// lockFile serialises compose test runs on one machine: they share the
// Docker daemon (one may have started it and will stop it), the compose
// project and the images.
const lockFile = "/tmp/lift-compose-e2e.lock"

// lockMachine takes the machine-wide lock until the test ends. In CI it
// waits for another run to finish; elsewhere (several people's test runs
// on one machine) it skips when another run holds it.
func lockMachine(t *testing.T) {
	t.Helper()
	f, err := os.OpenFile(lockFile, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatal(err)
	}
	how := syscall.LOCK_EX
	if !inCI {
		how |= syscall.LOCK_NB
	}
	if err := syscall.Flock(int(f.Fd()), how); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			t.Skip("another compose test run is using Docker on this machine (" + lockFile + ")")
		}
		t.Fatalf("lock %s: %v", lockFile, err)
	}
	// Registered first, so it runs after every other cleanup (LIFO).
	t.Cleanup(func() { f.Close() })
}

// ensureDocker makes a Docker daemon answer: it installs Debian's docker.io
// when dockerd is missing (root on a Debian machine, as CI is), starts
// dockerd when none runs, and stops the daemon it started when the test
// ends. Outside CI, a machine where that cannot be done skips the test.
func ensureDocker(t *testing.T) {
	t.Helper()
	if _, err := tryRun(20*time.Second, nil, "docker", "info"); err == nil {
		return
	}
	unable := func(format string, args ...any) {
		t.Helper()
		if inCI || os.Getenv("LIFT_COMPOSE_E2E") == "require" {
			t.Fatalf(format, args...)
		}
		t.Skipf(format+" (CI=true makes this a failure)", args...)
	}
	if os.Geteuid() != 0 {
		unable("no Docker daemon answers and only root may start one")
	}
	if _, err := exec.LookPath("dockerd"); err != nil {
		if _, err := exec.LookPath("apt-get"); err != nil {
			unable("no dockerd and no apt-get to install Debian's docker.io")
		}
		t.Log("installing Debian's docker.io")
		env := []string{"DEBIAN_FRONTEND=noninteractive"}
		run(t, 5*time.Minute, env, "apt-get", "update", "-qq")
		run(t, 5*time.Minute, env, "apt-get", "install", "-y", "-qq", "docker.io", "debootstrap")
	}
	startDockerd(t)
}

// startDockerd runs dockerd in the background until the test ends.
func startDockerd(t *testing.T) {
	t.Helper()
	logFile, err := os.CreateTemp("", "lift-e2e-dockerd-*.log")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("dockerd")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group: a Ctrl-C meant for go test must not kill it
	// before the containers are taken down.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dockerd: %v", err)
	}
	t.Logf("started dockerd (pid %d, log %s)", cmd.Process.Pid, logFile.Name())
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		logFile.Close()
		os.Remove(logFile.Name())
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := tryRun(10*time.Second, nil, "docker", "info"); err == nil {
			return
		}
		select {
		case err := <-exited:
			log, _ := os.ReadFile(logFile.Name())
			t.Fatalf("dockerd exited: %v\n%s", err, log)
		case <-time.After(500 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatal("dockerd did not answer within 60 s")
		}
	}
}

// prepareImages installs the pinned compose plugin and builds the offline
// stand-ins of the public images, side by side (one mostly compiles, the
// other mostly downloads); both keep what is already there.
func prepareImages(t *testing.T) {
	t.Helper()
	scripts := []string{"install-compose.sh", "build-standins.sh"}
	errs := make([]error, len(scripts))
	var wg sync.WaitGroup
	for i, script := range scripts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			out, err := tryRun(15*time.Minute, nil, filepath.Join(repoRoot(t), "deploy", "images", script))
			if err != nil {
				errs[i] = fmt.Errorf("%s: %v\n%s", script, err, out)
				return
			}
			t.Logf("FIGURE %s: %v", script, time.Since(start).Round(100*time.Millisecond))
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// compose runs `docker compose` on the file users get, under its own
// project name (so a developer's own stack is left alone), with env.
type compose struct {
	root, project string
	env           []string
}

func (c *compose) args(args ...string) []string {
	return append([]string{"compose", "-f", filepath.Join(c.root, "deploy", "docker-compose.yml"), "-p", c.project}, args...)
}

func (c *compose) run(t *testing.T, timeout time.Duration, args ...string) string {
	t.Helper()
	return run(t, timeout, c.env, "docker", c.args(args...)...)
}

func (c *compose) try(timeout time.Duration, args ...string) (string, error) {
	return tryRun(timeout, c.env, "docker", c.args(args...)...)
}

// timed runs a compose command and returns how long it took.
func (c *compose) timed(t *testing.T, timeout time.Duration, args ...string) time.Duration {
	t.Helper()
	start := time.Now()
	c.run(t, timeout, args...)
	return time.Since(start)
}

// containers lists the project's running containers by service.
func (c *compose) containers(t *testing.T) map[string]string {
	t.Helper()
	out := run(t, time.Minute, nil, "docker", "ps", "--no-trunc",
		"--filter", "label=com.docker.compose.project="+c.project,
		"--format", `{{.ID}} {{.Label "com.docker.compose.service"}}`)
	byService := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if id, svc, ok := strings.Cut(line, " "); ok {
			byService[svc] = id
		}
	}
	return byService
}

// logs is the tail of every container's log, for a failure message.
func (c *compose) logs() string {
	out, _ := c.try(time.Minute, "logs", "--no-color", "--tail", "40")
	return fmt.Sprintf("docker compose logs (last 40 lines each):\n%s", out)
}
