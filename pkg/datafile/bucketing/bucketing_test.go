package bucketing

import (
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/spaolacci/murmur3"
)

type vectors struct {
	Optimizely []struct {
		BucketingID string `json:"bucketing_id"`
		ParentID    string `json:"parent_id"`
		Bucket      int    `json:"bucket"`
	} `json:"optimizely"`
	Murmur3 []struct {
		HexInput *string `json:"hex_input"`
		Text     *string `json:"text"`
		Seed     uint32  `json:"seed"`
		Hash     string  `json:"hash"`
	} `json:"murmur3"`
}

func loadVectors(t *testing.T) vectors {
	t.Helper()
	raw, err := os.ReadFile("testdata/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var v vectors
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestBucket_MatchesOptimizelyPublishedValues(t *testing.T) {
	v := loadVectors(t)
	if len(v.Optimizely) == 0 {
		t.Fatal("no vectors")
	}
	for _, c := range v.Optimizely {
		if got := Bucket(c.BucketingID, c.ParentID); got != c.Bucket {
			t.Errorf("Bucket(%q, %q) = %d, want %d", c.BucketingID, c.ParentID, got, c.Bucket)
		}
		if got := Value(Hash(c.BucketingID + c.ParentID)); got != c.Bucket {
			t.Errorf("Value(Hash(%q)) = %d, want %d", c.BucketingID+c.ParentID, got, c.Bucket)
		}
	}
}

func TestMurmur3_MatchesReferenceVectors(t *testing.T) {
	v := loadVectors(t)
	for _, c := range v.Murmur3 {
		var in []byte
		switch {
		case c.HexInput != nil:
			var err error
			if in, err = hex.DecodeString(*c.HexInput); err != nil {
				t.Fatal(err)
			}
		case c.Text != nil:
			in = []byte(*c.Text)
		}
		want, err := strconv.ParseUint(c.Hash, 16, 32)
		if err != nil {
			t.Fatal(err)
		}
		if got := murmur3.Sum32WithSeed(in, c.Seed); got != uint32(want) {
			t.Errorf("murmur3(%x, seed %d) = %08x, want %08x", in, c.Seed, got, want)
		}
	}
	if got, want := Hash(""), uint32(0x514e28b7); got != want {
		t.Errorf("Hash(\"\") = %08x, want %08x (seed 1)", got, want)
	}
}

func TestValue_IsFloorOfHashTimes10000Over2To32(t *testing.T) {
	for _, h := range []uint32{0, 1, 429496, 429497, 1 << 31, math.MaxUint32 - 1, math.MaxUint32} {
		want := int(math.Floor(float64(h) * 10000 / math.Pow(2, 32)))
		if got := Value(h); got != want {
			t.Errorf("Value(%d) = %d, want %d", h, got, want)
		}
	}
	if got := Value(math.MaxUint32); got != MaxBuckets-1 {
		t.Errorf("largest hash lands in bucket %d, want %d", got, MaxBuckets-1)
	}
}

func TestBucket_LongKeysHashTheConcatenation(t *testing.T) {
	id := strings.Repeat("u", 200)
	for _, parent := range []string{"1", strings.Repeat("9", 19)} {
		if got, want := Bucket(id, parent), Value(Hash(id+parent)); got != want {
			t.Errorf("Bucket(long, %q) = %d, want %d", parent, got, want)
		}
	}
}

// The traffic allocation of the go-sdk's TestBucketToEntity: ranges are
// [0,2500) gap, [2500,4999) v1, [4999,5399) v2, beyond: nothing.
func TestAllocate_UsesEndOfRangeExclusive(t *testing.T) {
	ranges := []Range{{"", 2500}, {"1234567123", 4999}, {"5949300123", 5399}}
	cases := map[int]string{0: "", 2434: "", 2499: "", 2500: "1234567123", 4299: "1234567123",
		4998: "1234567123", 4999: "5949300123", 5254: "5949300123", 5398: "5949300123", 5399: "", 5439: "", 9999: ""}
	for bucket, want := range cases {
		if got := Allocate(bucket, ranges); got != want {
			t.Errorf("Allocate(%d) = %q, want %q", bucket, got, want)
		}
	}
	if got := Allocate(0, nil); got != "" {
		t.Errorf("Allocate with no ranges = %q", got)
	}
}

func TestBucketingID_HonoursStringAttributeOnly(t *testing.T) {
	cases := []struct {
		attrs map[string]any
		want  string
	}{
		{nil, "user"},
		{map[string]any{"$opt_bucketing_id": "device-7"}, "device-7"},
		{map[string]any{"$opt_bucketing_id": ""}, ""},
		{map[string]any{"$opt_bucketing_id": 42.0}, "user"},
		{map[string]any{"$opt_bucketing_id": nil}, "user"},
		{map[string]any{"other": "x"}, "user"},
	}
	for _, c := range cases {
		if got := BucketingID("user", c.attrs); got != c.want {
			t.Errorf("BucketingID(%v) = %q, want %q", c.attrs, got, c.want)
		}
	}
}

func TestDecide_GroupThenExperiment(t *testing.T) {
	// Pick users whose group bucket lands on each side of the split and
	// check the outcome follows from the two independent bucket values.
	exp := &Experiment{ID: "1886780721", Traffic: []Range{{"var_a", 5000}, {"var_b", 10000}}}
	group := &Group{ID: "19228", Traffic: []Range{{"1886780721", 5000}, {"other", 10000}}}
	seen := map[Outcome]int{}
	for i := range 2000 {
		id := fmt.Sprintf("user-%d", i)
		got, outcome := Decide(id, exp, group)
		seen[outcome]++
		gb := Bucket(id, group.ID)
		if gb >= 5000 {
			if outcome != NotInGroupSlot || got != "" {
				t.Fatalf("%s: group bucket %d should exclude it, got %q/%v", id, gb, got, outcome)
			}
			continue
		}
		want := "var_a"
		if Bucket(id, exp.ID) >= 5000 {
			want = "var_b"
		}
		if got != want || outcome != Bucketed {
			t.Fatalf("%s: got %q/%v, want %q", id, got, outcome, want)
		}
	}
	if seen[Bucketed] == 0 || seen[NotInGroupSlot] == 0 {
		t.Fatalf("outcomes not exercised: %v", seen)
	}
	// Partial traffic: a user past the last range is NotInTraffic.
	half := &Experiment{ID: exp.ID, Traffic: []Range{{"var_a", 2500}, {"var_b", 5000}}}
	for i := range 200 {
		id := fmt.Sprintf("user-%d", i)
		_, outcome := Decide(id, half, nil)
		if (Bucket(id, exp.ID) >= 5000) != (outcome == NotInTraffic) {
			t.Fatalf("%s: outcome %v for bucket %d", id, outcome, Bucket(id, exp.ID))
		}
	}
}

// BenchmarkDecide is the in-process bucketing path of one experiment in an
// exclusion group (two hashes), the worst case per experiment.
func BenchmarkDecide(b *testing.B) {
	exp := &Experiment{ID: "20260000001", Traffic: []Range{{"1", 3333}, {"2", 6666}, {"3", 10000}}}
	group := &Group{ID: "20260000099", Traffic: []Range{{"20260000001", 5000}, {"20260000002", 10000}}}
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = fmt.Sprintf("user-%08d", i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		Decide(ids[i&1023], exp, group)
	}
}
