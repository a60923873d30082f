package sdk

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	v4 "github.com/liftlabs/lift/pkg/datafile"
)

// agentWriter renders Agent's decide JSON straight into a pooled buffer:
// the same bytes encoding/json writes for go-sdk's OptimizelyDecision
// (fields in its order, map keys sorted, HTML-safe escaping), without
// reflection, maps or a buffer per request. The user context is encoded
// once per request and repeated in every decision, as Agent does.
type agentWriter struct {
	buf   []byte
	user  []byte // the encoded userContext object
	first bool   // no decision written yet into the list
}

var agentBuffers = sync.Pool{New: func() any { return &agentWriter{buf: make([]byte, 0, 1024)} }}

func newAgentWriter(body decideBody) *agentWriter {
	a := agentBuffers.Get().(*agentWriter)
	a.buf, a.first = a.buf[:0], true
	a.user = append(a.user[:0], `{"userId":`...)
	a.user = appendJSONString(a.user, body.UserID)
	a.user = append(a.user, `,"attributes":`...)
	// Attributes are whatever JSON the caller sent: encoding/json renders
	// the decoded map exactly as Agent's would.
	attrs, err := json.Marshal(body.UserAttributes)
	if err != nil {
		attrs = []byte("{}") // unreachable: decoded JSON always encodes
	}
	a.user = append(a.user, attrs...)
	a.user = append(a.user, '}')
	return a
}

func (a *agentWriter) release() {
	if cap(a.buf) <= 64<<10 { // do not keep a huge answer's buffer around
		agentBuffers.Put(a)
	}
}

func (a *agentWriter) openList()  { a.buf = append(a.buf, '[') }
func (a *agentWriter) closeList() { a.buf = append(a.buf, ']') }

func (a *agentWriter) decision(d agentDecision) {
	if !a.first {
		a.buf = append(a.buf, ',')
	}
	a.first = false
	b := append(a.buf, `{"variationKey":`...)
	b = appendJSONString(b, d.variationKey)
	b = append(b, `,"enabled":`...)
	b = strconv.AppendBool(b, d.enabled)
	b = append(b, `,"ruleKey":`...)
	b = appendJSONString(b, d.ruleKey)
	b = append(b, `,"flagKey":`...)
	b = appendJSONString(b, d.flagKey)
	b = append(b, `,"userContext":`...)
	b = append(b, a.user...)
	b = append(b, `,"reasons":[`...)
	for i, r := range d.reasons {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, r)
	}
	b = append(b, ']')
	if len(d.variables) > 0 {
		b = append(b, `,"variables":{`...)
		for n, i := range sortedByKey(d.variables) {
			if n > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, d.variables[i].Key)
			b = append(b, ':')
			b = appendJSONValue(b, d.typed[i])
		}
		b = append(b, '}')
	}
	a.buf = append(b, '}')
}

func (a *agentWriter) writeTo(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(a.buf)
}

// sortedByKey is the variables' indexes in key order (encoding/json sorts
// map keys); flags have a handful of variables.
func sortedByKey(vars []v4.FlagVariable) []int {
	idx := make([]int, len(vars))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(x, y int) int {
		switch {
		case vars[x].Key < vars[y].Key:
			return -1
		case vars[x].Key > vars[y].Key:
			return 1
		}
		return 0
	})
	return idx
}

func appendJSONValue(b []byte, v any) []byte {
	switch v := v.(type) {
	case string:
		return appendJSONString(b, v)
	case bool:
		return strconv.AppendBool(b, v)
	case int:
		return strconv.AppendInt(b, int64(v), 10)
	}
	enc, err := json.Marshal(v) // float64 and JSON objects: encoding/json's formatting
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, enc...)
}

// appendJSONString quotes s as encoding/json does; strings needing any
// escape (control characters, quotes, backslashes, HTML characters,
// non-ASCII) go through encoding/json itself, so the output is identical.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= utf8.RuneSelf {
			enc, _ := json.Marshal(s)
			return append(b, enc...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
