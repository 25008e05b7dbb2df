"""Pre-trend power (Roth 2022, Wald pre-test): closed forms, a simulation check, the CS helper."""

from __future__ import annotations

import math

import matplotlib.figure
import numpy as np
import pytest
from scipy import optimize, stats
from tests.sensitivity._panel import simulate_panel

from evaluate.did import callaway_santanna
from evaluate.errors import InputError
from evaluate.sensitivity.pretrend_power import (
    detectable_noncentrality,
    pretrend_power,
    pretrend_power_cs,
)

CS = dict(outcome="overall_absence_rate", unit="school_id", time="year", cohort="hub_cohort")


def test_one_pre_period_closed_form():
    se = 0.2
    r = pretrend_power([0.1], [[se**2]], [-2], reference=-1, post_event_times=[0, 1, 2])
    t = r.to_frame().set_index("power")
    z = stats.norm.ppf(0.975)
    for p in (0.5, 0.8):
        # one df: W = (b / se)^2 and the test rejects when |Z + mu| > z, mu = slope * |d| / se (d = -1)
        mu = optimize.brentq(lambda m, p=p: stats.norm.sf(z - m) + stats.norm.cdf(-z - m) - p, 0, 10)
        assert t.loc[p, "estimate"] == pytest.approx(mu * se, rel=1e-8)
        lam = detectable_noncentrality(1, size=0.05, power=p)
        assert t.loc[p, "estimate"] == pytest.approx(math.sqrt(lam) * se, rel=1e-10)
        # post event times 0, 1, 2 have exposures 1, 2, 3: the average bias is 2 * slope
        assert t.loc[p, "bias_post"] == pytest.approx(2 * t.loc[p, "estimate"])
    # 50% power: mu is just above the critical value (the other tail adds a little)
    assert t.loc[0.5, "estimate"] == pytest.approx(z * se, rel=0.01)
    assert r.extra["pretest"]["statistic"] == pytest.approx(0.25)


def test_power_against_detectable_slope_and_simulation():
    sig = np.array([[0.010, 0.004, 0.002], [0.004, 0.012, 0.003], [0.002, 0.003, 0.015]])
    et = np.array([-4.0, -3.0, -2.0])
    r = pretrend_power([0.0, 0.0, 0.0], sig, et)
    t = r.to_frame().set_index("power")
    s80, s50 = t.loc[0.8, "estimate"], t.loc[0.5, "estimate"]
    assert s80 > s50 > 0
    assert r.power_against(s80) == pytest.approx(0.8, abs=1e-8)
    assert r.power_against(0.0) == pytest.approx(0.05, abs=1e-8)
    # Monte Carlo: draws of the pre-period estimates under the trend s80 * (e + 1)
    rng = np.random.default_rng(1)
    draws = rng.multivariate_normal(s80 * (et + 1), sig, size=40_000)
    w = np.einsum("ij,ij->i", draws, np.linalg.solve(sig, draws.T).T)
    assert np.mean(w > stats.chi2.ppf(0.95, 3)) == pytest.approx(0.8, abs=0.01)


def test_bad_input():
    with pytest.raises(InputError, match="do not agree"):
        pretrend_power([0.1, 0.2], [[0.01]], [-2, -3])
    with pytest.raises(InputError, match="positive definite"):
        pretrend_power([0.1, 0.2], [[0.01, 0.02], [0.02, 0.01]], [-3, -2])
    with pytest.raises(InputError, match="power must be between"):
        pretrend_power([0.1], [[0.01]], [-2], powers=[0.01])
    with pytest.raises(InputError, match="exposures zero"):
        pretrend_power([0.1], [[0.01]], [-1])


def test_from_callaway_santanna_varying_base():
    panel = simulate_panel(2000, seed=60, tau=-1.0, pretrend=0.2, single_cohort=2023)
    res = callaway_santanna(panel, estimator="reg", **CS)
    r = pretrend_power_cs(res)
    e = r.extra
    # single cohort 2023, years 2016-18, 2021-24: pre cells compare adjacent observed years
    assert e["event_times"] == [-6.0, -5.0, -2.0, -1.0]
    assert e["pre_design"] == [1.0, 1.0, 3.0, 1.0]
    assert e["post_event_times"] == [0.0, 1.0] and e["post_design"] == [1.0, 2.0]
    dyn = res.aggregate("dynamic").table.set_index("component")
    se = np.sqrt(np.diag(np.asarray(e["sigma"])))
    np.testing.assert_allclose(se, dyn.loc[[-6, -5, -2, -1], "se"].to_numpy(), rtol=1e-10)
    # the planted trend of 0.2 a year shows in the pre-period estimates (0.2 x exposure)
    np.testing.assert_allclose(e["betahat"], 0.2 * np.array(e["pre_design"]), atol=4 * se.max())
    # full covariance: equals the influence-function covariance of the dynamic aggregate
    inf = np.asarray(res.aggregate("dynamic").extra["influence"])
    idx = [list(dyn.index).index(k) for k in (-6, -5, -2, -1)]
    np.testing.assert_allclose(np.asarray(e["sigma"]), inf[:, idx].T @ inf[:, idx] / inf.shape[0] ** 2, rtol=1e-8)
    t = r.to_frame().set_index("power")
    assert t.loc[0.8, "bias_post"] == pytest.approx(1.5 * t.loc[0.8, "estimate"])
    assert e["pretest"]["p_value"] < 1e-6
    assert isinstance(r.plot(), matplotlib.figure.Figure)
    assert "Pre-trend power" in r.summary()


def test_from_callaway_santanna_universal_base_and_clusters():
    panel = simulate_panel(1500, seed=61, single_cohort=2023)
    res = callaway_santanna(panel, estimator="reg", base_period="universal", cluster="la_code", **CS)
    r = pretrend_power_cs(res)
    # universal base 2022: e = -1 is the reference (no standard error, left out); exposure = t - 2022
    assert r.extra["event_times"] == [-7.0, -6.0, -5.0, -2.0]
    assert r.extra["pre_design"] == [-6.0, -5.0, -4.0, -1.0]
    assert r.extra["post_design"] == [1.0, 2.0]
    dyn = res.aggregate("dynamic").table.set_index("component")
    se = np.sqrt(np.diag(np.asarray(r.extra["sigma"])))
    np.testing.assert_allclose(se, dyn.loc[[-7, -6, -5, -2], "se"].to_numpy(), rtol=1e-10)  # clustered SEs
    assert np.all(np.isfinite(r.to_frame()["estimate"]))
