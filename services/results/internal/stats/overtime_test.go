package stats

import (
	"fmt"
	"testing"
)

// refLook is one cumulative look of a lift_over_time reference case: counts
// (n, x) for binary metrics, power sums for numeric ones.
type refLook struct {
	N     int64   `json:"n"`
	X     int64   `json:"x"`
	Sum   float64 `json:"sum"`
	SumSq float64 `json:"sum_sq"`
}

func (l refLook) summary(kind string) Summary {
	if kind == "binary" {
		return Binary(l.N, l.X)
	}
	return Summary{N: l.N, Sum: l.Sum, SumSq: l.SumSq}
}

type refDailyLift struct {
	Defined         bool       `json:"defined"`
	Diff            float64    `json:"diff"`
	DiffCI          [2]float64 `json:"diff_ci"`
	RelativeDefined bool       `json:"relative_defined"`
	Relative        float64    `json:"relative"`
	RelativeCI      [2]float64 `json:"relative_ci"`
}

type refLiftOverTime struct {
	Kind       string  `json:"kind"`
	Confidence float64 `json:"confidence"`
	Looks      []struct {
		Control   refLook `json:"control"`
		Treatment refLook `json:"treatment"`
	} `json:"looks"`
	Frequentist []refDailyLift `json:"frequentist"`
	Sequential  []refDailyLift `json:"sequential"`
	Bayesian    []refDailyLift `json:"bayesian"`
}

func TestLiftOverTime_MatchesReferencePerMethod(t *testing.T) {
	var r struct {
		LiftOverTime []refLiftOverTime `json:"lift_over_time"`
	}
	loadJSON(t, &r)
	if len(r.LiftOverTime) == 0 {
		t.Fatal("no lift_over_time cases in reference.json")
	}
	for i, c := range r.LiftOverTime {
		kind := KindNumeric
		if c.Kind == "binary" {
			kind = KindBinary
		}
		looks := make([]Look, len(c.Looks))
		for j, l := range c.Looks {
			looks[j] = Look{Control: l.Control.summary(c.Kind), Treatment: l.Treatment.summary(c.Kind)}
		}
		for _, m := range []struct {
			method Method
			want   []refDailyLift
		}{{MethodFrequentist, c.Frequentist}, {MethodSequential, c.Sequential}, {MethodBayesian, c.Bayesian}} {
			cfg := Config{Method: m.method, Confidence: c.Confidence}
			got := LiftOverTime(kind, cfg, looks)
			if len(got) != len(m.want) {
				t.Fatalf("case %d method %d: %d points, want %d", i, m.method, len(got), len(m.want))
			}
			for j, w := range m.want {
				what := fmt.Sprintf("case %d method %d day %d", i, m.method, j)
				g := got[j]
				if g.Defined != w.Defined || g.RelativeDefined != w.RelativeDefined {
					t.Fatalf("%s: defined %v/%v, want %v/%v", what, g.Defined, g.RelativeDefined, w.Defined, w.RelativeDefined)
				}
				if !w.Defined {
					continue
				}
				assertClose(t, what+" diff", g.Diff, w.Diff)
				assertInterval(t, what+" diff interval", g.DiffInterval, w.DiffCI)
				if w.RelativeDefined {
					assertClose(t, what+" relative", g.Relative, w.Relative)
					assertInterval(t, what+" relative interval", g.RelativeInterval, w.RelativeCI)
				}
			}
			// The last point is what Compare reports (its interval for the
			// fixed-horizon and sequential methods).
			if m.method != MethodBayesian {
				cmp := Compare(kind, cfg, looks)
				last := got[len(got)-1]
				if cmp.DiffInterval != last.DiffInterval || cmp.RelativeInterval != last.RelativeInterval {
					t.Errorf("case %d method %d: last point %+v disagrees with Compare %+v", i, m.method, last, cmp)
				}
			}
		}
	}
}
