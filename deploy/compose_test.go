package deploy_test

import (
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
)

// composeEnvs are the shell environments the file is checked under: the
// defaults, and every documented override set, so interpolation cannot make
// the pieces disagree (say, a password changed in one place only).
var composeEnvs = map[string]map[string]string{
	"defaults": {},
	"overrides": {
		"LIFT_POSTGRES_PASSWORD": "s3cret",
		"LIFT_BOOTSTRAP_SECRET":  "b00tstrap",
		"LIFT_HTTP_PORT":         "18080",
		"LIFT_PUBLISH_ADDR":      "0.0.0.0",
		"LIFT_LOG_LEVEL":         "debug",
	},
}

// loadCompose loads docker-compose.yml as `docker compose` would, with
// schema validation and consistency checks, and every profile enabled.
func loadCompose(t *testing.T, env map[string]string, profiles ...string) *types.Project {
	t.Helper()
	p, err := loader.LoadWithContext(t.Context(), types.ConfigDetails{
		WorkingDir:  filepath.Join(repoRoot(t), "deploy"),
		ConfigFiles: []types.ConfigFile{{Filename: "docker-compose.yml"}},
		Environment: env,
	}, loader.WithProfiles(profiles), func(o *loader.Options) { o.ResolvePaths = true })
	if err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	return p
}

func env(s types.ServiceConfig, name string) string {
	if v := s.Environment[name]; v != nil {
		return *v
	}
	return ""
}

func TestCompose_DefaultProfileIsTheStack(t *testing.T) {
	p := loadCompose(t, nil)
	want := []string{"nats"} // the event log
	for _, b := range binaries {
		want = append(want, b.name)
		if b.database {
			want = append(want, b.name+"-db")
		}
	}
	slices.Sort(want)
	if got := p.ServiceNames(); !slices.Equal(got, want) {
		t.Errorf("services without a profile: %v, want %v", got, want)
	}
}

func TestCompose_Binaries(t *testing.T) {
	d := loadDockerfile(t)
	for envName, shellEnv := range composeEnvs {
		p := loadCompose(t, shellEnv, "*")
		for _, b := range binaries {
			t.Run(envName+"/"+b.name, func(t *testing.T) {
				s, err := p.GetService(b.name)
				if err != nil {
					t.Fatal(err)
				}
				checkComposeBuild(t, s, d, b)
				checkComposeEnv(t, p, s, b)
				checkComposeHealth(t, s, d, b)
				if b.database {
					checkComposeDatabase(t, p, s)
				}
			})
		}
	}
}

// checkComposeBuild: the service runs its own target of deploy/Dockerfile,
// built from the repository root, configured by environment alone.
func checkComposeBuild(t *testing.T, s types.ServiceConfig, d *dockerfile, b binary) {
	t.Helper()
	if s.Build == nil {
		t.Fatal("not built from deploy/Dockerfile")
	}
	if got := s.Build.Context; got != repoRoot(t) {
		t.Errorf("build context %s, want the repository root", got)
	}
	if s.Build.Dockerfile != "deploy/Dockerfile" {
		t.Errorf("dockerfile %q, want deploy/Dockerfile", s.Build.Dockerfile)
	}
	if s.Build.Target != b.name || d.byName[s.Build.Target] == nil {
		t.Errorf("target %q, want the Dockerfile stage %q", s.Build.Target, b.name)
	}
	if len(s.EnvFiles) > 0 || len(s.Volumes) > 0 || len(s.Configs) > 0 || len(s.Secrets) > 0 || s.Command != nil || s.Entrypoint != nil {
		t.Error("configuration must come from environment variables only (no env_file, volumes, configs, secrets, command or entrypoint)")
	}
}

