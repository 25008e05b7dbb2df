"""Entropy balancing: pinned to an independent primal solve and to Google's empirical_calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import optimize

from evaluate.matching.entropy import entropy_balance, entropy_weights


def _primal(x: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Minimise sum w log(w n) subject to sum w = 1 and x' w = target (SLSQP on the primal)."""
    n = len(x)
    cons = [{"type": "eq", "fun": lambda w: w.sum() - 1},
            {"type": "eq", "fun": lambda w: x.T @ w - target}]
    res = optimize.minimize(lambda w: np.sum(w * np.log(np.maximum(w, 1e-300) * n)), np.full(n, 1 / n),
                            jac=lambda w: np.log(np.maximum(w, 1e-300) * n) + 1, constraints=cons,
                            bounds=[(1e-12, 1)] * n, method="SLSQP", options={"ftol": 1e-14, "maxiter": 500})
    assert res.success
    return res.x


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dual_newton_equals_the_primal_solution(seed):
    rng = np.random.default_rng(seed)
    x = np.column_stack([rng.normal(size=60), rng.exponential(size=60), rng.integers(0, 2, 60)])
    target = np.array([0.3, 1.2, 0.6])
    w, info = entropy_weights(x, target)
    assert info["converged"]
    np.testing.assert_allclose(x.T @ w, target, atol=1e-10)
    np.testing.assert_allclose(w, _primal(x, target), atol=1e-6)


def test_matches_empirical_calibration():
    ec = pytest.importorskip("empirical_calibration", reason="Google's empirical_calibration not installed")
    rng = np.random.default_rng(0)
    xc = rng.normal(size=(500, 4))
    xt = rng.normal(0.3, 1, size=(80, 4))
    w, info = entropy_weights(xc, xt.mean(0))
    w2, _ = ec.calibrate(covariates=xc, target_covariates=xt, objective=ec.Objective.ENTROPY, autoscale=True,
                         max_weight=1.0, l2_norm=0)
    np.testing.assert_allclose(w, w2 / w2.sum(), atol=1e-8)


def test_a_perturbed_solver_is_caught():
    """The pin can fail: stopping Newton after one step leaves a visible gap."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 3))
    w, info = entropy_weights(x, np.array([0.5, -0.4, 0.2]), max_iter=1)
    assert not info["converged"]
    assert np.max(np.abs(x.T @ w - [0.5, -0.4, 0.2])) > 1e-4


def test_entropy_balance_reaches_exact_balance_and_handles_levels_without_treated_units():
    rng = np.random.default_rng(4)
    n = 600
    df = pd.DataFrame({"id": range(n), "x": rng.normal(size=n),
                       "region": rng.choice(["a", "b", "c", "d"], n)})
    p = 1 / (1 + np.exp(-(df["x"] - 1.5)))
    df["treated"] = ((rng.random(n) < p) & (df["region"] != "d")).astype(int)  # no treated unit in d
    m = entropy_balance(df, treatment="treated", unit="id", covariates=["x", "region"])
    u = m.units.merge(df, left_on="unit", right_on="id")
    t, c = u[u["treated_x"]], u[~u["treated_x"]]
    assert m.extra["converged"]
    assert np.average(c["x"], weights=c["weight"]) == pytest.approx(t["x"].mean(), abs=1e-8)
    for lev in "abc":
        assert np.average(c["region"] == lev, weights=c["weight"]) == pytest.approx((t["region"] == lev).mean(),
                                                                                   abs=1e-8)
    assert (c.loc[c["region"] == "d", "weight"] == 0).all()
    assert (c.loc[c["region"] == "d", "reason"] == "outside common support").all()
    assert c["weight"].sum() == pytest.approx(len(t))


def test_relaxes_covariates_in_order_when_the_target_is_out_of_reach():
    rng = np.random.default_rng(5)
    n = 300
    df = pd.DataFrame({"id": range(n), "x": rng.normal(size=n), "z": rng.normal(size=n)})
    df["treated"] = 0
    df.loc[:4, "treated"] = 1
    df.loc[:4, "z"] = 10.0  # beyond every comparison unit: z cannot be balanced
    m = entropy_balance(df, treatment="treated", unit="id", covariates=["x", "z"], relax=["z"])
    block = m.extra["blocks"]["all"]
    assert block["converged"] and block["not_balanced"] == ["z"]
    m2 = entropy_balance(df, treatment="treated", unit="id", covariates=["x", "z"])
    assert not m2.extra["converged"]
