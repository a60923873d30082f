#!/usr/bin/python3
"""Reference values for Lift's stats package (services/results/internal/stats).

Run once, by hand, from this directory:

    /usr/bin/python3 reference.py > reference.json

It needs scipy and statsmodels (Debian: python3-scipy python3-statsmodels);
the versions used are written into the output. `go test` only reads the JSON.

Every value here comes from scipy/statsmodels or from an implementation of
the published closed-form formulas written independently of the Go code
(numpy, scipy.optimize.brentq). Where two independent routes exist (the
Bayesian integral), the script computes both and asserts they agree.
"""

import json
import math
import platform
import sys

import numpy as np
import scipy
import scipy.integrate
import scipy.optimize
import scipy.special
import scipy.stats as st
import statsmodels
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW, ttest_ind

MIX = 0.01  # stats.DefaultMixingVariance (standardized mSPRT tau^2)


def finite(x):
    x = float(x)
    assert math.isfinite(x), x
    return x


# ---------------------------------------------------------------- binary ---

def binary_case(nc, xc, nt, xt, conf):
    alpha = 1 - conf
    pc, pt = xc / nc, xt / nt
    case = {"control": {"n": nc, "x": xc}, "treatment": {"n": nt, "x": xt}, "confidence": conf}
    pooled = (xc + xt) / (nc + nt)
    if 0 < pooled < 1:
        z, p = proportions_ztest([xt, xc], [nt, nc])
        case["z"], case["p_value"] = finite(z), finite(p)
    else:  # statsmodels divides by zero here; Lift defines p = 1 (equal rates)
        case["z"], case["p_value"] = 0.0, 1.0
    case["diff"] = pt - pc
    lo, hi = confint_proportions_2indep(xt, nt, xc, nc, method="wald", compare="diff", alpha=alpha)
    case["diff_ci"] = [finite(lo), finite(hi)]
    if pc > 0:
        # Delta method for m_t/m_c - 1 with binomial variances.
        vt, vc = pt * (1 - pt) / nt, pc * (1 - pc) / nc
        var = vt / pc**2 + pt**2 * vc / pc**4
        zc = st.norm.ppf(1 - alpha / 2)
        rel = pt / pc - 1
        case["relative"] = rel
        case["relative_ci"] = [rel - zc * math.sqrt(var), rel + zc * math.sqrt(var)]
    return case


BINARY = [
    (1000, 100, 1000, 120, 0.95),
    (10000, 500, 10000, 580, 0.95),
    (50, 3, 60, 9, 0.90),
    (123456, 4567, 120000, 4789, 0.99),
    (2000000, 60000, 2000000, 61000, 0.95),
    (100, 0, 100, 5, 0.95),
    (100, 100, 100, 95, 0.95),
    (5000, 250, 5000, 100, 0.80),
    (200, 199, 300, 1, 0.95),
    (1000, 10, 20000, 230, 0.95),
    (300, 0, 300, 0, 0.95),
    (40, 40, 70, 70, 0.95),
]

# --------------------------------------------------------------- numeric ---


def summary(a):
    a = np.asarray(a, dtype=float)
    return {"n": int(a.size), "sum": float(a.sum()), "sum_sq": float((a * a).sum())}


def numeric_case(name, c, t, conf):
    alpha = 1 - conf
    c, t = np.asarray(c, float), np.asarray(t, float)
    case = {"name": name, "control": summary(c), "treatment": summary(t), "confidence": conf}
    mc, mt = c.mean(), t.mean()
    vc, vt = c.var(ddof=1) / c.size, t.var(ddof=1) / t.size
    case["diff"] = mt - mc
    if vc + vt > 0:
        tstat, p = st.ttest_ind(t, c, equal_var=False)
        _, _, df = ttest_ind(t, c, usevar="unequal")
        lo, hi = CompareMeans(DescrStatsW(t), DescrStatsW(c)).tconfint_diff(alpha=alpha, usevar="unequal")
        case.update(t=finite(tstat), df=finite(df), p_value=finite(p), diff_ci=[finite(lo), finite(hi)])
        case["chance_to_beat"] = finite(st.norm.cdf((mt - mc) / math.sqrt(vc + vt)))
    if mc != 0:
        var = vt / mc**2 + mt**2 * vc / mc**4
        zc = st.norm.ppf(1 - alpha / 2)
        rel = mt / mc - 1
        case["relative"] = rel
        case["relative_ci"] = [rel - zc * math.sqrt(var), rel + zc * math.sqrt(var)]
    return case


def numeric_cases():
    rng = np.random.default_rng(20260901)
    revenue = lambda n, p, mu: np.where(rng.random(n) < p, np.round(rng.lognormal(mu, 1.0, n)), 0.0)
    return [
        numeric_case("normal", rng.normal(10, 2, 500), rng.normal(10.3, 2.5, 520), 0.95),
        numeric_case("revenue_cents", revenue(5000, 0.1, 8), revenue(5000, 0.11, 8), 0.95),
        numeric_case("tiny", [1.0, 3.0], [2.0, 5.0, 9.0], 0.90),
        numeric_case("large", rng.normal(100, 30, 200000), rng.normal(100.2, 30, 200000), 0.99),
        numeric_case("constant_control", np.full(50, 5.0), rng.normal(5.5, 1, 40), 0.95),
        numeric_case("poisson_counts", rng.poisson(3, 800), rng.poisson(3.4, 700), 0.95),
        numeric_case("negative_values", rng.normal(-2, 1, 300), rng.normal(-1.8, 1.5, 310), 0.95),
    ]


