package server_test

import (
	"fmt"
	"testing"
	"time"

	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func TestGetExperimentResults_WindowSeriesAndBaseline(t *testing.T) {
	s := newStack(t)
	seq := 0
	// Three days, 10 visitors per arm per day; on each day 2 control and 3
	// treatment visitors buy.
	for d := 2; d >= 0; d-- {
		var vs []*resultsv1.Visitor
		for i := 0; i < 10; i++ {
			for arm, variation := range []string{s.control, s.treat} {
				b := visitor(fmt.Sprintf("d%d-%d-%d", d, arm, i), &seq)
				b.at = day().Add(-time.Duration(d) * 24 * time.Hour)
				b.impression(s.e.GetId(), variation, 0)
				if i < 2+arm {
					b.conversion("purchase", 30, -1)
				}
				vs = append(vs, b.v)
			}
		}
		s.ingest(t, vs...)
	}

	all := s.results(t, &resultsv1.GetExperimentResultsRequest{MetricKeys: []string{"purchase"}})
	tr := all.GetMetrics()[0].GetResults()[1]
	if len(tr.GetSeries()) != 3 || tr.GetSamples() != 30 || tr.GetConverters() != 9 {
		t.Fatalf("whole history: %v", tr)
	}
	for i, p := range tr.GetSeries() {
		if p.GetSamples() != int64(10*(i+1)) || p.GetConverters() != int64(3*(i+1)) {
			t.Errorf("series[%d] = %v", i, p)
		}
	}

	// From the middle of the second day on: that day is included whole.
	from := day().Add(-24*time.Hour + 3*time.Hour)
	w := s.results(t, &resultsv1.GetExperimentResultsRequest{MetricKeys: []string{"purchase"}, StartTime: timestamppb.New(from)})
	if got := w.GetMetrics()[0].GetResults()[1]; got.GetSamples() != 20 || got.GetConverters() != 6 || len(got.GetSeries()) != 2 {
		t.Fatalf("window: %v", got)
	}
	if !w.GetStartTime().AsTime().Equal(day().Truncate(24 * time.Hour).Add(-24 * time.Hour)) {
		t.Fatalf("window start %v", w.GetStartTime().AsTime())
	}

	// The treatment as baseline: the control's lift is now negative.
	flipped := s.results(t, &resultsv1.GetExperimentResultsRequest{MetricKeys: []string{"purchase"}, BaselineVariationId: s.treat})
	if c := flipped.GetMetrics()[0].GetResults()[0]; c.GetLift().GetAbsoluteValue() >= 0 || flipped.GetBaselineVariationId() != s.treat {
		t.Fatalf("flipped: %v", c)
	}

	// A metric the experiment does not list is analysed on request.
	adhoc := s.results(t, &resultsv1.GetExperimentResultsRequest{MetricKeys: []string{"newsletter"}})
	if m := adhoc.GetMetrics(); len(m) != 1 || m[0].GetEventKey() != "newsletter" || m[0].GetPrimary() || m[0].GetResults()[0].GetSamples() != 30 {
		t.Fatalf("ad hoc metric: %v", m)
	}

	_, err := s.r.GetExperimentResults(s.read, &resultsv1.GetExperimentResultsRequest{ExperimentId: s.e.GetId(), BaselineVariationId: "12345"})
	assertReason(t, err, codes.InvalidArgument, "UNKNOWN_VARIATION")
	_, err = s.r.GetExperimentResults(s.read, &resultsv1.GetExperimentResultsRequest{
		ExperimentId: s.e.GetId(), StartTime: timestamppb.New(day()), EndTime: timestamppb.New(day().Add(-48 * time.Hour)),
	})
	assertReason(t, err, codes.InvalidArgument, "INVALID_WINDOW")
}
