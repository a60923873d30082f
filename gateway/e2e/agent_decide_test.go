package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"github.com/liftlabs/lift/services/results/resultstest"
	"github.com/optimizely/go-sdk/v2/pkg/client"
	"github.com/optimizely/go-sdk/v2/pkg/decide"
	"github.com/optimizely/go-sdk/v2/pkg/logging"
	"google.golang.org/grpc/codes"
)

// agentOut is Optimizely Agent's DecideOut (agent pkg/handlers/decide.go):
// the go-sdk decision with its variables as a map, omitted when empty. The
// expected JSON of every comparison below is this, built from the real
// Go SDK's decision, which is exactly what Agent renders.
type agentOut struct {
	client.OptimizelyDecision
	Variables map[string]any `json:"variables,omitempty"`
}

func agentJSON(t *testing.T, d client.OptimizelyDecision) any {
	t.Helper()
	b, err := json.Marshal(agentOut{d, d.Variables.ToMap()})
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// agentDecide posts Agent's decide request and decodes the answer.
func (s *sdkStack) agentDecide(t *testing.T, sdkKey string, body map[string]any, keys ...string) (*http.Response, any) {
	t.Helper()
	q := url.Values{"keys": keys}
	r := s.gw.Do(t, "POST", "/v1/decide?"+q.Encode(), "", body, "X-Optimizely-SDK-Key", sdkKey)
	if r.Status != http.StatusOK {
		t.Fatalf("POST /v1/decide: %d %s", r.Status, r.Body)
	}
	var v any
	r.JSON(t, &v)
	return &http.Response{StatusCode: r.Status, Header: r.Header}, v
}

func byFlag(t *testing.T, v any) map[string]any {
	t.Helper()
	list, ok := v.([]any)
	if !ok {
		t.Fatalf("want a JSON array, got %T", v)
	}
	out := map[string]any{}
	for _, d := range list {
		out[d.(map[string]any)["flagKey"].(string)] = d
	}
	if len(out) != len(list) {
		t.Fatalf("a flag twice: %v", list)
	}
	return out
}

// POST /v1/decide answers what Agent would: for a few hundred users the
// JSON equals Agent's rendering of the Go SDK's own decisions (decide all,
// ENABLED_FLAGS_ONLY, EXCLUDE_VARIABLES, one key, several keys, an unknown
// key), and the flags equal the typed Decide's.
func TestAgentDecide_SameAsAgentAndTypedDecide(t *testing.T) {
	logging.SetLogLevel(logging.LogLevelError)
	s := newSDKStack(t)
	setupAgreementProject(t, s)
	sdkKey := s.envs["production"].GetSdkKey()
	sdk, _ := newGoSDK(t, s, sdkKey)

	noEvent := decide.DisableDecisionEvent
	rng := rand.New(rand.NewPCG(3, 5))
	enabled := 0
	for i := range 300 {
		user := fmt.Sprintf("agent-%04d", i)
		attrs := agreementAttributes(rng)
		uc := sdk.CreateUserContext(user, attrs)
		body := map[string]any{"userId": user, "userAttributes": attrs, "decideOptions": []string{"DISABLE_DECISION_EVENT"}}

		// Decide all.
		_, all := s.agentDecide(t, sdkKey, body)
		got := byFlag(t, all)
		want := uc.DecideAll([]decide.OptimizelyDecideOptions{noEvent})
		if len(got) != len(want) {
			t.Fatalf("%s: %d decisions, SDK %d", user, len(got), len(want))
		}
		for key, d := range want {
			if w := agentJSON(t, d); !reflect.DeepEqual(got[key], w) {
				t.Fatalf("%s flag %s:\n got %v\nwant %v", user, key, got[key], w)
			}
			if d.Enabled {
				enabled++
			}
		}

		// The typed Decide agrees on every flag.
		typed := s.gw.Do(t, "POST", "/v1/environments:decide", "", map[string]any{"sdkKey": sdkKey, "userId": user, "attributes": attrs})
		tr := &experimentsv1.DecideResponse{}
		typed.JSON(t, tr)
		for _, f := range tr.GetFlags() {
			g := got[f.GetFlagKey()].(map[string]any)
			if g["enabled"] != f.GetEnabled() || g["variationKey"] != f.GetVariationKey() || g["ruleKey"] != f.GetRuleKey() {
				t.Fatalf("%s flag %s: Agent-shaped %v, typed %v", user, f.GetFlagKey(), g, f)
			}
		}

		if i%10 != 0 {
			continue
		}
		// Options, single and several keys, unknown key.
		for _, opt := range []decide.OptimizelyDecideOptions{decide.EnabledFlagsOnly, decide.ExcludeVariables} {
			body["decideOptions"] = []string{string(noEvent), string(opt)}
			_, v := s.agentDecide(t, sdkKey, body)
			got := byFlag(t, v)
			want := uc.DecideAll([]decide.OptimizelyDecideOptions{noEvent, opt})
			if len(got) != len(want) {
				t.Fatalf("%s %s: %d decisions, SDK %d", user, opt, len(got), len(want))
			}
			for key, d := range want {
				if w := agentJSON(t, d); !reflect.DeepEqual(got[key], w) {
					t.Fatalf("%s %s flag %s:\n got %v\nwant %v", user, opt, key, got[key], w)
				}
			}
		}
		body["decideOptions"] = []string{string(noEvent)}
		for _, key := range []string{"checkout", "nope"} {
			_, one := s.agentDecide(t, sdkKey, body, key)
			if _, isObject := one.(map[string]any); !isObject {
				t.Fatalf("one key: want a JSON object, got %T", one)
			}
			if w := agentJSON(t, uc.Decide(key, []decide.OptimizelyDecideOptions{noEvent})); !reflect.DeepEqual(one, w) {
				t.Fatalf("%s key %s:\n got %v\nwant %v", user, key, one, w)
			}
		}
		_, two := s.agentDecide(t, sdkKey, body, "search", "checkout")
		list, _ := two.([]any)
		if len(list) != 2 || list[0].(map[string]any)["flagKey"] != "search" || list[1].(map[string]any)["flagKey"] != "checkout" {
			t.Fatalf("two keys: want an array in the keys' order, got %v", two)
		}
	}
	if enabled < 100 {
		t.Fatalf("only %d enabled flag decisions in 300 users: too few to mean anything", enabled)
	}
	t.Logf("300 users: Agent-shaped decisions equal Agent's rendering of the Go SDK and the typed Decide; %d enabled", enabled)
}

func TestAgentDecide_Errors(t *testing.T) {
	s := newSDKStack(t)
	sdkKey := s.envs["production"].GetSdkKey()
	body := map[string]any{"userId": "u1"}
	for _, tc := range []struct {
		name, method, key string
		body              any
		status            int
		code              codes.Code
		reason            string
	}{
		{"no SDK key", "POST", "", body, http.StatusUnauthorized, codes.Unauthenticated, "SDK_KEY_REQUIRED"},
		{"unknown SDK key", "POST", "no-such-key", body, http.StatusNotFound, codes.NotFound, "SDK_KEY_NOT_FOUND"},
		{"absurd SDK key", "POST", string(bytes.Repeat([]byte("k"), 300)), body, http.StatusNotFound, codes.NotFound, "SDK_KEY_NOT_FOUND"},
		{"no userId", "POST", sdkKey, map[string]any{"userAttributes": map[string]any{}}, http.StatusBadRequest, codes.InvalidArgument, "USER_ID_REQUIRED"},
		{"bad option", "POST", sdkKey, map[string]any{"userId": "u", "decideOptions": []string{"NOPE"}}, http.StatusBadRequest, codes.InvalidArgument, "INVALID_DECIDE_OPTION"},
		{"not JSON", "POST", sdkKey, "{", http.StatusBadRequest, codes.InvalidArgument, "INVALID_BODY"},
		{"fetch segments", "POST", sdkKey, map[string]any{"userId": "u", "fetchSegments": true}, http.StatusBadRequest, codes.InvalidArgument, "UNSUPPORTED"},
		{"forced decisions not a list", "POST", sdkKey, map[string]any{"userId": "u", "forcedDecisions": map[string]any{"flagKey": "f"}}, http.StatusBadRequest, codes.InvalidArgument, "INVALID_BODY"},
		{"GET", "GET", sdkKey, nil, http.StatusMethodNotAllowed, codes.Unimplemented, "METHOD_NOT_ALLOWED"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var headers []string
			if tc.key != "" {
				headers = []string{"X-Optimizely-SDK-Key", tc.key}
			}
			wantError(t, s.gw.Do(t, tc.method, "/v1/decide", "", tc.body, headers...), tc.status, tc.code, tc.reason)
		})
	}
}

