package stats

import (
	"math"
	"sort"
)

// BenjaminiHochberg returns the Benjamini–Hochberg adjusted p-values
// (q-values) of p, in the same order (statsmodels multipletests, method
// "fdr_bh"):
//
//	q_(i) = min_{j ≥ i} min(1, m·p_(j)/j)
//
// for p sorted ascending. Rejecting every hypothesis with q ≤ α controls the
// false discovery rate at α for independent or positively dependent tests.
func BenjaminiHochberg(p []float64) []float64 {
	m := len(p)
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return p[order[a]] < p[order[b]] })
	q := make([]float64, m)
	running := 1.0
	for r := m - 1; r >= 0; r-- {
		i := order[r]
		running = math.Min(running, p[i]*float64(m)/float64(r+1))
		q[i] = running
	}
	return q
}

// Discoveries reports which adjusted p-values are at most alpha.
func Discoveries(q []float64, alpha float64) []bool {
	d := make([]bool, len(q))
	for i, v := range q {
		d[i] = v <= alpha
	}
	return d
}
