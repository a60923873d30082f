package faults

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/liftlabs/lift/gateway/internal/stacktest"
	"google.golang.org/grpc/codes"
)

// TestFault_ConcurrentUpdatesWithOneEtagHaveOneWinner sends N renames of
// one experiment at once, all conditional on the etag read before: exactly
// one is applied (200), the others get 409 ABORTED (ETAG_MISMATCH) and
// must read again, and the stored experiment is the winner's — no update
// is lost silently.
func TestFault_ConcurrentUpdatesWithOneEtagHaveOneWinner(t *testing.T) {
	s := stacktest.Start(t)
	e := s.CreateExperiment(t, "checkout")
	const writers = 8
	replies := make([]reply, writers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			replies[i] = send(s.GW, "PATCH", "/v1/experiments/"+e.ID+"?updateMask=name", s.Admin,
				fmt.Sprintf(`{"name":"writer %d","etag":%q}`, i, e.Etag))
		}()
	}
	close(start)
	wg.Wait()

	winner, ok, conflict := -1, 0, 0
	for i, r := range replies {
		switch {
		case r.status == http.StatusOK:
			ok++
			winner = i
		case r.status == http.StatusConflict && r.code == int(codes.Aborted):
			conflict++
		default:
			t.Errorf("writer %d: %d (code %d), want 200 or 409 ABORTED", i, r.status, r.code)
		}
	}
	var got struct {
		Experiment stacktest.Experiment `json:"experiment"`
	}
	s.Must(t, "GET", "/v1/experiments/"+e.ID, s.Read, nil, http.StatusOK, &got)
	t.Logf("%d concurrent renames with etag %s: %d answered 200, %d answered 409; stored name %q, etag %s",
		writers, e.Etag, ok, conflict, got.Experiment.Name, got.Experiment.Etag)
	if ok != 1 || conflict != writers-1 {
		t.Fatalf("%d won and %d conflicted, want exactly 1 and %d", ok, conflict, writers-1)
	}
	if want := fmt.Sprintf("writer %d", winner); got.Experiment.Name != want || got.Experiment.Etag == e.Etag {
		t.Errorf("stored name %q etag %s, want the winner's %q with a new etag", got.Experiment.Name, got.Experiment.Etag, want)
	}
}
