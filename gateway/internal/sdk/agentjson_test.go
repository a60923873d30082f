package sdk

import (
	"encoding/json"
	"testing"

	v4 "github.com/liftlabs/lift/pkg/datafile"
)

// The hand-written encoder writes exactly what encoding/json writes for
// Agent's decision (go-sdk's OptimizelyDecision with a variables map),
// strings needing escapes and odd values included.
func TestAgentWriter_SameBytesAsEncodingJSON(t *testing.T) {
	type userContext struct {
		UserID     string         `json:"userId"`
		Attributes map[string]any `json:"attributes"`
	}
	type decision struct {
		VariationKey string         `json:"variationKey"`
		Enabled      bool           `json:"enabled"`
		RuleKey      string         `json:"ruleKey"`
		FlagKey      string         `json:"flagKey"`
		UserContext  userContext    `json:"userContext"`
		Reasons      []string       `json:"reasons"`
		Variables    map[string]any `json:"variables,omitempty"`
	}
	vars := []v4.FlagVariable{{Key: "zeta"}, {Key: "alpha"}, {Key: "<html>"}, {Key: "ünï"}, {Key: "n"}, {Key: "f"}, {Key: "obj"}}
	typed := []any{"a\"b\\c\n", true, "x&y", "日本", 42, 1e21, map[string]any{"b": []any{1.5, nil}, "a": "<"}}
	for _, body := range []decideBody{
		{UserID: "u-1"},
		{UserID: "ü\u2028<script>", UserAttributes: map[string]any{"plan": "pro", "n": 3.25, "nested": map[string]any{"k": []any{true}}}},
	} {
		for _, d := range []agentDecision{
			{flagKey: "f", reasons: []string{`No flag was found for key "f".`}},
			{variationKey: "on", enabled: true, ruleKey: "r", flagKey: "flag", variables: vars, typed: typed, reasons: []string{"<a>"}},
		} {
			a := newAgentWriter(body)
			a.decision(d)
			got := string(a.buf)
			a.release()
			want := decision{VariationKey: d.variationKey, Enabled: d.enabled, RuleKey: d.ruleKey, FlagKey: d.flagKey,
				UserContext: userContext{body.UserID, body.UserAttributes}, Reasons: append([]string{}, d.reasons...)}
			if d.variables != nil {
				want.Variables = map[string]any{}
				for i, v := range d.variables {
					want.Variables[v.Key] = d.typed[i]
				}
			}
			wantJSON, _ := json.Marshal(want)
			if got != string(wantJSON) {
				t.Errorf("writer:        %s\nencoding/json: %s", got, wantJSON)
			}
		}
	}
}
