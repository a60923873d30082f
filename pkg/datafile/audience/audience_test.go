package audience

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
)

type sdkCases struct {
	Conditions []struct {
		Conditions any            `json:"conditions"`
		Attributes map[string]any `json:"attributes"`
		Want       *bool          `json:"want"`
		Note       string         `json:"note"`
	} `json:"conditions"`
	Compare map[string][][2]string `json:"compare"`
	Tree    []struct {
		Conditions any     `json:"conditions"`
		Leaves     []*bool `json:"leaves"`
		Want       *bool   `json:"want"`
		Note       string  `json:"note"`
	} `json:"tree"`
}

func loadCases(t *testing.T) sdkCases {
	t.Helper()
	raw, err := os.ReadFile("testdata/sdk_cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var c sdkCases
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

func want(b *bool) Result {
	if b == nil {
		return Unknown
	}
	return result(*b)
}

func TestEvaluate_ConditionsMatchSDKReferenceCases(t *testing.T) {
	cases := loadCases(t)
	if len(cases.Conditions) < 100 {
		t.Fatalf("only %d cases loaded", len(cases.Conditions))
	}
	for i, c := range cases.Conditions {
		tree, err := ParseConditionsValue(c.Conditions, Lenient)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		if got := tree.Evaluate(c.Attributes, nil); got != want(c.Want) {
			t.Errorf("case %d %s with %v: got %v, want %v %s", i, tree, c.Attributes, got, want(c.Want), c.Note)
		}
	}
}

func TestCompareVersions_MatchesSDKReferencePairs(t *testing.T) {
	cases := loadCases(t)
	for sign, pairs := range cases.Compare {
		for _, p := range pairs {
			target, user := parseVersion(p[0]), parseVersion(p[1])
			if !target.ok || !user.ok {
				t.Fatalf("%v: does not parse", p)
			}
			if got := fmt.Sprint(compareVersions(&target, &user)); got != sign {
				t.Errorf("compare(target %q, user %q) = %s, want %s", p[0], p[1], got, sign)
			}
		}
	}
}

// leafTree replaces the placeholders "L0", "L1", … by conditions whose
// results are set through the attributes: true, false, or missing (unknown).
func leafTree(v any) any {
	switch v := v.(type) {
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = leafTree(x)
		}
		return out
	case string:
		if strings.HasPrefix(v, "L") {
			return map[string]any{"name": v, "type": CustomAttribute, "match": "exact", "value": true}
		}
	}
	return v
}

func TestEvaluate_ThreeValuedLogicMatchesSDKs(t *testing.T) {
	for i, c := range loadCases(t).Tree {
		tree, err := ParseConditionsValue(leafTree(c.Conditions), Lenient)
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		attrs := map[string]any{}
		for j, l := range c.Leaves {
			if l != nil {
				attrs[fmt.Sprintf("L%d", j)] = *l
			}
		}
		if got := tree.Evaluate(attrs, nil); got != want(c.Want) {
			t.Errorf("case %d %v leaves %v: got %v, want %v %s", i, c.Conditions, attrs, got, want(c.Want), c.Note)
		}
	}
}

func TestEvaluate_AudienceCombinations(t *testing.T) {
	us, _ := ParseConditions([]byte(`["and", ["or", {"name":"country","type":"custom_attribute","match":"exact","value":"US"}]]`), Strict)
	mobile, _ := ParseConditions([]byte(`{"name":"mobile","type":"custom_attribute","match":"exact","value":true}`), Strict)
	audiences := map[string]*Node{"1": us, "2": mobile}
	cases := []struct {
		combo string
		attrs map[string]any
		want  Result
	}{
		{`["and", "1", "2"]`, map[string]any{"country": "US", "mobile": true}, True},
		{`["and", "1", "2"]`, map[string]any{"country": "US", "mobile": false}, False},
		{`["and", "1", "2"]`, map[string]any{"country": "US"}, Unknown},
		{`["or", "1", "2"]`, map[string]any{"country": "FR"}, Unknown},
		{`["or", "1", "2"]`, map[string]any{"country": "FR", "mobile": true}, True},
		{`["not", "1"]`, map[string]any{"country": "FR"}, True},
		{`"1"`, map[string]any{"country": "US"}, True},
		{`["or", "999"]`, map[string]any{"country": "US"}, Unknown},
	}
	for _, c := range cases {
		tree, err := ParseAudienceConditions([]byte(c.combo), Lenient)
		if err != nil {
			t.Fatal(err)
		}
		if got := tree.Evaluate(c.attrs, audiences); got != c.want {
			t.Errorf("%s with %v = %v, want %v", c.combo, c.attrs, got, c.want)
		}
	}
	var none *Node
	if !none.Matches(nil, nil) {
		t.Error("a nil tree must match everyone")
	}
}

func TestParse_StrictRejectsWithPath(t *testing.T) {
	cases := map[string]string{
		`[]`:      "empty list",
		`["and"]`: "operator without operands",
		`["not", {"name":"a","type":"custom_attribute","match":"exists"}, {"name":"b","type":"custom_attribute","match":"exists"}]`: "exactly one operand",
		`["and", "or"]`: `[1]: unexpected string "or"`,
		`[{"name":"a","type":"custom_attribute","match":"regex","value":"x"}]`:       `[0]: unknown match type "regex"`,
		`[{"name":"a","type":"third_party_dimension","value":"x"}]`:                  `type must be "custom_attribute"`,
		`[{"name":"","type":"custom_attribute","value":"x"}]`:                        "name must be",
		`[{"name":"a","type":"custom_attribute","value":"x","extra":1}]`:             `unknown key "extra"`,
		`[{"name":"a","type":"custom_attribute","match":"gt","value":"5"}]`:          "gt needs a finite number",
		`[{"name":"a","type":"custom_attribute","match":"gt","value":1e300}]`:        "gt needs a finite number",
		`[{"name":"a","type":"custom_attribute","match":"substring","value":1}]`:     "substring needs a string",
		`[{"name":"a","type":"custom_attribute","match":"semver_ge","value":"1.x"}]`: "semver_ge needs a version",
		`[{"name":"a","type":"custom_attribute","value":null}]`:                      "exact needs",
		`["and", 5]`: "[1]: unexpected number",
		`{"a":`:      "not valid JSON",
	}
	for in, wantMsg := range cases {
		_, err := ParseConditions([]byte(in), Strict)
		if err == nil || !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("ParseConditions(%s) error = %v, want it to contain %q", in, err, wantMsg)
		}
		if _, err := ParseConditions([]byte(in), Lenient); err != nil && !strings.Contains(err.Error(), "JSON") {
			t.Errorf("lenient ParseConditions(%s) = %v, want it accepted as unknown", in, err)
		}
	}
	for in, wantMsg := range map[string]string{`["and", "12", "x1"]`: `[2]: audience id "x1"`, `[{"id":1}]`: "[0]: expected an audience id"} {
		if _, err := ParseAudienceConditions([]byte(in), Strict); err == nil || !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("ParseAudienceConditions(%s) error = %v, want %q", in, err, wantMsg)
		}
	}
}