# ------------------------------------------------------------ sequential ---
# mSPRT with a normal mixture, written from Johari, Pekelis & Walsh,
# "Always Valid Inference", eq. for the two-sample normal case:
#   Lambda = sqrt(V/(V+tau2)) * exp(tau2 * theta^2 / (2 V (V+tau2)))
# p_n = min(1, min_m 1/Lambda_m); CI_n = intersection_m {theta0: Lambda_m(theta0) < 1/alpha}.


def msprt_inv_lambda(theta, v, tau2):
    lam = math.sqrt(v / (v + tau2)) * math.exp(tau2 * theta**2 / (2 * v * (v + tau2)))
    return min(1.0, 1.0 / lam)


def msprt_half_width(v, tau2, alpha):
    # Solve Lambda(theta0) = 1/alpha for |theta - theta0| numerically, rather
    # than reuse the closed form the Go code uses.
    f = lambda h: 0.5 * math.log(v / (v + tau2)) + tau2 * h**2 / (2 * v * (v + tau2)) - math.log(1 / alpha)
    hi = 1.0
    while f(hi) < 0:
        hi *= 2
    return scipy.optimize.brentq(f, 0.0, hi, xtol=1e-300, rtol=1e-15, maxiter=500)


MSPRT_POINTS = [
    (0.01, 1e-5, 1e-4, 0.05),
    (0.002, 2e-6, 9e-4, 0.05),
    (-0.5, 0.04, 0.25, 0.10),
    (0.0, 1e-3, 1e-2, 0.05),
    (3.0, 1.0, 0.5, 0.01),
    (0.03, 1e-4, 1e-3, 0.05),
]


def sequential_case(looks, conf):
    """Cumulative binary looks (nc, xc, nt, xt) judged by the mSPRT."""
    alpha = 1 - conf
    p_run, lo, hi = 1.0, -math.inf, math.inf
    rlo, rhi = -math.inf, math.inf
    for nc, xc, nt, xt in looks:
        pc, pt = xc / nc, xt / nt
        vc, vt = pc * (1 - pc), pt * (1 - pt)
        tau2 = MIX * (vc + vt) / 2
        v = vc / nc + vt / nt
        d = pt - pc
        p_run = min(p_run, msprt_inv_lambda(d, v, tau2))
        h = msprt_half_width(v, tau2, alpha)
        lo, hi = max(lo, d - h), min(hi, d + h)
        rel = pt / pc - 1
        rv = (vt / nt) / pc**2 + pt**2 * (vc / nc) / pc**4
        rh = msprt_half_width(rv, tau2 / pc**2, alpha)
        rlo, rhi = max(rlo, rel - rh), min(rhi, rel + rh)
        assert lo <= hi and rlo <= rhi
    # Visitors remaining: the factor k with half_width(V/k) = |d| (brentq).
    if msprt_half_width(v, tau2, alpha) <= abs(d):
        k = 1.0
    else:
        g = lambda lk: msprt_half_width(v / math.exp(lk), tau2, alpha) - abs(d)
        k = math.exp(scipy.optimize.brentq(g, 0.0, 200.0, xtol=1e-14, rtol=1e-14))
    return {
        "looks": [{"control": {"n": a, "x": b}, "treatment": {"n": c, "x": e}} for a, b, c, e in looks],
        "confidence": conf,
        "tau2": tau2,
        "p_value": p_run,
        "diff_ci": [lo, hi],
        "relative_ci": [rlo, rhi],
        "scale": k,
    }


SEQUENTIAL = [
    ([(1000, 100, 1000, 118), (2000, 205, 2000, 240), (3000, 300, 3000, 365), (4000, 400, 4000, 490)], 0.95),
    ([(500, 50, 500, 50), (1000, 98, 1000, 104), (5000, 500, 5000, 512)], 0.90),
    ([(20000, 1000, 20000, 1150)], 0.95),
    ([(100, 40, 120, 20), (200, 85, 240, 45), (400, 160, 480, 100), (800, 330, 960, 180)], 0.99),
]

# -------------------------------------------------------------- bayesian ---


def chance_quad(nc, xc, nt, xt):
    """P(p_t > p_c), Beta(1+x, 1+n-x) posteriors, by scipy.integrate.quad."""
    bc, bt = st.beta(1 + xc, 1 + nc - xc), st.beta(1 + xt, 1 + nt - xt)
    # Integrate over the narrower density's bulk (quad over [0,1] misses a
    # spike of width 1e-4), with its mean as a breakpoint.
    if bc.std() <= bt.std():
        dens, other = bc, lambda y: bt.sf(y)
    else:
        dens, other = bt, lambda x: bc.cdf(x)
    m, s = dens.mean(), dens.std()
    lo, hi = max(0.0, m - 50 * s), min(1.0, m + 50 * s)
    val, err = scipy.integrate.quad(lambda x: dens.pdf(x) * other(x), lo, hi, points=[m],
                                    epsabs=1e-16, epsrel=1e-13, limit=500)
    return val


