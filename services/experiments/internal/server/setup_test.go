package server_test

import (
	"context"
	"fmt"
	"testing"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"github.com/liftlabs/lift/services/experiments/experimentstest"
	"github.com/liftlabs/lift/services/identity/identitytest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// stack is identity and experiments on loopback, one account with a
// project (production and development environments) and tokens.
type stack struct {
	id      *identitytest.Env
	exp     *experimentsv1.ExperimentsServiceClient
	c       experimentsv1.ExperimentsServiceClient
	acct    identitytest.Account
	write   context.Context // a write-scoped token
	read    context.Context // a read-scoped token
	project *identityv1.Project
	envs    map[string]*identityv1.Environment // by key
}

func newStack(t testing.TB, opts ...experimentstest.Options) *stack {
	t.Helper()
	id := identitytest.Start(t)
	exp := experimentstest.Start(t, id.Addr, opts...)
	id.SetExperimentsAddr(exp.Addr)
	s := &stack{id: id, c: exp.Client, acct: id.NewAccount(t), envs: map[string]*identityv1.Environment{}}
	s.write = experimentstest.WithToken(context.Background(), id.Token(t, s.acct, identityv1.Scope_SCOPE_WRITE))
	s.read = experimentstest.WithToken(context.Background(), id.Token(t, s.acct, identityv1.Scope_SCOPE_READ))
	s.project = id.CreateProject(t, s.acct.AdminToken, "Web")
	for _, e := range id.Environments(t, s.acct.AdminToken, s.project.GetId()) {
		s.envs[e.GetKey()] = e
	}
	return s
}

// twoArms is a valid 50/50 variation list.
func twoArms() []*experimentsv1.Variation {
	return []*experimentsv1.Variation{
		{Key: "control", Weight: 5000, Baseline: true, FeatureEnabled: true},
		{Key: "treatment", Weight: 5000, FeatureEnabled: true},
	}
}

// createExperiment creates an experiment with defaults filled in by edit.
func (s *stack) createExperiment(t testing.TB, key string, edit func(*experimentsv1.Experiment)) *experimentsv1.Experiment {
	t.Helper()
	e := &experimentsv1.Experiment{Key: key, Name: key, Variations: twoArms(), EnvironmentKeys: []string{"production"}}
	if edit != nil {
		edit(e)
	}
	resp, err := s.c.CreateExperiment(s.write, &experimentsv1.CreateExperimentRequest{ProjectId: s.project.GetId(), Experiment: e})
	if err != nil {
		t.Fatalf("create experiment %s: %v", key, err)
	}
	return resp.GetExperiment()
}

func (s *stack) start(t testing.TB, e *experimentsv1.Experiment) *experimentsv1.Experiment {
	t.Helper()
	resp, err := s.c.StartExperiment(s.write, &experimentsv1.StartExperimentRequest{ExperimentId: e.GetId()})
	if err != nil {
		t.Fatalf("start %s: %v", e.GetKey(), err)
	}
	return resp.GetExperiment()
}

func (s *stack) createEvent(t testing.TB, key string) *experimentsv1.Event {
	t.Helper()
	resp, err := s.c.CreateEvent(s.write, &experimentsv1.CreateEventRequest{ProjectId: s.project.GetId(), Event: &experimentsv1.Event{Key: key}})
	if err != nil {
		t.Fatalf("create event: %v", err)
	}
	return resp.GetEvent()
}

func (s *stack) datafile(t testing.TB, env string) *experimentsv1.GetDatafileResponse {
	t.Helper()
	resp, err := s.c.GetDatafile(context.Background(), &experimentsv1.GetDatafileRequest{SdkKey: s.envs[env].GetSdkKey()})
	if err != nil {
		t.Fatalf("datafile: %v", err)
	}
	return resp
}

func mask(paths ...string) *fieldmaskpb.FieldMask { return &fieldmaskpb.FieldMask{Paths: paths} }

// wantCode fails unless err has the code; it returns the ErrorInfo (nil if
// the error has none).
func wantCode(t testing.TB, err error, code codes.Code) *errdetails.ErrorInfo {
	t.Helper()
	st, _ := status.FromError(err)
	if st.Code() != code {
		t.Fatalf("got %v, want %v", err, code)
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			return info
		}
	}
	return nil
}

func users(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("user-%05d", i)
	}
	return out
}

func wantCodeQuiet(err error) codes.Code { return status.Code(err) }