// checkComposeEnv: required variables set, no unknown LIFT_ variable, listen
// ports as the contract says, and each backend address naming the backend's
// service and gRPC port, with a healthy-dependency on it.
func checkComposeEnv(t *testing.T, p *types.Project, s types.ServiceConfig, b binary) {
	t.Helper()
	for _, v := range b.required {
		if env(s, v) == "" {
			t.Errorf("%s is not set", v)
		}
	}
	for v := range s.Environment {
		if strings.HasPrefix(v, "LIFT_") && !b.allows(v) {
			t.Errorf("%s is not read by %s", v, b.name)
		}
	}
	for v, want := range b.listenPorts() {
		if got, err := addrPort(env(s, v)); err != nil || got != want {
			t.Errorf("%s=%q, want port %d", v, env(s, v), want)
		}
	}
	for v, backend := range backendVars {
		if !b.allows(v) {
			continue
		}
		host, port, err := dnsTarget(env(s, v))
		if err != nil {
			t.Errorf("%s: %v", v, err)
			continue
		}
		if want := binaryNamed(t, backend).grpcPort; host != backend || port != want {
			t.Errorf("%s=%q, want dns:///%s:%d", v, env(s, v), backend, want)
		}
		_, waits := s.DependsOn[backend]
		switch late := slices.Contains(b.lateBackends, backend); {
		case late && waits:
			t.Errorf("waits for %s, which waits for it: a cycle", backend)
		case !late && s.DependsOn[backend].Condition != types.ServiceConditionHealthy:
			t.Errorf("does not wait for %s to be healthy", backend)
		}
	}
	if b.httpPort != 0 {
		if len(s.Ports) != 1 || s.Ports[0].Target != uint32(b.httpPort) || s.Ports[0].Published == "" {
			t.Errorf("ports %+v, want one published port targeting %d", s.Ports, b.httpPort)
		}
	} else if len(s.Ports) > 0 {
		t.Errorf("publishes %+v; only the gateway is reachable from the host", s.Ports)
	}
}

// checkComposeHealth: the health check runs the probe binary the image holds
// against the port the binary listens on.
func checkComposeHealth(t *testing.T, s types.ServiceConfig, d *dockerfile, b binary) {
	t.Helper()
	hc := s.HealthCheck
	if hc == nil || hc.Disable {
		t.Fatal("no health check")
	}
	want := []string{"CMD", healthcheckPath, "grpc", "127.0.0.1:" + strconv.Itoa(b.grpcPort)}
	if b.httpPort != 0 {
		want = []string{"CMD", healthcheckPath, "http", "http://127.0.0.1:" + strconv.Itoa(b.httpPort) + "/readyz"}
	}
	if !slices.Equal(hc.Test, want) {
		t.Errorf("health check %q, want %q", hc.Test, want)
	}
	if _, ok := d.files(b.name)[healthcheckPath]; !ok {
		t.Errorf("image target %s has no %s", b.name, healthcheckPath)
	}
	// The probe gives up after 2 s; Docker must not kill it first.
	if hc.Timeout == nil || time.Duration(*hc.Timeout) <= 2*time.Second || hc.Interval == nil || hc.Retries == nil {
		t.Errorf("health check needs interval, retries and a timeout above the probe's 2 s")
	}
}

