package smoke

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/liftlabs/lift/deploy/internal/apiclient"
)

// The events the suite sends, and so the exact results it expects: typed
// ingest brings t1, t2 (control) and t3, t4 (treatment) with conversions
// from t1 and t3; the SDK batch brings s1 (control), s2 and s3 (treatment)
// with a conversion from s2.
const (
	metricKey          = "smoke_purchase"
	wantReachControl   = 3
	wantReachTreatment = 4
	wantConvControl    = 1
	wantConvTreatment  = 2
)

// waitFor bounds polling for eventually consistent reads (the datafile is
// cached by experiments, and a live stack may aggregate asynchronously).
const (
	waitFor  = 15 * time.Second
	pollStep = 250 * time.Millisecond
)

// suite holds the variables carried from one response to the next.
type suite struct {
	c   *apiclient.Client
	run string // random per run, so names and event uuids never collide

	projectID, sdkKey, accountID string
	eventID                      string
	experimentID, layerID        string
	control, treatment           string // variation ids
	etag                         string // the datafile's
}

func newSuite(c *apiclient.Client) *suite {
	return &suite{c: c, run: rand.Text()[:10]}
}

func (s *suite) steps() []step {
	return []step{
		{name: "create project", run: s.createProject},
		{name: "find production SDK key", run: s.findSDKKey},
		{name: "create event (metric)", run: s.createEvent},
		{name: "create experiment", run: s.createExperiment},
		{name: "start experiment", run: s.startExperiment},
		{name: "datafile has the experiment", run: s.datafile},
		{name: "datafile 304 with If-None-Match", run: s.datafileNotModified},
		{name: "typed decide buckets the user", run: s.typedDecide},
		{name: "Agent decide answers Agent's JSON", run: s.agentDecide},
		{name: "ingest typed events", run: s.ingestTyped},
		{name: "post SDK event batch (204)", run: s.postSDKBatch},
		{name: "results have exact counts", run: s.results},
		{name: "/v2 results: one call, variations by name", run: s.v2Results},
		{name: "/v2 project overview", run: s.v2Overview},
		{name: "conclude experiment", run: s.experimentAction(":conclude"), cleanup: true},
		{name: "archive experiment", run: s.experimentAction(":archive"), cleanup: true},
		{name: "delete experiment", run: s.deleteExperiment, cleanup: true},
		{name: "delete project", run: s.deleteProject, cleanup: true},
	}
}

func (s *suite) createProject(ctx context.Context) (int, error) {
	var out struct {
		Project struct {
			ID string `json:"id"`
		} `json:"project"`
	}
	st, err := s.c.Do(ctx, "POST", "/v1/projects", map[string]any{"name": "Smoke " + s.run, "description": "Created by the API smoke suite"}, &out)
	if err == nil && out.Project.ID == "" {
		err = fmt.Errorf("no project id in the response")
	}
	s.projectID = out.Project.ID
	return st, err
}

func (s *suite) findSDKKey(ctx context.Context) (int, error) {
	var out struct {
		Environments []struct {
			Key    string `json:"key"`
			SDKKey string `json:"sdkKey"`
		} `json:"environments"`
	}
	st, err := s.c.Do(ctx, "GET", "/v1/projects/"+s.projectID+"/environments", nil, &out)
	if err != nil {
		return st, err
	}
	for _, e := range out.Environments {
		if e.Key == "production" {
			s.sdkKey = e.SDKKey
		}
	}
	if s.sdkKey == "" {
		return st, fmt.Errorf("no production environment with an SDK key among %d", len(out.Environments))
	}
	return st, nil
}

func (s *suite) createEvent(ctx context.Context) (int, error) {
	var out struct {
		Event struct {
			ID string `json:"id"`
		} `json:"event"`
	}
	st, err := s.c.Do(ctx, "POST", "/v1/projects/"+s.projectID+"/events", map[string]any{"key": metricKey, "name": "Smoke purchase"}, &out)
	if err == nil && out.Event.ID == "" {
		err = fmt.Errorf("no event id in the response")
	}
	s.eventID = out.Event.ID
	return st, err
}

