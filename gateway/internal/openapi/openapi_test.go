package openapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/liftlabs/lift/proto"
	"github.com/santhosh-tekuri/jsonschema/v6"
)

// fetch serves path from a Documents built from the real generated
// document and returns the body.
func fetch(t *testing.T, h http.Handler) []byte {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	if rec.Code != 200 || rec.Header().Get("Content-Type") != "application/json" || rec.Header().Get("ETag") == "" {
		t.Fatalf("status %d, headers %v", rec.Code, rec.Header())
	}
	return rec.Body.Bytes()
}

func documents(t *testing.T) *Documents {
	t.Helper()
	d, err := New(proto.OpenAPIv2)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestV2_ValidSwagger checks /openapi.json against the official Swagger 2.0
// JSON Schema, a validator independent of the converter.
func TestV2_ValidSwagger(t *testing.T) {
	body := fetch(t, documents(t).V2())
	schemaJSON, err := os.ReadFile("testdata/swagger-2.0.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	schemaDoc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	const url = "http://swagger.io/v2/schema.json"
	if err := c.AddResource(url, schemaDoc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(url)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if err := sch.Validate(inst); err != nil {
		t.Fatalf("/openapi.json is not valid Swagger 2.0: %v", err)
	}
	// The same document, loaded by kin-openapi's OpenAPI 3 loader after an
	// independent conversion, is exercised by TestV3_Valid.
	var doc struct {
		SecurityDefinitions map[string]struct{ Type, In, Name string }
		Security            []map[string][]string
		Definitions         map[string]any
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		t.Fatal(err)
	}
	if b := doc.SecurityDefinitions["Bearer"]; b.In != "header" || b.Name != "Authorization" {
		t.Errorf("Bearer security definition = %+v", b)
	}
	if len(doc.Security) == 0 || doc.Security[0]["Bearer"] == nil {
		t.Errorf("Bearer is not required by default: %v", doc.Security)
	}
	if doc.Definitions["Status"] == nil {
		t.Errorf("no Status (error) schema in definitions")
	}
}

// TestV3_Valid loads /openapi.v3.json with kin-openapi's loader and
// validates it, then checks what clients rely on: the bearer scheme, the
// error schema on every operation, and every /v1 route.
func TestV3_Valid(t *testing.T) {
	body := fetch(t, documents(t).V3())
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("/openapi.v3.json is not valid OpenAPI 3: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	bearer := doc.Components.SecuritySchemes["Bearer"]
	if bearer == nil || bearer.Value.Type != "http" || bearer.Value.Scheme != "bearer" {
		t.Errorf("Bearer scheme = %+v", bearer)
	}
	if len(doc.Security) == 0 || doc.Security[0]["Bearer"] == nil {
		t.Errorf("Bearer is not required by default: %v", doc.Security)
	}
	status := doc.Components.Schemas["Status"]
	if status == nil {
		t.Fatal("no Status schema")
	}
	for _, f := range []string{"code", "message", "details"} {
		if status.Value.Properties[f] == nil {
			t.Errorf("Status schema lacks %q", f)
		}
	}
	ops := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops++
			def := op.Responses.Default()
			if def == nil || def.Value.Content.Get("application/json").Schema.Ref != "#/components/schemas/Status" {
				t.Errorf("%s %s: default response is not the Status schema", method, path)
			}
		}
	}
	// Every identity RPC with an HTTP rule (11 of them).
	if ops < 11 {
		t.Errorf("%d operations, want at least 11", ops)
	}
	if doc.Paths.Find("/v1/projects") == nil || doc.Paths.Find("/v1/accounts:bootstrap") == nil {
		t.Errorf("missing paths: %v", doc.Paths.InMatchingOrder())
	}
	// Bootstrap needs no token: its operation overrides security with [].
	boot := doc.Paths.Find("/v1/accounts:bootstrap").Post
	if boot.Security == nil || len(*boot.Security) != 0 {
		t.Errorf("bootstrap security = %v, want none", boot.Security)
	}
}

func TestDocuments_Revalidate(t *testing.T) {
	h := documents(t).V2()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
	req := httptest.NewRequest("GET", "/", nil)
	req.Header.Set("If-None-Match", rec.Header().Get("ETag"))
	rec2 := httptest.NewRecorder()
	h.ServeHTTP(rec2, req)
	if rec2.Code != http.StatusNotModified {
		t.Errorf("revalidation status = %d, want 304", rec2.Code)
	}
}

func TestNew_RejectsGarbage(t *testing.T) {
	if _, err := New([]byte("not json")); err == nil {
		t.Error("New accepted a document that is not JSON")
	}
}

func TestMergeEquivalentPaths(t *testing.T) {
	in := `{"paths":{
		"/v1/things/{thing.id}":{"patch":{"parameters":[{"name":"thing.id","in":"path"},{"name":"body","in":"body"}]}},
		"/v1/things/{thingId}":{"get":{"parameters":[{"name":"thingId","in":"path"}]}}}}`
	out, err := mergeEquivalentPaths([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			Parameters []struct{ Name, In string }
		}
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	item, ok := doc.Paths["/v1/things/{thingId}"]
	if len(doc.Paths) != 1 || !ok || item["get"].Parameters == nil {
		t.Fatalf("paths = %s", out)
	}
	if ps := item["patch"].Parameters; len(ps) != 2 || ps[0].Name != "thingId" || ps[1].Name != "body" {
		t.Errorf("patch parameters = %+v", ps)
	}

	clash := `{"paths":{"/a/{x.id}":{"get":{}},"/a/{xId}":{"get":{}}}}`
	if _, err := mergeEquivalentPaths([]byte(clash)); err == nil {
		t.Error("two GETs on equivalent paths were merged silently")
	}
}
