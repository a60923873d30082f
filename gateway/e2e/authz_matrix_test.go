package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/liftlabs/lift/gateway/gatewaytest"
	"github.com/liftlabs/lift/gateway/internal/openapi"
	"github.com/liftlabs/lift/pkg/auth"
	"github.com/liftlabs/lift/proto"
	optionsv1 "github.com/liftlabs/lift/proto/gen/go/lift/options/v1"
	"google.golang.org/grpc/codes"

	// The service descriptors the access levels are read from.
	_ "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	_ "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	_ "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
)

// operation is one endpoint of the OpenAPI document the gateway serves.
type operation struct {
	id           string // operationId, e.g. "ExperimentsService_GetFlag"
	method, path string // "GET", "/v1/flags/{flagId}"
	pathParams   []string
	access       optionsv1.Access
}

func (op operation) String() string { return op.method + " " + op.path }

// writes reports whether the operation needs more than the read scope.
func (op operation) writes() bool {
	return op.access == optionsv1.Access_ACCESS_WRITE || op.access == optionsv1.Access_ACCESS_ADMIN
}

var pathParam = regexp.MustCompile(`\{([^}=]+)(=[^}]*)?\}`)

// apiOperations lists every operation of an OpenAPI document (by default
// proto.OpenAPIv2, generated from the protos) with the access level its RPC
// declares, so a new endpoint, under /v1 or /v2, joins every table built
// from it.
func apiOperations(t *testing.T, document ...[]byte) []operation {
	t.Helper()
	src := proto.OpenAPIv2
	if len(document) > 0 {
		src = document[0]
	}
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Parameters  []struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(src, &doc); err != nil {
		t.Fatalf("OpenAPI document: %v", err)
	}
	var ops []operation
	for path, methods := range doc.Paths {
		for method, o := range methods {
			op := operation{id: o.OperationID, method: strings.ToUpper(method), path: path}
			for _, m := range pathParam.FindAllStringSubmatch(path, -1) {
				op.pathParams = append(op.pathParams, m[1])
			}
			op.access = operationAccess(t, o.OperationID)
			ops = append(ops, op)
		}
	}
	sort.Slice(ops, func(i, j int) bool { return ops[i].String() < ops[j].String() })
	return ops
}

// operationAccess finds the RPC behind an operationId ("Service_Method",
// as protoc-gen-openapiv2 names them) among Lift's services and returns its
// declared access level.
func operationAccess(t *testing.T, operationID string) optionsv1.Access {
	t.Helper()
	method, ok, err := openapi.FullMethod(operationID)
	if err != nil {
		t.Fatal(err)
	}
	if !ok {
		// The hand-written SDK endpoints have no RPC of their own.
		if pub, ok := publicOperations[operationID]; ok && pub.handWritten {
			return optionsv1.Access_ACCESS_PUBLIC
		}
		t.Fatalf("operation %s: no RPC linked into the test, and not a hand-written endpoint of publicOperations", operationID)
	}
	return auth.MethodAccess(method)
}

// publicOperations are the PUBLIC operations: each says how it is guarded,
// and whether it then behaves like a READ endpoint of the project named in
// its body (so every token case applies). A PUBLIC operation missing here
// fails the matrix.
var publicOperations = map[string]struct {
	why            string
	actsLikeReader bool
	handWritten    bool // an SDK endpoint of the gateway, not an RPC
}{
	"IdentityService_BootstrapAccount": {why: "guarded by the bootstrap secret, not a token (wrong secret: TestIdentityOverREST)"},
	"ExperimentsService_Decide":        {why: "by SDK key (TestSDKKeyScope) or by project with a read token", actsLikeReader: true},
	"SDK_GetDatafile":                  {why: "the SDK key is the credential (TestSDKKeyScope)", handWritten: true},
	"SDK_PostEvents":                   {why: "the SDK key, or a write token, is the credential (TestSDKKeyScope)", handWritten: true},
	"SDK_AgentDecide":                  {why: "the X-Optimizely-SDK-Key header is the credential", handWritten: true},
}