type experimentBody struct {
	Experiment struct {
		ID         string `json:"id"`
		LayerID    string `json:"layerId"`
		Status     string `json:"status"`
		Variations []struct {
			ID  string `json:"id"`
			Key string `json:"key"`
		} `json:"variations"`
	} `json:"experiment"`
}

func (s *suite) createExperiment(ctx context.Context) (int, error) {
	body := map[string]any{
		"key": "smoke_" + s.run, "name": "Smoke " + s.run,
		"variations": []map[string]any{
			{"key": "control", "name": "Control", "weight": 5000, "baseline": true},
			{"key": "treatment", "name": "Treatment", "weight": 5000},
		},
		"metrics":         []map[string]any{{"eventKey": metricKey, "primary": true}},
		"environmentKeys": []string{"production"},
	}
	var out experimentBody
	st, err := s.c.Do(ctx, "POST", "/v1/projects/"+s.projectID+"/experiments", body, &out)
	if err != nil {
		return st, err
	}
	s.experimentID, s.layerID = out.Experiment.ID, out.Experiment.LayerID
	for _, v := range out.Experiment.Variations {
		switch v.Key {
		case "control":
			s.control = v.ID
		case "treatment":
			s.treatment = v.ID
		}
	}
	if s.experimentID == "" || s.control == "" || s.treatment == "" {
		return st, fmt.Errorf("experiment id %q, variations %q/%q: want all set", s.experimentID, s.control, s.treatment)
	}
	return st, nil
}

func (s *suite) startExperiment(ctx context.Context) (int, error) {
	var out experimentBody
	st, err := s.c.Do(ctx, "POST", "/v1/experiments/"+s.experimentID+":start", map[string]any{}, &out)
	if err == nil && out.Experiment.Status != "EXPERIMENT_STATUS_RUNNING" {
		err = fmt.Errorf("status after start = %q, want EXPERIMENT_STATUS_RUNNING", out.Experiment.Status)
	}
	return st, err
}

// datafile polls until the datafile lists the running experiment, since
// experiments may serve it from a short-lived cache.
func (s *suite) datafile(ctx context.Context) (int, error) {
	path := "/datafiles/" + url.PathEscape(s.sdkKey) + ".json"
	deadline := time.Now().Add(waitFor)
	for {
		var df struct {
			AccountID   string `json:"accountId"`
			ProjectID   string `json:"projectId"`
			Experiments []struct {
				ID         string `json:"id"`
				Status     string `json:"status"`
				Variations []struct {
					ID string `json:"id"`
				} `json:"variations"`
			} `json:"experiments"`
		}
		st, hdr, err := s.c.DoHeaders(ctx, "GET", path, nil, nil, &df)
		if err != nil {
			return st, err
		}
		s.accountID, s.etag = df.AccountID, hdr.Get("ETag")
		for _, e := range df.Experiments {
			if e.ID == s.experimentID {
				if e.Status != "Running" || len(e.Variations) != 2 {
					return st, fmt.Errorf("datafile experiment: status %q, %d variations; want Running, 2", e.Status, len(e.Variations))
				}
				if s.etag == "" {
					return st, fmt.Errorf("datafile has no ETag")
				}
				return st, nil
			}
		}
		if time.Now().After(deadline) {
			return st, fmt.Errorf("experiment %s not in the datafile after %v", s.experimentID, waitFor)
		}
		if err := pause(ctx); err != nil {
			return st, err
		}
	}
}

func (s *suite) datafileNotModified(ctx context.Context) (int, error) {
	st, hdr, err := s.c.DoHeaders(ctx, "GET", "/datafiles/"+url.PathEscape(s.sdkKey)+".json",
		http.Header{"If-None-Match": {s.etag}}, nil, nil)
	if err == nil && st != http.StatusNotModified {
		err = fmt.Errorf("status %d, want 304", st)
	}
	if err == nil && hdr.Get("ETag") != s.etag {
		err = fmt.Errorf("ETag %q on 304, want %q", hdr.Get("ETag"), s.etag)
	}
	return st, err
}

