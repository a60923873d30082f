package datafile_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"slices"
	"testing"

	v4 "github.com/liftlabs/lift/pkg/datafile"
	"github.com/liftlabs/lift/services/experiments/internal/datafile"
	"github.com/liftlabs/lift/services/experiments/internal/datafile/datafiletest"
)

// The golden datafile the builder writes reads back through pkg/datafile
// without losing a byte: every field the builder writes is one the reader
// declares, so the contract between them is the one set of types.
func TestGoldenDatafile_RoundTripsThroughTheReader(t *testing.T) {
	golden, err := os.ReadFile("testdata/example.json")
	if err != nil {
		t.Fatal(err)
	}
	d, err := v4.Parse(golden)
	if err != nil {
		t.Fatal(err)
	}
	again, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(again), bytes.TrimSpace(golden)) {
		t.Fatalf("the reader dropped or changed fields of testdata/example.json:\n%s", again)
	}
	engine, err := v4.Load(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got := engine.FlagKeys(); !slices.Equal(got, []string{"checkout"}) {
		t.Errorf("flags %v", got)
	}
	if got := engine.ExperimentKeys(); !slices.Equal(got, []string{"checkout_test", "hero_a", "hero_c"}) {
		t.Errorf("experiments %v", got)
	}
	if engine.Revision != "7" || engine.ProjectID != "22" || engine.AccountID != "11" {
		t.Errorf("engine metadata %+v", engine)
	}
	if id, ok := engine.AttributeID("country"); !ok || id != "81" {
		t.Errorf("attribute country: %q %v", id, ok)
	}
}

// Random projects, built and marshalled, parse back to the same document.
func TestBuiltDatafiles_RoundTripThroughTheReader(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for range 50 {
		d, err := datafile.Build(datafiletest.Input(rng))
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := d.Marshal()
		back, err := v4.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		again, _ := back.Marshal()
		if !bytes.Equal(raw, again) {
			t.Fatalf("round trip changed the datafile:\n%s\n%s", raw, again)
		}
		if _, err := v4.Compile(back); err != nil {
			t.Fatal(err)
		}
	}
}