// sampleBody is a valid body for an operation, holding tn's ids where the
// operation names a resource in its body: valid, so the answer is decided
// by who asks and not by validation. PATCHes rename (updateMask=name).
func sampleBody(op operation, tn *tenant) any {
	switch op.id {
	case "IdentityService_CreateProject":
		return map[string]any{"name": "matrix"}
	case "IdentityService_CreateEnvironment":
		return map[string]any{"key": "qa", "name": "QA"}
	case "IdentityService_CreateToken":
		return map[string]any{"name": "matrix", "scopes": []string{"SCOPE_READ"}}
	case "ExperimentsService_CreateEvent":
		return map[string]any{"key": "signup"}
	case "ExperimentsService_CreateFlag":
		return map[string]any{"key": "matrix_flag"}
	case "ExperimentsService_CreateLayer":
		return map[string]any{"key": "matrix-layer"}
	case "ExperimentsService_CreateExperiment":
		return experimentBody("matrix", tn.eventKey)
	case "ExperimentsService_CreateAudience":
		return audienceBody("matrix_audience")
	case "ExperimentsService_ShipExperiment":
		return map[string]any{"environmentKey": "production", "variationKey": "control"}
	case "ExperimentsService_UpdateFlagRuleset":
		return map[string]any{"enabled": true}
	case "ExperimentsService_Decide":
		return map[string]any{"projectId": tn.project, "environmentKey": "production", "userId": "u1"}
	case "ResultsService_IngestEvents":
		return map[string]any{"visitors": []any{map[string]any{"visitorId": "u1", "snapshots": []any{map[string]any{
			"events": []any{map[string]any{"key": tn.eventKey, "uuid": "matrix-1", "timestamp": fmt.Sprint(time.Now().UnixMilli())}},
		}}}}}
	}
	switch op.method {
	case "PATCH":
		return map[string]any{"name": "renamed by the matrix"}
	case "POST", "PUT":
		return map[string]any{}
	}
	return nil
}

// takesForeignID reports whether the operation names one of tn's resources
// (in its path or its body), and so must answer 404 to another account.
func takesForeignID(op operation) bool {
	return len(op.pathParams) > 0 || op.id == "ExperimentsService_Decide"
}

// patchMask is the field a PATCH of the matrix changes: the name, or the
// toggle of a ruleset (which has no name).
func patchMask(op operation) string {
	if op.id == "ExperimentsService_UpdateFlagRuleset" {
		return "enabled"
	}
	return "name"
}

