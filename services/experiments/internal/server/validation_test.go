package server_test

import (
	"testing"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

func TestCreateExperiment_InvalidInputNamesTheField(t *testing.T) {
	s := newStack(t)
	s.createEvent(t, "purchase")
	cases := []struct {
		name   string
		edit   func(*experimentsv1.Experiment)
		field  string // ErrorInfo metadata "field" (handler checks)
		reason string
	}{
		{"weights sum", func(e *experimentsv1.Experiment) { e.Variations[1].Weight = 4000 }, "experiment.variations", "INVALID_WEIGHTS"},
		{"audience", func(e *experimentsv1.Experiment) {
			e.AudienceConditions = `["and", {"name":"age","type":"custom_attribute","match":"gt","value":"old"}]`
		}, "experiment.audience_conditions", "INVALID_AUDIENCE_CONDITIONS"},
		{"unknown event", func(e *experimentsv1.Experiment) {
			e.Metrics = []*experimentsv1.Metric{{EventKey: "nope", Primary: true}}
		}, "experiment.metrics", "UNKNOWN_EVENT"},
		{"unknown environment", func(e *experimentsv1.Experiment) { e.EnvironmentKeys = []string{"staging"} }, "experiment.environment_keys", "UNKNOWN_ENVIRONMENT"},
		{"unknown flag", func(e *experimentsv1.Experiment) { e.FlagId = "999999999" }, "experiment.flag_id", "UNKNOWN_FLAG"},
		{"variables without flag", func(e *experimentsv1.Experiment) { e.Variations[0].Variables = map[string]string{"a": "b"} }, "experiment.variations[0].variables", "VARIABLES_WITHOUT_FLAG"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := &experimentsv1.Experiment{Key: "exp", Variations: twoArms()}
			c.edit(e)
			_, err := s.c.CreateExperiment(s.write, &experimentsv1.CreateExperimentRequest{ProjectId: s.project.GetId(), Experiment: e})
			info := wantCode(t, err, codes.InvalidArgument)
			if info.GetMetadata()["field"] != c.field || info.GetReason() != c.reason {
				t.Fatalf("error info %v, want field %s reason %s", info, c.field, c.reason)
			}
		})
	}
	// Rules declared in the proto (protovalidate) also reject.
	protoCases := map[string]func(*experimentsv1.Experiment){
		"weight over 10000": func(e *experimentsv1.Experiment) { e.Variations[0].Weight = 10001 },
		"no baseline":       func(e *experimentsv1.Experiment) { e.Variations[0].Baseline = false },
		"two baselines":     func(e *experimentsv1.Experiment) { e.Variations[1].Baseline = true },
		"one variation":     func(e *experimentsv1.Experiment) { e.Variations = e.Variations[:1] },
		"21 variations": func(e *experimentsv1.Experiment) {
			for i := range 19 {
				e.Variations = append(e.Variations, &experimentsv1.Variation{Key: "v" + string(rune('a'+i))})
			}
		},
		"duplicate variation keys": func(e *experimentsv1.Experiment) { e.Variations[1].Key = "control" },
		"traffic over 10000":       func(e *experimentsv1.Experiment) { e.TrafficAllocation = proto.Int32(10001) },
		"bad key":                  func(e *experimentsv1.Experiment) { e.Key = "has space" },
		"two primary metrics": func(e *experimentsv1.Experiment) {
			e.Metrics = []*experimentsv1.Metric{{EventKey: "a", Primary: true}, {EventKey: "b", Primary: true}}
		},
		"layer without share": func(e *experimentsv1.Experiment) { e.LayerId = "123" },
		"primary metric as guardrail": func(e *experimentsv1.Experiment) {
			e.Metrics = []*experimentsv1.Metric{{EventKey: "a", Primary: true, Role: experimentsv1.MetricRole_METRIC_ROLE_GUARDRAIL}}
		},
		"capped conversion rate": func(e *experimentsv1.Experiment) {
			e.Metrics = []*experimentsv1.Metric{{EventKey: "a", Primary: true, Capping: &experimentsv1.MetricCapping{
				Cap: &experimentsv1.MetricCapping_Value{Value: 5}}}}
		},
		"capping percentile 1": func(e *experimentsv1.Experiment) {
			e.Metrics = []*experimentsv1.Metric{{EventKey: "a", Primary: true, Kind: experimentsv1.MetricKind_METRIC_KIND_REVENUE_PER_VISITOR,
				Capping: &experimentsv1.MetricCapping{Cap: &experimentsv1.MetricCapping_Percentile{Percentile: 1}}}}
		},
		"undefined metric kind": func(e *experimentsv1.Experiment) {
			e.Metrics = []*experimentsv1.Metric{{EventKey: "a", Primary: true, Kind: 9}}
		},
	}
	for name, edit := range protoCases {
		e := &experimentsv1.Experiment{Key: "exp", Variations: twoArms()}
		edit(e)
		_, err := s.c.CreateExperiment(s.write, &experimentsv1.CreateExperimentRequest{ProjectId: s.project.GetId(), Experiment: e})
		if st := codes.InvalidArgument; err == nil || wantCodeQuiet(err) != st {
			t.Errorf("%s: got %v, want InvalidArgument", name, err)
		}
	}
}

