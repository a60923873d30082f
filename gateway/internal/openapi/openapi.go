// Package openapi serves the API description: the Swagger 2.0 document
// generated from the protos at /openapi.json, and the same document
// converted to OpenAPI 3.0 at /openapi.v3.json.
package openapi

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
)

// Documents holds both encodings, built once at start.
type Documents struct {
	v2, v3 document
}

type document struct {
	body []byte
	etag string
}

// New builds the documents from the generated Swagger 2.0 JSON
// (proto.OpenAPIv2), with equivalent paths merged (see
// mergeEquivalentPaths), the hand-written SDK endpoints added (see addSDK),
// and beta badges and Retry-After headers added (see annotate). Conversion happens at start so a document kin-openapi
// cannot convert stops the gateway instead of failing on first request.
func New(v2 []byte) (*Documents, error) {
	v2, err := mergeEquivalentPaths(v2)
	if err != nil {
		return nil, err
	}
	if v2, err = addSDK(v2); err != nil {
		return nil, err
	}
	if v2, err = annotate(v2); err != nil {
		return nil, err
	}
	var doc2 openapi2.T
	if err := json.Unmarshal(v2, &doc2); err != nil {
		return nil, fmt.Errorf("parse OpenAPI v2: %w", err)
	}
	doc3, err := openapi2conv.ToV3(&doc2)
	if err != nil {
		return nil, fmt.Errorf("convert OpenAPI v2 to v3: %w", err)
	}
	bearer(doc3)
	v3, err := json.Marshal(doc3)
	if err != nil {
		return nil, fmt.Errorf("encode OpenAPI v3: %w", err)
	}
	return &Documents{v2: newDocument(v2), v3: newDocument(v3)}, nil
}

// bearer restates the "Bearer" scheme as what it is in OpenAPI 3, HTTP
// bearer authentication. Swagger 2.0 can only say "an API key in the
// Authorization header", which makes docs tools ask users to type the
// "Bearer " prefix themselves.
func bearer(doc *openapi3.T) {
	ref, ok := doc.Components.SecuritySchemes["Bearer"]
	if !ok || ref.Value == nil {
		return
	}
	ref.Value = &openapi3.SecurityScheme{
		Type:         "http",
		Scheme:       "bearer",
		BearerFormat: "lift_pat_…",
		Description:  ref.Value.Description,
	}
}

func newDocument(body []byte) document {
	sum := sha256.Sum256(body)
	return document{body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
}

// V2 serves the Swagger 2.0 document.
func (d *Documents) V2() http.Handler { return d.v2 }

// V3 serves the OpenAPI 3.0 document.
func (d *Documents) V3() http.Handler { return d.v3 }

// ServeHTTP answers with the document; clients revalidate with the ETag
// (the document changes only with the binary).
func (d document) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", d.etag)
	w.Header().Set("Cache-Control", "no-cache")
	// CORS: API tools and docs hosted elsewhere may read the description.
	w.Header().Set("Access-Control-Allow-Origin", "*")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(d.body))
}