// typedDecide decides a user over POST /v1/environments:decide: the
// running experiment is decided, into one of its variations (its traffic
// is 100%).
func (s *suite) typedDecide(ctx context.Context) (int, error) {
	var out struct {
		Decisions []struct {
			ExperimentID string `json:"experimentId"`
			VariationID  string `json:"variationId"`
			Reason       string `json:"reason"`
		} `json:"decisions"`
	}
	st, err := s.c.Do(ctx, "POST", "/v1/environments:decide", map[string]any{"sdkKey": s.sdkKey, "userId": "smoke-" + s.run}, &out)
	if err != nil {
		return st, err
	}
	for _, d := range out.Decisions {
		if d.ExperimentID == s.experimentID {
			if d.VariationID != s.control && d.VariationID != s.treatment {
				return st, fmt.Errorf("decision %+v: want a variation of the experiment", d)
			}
			return st, nil
		}
	}
	return st, fmt.Errorf("experiment %s not decided: %+v", s.experimentID, out.Decisions)
}

// agentDecide calls Optimizely Agent's decide endpoint (no flags in this
// project, so no decisions; DISABLE_DECISION_EVENT keeps the results
// exact) and checks the answer is Agent's JSON array.
func (s *suite) agentDecide(ctx context.Context) (int, error) {
	var out []map[string]any
	st, _, err := s.c.DoHeaders(ctx, "POST", "/v1/decide", http.Header{"X-Optimizely-SDK-Key": {s.sdkKey}},
		map[string]any{"userId": "smoke-" + s.run, "decideOptions": []string{"DISABLE_DECISION_EVENT"}}, &out)
	if err == nil && out == nil {
		err = fmt.Errorf("the answer is not a JSON array")
	}
	return st, err
}

// ingestTyped posts four visitors through the typed ingest API.
func (s *suite) ingestTyped(ctx context.Context) (int, error) {
	ts := time.Now().Add(-5 * time.Second).UnixMilli()
	visitor := func(n int, variation string, converts bool) map[string]any {
		events := []map[string]any{{"entityId": s.layerID, "key": "campaign_activated", "timestamp": ts, "uuid": fmt.Sprintf("smoke-%s-imp-t%d", s.run, n)}}
		if converts {
			events = append(events, map[string]any{"entityId": s.eventID, "key": metricKey, "timestamp": ts + 1000, "uuid": fmt.Sprintf("smoke-%s-conv-t%d", s.run, n)})
		}
		return map[string]any{
			"visitorId": fmt.Sprintf("smoke-%s-t%d", s.run, n),
			"snapshots": []map[string]any{{
				"decisions": []map[string]any{{"campaignId": s.layerID, "experimentId": s.experimentID, "variationId": variation}},
				"events":    events,
			}},
		}
	}
	body := map[string]any{"visitors": []map[string]any{
		visitor(1, s.control, true), visitor(2, s.control, false),
		visitor(3, s.treatment, true), visitor(4, s.treatment, false),
	}}
	var out struct {
		AcceptedEvents int `json:"acceptedEvents"`
	}
	st, err := s.c.Do(ctx, "POST", "/v1/projects/"+s.projectID+"/events:ingest", body, &out)
	if err == nil && out.AcceptedEvents != 6 {
		err = fmt.Errorf("acceptedEvents = %d, want 6", out.AcceptedEvents)
	}
	return st, err
}

// postSDKBatch posts three visitors in the Optimizely SDK event format, the
// way an SDK's event dispatcher does: keyed by ?sdk_key=, answered by 204.
func (s *suite) postSDKBatch(ctx context.Context) (int, error) {
	ts := time.Now().Add(-5 * time.Second).UnixMilli()
	impression := func(n int, variation string) map[string]any {
		return map[string]any{
			"decisions": []map[string]any{{"campaign_id": s.layerID, "experiment_id": s.experimentID, "variation_id": variation,
				"metadata": map[string]any{"rule_key": "smoke_" + s.run, "rule_type": "experiment", "enabled": true}}},
			"events": []map[string]any{{"entity_id": s.layerID, "key": "campaign_activated", "timestamp": ts, "uuid": fmt.Sprintf("smoke-%s-imp-s%d", s.run, n)}},
		}
	}
	conversion := map[string]any{"events": []map[string]any{{"entity_id": s.eventID, "key": metricKey, "timestamp": ts + 1000, "uuid": fmt.Sprintf("smoke-%s-conv-s2", s.run)}}}
	visitor := func(n int, snaps ...map[string]any) map[string]any {
		return map[string]any{"visitor_id": fmt.Sprintf("smoke-%s-s%d", s.run, n), "attributes": []any{}, "snapshots": snaps}
	}
	batch := map[string]any{
		"revision": "1", "account_id": s.accountID, "project_id": s.projectID,
		"client_name": "go-sdk", "client_version": "2.3.1", "enrich_decisions": true,
		"visitors": []map[string]any{
			visitor(1, impression(1, s.control)),
			visitor(2, impression(2, s.treatment), conversion),
			visitor(3, impression(3, s.treatment)),
		},
	}
	st, err := s.c.Do(ctx, "POST", "/v1/events?sdk_key="+url.QueryEscape(s.sdkKey), batch, nil)
	if err == nil && st != http.StatusNoContent {
		err = fmt.Errorf("status %d, want 204", st)
	}
	return st, err
}

