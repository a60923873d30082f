package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/liftlabs/lift/gateway/gatewaytest"
	"github.com/liftlabs/lift/proto"
	optionsv1 "github.com/liftlabs/lift/proto/gen/go/lift/options/v1"
	"google.golang.org/grpc/codes"
)

// schema is the part of a Swagger 2.0 schema the mass-assignment test reads.
type schema struct {
	Ref        string             `json:"$ref"`
	Type       string             `json:"type"`
	Format     string             `json:"format"`
	ReadOnly   bool               `json:"readOnly"`
	Enum       []string           `json:"enum"`
	Items      *schema            `json:"items"`
	Properties map[string]*schema `json:"properties"`
}

type swaggerDoc struct {
	Paths map[string]map[string]struct {
		OperationID string `json:"operationId"`
		Parameters  []struct {
			Name   string  `json:"name"`
			In     string  `json:"in"`
			Schema *schema `json:"schema"`
		} `json:"parameters"`
	} `json:"paths"`
	Definitions map[string]*schema `json:"definitions"`
}

// openAPI decodes proto.OpenAPIv2, the document the gateway serves.
func openAPI(t *testing.T) *swaggerDoc {
	t.Helper()
	var doc swaggerDoc
	if err := json.Unmarshal(proto.OpenAPIv2, &doc); err != nil {
		t.Fatalf("OpenAPI document: %v", err)
	}
	return &doc
}

func (d *swaggerDoc) resolve(s *schema) *schema {
	for s != nil && s.Ref != "" {
		s = d.Definitions[strings.TrimPrefix(s.Ref, "#/definitions/")]
	}
	return s
}

// planted is an output-only field set by the client: where, and to what.
type planted struct {
	path  []string // JSON path; "*" stands for every element of an array
	value any
}

func (p planted) String() string { return strings.Join(p.path, ".") }

// plant sets every output-only (readOnly) property of s in body, down
// through the objects and arrays of objects body already holds, to a value
// Lift would never produce itself (another account's ids where ids are
// asked for), and returns what it planted.
func (d *swaggerDoc) plant(s *schema, body map[string]any, other *tenant, at []string) []planted {
	s = d.resolve(s)
	var out []planted
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		p := s.Properties[name]
		path := append(append([]string{}, at...), name)
		if p.ReadOnly {
			v := d.bogus(name, p, other)
			body[name] = v
			out = append(out, planted{path: path, value: v})
			continue
		}
		switch cur := body[name].(type) {
		case map[string]any:
			out = append(out, d.plant(p, cur, other, path)...)
		case []any:
			for _, el := range cur {
				if m, ok := el.(map[string]any); ok && p.Items != nil {
					for _, pl := range d.plant(p.Items, m, other, append(path, "*")) {
						if !containsPlanted(out, pl) {
							out = append(out, pl)
						}
					}
				}
			}
		}
	}
	return out
}

func containsPlanted(ps []planted, p planted) bool {
	for _, x := range ps {
		if x.String() == p.String() {
			return true
		}
	}
	return false
}

// bogus is a value for an output-only property that Lift would not have
// chosen: the other account's id for account and project ids, a far-away
// id, a time in 2001, a non-default enum value.
func (d *swaggerDoc) bogus(name string, p *schema, other *tenant) any {
	switch name {
	case "accountId":
		return other.accountID
	case "projectId":
		return other.project
	}
	r := d.resolve(p)
	switch {
	case len(r.Enum) > 0:
		return r.Enum[len(r.Enum)-1]
	case r.Type == "array":
		if it := d.resolve(r.Items); it != nil && len(it.Properties) > 0 {
			return []any{d.bogusObject(it, other)}
		}
		return []any{"999999"}
	case len(r.Properties) > 0:
		return d.bogusObject(r, other)
	case r.Type == "integer":
		return 4321
	case r.Format == "date-time":
		return "2001-02-03T04:05:06Z"
	case name == "id" || strings.HasSuffix(name, "Id"):
		return "999999"
	}
	return "planted-by-client"
}

func (d *swaggerDoc) bogusObject(s *schema, other *tenant) map[string]any {
	m := map[string]any{}
	for n, p := range s.Properties {
		m[n] = d.bogus(n, p, other)
	}
	return m
}

// lookup returns the values at path in v ("*" fans out over arrays).
func lookup(v any, path []string) []any {
	if len(path) == 0 {
		return []any{v}
	}
	switch x := v.(type) {
	case map[string]any:
		if path[0] == "*" {
			return nil
		}
		if next, ok := x[path[0]]; ok {
			return lookup(next, path[1:])
		}
	case []any:
		if path[0] == "*" {
			var out []any
			for _, el := range x {
				out = append(out, lookup(el, path[1:])...)
			}
			return out
		}
	}
	return nil
}