func TestCreateExperiment_CanonicalisesAudienceAndKeepsMetrics(t *testing.T) {
	s := newStack(t)
	s.createEvent(t, "purchase")
	s.createEvent(t, "signup")
	e := s.createExperiment(t, "aud", func(e *experimentsv1.Experiment) {
		e.AudienceConditions = `[{"name":"country","type":"custom_attribute","value":"US"}]`
		e.Metrics = []*experimentsv1.Metric{{EventKey: "signup"}, {EventKey: "purchase", Primary: true}}
	})
	if want := `["or",{"match":"exact","name":"country","type":"custom_attribute","value":"US"}]`; e.GetAudienceConditions() != want {
		t.Errorf("conditions stored as %s, want %s", e.GetAudienceConditions(), want)
	}
	if len(e.GetMetrics()) != 2 || e.GetMetrics()[1].GetEventKey() != "purchase" || !e.GetMetrics()[1].GetPrimary() {
		t.Errorf("metrics %v", e.GetMetrics())
	}
	// An event in use cannot be deleted.
	list, _ := s.c.ListEvents(s.read, &experimentsv1.ListEventsRequest{ProjectId: s.project.GetId()})
	_, err := s.c.DeleteEvent(s.write, &experimentsv1.DeleteEventRequest{EventId: list.GetEvents()[0].GetId()})
	wantCode(t, err, codes.FailedPrecondition)
}

