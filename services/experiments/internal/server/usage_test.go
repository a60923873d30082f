package server_test

import (
	"testing"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"github.com/liftlabs/lift/services/identity/identitytest"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
)

func (s *stack) usage(t *testing.T) *experimentsv1.GetProjectUsageResponse {
	t.Helper()
	u, err := s.c.GetProjectUsage(t.Context(), &experimentsv1.GetProjectUsageRequest{ProjectId: s.project.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestGetProjectUsage_CountsFlagsExperimentsAudiences(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	if u := s.usage(t); !proto.Equal(u, &experimentsv1.GetProjectUsageResponse{}) {
		t.Fatalf("empty project: %v", u)
	}
	s.createFlag(t, "a")
	s.createFlag(t, "b")
	s.createExperiment(t, "e", nil)
	s.createAudience(t, "us", usCondition)
	want := &experimentsv1.GetProjectUsageResponse{Flags: 2, Experiments: 1, Audiences: 1}
	if u := s.usage(t); !proto.Equal(u, want) {
		t.Fatalf("usage = %v, want %v", u, want)
	}
	// Another project's rows are not counted.
	other := s.id.CreateProject(t, s.acct.AdminToken, "Other")
	u, err := s.c.GetProjectUsage(t.Context(), &experimentsv1.GetProjectUsageRequest{ProjectId: other.GetId()})
	if err != nil || !proto.Equal(u, &experimentsv1.GetProjectUsageResponse{}) {
		t.Fatalf("other project: %v %v", u, err)
	}
	_, err = s.c.GetProjectUsage(t.Context(), &experimentsv1.GetProjectUsageRequest{ProjectId: "x"})
	wantCode(t, err, codes.InvalidArgument)
}

// The real identity asks this service (with the service credential) and
// refuses to delete a project that still has a flag.
func TestIdentityDeleteProject_RefusedWhileAFlagRemains(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	f := s.createFlag(t, "a")
	admin := identitytest.WithToken(t.Context(), s.acct.AdminToken)
	_, err := s.id.Client.DeleteProject(admin, &identityv1.DeleteProjectRequest{ProjectId: s.project.GetId()})
	if info := wantCode(t, err, codes.FailedPrecondition); info.GetReason() != "PROJECT_NOT_EMPTY" || info.GetMetadata()["flags"] != "1" {
		t.Fatalf("info = %v", info)
	}
	if _, err := s.c.DeleteFlag(s.write, &experimentsv1.DeleteFlagRequest{FlagId: f.GetId()}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.id.Client.DeleteProject(admin, &identityv1.DeleteProjectRequest{ProjectId: s.project.GetId()}); err != nil {
		t.Fatal(err)
	}
}
