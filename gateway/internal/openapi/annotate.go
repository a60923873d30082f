package openapi

import (
	"encoding/json"
	"fmt"
)

// ReleaseStateKey marks an operation that may still change: protos set it
// with an openapiv2_operation extension, e.g.
//
//	extensions: {key: "x-release-state" value: {string_value: "beta"}}
//
// as Optimizely marks its own beta endpoints.
const ReleaseStateKey = "x-release-state"

// Beta is the release state of endpoints that may still change.
const Beta = "beta"

// betaNote starts the description of a beta operation, for renderers and
// readers that ignore extensions.
const betaNote = "**Beta**: this endpoint may still change.\n\n"

// betaBadge is Redoc's x-badges entry (supported by the vendored Redoc
// 2.5.4): a "Beta" label beside the operation in the sidebar and heading.
var betaBadge = []any{map[string]any{"name": "Beta", "color": "#d97706"}}

// retryAfter is the header 429 and 503 answers carry. The generator drops
// headers of document-level responses, so it is added here.
var retryAfter = map[string]any{
	"Retry-After": map[string]any{
		"type":        "integer",
		"description": "Seconds to wait before retrying.",
	},
}

// annotate adds what the generator cannot express from the protos: the
// Beta badge and note on operations whose x-release-state is beta, and the
// Retry-After header on 429 and 503 responses.
func annotate(v2 []byte) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(v2, &doc); err != nil {
		return nil, fmt.Errorf("parse OpenAPI v2: %w", err)
	}
	paths, _ := doc["paths"].(map[string]any)
	for _, item := range paths {
		ops, _ := item.(map[string]any)
		for _, o := range ops {
			op, ok := o.(map[string]any)
			if !ok {
				continue
			}
			if op[ReleaseStateKey] == Beta {
				op["x-badges"] = betaBadge
				desc, _ := op["description"].(string)
				op["description"] = betaNote + desc
			}
			responses, _ := op["responses"].(map[string]any)
			for _, code := range []string{"429", "503"} {
				if r, ok := responses[code].(map[string]any); ok {
					if _, has := r["headers"]; !has {
						r["headers"] = retryAfter
					}
				}
			}
		}
	}
	return json.Marshal(doc)
}
