package datafile_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/optimizely/go-sdk/v2/pkg/config/datafileprojectconfig"
	"github.com/optimizely/go-sdk/v2/pkg/logging"

	"github.com/liftlabs/lift/pkg/datafile/audience"
	"github.com/liftlabs/lift/services/experiments/internal/datafile"
)

// example is a small project: a flag with two variables decided by a
// running experiment with an audience, a layer with two experiments (one
// of them paused), and an event.
func example(t *testing.T) *datafile.Input {
	t.Helper()
	us, err := audience.ParseConditions([]byte(`{"name":"country","type":"custom_attribute","value":"US"}`), audience.Strict)
	if err != nil {
		t.Fatal(err)
	}
	return &datafile.Input{
		AccountID: "11", ProjectID: "22", EnvironmentKey: "production", SDKKey: "sdk_abc", Revision: 7,
		Flags: []datafile.FlagSpec{{ID: "31", Key: "checkout", RolloutID: "32", Variables: []datafile.FlagVariable{
			{ID: "33", Key: "color", Type: datafile.TypeString, Default: "blue"},
			{ID: "34", Key: "layout", Type: datafile.TypeJSON, Default: `{"cols":1}`},
		}}},
		Layers: []datafile.LayerSpec{{ID: "41", Key: "homepage"}},
		Events: []datafile.EventSpec{{ID: "51", Key: "purchase"}, {ID: "52", Key: "signup"}},
		Experiments: []datafile.ExperimentSpec{
			{ID: "61", Key: "checkout_test", Running: true, FlagID: "31", Traffic: 5000, AudienceID: "71", Conditions: us,
				MetricEventIDs: []string{"51"},
				Variations: []datafile.VariationSpec{
					{ID: "62", Key: "control", Weight: 5000, FeatureEnabled: true},
					{ID: "63", Key: "treatment", Weight: 5000, FeatureEnabled: true, Variables: map[string]string{"color": "red"}},
				}},
			{ID: "64", Key: "hero_a", Running: true, LayerID: "41", LayerStart: 0, LayerEnd: 4000, Traffic: 10000,
				MetricEventIDs: []string{"51", "52"},
				Variations:     []datafile.VariationSpec{{ID: "65", Key: "off", Weight: 3000}, {ID: "66", Key: "on", Weight: 7000}}},
			{ID: "67", Key: "hero_b", Running: false, LayerID: "41", LayerStart: 4000, LayerEnd: 7000, Traffic: 10000,
				Variations: []datafile.VariationSpec{{ID: "68", Key: "off", Weight: 5000}, {ID: "69", Key: "on", Weight: 5000}}},
			{ID: "70", Key: "hero_c", Running: true, LayerID: "41", LayerStart: 8000, LayerEnd: 10000, Traffic: 10000,
				Variations: []datafile.VariationSpec{{ID: "72", Key: "off", Weight: 5000}, {ID: "73", Key: "on", Weight: 5000}}},
		},
		Attributes: []datafile.Attribute{{ID: "81", Key: "country"}},
	}
}

