package smoke_test

import (
	"bytes"
	"context"
	"regexp"
	"testing"

	"github.com/liftlabs/lift/deploy/internal/apiclient"
	"github.com/liftlabs/lift/deploy/internal/smoke"
	"github.com/liftlabs/lift/gateway/gatewaytest"
	"github.com/liftlabs/lift/services/experiments/experimentstest"
	"github.com/liftlabs/lift/services/identity/identitytest"
	"github.com/liftlabs/lift/services/results/resultstest"
)

// TestRun runs the whole suite against real identity, experiments, results
// and the gateway on loopback, each with a fresh database.
func TestRun(t *testing.T) {
	id := identitytest.Start(t)
	exp := experimentstest.Start(t, id.Addr)
	id.SetExperimentsAddr(exp.Addr)
	res := resultstest.Start(t, id.Addr, exp.Addr)
	gw := gatewaytest.Start(t, gatewaytest.Backends{
		Identity: "dns:///" + id.Addr, Experiments: "dns:///" + exp.Addr, Results: "dns:///" + res.Addr,
	})
	ctx := context.Background()
	var boot struct {
		Secret string `json:"secret"`
	}
	if _, err := apiclient.New(gw.URL, "").Do(ctx, "POST", "/v1/accounts:bootstrap",
		map[string]string{"bootstrapSecret": identitytest.BootstrapSecret, "accountName": "Smoke"}, &boot); err != nil {
		t.Fatalf("bootstrap: %v", err)
	}

	var out bytes.Buffer
	err := smoke.Run(ctx, gw.URL, boot.Secret, &out)
	t.Logf("suite output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^18 passed, 0 failed\n\z`).Match(out.Bytes()) {
		t.Errorf("last line is not %q", "18 passed, 0 failed")
	}
}

// TestRunReportsFailure checks that a failing step makes Run fail, prints
// the step as FAIL and ends with the counts.
func TestRunReportsFailure(t *testing.T) {
	id := identitytest.Start(t)
	gw := gatewaytest.Start(t, gatewaytest.Backends{Identity: "dns:///" + id.Addr})
	var out bytes.Buffer
	if err := smoke.Run(context.Background(), gw.URL, "lift_pat_not_a_token", &out); err == nil {
		t.Fatalf("Run with a bad token succeeded:\n%s", out.String())
	}
	if !regexp.MustCompile(`(?m)^FAIL create project +401 `).Match(out.Bytes()) ||
		!regexp.MustCompile(`(?m)^0 passed, 1 failed\n\z`).Match(out.Bytes()) {
		t.Errorf("output:\n%s", out.String())
	}
}
