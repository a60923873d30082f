package e2e

import (
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/liftlabs/lift/gateway/gatewaytest"
	"google.golang.org/grpc/codes"
)

// maxBody is the gateway's body limit in these tests.
const maxBody = 4096

// statusCreated is what a create answers: identity's Create* handlers set
// the x-http-code (and location) metadata through pkg/httpmeta.
const statusCreated = http.StatusCreated

// state is what earlier steps learn and later steps use.
type state struct {
	tokens                  map[string]string // role → secret
	project, staleEtag      string            // alpha's id and its first etag
	etag, nextPage, tokenID string
}

// expand replaces {project}, {etag}, {staleEtag}, {nextPage} and {tokenID}.
func (s *state) expand(v string) string {
	return strings.NewReplacer("{project}", s.project, "{etag}", s.etag, "{staleEtag}", s.staleEtag,
		"{nextPage}", s.nextPage, "{tokenID}", s.tokenID).Replace(v)
}

type project struct {
	ID          string `json:"id"`
	AccountID   string `json:"accountId"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Etag        string `json:"etag"`
}

func TestIdentityOverREST(t *testing.T) {
	gw := start(t, gatewaytest.WithMaxBodyBytes(maxBody))
	accountA, adminA := bootstrap(t, gw, "account a")
	_, adminB := bootstrap(t, gw, "account b")
	s := &state{tokens: map[string]string{"admin": adminA, "other": adminB, "bad": "lift_pat_NotARealToken0000000000"}}

	cases := []struct {
		name    string
		method  string
		path    string
		token   string // role in s.tokens, or "" for none
		body    any
		headers []string
		status  int
		// For errors: the code and ErrorInfo reason ("" = any reason).
		code   codes.Code
		reason string
		check  func(t *testing.T, resp *gatewaytest.Response)
	}{
		{
			name: "create returns 201, Location and the created resource", method: "POST", path: "/v1/projects", token: "admin",
			body: map[string]any{"name": "alpha", "description": "first"}, status: statusCreated,
			check: func(t *testing.T, resp *gatewaytest.Response) {
				var out struct {
					Project map[string]any `json:"project"`
				}
				resp.JSON(t, &out)
				p := out.Project
				s.project, s.etag = p["id"].(string), p["etag"].(string)
				s.staleEtag = s.etag
				if got, want := resp.Header.Get("Location"), "/v1/projects/"+s.project; statusCreated == http.StatusCreated && got != want {
					t.Errorf("Location = %q, want %q", got, want)
				}
				if p["name"] != "alpha" || p["accountId"] != accountA || p["createTime"] == nil {
					t.Errorf("project = %v", p)
				}
				// lowerCamelCase names, zero values emitted, no nulls.
				settings, _ := p["settings"].(map[string]any)
				if settings["falseDiscoveryRateControl"] != false || settings["defaultMetricKeys"] == nil {
					t.Errorf("zero values not emitted: %s", resp.Body)
				}
				if strings.Contains(string(resp.Body), "null") || strings.Contains(string(resp.Body), "account_id") {
					t.Errorf("response not in proto JSON names without nulls: %s", resp.Body)
				}
			},
		},
		{name: "created project is at its Location", method: "GET", path: "/v1/projects/{project}", token: "admin", status: 200,
			check: func(t *testing.T, resp *gatewaytest.Response) {
				var out struct{ Project project }
				resp.JSON(t, &out)
				if out.Project.ID != s.project || out.Project.Description != "first" {
					t.Errorf("got %s", resp.Body)
				}
			}},
		{name: "create second project", method: "POST", path: "/v1/projects", token: "admin", body: map[string]any{"name": "beta"}, status: statusCreated},
		{name: "create third project", method: "POST", path: "/v1/projects", token: "admin", body: map[string]any{"name": "gamma"}, status: statusCreated},
		{name: "list first page", method: "GET", path: "/v1/projects?pageSize=2", token: "admin", status: 200,
			check: func(t *testing.T, resp *gatewaytest.Response) {
				out := listProjects(t, resp)
				if names(out.Projects) != "alpha,beta" || out.NextPageToken == "" {
					t.Fatalf("page 1 = %s", resp.Body)
				}
				s.nextPage = out.NextPageToken
			}},
		{name: "list second page", method: "GET", path: "/v1/projects?pageSize=2&pageToken={nextPage}", token: "admin", status: 200,
			check: func(t *testing.T, resp *gatewaytest.Response) {
				out := listProjects(t, resp)
				if names(out.Projects) != "gamma" || out.NextPageToken != "" {
					t.Errorf("page 2 = %s", resp.Body)
				}
				if !strings.Contains(string(resp.Body), `"nextPageToken":""`) {
					t.Errorf("empty nextPageToken not emitted: %s", resp.Body)
				}
			}},
		{name: "snake_case query parameters work too", method: "GET", path: "/v1/projects?page_size=1", token: "admin", status: 200,
			check: func(t *testing.T, resp *gatewaytest.Response) {
				if out := listProjects(t, resp); names(out.Projects) != "alpha" {
					t.Errorf("got %s", resp.Body)
				}
			}},
		{name: "update with a field mask changes only the masked field", method: "PATCH", path: "/v1/projects/{project}?updateMask=description",
			token: "admin", body: `{"name":"ignored","description":"changed","etag":"{etag}"}`, status: 200,
			check: func(t *testing.T, resp *gatewaytest.Response) {
				var out struct{ Project project }
				resp.JSON(t, &out)
				p := out.Project
				if p.Description != "changed" || p.Name != "alpha" || p.Etag == "" || p.Etag == s.etag {
					t.Errorf("updated project = %+v (old etag %q)", p, s.etag)
				}
				s.etag = p.Etag
			}},
		{name: "stale etag is 409", method: "PATCH", path: "/v1/projects/{project}?updateMask=description", token: "admin",
			body: `{"description":"again","etag":"{staleEtag}"}`, status: 409, code: codes.Aborted},
		{name: "invalid field is 400 with field violations", method: "POST", path: "/v1/projects", token: "admin",
			body:   map[string]any{"name": "x", "description": strings.Repeat("d", 2001), "settings": map[string]any{"confidenceLevel": 1.5}},
			status: 400, code: codes.InvalidArgument,
			check: func(t *testing.T, resp *gatewaytest.Response) {
				got := violations(t, resp)
				if !slices.Contains(got, "project.description") || !slices.Contains(got, "project.settings.confidence_level") {
					t.Errorf("violations name %v, want project.description and project.settings.confidence_level; body %s", got, resp.Body)
				}
			}},
		{name: "unknown JSON field is 400", method: "POST", path: "/v1/projects", token: "admin",
			body: `{"name":"x","accountID":"1"}`, status: 400, code: codes.InvalidArgument,
			check: func(t *testing.T, resp *gatewaytest.Response) {
				if !strings.Contains(string(resp.Body), "accountID") {
					t.Errorf("message does not name the field: %s", resp.Body)
				}
			}},
		{name: "malformed JSON is 400", method: "POST", path: "/v1/projects", token: "admin", body: `{"name":`, status: 400, code: codes.InvalidArgument},
		{name: "no token is 401", method: "GET", path: "/v1/projects", status: 401, code: codes.Unauthenticated,
			check: func(t *testing.T, resp *gatewaytest.Response) {
				if got := resp.Header.Get("WWW-Authenticate"); !strings.HasPrefix(got, "Bearer") {
					t.Errorf("WWW-Authenticate = %q", got)
				}
			}},
		{name: "unknown token is 401", method: "GET", path: "/v1/projects", token: "bad", status: 401, code: codes.Unauthenticated},
		{name: "create a read-only token", method: "POST", path: "/v1/tokens", token: "admin",
			body: map[string]any{"name": "ro", "scopes": []string{"SCOPE_READ"}}, status: statusCreated,
			check: func(t *testing.T, resp *gatewaytest.Response) {
				var out struct {
					Token struct {
						ID     string   `json:"id"`
						Scopes []string `json:"scopes"`
					} `json:"token"`
					Secret string `json:"secret"`
				}
				resp.JSON(t, &out)
				if out.Token.ID == "" || !strings.HasPrefix(out.Secret, "lift_pat_") || !slices.Equal(out.Token.Scopes, []string{"SCOPE_READ"}) {
					t.Fatalf("token = %s", resp.Body)
				}
				s.tokens["read"], s.tokenID = out.Secret, out.Token.ID
			}},
		{name: "read-only token reads", method: "GET", path: "/v1/projects/{project}", token: "read", status: 200},
		{name: "read-only token writing is 403", method: "POST", path: "/v1/projects", token: "read",
			body: map[string]any{"name": "nope"}, status: 403, code: codes.PermissionDenied},
		{name: "another account's project is 404, with the caller's request id", method: "GET", path: "/v1/projects/{project}", token: "other",
			headers: []string{"X-Request-Id", "e2e-request-1"}, status: 404, code: codes.NotFound, reason: "PROJECT_NOT_FOUND",
			check: func(t *testing.T, resp *gatewaytest.Response) {
				// identity wrote this ErrorInfo: its request_id proves the id
				// reached the backend as x-request-id metadata.
				if got := resp.Header.Get("X-Request-Id"); got != "e2e-request-1" {
					t.Errorf("X-Request-Id = %q, want the client's", got)
				}
			}},
		{name: "another account's project cannot be updated", method: "PATCH", path: "/v1/projects/{project}?updateMask=name", token: "other",
			body: map[string]any{"name": "mine"}, status: 404, code: codes.NotFound, reason: "PROJECT_NOT_FOUND"},
		{name: "create environment", method: "POST", path: "/v1/projects/{project}/environments", token: "admin",
			body: map[string]any{"key": "staging", "name": "Staging"}, status: statusCreated},
		{name: "duplicate environment key is 409", method: "POST", path: "/v1/projects/{project}/environments", token: "admin",
			body: map[string]any{"key": "staging"}, status: 409, code: codes.AlreadyExists},
		{name: "unknown /v1 route is 404 in the standard shape", method: "GET", path: "/v1/nothing-here", token: "admin",
			status: 404, code: codes.NotFound, reason: "ROUTE_NOT_FOUND"},
		{name: "unknown route outside /v1 is 404 in the standard shape", method: "GET", path: "/nothing-here",
			status: 404, code: codes.NotFound, reason: "ROUTE_NOT_FOUND"},
		{name: "wrong method is 405", method: "DELETE", path: "/v1/tokens", token: "admin",
			status: 405, code: codes.Unimplemented, reason: "METHOD_NOT_ALLOWED"},
		{name: "wrong method on a document is 405", method: "POST", path: "/openapi.json", body: "{}",
			status: 405, code: codes.Unimplemented, reason: "METHOD_NOT_ALLOWED"},
		{name: "oversize body is 413", method: "POST", path: "/v1/projects", token: "admin",
			body:   map[string]any{"name": "big", "description": strings.Repeat("x", maxBody)},
			status: 413, code: codes.ResourceExhausted, reason: "REQUEST_TOO_LARGE"},
		{name: "oversize chunked body is 413", method: "POST", path: "/v1/projects", token: "admin",
			body:   io.MultiReader(strings.NewReader(`{"name":"big","description":"`), strings.NewReader(strings.Repeat("x", maxBody)), strings.NewReader(`"}`)),
			status: 413, code: codes.ResourceExhausted, reason: "REQUEST_TOO_LARGE"},
		{name: "revoke token", method: "POST", path: "/v1/tokens/{tokenID}:revoke", token: "admin", body: "{}", status: 200,
			check: func(t *testing.T, resp *gatewaytest.Response) {
				var out struct {
					Token struct {
						RevokeTime string `json:"revokeTime"`
					} `json:"token"`
				}
				resp.JSON(t, &out)
				if out.Token.RevokeTime == "" {
					t.Errorf("revokeTime not set: %s", resp.Body)
				}
			}},
		{name: "revoked token is 401", method: "GET", path: "/v1/projects", token: "read", status: 401, code: codes.Unauthenticated},
		{name: "wrong bootstrap secret is 403", method: "POST", path: "/v1/accounts:bootstrap",
			body: map[string]string{"bootstrapSecret": "wrong", "accountName": "x"}, status: 403, code: codes.PermissionDenied, reason: "BOOTSTRAP_SECRET_INVALID"},
		{name: "delete project", method: "DELETE", path: "/v1/projects/{project}", token: "admin", status: 200},
		{name: "deleted project is 404", method: "GET", path: "/v1/projects/{project}", token: "admin", status: 404, code: codes.NotFound, reason: "PROJECT_NOT_FOUND"},
	}
	for _, tc := range cases {
		if !t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if b, ok := body.(string); ok {
				body = s.expand(b)
			}
			resp := gw.Do(t, tc.method, s.expand(tc.path), s.tokens[tc.token], body, tc.headers...)
			if id := resp.Header.Get("X-Request-Id"); id == "" {
				t.Errorf("no X-Request-Id on %d response", resp.Status)
			}
			if tc.status >= 400 {
				wantError(t, resp, tc.status, tc.code, tc.reason)
			} else if resp.Status != tc.status {
				t.Fatalf("status = %d, want %d; body %s", resp.Status, tc.status, resp.Body)
			}
			if tc.check != nil {
				tc.check(t, resp)
			}
		}) {
			// Later steps depend on earlier ones.
			t.FailNow()
		}
	}
}

type projectList struct {
	Projects      []project `json:"projects"`
	NextPageToken string    `json:"nextPageToken"`
}

func listProjects(t *testing.T, resp *gatewaytest.Response) projectList {
	t.Helper()
	var out projectList
	resp.JSON(t, &out)
	return out
}

func names(ps []project) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return strings.Join(out, ",")
}
