package e2e

import (
	"net/http"
	"testing"

	"github.com/liftlabs/lift/gateway/gatewaytest"
	"github.com/liftlabs/lift/gateway/internal/stacktest"
	"google.golang.org/grpc/codes"
)

// experimentsCreated is what the experiments service's Create* answer over
// REST: 201 with a Location header, as identity's creates.
const experimentsCreated = http.StatusCreated

// restStack is identity, experiments and results on loopback behind the
// gateway, driven only over REST: the stacktest account (its admin and
// read-only tokens, its project "web") and a second account, bootstrapped
// over REST.
type restStack struct {
	gw                 *gatewaytest.Env
	accountID          string
	admin, other, read string // admin tokens of accounts A and B; A's read-only token
	projectID          string
}

func newRESTStack(t *testing.T) *restStack {
	t.Helper()
	st := stacktest.Start(t)
	s := &restStack{gw: st.GW, accountID: st.AccountID, admin: st.Admin, read: st.Read, projectID: st.ProjectID}
	_, s.other = bootstrap(t, s.gw, "account b")
	return s
}

// must sends a request, fails the test unless the status is want, and
// decodes the body into out when out is not nil.
func (s *restStack) must(t *testing.T, method, path, token string, body any, want int, out any) *gatewaytest.Response {
	t.Helper()
	return s.gw.Must(t, method, path, token, body, want, out)
}

// restExperiment is the part of an experiment's JSON the tests look at.
type restExperiment struct {
	ID         string `json:"id"`
	Key        string `json:"key"`
	Name       string `json:"name"`
	LayerID    string `json:"layerId"`
	Status     string `json:"status"`
	Etag       string `json:"etag"`
	Variations []struct {
		ID     string `json:"id"`
		Key    string `json:"key"`
		Weight int    `json:"weight"`
	} `json:"variations"`
}

type experimentEnvelope struct {
	Experiment restExperiment `json:"experiment"`
}

// experimentBody is a 50/50 experiment in production measuring eventKey.
func experimentBody(key, eventKey string, weights ...int) map[string]any {
	if len(weights) == 0 {
		weights = []int{5000, 5000}
	}
	return map[string]any{
		"key": key, "name": key, "environmentKeys": []string{"production"},
		"variations": []map[string]any{
			{"key": "control", "name": "Control", "weight": weights[0], "baseline": true, "featureEnabled": true},
			{"key": "treatment", "name": "Treatment", "weight": weights[1], "featureEnabled": true},
		},
		"metrics": []map[string]any{{"eventKey": eventKey, "primary": true}},
	}
}

// createEvent creates a conversion event and returns its id.
func (s *restStack) createEvent(t *testing.T, key string) string {
	t.Helper()
	var out struct {
		Event struct {
			ID  string `json:"id"`
			Key string `json:"key"`
		} `json:"event"`
	}
	s.must(t, "POST", "/v1/projects/"+s.projectID+"/events", s.admin, map[string]any{"key": key, "name": key}, experimentsCreated, &out)
	if out.Event.ID == "" || out.Event.Key != key {
		t.Fatalf("created event = %+v", out.Event)
	}
	return out.Event.ID
}

// createExperiment creates an experiment (201) and returns it.
func (s *restStack) createExperiment(t *testing.T, body map[string]any) restExperiment {
	t.Helper()
	var out experimentEnvelope
	resp := s.must(t, "POST", "/v1/projects/"+s.projectID+"/experiments", s.admin, body, experimentsCreated, &out)
	e := out.Experiment
	if e.ID == "" || e.Status != "EXPERIMENT_STATUS_DRAFT" || len(e.Variations) != 2 || e.Etag == "" {
		t.Fatalf("created experiment: %s", resp.Body)
	}
	if got, want := resp.Header.Get("Location"), "/v1/experiments/"+e.ID; experimentsCreated == http.StatusCreated && got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	return e
}