def chance_exact(nc, xc, nt, xt):
    """Evan Miller's closed form for integer Beta parameters, summed in logs."""
    aA, bA, aB, bB = 1 + xc, 1 + nc - xc, 1 + xt, 1 + nt - xt
    i = np.arange(aB, dtype=float)
    terms = (scipy.special.betaln(aA + i, bA + bB) - np.log(bB + i)
             - scipy.special.betaln(1 + i, bB) - scipy.special.betaln(aA, bA))
    return float(np.exp(scipy.special.logsumexp(terms)))


BAYES = [
    (0, 0, 0, 0),
    (100, 0, 100, 0),
    (1000, 100, 1000, 120),
    (1000000, 50000, 1000000, 50500),
    (100, 10, 1000000, 100000),
    (1000000, 100000, 100, 12),
    (10, 10, 10, 9),
    (20000, 0, 20000, 3),
    (1000, 500, 1000, 400),
    (50, 3, 60, 9),
    (5000, 4990, 5000, 5000),
]


def bayes_case(nc, xc, nt, xt):
    q = chance_quad(nc, xc, nt, xt)
    e = chance_exact(nc, xc, nt, xt)
    # The closed form's log-beta terms of arguments near 1e6 lose about 1e-9
    # relative precision, so the two routes agree to 1e-8, not to eps.
    assert abs(q - e) <= max(1e-8 * e, 1e-15), (nc, xc, nt, xt, q, e)
    return {"control": {"n": nc, "x": xc}, "treatment": {"n": nt, "x": xt}, "chance_to_beat": q, "exact": e}


# ------------------------------------------------------------------- srm ---

SRM = [
    ([5000, 5000], [5000, 5000]),
    ([5000, 5300], [1, 1]),
    ([3300, 3300, 3400], [3333, 3333, 3334]),
    ([1000, 1200, 900], [2500, 5000, 2500]),
    ([1000, 2200, 900], [2500, 5000, 2500]),
    ([50100, 49900], [5000, 5000]),
    ([10, 30], [1, 3]),
]


def srm_case(obs, w):
    total = sum(obs)
    exp = [total * x / sum(w) for x in w]
    chi, p = st.chisquare(obs, exp)
    return {"observed": obs, "weights": w, "chi_square": finite(chi), "df": len(obs) - 1,
            "p_value": finite(p), "mismatch": bool(p < 0.001)}


# -------------------------------------------------------------------- bh ---

BH = [
    [0.01, 0.04, 0.03, 0.005, 0.2, 0.5],
    [0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216],
    [0.03],
    [0.02, 0.02, 0.02, 0.9],
    [1.0, 0.5, 0.049, 1e-12],
]


def bh_case(p):
    reject, q, _, _ = multipletests(p, alpha=0.05, method="fdr_bh")
    return {"p": p, "alpha": 0.05, "adjusted": [finite(x) for x in q], "reject": [bool(r) for r in reject]}


# ----------------------------------------------------------- sample size ---

SAMPLE_SIZE = [
    # alpha, power, var_c, var_t, delta, ratio
    (0.05, 0.8, 0.09, 0.09, 0.01, 1.0),
    (0.05, 0.9, 4.0, 4.0, 0.25, 1.0),
    (0.01, 0.8, 1.0, 1.0, 0.1, 2.0),
    (0.10, 0.8, 0.0475, 0.0475, 0.005, 0.5),
    (0.05, 0.8, 0.09, 0.1056, 0.02, 1.0),  # unequal variances: closed form
]


def sample_size_case(alpha, power, vc, vt, delta, ratio):
    za, zb = st.norm.isf(alpha / 2), st.norm.isf(1 - power)
    closed = (za + zb) ** 2 * (vc + vt / ratio) / delta**2
    case = {"alpha": alpha, "power": power, "var_control": vc, "var_treatment": vt,
            "delta": delta, "ratio": ratio, "n_control": closed}
    if vc == vt:
        # statsmodels: one-sided at alpha/2 is the two-sided test without the
        # negligible opposite tail, which is what the closed form assumes.
        n1 = NormalIndPower().solve_power(effect_size=delta / math.sqrt(vc), alpha=alpha / 2, power=power,
                                          ratio=ratio, alternative="larger")
        assert abs(n1 - closed) <= 1e-6 * closed, (n1, closed)
        case["n_control"] = float(n1)
        case["statsmodels"] = True
    return case


# Visitors remaining, fixed horizon: the factor k by which both samples must
# grow (rates unchanged) until the pooled z-test reaches the critical value.
def remaining_fixed_case(nc, xc, nt, xt, conf):
    alpha = 1 - conf
    pc, pt = xc / nc, xt / nt
    pooled = (xc + xt) / (nc + nt)
    v = pooled * (1 - pooled) * (1 / nc + 1 / nt)
    d = pt - pc
    crit = st.norm.isf(alpha / 2)
    # Solve |d| / sqrt(v/k) = crit with brentq rather than the closed form.
    k = scipy.optimize.brentq(lambda k: abs(d) / math.sqrt(v / k) - crit, 1e-12, 1e12, xtol=1e-15, rtol=1e-15)
    return {"control": {"n": nc, "x": xc}, "treatment": {"n": nt, "x": xt}, "confidence": conf, "scale": k}


