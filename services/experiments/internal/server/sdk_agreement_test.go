package server_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/liftlabs/lift/services/experiments/internal/datafile/datafiletest"
	"github.com/optimizely/go-sdk/v2/pkg/client"
	"github.com/optimizely/go-sdk/v2/pkg/config"
	"github.com/optimizely/go-sdk/v2/pkg/decide"
	"github.com/optimizely/go-sdk/v2/pkg/entities"
	"github.com/optimizely/go-sdk/v2/pkg/event"
	"github.com/optimizely/go-sdk/v2/pkg/logging"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// datafileServer serves GetDatafile over real HTTP on loopback the way an
// Optimizely CDN does: GET /datafiles/{sdk_key}.json with ETag,
// Last-Modified and 304s. The gateway serves the same route in production.
func datafileServer(t testing.TB, c experimentsv1.ExperimentsServiceClient) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/datafiles/"), ".json")
		if !ok || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		resp, err := c.GetDatafile(r.Context(), &experimentsv1.GetDatafileRequest{SdkKey: key, IfNoneMatch: r.Header.Get("If-None-Match")})
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		lm := resp.GetLastModified().AsTime()
		w.Header().Set("ETag", resp.GetEtag())
		w.Header().Set("Last-Modified", lm.UTC().Format(http.TimeFormat))
		w.Header().Set("Cache-Control", "public, max-age=0, must-revalidate")
		if ims, err := http.ParseTime(r.Header.Get("If-Modified-Since")); resp.GetNotModified() || (err == nil && !lm.After(ims)) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if resp.GetDatafile() == "" { // not_modified by ETag, but no If-None-Match… cannot happen
			t.Errorf("empty datafile")
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(resp.GetDatafile()))
	}))
	t.Cleanup(srv.Close)
	return srv
}

type discardEvents struct{}

func (discardEvents) DispatchEvent(event.LogEvent) (bool, error) { return true, nil }

// The Optimizely Go SDK, polling Lift's datafile over HTTP, and Lift's own
// Decide agree on every experiment and flag for 10,000 users.
func TestDecide_AgreesWithOptimizelyGoSDKOverHTTP(t *testing.T) {
	logging.SetLogLevel(logging.LogLevelError)
	s := newStack(t)
	setupAgreementProject(t, s)

	httpSrv := datafileServer(t, s.c)
	sdkKey := s.envs["production"].GetSdkKey()
	cm := config.NewPollingProjectConfigManager(sdkKey,
		config.WithDatafileURLTemplate(httpSrv.URL+"/datafiles/%s.json"), config.WithPollingInterval(time.Hour))
	if _, err := cm.GetConfig(); err != nil {
		t.Fatalf("SDK could not load the datafile: %v", err)
	}
	factory := &client.OptimizelyFactory{SDKKey: sdkKey}
	sdk, err := factory.Client(client.WithConfigManager(cm), client.WithEventDispatcher(discardEvents{}))
	if err != nil {
		t.Fatal(err)
	}
	defer sdk.Close()

	rng := rand.New(rand.NewPCG(7, 11))
	bucketed, enabled := 0, 0
	for _, user := range users(10000) {
		attrs := datafiletest.Attributes(rng)
		a, err := structpb.NewStruct(attrs)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := s.c.Decide(context.Background(), &experimentsv1.DecideRequest{SdkKey: sdkKey, UserId: user, Attributes: a.GetFields()})
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range resp.GetDecisions() {
			want, _ := sdk.GetVariation(d.GetExperimentKey(), entities.UserContext{ID: user, Attributes: attrs})
			if d.GetVariationKey() != want {
				t.Fatalf("%s %v, experiment %s: Lift %q (%v), SDK %q", user, attrs, d.GetExperimentKey(), d.GetVariationKey(), d.GetReason(), want)
			}
			if want != "" {
				bucketed++
			}
		}
		uc := sdk.CreateUserContext(user, attrs)
		for _, fd := range resp.GetFlags() {
			want := uc.Decide(fd.GetFlagKey(), []decide.OptimizelyDecideOptions{decide.DisableDecisionEvent})
			if fd.GetEnabled() != want.Enabled || fd.GetVariationKey() != want.VariationKey || fd.GetExperimentKey() != want.RuleKey {
				t.Fatalf("%s flag %s: Lift %v, SDK %+v", user, fd.GetFlagKey(), fd, want)
			}
			vars := want.Variables.ToMap()
			for k, v := range fd.GetVariables() {
				if fmt.Sprint(vars[k]) != v {
					t.Fatalf("%s flag %s variable %s: Lift %q, SDK %v", user, fd.GetFlagKey(), k, v, vars[k])
				}
			}
			if want.Enabled {
				enabled++
			}
		}
	}
	if bucketed < 5000 || enabled < 1000 {
		t.Fatalf("too few positive decisions to mean anything: %d bucketed, %d enabled", bucketed, enabled)
	}
	t.Logf("10000 users: %d bucketed experiment decisions, %d enabled flags, all equal", bucketed, enabled)

	// A change reaches the SDK through its conditional poll.
	before, _ := cm.GetConfig()
	list, _ := s.c.ListExperiments(s.read, &experimentsv1.ListExperimentsRequest{ProjectId: s.project.GetId(),
		Status: experimentsv1.ExperimentStatus_EXPERIMENT_STATUS_RUNNING})
	paused := list.GetExperiments()[0]
	if _, err := s.c.PauseExperiment(s.write, &experimentsv1.PauseExperimentRequest{ExperimentId: paused.GetId()}); err != nil {
		t.Fatal(err)
	}
	cm.SyncConfig()
	after, _ := cm.GetConfig()
	if after.GetRevision() == before.GetRevision() {
		t.Fatalf("SDK still on revision %s after a change", before.GetRevision())
	}
	if _, err := after.GetExperimentByKey(paused.GetKey()); err == nil {
		t.Fatalf("paused %s still in the SDK's datafile", paused.GetKey())
	}
	cm.SyncConfig() // nothing changed: a 304, same revision
	if again, _ := cm.GetConfig(); again.GetRevision() != after.GetRevision() {
		t.Fatal("revision moved without a change")
	}
}

