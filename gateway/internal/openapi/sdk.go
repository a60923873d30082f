package openapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

// sdkPaths describes the endpoints the gateway serves by hand rather than
// from the protos (internal/sdk: the datafile, SDK event batches, Agent's
// decide), in Swagger 2.0, so the document covers every public endpoint.
// Keep it in step with internal/sdk; gateway/e2e exercises both.
//
//go:embed sdk.json
var sdkPaths []byte

// SDKTag tags the hand-written SDK operations.
const SDKTag = "SDK"

// addSDK merges sdkPaths into the generated document. A path or definition
// both define is an error: the protos must not claim these routes.
func addSDK(v2 []byte) ([]byte, error) {
	var doc, sdk map[string]any
	if err := json.Unmarshal(v2, &doc); err != nil {
		return nil, fmt.Errorf("parse OpenAPI v2: %w", err)
	}
	if err := json.Unmarshal(sdkPaths, &sdk); err != nil {
		return nil, fmt.Errorf("parse sdk.json: %w", err)
	}
	for _, section := range []string{"paths", "definitions", "securityDefinitions"} {
		dst, _ := doc[section].(map[string]any)
		if dst == nil {
			dst = map[string]any{}
			doc[section] = dst
		}
		src, _ := sdk[section].(map[string]any)
		for k, v := range src {
			if _, taken := dst[k]; taken {
				return nil, fmt.Errorf("OpenAPI %s %q is both generated and in sdk.json", section, k)
			}
			dst[k] = v
		}
	}
	tags, _ := doc["tags"].([]any)
	doc["tags"] = append(tags, sdk["tags"].([]any)...)
	return json.Marshal(doc)
}
