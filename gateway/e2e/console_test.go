package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/liftlabs/lift/gateway/internal/stacktest"
)

// TestConsole_InChromium drives the web console at /ui/ in Debian's
// Chromium (playwright-core, from gateway/ui's lockfile) against the whole
// stack: gateway/ui/test/console.test.mjs signs in, creates a flag and an
// experiment, starts it, toggles it and reads the datafile, sends SDK events
// and finds the API's numbers on the results page, checks a read-only token
// and API errors, runs axe-core on every page, and writes screenshots to
// gateway/ui/screenshots (ignored by git).
//
// Locally the test skips when Chromium or the npm packages are missing; with
// CI=true it fails instead, so CI never skips it.
func TestConsole_InChromium(t *testing.T) {
	chromium := os.Getenv("LIFT_CHROMIUM")
	if chromium == "" {
		chromium = "/usr/bin/chromium"
	}
	ui, err := filepath.Abs(filepath.Join("..", "ui"))
	if err != nil {
		t.Fatal(err)
	}
	for _, need := range []string{chromium, filepath.Join(ui, "node_modules", "playwright-core"), filepath.Join(ui, "node_modules", "axe-core")} {
		if _, err := os.Stat(need); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("browser test needs %s (.ci/run installs chromium and runs npm ci in gateway/ui): %v", need, err)
			}
			t.Skipf("browser test needs %s (apt-get install chromium; npm ci in gateway/ui)", need)
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node: %v", err)
	}

	st := stacktest.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "--test", "--test-reporter=spec", "--test-concurrency=1", "test/console.test.mjs")
	cmd.Dir = ui
	cmd.Env = append(os.Environ(),
		"LIFT_BASE_URL="+st.GW.URL,
		"LIFT_ADMIN_TOKEN="+st.Admin,
		"LIFT_READ_TOKEN="+st.Read,
		"LIFT_ACCOUNT_ID="+st.AccountID,
		"LIFT_PROJECT_ID="+st.ProjectID,
		"LIFT_SDK_KEY="+st.SDKKey(t, "production"),
		"LIFT_CHROMIUM="+chromium,
		"LIFT_SCREENSHOTS="+filepath.Join(ui, "screenshots"),
	)
	out, err := cmd.CombinedOutput()
	t.Logf("node --test:\n%s", out)
	if err != nil {
		t.Fatalf("browser tests failed: %v", err)
	}
}
