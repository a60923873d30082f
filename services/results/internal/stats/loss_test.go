package stats

import (
	"fmt"
	"testing"
)

func TestExpectedLossAndCredibleIntervals_MatchReference(t *testing.T) {
	var r struct {
		BayesDecisions []struct {
			Kind             string      `json:"kind"`
			Control          refLook     `json:"control"`
			Treatment        refLook     `json:"treatment"`
			Confidence       float64     `json:"confidence"`
			LossTreatment    float64     `json:"loss_treatment"`
			LossControl      float64     `json:"loss_control"`
			CredibleDiff     [2]float64  `json:"credible_diff"`
			CredibleRelative *[2]float64 `json:"credible_relative"`
		} `json:"bayes_decisions"`
	}
	loadJSON(t, &r)
	if len(r.BayesDecisions) == 0 {
		t.Fatal("no bayes_decisions cases in reference.json")
	}
	for i, c := range r.BayesDecisions {
		kind := KindNumeric
		if c.Kind == "binary" {
			kind = KindBinary
		}
		ctl, trt := c.Control.summary(c.Kind), c.Treatment.summary(c.Kind)
		what := fmt.Sprintf("case %d (%s)", i, c.Kind)
		l := ExpectedLoss(kind, ctl, trt)
		assertClose(t, what+" loss of choosing the variation", l.Treatment, c.LossTreatment)
		assertClose(t, what+" loss of keeping the baseline", l.Control, c.LossControl)
		iv, ok := CredibleDiff(kind, ctl, trt, c.Confidence)
		if !ok {
			t.Fatalf("%s: credible diff not computed", what)
		}
		assertInterval(t, what+" credible diff", iv, c.CredibleDiff)
		riv, ok := CredibleLift(kind, ctl, trt, c.Confidence)
		if ok != (c.CredibleRelative != nil) {
			t.Fatalf("%s: credible lift ok = %v", what, ok)
		}
		if ok {
			assertInterval(t, what+" credible relative", riv, *c.CredibleRelative)
		}
		cmp := Compare(kind, Config{Method: MethodBayesian, Confidence: c.Confidence}, []Look{{ctl, trt}})
		if cmp.Loss != l || cmp.CredibleInterval != riv {
			t.Errorf("%s: Compare reports loss %+v and credible interval %+v", what, cmp.Loss, cmp.CredibleInterval)
		}
	}
}

func TestExpectedLoss_DifferenceOfLossesIsTheDifferenceOfMeans(t *testing.T) {
	// E[(c−t)+] − E[(t−c)+] = E(c) − E(t) under the posteriors.
	for _, s := range [][2]Summary{{Binary(1000, 100), Binary(1000, 120)}, {Binary(30, 29), Binary(40, 3)}} {
		l := ExpectedLoss(KindBinary, s[0], s[1])
		want := posterior(s[0]).mean() - posterior(s[1]).mean()
		if got := l.Treatment - l.Control; got-want > 1e-10 || want-got > 1e-10 {
			t.Errorf("%v: losses %+v differ by %v, posterior means by %v", s, l, got, want)
		}
	}
	if l := ExpectedLoss(KindNumeric, Summary{N: 1}, Summary{N: 5}); l != (Loss{}) {
		t.Errorf("too few visitors: %+v", l)
	}
}

func TestSetLowerIsBetter_SwapsChanceAndRiskKeepsTheTest(t *testing.T) {
	looks := []Look{{Binary(5000, 400), Binary(5000, 330)}}
	up := Compare(KindBinary, Config{Method: MethodBayesian}, looks)
	down := up
	down.SetLowerIsBetter()
	down.SetLowerIsBetter() // idempotent
	if down.ChanceToBeatBaseline != 1-up.ChanceToBeatBaseline || down.Loss.Treatment != up.Loss.Control ||
		down.Loss.Control != up.Loss.Treatment || down.PValue != up.PValue || down.DiffInterval != up.DiffInterval {
		t.Fatalf("higher is better %+v, lower is better %+v", up, down)
	}
	if up.Status != StatusWorse || down.Status != StatusBetter {
		t.Fatalf("a significant drop: %v when higher is better, %v when lower is", up.Status, down.Status)
	}
}