REMAINING_FIXED = [
    (1000, 100, 1000, 110, 0.95),
    (5000, 250, 5000, 270, 0.90),
    (10000, 500, 10000, 800, 0.95),
]


# --------------------------------------------------------- lift over time ---
# The lift and its interval at every cumulative look, per method: the
# fixed-horizon intervals (statsmodels), the running intersection of mSPRT
# intervals (half-widths by brentq, as above), and Bayesian credible
# intervals from the flat-prior posteriors (scipy's Beta moments for rates,
# N(m, s^2/n) for means) with a normal approximation of the difference and,
# by the delta method on the posterior moments, of the relative lift.


def look_stats(kind, c, t):
    """n, mean, per-visitor variance of both arms; c/t are (n, x) or arrays."""
    if kind == "binary":
        (nc, xc), (nt, xt) = c, t
        pc, pt = xc / nc if nc else 0.0, xt / nt if nt else 0.0
        return nc, pc, pc * (1 - pc), nt, pt, pt * (1 - pt)
    c, t = np.asarray(c, float), np.asarray(t, float)
    vc = c.var(ddof=1) if c.size > 1 else 0.0
    vt = t.var(ddof=1) if t.size > 1 else 0.0
    return c.size, (c.mean() if c.size else 0.0), vc, t.size, (t.mean() if t.size else 0.0), vt


def posterior(kind, arm):
    if kind == "binary":
        n, x = arm
        b = st.beta(1 + x, 1 + n - x)
        return b.mean(), b.var()
    a = np.asarray(arm, float)
    return a.mean(), a.var(ddof=1) / a.size


def lift_over_time(kind, looks, conf, method):
    alpha = 1 - conf
    zc = st.norm.ppf(1 - alpha / 2)
    need = 1 if kind == "binary" else 2
    lo, hi, rlo, rhi = -math.inf, math.inf, -math.inf, math.inf
    rel_looks = 0
    out = []
    for c, t in looks:
        nc, mc, uc, nt, mt, ut = look_stats(kind, c, t)
        if nc < need or nt < need:
            out.append({"defined": False})
            continue
        p = {"defined": True, "diff": float(mt - mc), "relative_defined": bool(mc != 0)}
        vc, vt = uc / nc, ut / nt
        if mc != 0:
            rel = mt / mc - 1
            rv = vt / mc**2 + mt**2 * vc / mc**4
            p["relative"] = rel
            p["relative_ci"] = [rel - zc * math.sqrt(rv), rel + zc * math.sqrt(rv)]
        if method == "frequentist":
            if kind == "binary":
                a, b = confint_proportions_2indep(t[1], nt, c[1], nc, method="wald", compare="diff", alpha=alpha)
            elif vc + vt > 0:
                a, b = CompareMeans(DescrStatsW(np.asarray(t, float)), DescrStatsW(np.asarray(c, float))).tconfint_diff(
                    alpha=alpha, usevar="unequal")
            else:
                a = b = mt - mc
            p["diff_ci"] = [finite(a), finite(b)]
        elif method == "sequential":
            tau2 = MIX * (uc + ut) / 2
            h = msprt_half_width(vc + vt, tau2, alpha)
            d = mt - mc
            nlo, nhi = max(lo, d - h), min(hi, d + h)
            lo, hi = (nlo, nhi) if nlo <= nhi else (d - h, d + h)
            p["diff_ci"] = [lo, hi]
            if mc != 0:
                rh = msprt_half_width(rv, tau2 / mc**2, alpha)
                nlo, nhi = max(rlo, rel - rh), min(rhi, rel + rh)
                rlo, rhi = (nlo, nhi) if nlo <= nhi else (rel - rh, rel + rh)
                p["relative_ci"] = [rlo, rhi]
        else:
            ec, sc2 = posterior(kind, c)
            et, st2 = posterior(kind, t)
            a, b = st.norm(loc=et - ec, scale=math.sqrt(sc2 + st2)).interval(conf)
            p["diff_ci"] = [finite(a), finite(b)]
            if mc != 0:
                v = st2 / ec**2 + et**2 * sc2 / ec**4
                a, b = st.norm(loc=et / ec - 1, scale=math.sqrt(v)).interval(conf)
                p["relative_ci"] = [finite(a), finite(b)]
        out.append(p)
    return out


