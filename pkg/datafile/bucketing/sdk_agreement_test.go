package bucketing

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/optimizely/go-sdk/v2/pkg/decision/bucketer"
	"github.com/optimizely/go-sdk/v2/pkg/entities"
	"github.com/optimizely/go-sdk/v2/pkg/logging"
)

// The Optimizely Go SDK's own bucketer is an independent implementation
// (twmb/murmur3, float64 arithmetic): every user must land where it lands.
func TestDecide_AgreesWithOptimizelyGoSDKBucketer(t *testing.T) {
	sdk := bucketer.NewMurmurhashExperimentBucketer(logging.GetLogger("", "test"), bucketer.DefaultHashSeed)
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		expID := fmt.Sprint(1_000_000 + rng.IntN(1_000_000_000))
		groupID := fmt.Sprint(1_000_000 + rng.IntN(1_000_000_000))
		traffic := randomRanges(rng, "var", 2+rng.IntN(5))
		groupTraffic := []Range{{"", rng.IntN(3000)}, {expID, 3000 + rng.IntN(4000)}, {"other", MaxBuckets}}
		inGroup := round%2 == 0

		sdkExp := entities.Experiment{ID: expID, Variations: map[string]entities.Variation{}}
		for _, r := range traffic {
			sdkExp.TrafficAllocation = append(sdkExp.TrafficAllocation, entities.Range{EntityID: r.EntityID, EndOfRange: r.EndOfRange})
			if r.EntityID != "" {
				sdkExp.Variations[r.EntityID] = entities.Variation{ID: r.EntityID, Key: r.EntityID}
			}
		}
		sdkGroup := entities.Group{}
		var group *Group
		if inGroup {
			sdkExp.GroupID = groupID
			sdkGroup = entities.Group{ID: groupID, Policy: "random"}
			for _, r := range groupTraffic {
				sdkGroup.TrafficAllocation = append(sdkGroup.TrafficAllocation, entities.Range{EntityID: r.EntityID, EndOfRange: r.EndOfRange})
			}
			group = &Group{ID: groupID, Traffic: groupTraffic}
		}
		exp := &Experiment{ID: expID, Traffic: traffic}
		for u := range 2000 {
			user := fmt.Sprintf("u%d-%x", u, rng.Uint64())
			got, _ := Decide(user, exp, group)
			want := ""
			if v, _, err := sdk.Bucket(user, sdkExp, sdkGroup); err != nil {
				t.Fatal(err)
			} else if v != nil {
				want = v.ID
			}
			if got != want {
				t.Fatalf("round %d user %q: Lift %q, SDK %q", round, user, got, want)
			}
		}
	}
}

// randomRanges makes n ranges (some of them gaps) that end at or below MaxBuckets.
func randomRanges(rng *rand.Rand, prefix string, n int) []Range {
	out := make([]Range, 0, n)
	end := 0
	for i := range n {
		end += rng.IntN(MaxBuckets/n + 1)
		id := fmt.Sprintf("%s%d", prefix, i)
		if rng.IntN(5) == 0 {
			id = ""
		}
		out = append(out, Range{id, min(end, MaxBuckets)})
	}
	return out
}
