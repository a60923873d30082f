package server_test

import (
	"strings"
	"testing"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

func TestExperimentLifecycle_LegalPathAndIllegalTransitions(t *testing.T) {
	s := newStack(t)
	e := s.createExperiment(t, "checkout", nil)
	if e.GetStatus() != experimentsv1.ExperimentStatus_EXPERIMENT_STATUS_DRAFT || e.GetTrafficAllocation() != 10000 {
		t.Fatalf("created %v", e)
	}
	id := e.GetId()
	illegal := func(call func() error, from, to string) {
		t.Helper()
		err := call()
		info := wantCode(t, err, codes.FailedPrecondition)
		if !strings.Contains(err.Error(), from) || !strings.Contains(err.Error(), to) || info.GetMetadata()["from"] != from || info.GetMetadata()["to"] != to {
			t.Fatalf("error %v (%v) does not name %s and %s", err, info, from, to)
		}
	}
	pause := func() error {
		_, err := s.c.PauseExperiment(s.write, &experimentsv1.PauseExperimentRequest{ExperimentId: id})
		return err
	}
	conclude := func() error {
		_, err := s.c.ConcludeExperiment(s.write, &experimentsv1.ConcludeExperimentRequest{ExperimentId: id})
		return err
	}
	archive := func() error {
		_, err := s.c.ArchiveExperiment(s.write, &experimentsv1.ArchiveExperimentRequest{ExperimentId: id})
		return err
	}
	start := func() error {
		_, err := s.c.StartExperiment(s.write, &experimentsv1.StartExperimentRequest{ExperimentId: id})
		return err
	}
	illegal(pause, "draft", "paused")
	illegal(conclude, "draft", "concluded")
	illegal(archive, "draft", "archived")

	running := s.start(t, e)
	if running.GetStatus() != experimentsv1.ExperimentStatus_EXPERIMENT_STATUS_RUNNING || running.GetStartTime() == nil {
		t.Fatalf("started: %v", running)
	}
	illegal(start, "running", "running")
	illegal(archive, "running", "archived")
	if err := pause(); err != nil {
		t.Fatal(err)
	}
	illegal(pause, "paused", "paused")
	if err := start(); err != nil { // resume
		t.Fatal(err)
	}
	if err := conclude(); err != nil {
		t.Fatal(err)
	}
	illegal(start, "concluded", "running")
	illegal(pause, "concluded", "paused")
	if err := archive(); err != nil {
		t.Fatal(err)
	}
	illegal(start, "archived", "running")
	got, err := s.c.GetExperiment(s.read, &experimentsv1.GetExperimentRequest{ExperimentId: id})
	if err != nil || got.GetExperiment().GetStatus() != experimentsv1.ExperimentStatus_EXPERIMENT_STATUS_ARCHIVED || got.GetExperiment().GetEndTime() == nil {
		t.Fatalf("archived: %v %v", got, err)
	}
	if _, err := s.c.DeleteExperiment(s.write, &experimentsv1.DeleteExperimentRequest{ExperimentId: id}); err != nil {
		t.Fatalf("delete archived: %v", err)
	}
	_, err = s.c.GetExperiment(s.read, &experimentsv1.GetExperimentRequest{ExperimentId: id})
	wantCode(t, err, codes.NotFound)
}

func TestUpdateExperiment_FrozenFieldsByStatus(t *testing.T) {
	s := newStack(t)
	e := s.start(t, s.createExperiment(t, "frozen", nil))
	vs := twoArms()
	vs[0].Weight, vs[1].Weight = 2000, 8000
	_, err := s.c.UpdateExperiment(s.write, &experimentsv1.UpdateExperimentRequest{
		Experiment: &experimentsv1.Experiment{Id: e.GetId(), Variations: vs}, UpdateMask: mask("variations")})
	info := wantCode(t, err, codes.FailedPrecondition)
	if info.GetMetadata()["field"] != "experiment.variations" {
		t.Errorf("info %v", info)
	}
	// Ramping traffic is fine while running.
	resp, err := s.c.UpdateExperiment(s.write, &experimentsv1.UpdateExperimentRequest{
		Experiment: &experimentsv1.Experiment{Id: e.GetId(), TrafficAllocation: proto.Int32(2500)}, UpdateMask: mask("traffic_allocation")})
	if err != nil || resp.GetExperiment().GetTrafficAllocation() != 2500 {
		t.Fatalf("ramp: %v %v", resp, err)
	}
	// Running experiments cannot be deleted.
	_, err = s.c.DeleteExperiment(s.write, &experimentsv1.DeleteExperimentRequest{ExperimentId: e.GetId()})
	wantCode(t, err, codes.FailedPrecondition)
	// Paused: variations may change, keeping ids by key.
	if _, err := s.c.PauseExperiment(s.write, &experimentsv1.PauseExperimentRequest{ExperimentId: e.GetId()}); err != nil {
		t.Fatal(err)
	}
	vs = append(vs, &experimentsv1.Variation{Key: "third", Weight: 0})
	resp, err = s.c.UpdateExperiment(s.write, &experimentsv1.UpdateExperimentRequest{
		Experiment: &experimentsv1.Experiment{Id: e.GetId(), Variations: vs}, UpdateMask: mask("variations")})
	if err != nil {
		t.Fatal(err)
	}
	got := resp.GetExperiment().GetVariations()
	if len(got) != 3 || got[0].GetId() != e.GetVariations()[0].GetId() || got[0].GetWeight() != 2000 {
		t.Fatalf("variations after update: %v (before %v)", got, e.GetVariations())
	}
}

func TestUpdateExperiment_StaleEtagIsAborted(t *testing.T) {
	s := newStack(t)
	e := s.createExperiment(t, "etag", nil)
	first, err := s.c.UpdateExperiment(s.write, &experimentsv1.UpdateExperimentRequest{
		Experiment: &experimentsv1.Experiment{Id: e.GetId(), Name: "first", Etag: e.GetEtag()}, UpdateMask: mask("name")})
	if err != nil {
		t.Fatal(err)
	}
	if first.GetExperiment().GetEtag() == e.GetEtag() {
		t.Fatal("etag did not change")
	}
	_, err = s.c.UpdateExperiment(s.write, &experimentsv1.UpdateExperimentRequest{
		Experiment: &experimentsv1.Experiment{Id: e.GetId(), Name: "second", Etag: e.GetEtag()}, UpdateMask: mask("name")})
	wantCode(t, err, codes.Aborted)
	_, err = s.c.StartExperiment(s.write, &experimentsv1.StartExperimentRequest{ExperimentId: e.GetId(), Etag: e.GetEtag()})
	wantCode(t, err, codes.Aborted)
	_, err = s.c.DeleteExperiment(s.write, &experimentsv1.DeleteExperimentRequest{ExperimentId: e.GetId(), Etag: e.GetEtag()})
	wantCode(t, err, codes.Aborted)
	// The current etag works.
	if _, err := s.c.StartExperiment(s.write, &experimentsv1.StartExperimentRequest{ExperimentId: e.GetId(), Etag: first.GetExperiment().GetEtag()}); err != nil {
		t.Fatal(err)
	}

	f, err := s.c.CreateFlag(s.write, &experimentsv1.CreateFlagRequest{ProjectId: s.project.GetId(), Flag: &experimentsv1.Flag{Key: "f"}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		_, err = s.c.UpdateFlag(s.write, &experimentsv1.UpdateFlagRequest{
			Flag: &experimentsv1.Flag{Id: f.GetFlag().GetId(), Name: "x", Etag: f.GetFlag().GetEtag()}, UpdateMask: mask("name")})
	}
	wantCode(t, err, codes.Aborted)
}
