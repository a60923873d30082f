package server_test

import (
	"fmt"
	"sort"
	"sync"
	"testing"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Concurrent creates in one layer never get overlapping ranges, and the
// layer admits exactly as many as fit.
func TestLayer_ConcurrentJoinsNeverOverlap(t *testing.T) {
	s := newStack(t)
	l, err := s.c.CreateLayer(s.write, &experimentsv1.CreateLayerRequest{ProjectId: s.project.GetId(), Layer: &experimentsv1.Layer{Key: "race"}})
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		ranges [][2]int32
		full   int
	)
	for i := range 8 {
		wg.Go(func() {
			resp, err := s.c.CreateExperiment(s.write, &experimentsv1.CreateExperimentRequest{ProjectId: s.project.GetId(), Experiment: &experimentsv1.Experiment{
				Key: fmt.Sprintf("e%d", i), Variations: twoArms(), LayerId: l.GetLayer().GetId(), LayerTrafficAllocation: 3000}})
			mu.Lock()
			defer mu.Unlock()
			if status.Code(err) == codes.FailedPrecondition {
				full++
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			r := resp.GetExperiment().GetLayerRange()
			ranges = append(ranges, [2]int32{r.GetStart(), r.GetEnd()})
		})
	}
	wg.Wait()
	sort.Slice(ranges, func(i, j int) bool { return ranges[i][0] < ranges[j][0] })
	if len(ranges) != 3 || full != 5 {
		t.Fatalf("%d joined (%v), %d refused; want 3 and 5", len(ranges), ranges, full)
	}
	for i := 1; i < len(ranges); i++ {
		if ranges[i][0] < ranges[i-1][1] {
			t.Fatalf("overlapping ranges %v", ranges)
		}
	}
}

// Of concurrent updates sending the same etag, exactly one wins.
func TestUpdateExperiment_ConcurrentSameEtagOneWins(t *testing.T) {
	s := newStack(t)
	e := s.createExperiment(t, "contended", nil)
	var wg sync.WaitGroup
	codesSeen := make(chan codes.Code, 6)
	for i := range 6 {
		wg.Go(func() {
			_, err := s.c.UpdateExperiment(s.write, &experimentsv1.UpdateExperimentRequest{
				Experiment: &experimentsv1.Experiment{Id: e.GetId(), Name: fmt.Sprint("n", i), Etag: e.GetEtag()}, UpdateMask: mask("name")})
			codesSeen <- status.Code(err)
		})
	}
	wg.Wait()
	close(codesSeen)
	ok, aborted := 0, 0
	for c := range codesSeen {
		switch c {
		case codes.OK:
			ok++
		case codes.Aborted:
			aborted++
		default:
			t.Errorf("unexpected %v", c)
		}
	}
	if ok != 1 || aborted != 5 {
		t.Fatalf("%d succeeded, %d aborted", ok, aborted)
	}
}
