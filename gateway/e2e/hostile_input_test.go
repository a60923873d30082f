package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	optionsv1 "github.com/liftlabs/lift/proto/gen/go/lift/options/v1"
	"google.golang.org/grpc/codes"
)

// hostileStrings are what an attacker or a careless client puts in text
// fields. invalidUTF8 is sent as raw bytes (JSON encoders would repair it).
var hostileStrings = []struct{ name, value string }{
	{"quotes", `O'Brien said "hi" \ and ` + "`ran`"},
	{"sql", `'; DROP TABLE projects; --`},
	{"nul", "before\x00after"},
	{"controls", "line1\r\nline2\ttab\x1b[31m"},
	{"10k chars", strings.Repeat("x", 10000)},
	{"rtl and emoji", "\u202eevil\u202c עברית 🚀👩‍👩‍👧 e\u0301"},
	{"markup", `<script>alert(1)</script>{{.}}${x}%s%n`},
	{"invalid utf-8", "bad\xff\xfebytes"},
}

// snake turns a JSON field name into its proto name (eventKey → event_key).
func snake(s string) string {
	var b strings.Builder
	for _, r := range s {
		if unicode.IsUpper(r) {
			b.WriteByte('_')
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
}

// textFields lists the client-settable string fields of a body schema: at
// the top, and in the first element of arrays of objects the sample holds
// (variations[0].name); output-only, enum, time and number-as-string fields
// are not text.
func textFields(d *swaggerDoc, s *schema, sample map[string]any) [][]string {
	s = d.resolve(s)
	var out [][]string
	for name, p := range s.Properties {
		r := d.resolve(p)
		switch {
		case p.ReadOnly || r == nil || len(r.Enum) > 0 || name == "etag":
		case r.Type == "string" && r.Format == "":
			out = append(out, []string{name})
		case r.Type == "array" && r.Items != nil:
			if arr, ok := sample[name].([]any); ok && len(arr) > 0 {
				if m, ok := arr[0].(map[string]any); ok {
					for _, sub := range textFields(d, r.Items, m) {
						out = append(out, append([]string{name, "0"}, sub...))
					}
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.Join(out[i], ".") < strings.Join(out[j], ".") })
	return out
}

// setPath sets a value at a path of maps and arrays ("variations", "0", "name").
func setPath(m map[string]any, path []string, v any) {
	var cur any = m
	for i, k := range path {
		last := i == len(path)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[k] = v
				return
			}
			cur = c[k]
		case []any:
			var n int
			fmt.Sscan(k, &n)
			if last {
				c[n] = v
				return
			}
			cur = c[n]
		}
	}
}

func getPath(v any, path []string) (any, bool) {
	for _, k := range path {
		switch c := v.(type) {
		case map[string]any:
			v = c[k]
		case []any:
			var n int
			fmt.Sscan(k, &n)
			if n >= len(c) {
				return nil, false
			}
			v = c[n]
		default:
			return nil, false
		}
	}
	return v, v != nil
}

// TestHostileStrings sends quotes, SQL, NUL, control characters, 10,000
// characters, RTL and emoji, markup and invalid UTF-8 through every text
// field of every create of the OpenAPI document: each answer is a 400 that
// names the field, or a success whose stored value (read back) is
// byte-identical to what was sent. Nothing else (500s above all) is allowed.
func TestHostileStrings(t *testing.T) {
	s := newSecurityStack(t)
	a := s.a
	doc := openAPI(t)
	seq := 0
	var stored, rejected int
	for _, op := range apiOperations(t) {
		if op.method != "POST" || op.access == optionsv1.Access_ACCESS_PUBLIC || strings.Contains(op.path, ":") {
			continue // creates only: actions (":start", ":ingest") carry no stored text
		}
		var body *schema
		for _, p := range doc.Paths[op.path]["post"].Parameters {
			if p.In == "body" {
				body = p.Schema
			}
		}
		sample, _ := sampleBody(op, a).(map[string]any)
		if body == nil || sample == nil {
			continue
		}
		path, err := fill(op, a)
		if err != nil {
			t.Fatal(err)
		}
		for _, field := range textFields(doc, body, sample) {
			fieldName := strings.Join(field, ".")
			for _, h := range hostileStrings {
				t.Run(op.String()+"/"+fieldName+"/"+h.name, func(t *testing.T) {
					seq++
					req := deepCopy(sample)
					// Keys are unique: give each create its own.
					if _, ok := req["key"]; ok {
						req["key"] = fmt.Sprintf("hostile-%d", seq)
					}
					const marker = "\x01HOSTILE\x01"
					setPath(req, field, marker)
					raw, _ := json.Marshal(req)
					quoted, _ := json.Marshal(h.value)
					if !utf8.ValidString(h.value) {
						// encoding/json would repair it; send the bytes as they are
						// (the value needs no other escaping).
						quoted = []byte(`"` + h.value + `"`)
					}
					markerJSON, _ := json.Marshal(marker)
					raw = bytes.Replace(raw, markerJSON, quoted, 1)

					resp := s.gw.Do(t, "POST", path, a.admin, raw)
					if resp.Status == http.StatusBadRequest {
						wantError(t, resp, http.StatusBadRequest, codes.InvalidArgument, "")
						msg := resp.Error(t).GetMessage()
						named := slices.ContainsFunc(violations(t, resp), func(v string) bool { return strings.HasSuffix(v, snake(field[len(field)-1])) })
						if !named && !strings.Contains(msg, snake(field[len(field)-1])) && !strings.Contains(msg, field[len(field)-1]) &&
							!strings.Contains(strings.ToLower(msg), "utf-8") {
							t.Errorf("400 does not say what is wrong with %s: %s", fieldName, resp.Body)
						}
						rejected++
						return
					}
					if resp.Status != http.StatusCreated && resp.Status != http.StatusOK {
						t.Fatalf("status %d, want 400 or a success; body %s", resp.Status, resp.Body)
					}
					var env map[string]any
					resp.JSON(t, &env)
					got := single(t, env)
					if loc := resp.Header.Get("Location"); loc != "" {
						if r := s.gw.Do(t, "GET", loc, a.admin, nil); r.Status == http.StatusOK {
							var back map[string]any
							r.JSON(t, &back)
							got = single(t, back)
						}
					}
					v, _ := getPath(got, field)
					if v != h.value {
						t.Errorf("%s stored as %q, sent %q", fieldName, v, h.value)
					}
					stored++
				})
			}
		}
	}
	// Event batches are not stored as sent but their strings are: a NUL is a
	// 400 there too, on the typed route and in an SDK batch.
	t.Run("NUL in event batches", func(t *testing.T) {
		typed := typedBatch(a.eventKey, 1)
		typed["visitors"].([]any)[0].(map[string]any)["visitorId"] = "u\x00"
		wantError(t, s.gw.Do(t, "POST", "/v1/projects/"+a.project+"/events:ingest", a.write, typed), http.StatusBadRequest, codes.InvalidArgument, "")
		sdk := strings.Replace(optimizelyBatch(a.project, a.eventKey, 1), `"visitor_id":"u1"`, `"visitor_id":"u\u0000"`, 1)
		wantError(t, s.gw.Do(t, "POST", "/v1/events?sdk_key="+a.sdkKey, "", sdk), http.StatusBadRequest, codes.InvalidArgument, "MALFORMED_BATCH")
	})
	if stored == 0 || rejected == 0 {
		t.Fatalf("stored %d, rejected %d: the fields were not reached", stored, rejected)
	}
	t.Logf("hostile strings: %d stored byte-identical, %d rejected with a 400 naming the field", stored, rejected)
}