// Decisions made by an experiment are recorded as impressions: results
// counts exactly the users the endpoint bucketed, per variation, and none
// of those decided with DISABLE_DECISION_EVENT or not bucketed, nor those
// the flag's everyone-else rule decided ("off", a delivery decision).
func TestAgentDecide_ImpressionsReachResults(t *testing.T) {
	s := newSDKStack(t)
	flag, err := s.exp.CreateFlag(s.write, &experimentsv1.CreateFlagRequest{ProjectId: s.project.GetId(), Flag: &experimentsv1.Flag{Key: "banner"}})
	if err != nil {
		t.Fatal(err)
	}
	e := s.runningExperiment(t, "banner_test", func(e *experimentsv1.Experiment) {
		e.FlagId = flag.GetFlag().GetId()
		e.TrafficAllocation = ptr(int32(7000)) // some users are not bucketed
	})
	sdkKey := s.envs["production"].GetSdkKey()

	want := map[string]int64{}
	for i := range 200 {
		_, v := s.agentDecide(t, sdkKey, map[string]any{"userId": fmt.Sprintf("imp-%d", i)}, "banner")
		if d := v.(map[string]any); d["ruleKey"] == "banner_test" {
			want[d["variationKey"].(string)]++
		}
	}
	for i := range 50 { // decided, but no impression asked for
		s.agentDecide(t, sdkKey, map[string]any{"userId": fmt.Sprintf("quiet-%d", i), "decideOptions": []string{"DISABLE_DECISION_EVENT"}})
	}
	if want["control"] == 0 || want["treatment"] == 0 {
		t.Fatalf("bucketing produced %v", want)
	}

	// Impressions are sent within about a second; poll the results.
	var got map[string]int64
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		got = s.reach(t, e.GetId())
		if reflect.DeepEqual(got, want) {
			t.Logf("results counts %v visitors, as bucketed", got)
			return
		}
	}
	t.Fatalf("results visitors %v, want %v", got, want)
}

