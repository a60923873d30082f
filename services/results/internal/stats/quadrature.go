package stats

import "math"

// Gauss–Kronrod 7/15 nodes and weights on [−1, 1] (QUADPACK qk15).
var (
	gk15Nodes = [8]float64{
		0.991455371120812639206854697526329,
		0.949107912342758524526189684047851,
		0.864864423359769072789712788640926,
		0.741531185599394439863864773280788,
		0.586087235467691130294144845693013,
		0.405845151377397166906606412076961,
		0.207784955007898467600689403773245,
		0.000000000000000000000000000000000,
	}
	gk15Weights = [8]float64{
		0.022935322010529224963732008058970,
		0.063092092629978553290700663189204,
		0.104790010322250183839876322541518,
		0.140653259715525918745189590510238,
		0.169004726639267902826583426598550,
		0.190350578064785409913256402421014,
		0.204432940075298892414161999234649,
		0.209482141084727828012999174891714,
	}
	g7Weights = [4]float64{ // weights of the Gauss nodes gk15Nodes[1], [3], [5], [7]
		0.129484966168869693270611432679082,
		0.279705391489276667901467771423780,
		0.381830050505118944950369775488975,
		0.417959183673469387755102040816327,
	}
)

// gk15 integrates f over [a, b] and returns the Kronrod estimate and the
// difference from the embedded Gauss estimate as its error.
func gk15(f func(float64) float64, a, b float64) (value, errEst float64) {
	c, h := (a+b)/2, (b-a)/2
	fc := f(c)
	k := fc * gk15Weights[7]
	g := fc * g7Weights[3]
	for i := 0; i < 7; i++ {
		x := h * gk15Nodes[i]
		s := f(c-x) + f(c+x)
		k += gk15Weights[i] * s
		if i%2 == 1 {
			g += g7Weights[i/2] * s
		}
	}
	return k * h, math.Abs((k - g) * h)
}

// maxSegments bounds the work of integrate. The integrands here carry
// rounding noise of their own (incomplete beta functions of parameters in
// the millions are accurate to about 1e-10), so a tolerance below that noise
// would otherwise split intervals forever.
const maxSegments = 200

type segment struct{ a, b, value, err float64 }

// integrate is globally adaptive Gauss–Kronrod quadrature (QUADPACK qag):
// it keeps splitting the segment with the largest error estimate until the
// summed error is below max(absTol, relTol·|integral|) or maxSegments is
// reached.
func integrate(f func(float64) float64, a, b, absTol, relTol float64) float64 {
	v, e := gk15(f, a, b)
	segs := []segment{{a, b, v, e}}
	for len(segs) < maxSegments {
		var total, errSum float64
		worst := 0
		for i, s := range segs {
			total += s.value
			errSum += s.err
			if s.err > segs[worst].err {
				worst = i
			}
		}
		if errSum <= math.Max(absTol, relTol*math.Abs(total)) {
			break
		}
		s := segs[worst]
		m := (s.a + s.b) / 2
		lv, le := gk15(f, s.a, m)
		rv, re := gk15(f, m, s.b)
		segs[worst] = segment{s.a, m, lv, le}
		segs = append(segs, segment{m, s.b, rv, re})
	}
	var total float64
	for _, s := range segs {
		total += s.value
	}
	return total
}
