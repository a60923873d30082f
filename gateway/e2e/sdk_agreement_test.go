package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"reflect"
	"testing"
	"time"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/liftlabs/lift/services/experiments/experimentstest"
	"github.com/optimizely/go-sdk/v2/pkg/client"
	"github.com/optimizely/go-sdk/v2/pkg/config"
	"github.com/optimizely/go-sdk/v2/pkg/decide"
	"github.com/optimizely/go-sdk/v2/pkg/entities"
	"github.com/optimizely/go-sdk/v2/pkg/event"
	"github.com/optimizely/go-sdk/v2/pkg/logging"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// agreementConditions are audience trees on the attributes
// agreementAttributes generates, copied from experiments' datafiletest
// (internal to that module). They avoid the corners where Optimizely SDKs
// disagree with each other: no "not" over "and", no pre-release semver
// targets, no numbers beyond 2^53.
var agreementConditions = []string{
	`[{"name":"country","type":"custom_attribute","match":"exact","value":"US"}]`,
	`["and", {"name":"country","type":"custom_attribute","match":"exact","value":"DE"}, {"name":"age","type":"custom_attribute","match":"ge","value":18}]`,
	`["or", {"name":"mobile","type":"custom_attribute","match":"exact","value":true}, {"name":"age","type":"custom_attribute","match":"lt","value":25.5}]`,
	`["not", {"name":"country","type":"custom_attribute","match":"exact","value":"FR"}]`,
	`["and", {"name":"app","type":"custom_attribute","match":"semver_ge","value":"2.1"}, ["not", {"name":"plan","type":"custom_attribute","match":"substring","value":"free"}]]`,
	`["or", {"name":"plan","type":"custom_attribute","match":"exists"}, {"name":"age","type":"custom_attribute","match":"gt","value":60}]`,
	`["and", {"name":"app","type":"custom_attribute","match":"semver_lt","value":"3.0.0"}, {"name":"age","type":"custom_attribute","match":"le","value":40}]`,
	`["not", ["or", {"name":"country","type":"custom_attribute","match":"exact","value":"US"}, {"name":"mobile","type":"custom_attribute","match":"exact","value":false}]]`,
}

// agreementAttributes makes a random user's attributes; any may be missing,
// null or of an unexpected type.
func agreementAttributes(rng *rand.Rand) map[string]any {
	attrs := map[string]any{}
	pick := func(name string, values ...any) {
		if rng.IntN(5) != 0 {
			attrs[name] = values[rng.IntN(len(values))]
		}
	}
	pick("country", "US", "DE", "FR", "BR", nil, 7.0)
	pick("age", 12.0, 18.0, 25.5, 33.0, 61.0, "33", nil)
	pick("mobile", true, false, "yes")
	pick("app", "1.9.9", "2.1", "2.1.0", "2.10.3", "3.0.0", "3.0.0-beta", "garbage", 2.0)
	pick("plan", "free", "pro", "freebie", nil)
	if rng.IntN(10) == 0 {
		attrs["$opt_bucketing_id"] = fmt.Sprintf("device-%d", rng.IntN(1000))
	}
	return attrs
}

type discardEvents struct{}

func (discardEvents) DispatchEvent(event.LogEvent) (bool, error) { return true, nil }

