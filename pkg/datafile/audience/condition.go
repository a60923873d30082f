package audience

import (
	"fmt"
	"math"
	"strings"
)

// CustomAttribute is the only condition type the SDKs evaluate against user
// attributes.
const CustomAttribute = "custom_attribute"

type match uint8

const (
	matchUnknown match = iota
	matchExact
	matchExists
	matchSubstring
	matchGT
	matchGE
	matchLT
	matchLE
	matchSemverEQ
	matchSemverGT
	matchSemverGE
	matchSemverLT
	matchSemverLE
)

var matchNames = map[string]match{
	"exact": matchExact, "exists": matchExists, "substring": matchSubstring,
	"gt": matchGT, "ge": matchGE, "lt": matchLT, "le": matchLE,
	"semver_eq": matchSemverEQ, "semver_gt": matchSemverGT, "semver_ge": matchSemverGE,
	"semver_lt": matchSemverLT, "semver_le": matchSemverLE,
}

func (m match) numeric() bool { return m >= matchGT && m <= matchLE }
func (m match) semver() bool  { return m >= matchSemverEQ }

// maxSafeNumber is the largest magnitude the SDKs compare: beyond 2^53 a
// float64 no longer holds every integer.
const maxSafeNumber = 1 << 53

type valueKind uint8

const (
	valueOther valueKind = iota
	valueString
	valueNumber
	valueBool
)

// condition is one leaf, with its value decoded once at parse time.
type condition struct {
	name      string
	typ       string
	matchName string // as written; "" when absent
	match     match
	value     any
	// invalid: the leaf could not be read at all (e.g. a non-string name).
	invalid bool

	kind   valueKind
	str    string
	num    float64
	boolv  bool
	target version // parsed semver target; target.ok false when malformed
}

var conditionKeys = map[string]bool{"name": true, "type": true, "match": true, "value": true}

func parseCondition(m map[string]any, path string, mode Mode) (*condition, error) {
	strict := mode == Strict
	fail := func(format string, args ...any) (*condition, error) {
		return nil, &Error{Path: path, Msg: fmt.Sprintf(format, args...)}
	}
	c := &condition{value: m["value"], match: matchExact}
	if strict {
		for k := range m {
			if !conditionKeys[k] {
				return fail("unknown key %q in condition", k)
			}
		}
	}
	name, ok := m["name"].(string)
	switch {
	case ok && (!strict || (name != "" && len(name) <= maxNameLen)):
		c.name = name
	case strict:
		return fail("name must be a string of 1 to %d characters", maxNameLen)
	default:
		c.invalid = true
	}
	typ, _ := m["type"].(string)
	if strict && typ != CustomAttribute {
		return fail("type must be %q", CustomAttribute)
	}
	c.typ = typ
	switch mv := m["match"].(type) {
	case nil:
	case string:
		c.matchName = mv
		if c.match = matchNames[mv]; c.match == matchUnknown && strict {
			return fail("unknown match type %q", mv)
		}
	default:
		if strict {
			return fail("match must be a string")
		}
		c.match = matchUnknown
	}

	switch v := c.value.(type) {
	case string:
		c.kind, c.str = valueString, v
		c.target = parseVersion(v)
	case bool:
		c.kind, c.boolv = valueBool, v
	default:
		if f, ok := toNumber(v); ok {
			c.kind, c.num = valueNumber, f
		}
	}
	if strict {
		if err := c.checkValue(); err != "" {
			return fail("%s", err)
		}
	}
	return c, nil
}

// checkValue says what is wrong with the value for the match type, or "".
func (c *condition) checkValue() string {
	finite := c.kind == valueNumber && safeNumber(c.num)
	switch {
	case c.match == matchExists:
	case c.match == matchExact:
		if c.kind != valueString && c.kind != valueBool && !finite {
			return "exact needs a string, boolean or finite number value"
		}
	case c.match.numeric():
		if !finite {
			return fmt.Sprintf("%s needs a finite number value (at most 2^53 in magnitude)", c.matchName)
		}
	case c.match == matchSubstring:
		if c.kind != valueString {
			return "substring needs a string value"
		}
	case c.match.semver():
		if c.kind != valueString || !c.target.ok {
			return fmt.Sprintf("%s needs a version string such as \"1.2.3\" or \"2.0.0-beta\"", c.matchName)
		}
	}
	return ""
}

func (c *condition) canonical() map[string]any {
	m := c.matchName
	if m == "" {
		m = "exact"
	}
	return map[string]any{"name": c.name, "type": c.typ, "match": m, "value": c.value}
}

// evaluate applies the condition to the user's attributes with the SDKs'
// rules: a missing or null attribute, or one whose type does not fit the
// match, is unknown; only "exists" answers false for it.
func (c *condition) evaluate(attrs map[string]any) Result {
	if c.invalid || c.typ != CustomAttribute || c.match == matchUnknown {
		return Unknown
	}
	v, present := attrs[c.name]
	if c.match == matchExists {
		return result(present && v != nil)
	}
	if !present || v == nil {
		return Unknown
	}
	switch {
	case c.match == matchExact:
		return c.exact(v)
	case c.match.numeric():
		if c.kind != valueNumber || !safeNumber(c.num) {
			return Unknown
		}
		f, ok := toNumber(v)
		if !ok || !safeNumber(f) {
			return Unknown
		}
		switch c.match {
		case matchGT:
			return result(f > c.num)
		case matchGE:
			return result(f >= c.num)
		case matchLT:
			return result(f < c.num)
		}
		return result(f <= c.num)
	case c.match == matchSubstring:
		s, ok := v.(string)
		if !ok || c.kind != valueString {
			return Unknown
		}
		return result(strings.Contains(s, c.str))
	}
	return c.semver(v)
}

func (c *condition) exact(v any) Result {
	switch c.kind {
	case valueString:
		s, ok := v.(string)
		if !ok {
			return Unknown
		}
		return result(s == c.str)
	case valueBool:
		b, ok := v.(bool)
		if !ok {
			return Unknown
		}
		return result(b == c.boolv)
	case valueNumber:
		f, ok := toNumber(v)
		if !safeNumber(c.num) || !ok || !safeNumber(f) {
			return Unknown
		}
		return result(f == c.num)
	}
	return Unknown
}

func (c *condition) semver(v any) Result {
	s, ok := v.(string)
	if c.kind != valueString || !ok || !c.target.ok {
		return Unknown
	}
	user := parseVersion(s)
	if !user.ok {
		return Unknown
	}
	cmp := compareVersions(&c.target, &user)
	switch c.match {
	case matchSemverEQ:
		return result(cmp == 0)
	case matchSemverGT:
		return result(cmp > 0)
	case matchSemverGE:
		return result(cmp >= 0)
	case matchSemverLT:
		return result(cmp < 0)
	}
	return result(cmp <= 0)
}

func result(b bool) Result {
	if b {
		return True
	}
	return False
}

// toNumber reads a JSON or Go number; booleans are not numbers.
func toNumber(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case int:
		return float64(n), true
	case int8:
		return float64(n), true
	case int16:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint8:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	}
	return 0, false
}

// safeNumber is the SDKs' "finite number": not NaN, not infinite, |x| ≤ 2^53.
func safeNumber(f float64) bool {
	return !math.IsNaN(f) && math.Abs(f) <= maxSafeNumber
}
