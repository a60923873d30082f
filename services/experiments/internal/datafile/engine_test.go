package datafile_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	v4 "github.com/liftlabs/lift/pkg/datafile"
	"github.com/liftlabs/lift/pkg/datafile/audience"
	"github.com/liftlabs/lift/pkg/datafile/bucketing"
	"github.com/liftlabs/lift/services/experiments/internal/datafile"
	"github.com/liftlabs/lift/services/experiments/internal/datafile/datafiletest"
)

func compile(t testing.TB, in *datafile.Input) *v4.Engine {
	t.Helper()
	d, err := datafile.Build(in)
	if err != nil {
		t.Fatal(err)
	}
	c, err := v4.Compile(d)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func twoArms(id string) []datafile.VariationSpec {
	return []datafile.VariationSpec{{ID: id + "1", Key: "control", Weight: 5000, FeatureEnabled: true}, {ID: id + "2", Key: "treatment", Weight: 5000, FeatureEnabled: true}}
}

func TestDecide_Audience(t *testing.T) {
	tree, _ := audience.ParseConditions([]byte(`["and", {"name":"country","type":"custom_attribute","value":"US"}]`), audience.Strict)
	c := compile(t, &datafile.Input{Experiments: []datafile.ExperimentSpec{
		{ID: "10", Key: "e", Running: true, Traffic: 10000, Variations: twoArms("10"), AudienceID: "5", Conditions: tree},
	}})
	if d := c.Decide("u1", map[string]any{"country": "US"}, "e"); d.Reason != v4.Bucketed || d.VariationKey == "" {
		t.Errorf("matching user: %+v", d)
	}
	for _, attrs := range []map[string]any{{"country": "FR"}, {}, {"country": 1.0}} {
		if d := c.Decide("u1", attrs, "e"); d.Reason != v4.NotInAudience || d.VariationKey != "" {
			t.Errorf("%v: %+v", attrs, d)
		}
	}
	if d := c.Decide("u1", nil, "missing"); d.Reason != v4.NotRunning {
		t.Errorf("unknown key: %+v", d)
	}
}

func TestDecide_PartialTrafficAndBucketingID(t *testing.T) {
	c := compile(t, &datafile.Input{Experiments: []datafile.ExperimentSpec{
		{ID: "20", Key: "e", Running: true, Traffic: 2500, Variations: twoArms("20")},
	}})
	in := 0
	for i := range 10000 {
		user := fmt.Sprint("user-", i)
		d := c.Decide(user, nil, "e")
		b := bucketing.Bucket(user, "20")
		switch {
		case b < 1250 && d.VariationKey != "control", b >= 1250 && b < 2500 && d.VariationKey != "treatment", b >= 2500 && d.Reason != v4.NotInTraffic:
			t.Fatalf("%s bucket %d: %+v", user, b, d)
		}
		if d.Reason == v4.Bucketed {
			in++
		}
	}
	// 25 % of 10000 users: binomial sd ≈ 43, so 6 sd either side.
	if in < 2240 || in > 2760 {
		t.Errorf("%d users in a 25 %% experiment", in)
	}
	a := c.Decide("x", map[string]any{"$opt_bucketing_id": "shared"}, "e")
	b := c.Decide("y", map[string]any{"$opt_bucketing_id": "shared"}, "e")
	if a != b {
		t.Errorf("same bucketing id decided differently: %+v %+v", a, b)
	}
}

func TestDecide_LayerIsMutuallyExclusive(t *testing.T) {
	c := compile(t, &datafile.Input{
		Layers: []datafile.LayerSpec{{ID: "30", Key: "l"}},
		Experiments: []datafile.ExperimentSpec{
			{ID: "31", Key: "a", Running: true, Traffic: 10000, LayerID: "30", LayerStart: 0, LayerEnd: 5000, Variations: twoArms("31")},
			{ID: "32", Key: "b", Running: true, Traffic: 10000, LayerID: "30", LayerStart: 5000, LayerEnd: 10000, Variations: twoArms("32")},
		}})
	inA, inB := 0, 0
	for i := range 10000 {
		user := fmt.Sprint("user-", i)
		a, b := c.Decide(user, nil, "a"), c.Decide(user, nil, "b")
		if a.Reason == v4.Bucketed && b.Reason == v4.Bucketed {
			t.Fatalf("%s is in both experiments of a layer", user)
		}
		if a.Reason != v4.Bucketed && b.Reason != v4.Bucketed {
			t.Fatalf("%s is in neither though the layer is fully allocated", user)
		}
		if a.Reason == v4.Bucketed {
			inA++
		} else {
			inB++
			if a.Reason != v4.NotInLayer {
				t.Fatalf("reason %v", a.Reason)
			}
		}
	}
	if inA < 4700 || inA > 5300 {
		t.Errorf("split %d/%d", inA, inB)
	}
}

func TestDecideFlag_FirstBucketingExperimentWinsAndVariables(t *testing.T) {
	tree, _ := audience.ParseConditions([]byte(`{"name":"beta","type":"custom_attribute","value":true}`), audience.Strict)
	in := &datafile.Input{
		Flags: []datafile.FlagSpec{{ID: "40", Key: "f", Variables: []datafile.FlagVariable{{ID: "41", Key: "color", Type: "string", Default: "blue"}}}},
		Experiments: []datafile.ExperimentSpec{
			{ID: "42", Key: "beta_only", Running: true, FlagID: "40", Traffic: 10000, AudienceID: "9", Conditions: tree,
				Variations: []datafile.VariationSpec{{ID: "43", Key: "red", Weight: 10000, FeatureEnabled: true, Variables: map[string]string{"color": "red"}}}},
			{ID: "44", Key: "everyone", Running: true, FlagID: "40", Traffic: 10000,
				Variations: []datafile.VariationSpec{{ID: "45", Key: "off", Weight: 10000, FeatureEnabled: false, Variables: map[string]string{"color": "green"}}}},
		}}
	c := compile(t, in)
	fd, ok := c.DecideFlag("u", map[string]any{"beta": true}, "f")
	if color, _ := fd.Value("color"); !ok || !fd.Enabled || fd.ExperimentKey() != "beta_only" || color != "red" {
		t.Errorf("beta user: %+v", fd)
	}
	fd, _ = c.DecideFlag("u", nil, "f")
	if color, _ := fd.Value("color"); fd.Enabled || fd.ExperimentKey() != "everyone" || fd.VariationKey() != "off" || color != "blue" {
		t.Errorf("other user: %+v (a disabled variation keeps defaults)", fd)
	}
	if _, ok := c.DecideFlag("u", nil, "nope"); ok {
		t.Error("unknown flag found")
	}
}

// BenchmarkDecide is the whole in-process path for one experiment: key
// lookup, audience (three conditions), layer and traffic bucketing.
func BenchmarkDecide(b *testing.B) {
	tree, _ := audience.ParseConditions([]byte(datafiletest.Conditions[4]), audience.Strict)
	c := compile(b, &datafile.Input{
		Layers: []datafile.LayerSpec{{ID: "30", Key: "l"}},
		Experiments: []datafile.ExperimentSpec{
			{ID: "31", Key: "a", Running: true, Traffic: 10000, LayerID: "30", LayerStart: 0, LayerEnd: 10000, Variations: twoArms("31"), AudienceID: "1", Conditions: tree},
		}})
	rng := rand.New(rand.NewPCG(1, 1))
	users := make([]string, 1024)
	attrs := make([]map[string]any, 1024)
	for i := range users {
		users[i] = fmt.Sprintf("user-%d", i)
		attrs[i] = map[string]any{"app": "2.4.1", "plan": []string{"pro", "free"}[rng.IntN(2)]}
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		c.Decide(users[i&1023], attrs[i&1023], "a")
	}
}