// The Optimizely Go SDK, polling the datafile from the gateway's
// /datafiles/{sdk_key}.json, and Lift's Decide agree on every experiment
// and flag for 10,000 users. Every user is decided over gRPC and at the
// edge (Agent's POST /v1/decide, decided in the gateway, whose JSON must
// be Agent's rendering of the SDK's decision); every 20th also through
// POST /v1/environments:decide, which must answer the same as gRPC.
func TestSDK_GoSDKAgreesWithDecideThroughGateway(t *testing.T) {
	logging.SetLogLevel(logging.LogLevelError)
	s := newSDKStack(t)
	setupAgreementProject(t, s)

	sdkKey := s.envs["production"].GetSdkKey()
	sdk, cm := newGoSDK(t, s, sdkKey)

	rng := rand.New(rand.NewPCG(7, 11))
	bucketed, enabled, viaREST := 0, 0, 0
	for i := range 10000 {
		user := fmt.Sprintf("user-%05d", i)
		attrs := agreementAttributes(rng)
		a, err := structpb.NewStruct(attrs)
		if err != nil {
			t.Fatal(err)
		}
		req := &experimentsv1.DecideRequest{SdkKey: sdkKey, UserId: user, Attributes: a.GetFields()}
		resp, err := s.exp.Decide(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		if i%20 == 0 {
			body, err := protojson.Marshal(req)
			if err != nil {
				t.Fatal(err)
			}
			r := s.gw.Do(t, "POST", "/v1/environments:decide", "", body)
			if r.Status != http.StatusOK {
				t.Fatalf("POST /v1/environments:decide: %d %s", r.Status, r.Body)
			}
			rest := &experimentsv1.DecideResponse{}
			r.JSON(t, rest)
			if !proto.Equal(rest, resp) {
				t.Fatalf("%s: POST /v1/environments:decide %v, gRPC %v", user, rest, resp)
			}
			viaREST++
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
		_, edgeAnswer := s.agentDecide(t, sdkKey, map[string]any{"userId": user, "userAttributes": attrs, "decideOptions": []string{"DISABLE_DECISION_EVENT"}})
		edge := byFlag(t, edgeAnswer)
		for _, fd := range resp.GetFlags() {
			want := uc.Decide(fd.GetFlagKey(), []decide.OptimizelyDecideOptions{decide.DisableDecisionEvent})
			if wantJSON := agentJSON(t, want); !reflect.DeepEqual(edge[fd.GetFlagKey()], wantJSON) {
				t.Fatalf("%s flag %s: edge POST /v1/decide %v, Agent's rendering of the SDK %v", user, fd.GetFlagKey(), edge[fd.GetFlagKey()], wantJSON)
			}
			if fd.GetEnabled() != want.Enabled || fd.GetVariationKey() != want.VariationKey || fd.GetRuleKey() != want.RuleKey {
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
	t.Logf("10000 users: %d bucketed experiment decisions, %d enabled flags, all equal over gRPC and at the edge; %d also via POST /v1/environments:decide", bucketed, enabled, viaREST)

	// A change reaches the SDK through its conditional poll of the gateway.
	before, _ := cm.GetConfig()
	list, err := s.exp.ListExperiments(experimentstest.WithToken(context.Background(), s.read), &experimentsv1.ListExperimentsRequest{
		ProjectId: s.project.GetId(), Status: experimentsv1.ExperimentStatus_EXPERIMENT_STATUS_RUNNING})
	if err != nil {
		t.Fatal(err)
	}
	paused := list.GetExperiments()[0]
	if _, err := s.exp.PauseExperiment(s.write, &experimentsv1.PauseExperimentRequest{ExperimentId: paused.GetId()}); err != nil {
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
// with variables, audiences, partial traffic, a layer shared by two
// experiments, and a flag decided by two experiments.
func setupAgreementProject(t *testing.T, s *sdkStack) {
	t.Helper()
	newFlag := func(key string, vars ...*experimentsv1.FlagVariable) string {
		resp, err := s.exp.CreateFlag(s.write, &experimentsv1.CreateFlagRequest{ProjectId: s.project.GetId(), Flag: &experimentsv1.Flag{Key: key, Variables: vars}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetFlag().GetId()
	}
	checkout := newFlag("checkout",
		&experimentsv1.FlagVariable{Key: "color", Type: experimentsv1.VariableType_VARIABLE_TYPE_STRING, DefaultValue: "blue"},
		&experimentsv1.FlagVariable{Key: "discount", Type: experimentsv1.VariableType_VARIABLE_TYPE_INTEGER, DefaultValue: "0"})
	search := newFlag("search", &experimentsv1.FlagVariable{Key: "fuzzy", Type: experimentsv1.VariableType_VARIABLE_TYPE_BOOLEAN, DefaultValue: "false"})
	layer, err := s.exp.CreateLayer(s.write, &experimentsv1.CreateLayerRequest{ProjectId: s.project.GetId(), Layer: &experimentsv1.Layer{Key: "home"}})
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
			e.FlagId, e.AudienceConditions = checkout, agreementConditions[1]
			e.Variations[1].Variables = map[string]string{"color": "red", "discount": "10"}
		},
		func(e *experimentsv1.Experiment) {
			e.FlagId, e.TrafficAllocation = checkout, proto.Int32(6000)
			e.Variations = three(true, false, true)
			e.Variations[2].Variables = map[string]string{"discount": "25"}
		},
		func(e *experimentsv1.Experiment) {
			e.FlagId, e.AudienceConditions = search, agreementConditions[4]
			e.Variations[0].Variables = map[string]string{"fuzzy": "true"}
		},
		func(e *experimentsv1.Experiment) {
			e.LayerId, e.LayerTrafficAllocation, e.AudienceConditions = layer.GetLayer().GetId(), 4500, agreementConditions[2]
		},
		func(e *experimentsv1.Experiment) {
			e.LayerId, e.LayerTrafficAllocation, e.TrafficAllocation = layer.GetLayer().GetId(), 5000, proto.Int32(8000)
			e.Variations = three(false, false, false)
		},
		func(e *experimentsv1.Experiment) { e.AudienceConditions = agreementConditions[7] },
		func(e *experimentsv1.Experiment) {
			e.AudienceConditions = agreementConditions[6]
			e.Variations[0].Weight, e.Variations[1].Weight = 1000, 9000
		},
		func(e *experimentsv1.Experiment) { e.AudienceConditions = agreementConditions[5] },
	}
	for i, edit := range specs {
		s.runningExperiment(t, fmt.Sprintf("exp_%d", i), edit)
	}
	draft := &experimentsv1.Experiment{Key: "draft_only", Name: "draft_only", EnvironmentKeys: []string{"production"}, Variations: []*experimentsv1.Variation{
		{Key: "control", Weight: 5000, Baseline: true, FeatureEnabled: true}, {Key: "treatment", Weight: 5000, FeatureEnabled: true},
	}}
	if _, err := s.exp.CreateExperiment(s.write, &experimentsv1.CreateExperimentRequest{ProjectId: s.project.GetId(), Experiment: draft}); err != nil {
		t.Fatal(err)
	}
}

// newGoSDK starts the Optimizely Go SDK on the gateway's datafile URL for
// sdkKey (polling only when asked, events discarded), closed with the test.
func newGoSDK(t *testing.T, s *sdkStack, sdkKey string) (*client.OptimizelyClient, *config.PollingProjectConfigManager) {
	t.Helper()
	cm := config.NewPollingProjectConfigManager(sdkKey,
		config.WithDatafileURLTemplate(s.gw.URL+"/datafiles/%s.json"), config.WithPollingInterval(time.Hour))
	if _, err := cm.GetConfig(); err != nil {
		t.Fatalf("SDK could not load the datafile from the gateway: %v", err)
	}
	sdk, err := (&client.OptimizelyFactory{SDKKey: sdkKey}).Client(client.WithConfigManager(cm), client.WithEventDispatcher(discardEvents{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sdk.Close)
	return sdk, cm
}
