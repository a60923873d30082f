package e2e

import (
	"context"
	"net/http"
	"testing"

	"github.com/liftlabs/lift/gateway/gatewaytest"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/liftlabs/lift/services/experiments/experimentstest"
	"github.com/liftlabs/lift/services/identity/identitytest"
	"github.com/liftlabs/lift/services/results/resultstest"
)

// sdkStack is identity, experiments and results on loopback behind the
// gateway, with one account, a project and its environments.
type sdkStack struct {
	gw      *gatewaytest.Env
	exp     experimentsv1.ExperimentsServiceClient
	expEnv  *experimentstest.Env
	res     resultsv1.ResultsServiceClient
	acct    identitytest.Account
	write   context.Context // gRPC context with a write-scoped token
	read    string          // a read-scoped token, for REST calls
	project *identityv1.Project
	envs    map[string]*identityv1.Environment // by key
}

func newSDKStack(t *testing.T, opts ...gatewaytest.Option) *sdkStack {
	t.Helper()
	return newSDKStackOn(t, resultstest.Options{}, opts...)
}

// newSDKStackOn is newSDKStack with results started with ro (e.g. on an
// event log).
func newSDKStackOn(t *testing.T, ro resultstest.Options, opts ...gatewaytest.Option) *sdkStack {
	t.Helper()
	id := identitytest.Start(t)
	exp := experimentstest.Start(t, id.Addr)
	id.SetExperimentsAddr(exp.Addr)
	res := resultstest.Start(t, id.Addr, exp.Addr, ro)
	s := &sdkStack{
		gw: gatewaytest.Start(t, gatewaytest.Backends{
			Identity: "dns:///" + id.Addr, Experiments: "dns:///" + exp.Addr, Results: "dns:///" + res.Addr,
		}, opts...),
		exp: exp.Client, expEnv: exp, res: res.Client, acct: id.NewAccount(t), envs: map[string]*identityv1.Environment{},
	}
	s.write = experimentstest.WithToken(context.Background(), id.Token(t, s.acct, identityv1.Scope_SCOPE_WRITE))
	s.read = id.Token(t, s.acct, identityv1.Scope_SCOPE_READ)
	s.project = id.CreateProject(t, s.acct.AdminToken, "Web")
	for _, e := range id.Environments(t, s.acct.AdminToken, s.project.GetId()) {
		s.envs[e.GetKey()] = e
	}
	return s
}

// runningExperiment creates and starts a 50/50 experiment in production.
func (s *sdkStack) runningExperiment(t *testing.T, key string, edit func(*experimentsv1.Experiment)) *experimentsv1.Experiment {
	t.Helper()
	e := &experimentsv1.Experiment{Key: key, Name: key, EnvironmentKeys: []string{"production"}, Variations: []*experimentsv1.Variation{
		{Key: "control", Weight: 5000, Baseline: true, FeatureEnabled: true},
		{Key: "treatment", Weight: 5000, FeatureEnabled: true},
	}}
	if edit != nil {
		edit(e)
	}
	created, err := s.exp.CreateExperiment(s.write, &experimentsv1.CreateExperimentRequest{ProjectId: s.project.GetId(), Experiment: e})
	if err != nil {
		t.Fatalf("create experiment %s: %v", key, err)
	}
	started, err := s.exp.StartExperiment(s.write, &experimentsv1.StartExperimentRequest{ExperimentId: created.GetExperiment().GetId()})
	if err != nil {
		t.Fatalf("start %s: %v", key, err)
	}
	return started.GetExperiment()
}

// reach reads an experiment's visitors per variation key (variations with
// none left out) through the gateway.
func (s *sdkStack) reach(t *testing.T, experimentID string) map[string]int64 {
	t.Helper()
	r := s.gw.Do(t, "GET", "/v1/experiments/"+experimentID+"/results", s.read, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("results: %d %s", r.Status, r.Body)
	}
	out := &resultsv1.GetExperimentResultsResponse{}
	r.JSON(t, out)
	got := map[string]int64{}
	for _, v := range out.GetResults().GetReach().GetVariations() {
		if v.GetCount() > 0 {
			got[v.GetVariationKey()] = v.GetCount()
		}
	}
	return got
}
