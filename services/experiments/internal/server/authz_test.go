package server_test

import (
	"context"
	"testing"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"github.com/liftlabs/lift/services/experiments/experimentstest"
	"google.golang.org/grpc/codes"
)

func TestAnotherAccountsResourcesAreNotFound(t *testing.T) {
	s := newStack(t)
	e := s.createExperiment(t, "mine", nil)
	f, err := s.c.CreateFlag(s.write, &experimentsv1.CreateFlagRequest{ProjectId: s.project.GetId(), Flag: &experimentsv1.Flag{Key: "f"}})
	if err != nil {
		t.Fatal(err)
	}
	ev := s.createEvent(t, "buy")

	other := s.id.NewAccount(t)
	them := experimentstest.WithToken(context.Background(), other.AdminToken)
	_, err = s.c.GetExperiment(them, &experimentsv1.GetExperimentRequest{ExperimentId: e.GetId()})
	if info := wantCode(t, err, codes.NotFound); info.GetReason() != "EXPERIMENT_NOT_FOUND" {
		t.Errorf("reason %v", info)
	}
	_, err = s.c.StartExperiment(them, &experimentsv1.StartExperimentRequest{ExperimentId: e.GetId()})
	wantCode(t, err, codes.NotFound)
	_, err = s.c.UpdateExperiment(them, &experimentsv1.UpdateExperimentRequest{
		Experiment: &experimentsv1.Experiment{Id: e.GetId(), Name: "x"}, UpdateMask: mask("name")})
	wantCode(t, err, codes.NotFound)
	_, err = s.c.GetFlag(them, &experimentsv1.GetFlagRequest{FlagId: f.GetFlag().GetId()})
	wantCode(t, err, codes.NotFound)
	_, err = s.c.DeleteEvent(them, &experimentsv1.DeleteEventRequest{EventId: ev.GetId()})
	wantCode(t, err, codes.NotFound)
	_, err = s.c.ListExperiments(them, &experimentsv1.ListExperimentsRequest{ProjectId: s.project.GetId()})
	wantCode(t, err, codes.NotFound)
	_, err = s.c.CreateExperiment(them, &experimentsv1.CreateExperimentRequest{ProjectId: s.project.GetId(),
		Experiment: &experimentsv1.Experiment{Key: "intruder", Variations: twoArms()}})
	wantCode(t, err, codes.NotFound)
	_, err = s.c.Decide(them, &experimentsv1.DecideRequest{ProjectId: s.project.GetId(), EnvironmentKey: "production", UserId: "u"})
	wantCode(t, err, codes.NotFound)
	// A missing experiment looks the same.
	_, err = s.c.GetExperiment(s.read, &experimentsv1.GetExperimentRequest{ExperimentId: "999999999"})
	wantCode(t, err, codes.NotFound)
}

func TestScopesAndTokens(t *testing.T) {
	s := newStack(t)
	_, err := s.c.CreateExperiment(s.read, &experimentsv1.CreateExperimentRequest{ProjectId: s.project.GetId(),
		Experiment: &experimentsv1.Experiment{Key: "ro", Variations: twoArms()}})
	wantCode(t, err, codes.PermissionDenied)
	_, err = s.c.ListFlags(context.Background(), &experimentsv1.ListFlagsRequest{ProjectId: s.project.GetId()})
	wantCode(t, err, codes.Unauthenticated)
	// Decide by project needs a token; by SDK key it does not.
	_, err = s.c.Decide(context.Background(), &experimentsv1.DecideRequest{ProjectId: s.project.GetId(), EnvironmentKey: "production", UserId: "u"})
	wantCode(t, err, codes.Unauthenticated)
	if _, err := s.c.Decide(context.Background(), &experimentsv1.DecideRequest{SdkKey: s.envs["production"].GetSdkKey(), UserId: "u"}); err != nil {
		t.Fatal(err)
	}
	_, err = s.c.Decide(context.Background(), &experimentsv1.DecideRequest{SdkKey: "nope", UserId: "u"})
	wantCode(t, err, codes.NotFound)
	_, err = s.c.Decide(s.read, &experimentsv1.DecideRequest{SdkKey: "x", ProjectId: s.project.GetId(), EnvironmentKey: "production", UserId: "u"})
	wantCode(t, err, codes.InvalidArgument)
	_, err = s.c.GetDatafile(context.Background(), &experimentsv1.GetDatafileRequest{SdkKey: "nope"})
	wantCode(t, err, codes.NotFound)
}
