// Package stacktest runs the whole stack on loopback — identity,
// experiments and results on fresh databases, and the gateway in front of
// them — with an account, tokens and a project, for the tests that drive
// it over HTTP (observability and fault injection). A test may route the
// gateway's connections through something of its own (a fault-injecting
// proxy) with Options.Route.
package stacktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/liftlabs/lift/gateway/gatewaytest"
	"github.com/liftlabs/lift/services/experiments/experimentstest"
	"github.com/liftlabs/lift/services/identity/identitytest"
	"github.com/liftlabs/lift/services/results/resultstest"
)

// Options change the stack.
type Options struct {
	// Route returns the host:port the gateway dials for the backend name
	// ("identity", "experiments", "results") listening on addr; default
	// addr itself.
	Route func(name, addr string) string
	// Gateway options (logger, limits).
	Gateway []gatewaytest.Option
	// Identity options (e.g. an interceptor counting its calls).
	Identity []identitytest.Option
	// Results options (e.g. a database of the test's own).
	Results resultstest.Options
}

// Stack is a running stack with one account.
type Stack struct {
	Identity    *identitytest.Env
	Experiments *experimentstest.Env
	Results     *resultstest.Env
	GW          *gatewaytest.Env
	// AccountID is the account; Admin and Read are its admin and read-only
	// token secrets; ProjectID its project "web".
	AccountID, Admin, Read, ProjectID string
}

// Start runs the stack until the test ends.
func Start(t testing.TB, opts ...Options) *Stack {
	t.Helper()
	var o Options
	if len(opts) > 0 {
		o = opts[0]
	}
	route := func(name, addr string) string {
		if o.Route != nil {
			addr = o.Route(name, addr)
		}
		return "dns:///" + addr
	}
	s := &Stack{Identity: identitytest.Start(t, o.Identity...)}
	s.Experiments = experimentstest.Start(t, s.Identity.Addr)
	s.Identity.SetExperimentsAddr(s.Experiments.Addr)
	s.Results = resultstest.Start(t, s.Identity.Addr, s.Experiments.Addr, o.Results)
	s.GW = gatewaytest.Start(t, gatewaytest.Backends{
		Identity:    route("identity", s.Identity.Addr),
		Experiments: route("experiments", s.Experiments.Addr),
		Results:     route("results", s.Results.Addr),
	}, o.Gateway...)
	acct := s.Identity.NewAccount(t)
	s.AccountID, s.Admin = acct.ID, acct.AdminToken
	var tok struct {
		Secret string `json:"secret"`
	}
	s.Must(t, "POST", "/v1/tokens", s.Admin, map[string]any{"name": "ro", "scopes": []string{"SCOPE_READ"}}, http.StatusCreated, &tok)
	s.Read = tok.Secret
	var p struct {
		Project struct {
			ID string `json:"id"`
		} `json:"project"`
	}
	s.Must(t, "POST", "/v1/projects", s.Admin, map[string]any{"name": "web"}, http.StatusCreated, &p)
	s.ProjectID = p.Project.ID
	return s
}

// Must sends a request, fails the test unless the status is want, and
// decodes the body into out when out is not nil.
func (s *Stack) Must(t testing.TB, method, path, token string, body any, want int, out any) *gatewaytest.Response {
	t.Helper()
	return s.GW.Must(t, method, path, token, body, want, out)
}

// Experiment is the part of an experiment's JSON tests look at.
type Experiment struct {
	ID         string `json:"id"`
	Key        string `json:"key"`
	Name       string `json:"name"`
	LayerID    string `json:"layerId"`
	Etag       string `json:"etag"`
	Variations []struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	} `json:"variations"`
}

// CreateExperiment creates a running-ready 50/50 experiment in production
// measuring a new conversion event of the same key.
func (s *Stack) CreateExperiment(t testing.TB, key string) Experiment {
	t.Helper()
	s.Must(t, "POST", "/v1/projects/"+s.ProjectID+"/events", s.Admin, map[string]any{"key": key, "name": key}, http.StatusCreated, nil)
	var out struct {
		Experiment Experiment `json:"experiment"`
	}
	s.Must(t, "POST", "/v1/projects/"+s.ProjectID+"/experiments", s.Admin, map[string]any{
		"key": key, "name": key, "environmentKeys": []string{"production"},
		"variations": []map[string]any{
			{"key": "control", "name": "Control", "weight": 5000, "baseline": true, "featureEnabled": true},
			{"key": "treatment", "name": "Treatment", "weight": 5000, "featureEnabled": true},
		},
		"metrics": []map[string]any{{"eventKey": key, "primary": true}},
	}, http.StatusCreated, &out)
	if out.Experiment.ID == "" || len(out.Experiment.Variations) != 2 {
		t.Fatalf("created experiment = %+v", out.Experiment)
	}
	return out.Experiment
}

// SDKKey returns the SDK key of the project's environment env
// ("production").
func (s *Stack) SDKKey(t testing.TB, env string) string {
	t.Helper()
	for _, e := range s.Identity.Environments(t, s.Admin, s.ProjectID) {
		if e.GetKey() == env {
			return e.GetSdkKey()
		}
	}
	t.Fatalf("no environment %q", env)
	return ""
}

// ExperimentPath is the REST path of experiment id, plus suffix.
func ExperimentPath(id, suffix string) string { return fmt.Sprintf("/v1/experiments/%s%s", id, suffix) }

// SDKBatch is an Optimizely SDK event batch (the JSON an SDK posts to
// /v1/events) of n visitors of e named prefix0…, each exposed to a
// variation and converting once: 2n events, uuids "imp-<visitor>" and
// "conv-<visitor>".
func (s *Stack) SDKBatch(t testing.TB, e Experiment, prefix string, n int) []byte {
	t.Helper()
	at := time.Now().Add(-time.Hour).UnixMilli()
	var visitors []map[string]any
	for i := range n {
		id := fmt.Sprintf("%s%d", prefix, i)
		visitors = append(visitors, map[string]any{
			"visitor_id": id, "attributes": []any{},
			"snapshots": []map[string]any{{
				"decisions": []map[string]any{{"campaign_id": e.LayerID, "experiment_id": e.ID, "variation_id": e.Variations[i%2].ID}},
				"events": []map[string]any{
					{"entity_id": e.LayerID, "key": "campaign_activated", "timestamp": at, "uuid": "imp-" + id},
					{"key": e.Key, "timestamp": at + 1000, "uuid": "conv-" + id},
				},
			}},
		})
	}
	b, err := json.Marshal(map[string]any{
		"account_id": s.AccountID, "project_id": s.ProjectID, "revision": "1",
		"client_name": "go-sdk", "client_version": "2.3.1", "enrich_decisions": true, "visitors": visitors,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
