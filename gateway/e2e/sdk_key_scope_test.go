package e2e

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
)

// impressionBatch is an SDK batch with one visitor's impression of
// experiment/variation in project.
func impressionBatch(project, experiment, variation, visitor string) string {
	ts := time.Now().UnixMilli()
	return fmt.Sprintf(`{"account_id":"1","project_id":%q,"visitors":[{"visitor_id":%q,"attributes":[],"snapshots":[{`+
		`"decisions":[{"campaign_id":"1","experiment_id":%q,"variation_id":%q,"is_campaign_holdback":false}],`+
		`"events":[{"entity_id":"1","key":"campaign_activated","uuid":"imp-%s-%d","timestamp":%d}]}]}]}`,
		project, visitor, experiment, variation, visitor, ts, ts)
}

// TestSDKKeyScope: an SDK key reads only its own environment's datafile,
// decides only on its own environment, and posts events only for its own
// project and the experiments of its environment; it is no API token.
func TestSDKKeyScope(t *testing.T) {
	s := newSecurityStack(t)
	a, b := s.a, s.b

	datafile := func(key string) (project, env string, experiments []string) {
		var df struct {
			ProjectID      string `json:"projectId"`
			EnvironmentKey string `json:"environmentKey"`
			Experiments    []struct {
				ID string `json:"id"`
			} `json:"experiments"`
		}
		s.do(t, "GET", "/datafiles/"+key+".json", "", nil, http.StatusOK, &df)
		for _, e := range df.Experiments {
			experiments = append(experiments, e.ID)
		}
		return df.ProjectID, df.EnvironmentKey, experiments
	}

	t.Run("a key's datafile is its own environment's only", func(t *testing.T) {
		for _, c := range []struct {
			key, project, env, has, hasNot string
		}{
			{a.sdkKey, a.project, "production", a.experiment, b.experiment},
			{b.sdkKey, b.project, "production", b.experiment, a.experiment},
			// The experiment runs in production only.
			{a.devSDKKey, a.project, "development", "", a.experiment},
		} {
			project, env, exps := datafile(c.key)
			if project != c.project || env != c.env {
				t.Errorf("key %s: datafile of project %s environment %s, want %s %s", c.key, project, env, c.project, c.env)
			}
			if c.has != "" && !slices.Contains(exps, c.has) {
				t.Errorf("key %s: datafile lacks experiment %s: %v", c.key, c.has, exps)
			}
			if slices.Contains(exps, c.hasNot) {
				t.Errorf("key %s: datafile holds experiment %s of another environment or account: %v", c.key, c.hasNot, exps)
			}
		}
		for _, key := range []string{"AAAAAAAAAAAAAAAAAAAAAA", a.sdkKey + "x", a.project, "../" + a.sdkKey} {
			resp := s.gw.Do(t, "GET", "/datafiles/"+url.PathEscape(key)+".json", "", nil)
			wantError(t, resp, http.StatusNotFound, codes.NotFound, "")
		}
	})

	t.Run("a key decides on its own environment only", func(t *testing.T) {
		var out struct {
			Decisions []struct {
				ExperimentID string `json:"experimentId"`
			} `json:"decisions"`
		}
		// Both accounts have an experiment keyed "checkout".
		s.do(t, "POST", "/v1/environments:decide", "", map[string]any{"sdkKey": b.sdkKey, "userId": "u1", "experimentKeys": []string{a.experimentKey}}, http.StatusOK, &out)
		if len(out.Decisions) != 1 || out.Decisions[0].ExperimentID != b.experiment {
			t.Errorf("B's key decided %+v, want B's experiment %s", out.Decisions, b.experiment)
		}
	})

	t.Run("a key posts events for its own project and environment only", func(t *testing.T) {
		before := visitors(t, s, a)
		for _, c := range []struct {
			name, key, body, reason string
		}{
			{"B's key, A's project", b.sdkKey, impressionBatch(a.project, a.experiment, a.variation, "x1"), "PROJECT_MISMATCH"},
			{"B's key, B's project, A's experiment", b.sdkKey, impressionBatch(b.project, a.experiment, a.variation, "x2"), "UNKNOWN_EXPERIMENT"},
			{"A's development key, a production-only experiment", a.devSDKKey, impressionBatch(a.project, a.experiment, a.variation, "x3"), "UNKNOWN_EXPERIMENT"},
		} {
			resp := s.gw.Do(t, "POST", "/v1/events?sdk_key="+url.QueryEscape(c.key), "", c.body)
			if resp.Status == http.StatusNoContent {
				t.Errorf("%s: accepted", c.name)
				continue
			}
			wantError(t, resp, http.StatusBadRequest, codes.InvalidArgument, c.reason)
		}
		if after := visitors(t, s, a); after != before {
			t.Fatalf("A's experiment reach changed from %s to %s", before, after)
		}
		// Positive control: A's own production key counts the visitor.
		s.do(t, "POST", "/v1/events?sdk_key="+url.QueryEscape(a.sdkKey), "", impressionBatch(a.project, a.experiment, a.variation, "a1"), http.StatusNoContent, nil)
		if after := visitors(t, s, a); after == before {
			t.Fatalf("A's own key did not count the visitor (reach %s)", after)
		}
	})

	t.Run("an SDK key is not an API token", func(t *testing.T) {
		for _, p := range []string{"/v1/projects", "/v1/projects/" + a.project} {
			wantError(t, s.gw.Do(t, "GET", p, a.sdkKey, nil), http.StatusUnauthorized, codes.Unauthenticated, "UNAUTHENTICATED")
		}
		// Without a key, a batch needs a write token.
		resp := s.gw.Do(t, "POST", "/v1/events", "", impressionBatch(a.project, a.experiment, a.variation, "x4"))
		wantError(t, resp, http.StatusUnauthorized, codes.Unauthenticated, "")
	})
}
