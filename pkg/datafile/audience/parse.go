package audience

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
)

// Mode says how strictly a tree is checked when it is parsed.
type Mode int

const (
	// Lenient accepts anything the SDKs accept and makes what they cannot
	// evaluate unknown, as they do: used for datafiles and fuzzing.
	Lenient Mode = iota
	// Strict rejects every tree a user should not be able to save: unknown
	// operators, condition types, match types or keys, values of the wrong
	// type for their match, malformed version strings.
	Strict
)

// Error is a tree rejected by parsing; Path points into the JSON, e.g.
// "[2][1].match".
type Error struct {
	Path string
	Msg  string
}

func (e *Error) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
}

// audienceIDPattern is the form of Lift's audience ids (numeric strings, as
// the datafile requires).
var audienceIDPattern = regexp.MustCompile(`^[0-9]{1,19}$`)

// maxNameLen bounds attribute names in strict mode.
const maxNameLen = 256

// ParseConditions parses the conditions of one audience: operator lists over
// leaf conditions ({"name", "type", "match", "value"}). Empty input or JSON
// null gives a nil tree, which matches everyone.
func ParseConditions(raw []byte, mode Mode) (*Node, error) {
	return parseRaw(raw, mode, false)
}

// ParseAudienceConditions parses an experiment's audience combination:
// operator lists over audience ids.
func ParseAudienceConditions(raw []byte, mode Mode) (*Node, error) {
	return parseRaw(raw, mode, true)
}

// ParseConditionsValue is ParseConditions for an already decoded JSON value
// (as found in a datafile's typedAudiences).
func ParseConditionsValue(v any, mode Mode) (*Node, error) {
	if v == nil {
		return nil, nil
	}
	p := parser{mode: mode}
	return p.parse(v, "", 0)
}

// ParseAudienceConditionsValue is ParseAudienceConditions for a decoded value.
func ParseAudienceConditionsValue(v any, mode Mode) (*Node, error) {
	if v == nil {
		return nil, nil
	}
	p := parser{mode: mode, audiences: true}
	return p.parse(v, "", 0)
}

func parseRaw(raw []byte, mode Mode, audiences bool) (*Node, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, &Error{Msg: "not valid JSON: " + err.Error()}
	}
	if v == nil {
		return nil, nil
	}
	p := parser{mode: mode, audiences: audiences}
	return p.parse(v, "", 0)
}

type parser struct {
	mode Mode
	// audiences: leaves are audience ids, not conditions.
	audiences bool
	nodes     int
}

func (p *parser) strict() bool { return p.mode == Strict }

func (p *parser) parse(v any, path string, depth int) (*Node, error) {
	p.nodes++
	if p.nodes > MaxNodes {
		return nil, &Error{Path: path, Msg: fmt.Sprintf("tree has more than %d nodes", MaxNodes)}
	}
	switch v := v.(type) {
	case []any:
		return p.parseList(v, path, depth)
	case map[string]any:
		if p.audiences {
			return p.invalid(v, path, "expected an audience id or an operator list, got an object")
		}
		c, err := parseCondition(v, path, p.mode)
		if err != nil {
			return nil, err
		}
		return &Node{kind: kindCondition, cond: c}, nil
	case string:
		if !p.audiences {
			return p.invalid(v, path, fmt.Sprintf("unexpected string %q (operators come first in a list)", v))
		}
		if p.strict() && !audienceIDPattern.MatchString(v) {
			return nil, &Error{Path: path, Msg: fmt.Sprintf("audience id %q is not a numeric string", v)}
		}
		return &Node{kind: kindAudience, audienceID: v}, nil
	}
	return p.invalid(v, path, fmt.Sprintf("unexpected %s", jsonType(v)))
}

func (p *parser) parseList(list []any, path string, depth int) (*Node, error) {
	if depth >= MaxDepth {
		return nil, &Error{Path: path, Msg: fmt.Sprintf("nested deeper than %d levels", MaxDepth)}
	}
	n := &Node{kind: kindOr}
	rest := list
	if len(list) > 0 {
		if s, ok := list[0].(string); ok {
			if k, ok := isOperator(s); ok {
				n.kind, rest = k, list[1:]
			}
		}
	}
	if p.strict() {
		switch {
		case len(list) == 0:
			return nil, &Error{Path: path, Msg: "empty list"}
		case n.kind == kindNot && len(rest) != 1:
			return nil, &Error{Path: path, Msg: `"not" takes exactly one operand`}
		case len(rest) == 0:
			return nil, &Error{Path: path, Msg: "operator without operands"}
		}
	}
	offset := len(list) - len(rest)
	n.children = make([]*Node, 0, len(rest))
	for i, item := range rest {
		c, err := p.parse(item, fmt.Sprintf("%s[%d]", path, i+offset), depth+1)
		if err != nil {
			return nil, err
		}
		n.children = append(n.children, c)
	}
	return n, nil
}

// invalid rejects an operand in strict mode and keeps it as an unknown
// leaf in lenient mode.
func (p *parser) invalid(v any, path, msg string) (*Node, error) {
	if p.strict() {
		return nil, &Error{Path: path, Msg: msg}
	}
	return &Node{kind: kindInvalid, raw: v}, nil
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64, json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "list"
	}
	return "object"
}
