package datafile_test

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/optimizely/go-sdk/v2/pkg/config/datafileprojectconfig"
	"github.com/optimizely/go-sdk/v2/pkg/logging"

	"github.com/liftlabs/lift/pkg/datafile/bucketing"
	"github.com/liftlabs/lift/services/experiments/internal/datafile"
	"github.com/liftlabs/lift/services/experiments/internal/datafile/datafiletest"
)

// FuzzBuild builds datafiles from random inputs, some of them corrupted:
// Build either rejects the input or emits a datafile that the Optimizely Go
// SDK loads, that parses back to itself, and whose invariants hold.
func FuzzBuild(f *testing.F) {
	for i := range uint64(16) {
		f.Add(i, uint8(0), uint16(0))
		f.Add(i, uint8(i), uint16(i*997))
	}
	logger := logging.GetLogger("", "fuzz")
	f.Fuzz(func(t *testing.T, seed uint64, corrupt uint8, amount uint16) {
		rng := rand.New(rand.NewPCG(seed, 7))
		in := datafiletest.Input(rng)
		corruptInput(in, corrupt, int(amount))
		d, err := datafile.Build(in)
		if err != nil {
			return
		}
		raw, err := d.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := datafileprojectconfig.NewDatafileProjectConfig(raw, logger); err != nil {
			t.Fatalf("go-sdk rejects the datafile: %v\n%s", err, raw)
		}
		back, err := datafile.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := back.Marshal()
		if !bytes.Equal(raw, again) {
			t.Fatalf("datafile does not round-trip:\n%s\n%s", raw, again)
		}
		checkInvariants(t, in, d)
	})
}

func corruptInput(in *datafile.Input, how uint8, amount int) {
	if len(in.Experiments) == 0 {
		return
	}
	e := &in.Experiments[amount%len(in.Experiments)]
	switch how % 8 {
	case 1:
		e.Variations[0].Weight += amount % 3
	case 2:
		e.Traffic = amount
	case 3:
		e.LayerStart, e.LayerEnd = amount%12000, amount%12000+amount%700
	case 4:
		e.FlagID = "424242"
	case 5:
		e.Variations[0].Variables = map[string]string{"v0": "x", "zz": "y"}
	}
}

func checkInvariants(t *testing.T, in *datafile.Input, d *datafile.Datafile) {
	t.Helper()
	disabled := map[string]bool{}
	for _, f := range in.Flags {
		disabled[f.ID] = f.Disabled
	}
	running := map[string]bool{}
	for _, e := range in.Experiments {
		// A disabled flag's experiments leave the datafile (kill switch).
		running[e.ID] = e.Running && !disabled[e.FlagID]
	}
	seen := map[string]bool{}
	check := func(x datafile.Experiment) {
		if !running[x.ID] || seen[x.ID] || x.Status != "Running" {
			t.Fatalf("experiment %s: running=%v seen=%v status=%s", x.ID, running[x.ID], seen[x.ID], x.Status)
		}
		seen[x.ID] = true
		checkRanges(t, x.TrafficAllocation)
	}
	for _, x := range d.Experiments {
		check(x)
	}
	for _, g := range d.Groups {
		checkRanges(t, g.TrafficAllocation)
		for _, x := range g.Experiments {
			check(x)
		}
	}
	for id, r := range running {
		if r != seen[id] {
			t.Fatalf("running experiment %s missing", id)
		}
	}
	for _, f := range d.FeatureFlags {
		for _, id := range f.ExperimentIDs {
			if !seen[id] {
				t.Fatalf("flag %s lists %s which is not in the datafile", f.Key, id)
			}
		}
	}
	checkRollouts(t, in, d)
}

// checkRollouts: a flag with a ruleset has its everyone-else rule last; a
// disabled one has nothing else, serving "off" to everyone.
func checkRollouts(t *testing.T, in *datafile.Input, d *datafile.Datafile) {
	t.Helper()
	rollouts := map[string]datafile.Rollout{}
	for _, r := range d.Rollouts {
		rollouts[r.ID] = r
	}
	for _, f := range in.Flags {
		rules := rollouts[f.RolloutID].Experiments
		if f.EveryoneElseID == "" {
			if len(rules) != 0 {
				t.Fatalf("flag %s without a ruleset has rules", f.Key)
			}
			continue
		}
		last := rules[len(rules)-1]
		if last.ID != f.EveryoneElseID || last.Key != datafile.EveryoneElseKey(f.ID) || len(last.AudienceIDs) != 0 {
			t.Fatalf("flag %s: last rule %+v is not everyone else", f.Key, last)
		}
		if f.Disabled && (len(rules) != 1 || last.Variations[0].Key != datafile.OffVariationKey || last.Variations[0].FeatureEnabled || last.TrafficAllocation[0].EndOfRange != bucketing.MaxBuckets) {
			t.Fatalf("disabled flag %s: rules %+v", f.Key, rules)
		}
		for _, r := range rules {
			checkRanges(t, r.TrafficAllocation)
		}
	}
}

func checkRanges(t *testing.T, ranges []datafile.TrafficAllocation) {
	t.Helper()
	end := 0
	for _, r := range ranges {
		if r.EndOfRange < end || r.EndOfRange > bucketing.MaxBuckets {
			t.Fatalf("ranges not monotone within 0..10000: %v", ranges)
		}
		end = r.EndOfRange
	}
}