func ptr[T any](v T) *T { return &v }

// The hand-written SDK operations the served OpenAPI document describes
// are routes of the gateway (their paths and methods are right), and the
// docs page marks Agent's decide beta.
func TestDocuments_SDKOperationsAreRouted(t *testing.T) {
	s := newSDKStack(t)
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID  string   `json:"operationId"`
			Tags         []string `json:"tags"`
			ReleaseState string   `json:"x-release-state"`
		} `json:"paths"`
	}
	s.gw.Do(t, "GET", "/openapi.json", "", nil).JSON(t, &doc)
	key := s.envs["production"].GetSdkKey()
	routed := 0
	for path, ops := range doc.Paths {
		for method, op := range ops {
			if len(op.Tags) != 1 || op.Tags[0] != "SDK" {
				continue
			}
			url := strings.ReplaceAll(path, "{sdkKey}", key) + "?sdk_key=" + key
			r := s.gw.Do(t, strings.ToUpper(method), url, "", `{"userId":"u"}`, "X-Optimizely-SDK-Key", key)
			if r.Status == http.StatusNotFound || r.Status == http.StatusMethodNotAllowed {
				t.Errorf("%s %s (%s): %d %s", method, path, op.OperationID, r.Status, r.Body)
			}
			if op.OperationID == "SDK_AgentDecide" && op.ReleaseState != "beta" {
				t.Errorf("Agent decide is not marked beta")
			}
			routed++
		}
	}
	if routed != 3 {
		t.Errorf("%d SDK operations in the document, want datafile, events, decide", routed)
	}
}

// Impressions still queued when the gateway shuts down are sent before it
// stops: right after Close, results counts every one, without waiting.
func TestAgentDecide_ImpressionsFlushedOnShutdown(t *testing.T) {
	s := newSDKStack(t)
	flag, err := s.exp.CreateFlag(s.write, &experimentsv1.CreateFlagRequest{ProjectId: s.project.GetId(), Flag: &experimentsv1.Flag{Key: "promo"}})
	if err != nil {
		t.Fatal(err)
	}
	e := s.runningExperiment(t, "promo_test", func(e *experimentsv1.Experiment) { e.FlagId = flag.GetFlag().GetId() })
	sdkKey := s.envs["production"].GetSdkKey()
	const users = 40
	for i := range users {
		s.agentDecide(t, sdkKey, map[string]any{"userId": fmt.Sprintf("flush-%d", i)}, "promo")
	}
	s.gw.Close()

	out, err := s.res.GetExperimentResults(resultstest.WithToken(context.Background(), s.read),
		&resultsv1.GetExperimentResultsRequest{ExperimentId: e.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if got := out.GetResults().GetReach().GetTotalCount(); got != users {
		t.Fatalf("results counts %d visitors right after shutdown, want %d", got, users)
	}
}
