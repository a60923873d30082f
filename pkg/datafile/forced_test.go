package datafile

import (
	"fmt"
	"slices"
	"testing"

	"github.com/optimizely/go-sdk/v2/pkg/decide"
	"github.com/optimizely/go-sdk/v2/pkg/decision"
)

// Forced decisions decide as the Go SDK's SetForcedDecision on the same
// datafile (a repeated flag and rule: the last entry wins; a whitelisted
// user forced elsewhere; a disabled rule forced; an unknown variation),
// with go-sdk's reasons; DecideFlag without them still allocates nothing.
func TestDecideFlagForced_AgreesWithGoSDK(t *testing.T) {
	engine, sdk := rolloutsEngineAndSDK(t)
	cases := map[string][]ForcedDecision{
		"last entry wins":            {{"checkout", "", "control"}, {"checkout", "", "off"}},
		"whitelisted user, test":     {{"checkout", "test", "control"}},
		"adults rule, us variation":  {{"checkout", "adults_rule", "on"}},
		"everyone else, off":         {{"checkout", "everyone_else", "off"}},
		"unknown variation and rule": {{"checkout", "test", "nope"}, {"checkout", "nope", "on"}},
		"other flag":                 {{"no_rollout", "", "on"}},
	}
	reasons := 0
	opts := []decide.OptimizelyDecideOptions{decide.DisableDecisionEvent, decide.IncludeReasons}
	for name, fds := range cases {
		forced := IndexForced(fds)
		for u := range 200 {
			user := fmt.Sprint("user-", u)
			if u == 0 {
				user = "vip-1"
			}
			attrs := map[string]any{"age": float64(u % 40), "country": []any{"US", "FR"}[u%2]}
			uc := sdk.CreateUserContext(user, attrs)
			for _, f := range fds {
				uc.SetForcedDecision(decision.OptimizelyDecisionContext{FlagKey: f.FlagKey, RuleKey: f.RuleKey}, decision.OptimizelyForcedDecision{VariationKey: f.VariationKey})
			}
			for _, key := range engine.FlagKeys() {
				want := uc.Decide(key, opts)
				got, _ := engine.DecideFlagForced(user, attrs, key, forced)
				if got.VariationKey() != want.VariationKey || got.Enabled != want.Enabled || got.ExperimentKey() != want.RuleKey {
					t.Fatalf("%s: %s %v flag %s: engine %+v, SDK %+v", name, user, attrs, key, got, want)
				}
				reasons += len(got.Reasons)
				for _, r := range got.Reasons {
					if !slices.Contains(want.Reasons, r) {
						t.Fatalf("%s: %s flag %s: reason %q not among the SDK's %q", name, user, key, r, want.Reasons)
					}
				}
			}
		}
	}
	if reasons == 0 {
		t.Error("no forced decision reason")
	}
	if n := testing.AllocsPerRun(100, func() { engine.DecideFlag("user-1", map[string]any{"age": 30.0}, "checkout") }); n != 0 {
		t.Errorf("DecideFlag allocates %.0f times", n)
	}
}