// checkComposeDatabase: the service's own Postgres container, healthy before
// the service starts, with the URL's credentials and database.
func checkComposeDatabase(t *testing.T, p *types.Project, s types.ServiceConfig) {
	t.Helper()
	u, err := url.Parse(env(s, "LIFT_DATABASE_URL"))
	if err != nil {
		t.Fatalf("LIFT_DATABASE_URL: %v", err)
	}
	db, err := p.GetService(u.Hostname())
	if err != nil {
		t.Fatalf("LIFT_DATABASE_URL host %q is no compose service", u.Hostname())
	}
	if !strings.HasPrefix(db.Image, "postgres:") {
		t.Errorf("%s runs %q, want postgres", db.Name, db.Image)
	}
	if u.Port() != "5432" {
		t.Errorf("LIFT_DATABASE_URL port %q, want 5432", u.Port())
	}
	name := strings.TrimPrefix(u.Path, "/")
	pw, _ := u.User.Password()
	for k, want := range map[string]string{"POSTGRES_DB": name, "POSTGRES_USER": u.User.Username(), "POSTGRES_PASSWORD": pw} {
		if got := env(db, k); got != want || got == "" {
			t.Errorf("%s %s=%q, LIFT_DATABASE_URL says %q", db.Name, k, got, want)
		}
	}
	if s.DependsOn[db.Name].Condition != types.ServiceConditionHealthy {
		t.Errorf("does not wait for %s to be healthy", db.Name)
	}
	want := []string{"CMD", "pg_isready", "-h", "127.0.0.1", "-U", u.User.Username(), "-d", name}
	if db.HealthCheck == nil || !slices.Equal(db.HealthCheck.Test, want) {
		t.Errorf("%s health check, want %q (TCP: see the comment in the file)", db.Name, want)
	}
	if len(db.Volumes) != 1 || db.Volumes[0].Type != types.VolumeTypeVolume || db.Volumes[0].Target != "/var/lib/postgresql/data" {
		t.Errorf("%s: want one named volume on /var/lib/postgresql/data, got %+v", db.Name, db.Volumes)
	}
}

func TestCompose_EachServiceHasItsOwnDatabase(t *testing.T) {
	p := loadCompose(t, nil)
	hosts, names, volumes := map[string]string{}, map[string]string{}, map[string]string{}
	for _, b := range binaries {
		if !b.database {
			continue
		}
		s, _ := p.GetService(b.name)
		u, err := url.Parse(env(s, "LIFT_DATABASE_URL"))
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimPrefix(u.Path, "/")
		db, err := p.GetService(u.Hostname())
		if err != nil || len(db.Volumes) == 0 {
			t.Fatalf("%s: database service %q missing or without volume", b.name, u.Hostname())
		}
		unique(t, hosts, "database host", u.Hostname(), b.name)
		unique(t, names, "database name", name, b.name)
		unique(t, volumes, "volume", db.Volumes[0].Source, b.name)
		if _, ok := p.Volumes[db.Volumes[0].Source]; !ok {
			t.Errorf("volume %q is not declared", db.Volumes[0].Source)
		}
	}
}

// unique records that owner uses key and fails if another owner did.
func unique(t *testing.T, seen map[string]string, what, key, owner string) {
	t.Helper()
	if other, dup := seen[key]; dup {
		t.Errorf("%s and %s share %s %q", other, owner, what, key)
	}
	seen[key] = owner
}

func TestCompose_DependenciesWaitForHealth(t *testing.T) {
	p := loadCompose(t, nil, "*")
	for _, s := range p.Services {
		for dep, cond := range s.DependsOn {
			if cond.Condition != types.ServiceConditionHealthy {
				t.Errorf("%s depends on %s with condition %q, want service_healthy", s.Name, dep, cond.Condition)
			}
			if target, err := p.GetService(dep); err != nil || target.HealthCheck == nil {
				t.Errorf("%s depends on %s, which has no health check", s.Name, dep)
			}
		}
	}
}

func TestCompose_ImagesPinned(t *testing.T) {
	p := loadCompose(t, nil, "*")
	for _, s := range p.Services {
		if s.Build == nil && !pinned(s.Image) {
			t.Errorf("%s: image %q is not pinned to a version", s.Name, s.Image)
		}
	}
}