def lift_over_time_cases():
    rng = np.random.default_rng(20261204)
    cases = []
    binary = [
        ([(0, 0), (1000, 100), (2000, 205), (3000, 300), (4000, 400)],
         [(0, 0), (1000, 118), (2000, 240), (3000, 365), (4000, 490)], 0.95),
        ([(100, 0), (300, 6), (900, 30)], [(120, 2), (330, 9), (950, 41)], 0.90),
        ([(500, 50), (1000, 98), (5000, 500)], [(500, 50), (1000, 104), (5000, 512)], 0.99),
    ]
    for c, t, conf in binary:
        looks = list(zip(c, t))
        case = {"kind": "binary", "confidence": conf,
                "looks": [{"control": {"n": a[0], "x": a[1]}, "treatment": {"n": b[0], "x": b[1]}} for a, b in looks]}
        for m in ("frequentist", "sequential", "bayesian"):
            case[m] = lift_over_time("binary", looks, conf, m)
        cases.append(case)
    numeric = [
        (rng.normal(10, 2, 900), rng.normal(10.4, 2.5, 900), [1, 50, 300, 900], 0.95),
        (np.where(rng.random(3000) < 0.1, np.round(rng.lognormal(7, 1, 3000)), 0.0),
         np.where(rng.random(3000) < 0.12, np.round(rng.lognormal(7, 1, 3000)), 0.0), [200, 1000, 3000], 0.95),
    ]
    for c, t, cuts, conf in numeric:
        looks = [(c[:k], t[:k]) for k in cuts]
        case = {"kind": "numeric", "confidence": conf,
                "looks": [{"control": summary(a), "treatment": summary(b)} for a, b in looks]}
        for m in ("frequentist", "sequential", "bayesian"):
            case[m] = lift_over_time("numeric", looks, conf, m)
        cases.append(case)
    return cases


# ---------------------------------------------------- bayesian decisions ---
# Expected loss (risk) of choosing either side and the credible intervals,
# next to chance to beat. Rates: the loss of choosing t is
# E[(p_c - p_t)+] = integral over t's Beta density of E[(p_c - x)+], with
# E[(p_c - x)+] = integral_x^1 S_c(y) dy = E(p_c) S_{c+}(x) - x S_c(x)
# (integration by parts; c+ is Beta(a+1, b)), checked against a Monte Carlo
# estimate. Means: D ~ N(d, s^2), the loss integrated by scipy.integrate.quad.


def beta_loss(nc, xc, nt, xt):
    """E[(p_c - p_t)+]: the risk of choosing t."""
    ac, bc = 1 + xc, 1 + nc - xc
    c, cup, t = st.beta(ac, bc), st.beta(ac + 1, bc), st.beta(1 + xt, 1 + nt - xt)
    inner = lambda x: c.mean() * cup.sf(x) - x * c.sf(x)
    m, s = t.mean(), t.std()
    lo, hi = max(0.0, m - 50 * s), min(1.0, m + 50 * s)
    pts = [m] + [p for p in (c.mean(),) if lo < p < hi]
    val, _ = scipy.integrate.quad(lambda x: t.pdf(x) * inner(x), lo, hi, points=pts,
                                  epsabs=1e-17, epsrel=1e-12, limit=1000)
    rng = np.random.default_rng(7)
    mc = np.maximum(rng.beta(ac, bc, 400000) - rng.beta(1 + xt, 1 + nt - xt, 400000), 0)
    assert abs(mc.mean() - val) <= 6 * mc.std() / math.sqrt(mc.size) + 1e-12, (nc, xc, nt, xt, val, mc.mean())
    return max(val, 0.0)


def normal_loss(d, sd):
    """E[(-D)+] and E[D+] for D ~ N(d, sd^2), by quadrature."""
    f = st.norm(loc=d, scale=sd).pdf
    lt, _ = scipy.integrate.quad(lambda x: -x * f(x), d - 60 * sd, 0.0, epsabs=1e-300, epsrel=1e-13, limit=500) \
        if d - 60 * sd < 0 else (0.0, 0)
    lc, _ = scipy.integrate.quad(lambda x: x * f(x), 0.0, d + 60 * sd, epsabs=1e-300, epsrel=1e-13, limit=500) \
        if d + 60 * sd > 0 else (0.0, 0)
    return lt, lc


def credible(kind, c, t, conf):
    ec, vc = posterior(kind, c)
    et, vt = posterior(kind, t)
    out = {"credible_diff": [finite(x) for x in st.norm(loc=et - ec, scale=math.sqrt(vc + vt)).interval(conf)]}
    mean_c = (c[1] / c[0]) if kind == "binary" else float(np.mean(c))
    if mean_c != 0:
        v = vt / ec**2 + et**2 * vc / ec**4
        out["credible_relative"] = [finite(x) for x in st.norm(loc=et / ec - 1, scale=math.sqrt(v)).interval(conf)]
    return out


