// Package deploy_test checks that the container and Kubernetes files in
// deploy/ agree with each other and with what the Lift binaries read: ports,
// addresses, health checks, databases and environment variables.
package deploy_test

import (
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// binary is the deployment contract of one Lift executable, as
// docs/ARCHITECTURE.md states it. The name is also its Dockerfile target, its
// compose service and its Kubernetes Deployment and Service.
type binary struct {
	name string
	// dir is the main package's directory, relative to the repository root;
	// the Go package path is the module prefix plus dir.
	dir                           string
	grpcPort, adminPort, httpPort int
	database                      bool
	// required must be set in a container: their defaults point at
	// 127.0.0.1, which inside a container is the container itself, or they
	// fix the ports the probes and peers rely on.
	required []string
	// optional have safe defaults; a deployment may set them.
	optional []string
	// lateBackends are backends the binary dials lazily and needs only for
	// some calls, so it must NOT wait for them at start: they wait for it
	// (identity asks experiments before deleting a project, and
	// experiments needs identity to start).
	lateBackends []string
}

const (
	modulePrefix = "github.com/liftlabs/lift/"
	// healthcheckDir is the probe baked into every image (deploy/cmd/healthcheck).
	healthcheckDir = "deploy/cmd/healthcheck"
	// healthcheckPath is where the Dockerfile puts it.
	healthcheckPath = "/usr/local/bin/healthcheck"
	// drainTimeoutSeconds is pkg/grpcserver.DrainTimeout: how long a service
	// keeps serving in-flight calls after SIGTERM.
	drainTimeoutSeconds = 20
	// nonRootUID is the distroless "nonroot" user the images run as.
	nonRootUID = 65532
)

var binaries = []binary{
	{
		name: "identity", dir: "services/identity/cmd/identity",
		grpcPort: 9101, adminPort: 9201, database: true,
		// LIFT_EXPERIMENTS_ADDR: asked before a project is deleted.
		required: []string{"LIFT_GRPC_ADDR", "LIFT_ADMIN_ADDR", "LIFT_DATABASE_URL", "LIFT_EXPERIMENTS_ADDR", "LIFT_SERVICE_CREDENTIAL"},
		// Unset disables the bootstrap endpoint, the safe default.
		optional:     []string{"LIFT_LOG_LEVEL", "LIFT_BOOTSTRAP_SECRET"},
		lateBackends: []string{"experiments"},
	},
	{
		name: "experiments", dir: "services/experiments/cmd/experiments",
		grpcPort: 9102, adminPort: 9202, database: true,
		required: []string{"LIFT_GRPC_ADDR", "LIFT_ADMIN_ADDR", "LIFT_DATABASE_URL", "LIFT_IDENTITY_ADDR", "LIFT_SERVICE_CREDENTIAL"},
		optional: []string{"LIFT_LOG_LEVEL", "LIFT_AUTH_CACHE_TTL", "LIFT_DATAFILE_MAX_STALENESS"},
	},
	{
		name: "results", dir: "services/results/cmd/results",
		grpcPort: 9103, adminPort: 9203, database: true,
		required: []string{"LIFT_GRPC_ADDR", "LIFT_ADMIN_ADDR", "LIFT_DATABASE_URL", "LIFT_IDENTITY_ADDR", "LIFT_EXPERIMENTS_ADDR", "LIFT_SERVICE_CREDENTIAL"},
		optional: []string{"LIFT_LOG_LEVEL", "LIFT_AUTH_CACHE_TTL", "LIFT_RESULTS_CATALOG_TTL", "LIFT_RESULTS_MAX_BATCH_EVENTS", "LIFT_RESULTS_MAX_FUTURE_SKEW",
			// Unset stores batches before answering, without an event log
			// (the deployment files all set it).
			"LIFT_NATS_URL", "LIFT_NATS_STREAM_REPLICAS"},
	},
	{
		name: "gateway", dir: "gateway/cmd/gateway",
		// Its gRPC port serves the /v2 GatewayService to internal callers.
		grpcPort: 9104, adminPort: 9204, httpPort: 8080,
		required: []string{"LIFT_HTTP_ADDR", "LIFT_GRPC_ADDR", "LIFT_ADMIN_ADDR", "LIFT_IDENTITY_ADDR", "LIFT_EXPERIMENTS_ADDR", "LIFT_RESULTS_ADDR", "LIFT_SERVICE_CREDENTIAL"},
		optional: []string{"LIFT_LOG_LEVEL", "LIFT_AUTH_CACHE_TTL", "LIFT_HTTP_MAX_BODY_BYTES", "LIFT_SDK_MAX_BODY_BYTES",
			"LIFT_RATE_LIMIT_RPS", "LIFT_RATE_LIMIT_BURST", "LIFT_SDK_RATE_LIMIT_RPS", "LIFT_SDK_RATE_LIMIT_BURST",
			"LIFT_HTTP_MAX_IN_FLIGHT", "LIFT_HTTP_MAX_IN_FLIGHT_PER_ADDR", "LIFT_AUTH_FAILURE_RATE_LIMIT_RPS", "LIFT_AUTH_FAILURE_RATE_LIMIT_BURST",
			"LIFT_HTTP_UPLOAD_GRACE", "LIFT_HTTP_MIN_UPLOAD_BYTES_PER_SECOND", "LIFT_HTTP_BODY_MEMORY_BYTES", "LIFT_HTTP_REQUEST_TIMEOUT", "LIFT_V2_BACKEND_TIMEOUT", "LIFT_V2_MAX_IN_FLIGHT",
			"LIFT_DECIDE_RATE_LIMIT_RPS", "LIFT_DECIDE_RATE_LIMIT_BURST", "LIFT_EDGE_MAX_ENGINES", "LIFT_EDGE_ENGINE_IDLE"},
	},
}

// backendVars maps each backend-address variable to the binary it names.
var backendVars = map[string]string{
	"LIFT_IDENTITY_ADDR":    "identity",
	"LIFT_EXPERIMENTS_ADDR": "experiments",
	"LIFT_RESULTS_ADDR":     "results",
}

func (b binary) pkg() string { return modulePrefix + b.dir }

func (b binary) allows(v string) bool {
	return slices.Contains(b.required, v) || slices.Contains(b.optional, v)
}

// listenPorts maps the listen-address variables to the port each must use.
func (b binary) listenPorts() map[string]int {
	m := map[string]int{"LIFT_ADMIN_ADDR": b.adminPort}
	if b.grpcPort != 0 {
		m["LIFT_GRPC_ADDR"] = b.grpcPort
	}
	if b.httpPort != 0 {
		m["LIFT_HTTP_ADDR"] = b.httpPort
	}
	return m
}

func binaryNamed(t *testing.T, name string) binary {
	t.Helper()
	for _, b := range binaries {
		if b.name == name {
			return b
		}
	}
	t.Fatalf("no binary named %q", name)
	return binary{}
}

// repoRoot is the repository root: the deploy module sits one level down.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// addrPort returns the port of a listen address such as ":9101".
func addrPort(addr string) (int, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(p)
}

// dnsTarget splits a gRPC target "dns:///host:port" into host and port.
func dnsTarget(target string) (host string, port int, err error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", 0, err
	}
	if u.Scheme != "dns" || u.Host != "" {
		return "", 0, &url.Error{Op: "want dns:///host:port", URL: target, Err: os.ErrInvalid}
	}
	h, p, err := net.SplitHostPort(strings.TrimPrefix(u.Path, "/"))
	if err != nil {
		return "", 0, err
	}
	port, err = strconv.Atoi(p)
	return h, port, err
}

