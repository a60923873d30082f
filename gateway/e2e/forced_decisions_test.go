package e2e

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/optimizely/go-sdk/v2/pkg/decide"
	"github.com/optimizely/go-sdk/v2/pkg/decision"
	"github.com/optimizely/go-sdk/v2/pkg/logging"
)

// forced is one entry of Agent's forcedDecisions.
type forced struct{ flag, rule, variation string }

func forcedBody(fds []forced) []any {
	out := make([]any, len(fds))
	for i, f := range fds {
		m := map[string]any{"flagKey": f.flag, "variationKey": f.variation}
		if f.rule != "" {
			m["ruleKey"] = f.rule
		}
		out[i] = m
	}
	return out
}

// forcedDecisionCases force a flag, an A/B test rule, each kind of
// delivery rule (a targeted one and everyone else), a kill-switched flag,
// with variations of other rules, unknown variations and unknown flags.
func forcedDecisionCases(everyoneElse string) map[string][]forced {
	return map[string][]forced{
		"flag":                             {{"checkout", "", "b"}},
		"flag, a delivery's variation":     {{"checkout", "", "us_on"}},
		"flag, later entry wins":           {{"checkout", "", "a"}, {"checkout", "", "c"}},
		"experiment rule":                  {{"checkout", "checkout_test", "c"}},
		"experiment rule, other variation": {{"checkout", "checkout_test", "mobile_on"}},
		"delivery rule":                    {{"checkout", "us_rollout", "mobile_on"}},
		"second delivery rule":             {{"checkout", "mobile_or_modern", "us_on"}},
		"everyone else rule":               {{"checkout", everyoneElse, "soft_launch"}},
		"flag over rule":                   {{"checkout", "checkout_test", "a"}, {"checkout", "", "b"}},
		"unknown variation, flag":          {{"checkout", "", "nope"}},
		"unknown variation, rule":          {{"checkout", "checkout_test", "nope"}, {"checkout", "us_rollout", "nope"}},
		"unknown flag and rule":            {{"nope", "", "b"}, {"checkout", "no_such_rule", "b"}},
		"kill-switched flag":               {{"killed", "", "on"}, {"killed", "killed_test", "treatment"}},
		"several flags":                    {{"banner", "", "treatment"}, {"plain", "", "off"}, {"checkout", "us_rollout", "soft_launch"}},
	}
}

