package openapi

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/liftlabs/lift/pkg/auth"
	optionsv1 "github.com/liftlabs/lift/proto/gen/go/lift/options/v1"

	// The services whose operations the document describes, so their
	// descriptors (and access options) are registered.
	_ "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	_ "github.com/liftlabs/lift/proto/gen/go/lift/gateway/v2"
	_ "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	_ "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
)

// errorStatuses are the error responses every operation documents, each
// with the google.rpc.Status schema.
var errorStatuses = []string{"400", "401", "403", "404", "409", "429", "503"}

// betaOperations must carry x-release-state: beta (more may).
var betaOperations = []string{"ExperimentsService_Decide", "SDK_AgentDecide"}

// sdkOperations are the hand-written endpoints (sdk.json).
var sdkOperations = []string{"SDK_GetDatafile", "SDK_PostEvents", "SDK_AgentDecide"}

func isSDK(op *openapi3.Operation) bool {
	return len(op.Tags) == 1 && op.Tags[0] == SDKTag
}

// fullMethod is FullMethod for an operation that must have an RPC.
func fullMethod(t *testing.T, operationID string) string {
	t.Helper()
	m, ok, err := FullMethod(operationID)
	if err != nil || !ok {
		t.Fatalf("operation %s: no single RPC (%v)", operationID, err)
	}
	return m
}

// TestV3_EveryOperationComplete checks what the issue asks of every
// operation, on the OpenAPI 3 document (which kin-openapi validated in
// TestV3_Valid) so that the conversion is covered too: a summary and a
// description, the error responses with the Status schema and Retry-After
// on 429/503, the Bearer scheme unless the RPC is PUBLIC (then security:
// []), and the Beta marking (/v2 is beta as a whole). The hand-written SDK
// endpoints are in it too, with the errors that apply to them.
func TestV3_EveryOperationComplete(t *testing.T) {
	body := fetch(t, documents(t).V3())
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	beta := map[string]bool{}
	public := 0
	var ids []string
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			name := method + " " + path
			ids = append(ids, op.OperationID)
			if strings.TrimSpace(op.Summary) == "" || strings.TrimSpace(op.Description) == "" {
				t.Errorf("%s: summary %q, description %q: both are needed (an RPC comment of a summary line, a blank line, and a description)", name, op.Summary, op.Description)
			}
			statuses := errorStatuses
			if isSDK(op) {
				// Hand-written: no scopes (403) and no updates (409).
				statuses = []string{"400", "404", "429", "503"}
				if op.OperationID == "SDK_GetDatafile" {
					statuses = []string{"404", "429", "503"}
				}
			}
			for _, code := range statuses {
				r := op.Responses.Value(code)
				if r == nil || r.Value.Content.Get("application/json") == nil ||
					r.Value.Content.Get("application/json").Schema.Ref != "#/components/schemas/Status" {
					t.Errorf("%s: no %s response with the Status schema", name, code)
					continue
				}
				if (code == "429" || code == "503") && r.Value.Headers["Retry-After"] == nil {
					t.Errorf("%s: %s response without the Retry-After header", name, code)
				}
			}
			if strings.HasPrefix(path, "/v2/") && op.Extensions[ReleaseStateKey] != Beta {
				t.Errorf("%s: /v2 operations are beta until they settle: add extensions: {key: %q value: {string_value: %q}} to its openapiv2_operation", name, ReleaseStateKey, Beta)
			}
			if isSDK(op) {
				if op.Security == nil {
					t.Errorf("%s: a hand-written SDK operation must say its security (none, or SdkKey)", name)
				}
			} else if access := auth.MethodAccess(fullMethod(t, op.OperationID)); access == optionsv1.Access_ACCESS_PUBLIC {
				public++
				if op.Security == nil || len(*op.Security) != 0 {
					t.Errorf("%s: PUBLIC RPC, security = %v, want []", name, op.Security)
				}
			} else if op.Security != nil {
				t.Errorf("%s: %v RPC overrides the document's Bearer security with %v", name, access, *op.Security)
			}
			if op.Extensions[ReleaseStateKey] == Beta {
				beta[op.OperationID] = true
				if op.Extensions["x-badges"] == nil || !strings.HasPrefix(op.Description, "**Beta**") {
					t.Errorf("%s: beta without the docs page's badge and note", name)
				}
			} else if op.Extensions["x-badges"] != nil {
				t.Errorf("%s: a badge on a stable operation", name)
			}
		}
	}
	for _, id := range betaOperations {
		if !beta[id] {
			t.Errorf("%s is not marked %s: %s", id, ReleaseStateKey, Beta)
		}
	}
	for _, id := range sdkOperations {
		if !slices.Contains(ids, id) {
			t.Errorf("hand-written operation %s is not in the document", id)
		}
	}
	if s := doc.Components.SecuritySchemes["SdkKey"]; s == nil || s.Value.In != "header" || s.Value.Name != "X-Optimizely-SDK-Key" {
		t.Errorf("SdkKey scheme = %+v", s)
	}
	if public < 2 {
		t.Errorf("%d PUBLIC operations, want at least bootstrap and decide", public)
	}
	sort.Strings(ids)
	t.Logf("%d operations complete, %d public, beta: %v", len(ids), public, betaOperations)
}

// The document says what Lift is and is versioned (the merged document
// takes its info from the first proto file with file-level options).
func TestV2_Info(t *testing.T) {
	body := fetch(t, documents(t).V2())
	if !strings.Contains(string(body), `"title":"Lift API"`) {
		t.Errorf("info title is not Lift API: %.300s", body)
	}
}