var (
	envRead  = regexp.MustCompile(`"(LIFT_[A-Z0-9_]+)"`)
	addrRead = regexp.MustCompile(`"(LIFT_(?:GRPC|ADMIN|HTTP)_ADDR)",\s*"([^"]*)"`)
)

const readerHint = "classify it in deploy/contract_test.go (required if its default does not work in a container) and set it in the compose and k8s files"

// TestContractMatchesSources reads each binary's main package, where the
// configuration is read, so a new variable or a changed default port fails
// here instead of in a deployment. Binaries not written yet are skipped.
func TestContractMatchesSources(t *testing.T) {
	root := repoRoot(t)
	for _, b := range binaries {
		t.Run(b.name, func(t *testing.T) {
			files, _ := filepath.Glob(filepath.Join(root, b.dir, "*.go"))
			var src strings.Builder
			for _, f := range files {
				if strings.HasSuffix(f, "_test.go") {
					continue
				}
				data, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				src.Write(data)
			}
			if src.Len() == 0 {
				t.Skipf("%s has no sources yet", b.dir)
			}
			for _, m := range envRead.FindAllStringSubmatch(src.String(), -1) {
				if !b.allows(m[1]) {
					t.Errorf("%s reads %s, which the deployment contract does not know: %s", b.name, m[1], readerHint)
				}
			}
			for _, m := range addrRead.FindAllStringSubmatch(src.String(), -1) {
				port, err := addrPort(m[2])
				if err != nil {
					continue // not a literal default
				}
				if want := b.listenPorts()[m[1]]; port != want {
					t.Errorf("%s defaults %s to %q; the deployment files use port %d", b.name, m[1], m[2], want)
				}
			}
		})
	}
}
