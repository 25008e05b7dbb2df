"""HonestDiD (Rambachan and Roth 2023): closed forms, R's published numbers, two independent
Python implementations, the Callaway-Sant'Anna inputs and the result object.

Tolerances, and why:

- R's README (Medicaid example) prints three significant digits. The relative-magnitudes
  intervals are grid points (1,000 points, the same grid as R), so they may differ from R
  by one grid step plus the rounding; the FLCI by the rounding plus 5e-5 (R simulates the
  folded-normal quantile with 10^6 draws; our betahat/sigma are refitted, see below).
- moderndid 0.2.0 (a port of the R package): same grid and same conditional test, so the
  conditional intervals agree exactly (1e-12); the hybrid's least-favourable critical
  value is simulated with another generator, so one grid step. moderndid leaves out the
  component of the union where the largest pre-period difference is the earliest one
  (R loops over ``s = -(T-1), ..., 0``; moderndid over ``s = -(T-1), ..., -1`` in its
  shifted indexing), so outside the Medicaid example the comparison is per component.
- diff-diff 3.13.0 FLCI: the same convex programme solved another way; half-lengths agree
  to 1e-7 (relative), the centres only to 5e-4 standard deviations because the half-length
  is flat in the estimator's standard deviation near the optimum.
"""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from scipy import stats
from tests.did.test_att_gt import KW, _panel

from evaluate.did.att_gt import callaway_santanna
from evaluate.errors import InputError
from evaluate.sensitivity._honest_rm import arp_accept, rm_constraints, rm_grid
from evaluate.sensitivity._honest_sd import flci
from evaluate.sensitivity.honest import (
    HonestResult,
    honest_did,
    honest_did_cs,
    honest_inputs,
    original_ci,
)

# HonestDiD README, Medicaid example: TWFE event study of dins on year x D (ref 2013),
# state and year effects, clustered by state (CR1), on Mixtape-Sessions/Advanced-DID
# ehec_data (years < 2016, 2015 cohort dropped); refitted with pyfixest 0.60 (as fixest).
MEDICAID_BETA = np.array([-0.00528535453272097, -0.0112973246481514, -0.00267599181179386,
                          -0.00141931225211098, 0.00033966351897144, 0.04644685415994523,
                          0.06920617547902158])
_S = np.array([
    [7.4884836358975236e-05, 6.0398740956442307e-05, 4.4446198184610251e-05, 3.3857647060890720e-05,
     4.3280112547434296e-05, 4.7658804787777961e-05, 2.4251286997539793e-05],
    [6.0398740956442287e-05, 7.2665006169968260e-05, 3.7893302212879821e-05, 2.8665780251483534e-05,
     4.5433206284036229e-05, 4.4288501193179156e-05, 2.8246550429844611e-05],
    [4.4446198184610224e-05, 3.7893302212879821e-05, 5.0520519401628015e-05, 2.6736794324838004e-05,
     2.7781935676739397e-05, 3.0606441089053972e-05, 9.6375338826675462e-06],
    [3.3857647060890706e-05, 2.8665780251483551e-05, 2.6736794324838011e-05, 4.0032220263376900e-05,
     2.4128599757162906e-05, 2.3808682090734700e-05, 2.9238781433625421e-06],
    [4.3280112547434289e-05, 4.5433206284036223e-05, 2.7781935676739414e-05, 2.4128599757162916e-05,
     5.4626622070541646e-05, 3.6825310517430169e-05, 9.7229475024168065e-06],
    [4.7658804787777934e-05, 4.4288501193179136e-05, 3.0606441089053972e-05, 2.3808682090734693e-05,
     3.6825310517430169e-05, 8.3756688246773377e-05, 6.3213979625335935e-05],
    [2.4251286997539810e-05, 2.8246550429844618e-05, 9.6375338826675597e-06, 2.9238781433625573e-06,
     9.7229475024168421e-06, 6.3213979625335962e-05, 1.0712352303004246e-04]])
MEDICAID_SIGMA = (_S + _S.T) / 2
E1 = np.array([1.0, 0.0])