def decision_cases():
    cases = []
    for nc, xc, nt, xt in [(1000, 100, 1000, 120), (1000000, 50000, 1000000, 50500), (100, 10, 1000000, 100000),
                           (1000000, 100000, 100, 12), (10, 10, 10, 9), (20000, 0, 20000, 3),
                           (1000, 500, 1000, 400), (50, 3, 60, 9), (5000, 4990, 5000, 5000)]:
        case = {"kind": "binary", "control": {"n": nc, "x": xc}, "treatment": {"n": nt, "x": xt}, "confidence": 0.95,
                "loss_treatment": beta_loss(nc, xc, nt, xt), "loss_control": beta_loss(nt, xt, nc, xc)}
        case.update(credible("binary", (nc, xc), (nt, xt), 0.95))
        cases.append(case)
    rng = np.random.default_rng(20261205)
    for c, t, conf in [(rng.normal(10, 2, 500), rng.normal(10.3, 2.5, 520), 0.95),
                       (rng.normal(10, 2, 500), rng.normal(9.2, 2.5, 520), 0.90),
                       (np.where(rng.random(4000) < 0.1, np.round(rng.lognormal(7, 1, 4000)), 0.0),
                        np.where(rng.random(4000) < 0.1, np.round(rng.lognormal(7, 1, 4000)), 0.0), 0.95),
                       (rng.poisson(3, 800).astype(float), rng.poisson(3.4, 700).astype(float), 0.99)]:
        d = t.mean() - c.mean()
        sd = math.sqrt(c.var(ddof=1) / c.size + t.var(ddof=1) / t.size)
        lt, lc = normal_loss(d, sd)
        case = {"kind": "numeric", "control": summary(c), "treatment": summary(t), "confidence": conf,
                "loss_treatment": finite(lt), "loss_control": finite(lc)}
        case.update(credible("numeric", c, t, conf))
        cases.append(case)
    return cases


# ------------------------------------------------------------ end to end ---
# The dataset services/results/internal/server tests send through the real
# service (see e2e_test.go there): 1000 visitors per variation; control
# visitor i < 100 buys once for 1000 + 37 i cents; treatment visitor i < 130
# buys for 1100 + 41 i cents, and every tenth of them (i % 10 == 0) buys
# again for 500 cents. Visitors without a purchase count as 0.


def service_case():
    n = 1000
    c = np.zeros(n)
    c[:100] = 1000 + 37 * np.arange(100)
    t = np.zeros(n)
    t[:130] = 1100 + 41 * np.arange(130)
    t[:130:10] += 500
    xc, xt = 100, 130
    binary = binary_case(n, xc, n, xt, 0.95)
    chance = bayes_case(n, xc, n, xt)["chance_to_beat"]
    # One look (every event on one day): the sequential p-value and interval.
    pc, pt = xc / n, xt / n
    vc, vt = pc * (1 - pc), pt * (1 - pt)
    tau2 = MIX * (vc + vt) / 2
    v = vc / n + vt / n
    seq_p = msprt_inv_lambda(pt - pc, v, tau2)
    seq_h = msprt_half_width(v, tau2, 0.05)
    revenue = numeric_case("service_revenue", c, t, 0.95)
    return {
        "binary": binary, "chance_to_beat": chance,
        "sequential_p_value": seq_p, "sequential_diff_ci": [pt - pc - seq_h, pt - pc + seq_h],
        "revenue": revenue,
        "treatment_conversions": 130 + 13,
    }


def service_bayes_case():
    """The same dataset under the Bayesian method: risks and credible intervals."""
    n = 1000
    c = np.zeros(n)
    c[:100] = 1000 + 37 * np.arange(100)
    t = np.zeros(n)
    t[:130] = 1100 + 41 * np.arange(130)
    t[:130:10] += 500
    rate = {"loss_treatment": beta_loss(n, 100, n, 130), "loss_control": beta_loss(n, 130, n, 100)}
    rate.update(credible("binary", (n, 100), (n, 130), 0.95))
    lt, lc = normal_loss(t.mean() - c.mean(), math.sqrt(c.var(ddof=1) / n + t.var(ddof=1) / n))
    revenue = {"loss_treatment": finite(lt), "loss_control": finite(lc)}
    revenue.update(credible("numeric", c, t, 0.95))
    return {"rate": rate, "revenue": revenue}


# ------------------------------------------------------ metric definitions ---
# One experiment judged on four defined metrics (frequentist, 95 %, false
# discovery rate control on): the verdict follows each metric's direction,
# Benjamini-Hochberg runs over the primary and secondary metrics only, and
# the guardrail is flagged on its own p-value when significantly worse.
# services/results/internal/analysis feeds the same sums through Compute.


def service_conversions_case():
    """The service dataset's purchases counted per visitor (Welch)."""
    n = 1000
    c = np.zeros(n)
    c[:100] = 1
    t = np.zeros(n)
    t[:130] = 1
    t[:130:10] += 1
    tstat, p = st.ttest_ind(t, c, equal_var=False)
    return {"control": summary(c), "treatment": summary(t), "p_value": finite(p),
            "variance_control": float(c.var(ddof=1)), "variance_treatment": float(t.var(ddof=1))}


def service_capped_case():
    """The service dataset's revenue per visitor, winsorized: at the 90th
    percentile of the buyers' totals (numpy's linear percentile, which is
    Postgres's percentile_cont) and at a fixed 4000 cents (Welch)."""
    n = 1000
    c = np.zeros(n)
    c[:100] = 1000 + 37 * np.arange(100)
    t = np.zeros(n)
    t[:130] = 1100 + 41 * np.arange(130)
    t[:130:10] += 500
    out = {}
    nz = np.concatenate([c[c != 0], t[t != 0]])
    for name, cap in (("percentile_90", float(np.percentile(nz, 90))), ("fixed_4000", 4000.0)):
        cc, tc = np.minimum(c, cap), np.minimum(t, cap)
        tstat, p = st.ttest_ind(tc, cc, equal_var=False)
        lo, hi = CompareMeans(DescrStatsW(tc), DescrStatsW(cc)).tconfint_diff(alpha=0.05, usevar="unequal")
        out[name] = {"cap": cap, "control": summary(cc), "treatment": summary(tc), "p_value": finite(p),
                     "diff_ci": [finite(lo), finite(hi)]}
    return out


