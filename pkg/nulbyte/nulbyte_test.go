package nulbyte

import (
	"testing"

	validatepb "buf.build/gen/go/bufbuild/protovalidate/protocolbuffers/go/buf/validate"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestCheck(t *testing.T) {
	for _, c := range []struct {
		name  string
		msg   proto.Message
		paths []string // "" = accepted
	}{
		{"clean", &identityv1.CreateProjectRequest{Project: &identityv1.Project{Name: "web", Description: "émoji 🚀 \x01"}}, nil},
		{"nested field", &identityv1.CreateProjectRequest{Project: &identityv1.Project{Name: "a\x00b"}}, []string{"project.name"}},
		{"two fields", &identityv1.CreateProjectRequest{Project: &identityv1.Project{Name: "\x00", Description: "x\x00"}},
			[]string{"project.name", "project.description"}},
		{"list element", &experimentsv1.DecideRequest{ExperimentKeys: []string{"ok", "no\x00"}}, []string{"experiment_keys[1]"}},
		{"map key and struct value", &experimentsv1.DecideRequest{Attributes: map[string]*structpb.Value{
			"k\x00": structpb.NewStringValue("v"),
		}}, []string{"attributes[\"k\\x00\"]"}},
		{"struct value", &experimentsv1.DecideRequest{Attributes: map[string]*structpb.Value{
			"k": structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{structpb.NewStringValue("\x00")}}),
		}}, []string{"attributes[\"k\"].list_value.values[0].string_value"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := Check(c.msg)
			if len(c.paths) == 0 {
				if err != nil {
					t.Fatalf("rejected: %v", err)
				}
				return
			}
			st := status.Convert(err)
			if st.Code() != codes.InvalidArgument {
				t.Fatalf("err = %v, want InvalidArgument", err)
			}
			var got []string
			for _, d := range st.Details() {
				if v, ok := d.(*validatepb.Violations); ok {
					for _, x := range v.GetViolations() {
						got = append(got, pathString(x.GetField()))
						if x.GetRuleId() != RuleID {
							t.Errorf("rule %q", x.GetRuleId())
						}
					}
				}
			}
			if len(got) != len(c.paths) {
				t.Fatalf("violations %q, want %q (message %q)", got, c.paths, st.Message())
			}
			for _, p := range c.paths {
				found := false
				for _, g := range got {
					found = found || g == p
				}
				if !found {
					t.Errorf("violations %q lack %q", got, p)
				}
			}
		})
	}
}