# the README's printed intervals (l = first post-period)
R_RM = {0.5: (0.0240, 0.0672), 1.0: (0.0170, 0.0720), 1.5: (0.00824, 0.0797), 2.0: (-0.000916, 0.0881)}
R_SD = {0.0: (0.0259, 0.0607), 0.01: (0.0132, 0.0787), 0.02: (0.00286, 0.0907),
        0.03: (-0.00714, 0.101), 0.04: (-0.0171, 0.111), 0.05: (-0.0271, 0.121)}


def _rounding(x: float) -> float:
    """Half a unit in the third significant digit (R's tibble print)."""
    return 0.5 * 10 ** (math.floor(math.log10(abs(x))) - 2)


def _synthetic(num_pre: int, num_post: int, seed: int = 3):
    rng = np.random.default_rng(seed)
    n = num_pre + num_post
    root = rng.normal(size=(n, n))
    sigma = (root @ root.T + n * np.eye(n)) * 1e-4
    beta = rng.multivariate_normal(np.r_[np.zeros(num_pre), np.linspace(0.03, 0.05, num_post)], sigma)
    return beta, sigma


# --- R HonestDiD README ----------------------------------------------------------------
@pytest.mark.against_r
@pytest.mark.parametrize("mbar", sorted(R_RM))
def test_relative_magnitudes_match_r_readme(mbar):
    res = honest_did(MEDICAID_BETA, MEDICAID_SIGMA, num_pre=5, l_vec=E1, m=[mbar])
    step = np.diff(rm_grid(MEDICAID_BETA, MEDICAID_SIGMA, 5, E1, mbar, 1000))[0]
    row = res.table.iloc[0]
    assert row["method"] == "C-LF"
    for got, want in zip((row["ci_low"], row["ci_high"]), R_RM[mbar], strict=True):
        assert abs(got - want) <= step + _rounding(want)


@pytest.mark.against_r
def test_smoothness_flci_matches_r_readme():
    res = honest_did(MEDICAID_BETA, MEDICAID_SIGMA, num_pre=5, l_vec=E1, restriction="smoothness",
                     m=sorted(R_SD))
    for _, row in res.table.iterrows():
        want = R_SD[round(row["m"], 2)]
        for got, w in zip((row["ci_low"], row["ci_high"]), want, strict=True):
            assert abs(got - w) <= _rounding(w) + 5e-5
    # the README: "the breakdown value for a significant effect is M ~ 0.03"
    assert 0.02 < res.breakdown < 0.03


# --- moderndid (port of the R package) -------------------------------------------------
def _moderndid_rm(beta, sigma, num_pre, l_vec, mbar, flag):
    md = pytest.importorskip("moderndid.didhonest", reason="moderndid[didhonest] not installed (dev extra)")
    grid = rm_grid(beta, sigma, num_pre, l_vec, mbar, 1000)
    out = md.compute_conditional_cs_rm(beta, sigma, num_pre, len(beta) - num_pre, l_vec=l_vec, m_bar=mbar,
                                       hybrid_flag=flag, grid_lb=grid[0], grid_ub=grid[-1],
                                       grid_points=1000, seed=0)
    acc = np.asarray(out["accept"], dtype=bool)
    return grid[acc].min(), grid[acc].max(), grid[1] - grid[0]


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize(("l_vec", "mbar"), [(E1, 1.0), (np.array([0.5, 0.5]), 1.0), (np.array([0.5, 0.5]), 2.0)])
def test_conditional_rm_matches_moderndid_exactly(l_vec, mbar):
    lo, hi, _ = _moderndid_rm(MEDICAID_BETA, MEDICAID_SIGMA, 5, l_vec, mbar, "ARP")
    res = honest_did(MEDICAID_BETA, MEDICAID_SIGMA, num_pre=5, l_vec=l_vec, m=[mbar], method="conditional")
    assert res.table["ci_low"].iloc[0] == pytest.approx(lo, abs=1e-12)
    assert res.table["ci_high"].iloc[0] == pytest.approx(hi, abs=1e-12)