// TestMassAssignment sends every create and update body of the OpenAPI
// document with all its output-only fields (ids, account and project,
// times, status, SDK keys, layer ranges, …) planted, and with update masks
// naming them: each answer is a 400 or a success that stored none of
// them, as a read-back proves. Creates also plant an etag.
func TestMassAssignment(t *testing.T) {
	s := newSecurityStack(t)
	a, b := s.a, s.b
	doc := openAPI(t)
	ops := apiOperations(t)
	checked := 0
	for _, op := range ops {
		if op.method != "POST" && op.method != "PATCH" {
			continue
		}
		var body *schema
		for _, p := range doc.Paths[op.path][strings.ToLower(op.method)].Parameters {
			if p.In == "body" {
				body = p.Schema
			}
		}
		if body == nil || op.access == optionsv1.Access_ACCESS_PUBLIC {
			continue
		}
		sample, _ := sampleBody(op, a).(map[string]any)
		if sample == nil {
			sample = map[string]any{}
		}
		sample = deepCopy(sample)
		plants := doc.plant(body, sample, b, nil)
		if len(plants) == 0 {
			continue
		}
		resolved := doc.resolve(body)
		if _, ok := resolved.Properties["etag"]; ok && op.method == "POST" {
			sample["etag"] = "424242"
			plants = append(plants, planted{path: []string{"etag"}, value: "424242"})
		}
		checked++
		t.Run(op.String(), func(t *testing.T) {
			path, err := fill(op, a)
			if err != nil {
				t.Fatal(err)
			}
			tries := []string{path}
			if op.method == "PATCH" {
				var mask []string
				for _, p := range plants {
					if len(p.path) == 1 {
						mask = append(mask, p.path[0])
					}
				}
				tries = append(tries, path+","+strings.Join(mask, ","))
			}
			for _, u := range tries {
				resp := s.gw.Do(t, op.method, u, a.admin, sample)
				if resp.Status == http.StatusBadRequest {
					wantError(t, resp, http.StatusBadRequest, codes.InvalidArgument, "")
					t.Logf("%s: rejected: %s", u, resp.Error(t).GetMessage())
					continue
				}
				if resp.Status >= 300 {
					t.Fatalf("%s: status %d, want 400 or success; body %s", u, resp.Status, resp.Body)
				}
				stored := readBack(t, s, op, u, a, resp)
				t.Logf("%s: %d, planted %v, stored none of them", u, resp.Status, plants)
				for _, p := range plants {
					for _, got := range lookup(stored, p.path) {
						if reflect.DeepEqual(got, p.value) || fmt.Sprint(got) == fmt.Sprint(p.value) {
							t.Errorf("%s %s: output-only %s was stored as sent (%v); stored %v", op.method, u, p, p.value, stored)
						}
					}
				}
			}
		})
	}
	if checked < 8 {
		t.Fatalf("only %d create/update operations have output-only fields: the document is not being read right", checked)
	}
	if after := s.snapshot(t, b); !strings.Contains(after, b.project) {
		t.Fatalf("account B's project is gone: %s", after)
	}
	t.Logf("mass assignment: %d create/update operations, every output-only field planted, none stored", checked)
}

// readBack returns the stored resource of a successful create or update:
// a GET of its Location (creates) or of its own path (updates); where there
// is nothing to GET (environments are only listed), the response itself.
func readBack(t *testing.T, s *securityStack, op operation, u string, tn *tenant, resp *gatewaytest.Response) map[string]any {
	t.Helper()
	var env map[string]any
	resp.JSON(t, &env)
	get, _, _ := strings.Cut(u, "?")
	if op.method == "POST" {
		get = resp.Header.Get("Location")
	}
	if get != "" {
		if r := s.gw.Do(t, "GET", get, tn.admin, nil); r.Status == http.StatusOK {
			var out map[string]any
			r.JSON(t, &out)
			return single(t, out)
		}
	}
	return single(t, env)
}

// single unwraps {"resource": {...}}.
func single(t *testing.T, env map[string]any) map[string]any {
	t.Helper()
	for k, v := range env {
		if m, ok := v.(map[string]any); ok && k != "secret" {
			return m
		}
	}
	t.Fatalf("no resource in %v", env)
	return nil
}

func deepCopy(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}
