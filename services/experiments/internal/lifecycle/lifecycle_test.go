package lifecycle

import (
	"strings"
	"testing"

	"github.com/liftlabs/lift/pkg/apierr"
	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"google.golang.org/grpc/codes"
)

func TestNext_AllTransitions(t *testing.T) {
	legal := map[status]map[Action]status{
		draft:     {Start: running},
		running:   {Pause: paused, Conclude: concluded},
		paused:    {Start: running, Conclude: concluded},
		concluded: {Archive: archived},
		archived:  {},
	}
	for from, actions := range legal {
		for _, a := range []Action{Start, Pause, Conclude, Archive} {
			to, err := Next(from, a)
			want, ok := actions[a]
			if ok {
				if err != nil || to != want {
					t.Errorf("%s %d: got %s, %v; want %s", Name(from), a, Name(to), err, Name(want))
				}
				continue
			}
			e, isAPI := apierr.As(err)
			if !isAPI || e.Code != codes.FailedPrecondition {
				t.Fatalf("%s %d: want FailedPrecondition, got %v", Name(from), a, err)
			}
			if !strings.Contains(e.Error(), Name(from)) || !strings.Contains(e.Error(), Name(targets[a])) {
				t.Errorf("message %q does not name both states", e.Error())
			}
		}
	}
}

func TestCheckUpdate_FreezesByStatus(t *testing.T) {
	if err := CheckUpdate(running, "variations"); err == nil {
		t.Error("variations changed while running")
	}
	if err := CheckUpdate(running, "traffic_allocation"); err != nil {
		t.Errorf("traffic ramp-up refused: %v", err)
	}
	for _, s := range []experimentsv1.ExperimentStatus{draft, paused} {
		if err := CheckUpdate(s, "variations"); err != nil {
			t.Errorf("%s: %v", Name(s), err)
		}
	}
	if err := CheckUpdate(concluded, "environment_keys"); err == nil {
		t.Error("concluded experiment re-enabled")
	}
	if err := CheckUpdate(archived, "name"); err != nil {
		t.Error(err)
	}
	if Deletable(running) == nil || Deletable(draft) != nil || Deletable(archived) != nil {
		t.Error("deletable rules")
	}
}
