package audience

// Evaluate applies the tree to a user's attributes (JSON-typed values:
// string, float64 or another Go number, bool, nil). Audience references are
// looked up in audiences; an unknown audience is Unknown. A nil tree matches
// everyone.
func (n *Node) Evaluate(attrs map[string]any, audiences map[string]*Node) Result {
	if n == nil {
		return True
	}
	return n.eval(attrs, audiences)
}

// Matches is the final answer the SDKs act on: unknown counts as no match.
func (n *Node) Matches(attrs map[string]any, audiences map[string]*Node) bool {
	return n.Evaluate(attrs, audiences) == True
}

func (n *Node) eval(attrs map[string]any, audiences map[string]*Node) Result {
	switch n.kind {
	case kindAnd:
		r := True
		for _, c := range n.children {
			switch c.eval(attrs, audiences) {
			case False:
				return False
			case Unknown:
				r = Unknown
			}
		}
		return r
	case kindOr:
		r := False
		for _, c := range n.children {
			switch c.eval(attrs, audiences) {
			case True:
				return True
			case Unknown:
				r = Unknown
			}
		}
		return r
	case kindNot:
		if len(n.children) == 0 {
			return Unknown
		}
		switch n.children[0].eval(attrs, audiences) {
		case True:
			return False
		case False:
			return True
		}
		return Unknown
	case kindCondition:
		return n.cond.evaluate(attrs)
	case kindAudience:
		a := audiences[n.audienceID]
		if a == nil {
			return Unknown
		}
		// Audiences hold conditions only, so nothing nests further.
		return a.eval(attrs, nil)
	}
	return Unknown
}
