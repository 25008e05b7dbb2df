"""Improved locally efficient doubly robust panel DiD (``DRDID::drdid_imp_panel``).

Checked by properties that fail if the estimator is wrong: the calibration (exact covariate
balance) of the inverse-probability-tilting propensity score, the identity with the other
estimators without covariates, double robustness and the analytic standard error by
simulation, and closeness to R ``did``'s doubly robust ATT(g, t) on R's validation data.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluate.did import drdid
from evaluate.did.att_gt import callaway_santanna
from evaluate.errors import InputError

VALIDATION = Path(os.environ.get("EVALUATE_SHARED_DATA")
                  or Path(__file__).resolve().parents[2].parent / "shared" / "data") / "validation"


def _se(inf: np.ndarray) -> float:
    return float(np.sqrt(np.mean(inf**2) / len(inf)))


def _panel(rng, n, *, ps_nonlinear=False, or_nonlinear=False, att=1.0):
    """Two-period panel: covariates x, group d, outcomes y0, y1 with true ATT ``att``.

    Propensity score logit-linear in x unless ``ps_nonlinear`` (then it depends on x1**2);
    the change in untreated outcome linear in x unless ``or_nonlinear`` (then 1.5 * x1**2).
    """
    x = rng.normal(size=(n, 2))
    idx = 0.8 * (x[:, 0] ** 2 - 1) - 0.4 * x[:, 1] if ps_nonlinear else 0.6 * x[:, 0] - 0.4 * x[:, 1]
    d = (rng.random(n) < 1 / (1 + np.exp(-idx))).astype(float)
    trend = (1.5 * x[:, 0] ** 2 if or_nonlinear else x[:, 0]) - x[:, 1]
    y0 = 1 + x[:, 0] + 0.5 * d + rng.normal(size=n)
    y1 = y0 + trend + att * d + rng.normal(size=n)
    return y1, y0, d, x


# --- (1) calibration ------------------------------------------------------------------------

@pytest.mark.parametrize("weighted", [False, True])
def test_ipt_weights_balance_covariates_exactly(weighted):
    rng = np.random.default_rng(11)
    n = 2000
    _, _, d, x = _panel(rng, n)
    x = np.column_stack([x, rng.exponential(size=n) + 0.3 * d, rng.random(n) < 0.3 + 0.2 * d])
    iw = rng.uniform(0.2, 3.0, n) if weighted else np.ones(n)
    design = np.column_stack([np.ones(n), x])
    w = iw / iw.mean()
    p, flag = drdid.pscore_ipt(d, design, w)
    assert flag == 0
    assert p[d == 0].max() < 0.995  # no trimming, so these are the estimator's weights
    w_treat = w * d
    w_cont = w * (1 - d) * p / (1 - p)
    bal_c = (w_cont[:, None] * x).sum(axis=0) / w_cont.sum()
    bal_t = (w_treat[:, None] * x).sum(axis=0) / w_treat.sum()
    np.testing.assert_allclose(bal_c, bal_t, rtol=0, atol=1e-8)
    # the weights total the treated weight (intercept)
    assert w_cont.sum() == pytest.approx(w_treat.sum(), rel=1e-10)
    # the maximum-likelihood logit does not balance exactly: the check has teeth
    p_ml, _ = drdid.logit(d, design, w)
    w_ml = w * (1 - d) * p_ml / (1 - p_ml)
    bal_ml = (w_ml[:, None] * x).sum(axis=0) / w_ml.sum()
    assert np.max(np.abs(bal_ml - bal_t)) > 1e-4


def test_ipt_falls_back_to_logit_when_calibration_has_no_solution():
    # treated covariate mean beyond every comparison unit: no calibrating gamma exists, yet
    # there is overlap (no separation), so the logit fit exists
    rng = np.random.default_rng(3)
    n0, n1 = 300, 100
    x = np.r_[rng.uniform(0, 1, n0), np.full(n1 - 2, 5.0), [0.2, 0.7]]
    d = np.r_[np.zeros(n0), np.ones(n1)]
    y0 = rng.normal(size=n0 + n1)
    y1 = y0 + d + rng.normal(size=n0 + n1)
    info: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # near-separation of the logit fallback
        att, inf = drdid.dr_imp_panel(y1, y0, d, x, info=info)
    assert info == {"ps_flag": 2, "ps_method": "logit"}
    assert np.isfinite(att) and np.all(np.isfinite(inf))


def test_att_is_the_calibrated_ipw_contrast():
    # exact balance makes the outcome-regression term cancel: the ATT is the difference of
    # the treated mean change and the IPT-weighted comparison mean change, whatever the fit
    rng = np.random.default_rng(12)
    n = 1500
    y1, y0, d, x = _panel(rng, n, ps_nonlinear=True, or_nonlinear=True)
    iw = rng.uniform(0.5, 2.0, n)
    att, _ = drdid.dr_imp_panel(y1, y0, d, x, iw)
    w = iw / iw.mean()
    p, _ = drdid.pscore_ipt(d, np.column_stack([np.ones(n), x]), w)
    w_cont = w * (1 - d) * p / (1 - p)
    dy = y1 - y0
    expected = np.sum(w * d * dy) / np.sum(w * d) - np.sum(w_cont * dy) / np.sum(w_cont)
    assert att == pytest.approx(expected, abs=1e-10)


def test_influence_function_matches_jackknife_with_both_models_wrong():
    # the improved estimator's influence function has no estimation-effect terms because
    # those terms vanish by the first-order conditions of the two fits, whatever the truth:
    # the leave-one-out pseudo-values (which re-fit both nuisance models) must agree with it
    rng = np.random.default_rng(31)
    n = 400
    y1, y0, d, x = _panel(rng, n, ps_nonlinear=True, or_nonlinear=True)
    iw = rng.uniform(0.5, 2.0, n)
    att, inf = drdid.dr_imp_panel(y1, y0, d, x, iw)
    keep = np.ones(n, dtype=bool)
    loo = np.empty(n)
    for i in range(n):
        keep[i] = False
        loo[i] = drdid.dr_imp_panel(y1[keep], y0[keep], d[keep], x[keep], iw[keep])[0]
        keep[i] = True
    pseudo = (n - 1) * (att - loo)
    # a logit score (1 - 8e-4) or an unweighted outcome regression (1 - 6e-3) fail this
    assert np.corrcoef(pseudo, inf)[0, 1] > 1 - 5e-4
    assert np.sqrt(np.mean(pseudo**2) / np.mean(inf**2)) == pytest.approx(1, abs=0.03)


# --- (2) no covariates ----------------------------------------------------------------------

@pytest.mark.parametrize("weighted", [False, True])
def test_no_covariates_equals_other_estimators(weighted):
    rng = np.random.default_rng(5)
    n = 800
    y1, y0, d, _ = _panel(rng, n)
    iw = rng.uniform(0.5, 2.0, n) if weighted else None
    att, inf = drdid.dr_imp_panel(y1, y0, d, None, iw)
    for fn in (drdid.dr_panel, drdid.ipw_panel, drdid.reg_panel):
        a, i = fn(y1, y0, d, None, iw)
        assert att == pytest.approx(a, abs=1e-12)
        assert _se(inf) == pytest.approx(_se(i), abs=1e-10)
        np.testing.assert_allclose(inf, i, rtol=0, atol=1e-9)


# --- (3) double robustness, (4) standard error ----------------------------------------------

def _simulate(seed, reps=200, n=1000, **dgp):
    rng = np.random.default_rng(seed)
    out = {"imp": [], "se": [], "reg": [], "naive": []}
    for _ in range(reps):
        y1, y0, d, x = _panel(rng, n, **dgp)
        a, inf = drdid.dr_imp_panel(y1, y0, d, x)
        out["imp"].append(a)
        out["se"].append(_se(inf))
        out["reg"].append(drdid.reg_panel(y1, y0, d, x)[0])
        out["naive"].append(drdid.dr_imp_panel(y1, y0, d, None)[0])
    return {k: np.asarray(v) for k, v in out.items()}


def _bias_in_mc_se(est, truth=1.0):
    return (est.mean() - truth) / (est.std(ddof=1) / np.sqrt(len(est)))


def test_doubly_robust_outcome_model_right_propensity_score_wrong():
    sim = _simulate(21, ps_nonlinear=True)
    assert abs(_bias_in_mc_se(sim["imp"])) < 3
    assert abs(_bias_in_mc_se(sim["naive"])) > 10  # there is confounding to remove


def test_doubly_robust_propensity_score_right_outcome_model_wrong():
    sim = _simulate(22, or_nonlinear=True)
    assert abs(_bias_in_mc_se(sim["imp"])) < 3
    assert abs(_bias_in_mc_se(sim["reg"])) > 10  # the outcome model alone is biased


def test_both_models_wrong_is_biased():
    sim = _simulate(23, ps_nonlinear=True, or_nonlinear=True)
    assert abs(_bias_in_mc_se(sim["imp"])) > 10


def test_analytic_se_matches_sampling_spread():
    sim = _simulate(24)
    ratio = sim["se"].mean() / sim["imp"].std(ddof=1)
    assert abs(ratio - 1) < 0.15, ratio


# --- (5) callaway_santanna ------------------------------------------------------------------

def _two_period_frame(y1, y0, d, x):
    n = len(d)
    ids = np.arange(n)
    return pd.DataFrame({"id": np.r_[ids, ids], "t": np.r_[np.ones(n), np.full(n, 2)].astype(int),
                         "g": np.r_[d, d].astype(int) * 2, "y": np.r_[y0, y1], "x1": np.r_[x[:, 0], x[:, 0]],
                         "x2": np.r_[x[:, 1], x[:, 1]]})


def test_callaway_santanna_dr_imp_matches_2x2():
    rng = np.random.default_rng(8)
    y1, y0, d, x = _panel(rng, 600)
    res = callaway_santanna(_two_period_frame(y1, y0, d, x), outcome="y", unit="id", time="t",
                            cohort="g", covariates=["x1", "x2"], estimator="dr_imp")
    att, inf = drdid.dr_imp_panel(y1, y0, d, x)
    row = res.to_frame().iloc[0]
    assert row["estimate"] == pytest.approx(att, abs=1e-12)
    assert row["se"] == pytest.approx(_se(inf), rel=1e-10)
    assert res.extra["ps_flag"] == {"g2_t2": 0}
    assert res.settings["estimator"] == "dr_imp"


def test_callaway_santanna_dr_imp_warns_on_logit_fallback():
    rng = np.random.default_rng(3)
    n0, n1 = 300, 100
    x = np.r_[rng.uniform(0, 1, n0), np.full(n1 - 2, 5.0), [0.2, 0.7]]
    d = np.r_[np.zeros(n0), np.ones(n1)]
    y0 = rng.normal(size=n0 + n1)
    y1 = y0 + d + rng.normal(size=n0 + n1)
    frame = _two_period_frame(y1, y0, d, np.column_stack([x, rng.normal(size=n0 + n1)]))
    with pytest.warns(RuntimeWarning, match="logit fallback"):
        res = callaway_santanna(frame, outcome="y", unit="id", time="t", cohort="g",
                                covariates=["x1"], estimator="dr_imp")
    assert res.extra["ps_flag"] == {"g2_t2": 2}


def test_dr_imp_is_panel_only():
    rng = np.random.default_rng(8)
    frame = _two_period_frame(*_panel(rng, 100))
    with pytest.raises(InputError, match="panel"):
        callaway_santanna(frame, outcome="y", unit="id", time="t", cohort="g", estimator="dr_imp",
                          panel=False)


MPDTA = dict(outcome="lemp", unit="countyreal", time="year", cohort="first.treat")


def _need(name: str) -> pd.DataFrame:
    path = VALIDATION / name
    if not path.exists():
        pytest.skip(f"R reference data not available: {path}")
    return pd.read_csv(path)


def _merge(result, ref: pd.DataFrame) -> pd.DataFrame:
    m = result.to_frame().merge(ref, left_on=["group", "time"], right_on=["group", "t"])
    assert len(m) == len(ref)
    return m


def test_mpdta_lpop_close_to_doubly_robust():
    data = _need("mpdta.csv")
    ref = _need("ref_attgt.csv")
    imp = callaway_santanna(data, **MPDTA, covariates=["lpop"], estimator="dr_imp")
    assert set(imp.extra["ps_flag"].values()) == {0}
    # our drdid_panel port (R parity is tested in against_r) with the same covariate
    dr = callaway_santanna(data, **MPDTA, covariates=["lpop"], estimator="dr").to_frame()
    got = imp.to_frame()
    np.testing.assert_allclose(got["estimate"], dr["estimate"], rtol=0, atol=0.1 * dr["se"].min())
    np.testing.assert_allclose(got["se"], dr["se"], rtol=0.02)
    assert not np.allclose(got["estimate"], dr["estimate"], rtol=0, atol=1e-8)  # a different estimator
    # R's covariate-adjusted ATT(g, t) for the same specification (outcome regression)
    m = _merge(imp, ref[ref["scenario"] == "mpdta_nev_reg_cov"])
    assert np.max(np.abs(m["estimate"] - m["att"]) / m["se_y"]) < 0.15
    np.testing.assert_allclose(m["se_x"], m["se_y"], rtol=0.05)


def test_sim_data_close_to_r_doubly_robust():
    data = _need("sim_data.csv")
    ref = _need("ref_attgt.csv")
    imp = callaway_santanna(data, outcome="Y", unit="id", time="period", cohort="G", covariates=["X"],
                            estimator="dr_imp")
    m = _merge(imp, ref[ref["scenario"] == "sim_nev_dr"])  # R did's dr (drdid_panel), covariate X
    assert np.max(np.abs(m["estimate"] - m["att"]) / m["se_y"]) < 0.1
    np.testing.assert_allclose(m["se_x"], m["se_y"], rtol=0.01)
    assert np.max(np.abs(m["estimate"] - m["att"])) > 1e-6  # not the same estimator
