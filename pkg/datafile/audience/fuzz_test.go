package audience

import (
	"encoding/json"
	"testing"
)

// FuzzEvaluate feeds arbitrary condition JSON and attributes through both
// parsers and the evaluator: nothing may panic, limits must hold, strict
// trees must be accepted leniently with the same canonical form, and the
// canonical form must evaluate exactly like the original.
func FuzzEvaluate(f *testing.F) {
	seeds := []struct{ cond, attrs string }{
		{`["and", {"name":"a","type":"custom_attribute","match":"exact","value":"x"}]`, `{"a":"x"}`},
		{`["or", ["not", {"name":"n","type":"custom_attribute","match":"gt","value":3}], {"name":"b","type":"custom_attribute","match":"exists"}]`, `{"n":4}`},
		{`[{"name":"v","type":"custom_attribute","match":"semver_lt","value":"2.0.0-beta+1"}]`, `{"v":"1.9.9"}`},
		{`[{"name":"s","type":"custom_attribute","match":"substring","value":"bc"}]`, `{"s":"abcd"}`},
		{`["not"]`, `{}`},
		{`["and", "or", 5, null, true]`, `{"a":null}`},
		{`{"name":"x","type":"custom_attribute","value":9007199254740993}`, `{"x":9007199254740993}`},
		{`[[[[[[[]]]]]]]`, `{}`},
	}
	for _, s := range seeds {
		f.Add([]byte(s.cond), []byte(s.attrs))
	}
	f.Fuzz(func(t *testing.T, cond, attrsJSON []byte) {
		var attrs map[string]any
		if json.Unmarshal(attrsJSON, &attrs) != nil {
			attrs = nil
		}
		lenient, err := ParseConditions(cond, Lenient)
		if err != nil {
			return
		}
		r := lenient.Evaluate(attrs, nil)
		if r != True && r != False && r != Unknown {
			t.Fatalf("result %d", r)
		}
		if lenient == nil {
			return
		}
		canon, err := lenient.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseConditions(canon, Lenient)
		if err != nil {
			t.Fatalf("canonical form %s rejected: %v", canon, err)
		}
		if r2 := again.Evaluate(attrs, nil); r2 != r {
			t.Fatalf("canonical %s evaluates to %v, original %s to %v", canon, r2, cond, r)
		}
		if strict, err := ParseConditions(cond, Strict); err == nil && strict.String() != lenient.String() {
			t.Fatalf("strict and lenient trees differ: %s vs %s", strict, lenient)
		}
	})
}
