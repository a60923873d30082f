package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liftlabs/lift/gateway/gatewaytest"
	"github.com/liftlabs/lift/services/experiments/experimentstest"
	"github.com/liftlabs/lift/services/identity/identitytest"
	"github.com/liftlabs/lift/services/results/resultstest"
)

// tenant is an account with one of every resource, created over REST.
type tenant struct {
	accountID                             string
	admin, write, read                    string // token secrets by scope
	project, staging                      string // project id, id of its "staging" environment
	sdkKey, devSDKKey                     string // production's and development's SDK keys
	flag, layer, event, experiment, token string // ids; token is a spare read token (a revoke target)
	audience                              string
	eventKey, experimentKey               string
	variation                             string // id of the experiment's first variation
}

// ids maps the path parameters of the API to this tenant's resources, so
// an operation is filled from its path alone.
func (tn *tenant) ids() map[string]string {
	return map[string]string{
		"projectId": tn.project, "project.id": tn.project,
		"environmentId": tn.staging, "environment.id": tn.staging, "environmentKey": "production",
		"flagId": tn.flag, "flag.id": tn.flag,
		"layerId": tn.layer, "layer.id": tn.layer,
		"eventId": tn.event, "event.id": tn.event,
		"experimentId": tn.experiment, "experiment.id": tn.experiment,
		"tokenId": tn.token, "token.id": tn.token,
		"audienceId": tn.audience, "audience.id": tn.audience,
	}
}

// securityStack is identity, experiments and results behind the gateway,
// every process logging into one buffer, with two fully seeded tenants.
type securityStack struct {
	gw       *gatewaytest.Env
	identity *identitytest.Env
	logs     *gatewaytest.LogBuffer
	a, b     *tenant
	// secrets are every token secret the stack handed out: none may ever
	// appear in the logs (checked when the test ends).
	secrets []string
}

// stackConfig changes a security stack from its defaults.
type stackConfig struct {
	gateway []gatewaytest.Option
	results resultstest.Options
}

func newSecurityStack(t *testing.T, cfg ...stackConfig) *securityStack {
	t.Helper()
	var c stackConfig
	if len(cfg) > 0 {
		c = cfg[0]
	}
	logs := &gatewaytest.LogBuffer{}
	id := identitytest.Start(t, identitytest.WithLogWriter(logs))
	exp := experimentstest.Start(t, id.Addr, experimentstest.Options{LogWriter: logs})
	id.SetExperimentsAddr(exp.Addr)
	c.results.LogWriter = logs
	res := resultstest.Start(t, id.Addr, exp.Addr, c.results)
	gw := gatewaytest.Start(t, gatewaytest.Backends{
		Identity: "dns:///" + id.Addr, Experiments: "dns:///" + exp.Addr, Results: "dns:///" + res.Addr,
	}, append([]gatewaytest.Option{gatewaytest.WithLogWriter(logs)}, c.gateway...)...)
	s := &securityStack{gw: gw, identity: id, logs: logs}
	s.a = s.seed(t, "tenant a")
	s.b = s.seed(t, "tenant b")
	t.Cleanup(func() { assertNoSecretsLogged(t, logs.String(), s.secrets...) })
	return s
}

// do sends a request and fails the test unless the status is want; out,
// when not nil, receives the decoded body.
func (s *securityStack) do(t *testing.T, method, path, token string, body any, want int, out any) *gatewaytest.Response {
	t.Helper()
	return s.gw.Must(t, method, path, token, body, want, out)
}