func TestBuild_MatchesGoldenDatafile(t *testing.T) {
	d, err := datafile.Build(example(t))
	if err != nil {
		t.Fatal(err)
	}
	got, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/example.json")
	if os.Getenv("UPDATE_GOLDEN") != "" {
		if err := os.WriteFile("testdata/example.json", append(got, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(got)) != strings.TrimSpace(string(want)) {
		t.Fatalf("datafile differs from testdata/example.json (UPDATE_GOLDEN=1 to rewrite after checking):\n%s", got)
	}
}

func TestBuild_OnlyRunningExperimentsAndTheirReferences(t *testing.T) {
	d, err := datafile.Build(example(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Experiments) != 1 || d.Experiments[0].Key != "checkout_test" {
		t.Fatalf("top-level experiments = %+v, want only checkout_test (layered ones live in groups)", d.Experiments)
	}
	if len(d.Groups) != 1 || len(d.Groups[0].Experiments) != 2 {
		t.Fatalf("groups = %+v", d.Groups)
	}
	g := d.Groups[0]
	if g.ID != "41" || g.Policy != "random" {
		t.Errorf("group = %s/%s", g.ID, g.Policy)
	}
	// hero_b is paused: its buckets become a gap, and so does [7000,8000).
	wantTA := []datafile.TrafficAllocation{{EntityID: "64", EndOfRange: 4000}, {EntityID: "", EndOfRange: 8000}, {EntityID: "70", EndOfRange: 10000}}
	if !equalTA(g.TrafficAllocation, wantTA) {
		t.Errorf("group traffic = %v, want %v", g.TrafficAllocation, wantTA)
	}
	if got := d.FeatureFlags[0].ExperimentIDs; len(got) != 1 || got[0] != "61" {
		t.Errorf("flag experimentIds = %v", got)
	}
	if got := d.Events[0].ExperimentIDs; strings.Join(got, ",") != "61,64" {
		t.Errorf("purchase experimentIds = %v", got)
	}
	if got := d.Events[1].ExperimentIDs; strings.Join(got, ",") != "64" {
		t.Errorf("signup experimentIds = %v", got)
	}
	// Traffic 50 % over two 50 % variations: [0,2500) and [2500,5000).
	if got := d.Experiments[0].TrafficAllocation; !equalTA(got, []datafile.TrafficAllocation{{EntityID: "62", EndOfRange: 2500}, {EntityID: "63", EndOfRange: 5000}}) {
		t.Errorf("experiment traffic = %v", got)
	}
	if v := d.Experiments[0].Variations[1].Variables; v[0].Value != "red" || v[1].Value != `{"cols":1}` {
		t.Errorf("treatment variables = %v, want override and default", v)
	}
	if fv := d.FeatureFlags[0].Variables[1]; fv.Type != "string" || fv.SubType != "json" {
		t.Errorf("json variable typed %s/%s", fv.Type, fv.SubType)
	}
	if string(d.Experiments[0].AudienceConditions) != `["or","71"]` || d.TypedAudiences[0].ID != "71" {
		t.Errorf("audience wiring: %s %+v", d.Experiments[0].AudienceConditions, d.TypedAudiences)
	}
	var legacy string
	if err := json.Unmarshal(d.Audiences[0].Conditions, &legacy); err != nil || legacy != string(d.TypedAudiences[0].Conditions) {
		t.Errorf("legacy audience conditions %q should be the typed tree as a string", d.Audiences[0].Conditions)
	}
}

func TestBuild_GoSDKAcceptsTheDatafile(t *testing.T) {
	d, err := datafile.Build(example(t))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := d.Marshal()
	cfg, err := datafileprojectconfig.NewDatafileProjectConfig(raw, logging.GetLogger("", "test"))
	if err != nil {
		t.Fatal(err)
	}
	exp, err := cfg.GetExperimentByKey("hero_a")
	if err != nil || exp.GroupID != "41" {
		t.Fatalf("hero_a: %v, group %q", err, exp.GroupID)
	}
	if _, err := cfg.GetExperimentByKey("hero_b"); err == nil {
		t.Error("paused hero_b must not be in the datafile")
	}
	f, err := cfg.GetFeatureByKey("checkout")
	if err != nil || len(f.FeatureExperiments) != 1 {
		t.Fatalf("checkout flag: %v %+v", err, f)
	}
	if cfg.GetRevision() != "7" || cfg.GetSdkKey() != "sdk_abc" || cfg.GetEnvironmentKey() != "production" {
		t.Errorf("header: %s %s %s", cfg.GetRevision(), cfg.GetSdkKey(), cfg.GetEnvironmentKey())
	}
}

func TestBuild_RejectsInconsistentInput(t *testing.T) {
	cases := map[string]func(in *datafile.Input){
		"weights sum":       func(in *datafile.Input) { in.Experiments[0].Variations[0].Weight = 4000 },
		"overlapping layer": func(in *datafile.Input) { in.Experiments[3].LayerStart = 3000 },
		"unknown flag":      func(in *datafile.Input) { in.Experiments[0].FlagID = "999" },
		"unknown layer":     func(in *datafile.Input) { in.Experiments[1].LayerID = "999" },
		"unknown variable":  func(in *datafile.Input) { in.Experiments[0].Variations[0].Variables = map[string]string{"nope": "1"} },
		"traffic":           func(in *datafile.Input) { in.Experiments[0].Traffic = 10001 },
		"duplicate flag":    func(in *datafile.Input) { in.Flags = append(in.Flags, in.Flags[0]) },
	}
	for name, mutate := range cases {
		in := example(t)
		mutate(in)
		if _, err := datafile.Build(in); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestContentHash_ChangesWithContentNotRevision(t *testing.T) {
	in := example(t)
	h1, err := datafile.ContentHash(in)
	if err != nil {
		t.Fatal(err)
	}
	in.Revision = 99
	if h2, _ := datafile.ContentHash(in); h2 != h1 {
		t.Error("revision changed the content hash")
	}
	in.Experiments[1].Running = false // a paused experiment disappears
	if h3, _ := datafile.ContentHash(in); h3 == h1 {
		t.Error("pausing an experiment did not change the content hash")
	}
	in = example(t)
	in.Experiments[2].Variations[0].Key = "renamed" // not running: invisible
	if h4, _ := datafile.ContentHash(in); h4 != h1 {
		t.Error("a change to a non-running experiment changed the content hash")
	}
}

func equalTA(a, b []datafile.TrafficAllocation) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCheckValue(t *testing.T) {
	ok := map[string][]string{
		datafile.TypeBoolean: {"true", "false"}, datafile.TypeInteger: {"0", "-42", "2147483647"},
		datafile.TypeDouble: {"1.5", "-3", "1e10"}, datafile.TypeJSON: {`{"a":[1]}`, `3`, `"s"`}, datafile.TypeString: {"", "anything"},
	}
	bad := map[string][]string{
		datafile.TypeBoolean: {"True", "1", ""}, datafile.TypeInteger: {"1.5", "2147483648", ""},
		datafile.TypeDouble: {"NaN", "Inf", "x"}, datafile.TypeJSON: {"{", ""},
	}
	for typ, vs := range ok {
		for _, v := range vs {
			if err := datafile.CheckValue(typ, v); err != nil {
				t.Errorf("%s %q: %v", typ, v, err)
			}
		}
	}
	for typ, vs := range bad {
		for _, v := range vs {
			if datafile.CheckValue(typ, v) == nil {
				t.Errorf("%s %q accepted", typ, v)
			}
		}
	}
}