@pytest.mark.filterwarnings("ignore")
def test_hybrid_rm_matches_moderndid_within_a_grid_step():
    l_vec = np.array([0.5, 0.5])
    lo, hi, step = _moderndid_rm(MEDICAID_BETA, MEDICAID_SIGMA, 5, l_vec, 2.0, "LF")
    res = honest_did(MEDICAID_BETA, MEDICAID_SIGMA, num_pre=5, l_vec=l_vec, m=[2.0])
    assert abs(res.table["ci_low"].iloc[0] - lo) <= step * 1.0001
    assert abs(res.table["ci_high"].iloc[0] - hi) <= step * 1.0001


@pytest.mark.filterwarnings("ignore")
def test_rm_components_match_moderndid_and_r_adds_the_earliest_difference():
    beta, sigma = _synthetic(3, 3)
    l_vec = np.full(3, 1 / 3)
    lo, hi, _ = _moderndid_rm(beta, sigma, 3, l_vec, 1.0, "ARP")
    grid = rm_grid(beta, sigma, 3, l_vec, 1.0, 1000)
    gi = np.linalg.inv(np.vstack([l_vec, np.eye(3)[1:]]))

    def accept(svals):
        acc = np.zeros(len(grid), dtype=bool)
        for s in svals:
            for pos in (True, False):
                a = rm_constraints(3, 3, 1.0, s, pos)
                ag = a[:, 3:] @ gi
                rows = np.flatnonzero(np.any(a[:, 3:] != 0, axis=1))
                acc |= arp_accept((a @ beta)[rows], ag[rows, 0], ag[rows, 1:],
                                  (a @ sigma @ a.T)[np.ix_(rows, rows)], grid, alpha=0.05,
                                  hybrid=False, kappa=0.005)
        return grid[acc].min(), grid[acc].max()

    assert accept([-1, 0]) == pytest.approx((lo, hi), abs=1e-12)
    full = honest_did(beta, sigma, num_pre=3, m=[1.0], method="conditional").table.iloc[0]
    assert (full["ci_low"], full["ci_high"]) == pytest.approx(accept([-2, -1, 0]), abs=1e-12)
    assert full["ci_low"] <= lo and full["ci_high"] >= hi


# --- diff-diff (FLCI) ------------------------------------------------------------------
@pytest.mark.parametrize(("num_pre", "num_post"), [(5, 2), (3, 3), (2, 4), (4, 1), (1, 2)])
@pytest.mark.parametrize("m", [0.0, 0.005, 0.03])
def test_flci_matches_diff_diff(num_pre, num_post, m):
    dd = pytest.importorskip("diff_diff.honest_did", reason="diff-diff not installed (dev extra)")
    if num_pre == 5:
        beta, sigma = MEDICAID_BETA, MEDICAID_SIGMA
    else:
        beta, sigma = _synthetic(num_pre, num_post)
    l_vec = np.full(num_post, 1 / num_post)
    lo, hi = flci(beta, sigma, num_pre, l_vec, m)
    dlo, dhi = dd._compute_optimal_flci(beta[:num_pre], beta[num_pre:], sigma, l_vec, num_pre, num_post, m)
    assert hi - lo == pytest.approx(dhi - dlo, rel=1e-7)
    sd = math.sqrt(l_vec @ sigma[num_pre:, num_pre:] @ l_vec)
    assert abs((lo + hi) / 2 - (dlo + dhi) / 2) <= 5e-4 * sd


