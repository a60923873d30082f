package deploy_test

import (
	"net/url"
	"path"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestK8s_Deployments(t *testing.T) {
	m := loadManifests(t)
	d := loadDockerfile(t)
	if len(m.deployments) != len(binaries) {
		t.Errorf("%d Deployments, want one per binary (%d)", len(m.deployments), len(binaries))
	}
	for _, b := range binaries {
		t.Run(b.name, func(t *testing.T) {
			dep := m.deployments[b.name]
			if dep == nil {
				t.Fatalf("no Deployment %s", b.name)
			}
			checkRollout(t, dep)
			checkPodSecurity(t, dep)
			spec := dep.Spec.Template.Spec
			if len(spec.Containers) != 1 || spec.Containers[0].Name != b.name {
				t.Fatalf("want one container named %s", b.name)
			}
			c := spec.Containers[0]
			checkImage(t, c, d, b)
			checkResources(t, c)
			env := m.resolveEnv(t, c)
			checkK8sEnv(t, m, c, env, b)
			checkProbes(t, c, b)
			checkPDB(t, m, dep)
			checkService(t, m, dep, b)
		})
	}
}

// checkRollout: at least two replicas, rolled one extra pod at a time with
// none taken away first, so a rollout never lowers capacity.
func checkRollout(t *testing.T, dep *appsv1.Deployment) {
	t.Helper()
	if dep.Spec.Replicas == nil || *dep.Spec.Replicas < 2 {
		t.Error("replicas < 2: a single pod makes every rollout or node drain an outage")
	}
	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil || sel.Empty() || !sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Errorf("selector %v does not match the pod template labels", dep.Spec.Selector)
	}
	for _, tsc := range dep.Spec.Template.Spec.TopologySpreadConstraints {
		sel, err := metav1.LabelSelectorAsSelector(tsc.LabelSelector)
		if err != nil || sel.Empty() || !sel.Matches(labels.Set(dep.Spec.Template.Labels)) {
			t.Errorf("topology spread selector %v does not match the pods", tsc.LabelSelector)
		}
	}
	s := dep.Spec.Strategy
	if s.Type != appsv1.RollingUpdateDeploymentStrategyType || s.RollingUpdate == nil {
		t.Fatal("strategy is not RollingUpdate")
	}
	if mu := s.RollingUpdate.MaxUnavailable; mu == nil || mu.String() != "0" {
		t.Errorf("maxUnavailable %v, want 0", mu)
	}
	if ms := s.RollingUpdate.MaxSurge; ms == nil || ms.String() == "0" || ms.String() == "0%" {
		t.Errorf("maxSurge %v: with maxUnavailable 0 it must be positive", ms)
	}
}

func checkPodSecurity(t *testing.T, dep *appsv1.Deployment) {
	t.Helper()
	spec := dep.Spec.Template.Spec
	psc := spec.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		t.Error("pod securityContext.runAsNonRoot is not true")
	}
	if psc == nil || psc.RunAsUser == nil || *psc.RunAsUser != nonRootUID {
		t.Errorf("pod securityContext.runAsUser is not %d (the image's user)", nonRootUID)
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken is not false: Lift never calls the Kubernetes API")
	}
	if g := spec.TerminationGracePeriodSeconds; g == nil || *g <= drainTimeoutSeconds {
		t.Errorf("terminationGracePeriodSeconds must exceed the %d s drain", drainTimeoutSeconds)
	}
	for _, c := range spec.Containers {
		sc := c.SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem ||
			sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
			t.Errorf("container %s: want allowPrivilegeEscalation false, readOnlyRootFilesystem true, drop ALL", c.Name)
		}
	}
}

// checkImage: a pinned lift-<target> image whose target is this binary's
// Dockerfile stage.
func checkImage(t *testing.T, c corev1.Container, d *dockerfile, b binary) {
	t.Helper()
	if !pinned(c.Image) {
		t.Errorf("image %q is not pinned to a version", c.Image)
	}
	repo := c.Image[:strings.LastIndex(c.Image, ":")]
	target, ok := strings.CutPrefix(path.Base(repo), "lift-")
	if !ok || target != b.name || d.byName[target] == nil {
		t.Errorf("image %q: want lift-%s, built from the Dockerfile target %s", c.Image, b.name, b.name)
	}
}