// results polls until the counts are exact (a live stack may still be
// aggregating), failing with the last mismatch.
func (s *suite) results(ctx context.Context) (int, error) {
	deadline := time.Now().Add(waitFor)
	for {
		var out apiclient.ExperimentResults
		st, err := s.c.Do(ctx, "GET", "/v1/experiments/"+s.experimentID+"/results", nil, &out)
		if err != nil {
			return st, err
		}
		mismatch := s.checkResults(&out)
		if mismatch == nil {
			return st, nil
		}
		if time.Now().After(deadline) {
			return st, mismatch
		}
		if err := pause(ctx); err != nil {
			return st, err
		}
	}
}

func (s *suite) checkResults(r *apiclient.ExperimentResults) error {
	want := map[string][2]int64{s.control: {wantReachControl, wantConvControl}, s.treatment: {wantReachTreatment, wantConvTreatment}}
	if got := r.Results.Reach.TotalCount; got != wantReachControl+wantReachTreatment {
		return fmt.Errorf("reach total = %d, want %d", got, wantReachControl+wantReachTreatment)
	}
	for _, v := range r.Results.Reach.Variations {
		if v.Count != want[v.VariationID][0] {
			return fmt.Errorf("reach of %s = %d, want %d", v.VariationID, v.Count, want[v.VariationID][0])
		}
	}
	for _, m := range r.Results.Metrics {
		if m.EventKey != metricKey {
			continue
		}
		if len(m.Results) != 2 {
			return fmt.Errorf("%s: %d variation results, want 2", metricKey, len(m.Results))
		}
		for _, v := range m.Results {
			w := want[v.VariationID]
			if v.Samples != w[0] || v.Converters != w[1] || v.Conversions != w[1] {
				return fmt.Errorf("%s for %s: samples %d, converters %d, conversions %d; want %d, %d, %d",
					metricKey, v.VariationID, v.Samples, v.Converters, v.Conversions, w[0], w[1], w[1])
			}
		}
		return nil
	}
	return fmt.Errorf("no results for metric %s", metricKey)
}

func (s *suite) experimentAction(verb string) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		if s.experimentID == "" {
			return 0, errSkip
		}
		return s.c.Do(ctx, "POST", "/v1/experiments/"+s.experimentID+verb, map[string]any{}, nil)
	}
}

func (s *suite) deleteExperiment(ctx context.Context) (int, error) {
	if s.experimentID == "" {
		return 0, errSkip
	}
	st, err := s.c.Do(ctx, "DELETE", "/v1/experiments/"+s.experimentID, nil, nil)
	if err != nil {
		return st, err
	}
	// The experiment must be gone, not merely marked.
	got, err := s.c.Do(ctx, "GET", "/v1/experiments/"+s.experimentID, nil, nil)
	if e, ok := err.(*apiclient.Error); ok && e.Status == http.StatusNotFound {
		return st, nil
	}
	return st, fmt.Errorf("GET after delete: status %d, err %v; want 404", got, err)
}

func (s *suite) deleteProject(ctx context.Context) (int, error) {
	if s.projectID == "" {
		return 0, errSkip
	}
	return s.c.Do(ctx, "DELETE", "/v1/projects/"+s.projectID, nil, nil)
}

func pause(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(pollStep):
		return nil
	}
}