func TestExperimentsOverREST(t *testing.T) {
	s := newRESTStack(t)
	s.createEvent(t, "purchase")
	e := s.createExperiment(t, experimentBody("checkout", "purchase"))
	victim := s.createExperiment(t, experimentBody("victim", "purchase")) // stays a draft
	staleEtag := e.Etag
	expPath := "/v1/experiments/" + e.ID
	victimPath := "/v1/experiments/" + victim.ID

	cases := []struct {
		name         string
		method, path string
		token        string
		body         any
		status       int
		// For errors: the code and ErrorInfo reason ("" = any).
		code   codes.Code
		reason string
		// For successes: the experiment's status afterwards ("" = unchecked).
		wantStatus string
		check      func(t *testing.T, resp *gatewaytest.Response)
	}{
		{name: "get", method: "GET", path: expPath, token: s.read, status: 200, wantStatus: "EXPERIMENT_STATUS_DRAFT",
			check: func(t *testing.T, resp *gatewaytest.Response) {
				var out experimentEnvelope
				resp.JSON(t, &out)
				if out.Experiment.Key != "checkout" || out.Experiment.ID != e.ID || out.Experiment.Variations[0].Weight != 5000 {
					t.Errorf("got %s", resp.Body)
				}
			}},
		{name: "draft cannot conclude", method: "POST", path: expPath + ":conclude", token: s.admin, body: "{}",
			status: 400, code: codes.FailedPrecondition, reason: "ILLEGAL_STATUS_TRANSITION",
			check: func(t *testing.T, resp *gatewaytest.Response) {
				info := wantError(t, resp, 400, codes.FailedPrecondition, "ILLEGAL_STATUS_TRANSITION")
				if info.GetMetadata()["from"] != "draft" || info.GetMetadata()["to"] != "concluded" {
					t.Errorf("ErrorInfo metadata = %v", info.GetMetadata())
				}
			}},
		{name: "draft cannot pause", method: "POST", path: expPath + ":pause", token: s.admin, body: "{}",
			status: 400, code: codes.FailedPrecondition, reason: "ILLEGAL_STATUS_TRANSITION"},
		{name: "draft cannot archive", method: "POST", path: expPath + ":archive", token: s.admin, body: "{}",
			status: 400, code: codes.FailedPrecondition, reason: "ILLEGAL_STATUS_TRANSITION"},
		{name: "rename with the current etag", method: "PATCH", path: expPath + "?updateMask=name", token: s.admin,
			body: map[string]any{"name": "Checkout v2", "etag": e.Etag}, status: 200,
			check: func(t *testing.T, resp *gatewaytest.Response) {
				var out experimentEnvelope
				resp.JSON(t, &out)
				if out.Experiment.Name != "Checkout v2" || out.Experiment.Etag == "" || out.Experiment.Etag == staleEtag {
					t.Errorf("updated: %s", resp.Body)
				}
			}},
		{name: "stale etag is 409", method: "PATCH", path: expPath + "?updateMask=name", token: s.admin,
			body: map[string]any{"name": "lost update", "etag": staleEtag}, status: 409, code: codes.Aborted, reason: "ETAG_MISMATCH"},
		{name: "invalid weights on update are 400 naming variations", method: "PATCH", path: expPath + "?updateMask=variations", token: s.admin,
			body:   map[string]any{"variations": experimentBody("x", "purchase", 5000, 4000)["variations"]},
			status: 400, code: codes.InvalidArgument, reason: "INVALID_WEIGHTS",
			check: func(t *testing.T, resp *gatewaytest.Response) {
				if f := wantError(t, resp, 400, codes.InvalidArgument, "INVALID_WEIGHTS").GetMetadata()["field"]; f != "experiment.variations" {
					t.Errorf("ErrorInfo field = %q, want experiment.variations", f)
				}
			}},
		{name: "start", method: "POST", path: expPath + ":start", token: s.admin, body: "{}", status: 200, wantStatus: "EXPERIMENT_STATUS_RUNNING"},
		{name: "running cannot start again", method: "POST", path: expPath + ":start", token: s.admin, body: "{}",
			status: 400, code: codes.FailedPrecondition, reason: "ILLEGAL_STATUS_TRANSITION"},
		{name: "pause", method: "POST", path: expPath + ":pause", token: s.admin, body: "{}", status: 200, wantStatus: "EXPERIMENT_STATUS_PAUSED"},
		{name: "resume", method: "POST", path: expPath + ":start", token: s.admin, body: "{}", status: 200, wantStatus: "EXPERIMENT_STATUS_RUNNING"},
		{name: "running cannot be deleted", method: "DELETE", path: expPath, token: s.admin,
			status: 400, code: codes.FailedPrecondition, reason: "EXPERIMENT_NOT_DELETABLE"},
		{name: "conclude", method: "POST", path: expPath + ":conclude", token: s.admin, body: "{}", status: 200, wantStatus: "EXPERIMENT_STATUS_CONCLUDED"},
		{name: "concluded cannot start", method: "POST", path: expPath + ":start", token: s.admin, body: "{}",
			status: 400, code: codes.FailedPrecondition, reason: "ILLEGAL_STATUS_TRANSITION"},
		{name: "archive", method: "POST", path: expPath + ":archive", token: s.admin, body: "{}", status: 200, wantStatus: "EXPERIMENT_STATUS_ARCHIVED"},
		{name: "archived cannot start", method: "POST", path: expPath + ":start", token: s.admin, body: "{}",
			status: 400, code: codes.FailedPrecondition, reason: "ILLEGAL_STATUS_TRANSITION",
			check: func(t *testing.T, resp *gatewaytest.Response) {
				info := wantError(t, resp, 400, codes.FailedPrecondition, "ILLEGAL_STATUS_TRANSITION")
				if info.GetMetadata()["from"] != "archived" || info.GetMetadata()["to"] != "running" {
					t.Errorf("ErrorInfo metadata = %v", info.GetMetadata())
				}
			}},
		{name: "get after archive", method: "GET", path: expPath, token: s.read, status: 200, wantStatus: "EXPERIMENT_STATUS_ARCHIVED"},
		{name: "invalid weights on create are 400 naming variations", method: "POST", path: "/v1/projects/" + s.projectID + "/experiments",
			token: s.admin, body: experimentBody("bad_weights", "purchase", 5000, 5001),
			status: 400, code: codes.InvalidArgument, reason: "INVALID_WEIGHTS",
			check: func(t *testing.T, resp *gatewaytest.Response) {
				if f := wantError(t, resp, 400, codes.InvalidArgument, "INVALID_WEIGHTS").GetMetadata()["field"]; f != "experiment.variations" {
					t.Errorf("ErrorInfo field = %q, want experiment.variations", f)
				}
			}},
		{name: "read-only token cannot create", method: "POST", path: "/v1/projects/" + s.projectID + "/experiments",
			token: s.read, body: experimentBody("read_only", "purchase"), status: 403, code: codes.PermissionDenied},
		{name: "read-only token cannot start", method: "POST", path: victimPath + ":start", token: s.read, body: "{}",
			status: 403, code: codes.PermissionDenied},
		{name: "other account: GET is 404", method: "GET", path: victimPath, token: s.other,
			status: 404, code: codes.NotFound, reason: "EXPERIMENT_NOT_FOUND"},
		{name: "other account: PATCH is 404", method: "PATCH", path: victimPath + "?updateMask=name", token: s.other,
			body: map[string]any{"name": "taken over"}, status: 404, code: codes.NotFound, reason: "EXPERIMENT_NOT_FOUND"},
		{name: "other account: start is 404", method: "POST", path: victimPath + ":start", token: s.other, body: "{}",
			status: 404, code: codes.NotFound, reason: "EXPERIMENT_NOT_FOUND"},
		{name: "other account: DELETE is 404", method: "DELETE", path: victimPath, token: s.other,
			status: 404, code: codes.NotFound, reason: "EXPERIMENT_NOT_FOUND"},
		{name: "other account: create in the project is 404", method: "POST", path: "/v1/projects/" + s.projectID + "/experiments",
			token: s.other, body: experimentBody("intruder", "purchase"), status: 404, code: codes.NotFound},
		{name: "victim unchanged", method: "GET", path: victimPath, token: s.admin, status: 200, wantStatus: "EXPERIMENT_STATUS_DRAFT",
			check: func(t *testing.T, resp *gatewaytest.Response) {
				var out experimentEnvelope
				resp.JSON(t, &out)
				if out.Experiment.Name != "victim" || out.Experiment.Etag != victim.Etag {
					t.Errorf("another account's calls changed the experiment: %s (etag was %q)", resp.Body, victim.Etag)
				}
			}},
		{name: "delete archived", method: "DELETE", path: expPath, token: s.admin, status: 200},
		{name: "deleted is 404", method: "GET", path: expPath, token: s.admin, status: 404, code: codes.NotFound, reason: "EXPERIMENT_NOT_FOUND"},
		{name: "delete draft", method: "DELETE", path: victimPath, token: s.admin, status: 200},
	}
	for _, tc := range cases {
		if !t.Run(tc.name, func(t *testing.T) {
			resp := s.gw.Do(t, tc.method, tc.path, tc.token, tc.body)
			if tc.code != codes.OK {
				wantError(t, resp, tc.status, tc.code, tc.reason)
			} else if resp.Status != tc.status {
				t.Fatalf("status = %d, want %d; body %s", resp.Status, tc.status, resp.Body)
			}
			if tc.wantStatus != "" {
				var out experimentEnvelope
				resp.JSON(t, &out)
				if out.Experiment.Status != tc.wantStatus {
					t.Errorf("status = %q, want %q; body %s", out.Experiment.Status, tc.wantStatus, resp.Body)
				}
			}
			if tc.check != nil {
				tc.check(t, resp)
			}
		}) {
			t.FailNow() // later steps depend on earlier ones
		}
	}
}