// TestCompose_DemoSeed: the demo job is opt-in and bootstraps through the
// gateway with the secret identity was given.
func TestCompose_DemoSeed(t *testing.T) {
	for envName, shellEnv := range composeEnvs {
		t.Run(envName, func(t *testing.T) {
			p := loadCompose(t, shellEnv, "demo")
			seed, err := p.GetService("demo-seed")
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(seed.Profiles, []string{"demo"}) {
				t.Errorf("profiles %v, want [demo]", seed.Profiles)
			}
			identity, _ := p.GetService("identity")
			if got, want := env(seed, "LIFT_BOOTSTRAP_SECRET"), env(identity, "LIFT_BOOTSTRAP_SECRET"); got != want || want == "" {
				t.Errorf("seed uses bootstrap secret %q, identity has %q", got, want)
			}
			if v, ok := shellEnv["LIFT_BOOTSTRAP_SECRET"]; ok && env(identity, "LIFT_BOOTSTRAP_SECRET") != v {
				t.Errorf("LIFT_BOOTSTRAP_SECRET from the shell is ignored")
			}
			gw := binaryNamed(t, "gateway")
			if got, want := env(seed, "LIFT_GATEWAY_URL"), "http://gateway:"+strconv.Itoa(gw.httpPort); got != want {
				t.Errorf("LIFT_GATEWAY_URL=%q, want %q", got, want)
			}
			if seed.DependsOn["gateway"].Condition != types.ServiceConditionHealthy {
				t.Error("does not wait for a healthy gateway")
			}
			script := strings.Join(seed.Command, " ")
			for _, want := range []string{"$LIFT_GATEWAY_URL/v1/accounts:bootstrap", "-X POST", "$LIFT_BOOTSTRAP_SECRET", "--fail-with-body"} {
				if !strings.Contains(script, want) {
					t.Errorf("seed command lacks %q", want)
				}
			}
			if seed.Restart != types.RestartPolicyNo {
				t.Errorf("restart %q: a one-shot job must not restart", seed.Restart)
			}
		})
	}
}

func TestCompose_GatewayPublishedWhereAsked(t *testing.T) {
	for envName, shellEnv := range composeEnvs {
		p := loadCompose(t, shellEnv)
		gw, _ := p.GetService("gateway")
		wantPort, wantIP := "8080", "127.0.0.1"
		if v := shellEnv["LIFT_HTTP_PORT"]; v != "" {
			wantPort = v
		}
		if v := shellEnv["LIFT_PUBLISH_ADDR"]; v != "" {
			wantIP = v
		}
		if len(gw.Ports) != 1 || gw.Ports[0].Published != wantPort || gw.Ports[0].HostIP != wantIP {
			t.Errorf("%s: gateway ports %+v, want %s:%s", envName, gw.Ports, wantIP, wantPort)
		}
	}
}

// TestCompose_EventLog: the nats service runs JetStream on a volume, and
// results names it and waits for it to be healthy.
func TestCompose_EventLog(t *testing.T) {
	p := loadCompose(t, nil)
	n, err := p.GetService("nats")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(n.Image, "nats:") || !slices.Contains(n.Command, "--jetstream") {
		t.Errorf("nats runs %q %q, want the official image with JetStream on", n.Image, n.Command)
	}
	i := slices.Index(n.Command, "--store_dir")
	if i < 0 || i+1 >= len(n.Command) || len(n.Volumes) != 1 || n.Volumes[0].Target != n.Command[i+1] || n.Volumes[0].Type != types.VolumeTypeVolume {
		t.Errorf("the JetStream store is not on a volume: command %q volumes %+v", n.Command, n.Volumes)
	}
	if n.HealthCheck == nil || n.HealthCheck.Disable {
		t.Error("nats has no health check")
	}
	r, err := p.GetService("results")
	if err != nil {
		t.Fatal(err)
	}
	if u, err := url.Parse(env(r, "LIFT_NATS_URL")); err != nil || u.Scheme != "nats" || u.Hostname() != "nats" || u.Port() != "4222" {
		t.Errorf("results LIFT_NATS_URL=%q, want nats://nats:4222", env(r, "LIFT_NATS_URL"))
	}
	if r.DependsOn["nats"].Condition != types.ServiceConditionHealthy {
		t.Error("results does not wait for nats to be healthy")
	}
}
