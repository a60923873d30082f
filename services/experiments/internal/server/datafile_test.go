package server_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"testing"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/liftlabs/lift/services/experiments/internal/datafile"
	"google.golang.org/protobuf/proto"
)

func parse(t testing.TB, resp *experimentsv1.GetDatafileResponse) *datafile.Datafile {
	t.Helper()
	d, err := datafile.Parse([]byte(resp.GetDatafile()))
	if err != nil {
		t.Fatalf("datafile JSON: %v", err)
	}
	return d
}

func experimentKeys(d *datafile.Datafile) []string {
	var keys []string
	for _, e := range d.Experiments {
		keys = append(keys, e.Key)
	}
	for _, g := range d.Groups {
		for _, e := range g.Experiments {
			keys = append(keys, e.Key)
		}
	}
	slices.Sort(keys)
	return keys
}

func TestDatafile_ContentsPerEnvironment(t *testing.T) {
	s := newStack(t)
	buy := s.createEvent(t, "purchase")
	f, err := s.c.CreateFlag(s.write, &experimentsv1.CreateFlagRequest{ProjectId: s.project.GetId(), Flag: &experimentsv1.Flag{
		Key: "checkout", Variables: []*experimentsv1.FlagVariable{{Key: "color", Type: experimentsv1.VariableType_VARIABLE_TYPE_STRING, DefaultValue: "blue"}}}})
	if err != nil {
		t.Fatal(err)
	}
	prod := s.start(t, s.createExperiment(t, "prod_only", func(e *experimentsv1.Experiment) {
		e.FlagId = f.GetFlag().GetId()
		e.Variations[1].Variables = map[string]string{"color": "red"}
		e.Metrics = []*experimentsv1.Metric{{EventKey: "purchase", Primary: true}}
		e.AudienceConditions = `{"name":"country","type":"custom_attribute","value":"US"}`
		e.TrafficAllocation = proto.Int32(5000)
	}))
	s.start(t, s.createExperiment(t, "both", func(e *experimentsv1.Experiment) { e.EnvironmentKeys = []string{"production", "development"} }))
	s.createExperiment(t, "draft", nil)

	resp := s.datafile(t, "production")
	d := parse(t, resp)
	if d.Version != "4" || d.ProjectID != s.project.GetId() || d.AccountID != s.acct.ID || d.SDKKey != s.envs["production"].GetSdkKey() ||
		d.EnvironmentKey != "production" || d.Revision != resp.GetRevision() {
		t.Fatalf("header: %+v", d)
	}
	if got := experimentKeys(d); !slices.Equal(got, []string{"both", "prod_only"}) {
		t.Fatalf("production experiments %v", got)
	}
	if got := experimentKeys(parse(t, s.datafile(t, "development"))); !slices.Equal(got, []string{"both"}) {
		t.Fatalf("development experiments %v", got)
	}
	x := d.Experiments[slices.IndexFunc(d.Experiments, func(e datafile.Experiment) bool { return e.Key == "prod_only" })]
	if x.ID != prod.GetId() || x.Status != "Running" || x.TrafficAllocation[1].EndOfRange != 5000 || x.TrafficAllocation[0].EndOfRange != 2500 ||
		x.Variations[0].ID != prod.GetVariations()[0].GetId() || x.Variations[1].Variables[0].Value != "red" {
		t.Errorf("experiment %+v", x)
	}
	if len(x.AudienceIDs) != 1 || len(d.TypedAudiences) != 1 || d.TypedAudiences[0].ID != x.AudienceIDs[0] {
		t.Errorf("audience wiring %+v %+v", x.AudienceIDs, d.TypedAudiences)
	}
	if len(d.Attributes) != 1 || d.Attributes[0].Key != "country" {
		t.Errorf("attributes %+v", d.Attributes)
	}
	if ff := d.FeatureFlags[0]; ff.ID != f.GetFlag().GetId() || !slices.Equal(ff.ExperimentIDs, []string{prod.GetId()}) || ff.Variables[0].DefaultValue != "blue" {
		t.Errorf("flag %+v", ff)
	}
	if ev := d.Events[0]; ev.ID != buy.GetId() || !slices.Equal(ev.ExperimentIDs, []string{prod.GetId()}) {
		t.Errorf("event %+v", ev)
	}
	if resp.GetEtag() == "" || resp.GetLastModified() == nil || resp.GetEnvironmentId() != s.envs["production"].GetId() {
		t.Errorf("response metadata %v", resp)
	}
	// A current ETag gets not_modified and no body.
	again, err := s.c.GetDatafile(context.Background(), &experimentsv1.GetDatafileRequest{SdkKey: s.envs["production"].GetSdkKey(), IfNoneMatch: resp.GetEtag()})
	if err != nil || !again.GetNotModified() || again.GetDatafile() != "" || again.GetEtag() != resp.GetEtag() {
		t.Fatalf("conditional get: %v %v", again, err)
	}
}