// fill substitutes tn's ids into the operation's path.
func fill(op operation, tn *tenant) (string, error) {
	ids := tn.ids()
	var missing []string
	path := pathParam.ReplaceAllStringFunc(op.path, func(m string) string {
		name := pathParam.FindStringSubmatch(m)[1]
		id, ok := ids[name]
		if !ok {
			missing = append(missing, name)
		}
		return id
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("path parameters %v cannot be filled: add them to tenant.ids and seed the resource", missing)
	}
	if op.method == "PATCH" {
		path += "?updateMask=" + patchMask(op)
	}
	return path, nil
}

// TestAuthorizationMatrix tries every operation of the OpenAPI document
// with every kind of caller that must be turned away: another account's
// valid token on account A's ids (404, nothing of A changes), no token and
// four kinds of bad token (401, one shape and one message for all), and
// tokens lacking the scope (403). Every combination is counted.
func TestAuthorizationMatrix(t *testing.T) {
	s := newSecurityStack(t)
	a, b := s.a, s.b

	expired := s.newToken(t, a.admin, "expired", "SCOPE_ADMIN")
	s.expireToken(t, expired.id)
	revoked := s.newToken(t, a.admin, "revoked", "SCOPE_ADMIN")
	s.do(t, "POST", "/v1/tokens/"+revoked.id+":revoke", a.admin, map[string]any{}, http.StatusOK, nil)
	badTokens := []struct{ name, token string }{
		{"no token", ""},
		{"malformed token", "lift_pat_not-a-token!"},
		{"expired token", expired.secret},
		{"revoked token", revoked.secret},
		// A's real admin secret under another prefix.
		{"wrong-prefix token", "lift_pak_" + strings.TrimPrefix(a.admin, auth.TokenPrefix)},
	}
	const cases = 8 // foreign account, the five bad tokens, read-only, write-only on admin

	before := s.snapshot(t, a)
	// What the gateway serves: the protos' operations and its hand-written
	// SDK endpoints.
	served := s.do(t, "GET", "/openapi.json", "", nil, http.StatusOK, nil).Body
	ops := apiOperations(t, served)
	var held, notApplicable int
	var unauthMessages []string
	try := func(op operation, name string, fn func(t *testing.T)) {
		if t.Run(op.String()+"/"+name, fn) {
			held++
		}
	}
	for _, op := range ops {
		tokenGuarded := op.access != optionsv1.Access_ACCESS_PUBLIC
		if !tokenGuarded {
			pub, ok := publicOperations[op.id]
			if !ok {
				t.Errorf("PUBLIC operation %s (%s) is not classified: add it to publicOperations", op, op.id)
				continue
			}
			tokenGuarded = pub.actsLikeReader
			if !tokenGuarded {
				t.Logf("%s: public, %s", op, pub.why)
				notApplicable += cases
				continue
			}
		}
		pathA, err := fill(op, a)
		if err != nil {
			t.Errorf("%s: %v", op, err)
			continue
		}
		bodyA := sampleBody(op, a)

		// Another account's valid, all-powerful token.
		if takesForeignID(op) {
			try(op, "other account's token on A's id", func(t *testing.T) {
				resp := s.gw.Do(t, op.method, pathA, b.admin, bodyA)
				if resp.Status == http.StatusBadRequest {
					t.Fatalf("400 before the ownership check: give %s a valid body in sampleBody; body %s", op.id, resp.Body)
				}
				wantError(t, resp, http.StatusNotFound, codes.NotFound, "")
				if op.method != "GET" {
					if after := s.snapshot(t, a); after != before {
						t.Fatalf("account A changed:\nbefore %s\nafter  %s", before, after)
					}
				}
			})
		} else {
			// Nothing of A's is named: B must see and touch only B's.
			try(op, "other account's token sees only its own", func(t *testing.T) {
				resp := s.gw.Do(t, op.method, pathA, b.admin, sampleBody(op, b))
				if resp.Status >= 400 {
					t.Fatalf("status %d: %s", resp.Status, resp.Body)
				}
				var v any
				resp.JSON(t, &v)
				for _, acct := range accountIDs(v) {
					if acct != b.accountID {
						t.Fatalf("response names account %s, caller is %s: %s", acct, b.accountID, resp.Body)
					}
				}
			})
		}

		for _, bad := range badTokens {
			try(op, bad.name, func(t *testing.T) {
				resp := s.gw.Do(t, op.method, pathA, bad.token, bodyA)
				info := wantError(t, resp, http.StatusUnauthorized, codes.Unauthenticated, "UNAUTHENTICATED")
				if len(info.GetMetadata()) != 1 {
					t.Errorf("ErrorInfo metadata beyond the request id: %v", info.GetMetadata())
				}
				st := resp.Error(t)
				if len(st.GetDetails()) != 1 {
					t.Errorf("details beyond ErrorInfo: %s", resp.Body)
				}
				unauthMessages = append(unauthMessages, st.GetMessage())
			})
		}

		if op.writes() {
			try(op, "read-only token on a write", func(t *testing.T) {
				wantError(t, s.gw.Do(t, op.method, pathA, a.read, bodyA), http.StatusForbidden, codes.PermissionDenied, "INSUFFICIENT_SCOPE")
			})
		} else {
			notApplicable++
		}
		if op.access == optionsv1.Access_ACCESS_ADMIN {
			try(op, "write token on an admin operation", func(t *testing.T) {
				wantError(t, s.gw.Do(t, op.method, pathA, a.write, bodyA), http.StatusForbidden, codes.PermissionDenied, "INSUFFICIENT_SCOPE")
			})
		} else {
			notApplicable++
		}
	}

	slices.Sort(unauthMessages)
	if u := slices.Compact(unauthMessages); len(u) != 1 {
		t.Errorf("401 messages differ (they must not tell bad tokens apart): %q", u)
	} else if strings.ContainsAny(strings.ToLower(u[0]), "0123456789") || strings.Contains(u[0], "lift_pat_") {
		t.Errorf("401 message %q gives details", u[0])
	}
	if after := s.snapshot(t, a); after != before {
		t.Errorf("account A changed during the matrix:\nbefore %s\nafter  %s", before, after)
	}
	// Every secret of the stack, the expired and revoked ones included.
	assertNoSecretsLogged(t, s.logs.String(), s.secrets...)

	tried := len(ops)*cases - notApplicable
	if t.Failed() {
		t.Fatalf("authorization matrix: %d endpoints × %d cases = %d combinations, %d held", len(ops), cases, tried, held)
	}
	if held != tried {
		t.Fatalf("authorization matrix: counted %d held of %d", held, tried)
	}
	t.Logf("authorization matrix: %d endpoints × %d cases = %d combinations, all held (%d not applicable: public operations, reads for the scope cases)",
		len(ops), cases, tried, notApplicable)
}

// accountIDs returns every "accountId" value in a decoded JSON document.
func accountIDs(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "accountId" {
				out = append(out, s)
			}
			out = append(out, accountIDs(x)...)
		}
	case []any:
		for _, x := range v {
			out = append(out, accountIDs(x)...)
		}
	}
	return out
}

