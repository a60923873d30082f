package server_test

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	experimentsv1 "github.com/liftlabs/lift/proto/gen/go/lift/experiments/v1"
	identityv1 "github.com/liftlabs/lift/proto/gen/go/lift/identity/v1"
	resultsv1 "github.com/liftlabs/lift/proto/gen/go/lift/results/v1"
	"google.golang.org/protobuf/types/known/fieldmaskpb"
)

// cupedData is reference.py's service_cuped_case: 400 visitors per arm
// with purchases two days before exposure, after it, and (every tenth) 20
// days before, outside the default 14-day window.
func (s *stack) cupedData() []*resultsv1.Visitor {
	seq := 0
	var all []*resultsv1.Visitor
	const dayMinutes = 24 * 60
	for _, arm := range []struct {
		prefix, variation string
		mult, shift       int64
	}{{"c", s.control, 37, 0}, {"t", s.treat, 41, 150}} {
		for i := int64(0); i < 400; i++ {
			b := visitor(fmt.Sprintf("%s-%04d", arm.prefix, i), &seq)
			pre := int64(0)
			if i%3 != 0 {
				pre = 100 + (arm.mult*i)%900
				b.conversion("purchase", -2*dayMinutes, pre)
			}
			if i%10 == 0 {
				b.conversion("purchase", -20*dayMinutes, 5000)
			}
			b.impression(s.e.GetId(), arm.variation, 0)
			if i%4 != 0 {
				b.conversion("purchase", 5, pre+(53*i)%200+arm.shift)
			}
			all = append(all, b.v)
		}
	}
	return all
}

func TestGetExperimentResults_CupedAdjustsWithThePrePeriodAndSaysWhyNot(t *testing.T) {
	s := newStack(t)
	s.setStats(t, identityv1.StatsMethod_STATS_METHOD_FREQUENTIST, 0.95, false)
	_, err := s.exp.Client.UpdateExperiment(s.write, &experimentsv1.UpdateExperimentRequest{
		Experiment: &experimentsv1.Experiment{Id: s.e.GetId(), Etag: s.e.GetEtag(), Metrics: []*experimentsv1.Metric{
			{EventKey: "purchase", Primary: true, Kind: experimentsv1.MetricKind_METRIC_KIND_REVENUE_PER_VISITOR},
			{EventKey: "signup"},
		}},
		UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"metrics"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	data := s.cupedData()
	for len(data) > 0 {
		n := min(100, len(data))
		s.ingest(t, data[:n]...)
		data = data[n:]
	}
	var ref struct {
		ServiceCuped struct {
			Theta             float64    `json:"theta"`
			Diff              float64    `json:"diff"`
			VarianceReduction float64    `json:"variance_reduction"`
			DiffCI            [2]float64 `json:"diff_ci"`
			Relative          float64    `json:"relative"`
		} `json:"service_cuped"`
	}
	raw, err := os.ReadFile("../stats/testdata/reference.json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	want := ref.ServiceCuped

	plain := s.results(t, nil)
	if plain.GetMetrics()[0].GetCupedStatus() != resultsv1.CupedStatus_CUPED_STATUS_UNSPECIFIED ||
		plain.GetMetrics()[0].GetResults()[1].GetLift().GetCuped() != nil || plain.GetStatsConfig().GetPrePeriodDays() != 0 {
		t.Fatalf("CUPED without asking: %v", plain.GetMetrics()[0])
	}
	r := s.results(t, &resultsv1.GetExperimentResultsRequest{VarianceReduction: true})
	if r.GetStatsConfig().GetPrePeriodDays() != 14 {
		t.Errorf("pre-period %d days, want the default 14", r.GetStatsConfig().GetPrePeriodDays())
	}
	revenue := r.GetMetrics()[0]
	c := revenue.GetResults()[1].GetLift().GetCuped()
	if revenue.GetCupedStatus() != resultsv1.CupedStatus_CUPED_STATUS_APPLIED || c == nil {
		t.Fatalf("revenue: %v", revenue)
	}
	for _, x := range []struct {
		name      string
		got, want float64
	}{
		{"theta", c.GetTheta(), want.Theta},
		{"adjusted diff", c.GetAbsoluteValue(), want.Diff},
		{"adjusted lower", c.GetAbsoluteInterval().GetLower(), want.DiffCI[0]},
		{"adjusted upper", c.GetAbsoluteInterval().GetUpper(), want.DiffCI[1]},
		{"adjusted relative", c.GetValue(), want.Relative},
		{"variance reduction", c.GetVarianceReduction(), want.VarianceReduction},
	} {
		if !near(x.got, x.want) {
			t.Errorf("%s = %.15g, want %.15g", x.name, x.got, x.want)
		}
	}
	// Nobody signed up before exposure: the raw analysis stands, and says why.
	signup := r.GetMetrics()[1]
	if signup.GetCupedStatus() != resultsv1.CupedStatus_CUPED_STATUS_NO_PRE_PERIOD_DATA || signup.GetResults()[1].GetLift().GetCuped() != nil {
		t.Errorf("signup: %v", signup)
	}
	// A 30-day window also sees the purchases 20 days before exposure.
	wide := s.results(t, &resultsv1.GetExperimentResultsRequest{VarianceReduction: true, PrePeriodDays: 30})
	if th := wide.GetMetrics()[0].GetResults()[1].GetLift().GetCuped().GetTheta(); near(th, want.Theta) {
		t.Errorf("30-day window gave the 14-day θ %v", th)
	}
}