// Agent's forcedDecisions in POST /v1/decide decide as the real Go SDK's
// user context with the same SetForcedDecision calls, on the same
// datafile: for every case and 40 users (the allowlisted among them),
// every flag's JSON is the SDK's as Agent renders it, and with
// INCLUDE_REASONS Lift reports the SDK's forced-decision reasons.
func TestAgentDecide_ForcedDecisionsSameAsGoSDK(t *testing.T) {
	logging.SetLogLevel(logging.LogLevelError)
	s := newSDKStack(t)
	setupRulesetProject(t, s)
	sdkKey := s.envs["production"].GetSdkKey()
	sdk, cm := newGoSDK(t, s, sdkKey)
	cfg, err := cm.GetConfig()
	if err != nil {
		t.Fatal(err)
	}
	checkout, err := cfg.GetFeatureByKey("checkout")
	if err != nil {
		t.Fatal(err)
	}
	rules := checkout.Rollout.Experiments
	everyoneElse := rules[len(rules)-1].Key

	noEvent, reasons := decide.DisableDecisionEvent, decide.IncludeReasons
	rng := rand.New(rand.NewPCG(4, 17))
	users := []string{"qa-anna", "qa-ben"}
	for i := range 38 {
		users = append(users, fmt.Sprintf("forced-%02d", i))
	}
	seen := map[string]bool{} // "case/flag → rule:variation", to show the cases bite
	cases := forcedDecisionCases(everyoneElse)
	for _, name := range slices.Sorted(maps.Keys(cases)) { // the same users' attributes every run
		fds := cases[name]
		for _, user := range users {
			attrs := agreementAttributes(rng)
			uc := sdk.CreateUserContext(user, attrs)
			for _, f := range fds {
				uc.SetForcedDecision(decision.OptimizelyDecisionContext{FlagKey: f.flag, RuleKey: f.rule}, decision.OptimizelyForcedDecision{VariationKey: f.variation})
			}
			body := map[string]any{"userId": user, "userAttributes": attrs, "decideOptions": []string{string(noEvent)}, "forcedDecisions": forcedBody(fds)}
			_, all := s.agentDecide(t, sdkKey, body)
			got := byFlag(t, all)
			want := uc.DecideAll([]decide.OptimizelyDecideOptions{noEvent})
			if len(got) != len(want) {
				t.Fatalf("%s %s: %d decisions, SDK %d", name, user, len(got), len(want))
			}
			for key, d := range want {
				if w := agentJSON(t, d); !reflect.DeepEqual(got[key], w) {
					t.Fatalf("%s %s %v flag %s:\n got %v\nwant %v", name, user, attrs, key, got[key], w)
				}
				seen[fmt.Sprintf("%s/%s → %s:%s", name, key, d.RuleKey, d.VariationKey)] = true
			}

			// The forced decisions' reasons are the SDK's.
			body["decideOptions"] = []string{string(noEvent), string(reasons)}
			_, one := s.agentDecide(t, sdkKey, body, "checkout")
			gotReasons := fmt.Sprint(one.(map[string]any)["reasons"])
			for _, r := range uc.Decide("checkout", []decide.OptimizelyDecideOptions{noEvent, reasons}).Reasons {
				if strings.Contains(r, "forced decision map") && !strings.Contains(gotReasons, r) {
					t.Fatalf("%s %s: reasons %s lack the SDK's %q", name, user, gotReasons, r)
				}
			}
		}
	}
	// Each kind of forcing decided someone as forced.
	for _, must := range []string{
		"flag/checkout → :b", "flag, a delivery's variation/checkout → :us_on",
		"experiment rule/checkout → checkout_test:c", "experiment rule, other variation/checkout → checkout_test:mobile_on",
		"delivery rule/checkout → us_rollout:mobile_on", "everyone else rule/checkout → " + everyoneElse + ":soft_launch",
	} {
		if !seen[must] {
			t.Errorf("no decision %s", must)
		}
	}
	t.Logf("%d cases × %d users agreed with the Go SDK; %d distinct flag answers", len(cases), len(users), len(seen))
}

// A forced decision on an A/B test rule records an impression, as the
// SDK sends one: results counts the forced users in the forced variation.
// Flag-level forced decisions name no experiment and record none.
func TestAgentDecide_ForcedExperimentRuleRecordsImpression(t *testing.T) {
	s := newSDKStack(t)
	flagID := s.createFlag(t, "banner")
	e := s.runningExperiment(t, "banner_test", func(e *experimentsv1.Experiment) { e.FlagId = flagID })
	sdkKey := s.envs["production"].GetSdkKey()
	for i := range 20 {
		_, v := s.agentDecide(t, sdkKey, map[string]any{"userId": fmt.Sprintf("forced-%d", i),
			"forcedDecisions": forcedBody([]forced{{"banner", "banner_test", "treatment"}})}, "banner")
		if d := v.(map[string]any); d["ruleKey"] != "banner_test" || d["variationKey"] != "treatment" {
			t.Fatalf("forced user decided %v", d)
		}
	}
	for i := range 10 {
		_, v := s.agentDecide(t, sdkKey, map[string]any{"userId": fmt.Sprintf("flag-forced-%d", i),
			"forcedDecisions": forcedBody([]forced{{"banner", "", "control"}})}, "banner")
		if d := v.(map[string]any); d["ruleKey"] != "" || d["variationKey"] != "control" {
			t.Fatalf("flag-forced user decided %v", d)
		}
	}
	want := map[string]int64{"treatment": 20}
	var got map[string]int64
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if got = s.reach(t, e.GetId()); reflect.DeepEqual(got, want) {
			break
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("results visitors %v, want %v", got, want)
	}
	// Later impressions would have arrived with the first ones' batch or
	// just after: wait a little and check nothing else came.
	time.Sleep(time.Second)
	if got = s.reach(t, e.GetId()); !reflect.DeepEqual(got, want) {
		t.Fatalf("results visitors %v, want %v", got, want)
	}
}