# --- closed forms ----------------------------------------------------------------------
@pytest.mark.parametrize("pre", [0.0, -0.1, 0.1])
def test_rm_mbar_zero_one_post_period_closed_form(pre):
    # one pre- and one post-period, independent: Mbar = 0 pins delta_1 = 0; the moments are
    # +-(beta_1 - theta) and the pre-period moment 2 |beta_-1| (normalised q = |beta_-1|/sd),
    # so the conditional test truncates at max(0, q): half-length sd_1 * Phi^-1(Phi(q) + 0.95 Phi(-q))
    s = np.diag([0.04, 0.09])
    b = np.array([pre, 0.5])
    res = honest_did(b, s, num_pre=1, m=[0.0], method="conditional").table.iloc[0]
    q = abs(pre) / 0.2
    half = 0.3 * stats.norm.ppf(stats.norm.cdf(q) + 0.95 * stats.norm.sf(q))
    step = np.diff(rm_grid(b, s, 1, np.array([1.0]), 0.0, 1000))[0]
    assert res["ci_low"] == pytest.approx(0.5 - half, abs=step)
    assert res["ci_high"] == pytest.approx(0.5 + half, abs=step)
    if pre == 0.0:
        assert half == pytest.approx(0.3 * stats.norm.ppf(0.975))


def test_sd_m_zero_is_linear_extrapolation():
    # with iid pre-period estimates, the best linear-trend-unbiased estimator extrapolates the
    # least-squares line through the reference period (delta_0 = 0)
    num_pre = 4
    t = np.arange(-num_pre, 0, dtype=float)
    sigma = np.diag([0.01] * num_pre + [0.02, 0.02])
    b = np.array([-0.08, -0.05, -0.03, -0.01, 0.3, 0.4])
    slope = t @ b[:num_pre] / (t @ t)
    l_vec = np.array([0.25, 0.75])
    est = l_vec @ (b[num_pre:] - slope * np.array([1.0, 2.0]))
    var = l_vec @ sigma[num_pre:, num_pre:] @ l_vec + (l_vec @ np.array([1.0, 2.0])) ** 2 * 0.01 / (t @ t)
    lo, hi = flci(b, sigma, num_pre, l_vec, 0.0)
    z = stats.norm.ppf(0.975)
    assert (lo, hi) == pytest.approx((est - z * math.sqrt(var), est + z * math.sqrt(var)), abs=1e-12)


def test_sd_one_pre_period_closed_form():
    # one pre-period: the only linear-trend-unbiased estimator is beta_1 + beta_-1
    sigma = np.array([[0.02, 0.005], [0.005, 0.03]])
    b = np.array([0.1, 0.4])
    lo, hi = flci(b, sigma, 1, np.array([1.0]), 0.0)
    se = math.sqrt(0.02 + 0.03 + 2 * 0.005)
    assert (lo, hi) == pytest.approx((0.5 - stats.norm.ppf(0.975) * se, 0.5 + stats.norm.ppf(0.975) * se))


@pytest.mark.parametrize(("restriction", "method"), [("relative_magnitude", "C-LF"),
                                                      ("relative_magnitude", "conditional"),
                                                      ("smoothness", "FLCI")])
def test_intervals_widen_with_m(restriction, method):
    beta, sigma = _synthetic(3, 3, seed=7)
    m = np.linspace(0, 2, 9) if restriction == "relative_magnitude" else np.linspace(0, 0.05, 9)
    t = honest_did(beta, sigma, num_pre=3, restriction=restriction, method=method, m=m).table
    assert np.all(np.diff(t["ci_low"]) <= 1e-12)
    assert np.all(np.diff(t["ci_high"]) >= -1e-12)
    orig = original_ci(beta, sigma, num_pre=3)
    if restriction == "smoothness":  # M = 0 is narrower than nothing, wider than exact parallel trends
        assert t["ci_high"].iloc[0] - t["ci_low"].iloc[0] >= orig["ci_high"] - orig["ci_low"] - 1e-12


def test_breakdown_is_where_zero_enters():
    res = honest_did(MEDICAID_BETA, MEDICAID_SIGMA, num_pre=5, l_vec=E1, restriction="smoothness",
                     m=np.linspace(0, 0.05, 6), breakdown_tol=1e-5)
    lo, _ = flci(MEDICAID_BETA, MEDICAID_SIGMA, 5, E1, res.breakdown)
    lo2, _ = flci(MEDICAID_BETA, MEDICAID_SIGMA, 5, E1, res.breakdown + 2e-5)
    assert lo > 0 > lo2
    assert not res.breakdown_censored


