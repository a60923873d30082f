package e2e

import (
	"net/http"
	"strings"
	"testing"

	"github.com/liftlabs/lift/gateway/internal/stacktest"
	"google.golang.org/grpc/codes"
)

// Deleting a project is refused while experiments still holds its flags or
// experiments (identity asks experiments over its internal RPC), and goes
// through once they are deleted; an empty project deletes at once.
func TestDeleteProject_RefusedUntilItsFlagsAndExperimentsAreDeleted(t *testing.T) {
	t.Parallel()
	st := stacktest.Start(t)
	project := "/v1/projects/" + st.ProjectID
	var flag struct {
		Flag struct {
			ID string `json:"id"`
		} `json:"flag"`
	}
	st.Must(t, "POST", project+"/flags", st.Admin, map[string]any{"key": "checkout"}, http.StatusCreated, &flag)
	exp := st.CreateExperiment(t, "button")

	resp := st.GW.Do(t, "DELETE", project, st.Admin, nil)
	info := wantError(t, resp, http.StatusBadRequest, codes.FailedPrecondition, "PROJECT_NOT_EMPTY")
	if info.GetMetadata()["flags"] != "1" || info.GetMetadata()["experiments"] != "1" {
		t.Errorf("metadata = %v", info.GetMetadata())
	}
	if msg := resp.Error(t).GetMessage(); !strings.Contains(msg, "1 flags, 1 experiments") {
		t.Errorf("message = %q, want the counts", msg)
	}
	st.Must(t, "GET", project, st.Admin, nil, http.StatusOK, nil)

	st.Must(t, "DELETE", "/v1/flags/"+flag.Flag.ID, st.Admin, nil, http.StatusOK, nil)
	wantError(t, st.GW.Do(t, "DELETE", project, st.Admin, nil), http.StatusBadRequest, codes.FailedPrecondition, "PROJECT_NOT_EMPTY")
	st.Must(t, "DELETE", "/v1/experiments/"+exp.ID, st.Admin, nil, http.StatusOK, nil)
	st.Must(t, "DELETE", project, st.Admin, nil, http.StatusOK, nil)
	st.Must(t, "GET", project, st.Admin, nil, http.StatusNotFound, nil)

	var empty struct {
		Project struct {
			ID string `json:"id"`
		} `json:"project"`
	}
	st.Must(t, "POST", "/v1/projects", st.Admin, map[string]any{"name": "empty"}, http.StatusCreated, &empty)
	st.Must(t, "DELETE", "/v1/projects/"+empty.Project.ID, st.Admin, nil, http.StatusOK, nil)
}
