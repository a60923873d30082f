package datafile_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/optimizely/go-sdk/v2/pkg/client"
	"github.com/optimizely/go-sdk/v2/pkg/config"
	"github.com/optimizely/go-sdk/v2/pkg/decide"
	"github.com/optimizely/go-sdk/v2/pkg/entities"
	"github.com/optimizely/go-sdk/v2/pkg/event"
	"github.com/optimizely/go-sdk/v2/pkg/logging"

	v4 "github.com/liftlabs/lift/pkg/datafile"
	"github.com/liftlabs/lift/services/experiments/internal/datafile"
	"github.com/liftlabs/lift/services/experiments/internal/datafile/datafiletest"
)

// discard drops the SDK's events: nothing leaves the machine.
type discard struct{}

func (discard) DispatchEvent(event.LogEvent) (bool, error) { return true, nil }

// For random projects, the Optimizely Go SDK loaded with Lift's datafile
// and Lift's own Decide must give every user the same variation of every
// experiment and the same flag decision.
func TestDecide_AgreesWithOptimizelyGoSDK(t *testing.T) {
	logging.SetLogLevel(logging.LogLevelError)
	rng := rand.New(rand.NewPCG(42, 43))
	bucketed, enabled := 0, 0
	for round := range 12 {
		in := datafiletest.Input(rng)
		d, err := datafile.Build(in)
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := d.Marshal()
		lift, err := v4.Compile(d)
		if err != nil {
			t.Fatal(err)
		}
		cm, err := config.NewStaticProjectConfigManagerFromPayload(raw, logging.GetLogger("", "test"))
		if err != nil {
			t.Fatal(err)
		}
		factory := &client.OptimizelyFactory{}
		sdk, err := factory.Client(client.WithConfigManager(cm), client.WithEventDispatcher(discard{}))
		if err != nil {
			t.Fatal(err)
		}
		users := datafiletest.AllowlistedUsers
		for u := range 1000 {
			user := fmt.Sprintf("r%d-user-%d", round, u)
			if u < len(users) {
				user = users[u]
			}
			attrs := datafiletest.Attributes(rng)
			for _, key := range lift.ExperimentKeys() {
				want, _ := sdk.GetVariation(key, entities.UserContext{ID: user, Attributes: attrs})
				if got := lift.Decide(user, attrs, key); got.VariationKey != want {
					t.Fatalf("round %d %s %v experiment %s: Lift %q (%v), SDK %q\n%s", round, user, attrs, key, got.VariationKey, got.Reason, want, raw)
				}
				if want != "" {
					bucketed++
				}
			}
			uc := sdk.CreateUserContext(user, attrs)
			for _, key := range lift.FlagKeys() {
				want := uc.Decide(key, []decide.OptimizelyDecideOptions{decide.DisableDecisionEvent})
				got, _ := lift.DecideFlag(user, attrs, key)
				if got.VariationKey() != want.VariationKey || got.Enabled != want.Enabled || got.ExperimentKey() != want.RuleKey {
					t.Fatalf("round %d %s flag %s: Lift %+v, SDK %+v", round, user, key, got, want)
				}
				if want.Enabled {
					enabled++
				}
				vars := want.Variables.ToMap()
				for i, variable := range got.Variables {
					k, v := variable.Key, got.Values[i]
					if fmt.Sprint(vars[k]) != v && !jsonEqual(vars[k], v) {
						t.Fatalf("flag %s variable %s: Lift %q, SDK %v", key, k, v, vars[k])
					}
				}
			}
		}
		sdk.Close()
	}
	if bucketed < 1000 || enabled < 100 {
		t.Fatalf("too few positive decisions to mean anything: %d bucketed, %d flags enabled", bucketed, enabled)
	}
	t.Logf("%d bucketed experiment decisions and %d enabled flags agreed", bucketed, enabled)
}