// seed bootstraps an account and creates one of every resource.
func (s *securityStack) seed(t *testing.T, name string) *tenant {
	t.Helper()
	tn := &tenant{eventKey: "purchase", experimentKey: "checkout"}
	tn.accountID, tn.admin = bootstrap(t, s.gw, name)
	s.secrets = append(s.secrets, tn.admin)
	tn.write = s.newToken(t, tn.admin, "writer", "SCOPE_WRITE").secret
	tn.read = s.newToken(t, tn.admin, "reader", "SCOPE_READ").secret
	tn.token = s.newToken(t, tn.admin, "spare", "SCOPE_READ").id

	var out map[string]map[string]any
	s.do(t, "POST", "/v1/projects", tn.admin, map[string]any{"name": name}, http.StatusCreated, &out)
	tn.project = out["project"]["id"].(string)
	base := "/v1/projects/" + tn.project
	s.do(t, "POST", base+"/environments", tn.admin, map[string]any{"key": "staging", "name": "Staging"}, http.StatusCreated, &out)
	tn.staging = out["environment"]["id"].(string)
	var envs struct {
		Environments []struct{ Key, SdkKey string } `json:"environments"`
	}
	s.do(t, "GET", base+"/environments", tn.admin, nil, http.StatusOK, &envs)
	for _, e := range envs.Environments {
		switch e.Key {
		case "production":
			tn.sdkKey = e.SdkKey
		case "development":
			tn.devSDKKey = e.SdkKey
		}
	}
	if tn.sdkKey == "" || tn.devSDKKey == "" {
		t.Fatalf("environments without SDK keys: %+v", envs)
	}
	s.do(t, "POST", base+"/flags", tn.admin, map[string]any{"key": "banner", "name": "Banner"}, http.StatusCreated, &out)
	tn.flag = out["flag"]["id"].(string)
	s.do(t, "POST", base+"/layers", tn.admin, map[string]any{"key": "checkout-layer", "name": "Checkout layer"}, http.StatusCreated, &out)
	tn.layer = out["layer"]["id"].(string)
	s.do(t, "POST", base+"/events", tn.admin, map[string]any{"key": tn.eventKey, "name": "Purchase"}, http.StatusCreated, &out)
	tn.event = out["event"]["id"].(string)
	s.do(t, "POST", base+"/audiences", tn.admin, audienceBody("adults"), http.StatusCreated, &out)
	tn.audience = out["audience"]["id"].(string)
	var exp experimentEnvelope
	s.do(t, "POST", base+"/experiments", tn.admin, experimentBody(tn.experimentKey, tn.eventKey), http.StatusCreated, &exp)
	tn.experiment = exp.Experiment.ID
	tn.variation = exp.Experiment.Variations[0].ID
	s.do(t, "POST", "/v1/experiments/"+tn.experiment+":start", tn.admin, map[string]any{}, http.StatusOK, nil)
	return tn
}

func audienceBody(key string) map[string]any {
	return map[string]any{"key": key, "name": key, "conditions": `[{"type": "custom_attribute", "name": "age", "match": "ge", "value": 18}]`}
}

type createdToken struct{ id, secret string }

func (s *securityStack) newToken(t *testing.T, admin, name string, scopes ...string) createdToken {
	t.Helper()
	var out struct {
		Token struct {
			ID string `json:"id"`
		} `json:"token"`
		Secret string `json:"secret"`
	}
	s.do(t, "POST", "/v1/tokens", admin, map[string]any{"name": name, "scopes": scopes}, http.StatusCreated, &out)
	s.secrets = append(s.secrets, out.Secret)
	return createdToken{id: out.Token.ID, secret: out.Secret}
}

// expireToken makes a token expired in identity's database: the API only
// accepts future expiry times, and waiting for one would make the test slow.
// Call it before the token is ever used, so no cache holds it as valid.
func (s *securityStack) expireToken(t *testing.T, id string) {
	t.Helper()
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	tag, err := s.identity.Pool.Exec(context.Background(),
		`UPDATE tokens SET expire_time = $1 WHERE id = $2`, time.Now().Add(-time.Hour), n)
	if err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("expire token %s: %v (%d rows)", id, err, tag.RowsAffected())
	}
}

// snapshot reads every resource of tn with its admin token; comparing two
// snapshots proves nothing of tn changed in between.
func (s *securityStack) snapshot(t *testing.T, tn *tenant) string {
	t.Helper()
	var b strings.Builder
	for _, p := range []string{
		"/v1/projects/" + tn.project,
		"/v1/projects/" + tn.project + "/environments",
		"/v1/flags/" + tn.flag,
		"/v1/layers/" + tn.layer,
		"/v1/events/" + tn.event,
		"/v1/experiments/" + tn.experiment,
		"/v1/projects/" + tn.project + "/experiments",
		"/v1/projects/" + tn.project + "/flags",
		"/v1/projects/" + tn.project + "/layers",
		"/v1/projects/" + tn.project + "/events",
		"/v1/tokens",
	} {
		resp := s.do(t, "GET", p, tn.admin, nil, http.StatusOK, nil)
		var v any
		if err := json.Unmarshal(resp.Body, &v); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		canon, _ := json.Marshal(v) // map keys sorted
		b.WriteString(p + " " + string(canon) + "\n")
	}
	// Results carry computed figures that may differ by a rounding between
	// two reads; the visitors counted are what an ingest would change.
	b.WriteString("results reach " + visitors(t, s, tn) + "\n")
	return b.String()
}