// checkResources: requests and limits for CPU and memory, requests within
// limits, and GOMEMLIMIT (if set) below the memory limit.
func checkResources(t *testing.T, c corev1.Container) {
	t.Helper()
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := c.Resources.Requests[r]
		lim, okLim := c.Resources.Limits[r]
		if !okReq || !okLim {
			t.Errorf("%s: want both a request and a limit", r)
			continue
		}
		if req.Cmp(lim) > 0 {
			t.Errorf("%s request %s exceeds limit %s", r, req.String(), lim.String())
		}
	}
	for _, e := range c.Env {
		if e.Name != "GOMEMLIMIT" {
			continue
		}
		q, err := resource.ParseQuantity(strings.TrimSuffix(e.Value, "B"))
		lim := c.Resources.Limits[corev1.ResourceMemory]
		if err != nil || q.Cmp(lim) >= 0 {
			t.Errorf("GOMEMLIMIT=%s must be a size below the memory limit %s", e.Value, lim.String())
		}
	}
}

// resolveEnv returns the container's environment as the kubelet would build
// it, failing on references to ConfigMaps, Secrets or keys that do not exist
// (unless marked optional).
func (m *manifests) resolveEnv(t *testing.T, c corev1.Container) map[string]string {
	t.Helper()
	if len(c.EnvFrom) > 0 {
		t.Error("envFrom hides which variables a container gets; list them in env")
	}
	out := map[string]string{}
	for _, e := range c.Env {
		if _, dup := out[e.Name]; dup {
			t.Errorf("%s is set twice", e.Name)
		}
		switch {
		case e.ValueFrom == nil:
			out[e.Name] = e.Value
		case e.ValueFrom.ConfigMapKeyRef != nil:
			ref := e.ValueFrom.ConfigMapKeyRef
			v, ok := "", false
			if cm := m.configMaps[ref.Name]; cm != nil {
				v, ok = cm.Data[ref.Key]
			}
			m.lookedUp(t, e.Name, "ConfigMap", ref.Name, ref.Key, ref.Optional, ok)
			if ok {
				out[e.Name] = v
			}
		case e.ValueFrom.SecretKeyRef != nil:
			ref := e.ValueFrom.SecretKeyRef
			v, ok := "", false
			if s := m.secrets[ref.Name]; s != nil {
				v, ok = s.StringData[ref.Key]
			}
			m.lookedUp(t, e.Name, "Secret", ref.Name, ref.Key, ref.Optional, ok)
			if ok {
				out[e.Name] = v
			}
		default:
			out[e.Name] = "" // resource or field references
		}
	}
	return out
}

func (m *manifests) lookedUp(t *testing.T, v, kind, name, key string, optional *bool, found bool) {
	t.Helper()
	if !found && (optional == nil || !*optional) {
		t.Errorf("%s refers to %s %s key %s, which does not exist", v, kind, name, key)
	}
}

