// Package datafiletest generates random but valid datafile inputs and user
// attributes, for fuzzing and for checking Lift's decisions against the
// Optimizely SDK.
package datafiletest

import (
	"fmt"
	"math/rand/v2"

	"github.com/liftlabs/lift/pkg/datafile/audience"
	"github.com/liftlabs/lift/pkg/datafile/bucketing"
	"github.com/liftlabs/lift/services/experiments/internal/datafile"
)

// Conditions is a pool of audience trees on the attributes Attributes
// generates. It avoids the corners where the Optimizely SDKs disagree with
// each other (see package audience): no "not" over "and", no pre-release
// semver targets, no numbers beyond 2^53.
var Conditions = []string{
	`[{"name":"country","type":"custom_attribute","match":"exact","value":"US"}]`,
	`["and", {"name":"country","type":"custom_attribute","match":"exact","value":"DE"}, {"name":"age","type":"custom_attribute","match":"ge","value":18}]`,
	`["or", {"name":"mobile","type":"custom_attribute","match":"exact","value":true}, {"name":"age","type":"custom_attribute","match":"lt","value":25.5}]`,
	`["not", {"name":"country","type":"custom_attribute","match":"exact","value":"FR"}]`,
	`["and", {"name":"app","type":"custom_attribute","match":"semver_ge","value":"2.1"}, ["not", {"name":"plan","type":"custom_attribute","match":"substring","value":"free"}]]`,
	`["or", {"name":"plan","type":"custom_attribute","match":"exists"}, {"name":"age","type":"custom_attribute","match":"gt","value":60}]`,
	`["and", {"name":"app","type":"custom_attribute","match":"semver_lt","value":"3.0.0"}, {"name":"age","type":"custom_attribute","match":"le","value":40}]`,
	`["not", ["or", {"name":"country","type":"custom_attribute","match":"exact","value":"US"}, {"name":"mobile","type":"custom_attribute","match":"exact","value":false}]]`,
}

// Attributes makes a random user's attributes; any of them may be missing,
// null or of an unexpected type.
func Attributes(rng *rand.Rand) map[string]any {
	attrs := map[string]any{}
	pick := func(name string, values ...any) {
		if rng.IntN(5) != 0 {
			attrs[name] = values[rng.IntN(len(values))]
		}
	}
	pick("country", "US", "DE", "FR", "BR", nil, 7.0)
	pick("age", 12.0, 18.0, 25.5, 33.0, 61.0, "33", nil)
	pick("mobile", true, false, "yes")
	pick("app", "1.9.9", "2.1", "2.1.0", "2.10.3", "3.0.0", "3.0.0-beta", "garbage", 2.0)
	pick("plan", "free", "pro", "freebie", nil)
	if rng.IntN(10) == 0 {
		attrs[bucketing.BucketingIDAttribute] = fmt.Sprintf("device-%d", rng.IntN(1000))
	}
	return attrs
}

