package server_test

import (
	"context"
	"testing"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/liftlabs/lift/services/experiments/experimentstest"
	"google.golang.org/grpc/codes"
)

func TestGetExperimentLayer_ByExperimentID(t *testing.T) {
	s := newStack(t)
	l, err := s.c.CreateLayer(s.write, &experimentsv1.CreateLayerRequest{ProjectId: s.project.GetId(), Layer: &experimentsv1.Layer{Key: "checkout", Name: "Checkout"}})
	if err != nil {
		t.Fatal(err)
	}
	layered := s.createExperiment(t, "layered", func(e *experimentsv1.Experiment) {
		e.LayerId, e.LayerTrafficAllocation = l.GetLayer().GetId(), 2500
	})
	solo := s.createExperiment(t, "solo", nil)

	got, err := s.c.GetExperimentLayer(s.read, &experimentsv1.GetExperimentLayerRequest{ExperimentId: layered.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	want, err := s.c.GetLayer(s.read, &experimentsv1.GetLayerRequest{LayerId: l.GetLayer().GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetLayer().GetId() != want.GetLayer().GetId() || got.GetLayer().GetName() != "Checkout" ||
		len(got.GetLayer().GetAllocations()) != 1 || got.GetLayer().GetAllocations()[0].GetExperimentId() != layered.GetId() {
		t.Errorf("layer = %v, want %v", got.GetLayer(), want.GetLayer())
	}

	// No layer is an answer, not an error.
	none, err := s.c.GetExperimentLayer(s.read, &experimentsv1.GetExperimentLayerRequest{ExperimentId: solo.GetId()})
	if err != nil || none.GetLayer() != nil {
		t.Errorf("experiment without layer: %v, %v; want no layer", none, err)
	}

	// Another account's experiment is not found, like the experiment itself.
	other := s.id.NewAccount(t)
	_, err = s.c.GetExperimentLayer(experimentstest.WithToken(context.Background(), other.AdminToken),
		&experimentsv1.GetExperimentLayerRequest{ExperimentId: layered.GetId()})
	if info := wantCode(t, err, codes.NotFound); info.GetReason() != "EXPERIMENT_NOT_FOUND" {
		t.Errorf("reason %v", info)
	}
}
