package server_test

import (
	"testing"

	"buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestValidation_InvalidArgumentWithViolations(t *testing.T) {
	e := start(t)
	a := e.account(t, "acme")
	p := e.project(t, a.admin, "Web")
	cases := map[string]func() error{
		"project without name": func() error {
			_, err := e.c.CreateProject(as(a.admin), &identityv1.CreateProjectRequest{Project: &identityv1.Project{}})
			return err
		},
		"confidence level 1": func() error {
			_, err := e.c.CreateProject(as(a.admin), &identityv1.CreateProjectRequest{Project: &identityv1.Project{
				Name: "x", Settings: &identityv1.ProjectSettings{ConfidenceLevel: 1}}})
			return err
		},
		"environment key with spaces": func() error {
			_, err := e.c.CreateEnvironment(as(a.admin), &identityv1.CreateEnvironmentRequest{
				ProjectId: p.GetId(), Environment: &identityv1.Environment{Key: "pro duction"}})
			return err
		},
		"token without scopes": func() error {
			_, err := e.c.CreateToken(as(a.admin), &identityv1.CreateTokenRequest{Name: "x"})
			return err
		},
		"page size too big": func() error {
			_, err := e.c.ListProjects(as(a.admin), &identityv1.ListProjectsRequest{PageSize: 5000})
			return err
		},
	}
	for name, call := range cases {
		t.Run(name, func(t *testing.T) {
			err := call()
			wantCode(t, err, codes.InvalidArgument)
			var v *validate.Violations
			for _, d := range status.Convert(err).Details() {
				if x, ok := d.(*validate.Violations); ok {
					v = x
				}
			}
			if len(v.GetViolations()) == 0 {
				t.Fatalf("no violations in %v", err)
			}
		})
	}
}