// checkK8sEnv: required variables set, no unknown LIFT_ variable, listen
// ports matching the containerPorts, backend addresses naming the backend's
// Service and gRPC port.
func checkK8sEnv(t *testing.T, m *manifests, c corev1.Container, env map[string]string, b binary) {
	t.Helper()
	for _, v := range b.required {
		if env[v] == "" {
			t.Errorf("%s is not set", v)
		}
	}
	for _, e := range c.Env {
		if strings.HasPrefix(e.Name, "LIFT_") && !b.allows(e.Name) {
			t.Errorf("%s is not read by %s", e.Name, b.name)
		}
	}
	for v, want := range b.listenPorts() {
		if got, err := addrPort(env[v]); err != nil || got != want {
			t.Errorf("%s=%q, want port %d", v, env[v], want)
		}
		if !hasContainerPort(c, want) {
			t.Errorf("%s listens on %d, which is not a containerPort", v, want)
		}
	}
	for v, backend := range backendVars {
		if !b.allows(v) {
			continue
		}
		host, port, err := dnsTarget(env[v])
		if err != nil {
			t.Errorf("%s: %v", v, err)
			continue
		}
		want := binaryNamed(t, backend).grpcPort
		if host != backend || port != want {
			t.Errorf("%s=%q, want dns:///%s:%d", v, env[v], backend, want)
		}
		if svc := m.services[host]; svc == nil || !hasServicePort(svc, port) {
			t.Errorf("%s=%q: no Service %s with port %d", v, env[v], host, port)
		}
	}
	if b.database {
		if _, err := url.Parse(env["LIFT_DATABASE_URL"]); err != nil || !strings.HasPrefix(env["LIFT_DATABASE_URL"], "postgres://") {
			t.Errorf("LIFT_DATABASE_URL %q is not a postgres URL", env["LIFT_DATABASE_URL"])
		}
	}
}

func hasContainerPort(c corev1.Container, port int) bool {
	for _, p := range c.Ports {
		if int(p.ContainerPort) == port {
			return true
		}
	}
	return false
}

func hasServicePort(s *corev1.Service, port int) bool {
	for _, p := range s.Spec.Ports {
		if int(p.Port) == port {
			return true
		}
	}
	return false
}

// containerPort resolves a probe or Service target port (a number or a port
// name) against the container; 0 when it names nothing.
func containerPort(c corev1.Container, p intstr.IntOrString) int {
	if p.Type == intstr.Int {
		if hasContainerPort(c, p.IntValue()) {
			return p.IntValue()
		}
		return 0
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return int(cp.ContainerPort)
		}
	}
	return 0
}

// checkProbes: services answer grpc.health.v1 on their gRPC port; the
// gateway /readyz (readiness) and /healthz (liveness) on its HTTP port
// (its readiness covers the backends, which its gRPC health does not).
func checkProbes(t *testing.T, c corev1.Container, b binary) {
	t.Helper()
	probes := map[string]*corev1.Probe{"readiness": c.ReadinessProbe, "liveness": c.LivenessProbe}
	if c.StartupProbe != nil {
		probes["startup"] = c.StartupProbe
	}
	for kind, p := range probes {
		if p == nil {
			t.Errorf("no %s probe", kind)
			continue
		}
		if b.grpcPort != 0 && b.httpPort == 0 {
			if p.GRPC == nil || int(p.GRPC.Port) != b.grpcPort || (p.GRPC.Service != nil && *p.GRPC.Service != "") {
				t.Errorf("%s probe: want grpc on port %d (overall server health)", kind, b.grpcPort)
			}
			continue
		}
		want := map[string]string{"readiness": "/readyz", "liveness": "/healthz", "startup": "/healthz"}[kind]
		if p.HTTPGet == nil || p.HTTPGet.Path != want || containerPort(c, p.HTTPGet.Port) != b.httpPort {
			t.Errorf("%s probe: want GET %s on port %d", kind, want, b.httpPort)
		}
	}
}

// checkPDB: exactly one PodDisruptionBudget selects the pods, and it lets a
// node drain evict at least one of them.
func checkPDB(t *testing.T, m *manifests, dep *appsv1.Deployment) {
	t.Helper()
	podLabels := labels.Set(dep.Spec.Template.Labels)
	var found int
	for _, pdb := range m.pdbs {
		sel, err := metav1.LabelSelectorAsSelector(pdb.Spec.Selector)
		if err != nil || sel.Empty() || !sel.Matches(podLabels) {
			continue
		}
		found++
		replicas := int(*dep.Spec.Replicas)
		switch s := pdb.Spec; {
		case s.MaxUnavailable != nil:
			if n, err := intstr.GetScaledValueFromIntOrPercent(s.MaxUnavailable, replicas, false); err != nil || n < 1 {
				t.Errorf("PDB %s: maxUnavailable %s blocks every eviction", pdb.Name, s.MaxUnavailable.String())
			}
		case s.MinAvailable != nil:
			if n, err := intstr.GetScaledValueFromIntOrPercent(s.MinAvailable, replicas, true); err != nil || n >= replicas {
				t.Errorf("PDB %s: minAvailable %s blocks every eviction", pdb.Name, s.MinAvailable.String())
			}
		default:
			t.Errorf("PDB %s sets neither minAvailable nor maxUnavailable", pdb.Name)
		}
	}
	if found != 1 {
		t.Errorf("%d PodDisruptionBudgets select the pods, want 1", found)
	}
}