// setupAgreementProject creates what the agreement test decides on: flags
// with variables, audiences from the SDK-consistent pool, partial traffic,
// a layer shared by two experiments, and a flag decided by two experiments.
func setupAgreementProject(t *testing.T, s *stack) {
	t.Helper()
	newFlag := func(key string, vars ...*experimentsv1.FlagVariable) string {
		resp, err := s.c.CreateFlag(s.write, &experimentsv1.CreateFlagRequest{ProjectId: s.project.GetId(), Flag: &experimentsv1.Flag{Key: key, Variables: vars}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetFlag().GetId()
	}
	checkout := newFlag("checkout",
		&experimentsv1.FlagVariable{Key: "color", Type: experimentsv1.VariableType_VARIABLE_TYPE_STRING, DefaultValue: "blue"},
		&experimentsv1.FlagVariable{Key: "discount", Type: experimentsv1.VariableType_VARIABLE_TYPE_INTEGER, DefaultValue: "0"})
	search := newFlag("search", &experimentsv1.FlagVariable{Key: "fuzzy", Type: experimentsv1.VariableType_VARIABLE_TYPE_BOOLEAN, DefaultValue: "false"})
	layer, err := s.c.CreateLayer(s.write, &experimentsv1.CreateLayerRequest{ProjectId: s.project.GetId(), Layer: &experimentsv1.Layer{Key: "home"}})
	if err != nil {
		t.Fatal(err)
	}
	three := func(enabled ...bool) []*experimentsv1.Variation {
		return []*experimentsv1.Variation{
			{Key: "a", Weight: 3400, Baseline: true, FeatureEnabled: enabled[0]},
			{Key: "b", Weight: 3300, FeatureEnabled: enabled[1]},
			{Key: "c", Weight: 3300, FeatureEnabled: enabled[2]},
		}
	}
	specs := []func(*experimentsv1.Experiment){
		func(e *experimentsv1.Experiment) {
			e.FlagId, e.AudienceConditions = checkout, datafiletest.Conditions[1]
			e.Variations[1].Variables = map[string]string{"color": "red", "discount": "10"}
		},
		func(e *experimentsv1.Experiment) {
			e.FlagId, e.TrafficAllocation = checkout, proto.Int32(6000)
			e.Variations = three(true, false, true)
			e.Variations[2].Variables = map[string]string{"discount": "25"}
		},
		func(e *experimentsv1.Experiment) {
			e.FlagId, e.AudienceConditions = search, datafiletest.Conditions[4]
			e.Variations[0].Variables = map[string]string{"fuzzy": "true"}
		},
		func(e *experimentsv1.Experiment) {
			e.LayerId, e.LayerTrafficAllocation, e.AudienceConditions = layer.GetLayer().GetId(), 4500, datafiletest.Conditions[2]
		},
		func(e *experimentsv1.Experiment) {
			e.LayerId, e.LayerTrafficAllocation, e.TrafficAllocation = layer.GetLayer().GetId(), 5000, proto.Int32(8000)
			e.Variations = three(false, false, false)
		},
		func(e *experimentsv1.Experiment) { e.AudienceConditions = datafiletest.Conditions[7] },
		func(e *experimentsv1.Experiment) {
			e.AudienceConditions = datafiletest.Conditions[6]
			e.Variations[0].Weight, e.Variations[1].Weight = 1000, 9000
		},
		func(e *experimentsv1.Experiment) { e.AudienceConditions = datafiletest.Conditions[5] },
	}
	for i, edit := range specs {
		s.start(t, s.createExperiment(t, fmt.Sprintf("exp_%d", i), edit))
	}
	s.createExperiment(t, "draft_only", nil)
}