func TestDatafile_RevisionRisesOnlyWithContent(t *testing.T) {
	s := newStack(t)
	e := s.createExperiment(t, "exp", nil)
	rev := func() int64 {
		t.Helper()
		n, err := strconv.ParseInt(s.datafile(t, "production").GetRevision(), 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	r0 := rev()
	// Changes no SDK can see keep the revision.
	if _, err := s.c.UpdateExperiment(s.write, &experimentsv1.UpdateExperimentRequest{
		Experiment: &experimentsv1.Experiment{Id: e.GetId(), Name: "renamed", Description: "why"}, UpdateMask: mask("name", "description")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.c.CreateLayer(s.write, &experimentsv1.CreateLayerRequest{ProjectId: s.project.GetId(), Layer: &experimentsv1.Layer{Key: "unused"}}); err != nil {
		t.Fatal(err)
	}
	if r := rev(); r != r0 {
		t.Fatalf("invisible changes raised the revision %d → %d", r0, r)
	}
	s.start(t, e)
	r1 := rev()
	if r1 != r0+1 {
		t.Fatalf("start: revision %d → %d", r0, r1)
	}
	// Development does not run it: its datafile did not change.
	devBefore := s.datafile(t, "development").GetRevision()
	if _, err := s.c.UpdateExperiment(s.write, &experimentsv1.UpdateExperimentRequest{
		Experiment: &experimentsv1.Experiment{Id: e.GetId(), TrafficAllocation: proto.Int32(3000)}, UpdateMask: mask("traffic_allocation")}); err != nil {
		t.Fatal(err)
	}
	if r := rev(); r != r1+1 {
		t.Fatalf("traffic change: revision %d → %d", r1, r)
	}
	if got := s.datafile(t, "development").GetRevision(); got != devBefore {
		t.Fatalf("development revision %s → %s though its content did not change", devBefore, got)
	}
	s.createEvent(t, "purchase") // events are in every datafile
	if got := s.datafile(t, "development").GetRevision(); got == devBefore {
		t.Fatal("a new event did not raise the development revision")
	}
	r2 := rev()
	if _, err := s.c.PauseExperiment(s.write, &experimentsv1.PauseExperimentRequest{ExperimentId: e.GetId()}); err != nil {
		t.Fatal(err)
	}
	d := parse(t, s.datafile(t, "production"))
	if rev() != r2+1 || len(experimentKeys(d)) != 0 {
		t.Fatalf("paused experiment still served or revision not raised: %v", experimentKeys(d))
	}
}

func TestDatafile_IsServedFromCacheUntilItChanges(t *testing.T) {
	s := newStack(t)
	s.start(t, s.createExperiment(t, "exp", nil))
	a, b := s.datafile(t, "production"), s.datafile(t, "production")
	if a.GetDatafile() != b.GetDatafile() || a.GetEtag() != b.GetEtag() {
		t.Fatal("two reads of an unchanged datafile differ")
	}
	var doc map[string]any
	if err := json.Unmarshal([]byte(a.GetDatafile()), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"version", "projectId", "accountId", "revision", "experiments", "groups", "featureFlags", "rollouts",
		"audiences", "typedAudiences", "attributes", "events", "sdkKey", "environmentKey", "botFiltering", "anonymizeIP", "integrations"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("datafile lacks %q", k)
		}
	}
}