// checkService: a Service of the binary's name selects its pods, every port
// reaches a containerPort, and the port peers dial is there. gRPC Services
// are headless (clients balance over pod IPs), so there the Service port is
// the port dialled and must equal the container's. The gateway serves both:
// its Service load-balances HTTP, and a headless "gateway-grpc" Service
// carries its gRPC port.
func checkService(t *testing.T, m *manifests, dep *appsv1.Deployment, b binary) {
	t.Helper()
	svc := m.services[b.name]
	if svc == nil {
		t.Fatalf("no Service %s", b.name)
	}
	c := dep.Spec.Template.Spec.Containers[0]
	checkServicePorts(t, svc, dep, c)
	if b.grpcPort != 0 {
		grpcSvc := svc
		if b.httpPort != 0 {
			if grpcSvc = m.services[b.name+"-grpc"]; grpcSvc == nil {
				t.Fatalf("no Service %s-grpc", b.name)
			}
			checkServicePorts(t, grpcSvc, dep, c)
		}
		if grpcSvc.Spec.ClusterIP != corev1.ClusterIPNone {
			t.Errorf("gRPC Service %s is not headless: round-robin clients would see one address", grpcSvc.Name)
		}
		if !hasServicePort(grpcSvc, b.grpcPort) {
			t.Errorf("no Service port %d", b.grpcPort)
		}
	}
	if b.httpPort != 0 {
		reached := false
		for _, p := range svc.Spec.Ports {
			reached = reached || containerPort(c, p.TargetPort) == b.httpPort
		}
		if !reached {
			t.Errorf("no Service port reaches HTTP port %d", b.httpPort)
		}
	}
	if ann := dep.Spec.Template.Annotations["prometheus.io/port"]; ann != strconv.Itoa(b.adminPort) {
		t.Errorf("prometheus.io/port %q, want the admin port %d", ann, b.adminPort)
	}
}

// checkServicePorts: svc selects the pods of dep and every port reaches a
// containerPort of c (the same port, when svc is headless).
func checkServicePorts(t *testing.T, svc *corev1.Service, dep *appsv1.Deployment, c corev1.Container) {
	t.Helper()
	if len(svc.Spec.Selector) == 0 || !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(dep.Spec.Template.Labels)) {
		t.Errorf("Service %s selector %v does not match the pods", svc.Name, svc.Spec.Selector)
	}
	headless := svc.Spec.ClusterIP == corev1.ClusterIPNone
	for _, p := range svc.Spec.Ports {
		target := containerPort(c, p.TargetPort)
		if target == 0 {
			t.Errorf("Service %s port %s: targetPort %s is no containerPort", svc.Name, p.Name, p.TargetPort.String())
		}
		if headless && int(p.Port) != target {
			t.Errorf("headless Service %s port %s: port %d differs from containerPort %d", svc.Name, p.Name, p.Port, target)
		}
	}
}

// TestK8s_EachServiceHasItsOwnDatabase: the Secret's database URLs (external
// Postgres) never share a database, even on a shared server.
func TestK8s_EachServiceHasItsOwnDatabase(t *testing.T) {
	m := loadManifests(t)
	seen := map[string]string{}
	for _, b := range binaries {
		if !b.database || m.deployments[b.name] == nil {
			continue
		}
		env := m.resolveEnv(t, m.deployments[b.name].Spec.Template.Spec.Containers[0])
		u, err := url.Parse(env["LIFT_DATABASE_URL"])
		if err != nil || u.Host == "" || len(u.Path) < 2 {
			t.Errorf("%s: LIFT_DATABASE_URL %q names no host and database", b.name, env["LIFT_DATABASE_URL"])
			continue
		}
		unique(t, seen, "database", u.Host+u.Path, b.name)
	}
}

