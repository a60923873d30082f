// Package audience evaluates Optimizely audience conditions (typed audiences
// and the audience-combination trees of experiments) with the SDKs'
// three-valued logic: a condition is true, false or unknown.
//
// Where the Optimizely SDKs disagree with each other, Lift follows the
// reference behaviour of the JavaScript and Python SDKs (whose test suites
// are the published specification):
//   - "and" is Kleene: false wins over unknown. go-sdk v2.3.1 instead stops at
//     the first unknown operand, so not(and(unknown, false)) differs there.
//   - semver: a release user version is greater than a pre-release or build
//     target of the same numbers (user "2.9.9" > target "2.9.9-beta");
//     go-sdk v2.3.1 says less.
//   - numbers beyond ±2^53, NaN and infinities are unknown, as in the JS and
//     Python SDKs; go-sdk v2.3.1 compares them.
package audience

import "encoding/json"

// Result is the outcome of evaluating a condition: the SDKs' true, false and
// null ("unknown", e.g. a missing attribute or a mistyped value).
type Result int8

const (
	// Unknown means the condition could not be evaluated.
	Unknown Result = iota
	// False means the user does not match.
	False
	// True means the user matches.
	True
)

func (r Result) String() string {
	switch r {
	case True:
		return "true"
	case False:
		return "false"
	}
	return "unknown"
}

// Limits on a condition tree, checked before anything is evaluated so that a
// hostile tree cannot cost more than a bounded amount of work.
const (
	// MaxDepth is the deepest nesting of operator lists.
	MaxDepth = 16
	// MaxNodes is the most operators, conditions and audience references in
	// one tree.
	MaxNodes = 1000
)

type kind uint8

const (
	kindAnd kind = iota
	kindOr
	kindNot
	kindCondition
	kindAudience
	// kindInvalid is an operand the SDKs cannot evaluate (e.g. a number
	// where a condition belongs); lenient parsing keeps it as unknown.
	kindInvalid
)

// Node is a parsed condition tree: an operator over operands, a leaf
// condition on one attribute, or a reference to an audience by id.
type Node struct {
	kind       kind
	children   []*Node
	cond       *condition
	audienceID string
	// raw keeps an invalid operand as it was, for re-serialisation.
	raw any
}

// AudienceIDs lists the audience ids a combination tree refers to, in order
// of appearance, without duplicates.
func (n *Node) AudienceIDs() []string {
	var ids []string
	seen := map[string]bool{}
	var walk func(*Node)
	walk = func(n *Node) {
		if n.kind == kindAudience && !seen[n.audienceID] {
			seen[n.audienceID] = true
			ids = append(ids, n.audienceID)
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(n)
	return ids
}

// AttributeNames lists the attribute names the conditions of a tree test,
// in order of appearance, without duplicates.
func (n *Node) AttributeNames() []string {
	var names []string
	seen := map[string]bool{}
	var walk func(*Node)
	walk = func(n *Node) {
		if n.kind == kindCondition && !seen[n.cond.name] {
			seen[n.cond.name] = true
			names = append(names, n.cond.name)
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(n)
	return names
}

// MarshalJSON writes the tree in canonical Optimizely form: every operator
// list starts with its operator ("or" made explicit) and every condition
// names its match type. The SDKs evaluate the canonical form exactly as the
// original.
func (n *Node) MarshalJSON() ([]byte, error) {
	return json.Marshal(n.canonical())
}

func (n *Node) canonical() any {
	switch n.kind {
	case kindAnd, kindOr, kindNot:
		out := make([]any, 0, len(n.children)+1)
		out = append(out, [...]string{"and", "or", "not"}[n.kind])
		for _, c := range n.children {
			out = append(out, c.canonical())
		}
		return out
	case kindCondition:
		return n.cond.canonical()
	case kindAudience:
		return n.audienceID
	}
	return n.raw
}

// String is the canonical JSON of the tree.
func (n *Node) String() string {
	b, err := n.MarshalJSON()
	if err != nil {
		return "<invalid>"
	}
	return string(b)
}

// isOperator reports whether s names an operator in a condition list.
func isOperator(s string) (kind, bool) {
	switch s {
	case "and":
		return kindAnd, true
	case "or":
		return kindOr, true
	case "not":
		return kindNot, true
	}
	return 0, false
}
