"""Synthetic control / SDID on simulated panels: known effects, edge cases, solvers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evaluate.errors import InputError
from evaluate.synthcontrol import example_la_panel, synthetic_control, synthetic_did
from evaluate.synthcontrol.core import sdid_fit
from evaluate.synthcontrol.refits import jackknife_se
from evaluate.synthcontrol.weights import fw_weights, fw_weights_batch, simplex_least_squares

COLS = dict(outcome="y", unit="la_code", time="t", cohort="cohort")


def test_factor_model_simulation_approximately_unbiased():
    # 40 replications of a factor model with selection on the loading: SDID centred on the
    # truth, plain DiD biased (the treated unit loads on the trending factor)
    est, did = [], []
    for s in range(40):
        p = example_la_panel(n_las=30, n_periods=14, effect=-1.0, cohorts=((10, 3),), seed=s)
        r = synthetic_did(p, placebo=False, vcov="none", **COLS)
        est.append(r.overall)
        w = p.assign(post=p["t"] >= 10, tr=p["cohort"] > 0).groupby(["tr", "post"])["y"].mean()
        did.append((w[True, True] - w[True, False]) - (w[False, True] - w[False, False]) + 0.0)
    est, did = np.array(est), np.array(did)
    se_mean = est.std(ddof=1) / np.sqrt(est.size)
    assert abs(est.mean() + 1.0) < 3 * se_mean + 0.05
    assert abs(est.mean() + 1.0) < abs(did.mean() + 1.0)


def test_staggered_cohorts_aggregate_by_treated_cells():
    p = example_la_panel(n_las=40, n_periods=12, effect=-2.0, cohorts=((7, 2), (10, 3)), seed=4)
    r = synthetic_did(p, placebo=False, vcov="jackknife", **COLS)
    t = r.to_frame().set_index("term")
    w = np.array([2 * 6, 3 * 3], dtype=float)
    w /= w.sum()
    assert r.overall == pytest.approx(w @ t.loc[["g=7", "g=10"], "estimate"].to_numpy())
    assert t.loc["g=7", "n_post"] == 6 and t.loc["g=10", "n_pre"] == 9
    assert abs(r.overall + 2.0) < 0.6
    assert np.isfinite(t.loc["g=10", "se"])  # jackknife defined with 3 treated units


def test_no_pre_period_is_reported_not_dropped():
    p = example_la_panel(n_las=20, n_periods=6, cohorts=((2, 1), (4, 2)), seed=2)
    r = synthetic_control(p, **COLS)
    ne = r.not_estimable()
    assert list(ne) == ["g=2"] and "1 pre-treatment period" in ne["g=2"]
    t = r.to_frame().set_index("term")
    assert np.isnan(t.loc["g=2", "estimate"]) and np.isfinite(t.loc["g=4", "estimate"])
    assert t.loc["overall", "estimate"] == pytest.approx(t.loc["g=4", "estimate"])


def test_missing_outcomes_drop_whole_units_with_counts():
    p = example_la_panel(n_las=20, n_periods=8, cohorts=((6, 1),), seed=3)
    p.loc[[5, 17], "y"] = np.nan  # unit 1 (row 5) and unit 3 (row 17)
    r = synthetic_did(p, placebo=False, vcov="none", **COLS)
    assert r.dropped() == {"rows_missing_outcome": 2, "units_incomplete": 2, "rows_incomplete": 14}
    # a period missing for most units goes instead of the units
    q = example_la_panel(n_las=20, n_periods=8, cohorts=((6, 1),), seed=3)
    q.loc[(q["t"] == 2) & (q.index % 3 > 0), "y"] = np.nan
    r = synthetic_did(q, placebo=False, vcov="none", **COLS)
    assert r.dropped() == {"rows_missing_outcome": 13, "periods_incomplete": 1, "rows_incomplete": 7}
    assert r.to_frame()["n_pre"].iloc[0] == 4


def test_bad_input_names_column_and_row():
    p = example_la_panel(n_las=10, n_periods=6, cohorts=((4, 1),))
    with pytest.raises(InputError, match="column 'nope'"):
        synthetic_did(p, outcome="nope", unit="la_code", time="t", cohort="cohort")
    q = p.astype({"y": object})
    q.loc[3, "y"] = "abc"
    with pytest.raises(InputError) as err:
        synthetic_did(q, **COLS)
    assert err.value.row == 4 and err.value.column == "y"


def test_jackknife_closed_form_fixed_weights():
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(12, 8))
    fit = sdid_fit(Y, 9, 5)
    u = []
    for i in range(12):
        keep = np.arange(12) != i
        n0 = 9 - (i < 9)
        om = fit.omega[np.arange(9) != i] if i < 9 else fit.omega
        om = om / om.sum()
        Yk = Y[keep]
        gap = Yk[n0:].mean(0) - om @ Yk[:n0]
        u.append(gap[5:].mean() - fit.lam @ gap[:5])
    u = np.array(u)
    assert jackknife_se(Y, 9, 5, fit) == pytest.approx(np.sqrt(11 / 12 * 11 * u.var(ddof=1)))


def test_simplex_qp_matches_slsqp_and_fw():
    from scipy.optimize import minimize

    rng = np.random.default_rng(1)
    A, b = rng.normal(size=(15, 25)), rng.normal(size=15)
    x = simplex_least_squares(A, b)
    sol = minimize(lambda w: np.sum((A @ w - b) ** 2), np.full(25, 0.04), method="SLSQP",
                   bounds=[(0, 1)] * 25, constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1}],
                   options={"ftol": 1e-14, "maxiter": 2000})
    assert np.sum((A @ x - b) ** 2) <= sol.fun + 1e-8
    assert x.min() >= 0 and x.sum() == pytest.approx(1.0)
    xf = fw_weights(A, b, zeta=0.0, intercept=False, min_decrease=1e-9, max_iter=200_000)
    assert np.sum((A @ xf - b) ** 2) == pytest.approx(np.sum((A @ x - b) ** 2), rel=1e-3)


def test_batch_frank_wolfe_equals_one_at_a_time():
    rng = np.random.default_rng(2)
    A = rng.normal(size=(10, 6))
    A -= A.mean(0)
    G = A.T @ A
    allowed = ~np.eye(6, dtype=bool)
    X0 = np.where(allowed, 0.2, 0.0)
    XB = fw_weights_batch(G, G, np.diag(G), n=10, zeta=0.3, X0=X0, allowed=allowed,
                          min_decrease=1e-6, max_iter=500)
    for j in range(6):
        keep = allowed[j]
        x = fw_weights(A[:, keep], A[:, j], zeta=0.3, intercept=False, min_decrease=1e-6, max_iter=500)
        np.testing.assert_allclose(XB[j, keep], x, atol=1e-12)


def test_placebo_p_value_small_for_large_effect_and_uniformish_for_none():
    big = synthetic_did(example_la_panel(n_las=25, n_periods=12, effect=-5.0, seed=5), vcov="none", **COLS)
    assert big.to_frame()["p_placebo"].iloc[0] == pytest.approx(1 / 25)
    ps = [synthetic_did(example_la_panel(n_las=15, n_periods=8, cohorts=((6, 1),), effect=0.0, seed=s),
                        vcov="none", **COLS).to_frame()["p_placebo"].iloc[0] for s in range(8)]
    assert 0.25 < np.mean(ps) < 0.75  # about uniform under no effect (mean 0.5, sd of the mean 0.1)


def test_sdid_with_placebo_variance_on_a_real_sized_panel():
    """150 LAs x 90 fortnights with placebo inference (its speed: benchmarks/sdid_speed.py)."""
    p = example_la_panel(n_las=150, n_periods=90, cohorts=((60, 4),), seed=0)
    r = synthetic_did(p, placebo=True, vcov="placebo", replications=20, seed=0, **COLS)
    assert abs(r.overall + 1.0) < 0.5
    json.dumps(r.to_dict())


def test_no_treated_unit_gives_not_estimable_overall():
    p = example_la_panel(n_las=10, n_periods=6, cohorts=((4, 1),))
    p = p[p["cohort"] == 0]
    r = synthetic_did(p, **COLS)
    t = r.to_frame()
    assert t["term"].tolist() == ["overall"] and not t["estimable"].iloc[0]
    assert r.to_frame()["reason"].iloc[0] == "no treated unit in the data"


def test_plot_paths_and_placebo_gaps():
    import matplotlib

    matplotlib.use("Agg")
    p = example_la_panel(n_las=15, n_periods=10, cohorts=((6, 1), (8, 2)), seed=6)
    r = synthetic_control(p, **COLS)
    fig = r.plot(cohort=8)
    left, right = fig.axes[:2]
    assert len(left.lines) >= 2 and len(right.lines) >= 12 + 1  # placebo gaps + treated gap
    paths = r.extra["paths"]["8"]
    gap = np.asarray(paths["treated"]) - np.asarray(paths["synthetic"])
    np.testing.assert_allclose(right.lines[len(paths["placebo_gaps"])].get_ydata(), gap)
    empty = synthetic_control(p[p["cohort"] == 0], **COLS)
    assert empty.plot() is not None