// TestK8s_EveryConfigKeyIsUsed catches settings nothing reads any more.
func TestK8s_EveryConfigKeyIsUsed(t *testing.T) {
	m := loadManifests(t)
	used := map[string]bool{}
	for _, dep := range m.deployments {
		for _, c := range dep.Spec.Template.Spec.Containers {
			for _, e := range c.Env {
				if e.ValueFrom == nil {
					continue
				}
				if r := e.ValueFrom.ConfigMapKeyRef; r != nil {
					used["ConfigMap "+r.Name+" "+r.Key] = true
				}
				if r := e.ValueFrom.SecretKeyRef; r != nil {
					used["Secret "+r.Name+" "+r.Key] = true
				}
			}
		}
	}
	// A ConfigMap mounted whole as a volume (the NATS configuration) uses
	// every key.
	for _, ss := range m.statefulSets {
		for _, v := range ss.Spec.Template.Spec.Volumes {
			if v.ConfigMap == nil {
				continue
			}
			for k := range m.configMaps[v.ConfigMap.Name].Data {
				used["ConfigMap "+v.ConfigMap.Name+" "+k] = true
			}
		}
	}
	for _, cm := range m.configMaps {
		for k := range cm.Data {
			if !used["ConfigMap "+cm.Name+" "+k] {
				t.Errorf("ConfigMap %s key %s is not used", cm.Name, k)
			}
		}
	}
	for _, s := range m.secrets {
		for k := range s.StringData {
			if !used["Secret "+s.Name+" "+k] {
				t.Errorf("Secret %s key %s is not used", s.Name, k)
			}
		}
	}
}

// TestK8s_EventLog: a 3-node JetStream StatefulSet, each node with its own
// volume, behind the Service results names, and results creating its stream
// with 3 replicas.
func TestK8s_EventLog(t *testing.T) {
	m := loadManifests(t)
	ss := m.statefulSets["nats"]
	if ss == nil {
		t.Fatal("no StatefulSet nats")
	}
	if ss.Spec.Replicas == nil || *ss.Spec.Replicas != 3 {
		t.Errorf("nats replicas %v, want 3", ss.Spec.Replicas)
	}
	if len(ss.Spec.VolumeClaimTemplates) != 1 {
		t.Errorf("nats has %d volume claim templates, want one for the JetStream store", len(ss.Spec.VolumeClaimTemplates))
	}
	if svc := m.services[ss.Spec.ServiceName]; svc == nil || svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("serviceName %q is no headless Service", ss.Spec.ServiceName)
	}
	conf := m.configMaps["nats-config"].Data["nats.conf"]
	for _, want := range []string{"jetstream", "store_dir: /data", "cluster", "nats-2." + ss.Spec.ServiceName} {
		if !strings.Contains(conf, want) {
			t.Errorf("nats.conf lacks %q", want)
		}
	}
	env := m.resolveEnv(t, m.deployments["results"].Spec.Template.Spec.Containers[0])
	u, err := url.Parse(env["LIFT_NATS_URL"])
	if err != nil || u.Scheme != "nats" {
		t.Fatalf("results LIFT_NATS_URL %q", env["LIFT_NATS_URL"])
	}
	port, _ := strconv.Atoi(u.Port())
	if svc := m.services[u.Hostname()]; svc == nil || !hasServicePort(svc, port) {
		t.Errorf("LIFT_NATS_URL %q: no Service %s with port %d", env["LIFT_NATS_URL"], u.Hostname(), port)
	}
	if env["LIFT_NATS_STREAM_REPLICAS"] != "3" {
		t.Errorf("LIFT_NATS_STREAM_REPLICAS %q, want 3", env["LIFT_NATS_STREAM_REPLICAS"])
	}
}