// Input makes a random, consistent datafile input with ids drawn from a
// counter, so that Build accepts it.
func Input(rng *rand.Rand) *datafile.Input {
	next := int64(1_000_000 + rng.IntN(1_000_000))
	id := func() string { next += 1 + int64(rng.IntN(50)); return fmt.Sprint(next) }
	in := &datafile.Input{
		AccountID: id(), ProjectID: id(), EnvironmentKey: "production", SDKKey: fmt.Sprintf("sdk-%d", rng.IntN(1e9)),
		Revision: int64(1 + rng.IntN(100)), AnonymizeIP: rng.IntN(2) == 0, BotFiltering: rng.IntN(2) == 0,
	}
	for i := range rng.IntN(4) {
		in.Audiences = append(in.Audiences, datafile.AudienceSpec{ID: id(), Name: fmt.Sprintf("audience %d", i), Conditions: randomTree(rng)})
	}
	for i := range rng.IntN(4) {
		f := datafile.FlagSpec{ID: id(), Key: fmt.Sprintf("flag_%d", i), RolloutID: id()}
		for j, typ := range []string{datafile.TypeBoolean, datafile.TypeString, datafile.TypeInteger, datafile.TypeDouble, datafile.TypeJSON}[:rng.IntN(6)] {
			f.Variables = append(f.Variables, datafile.FlagVariable{ID: id(), Key: fmt.Sprintf("v%d", j), Type: typ, Default: sample(typ, 0)})
		}
		if rng.IntN(6) != 0 { // else a flag with an empty rollout, as before rulesets
			f.EveryoneElseID, f.OffVariationID = id(), id()
			f.Disabled = rng.IntN(5) == 0
			for j := range rng.IntN(4) {
				r := datafile.DeliverySpec{ID: id(), Key: fmt.Sprintf("delivery_%d", j), Percentage: trafficShare(rng), Variation: deliveredVariation(rng, &f, id(), j)}
				for _, a := range in.Audiences {
					if rng.IntN(3) == 0 {
						r.AudienceIDs = append(r.AudienceIDs, a.ID)
					}
				}
				f.Deliveries = append(f.Deliveries, r)
			}
			if rng.IntN(2) == 0 {
				f.EveryoneElse = &datafile.DeliverySpec{Percentage: trafficShare(rng), Variation: deliveredVariation(rng, &f, id(), 9)}
			}
		}
		in.Flags = append(in.Flags, f)
	}
	for i := range rng.IntN(3) {
		in.Layers = append(in.Layers, datafile.LayerSpec{ID: id(), Key: fmt.Sprintf("layer_%d", i)})
	}
	for i := range rng.IntN(4) {
		in.Events = append(in.Events, datafile.EventSpec{ID: id(), Key: fmt.Sprintf("event_%d", i)})
	}
	layerFree := make([]int, len(in.Layers)) // next free bucket per layer
	for i := range 1 + rng.IntN(6) {
		e := datafile.ExperimentSpec{ID: id(), Key: fmt.Sprintf("exp_%d", i), Running: rng.IntN(4) != 0, Traffic: trafficShare(rng)}
		var flag *datafile.FlagSpec
		if len(in.Flags) > 0 && rng.IntN(2) == 0 {
			flag = &in.Flags[rng.IntN(len(in.Flags))]
			e.FlagID = flag.ID
		}
		if len(in.Layers) > 0 && rng.IntN(2) == 0 {
			l := rng.IntN(len(in.Layers))
			if free := bucketing.MaxBuckets - layerFree[l]; free > 0 {
				e.LayerID = in.Layers[l].ID
				e.LayerStart = layerFree[l] + rng.IntN(min(free, 500))
				e.LayerEnd = e.LayerStart + rng.IntN(bucketing.MaxBuckets-e.LayerStart+1)
				layerFree[l] = e.LayerEnd
			}
		}
		for j, w := range weights(rng, 2+rng.IntN(4)) {
			v := datafile.VariationSpec{ID: id(), Key: fmt.Sprintf("var_%d", j), Weight: w, FeatureEnabled: rng.IntN(3) != 0}
			if flag != nil {
				for k, fv := range flag.Variables {
					if rng.IntN(2) == 0 {
						if v.Variables == nil {
							v.Variables = map[string]string{}
						}
						v.Variables[fv.Key] = sample(fv.Type, j*10+k+1)
					}
				}
			}
			e.Variations = append(e.Variations, v)
		}
		if rng.IntN(3) != 0 {
			e.AudienceID, e.Conditions = id(), randomTree(rng)
		}
		for range rng.IntN(4) {
			if e.Allowlist == nil {
				e.Allowlist = map[string]string{}
			}
			e.Allowlist[AllowlistedUsers[rng.IntN(len(AllowlistedUsers))]] = e.Variations[rng.IntN(len(e.Variations))].Key
		}
		for _, ev := range in.Events {
			if rng.IntN(2) == 0 {
				e.MetricEventIDs = append(e.MetricEventIDs, ev.ID)
			}
		}
		in.Experiments = append(in.Experiments, e)
	}
	for _, name := range []string{"country", "age", "mobile", "app", "plan"} {
		in.Attributes = append(in.Attributes, datafile.Attribute{ID: id(), Key: name})
	}
	return in
}

// AllowlistedUsers are the user ids random allowlists name; a test should
// decide for them too.
var AllowlistedUsers = []string{"qa-0", "qa-1", "qa-2", "qa-3", "qa-4", "qa-5", "qa-6", "qa-7"}

func randomTree(rng *rand.Rand) *audience.Node {
	tree, err := audience.ParseConditions([]byte(Conditions[rng.IntN(len(Conditions))]), audience.Strict)
	if err != nil {
		panic(err)
	}
	return tree
}

// deliveredVariation is a random variation a delivery serves, setting some
// of the flag's variables.
func deliveredVariation(rng *rand.Rand, f *datafile.FlagSpec, id string, n int) datafile.VariationSpec {
	v := datafile.VariationSpec{ID: id, Key: fmt.Sprintf("delivered_%d", n), FeatureEnabled: rng.IntN(4) != 0}
	for k, fv := range f.Variables {
		if rng.IntN(2) == 0 {
			if v.Variables == nil {
				v.Variables = map[string]string{}
			}
			v.Variables[fv.Key] = sample(fv.Type, 100+n*10+k)
		}
	}
	return v
}

func trafficShare(rng *rand.Rand) int {
	switch rng.IntN(4) {
	case 0:
		return bucketing.MaxBuckets
	case 1:
		return 0
	}
	return rng.IntN(bucketing.MaxBuckets + 1)
}

// weights splits 10000 basis points into n random weights.
func weights(rng *rand.Rand, n int) []int {
	out := make([]int, n)
	left := bucketing.MaxBuckets
	for i := range n - 1 {
		out[i] = rng.IntN(left + 1)
		left -= out[i]
	}
	out[n-1] = left
	rng.Shuffle(n, func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

// sample is a valid value of a variable type.
func sample(typ string, n int) string {
	switch typ {
	case datafile.TypeBoolean:
		return fmt.Sprint(n%2 == 0)
	case datafile.TypeInteger:
		return fmt.Sprint(n * 7)
	case datafile.TypeDouble:
		return fmt.Sprintf("%d.5", n)
	case datafile.TypeJSON:
		return fmt.Sprintf(`{"n":%d}`, n)
	}
	return fmt.Sprintf("text %d", n)
}
