package stats

import (
	"math"

	"gonum.org/v1/gonum/mathext"
	"gonum.org/v1/gonum/stat/distuv"
)

// zCritical is the two-sided standard normal critical value for alpha.
func zCritical(alpha float64) float64 {
	return -mathext.NormalQuantile(alpha / 2)
}

// zOneSided is the one-sided standard normal critical value for alpha.
func zOneSided(alpha float64) float64 {
	return -mathext.NormalQuantile(alpha)
}

// tCritical is the two-sided Student's t critical value for alpha.
func tCritical(alpha, df float64) float64 {
	return -distuv.StudentsT{Mu: 0, Sigma: 1, Nu: df}.Quantile(alpha / 2)
}

// normalTwoSidedP is P(|Z| ≥ |z|), through erfc so that tiny p-values keep
// their precision.
func normalTwoSidedP(z float64) float64 {
	return math.Erfc(math.Abs(z) / math.Sqrt2)
}

// normalCDF is Φ(z), accurate in both tails.
func normalCDF(z float64) float64 {
	return 0.5 * math.Erfc(-z/math.Sqrt2)
}

// tTwoSidedP is P(|T| ≥ |t|) for df degrees of freedom, written as the
// regularized incomplete beta function so that tiny p-values keep their
// precision (1−CDF would round them to 0).
func tTwoSidedP(t, df float64) float64 {
	return mathext.RegIncBeta(df/2, 0.5, df/(df+t*t))
}

// chiSquareSurvival is P(X ≥ x) for a chi-square with k degrees of freedom.
func chiSquareSurvival(x float64, k int) float64 {
	return mathext.GammaIncRegComp(float64(k)/2, x/2)
}
