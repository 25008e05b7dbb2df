"""Repeated cross-section DR and IPW DiD (``DRDID::drdid_rc``, ``DRDID::std_ipw_did_rc``).

Checked against the independent Python port ``drdid`` 1.1.7 (test-only dependency) and
against identities that hold without covariates.

One known difference: for ``drdid_rc`` with covariates R adds the estimation effect of the
pre-period comparison regression (``inf.treat.or.post + inf.treat.or.pre``,
``inf.cont.or.post + inf.cont.or.pre``, in DRDID on GitHub and CRAN), while ``drdid`` 1.1.7
subtracts it. We follow R; the test below shows the two influence functions differ by
exactly ``2 * rep_pre @ (M1_pre - M3_pre)`` and nothing else. The ATT does not depend on it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from evaluate.did import drdid as ours
from evaluate.did.att_gt import callaway_santanna

pkg_dr = pytest.importorskip("drdid.drdid", reason="drdid 1.1.7 (dev extra) is not installed")
pkg_ipw = pytest.importorskip("drdid.ipwd_did", reason="drdid 1.1.7 (dev extra) is not installed")

KW = dict(outcome="y", unit="id", time="t", cohort="g")


def _rc(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    d = (rng.random(n) < 1 / (1 + np.exp(-(0.3 * x[:, 0] - 0.5 * x[:, 1])))).astype(float)
    post = (rng.random(n) < 0.5).astype(float)
    w = rng.uniform(0.5, 2.0, n)
    y = (1 + x @ np.array([0.5, -1.0]) + 0.7 * d + post * (0.4 + 0.3 * x[:, 0])
         + 1.5 * d * post + rng.normal(size=n))
    return y, post, d, x, w


def _se(inf):
    return float(np.sqrt(np.mean(inf**2) / len(inf)))


@pytest.mark.parametrize("weighted", [False, True])
def test_ipw_rc_matches_drdid_package(weighted):
    y, post, d, x, w = _rc(seed=1)
    wi = w if weighted else None
    att, inf = ours.ipw_rc(y, post, d, x, wi)
    ref_att, ref_inf = pkg_ipw.std_ipw_did_rc(y, post, d, x, wi)
    assert abs(att - ref_att) <= 1e-8
    assert _se(inf) == pytest.approx(_se(ref_inf), rel=1e-6)
    np.testing.assert_allclose(inf, ref_inf, atol=1e-7)


@pytest.mark.parametrize("weighted", [False, True])
def test_dr_rc_att_matches_drdid_package(weighted):
    y, post, d, x, w = _rc(seed=2)
    wi = w if weighted else None
    att, _ = ours.dr_rc(y, post, d, x, wi)
    ref_att, _ = pkg_dr.drdid_rc(y, post, d, x, wi)
    assert abs(att - ref_att) <= 1e-8


@pytest.mark.parametrize("weighted", [False, True])
def test_dr_rc_influence_is_r_sign_convention(weighted):
    """Ours (as R) = drdid 1.1.7 + 2 * rep_pre @ (M1_pre - M3_pre), computed here independently."""
    y, post, d, x, w = _rc(seed=3)
    wi = w if weighted else None
    _, inf = ours.dr_rc(y, post, d, x, wi)
    _, ref_inf = pkg_dr.drdid_rc(y, post, d, x, wi)
    n = len(y)
    X = np.column_stack([np.ones(n), x])
    ww = (np.ones(n) if wi is None else wi) / (np.ones(n) if wi is None else wi).mean()
    ps = sm.GLM(d, X, family=sm.families.Binomial(), freq_weights=ww).fit(tol=1e-14).predict()
    trim = np.where(d == 1, 1.0, (ps < 0.995).astype(float))
    pre_c = (1 - d) * (1 - post)
    sel = pre_c > 0
    beta = sm.WLS(y[sel], X[sel], weights=ww[sel]).fit().params
    rep_pre = (X * (ww * pre_c * (y - X @ beta))[:, None]) @ np.linalg.inv((X * (ww * pre_c)[:, None]).T @ X / n)
    w_t_pre = trim * ww * d * (1 - post)
    w_c_pre = trim * ww * ps / (1 - ps) * pre_c
    m1_pre = -(w_t_pre[:, None] * X).mean(axis=0) / w_t_pre.mean()
    m3_pre = -(w_c_pre[:, None] * X).mean(axis=0) / w_c_pre.mean()
    shift = 2 * rep_pre @ (m1_pre - m3_pre)
    assert np.abs(shift).max() > 1e-3  # the difference is real with covariates...
    np.testing.assert_allclose(inf, ref_inf + shift, atol=1e-7)
    assert _se(inf) == pytest.approx(_se(ref_inf + shift), rel=1e-6)


@pytest.mark.parametrize("weighted", [False, True])
def test_dr_rc_without_covariates_matches_drdid_package_se(weighted):
    # ...and vanishes without covariates (M1_pre = M3_pre = -1)
    y, post, d, _, w = _rc(seed=4)
    wi = w if weighted else None
    att, inf = ours.dr_rc(y, post, d, None, wi)
    ref_att, ref_inf = pkg_dr.drdid_rc(y, post, d, None, wi)
    assert abs(att - ref_att) <= 1e-8
    assert _se(inf) == pytest.approx(_se(ref_inf), rel=1e-6)


@pytest.mark.parametrize("weighted", [False, True])
def test_no_covariates_dr_ipw_reg_coincide(weighted):
    y, post, d, _, w = _rc(seed=5)
    wi = w if weighted else None
    a_dr, i_dr = ours.dr_rc(y, post, d, None, wi)
    a_ipw, i_ipw = ours.ipw_rc(y, post, d, None, wi)
    a_reg, i_reg = ours.reg_rc(y, post, d, None, wi)
    ww = np.ones(len(y)) if wi is None else wi

    def m(mask):
        return np.sum(ww * mask * y) / np.sum(ww * mask)

    did = (m(d * post) - m(d * (1 - post))) - (m((1 - d) * post) - m((1 - d) * (1 - post)))
    assert a_dr == pytest.approx(did, abs=1e-10)
    assert a_ipw == pytest.approx(did, abs=1e-10)
    assert a_reg == pytest.approx(did, abs=1e-10)
    # without covariates the influence functions coincide too
    np.testing.assert_allclose(i_dr, i_ipw, atol=1e-9)
    np.testing.assert_allclose(i_dr, i_reg, atol=1e-9)


def _panel(n_units=500, periods=(1, 2, 3, 4), cohorts=(0, 3, 4), seed=0):
    rng = np.random.default_rng(seed)
    g = rng.choice(np.array(cohorts), size=n_units)
    alpha = rng.normal(size=n_units) + 0.5 * (g > 0)
    x = rng.normal(size=n_units)
    rows = []
    for t in periods:
        y = alpha + 0.3 * t + 0.5 * x * t + 2.0 * ((g > 0) & (t >= g)) + rng.normal(size=n_units)
        rows.append(pd.DataFrame({"id": np.arange(n_units), "t": t, "g": g, "y": y, "x": x,
                                  "w": 1.0 + (np.arange(n_units) % 3)}))
    return pd.concat(rows, ignore_index=True)


@pytest.mark.parametrize("estimator", ["dr", "ipw"])
def test_callaway_santanna_rc_runs_on_unbalanced_panel(estimator):
    d = _panel(seed=7)
    d = d.sample(frac=0.8, random_state=1).reset_index(drop=True)  # unbalanced
    res = callaway_santanna(d, **KW, covariates=["x"], estimator=estimator, panel=False, weights="w")
    tab = res.table
    assert len(tab) == 3 * 2
    assert np.all(np.isfinite(tab["estimate"])) and np.all(np.isfinite(tab["se"]))
    assert res.influence.shape == (len(d), len(tab))
    post = tab[tab["post"]]
    assert np.all(np.abs(post["estimate"] - 2.0) < 5 * post["se"] + 0.1)
    assert abs(res.aggregate("simple").table["estimate"].iloc[0] - 2.0) < 0.3


@pytest.mark.parametrize("estimator", ["dr", "ipw"])
@pytest.mark.parametrize("weights", [None, "w"])
def test_rc_equals_panel_att_on_balanced_panel_without_covariates(estimator, weights):
    # With no covariates both are (weighted) differences of four cell means, and on a balanced
    # panel with unit-constant weights the cells hold the same units: ATT(g,t) coincide.
    # The standard errors differ (the cross-section version ignores within-unit correlation).
    d = _panel(seed=8)
    rc = callaway_santanna(d, **KW, estimator=estimator, panel=False, weights=weights)
    pn = callaway_santanna(d, **KW, estimator=estimator, panel=True, weights=weights)
    np.testing.assert_allclose(rc.table["estimate"], pn.table["estimate"], rtol=0, atol=1e-10)
    assert not np.allclose(rc.table["se"], pn.table["se"], rtol=1e-3)


@pytest.mark.parametrize("estimator", ["dr", "ipw"])
def test_rc_equals_panel_att_with_time_invariant_covariate(estimator):
    # Also with a covariate that does not change over time: the logit on the stacked rows has
    # the panel's coefficients, per-period comparison regressions difference to the regression
    # of the change (OLS is linear in y) and the local-efficiency terms cancel (the treated
    # cells hold the same units in both periods). Exact up to the logit's convergence.
    d = _panel(seed=9)
    rc = callaway_santanna(d, **KW, covariates=["x"], estimator=estimator, panel=False, weights="w")
    pn = callaway_santanna(d, **KW, covariates=["x"], estimator=estimator, panel=True, weights="w")
    np.testing.assert_allclose(rc.table["estimate"], pn.table["estimate"], rtol=0, atol=1e-8)


def test_rc_differs_from_panel_with_time_varying_covariate():
    # the panel estimator reads covariates at the base period, the cross-section one each
    # period's own: they no longer coincide
    d = _panel(seed=10)
    d["x"] = d["x"] + 0.5 * np.random.default_rng(0).normal(size=len(d))
    rc = callaway_santanna(d, **KW, covariates=["x"], estimator="dr", panel=False)
    pn = callaway_santanna(d, **KW, covariates=["x"], estimator="dr", panel=True)
    assert np.max(np.abs(rc.table["estimate"].to_numpy() - pn.table["estimate"].to_numpy())) > 1e-4