func TestCreateExperiment_KeepsMetricDefinitions(t *testing.T) {
	s := newStack(t)
	for _, k := range []string{"purchase", "refund", "latency"} {
		s.createEvent(t, k)
	}
	want := []*experimentsv1.Metric{
		{EventKey: "purchase", Primary: true, Role: experimentsv1.MetricRole_METRIC_ROLE_PRIMARY,
			Kind:    experimentsv1.MetricKind_METRIC_KIND_REVENUE_PER_VISITOR,
			Capping: &experimentsv1.MetricCapping{Cap: &experimentsv1.MetricCapping_Percentile{Percentile: 0.99}}},
		{EventKey: "refund", Kind: experimentsv1.MetricKind_METRIC_KIND_UNIQUE_CONVERSIONS,
			Direction: experimentsv1.MetricDirection_METRIC_DIRECTION_DECREASE, Role: experimentsv1.MetricRole_METRIC_ROLE_GUARDRAIL},
		{EventKey: "latency", Kind: experimentsv1.MetricKind_METRIC_KIND_VALUE_PER_VISITOR,
			Direction: experimentsv1.MetricDirection_METRIC_DIRECTION_DECREASE,
			Capping:   &experimentsv1.MetricCapping{Cap: &experimentsv1.MetricCapping_Value{Value: 5000}}},
	}
	e := s.createExperiment(t, "defs", func(e *experimentsv1.Experiment) { e.Metrics = want })
	got, err := s.c.GetExperiment(s.read, &experimentsv1.GetExperimentRequest{ExperimentId: e.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range got.GetExperiment().GetMetrics() {
		if !proto.Equal(m, want[i]) {
			t.Errorf("metric %d stored as %v, want %v", i, m, want[i])
		}
	}
}

func TestFlags_VariablesAreTypedAndGuarded(t *testing.T) {
	s := newStack(t)
	_, err := s.c.CreateFlag(s.write, &experimentsv1.CreateFlagRequest{ProjectId: s.project.GetId(), Flag: &experimentsv1.Flag{
		Key: "f", Variables: []*experimentsv1.FlagVariable{{Key: "n", Type: experimentsv1.VariableType_VARIABLE_TYPE_INTEGER, DefaultValue: "x"}}}})
	if info := wantCode(t, err, codes.InvalidArgument); info.GetMetadata()["field"] != "flag.variables[0].default_value" {
		t.Errorf("info %v", info)
	}
	f, err := s.c.CreateFlag(s.write, &experimentsv1.CreateFlagRequest{ProjectId: s.project.GetId(), Flag: &experimentsv1.Flag{
		Key: "f", Variables: []*experimentsv1.FlagVariable{{Key: "n", Type: experimentsv1.VariableType_VARIABLE_TYPE_INTEGER, DefaultValue: "1"}}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.c.CreateFlag(s.write, &experimentsv1.CreateFlagRequest{ProjectId: s.project.GetId(), Flag: &experimentsv1.Flag{Key: "f"}})
	wantCode(t, err, codes.AlreadyExists)
	s.createExperiment(t, "uses_n", func(e *experimentsv1.Experiment) {
		e.FlagId = f.GetFlag().GetId()
		e.Variations[1].Variables = map[string]string{"n": "42"}
	})
	_, err = s.c.CreateExperiment(s.write, &experimentsv1.CreateExperimentRequest{ProjectId: s.project.GetId(), Experiment: &experimentsv1.Experiment{
		Key: "bad_n", FlagId: f.GetFlag().GetId(), Variations: []*experimentsv1.Variation{
			{Key: "a", Weight: 5000, Baseline: true, Variables: map[string]string{"n": "4.2"}}, {Key: "b", Weight: 5000}}}})
	if info := wantCode(t, err, codes.InvalidArgument); info.GetReason() != "INVALID_VARIABLE_VALUE" {
		t.Errorf("info %v", info)
	}
	// Removing a variable an experiment sets is refused; so is deleting the flag.
	_, err = s.c.UpdateFlag(s.write, &experimentsv1.UpdateFlagRequest{Flag: &experimentsv1.Flag{Id: f.GetFlag().GetId()}, UpdateMask: mask("variables")})
	wantCode(t, err, codes.FailedPrecondition)
	_, err = s.c.DeleteFlag(s.write, &experimentsv1.DeleteFlagRequest{FlagId: f.GetFlag().GetId()})
	wantCode(t, err, codes.FailedPrecondition)
}

func TestListExperiments_PagesAndFiltersByStatus(t *testing.T) {
	s := newStack(t)
	for i := range 5 {
		e := s.createExperiment(t, "e"+string(rune('0'+i)), nil)
		if i%2 == 0 {
			s.start(t, e)
		}
	}
	var keys []string
	token := ""
	for {
		resp, err := s.c.ListExperiments(s.read, &experimentsv1.ListExperimentsRequest{ProjectId: s.project.GetId(), PageSize: 2, PageToken: token})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range resp.GetExperiments() {
			keys = append(keys, e.GetKey())
		}
		if token = resp.GetNextPageToken(); token == "" {
			break
		}
	}
	if len(keys) != 5 || keys[0] != "e0" || keys[4] != "e4" {
		t.Fatalf("pages gave %v", keys)
	}
	resp, err := s.c.ListExperiments(s.read, &experimentsv1.ListExperimentsRequest{ProjectId: s.project.GetId(),
		Status: experimentsv1.ExperimentStatus_EXPERIMENT_STATUS_RUNNING})
	if err != nil || len(resp.GetExperiments()) != 3 {
		t.Fatalf("running: %v %v", resp, err)
	}
}
