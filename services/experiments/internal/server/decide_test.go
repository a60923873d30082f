package server_test

import (
	"context"
	"testing"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

const (
	bucketed      = experimentsv1.DecisionReason_DECISION_REASON_BUCKETED
	notInAudience = experimentsv1.DecisionReason_DECISION_REASON_NOT_IN_AUDIENCE
	notInTraffic  = experimentsv1.DecisionReason_DECISION_REASON_NOT_IN_TRAFFIC
	notInLayer    = experimentsv1.DecisionReason_DECISION_REASON_NOT_IN_LAYER
	notRunning    = experimentsv1.DecisionReason_DECISION_REASON_NOT_RUNNING
)

func (s *stack) decide(t testing.TB, user string, attrs map[string]any, keys ...string) []*experimentsv1.ExperimentDecision {
	t.Helper()
	a, err := structpb.NewStruct(attrs)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := s.c.Decide(context.Background(), &experimentsv1.DecideRequest{
		SdkKey: s.envs["production"].GetSdkKey(), UserId: user, Attributes: a.GetFields(), ExperimentKeys: keys})
	if err != nil {
		t.Fatalf("decide: %v", err)
	}
	return resp.GetDecisions()
}

func TestDecide_Audience(t *testing.T) {
	s := newStack(t)
	s.start(t, s.createExperiment(t, "us_adults", func(e *experimentsv1.Experiment) {
		e.AudienceConditions = `["and", {"name":"country","type":"custom_attribute","match":"exact","value":"US"},
			{"name":"age","type":"custom_attribute","match":"ge","value":18}]`
	}))
	cases := []struct {
		attrs map[string]any
		want  experimentsv1.DecisionReason
	}{
		{map[string]any{"country": "US", "age": 30}, bucketed},
		{map[string]any{"country": "US", "age": 17}, notInAudience},
		{map[string]any{"country": "FR", "age": 30}, notInAudience},
		{map[string]any{"country": "US"}, notInAudience}, // unknown counts as no match
		{map[string]any{"country": "US", "age": "30"}, notInAudience},
		{nil, notInAudience},
	}
	for _, c := range cases {
		d := s.decide(t, "user-1", c.attrs, "us_adults")[0]
		if d.GetReason() != c.want || (c.want == bucketed) != (d.GetVariationKey() != "") {
			t.Errorf("%v: %v", c.attrs, d)
		}
	}
	if d := s.decide(t, "user-1", nil, "no_such")[0]; d.GetReason() != notRunning {
		t.Errorf("unknown key: %v", d)
	}
}

func TestDecide_PartialTrafficAllocation(t *testing.T) {
	s := newStack(t)
	s.start(t, s.createExperiment(t, "quarter", func(e *experimentsv1.Experiment) { e.TrafficAllocation = proto.Int32(2500) }))
	in := map[string]int{}
	for _, u := range users(4000) {
		d := s.decide(t, u, nil, "quarter")[0]
		switch d.GetReason() {
		case bucketed:
			in[d.GetVariationKey()]++
		case notInTraffic:
		default:
			t.Fatalf("%s: %v", u, d)
		}
	}
	// 25 % of 4000 = 1000 ± 6 sd (sd ≈ 27), split 50/50.
	total := in["control"] + in["treatment"]
	if total < 840 || total > 1160 || in["control"] < 380 || in["treatment"] < 380 {
		t.Fatalf("in experiment: %v", in)
	}
}

func TestDecide_LayerExperimentsNeverShareAUser(t *testing.T) {
	s := newStack(t)
	l, err := s.c.CreateLayer(s.write, &experimentsv1.CreateLayerRequest{ProjectId: s.project.GetId(), Layer: &experimentsv1.Layer{Key: "homepage"}})
	if err != nil {
		t.Fatal(err)
	}
	layerID := l.GetLayer().GetId()
	a := s.start(t, s.createExperiment(t, "hero", func(e *experimentsv1.Experiment) { e.LayerId, e.LayerTrafficAllocation = layerID, 6000 }))
	b := s.start(t, s.createExperiment(t, "banner", func(e *experimentsv1.Experiment) { e.LayerId, e.LayerTrafficAllocation = layerID, 4000 }))
	if a.GetLayerRange().GetStart() != 0 || a.GetLayerRange().GetEnd() != 6000 || b.GetLayerRange().GetStart() != 6000 || b.GetLayerRange().GetEnd() != 10000 {
		t.Fatalf("ranges %v %v", a.GetLayerRange(), b.GetLayerRange())
	}
	// The layer is full now.
	_, err = s.c.CreateExperiment(s.write, &experimentsv1.CreateExperimentRequest{ProjectId: s.project.GetId(), Experiment: &experimentsv1.Experiment{
		Key: "third", Variations: twoArms(), LayerId: layerID, LayerTrafficAllocation: 1}})
	if info := wantCode(t, err, codes.FailedPrecondition); info.GetReason() != "LAYER_FULL" {
		t.Fatalf("full layer: %v", info)
	}
	inA, inB := 0, 0
	for _, u := range users(10000) {
		ds := s.decide(t, u, nil, "hero", "banner")
		da, db := ds[0], ds[1]
		if da.GetReason() == bucketed && db.GetReason() == bucketed {
			t.Fatalf("%s is in both experiments of a layer", u)
		}
		switch {
		case da.GetReason() == bucketed && db.GetReason() == notInLayer:
			inA++
		case db.GetReason() == bucketed && da.GetReason() == notInLayer:
			inB++
		default:
			t.Fatalf("%s: %v %v", u, da, db)
		}
	}
	// 60/40 of 10000: sd ≈ 49.
	if inA < 5700 || inA > 6300 {
		t.Fatalf("split %d/%d, want about 6000/4000", inA, inB)
	}
	// Concluding gives the range back; a new experiment can take it.
	if _, err := s.c.ConcludeExperiment(s.write, &experimentsv1.ConcludeExperimentRequest{ExperimentId: b.GetId()}); err != nil {
		t.Fatal(err)
	}
	c := s.createExperiment(t, "third", func(e *experimentsv1.Experiment) { e.LayerId, e.LayerTrafficAllocation = layerID, 3000 })
	if c.GetLayerRange().GetStart() != 6000 || c.GetLayerRange().GetEnd() != 9000 {
		t.Fatalf("reused range %v", c.GetLayerRange())
	}
	got, err := s.c.GetLayer(s.read, &experimentsv1.GetLayerRequest{LayerId: layerID})
	if err != nil || len(got.GetLayer().GetAllocations()) != 2 || got.GetLayer().GetFreeTraffic() != 1000 {
		t.Fatalf("layer %v %v", got, err)
	}
}

func TestDecide_FlagsAndTokenPath(t *testing.T) {
	s := newStack(t)
	f, err := s.c.CreateFlag(s.write, &experimentsv1.CreateFlagRequest{ProjectId: s.project.GetId(), Flag: &experimentsv1.Flag{
		Key: "checkout", Variables: []*experimentsv1.FlagVariable{{Key: "color", Type: experimentsv1.VariableType_VARIABLE_TYPE_STRING, DefaultValue: "blue"}}}})
	if err != nil {
		t.Fatal(err)
	}
	s.start(t, s.createExperiment(t, "paint", func(e *experimentsv1.Experiment) {
		e.FlagId = f.GetFlag().GetId()
		e.Variations = []*experimentsv1.Variation{{Key: "red", Weight: 10000, Baseline: true, FeatureEnabled: true, Variables: map[string]string{"color": "red"}}}
		e.Variations = append(e.Variations, &experimentsv1.Variation{Key: "unused", Weight: 0})
	}))
	resp, err := s.c.Decide(s.read, &experimentsv1.DecideRequest{ProjectId: s.project.GetId(), EnvironmentKey: "production", UserId: "u1", FlagKeys: []string{"checkout"}})
	if err != nil {
		t.Fatal(err)
	}
	fd := resp.GetFlags()[0]
	if !fd.GetEnabled() || fd.GetExperimentKey() != "paint" || fd.GetVariationKey() != "red" || fd.GetVariables()["color"] != "red" || len(resp.GetDecisions()) != 0 {
		t.Fatalf("flag decision %v", resp)
	}
	// Nothing asked: everything decided.
	all, err := s.c.Decide(s.read, &experimentsv1.DecideRequest{ProjectId: s.project.GetId(), EnvironmentKey: "production", UserId: "u1"})
	if err != nil || len(all.GetDecisions()) != 1 || len(all.GetFlags()) != 1 || all.GetRevision() == "" {
		t.Fatalf("decide all: %v %v", all, err)
	}
	_, err = s.c.Decide(s.read, &experimentsv1.DecideRequest{ProjectId: s.project.GetId(), EnvironmentKey: "production", UserId: "u1", FlagKeys: []string{"nope"}})
	wantCode(t, err, codes.NotFound)
	_, err = s.c.Decide(s.read, &experimentsv1.DecideRequest{ProjectId: s.project.GetId(), EnvironmentKey: "staging", UserId: "u1"})
	wantCode(t, err, codes.NotFound)
}