# ------------------------------------------------------------------ cuped ---
# CUPED (Deng et al. 2013): theta pooled within the arms, the adjusted
# difference and its interval per method. theta and the adjusted difference
# are also the OLS coefficients of y ~ 1 + treatment + x (statsmodels),
# asserted equal to the moment formulas.


def paired(x, y):
    x, y = np.asarray(x, float), np.asarray(y, float)
    return {"n": int(x.size), "sum_x": float(x.sum()), "sum_xx": float((x * x).sum()), "sum_y": float(y.sum()),
            "sum_yy": float((y * y).sum()), "sum_xy": float((x * y).sum())}


def cuped_case(name, xc, yc, xt, yt, conf):
    import statsmodels.api as sm
    alpha = 1 - conf
    sxy = np.cov(xc, yc, ddof=0)[0, 1] * xc.size + np.cov(xt, yt, ddof=0)[0, 1] * xt.size
    sxx = xc.var() * xc.size + xt.var() * xt.size
    theta = sxy / sxx
    diff = (yt.mean() - theta * xt.mean()) - (yc.mean() - theta * xc.mean())
    X = np.column_stack([np.ones(xc.size + xt.size), np.r_[np.zeros(xc.size), np.ones(xt.size)], np.r_[xc, xt]])
    fit = sm.OLS(np.r_[yc, yt], X).fit()
    assert abs(fit.params[2] - theta) <= 1e-9 * abs(theta), (fit.params, theta)
    assert abs(fit.params[1] - diff) <= 1e-9 * max(abs(diff), 1e-12), (fit.params, diff)
    vc, vt = np.var(yc - theta * xc, ddof=1), np.var(yt - theta * xt, ddof=1)
    v = vc / yc.size + vt / yt.size
    raw = np.var(yc, ddof=1) / yc.size + np.var(yt, ddof=1) / yt.size
    case = {"name": name, "confidence": conf, "control": paired(xc, yc), "treatment": paired(xt, yt),
            "theta": finite(theta), "diff": finite(diff), "variance": finite(v),
            "variance_reduction": finite(1 - v / raw)}
    lo, hi = st.norm(loc=diff, scale=math.sqrt(v)).interval(conf)
    case["diff_ci"] = [finite(lo), finite(hi)]
    h = msprt_half_width(v, MIX * (vc + vt) / 2, alpha)
    case["sequential_diff_ci"] = [diff - h, diff + h]
    base = yc.mean()
    case["relative"] = finite(diff / base)
    case["relative_ci"] = sorted([finite(lo / base), finite(hi / base)])
    return case


def cuped_cases():
    rng = np.random.default_rng(20261207)
    out = []
    n = 3000
    for name, rho, shift in (("normal_rho07", 0.7, 0.08), ("normal_rho03", 0.3, 0.0)):
        z = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=2 * n)
        xc, yc = 10 + 2 * z[:n, 0], 10 + 2 * z[:n, 1]
        xt, yt = 10 + 2 * z[n:, 0], 10 + 2 * z[n:, 1] + shift * 2
        out.append(cuped_case(name, xc, yc, xt, yt, 0.95))
    # Revenue-like: a visitor's spend before and after exposure share a
    # propensity; most spend nothing.
    prop = rng.gamma(0.5, 1.0, 2 * n)
    pre = np.where(rng.random(2 * n) < 0.2, np.round(prop * rng.lognormal(6, 0.5, 2 * n)), 0.0)
    post = np.where(rng.random(2 * n) < 0.25, np.round(prop * rng.lognormal(6, 0.5, 2 * n)), 0.0)
    post[n:] *= 1.1
    out.append(cuped_case("revenue", pre[:n], post[:n], pre[n:], post[n:], 0.90))
    # Conversions: converted before exposure, converted after.
    pc = rng.random(2 * n) < 0.15
    pt = np.where(pc, rng.random(2 * n) < 0.5, rng.random(2 * n) < 0.08).astype(float)
    out.append(cuped_case("binary", pc[:n].astype(float), pt[:n], pc[n:].astype(float), pt[n:], 0.95))
    return out


