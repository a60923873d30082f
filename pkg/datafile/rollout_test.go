package datafile

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"testing"

	"github.com/optimizely/go-sdk/v2/pkg/client"
	"github.com/optimizely/go-sdk/v2/pkg/config"
	"github.com/optimizely/go-sdk/v2/pkg/decide"
	"github.com/optimizely/go-sdk/v2/pkg/event"
	"github.com/optimizely/go-sdk/v2/pkg/logging"
)

type discard struct{}

func (discard) DispatchEvent(event.LogEvent) (bool, error) { return true, nil }

// testdata/rollouts.json has what Lift's builder does not write yet: a
// whitelist (with an entry naming no variation), rollout rules with
// audiences, a rule that disables the flag, partial "everyone else"
// traffic, typed and JSON variables. For 10,000 users with varied
// attributes, the engine and the Optimizely Go SDK decide every flag alike.
func TestDecideFlag_RolloutsAndWhitelistAgreeWithGoSDK(t *testing.T) {
	engine, sdk := rolloutsEngineAndSDK(t)
	rng := rand.New(rand.NewPCG(3, 4))
	countries := []any{"US", "FR", nil, 1.0}
	rules := map[string]int{}
	for u := range 10000 {
		user := fmt.Sprint("user-", u)
		if u < 3 {
			user = []string{"vip-1", "vip-2", "ghost"}[u]
		}
		attrs := map[string]any{"age": float64(rng.IntN(40))}
		if c := countries[rng.IntN(len(countries))]; c != nil {
			attrs["country"] = c
		}
		uc := sdk.CreateUserContext(user, attrs)
		for _, key := range append(engine.FlagKeys(), "missing") {
			want := uc.Decide(key, []decide.OptimizelyDecideOptions{decide.DisableDecisionEvent})
			got, _ := engine.DecideFlag(user, attrs, key)
			if got.VariationKey() != want.VariationKey || got.Enabled != want.Enabled || got.ExperimentKey() != want.RuleKey {
				t.Fatalf("%s %v flag %s: engine %+v, SDK %+v", user, attrs, key, got, want)
			}
			vars := want.Variables.ToMap()
			for i, v := range got.Variables {
				if !sameValue(vars[v.Key], got.Values[i]) || !reflect.DeepEqual(vars[v.Key], got.Typed[i]) {
					t.Fatalf("%s flag %s variable %s: engine %q (%#v), SDK %#v", user, key, v.Key, got.Values[i], got.Typed[i], vars[v.Key])
				}
			}
			rules[got.RuleType+"/"+got.ExperimentKey()]++
		}
	}
	for _, r := range []string{"feature-test/test", "rollout/us_rule", "rollout/adults_rule", "rollout/everyone_else", "/"} {
		if rules[r] < 100 {
			t.Errorf("rule %s decided only %d times: %v", r, rules[r], rules)
		}
	}
	if d, _ := engine.DecideFlag("vip-1", map[string]any{"age": 3.0}, "checkout"); d.Rule.Reason != Forced || d.VariationKey() != "treatment" {
		t.Errorf("whitelisted user outside the audience: %+v", d)
	}
}

// sameValue compares the SDK's typed variable with the engine's text.
func sameValue(sdk any, text string) bool {
	if fmt.Sprint(sdk) == text {
		return true
	}
	var v any
	return json.Unmarshal([]byte(text), &v) == nil && reflect.DeepEqual(sdk, v)
}

// rolloutsEngineAndSDK loads testdata/rollouts.json into the engine and
// the Optimizely Go SDK (closed with the test).
func rolloutsEngineAndSDK(t *testing.T) (*Engine, *client.OptimizelyClient) {
	t.Helper()
	raw, err := os.ReadFile("testdata/rollouts.json")
	if err != nil {
		t.Fatal(err)
	}
	engine, err := Load(raw)
	if err != nil {
		t.Fatal(err)
	}
	logging.SetLogLevel(logging.LogLevelError)
	cm, err := config.NewStaticProjectConfigManagerFromPayload(raw, logging.GetLogger("", "test"))
	if err != nil {
		t.Fatal(err)
	}
	sdk, err := (&client.OptimizelyFactory{}).Client(client.WithConfigManager(cm), client.WithEventDispatcher(discard{}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sdk.Close)
	return engine, sdk
}
