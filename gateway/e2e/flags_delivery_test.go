package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/optimizely/go-sdk/v2/pkg/client"
	"github.com/optimizely/go-sdk/v2/pkg/config"
	"github.com/optimizely/go-sdk/v2/pkg/decide"
	"github.com/optimizely/go-sdk/v2/pkg/event"
	"github.com/optimizely/go-sdk/v2/pkg/logging"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// deliverToEveryone gives a flag an everyone-else rule serving "on".
func (s *sdkStack) deliverToEveryone(t *testing.T, flagID string) {
	t.Helper()
	_, err := s.exp.UpdateFlagRuleset(s.write, &experimentsv1.UpdateFlagRulesetRequest{FlagId: flagID, EnvironmentKey: "production",
		Ruleset: &experimentsv1.FlagRuleset{EveryoneElse: &experimentsv1.EveryoneElseRule{Percentage: 10000,
			Variation: &experimentsv1.DeliveredVariation{Key: "on", FeatureEnabled: true}}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"everyone_else"}}})
	if err != nil {
		t.Fatal(err)
	}
}

func (s *sdkStack) createFlag(t *testing.T, key string) string {
	t.Helper()
	resp, err := s.exp.CreateFlag(s.write, &experimentsv1.CreateFlagRequest{ProjectId: s.project.GetId(), Flag: &experimentsv1.Flag{Key: key}})
	if err != nil {
		t.Fatal(err)
	}
	return resp.GetFlag().GetId()
}

// Switching a flag off reaches the real Go SDK within one datafile poll:
// the toggle raises the datafile's revision (and Last-Modified), so the
// SDK's next conditional GET loads it.
func TestFlags_ToggleReachesGoSDKWithinOnePoll(t *testing.T) {
	logging.SetLogLevel(logging.LogLevelError)
	s := newSDKStack(t)
	flagID := s.createFlag(t, "beta")
	s.deliverToEveryone(t, flagID)
	sdkKey := s.envs["production"].GetSdkKey()

	const poll = time.Second
	cm := config.NewPollingProjectConfigManager(sdkKey, config.WithDatafileURLTemplate(s.gw.URL+"/datafiles/%s.json"), config.WithPollingInterval(poll))
	sdk, err := (&client.OptimizelyFactory{SDKKey: sdkKey}).Client(client.WithConfigManager(cm), client.WithEventDispatcher(discardEvents{}))
	if err != nil {
		t.Fatal(err)
	}
	defer sdk.Close()
	uc := sdk.CreateUserContext("toggle-user", nil)
	for deadline := time.Now().Add(10 * time.Second); !uc.Decide("beta", nil).Enabled; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the SDK never saw the flag on")
		}
	}
	before, _ := cm.GetConfig()

	toggled := time.Now()
	if _, err := s.exp.UpdateFlagRuleset(s.write, &experimentsv1.UpdateFlagRulesetRequest{FlagId: flagID, EnvironmentKey: "production",
		Ruleset: &experimentsv1.FlagRuleset{Enabled: false}, UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"enabled"}}}); err != nil {
		t.Fatal(err)
	}
	for uc.Decide("beta", nil).Enabled {
		if time.Since(toggled) > 2*poll+time.Second {
			t.Fatalf("the SDK still has the flag on %v after the toggle (polling every %v)", time.Since(toggled), poll)
		}
		time.Sleep(20 * time.Millisecond)
	}
	after, _ := cm.GetConfig()
	d := uc.Decide("beta", nil)
	if d.VariationKey != "off" || after.GetRevision() == before.GetRevision() {
		t.Fatalf("after the toggle: %+v, revision %s → %s", d, before.GetRevision(), after.GetRevision())
	}
	t.Logf("the Go SDK (polling every %v) saw the flag off %v after the toggle (revision %s → %s)", poll, time.Since(toggled).Round(time.Millisecond), before.GetRevision(), after.GetRevision())
}

// gatewayEvents sends the SDK's event batches to the gateway's
// POST /v1/events, as a self-hosted SDK is configured to.
type gatewayEvents struct {
	url string
}

func (g gatewayEvents) DispatchEvent(e event.LogEvent) (bool, error) {
	raw, err := json.Marshal(e.Event)
	if err != nil {
		return false, err
	}
	resp, err := http.Post(g.url, "application/json", bytes.NewReader(raw))
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	return resp.StatusCode < 300, nil
}

// The real Go SDK sends an impression for every decision, deliveries
// included (sendFlagDecisions): results counts as the experiment's visitors
// exactly the users its A/B test decided, not those the delivery did.
func TestFlags_DeliveryDecisionsAreNotExperimentVisitors(t *testing.T) {
	logging.SetLogLevel(logging.LogLevelError)
	s := newSDKStack(t)
	flagID := s.createFlag(t, "promo")
	e := s.runningExperiment(t, "promo_test", func(e *experimentsv1.Experiment) {
		e.FlagId, e.TrafficAllocation = flagID, proto.Int32(4000)
	})
	s.deliverToEveryone(t, flagID)
	sdkKey := s.envs["production"].GetSdkKey()
	cm := config.NewPollingProjectConfigManager(sdkKey, config.WithDatafileURLTemplate(s.gw.URL+"/datafiles/%s.json"), config.WithPollingInterval(time.Hour))
	if _, err := cm.GetConfig(); err != nil {
		t.Fatal(err)
	}
	sdk, err := (&client.OptimizelyFactory{SDKKey: sdkKey}).Client(client.WithConfigManager(cm),
		client.WithEventDispatcher(gatewayEvents{url: s.gw.URL + "/v1/events?sdk_key=" + sdkKey}))
	if err != nil {
		t.Fatal(err)
	}
	want, delivered := map[string]int64{}, 0
	for i := range 300 {
		uc := sdk.CreateUserContext(fmt.Sprintf("promo-%d", i), nil)
		d := uc.Decide("promo", []decide.OptimizelyDecideOptions{})
		switch d.RuleKey {
		case "promo_test":
			want[d.VariationKey]++
		case "default-rollout-" + flagID:
			delivered++
		default:
			t.Fatalf("decision %+v", d)
		}
	}
	sdk.Close() // flushes the event queue
	if delivered == 0 || len(want) != 2 {
		t.Fatalf("decisions: %v by the test, %d by the delivery", want, delivered)
	}

	var got map[string]int64
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		r := s.gw.Do(t, "GET", "/v1/experiments/"+e.GetId()+"/results", s.read, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("results: %d %s", r.Status, r.Body)
		}
		out := &resultsv1.GetExperimentResultsResponse{}
		r.JSON(t, out)
		got = map[string]int64{}
		for _, v := range out.GetResults().GetReach().GetVariations() {
			if v.GetCount() > 0 {
				got[v.GetVariationKey()] = v.GetCount()
			}
		}
		if reflect.DeepEqual(got, want) {
			t.Logf("results counts %v visitors of promo_test; the %d users the delivery decided are not among them", got, delivered)
			return
		}
	}
	t.Fatalf("results visitors %v, want %v (the delivery decided %d users)", got, want, delivered)
}