func TestParse_LimitsAreRejectedUpFront(t *testing.T) {
	leaf := `{"name":"a","type":"custom_attribute","match":"exists"}`
	deep := strings.Repeat(`["and",`, MaxDepth+1) + leaf + strings.Repeat(`]`, MaxDepth+1)
	for _, mode := range []Mode{Strict, Lenient} {
		if _, err := ParseConditions([]byte(deep), mode); err == nil || !strings.Contains(err.Error(), "nested deeper") {
			t.Errorf("depth %d accepted (mode %d): %v", MaxDepth+1, mode, err)
		}
		wide := `["or"` + strings.Repeat(","+leaf, MaxNodes) + `]`
		if _, err := ParseConditions([]byte(wide), mode); err == nil || !strings.Contains(err.Error(), "more than") {
			t.Errorf("%d nodes accepted (mode %d): %v", MaxNodes+1, mode, err)
		}
	}
	ok := strings.Repeat(`["and",`, MaxDepth) + leaf + strings.Repeat(`]`, MaxDepth)
	if _, err := ParseConditions([]byte(ok), Strict); err != nil {
		t.Errorf("depth %d rejected: %v", MaxDepth, err)
	}
}

func TestMarshalJSON_IsCanonicalAndEquivalent(t *testing.T) {
	in := `[{"name":"a","type":"custom_attribute","value":"x"}, ["not", {"name":"b","type":"custom_attribute","match":"exists"}]]`
	tree, err := ParseConditions([]byte(in), Strict)
	if err != nil {
		t.Fatal(err)
	}
	want := `["or",{"match":"exact","name":"a","type":"custom_attribute","value":"x"},["not",{"match":"exists","name":"b","type":"custom_attribute","value":null}]]`
	if got := tree.String(); got != want {
		t.Fatalf("canonical = %s\nwant        %s", got, want)
	}
	again, err := ParseConditions([]byte(tree.String()), Strict)
	if err != nil || again.String() != want {
		t.Fatalf("canonical form does not round-trip: %v %s", err, again)
	}
	if got := tree.AttributeNames(); fmt.Sprint(got) != "[a b]" {
		t.Errorf("AttributeNames = %v", got)
	}
	combo, _ := ParseAudienceConditions([]byte(`["and", "3", ["or", "4", "3"]]`), Strict)
	if got := combo.AudienceIDs(); fmt.Sprint(got) != "[3 4]" {
		t.Errorf("AudienceIDs = %v", got)
	}
}

func BenchmarkEvaluate(b *testing.B) {
	tree, err := ParseConditions([]byte(`["and",
		{"name":"country","type":"custom_attribute","match":"exact","value":"US"},
		["or", {"name":"age","type":"custom_attribute","match":"ge","value":18},
		       {"name":"app","type":"custom_attribute","match":"semver_ge","value":"2.1.0"}]]`), Strict)
	if err != nil {
		b.Fatal(err)
	}
	attrs := map[string]any{"country": "US", "age": 17.0, "app": "2.3.1-beta"}
	b.ReportAllocs()
	for b.Loop() {
		tree.Evaluate(attrs, nil)
	}
}