def service_cuped_case():
    """The CUPED dataset the service test sends (e2e_test.go,
    cupedData): 400 visitors per arm; visitor i buys two days before
    exposure for pre_i = 100 + (37 i mod 900) cents unless i % 3 == 0, and
    after exposure for pre_i + (53 i mod 200) (+150 in the treatment)
    unless i % 4 == 0; every tenth visitor also bought for 5000 cents 20
    days before exposure, outside the 14-day window."""
    i = np.arange(400)
    pre_c = np.where(i % 3 != 0, 100 + (37 * i) % 900, 0).astype(float)
    pre_t = np.where(i % 3 != 0, 100 + (41 * i) % 900, 0).astype(float)
    post_c = np.where(i % 4 != 0, pre_c + (53 * i) % 200, 0).astype(float)
    post_t = np.where(i % 4 != 0, pre_t + (53 * i) % 200 + 150, 0).astype(float)
    return cuped_case("service", pre_c, post_c, pre_t, post_t, 0.95)


def metric_definitions_case():
    rng = np.random.default_rng(20261206)
    n = 4000
    alpha = 0.05
    metrics = []
    # primary: unique conversions, increase is better.
    xc, xt = 400, 470
    z, p = proportions_ztest([xt, xc], [n, n])
    metrics.append({"key": "buy", "kind": 1, "direction": 1, "role": 1,
                    "control": {"n": n, "x": xc, "sum": xc, "sum_sq": xc},
                    "treatment": {"n": n, "x": xt, "sum": xt, "sum_sq": xt},
                    "p_value": finite(p), "diff": (xt - xc) / n, "chance_raw": chance_quad(n, xc, n, xt)})
    # guardrail: refunds (unique conversions), decrease is better; worse.
    rc, rt = 80, 118
    z, p = proportions_ztest([rt, rc], [n, n])
    metrics.append({"key": "refund", "kind": 1, "direction": 2, "role": 3,
                    "control": {"n": n, "x": rc, "sum": rc, "sum_sq": rc},
                    "treatment": {"n": n, "x": rt, "sum": rt, "sum_sq": rt},
                    "p_value": finite(p), "diff": (rt - rc) / n, "chance_raw": chance_quad(n, rc, n, rt)})
    # secondary: latency (value per visitor), decrease is better; lower.
    lc, lt = rng.gamma(4.0, 50.0, n), rng.gamma(4.0, 47.0, n)
    # secondary: items (conversions per visitor), increase is better.
    ic, it = rng.poisson(1.2, n).astype(float), rng.poisson(1.25, n).astype(float)
    for key, kind, direction, c, t in (("latency", 4, 2, lc, lt), ("items", 2, 1, ic, it)):
        tstat, p = st.ttest_ind(t, c, equal_var=False)
        sd = math.sqrt(c.var(ddof=1) / n + t.var(ddof=1) / n)
        sc, stt = summary(c), summary(t)
        metrics.append({"key": key, "kind": kind, "direction": direction, "role": 2,
                        "control": {"n": n, "x": 0, "sum": sc["sum"], "sum_sq": sc["sum_sq"]},
                        "treatment": {"n": n, "x": 0, "sum": stt["sum"], "sum_sq": stt["sum_sq"]},
                        "p_value": finite(p), "diff": float(t.mean() - c.mean()),
                        "chance_raw": finite(st.norm.cdf((t.mean() - c.mean()) / sd))})
    family = [m for m in metrics if m["role"] != 3]
    _, q, _, _ = multipletests([m["p_value"] for m in family], alpha=alpha, method="fdr_bh")
    for m, qv in zip(family, q):
        m["adjusted_p_value"] = finite(qv)
    for m in metrics:
        m.setdefault("adjusted_p_value", m["p_value"])
        better = m["diff"] > 0 if m["direction"] == 1 else m["diff"] < 0
        sig = m["adjusted_p_value"] < alpha
        m["status"] = ("better" if better else "worse") if sig else "inconclusive"
        m["chance_to_beat"] = m["chance_raw"] if m["direction"] == 1 else 1 - m["chance_raw"]
        m["guardrail_violated"] = m["role"] == 3 and sig and not better
    return {"confidence": 1 - alpha, "metrics": metrics}


def main():
    out = {
        "generated_by": "testdata/reference.py",
        "versions": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "scipy": scipy.__version__,
            "statsmodels": statsmodels.__version__,
        },
        "mixing_variance": MIX,
        "binary": [binary_case(*c) for c in BINARY],
        "numeric": numeric_cases(),
        "msprt_points": [
            {"estimate": e, "variance": v, "tau2": t, "alpha": a,
             "p_value": msprt_inv_lambda(e, v, t), "half_width": msprt_half_width(v, t, a)}
            for e, v, t, a in MSPRT_POINTS
        ],
        "sequential": [sequential_case(l, c) for l, c in SEQUENTIAL],
        "bayes_binary": [bayes_case(*c) for c in BAYES],
        "srm": [srm_case(*c) for c in SRM],
        "bh": [bh_case(p) for p in BH],
        "sample_size": [sample_size_case(*c) for c in SAMPLE_SIZE],
        "remaining_fixed": [remaining_fixed_case(*c) for c in REMAINING_FIXED],
        "service": service_case(),
        "lift_over_time": lift_over_time_cases(),
        "bayes_decisions": decision_cases(),
        "service_bayes": service_bayes_case(),
        "metric_definitions": metric_definitions_case(),
        "service_conversions": service_conversions_case(),
        "service_capped": service_capped_case(),
        "cuped": cuped_cases(),
        "service_cuped": service_cuped_case(),
    }
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