# --- Callaway-Sant'Anna inputs ---------------------------------------------------------
@pytest.fixture(scope="module")
def cs_fit():
    d = _panel(n_units=1200, periods=(1, 2, 3, 4, 5, 6, 7), cohorts=(0, 4, 5, 6), seed=5)
    return callaway_santanna(d, **KW, base_period="universal", cluster="cl")


def test_cs_inputs_reproduce_the_aggregates(cs_fit):
    dyn = cs_fit.aggregate("dynamic", bootstrap=0)
    inp = honest_inputs(cs_fit)
    assert inp.event_times == (-5, -4, -3, -2, 0, 1, 2, 3)
    assert inp.num_pre == 4
    post = slice(inp.num_pre, None)
    # dynamic target: the dynamic aggregate and its (clustered) standard error
    assert inp.l_vec @ inp.betahat[post] == pytest.approx(dyn.overall_att, abs=1e-12)
    assert math.sqrt(inp.l_vec @ inp.sigma[post, post] @ inp.l_vec) == pytest.approx(dyn.overall_se, rel=1e-10)
    comp = dyn.table[dyn.table["term"].isin([f"e={e}" for e in inp.event_times])]
    assert np.sqrt(np.diag(inp.sigma)) == pytest.approx(comp["se"].to_numpy(), rel=1e-10)
    # simple target: event-time weights that reproduce the simple aggregate
    simple = honest_inputs(cs_fit, target="simple")
    assert simple.l_vec @ simple.betahat[post] == pytest.approx(cs_fit.aggregate("simple", bootstrap=0).overall_att,
                                                               abs=1e-12)
    assert not np.allclose(simple.l_vec, inp.l_vec)
    first = honest_inputs(cs_fit, target="first")
    assert first.l_vec.tolist() == [1.0, 0.0, 0.0, 0.0]
    with pytest.warns(UserWarning, match="not a fixed combination"):
        grp = honest_inputs(cs_fit, target="group")
    assert grp.l_vec == pytest.approx(inp.l_vec) and grp.note


def test_cs_needs_universal_base_period():
    d = _panel(n_units=300, periods=(1, 2, 3, 4, 5), cohorts=(0, 4), seed=1)
    with pytest.raises(InputError, match="universal"):
        honest_inputs(callaway_santanna(d, **KW))


def test_honest_did_cs_end_to_end(cs_fit):
    res = honest_did_cs(cs_fit, restriction="relative_magnitude", m=[0, 1])
    assert isinstance(res, HonestResult)
    assert res.settings["event_times"] == [-5, -4, -3, -2, 0, 1, 2, 3]
    assert res.table["ci_low"].iloc[0] > 1.5  # effect 2, no pre-trend


# --- result object and inputs ----------------------------------------------------------
def test_result_object():
    res = honest_did(MEDICAID_BETA, MEDICAID_SIGMA, num_pre=5, m=[0, 0.5, 1])
    assert list(res.to_frame().columns) == ["restriction", "m", "ci_low", "ci_high", "method"]
    assert res.settings["l_vec"] == [0.5, 0.5]  # default: the average over post-periods
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.breakdown = 1.0
    json.dumps(res.to_dict())
    assert "breakdown Mbar" in res.summary()
    import matplotlib.figure

    assert isinstance(res.plot(), matplotlib.figure.Figure)


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(num_pre=7), "post-periods"),
    (dict(num_pre=5, l_vec=[1.0]), "one weight per post-period"),
    (dict(num_pre=5, restriction="monotone"), "restriction"),
    (dict(num_pre=5, restriction="smoothness", method="C-LF"), "method"),
    (dict(num_pre=5, m=[-1.0]), "non-negative"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(InputError, match=match):
        honest_did(MEDICAID_BETA, MEDICAID_SIGMA, **kwargs)


def test_sigma_must_conform():
    with pytest.raises(InputError, match="sigma"):
        honest_did(MEDICAID_BETA, MEDICAID_SIGMA[:6, :6], num_pre=5)
