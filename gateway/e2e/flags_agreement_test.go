package e2e

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/optimizely/go-sdk/v2/pkg/client"
	"github.com/optimizely/go-sdk/v2/pkg/decide"
	"github.com/optimizely/go-sdk/v2/pkg/logging"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
	"google.golang.org/protobuf/types/known/structpb"
)

// allowlisted are the users the ruleset project forces into variations.
var allowlisted = map[string]string{"qa-anna": "c", "qa-ben": "a"}

// setupRulesetProject builds a project with every kind of flag rule, in
// production: an A/B test with an audience and an allowlist sharing an
// exclusion group with another flag's test, targeted deliveries with
// reusable audiences (on attributes of every type) and percentages, an
// everyone-else rule at a percentage, a flag switched off despite its
// running test and delivery, and a flag never configured. It returns the
// flag keys.
func setupRulesetProject(t *testing.T, s *sdkStack) []string {
	t.Helper()
	ctx, project := s.write, s.project.GetId()
	flag := func(key string) string {
		resp, err := s.exp.CreateFlag(ctx, &experimentsv1.CreateFlagRequest{ProjectId: project, Flag: &experimentsv1.Flag{Key: key, Variables: []*experimentsv1.FlagVariable{
			{Key: "color", Type: experimentsv1.VariableType_VARIABLE_TYPE_STRING, DefaultValue: "blue"},
			{Key: "discount", Type: experimentsv1.VariableType_VARIABLE_TYPE_INTEGER, DefaultValue: "0"},
		}}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetFlag().GetId()
	}
	aud := func(key, conditions string) string {
		resp, err := s.exp.CreateAudience(ctx, &experimentsv1.CreateAudienceRequest{ProjectId: project, Audience: &experimentsv1.Audience{Key: key, Conditions: conditions}})
		if err != nil {
			t.Fatal(err)
		}
		return resp.GetAudience().GetId()
	}
	rules := func(flagID string, r *experimentsv1.FlagRuleset, paths ...string) {
		if _, err := s.exp.UpdateFlagRuleset(ctx, &experimentsv1.UpdateFlagRulesetRequest{FlagId: flagID, EnvironmentKey: "production", Ruleset: r,
			UpdateMask: &fieldmaskpb.FieldMask{Paths: paths}}); err != nil {
			t.Fatalf("ruleset: %v", err)
		}
	}
	on := func(key, color string) *experimentsv1.DeliveredVariation {
		return &experimentsv1.DeliveredVariation{Key: key, FeatureEnabled: true, Variables: map[string]string{"color": color}}
	}
	three := []*experimentsv1.Variation{
		{Key: "a", Weight: 3400, Baseline: true, FeatureEnabled: true},
		{Key: "b", Weight: 3300, FeatureEnabled: true, Variables: map[string]string{"color": "red", "discount": "10"}},
		{Key: "c", Weight: 3300, FeatureEnabled: false},
	}
	layer, err := s.exp.CreateLayer(ctx, &experimentsv1.CreateLayerRequest{ProjectId: project, Layer: &experimentsv1.Layer{Key: "home"}})
	if err != nil {
		t.Fatal(err)
	}
	us := aud("us", agreementConditions[0])
	mobileOrYoung := aud("mobile_or_young", agreementConditions[2])
	modernApp := aud("modern_app", agreementConditions[4])

	checkout, banner, killed := flag("checkout"), flag("banner"), flag("killed")
	flag("plain")
	test := s.runningExperiment(t, "checkout_test", func(e *experimentsv1.Experiment) {
		e.FlagId, e.AudienceConditions, e.Variations = checkout, agreementConditions[3], three
		e.LayerId, e.LayerTrafficAllocation = layer.GetLayer().GetId(), 5000
	})
	s.runningExperiment(t, "banner_test", func(e *experimentsv1.Experiment) {
		e.FlagId, e.LayerId, e.LayerTrafficAllocation, e.TrafficAllocation = banner, layer.GetLayer().GetId(), 4000, proto.Int32(8000)
	})
	s.runningExperiment(t, "killed_test", func(e *experimentsv1.Experiment) { e.FlagId = killed })

	rules(checkout, &experimentsv1.FlagRuleset{
		ExperimentRules: []*experimentsv1.ExperimentRule{{ExperimentId: test.GetId(), Allowlist: allowlisted}},
		Deliveries: []*experimentsv1.DeliveryRule{
			{Key: "us_rollout", AudienceIds: []string{us}, Percentage: 3000, Variation: on("us_on", "green")},
			{Key: "mobile_or_modern", AudienceIds: []string{mobileOrYoung, modernApp}, Percentage: 6000, Variation: on("mobile_on", "purple")},
		},
		EveryoneElse: &experimentsv1.EveryoneElseRule{Percentage: 2000, Variation: on("soft_launch", "gray")},
	}, "experiment_rules", "deliveries", "everyone_else")
	rules(banner, &experimentsv1.FlagRuleset{Deliveries: []*experimentsv1.DeliveryRule{
		{Key: "everyone_us", AudienceIds: []string{us}, Percentage: 10000, Variation: on("on", "yellow")},
	}}, "deliveries")
	rules(killed, &experimentsv1.FlagRuleset{Enabled: false, Deliveries: []*experimentsv1.DeliveryRule{
		{Key: "all", Percentage: 10000, Variation: on("on", "black")},
	}}, "enabled", "deliveries")
	return []string{"checkout", "banner", "killed", "plain"}
}

// flagAnswer is one flag decision as every decider below reports it.
type flagAnswer struct {
	VariationKey string         `json:"variationKey"`
	Enabled      bool           `json:"enabled"`
	RuleKey      string         `json:"ruleKey"`
	Variables    map[string]any `json:"variables"`
}

type agreementUser struct {
	ID         string         `json:"id"`
	Attributes map[string]any `json:"attributes"`
}

// The real Optimizely Go SDK (v2.3.1) and JavaScript SDK (6.6.1, under
// Node) decide every flag of a project with every kind of rule exactly as
// Lift's Decide does, for 10,000 users: same variation, enabled state,
// rule key and variable values. Every 10th user is also decided by Agent's
// POST /v1/decide at the edge. The counts per rule are logged.
func TestFlags_GoAndJavaScriptSDKsAgreeWithDecide(t *testing.T) {
	logging.SetLogLevel(logging.LogLevelError)
	js := jsSDKDir(t)
	s := newSDKStack(t)
	flags := setupRulesetProject(t, s)
	sdkKey := s.envs["production"].GetSdkKey()
	goSDK, _ := newGoSDK(t, s, sdkKey)
	df := s.gw.Do(t, "GET", "/datafiles/"+sdkKey+".json", "", nil)
	if df.Status != http.StatusOK {
		t.Fatalf("datafile: %d %s", df.Status, df.Body)
	}
	datafile := string(df.Body)

	rng := rand.New(rand.NewPCG(17, 17))
	users := make([]agreementUser, 10000)
	for i := range users {
		users[i] = agreementUser{ID: fmt.Sprintf("user-%05d", i), Attributes: agreementAttributes(rng)}
	}
	for i, id := range slices.Sorted(maps.Keys(allowlisted)) {
		users[i].ID = id
	}

	lift := liftDecisions(t, s, sdkKey, users, flags)
	jsOut := runJSSDK(t, js, datafile, users, flags)
	counts := map[string]int{}
	for i, u := range users {
		uc := goSDK.CreateUserContext(u.ID, u.Attributes)
		for j, key := range flags {
			got := lift[i][j]
			goWant := goAnswer(t, uc.Decide(key, []decide.OptimizelyDecideOptions{decide.DisableDecisionEvent}))
			if !reflect.DeepEqual(got, goWant) {
				t.Fatalf("%s %v flag %s: Lift %+v, Go SDK %+v", u.ID, u.Attributes, key, got, goWant)
			}
			if !reflect.DeepEqual(got, jsOut[i][j]) {
				t.Fatalf("%s %v flag %s: Lift %+v, JavaScript SDK %+v", u.ID, u.Attributes, key, got, jsOut[i][j])
			}
			rule := cmp.Or(got.RuleKey, "(no rule)")
			if forced, ok := allowlisted[u.ID]; ok && key == "checkout" {
				if got.VariationKey != forced {
					t.Fatalf("allowlisted %s got %+v, want %s", u.ID, got, forced)
				}
				rule += " (allowlist)"
			}
			counts[key+" / "+rule+" → "+cmp.Or(got.VariationKey, "(none)")]++
		}
		if i%10 == 0 {
			_, edge := s.agentDecide(t, sdkKey, map[string]any{"userId": u.ID, "userAttributes": u.Attributes, "decideOptions": []string{"DISABLE_DECISION_EVENT"}})
			for _, key := range flags {
				e := byFlag(t, edge)[key].(map[string]any)
				if e["variationKey"] != lift[i][slices.Index(flags, key)].VariationKey || e["ruleKey"] != lift[i][slices.Index(flags, key)].RuleKey {
					t.Fatalf("%s flag %s: Agent decide %v, typed %+v", u.ID, key, e, lift[i][slices.Index(flags, key)])
				}
			}
		}
	}
	lines := make([]string, 0, len(counts))
	for k, n := range counts {
		lines = append(lines, fmt.Sprintf("%6d  %s", n, k))
	}
	slices.Sort(lines)
	t.Logf("10000 users × %d flags agreed (Lift gRPC Decide, Go SDK, JavaScript SDK; Agent decide every 10th user); decisions per rule:\n%s", len(flags), strings.Join(lines, "\n"))
	for _, must := range []string{"checkout / checkout_test (allowlist)", "checkout / checkout_test →", "checkout / us_rollout", "checkout / mobile_or_modern", "checkout / default-rollout-", "banner / banner_test", "banner / everyone_us", "killed / default-rollout-"} {
		if !slices.ContainsFunc(lines, func(l string) bool { return strings.Contains(l, must) }) {
			t.Errorf("no user was decided by %s", must)
		}
	}
}

// liftDecisions asks Lift's typed gRPC Decide, by SDK key, for every
// user's flags (a few callers at once).
func liftDecisions(t *testing.T, s *sdkStack, sdkKey string, users []agreementUser, flags []string) [][]flagAnswer {
	t.Helper()
	out := make([][]flagAnswer, len(users))
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(users); i += 4 {
				attrs, err := structpb.NewStruct(users[i].Attributes)
				if err == nil {
					var resp *experimentsv1.DecideResponse
					resp, err = s.exp.Decide(s.write, &experimentsv1.DecideRequest{SdkKey: sdkKey, UserId: users[i].ID, Attributes: attrs.GetFields(), FlagKeys: flags})
					if err == nil {
						out[i] = typedAnswers(resp, flags)
					}
				}
				if err != nil {
					mu.Lock()
					first = cmp.Or(first, err)
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	if first != nil {
		t.Fatal(first)
	}
	return out
}

// typedAnswers renders the typed answer as the SDKs type variables (the
// flags' color is a string, discount an integer).
func typedAnswers(resp *experimentsv1.DecideResponse, flags []string) []flagAnswer {
	out := make([]flagAnswer, len(flags))
	for j, f := range resp.GetFlags() {
		vars := map[string]any{}
		for k, v := range f.GetVariables() {
			vars[k] = v
			if k == "discount" {
				var n float64
				_, _ = fmt.Sscan(v, &n)
				vars[k] = n
			}
		}
		out[j] = flagAnswer{VariationKey: f.GetVariationKey(), Enabled: f.GetEnabled(), RuleKey: f.GetRuleKey(), Variables: vars}
	}
	return out
}

func goAnswer(t *testing.T, d client.OptimizelyDecision) flagAnswer {
	t.Helper()
	raw, _ := json.Marshal(d.Variables.ToMap())
	a := flagAnswer{VariationKey: d.VariationKey, Enabled: d.Enabled, RuleKey: d.RuleKey}
	if err := json.Unmarshal(raw, &a.Variables); err != nil {
		t.Fatal(err)
	}
	return a
}

// jsSDKDir is the folder of the JavaScript SDK's npm package (installed by
// npm ci there; .ci/run does it). Without it the test skips, or fails
// under CI=true.
func jsSDKDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs("jssdk")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "@optimizely", "optimizely-sdk")); err != nil {
		msg := "the JavaScript SDK is not installed: run npm ci in gateway/e2e/jssdk"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return dir
}

// runJSSDK decides every user's flags with the JavaScript SDK on the
// datafile, in one Node process.
func runJSSDK(t *testing.T, dir, datafile string, users []agreementUser, flags []string) [][]flagAnswer {
	t.Helper()
	in, err := json.Marshal(map[string]any{"datafile": datafile, "flags": flags, "users": users})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("node", "decide.mjs")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("node decide.mjs: %v\n%s", err, stderr.Bytes())
	}
	var out [][]flagAnswer
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("JavaScript SDK output: %v\n%.500s", err, raw)
	}
	if len(out) != len(users) {
		t.Fatalf("JavaScript SDK decided %d users, want %d", len(out), len(users))
	}
	return out
}