// assertNoSecretsLogged fails if any token secret, or its random part (in
// case a logger strips or re-prefixes it), occurs in the logs.
func assertNoSecretsLogged(t *testing.T, logs string, secrets ...string) {
	t.Helper()
	if !strings.Contains(logs, `"msg":"rpc"`) || !strings.Contains(logs, `"msg":"http request"`) {
		t.Fatalf("logs were not captured (%d bytes)", len(logs))
	}
	for _, sec := range secrets {
		random := strings.TrimPrefix(sec, auth.TokenPrefix)
		if strings.Contains(logs, random) {
			i := strings.Index(logs, random)
			t.Errorf("a token secret is in the logs: …%s…", logs[max(0, i-200):i])
		}
	}
}

// TestCrossAccountReferences: ids of another account's resources inside a
// body (an experiment's layer or flag, a delivery's audience) are as
// unknown as in a path — B cannot attach its experiment to A's layer or
// flag, nor target A's audience — and A is unchanged.
func TestCrossAccountReferences(t *testing.T) {
	s := newSecurityStack(t)
	a, b := s.a, s.b
	before := s.snapshot(t, a)
	for _, ref := range []struct {
		field, id string
		extra     map[string]any // what the reference needs to be valid otherwise
	}{
		{"layerId", a.layer, map[string]any{"layerTrafficAllocation": 5000}},
		{"flagId", a.flag, nil},
	} {
		body := experimentBody("xref-"+strings.ToLower(ref.field), b.eventKey)
		body[ref.field] = ref.id
		mask := []string{snake(ref.field)}
		for k, v := range ref.extra {
			body[k] = v
			mask = append(mask, snake(k))
		}
		resp := s.gw.Do(t, "POST", "/v1/projects/"+b.project+"/experiments", b.admin, body)
		wantUnknown(t, resp, "create with A's "+ref.field)
		// B's own draft, changed to point at A's resource.
		var draft experimentEnvelope
		s.do(t, "POST", "/v1/projects/"+b.project+"/experiments", b.admin, experimentBody("xref-draft-"+strings.ToLower(ref.field), b.eventKey), http.StatusCreated, &draft)
		patch := map[string]any{ref.field: ref.id}
		for k, v := range ref.extra {
			patch[k] = v
		}
		resp = s.gw.Do(t, "PATCH", "/v1/experiments/"+draft.Experiment.ID+"?updateMask="+strings.Join(mask, ","), b.admin, patch)
		wantUnknown(t, resp, "update to A's "+ref.field)
	}
	// B's delivery rule naming A's audience.
	delivery := map[string]any{"deliveries": []any{map[string]any{"key": "xref", "audienceIds": []string{a.audience}, "percentage": 10000,
		"variation": map[string]any{"key": "on", "featureEnabled": true}}}}
	resp := s.gw.Do(t, "PATCH", "/v1/flags/"+b.flag+"/environments/production/ruleset?updateMask=deliveries", b.admin, delivery)
	wantUnknown(t, resp, "delivery with A's audience")
	if after := s.snapshot(t, a); after != before {
		t.Errorf("account A changed:\nbefore %s\nafter  %s", before, after)
	}
}

// wantUnknown checks a reference to another account's resource was refused
// as unknown (404, or 400 with an UNKNOWN_* reason), not by some unrelated
// validation that would leave the reference untested.
func wantUnknown(t *testing.T, resp *gatewaytest.Response, what string) {
	t.Helper()
	if resp.Status < 400 {
		t.Errorf("%s: accepted: %s", what, resp.Body)
		return
	}
	info := wantError(t, resp, resp.Status, codes.Code(resp.Error(t).GetCode()), "")
	if resp.Status != http.StatusNotFound && !(resp.Status == http.StatusBadRequest && strings.HasPrefix(info.GetReason(), "UNKNOWN_")) {
		t.Errorf("%s: %d %s, want 404 or 400 UNKNOWN_*: %s", what, resp.Status, info.GetReason(), resp.Body)
	}
}
