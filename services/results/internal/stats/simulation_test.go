package stats

import (
	"math"
	"math/rand/v2"
	"testing"
)

// Simulations with a fixed seed: deterministic, and large enough that the
// bounds below (α plus three binomial standard deviations) are meaningful.
const (
	simRuns  = 400
	simLooks = 40
	simStep  = 50 // visitors per variation between looks
)

// simulate runs one experiment and returns its cumulative looks. draw gives
// one visitor's value for the control (false) or the treatment (true).
func simulate(kind Kind, draw func(treatment bool) float64) []Look {
	var c, t Summary
	looks := make([]Look, 0, simLooks)
	for l := 0; l < simLooks; l++ {
		for i := 0; i < simStep; i++ {
			x, y := draw(false), draw(true)
			c = Summary{N: c.N + 1, Sum: c.Sum + x, SumSq: c.SumSq + x*x}
			t = Summary{N: t.N + 1, Sum: t.Sum + y, SumSq: t.SumSq + y*y}
		}
		looks = append(looks, Look{Control: c, Treatment: t})
	}
	return looks
}

func maxRate(alpha float64) float64 {
	return alpha + 3*math.Sqrt(alpha*(1-alpha)/simRuns)
}

func TestSequential_IntervalCoversTheTruthAtEveryLook(t *testing.T) {
	rng := rand.New(rand.NewPCG(2026, 9))
	const theta = 0.2
	misses := 0
	for run := 0; run < simRuns; run++ {
		looks := simulate(KindNumeric, func(tr bool) float64 {
			if tr {
				return theta + rng.NormFloat64()
			}
			return rng.NormFloat64()
		})
		// The interval after the last look is the intersection of all
		// looks' intervals, so it misses θ iff some look did.
		r := Compare(KindNumeric, Config{Method: MethodSequential}, looks)
		if !r.DiffInterval.Contains(theta) {
			misses++
		}
	}
	rate := float64(misses) / simRuns
	t.Logf("always-valid 95%% interval missed the true difference in %d of %d runs (%.3f) over %d looks", misses, simRuns, rate, simLooks)
	if rate > maxRate(0.05) {
		t.Errorf("miss rate %.3f > %.3f", rate, maxRate(0.05))
	}
}

func TestSequential_ControlsFalsePositivesUnderPeeking(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	seqFP, naiveFP := 0, 0
	for run := 0; run < simRuns; run++ {
		looks := simulate(KindBinary, func(bool) float64 {
			if rng.Float64() < 0.1 {
				return 1
			}
			return 0
		})
		if Compare(KindBinary, Config{Method: MethodSequential}, looks).Significant {
			seqFP++
		}
		// The same peeks judged by the fixed-horizon test, stopping at the
		// first significant look: the mistake the sequential test exists
		// to prevent.
		for _, l := range looks {
			if Compare(KindBinary, Config{Method: MethodFrequentist}, []Look{l}).Significant {
				naiveFP++
				break
			}
		}
	}
	seqRate, naiveRate := float64(seqFP)/simRuns, float64(naiveFP)/simRuns
	t.Logf("A/A with %d peeks: sequential false positives %.3f, fixed-horizon-with-peeking %.3f", simLooks, seqRate, naiveRate)
	if seqRate > maxRate(0.05) {
		t.Errorf("sequential false positive rate %.3f > %.3f", seqRate, maxRate(0.05))
	}
	if naiveRate <= 0.1 {
		t.Errorf("peeking at the fixed-horizon test gave only %.3f false positives; the simulation is too weak to show anything", naiveRate)
	}
}
