"""Wild cluster bootstrap: against a brute-force loop, analytic CR1, and under H0 with few clusters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluate.did.wild_bootstrap import (
    _all_signs,
    cluster_multiplier_bootstrap,
    draw_weights,
    wcr_pvalue,
    wild_cluster_bootstrap,
)
from evaluate.errors import InputError


def _cr1(X, y, cl, k):
    """Analytic CR1 t statistic and p-value (t with G-1 df), written out directly."""
    G = len(np.unique(cl))
    n, K = X.shape
    P = np.linalg.inv(X.T @ X)
    b = P @ X.T @ y
    u = y - X @ b
    sc = np.array([(X[cl == g] @ P[:, k] * u[cl == g]).sum() for g in np.unique(cl)])
    se = np.sqrt(G / (G - 1) * (n - 1) / (n - K) * np.sum(sc ** 2))
    t = b[k] / se
    return t, 2 * stats.t.sf(abs(t), G - 1)


def _toy(seed=1, G=6, m=10, beta=0.3):
    rng = np.random.default_rng(seed)
    cl = np.repeat(np.arange(G), m)
    n = cl.size
    X = np.column_stack([rng.normal(size=n), rng.normal(size=n) + (cl < G // 2)])
    y = beta * X[:, 1] + rng.normal(size=n) + rng.normal(size=G)[cl]
    return X, y, cl


def _brute_force_p(X, y, cl, k, V):
    """The WCR p-value by refitting the regression for every draw (the slow definition)."""
    def t(yy):
        P = np.linalg.inv(X.T @ X)
        b = P @ X.T @ yy
        u = yy - X @ b
        sc = np.array([(X[cl == g] @ P[:, k] * u[cl == g]).sum() for g in np.unique(cl)])
        return b[k] / np.sqrt(np.sum(sc ** 2))
    Xr = np.delete(X, k, axis=1)
    yhat = Xr @ np.linalg.lstsq(Xr, y, rcond=None)[0]
    ur = y - yhat
    t0 = abs(t(y))
    ts = np.array([abs(t(yhat + ur * V[cl, j])) for j in range(V.shape[1])])
    return np.mean(ts >= t0 * (1 - 1e-12))


def test_enumeration_matches_brute_force_refits():
    X, y, cl = _toy()
    r = wcr_pvalue(X, y, cl, 1, enumerate_all=True, level=None)
    assert r["enumerated"] and r["draws"] == 2 ** 6
    assert r["p_value"] == pytest.approx(_brute_force_p(X, y, cl, 1, _all_signs(6)), abs=1e-12)


@pytest.mark.parametrize("kind", ["rademacher", "webb", "mammen"])
def test_random_draws_match_brute_force_with_the_same_draws(kind):
    X, y, cl = _toy(seed=3, G=7)
    r = wcr_pvalue(X, y, cl, 1, draws=199, weights=kind, rng=np.random.default_rng(5),
                   enumerate_all=False, level=None)
    V = draw_weights(kind, (7, 199), np.random.default_rng(5))
    assert r["p_value"] == pytest.approx(_brute_force_p(X, y, cl, 1, V), abs=1e-12)


def test_weight_distributions_are_exact():
    rng = np.random.default_rng(0)
    webb = draw_weights("webb", (60_000,), rng)
    assert sorted(np.unique(webb)) == pytest.approx(
        [-np.sqrt(1.5), -1, -np.sqrt(0.5), np.sqrt(0.5), 1, np.sqrt(1.5)])
    m = draw_weights("mammen", (200_000,), rng)
    assert m.mean() == pytest.approx(0, abs=0.01) and m.var() == pytest.approx(1, abs=0.01)
    assert np.mean(m ** 3) == pytest.approx(1, abs=0.05)
    assert set(np.unique(draw_weights("rademacher", (100,), rng))) == {-1.0, 1.0}
    with pytest.raises(InputError):
        draw_weights("normal", (3,), rng)


def test_many_clusters_agree_with_analytic_cr1():
    rng = np.random.default_rng(11)
    G = 150
    cl = np.repeat(np.arange(G), 4)
    n = cl.size
    X = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = 0.06 * X[:, 1] + rng.normal(size=n) + 0.5 * rng.normal(size=G)[cl]
    _, p_cr1 = _cr1(X, y, cl, 1)
    r = wcr_pvalue(X, y, cl, 1, draws=4999, rng=np.random.default_rng(2), level=None)
    assert 0.01 < p_cr1 < 0.5  # an informative comparison, not two zeros
    assert r["p_value"] == pytest.approx(p_cr1, abs=0.025)


def test_few_clusters_size_is_closer_to_nominal_than_cr1():
    rng = np.random.default_rng(20240501)
    G = 8
    cl = np.repeat(np.arange(G), [5, 10, 15, 20, 25, 30, 40, 55])
    n = cl.size
    rej_wcr = rej_cr1 = 0
    sims = 200
    for _ in range(sims):
        treated = np.zeros(G)
        treated[rng.choice(G, 2, replace=False)] = 1.0
        X = np.column_stack([np.ones(n), treated[cl]])
        y = rng.normal(size=G)[cl] + rng.normal(size=n)       # H0 true: no effect
        rej_cr1 += _cr1(X, y, cl, 1)[1] < 0.05
        rej_wcr += wcr_pvalue(X, y, cl, 1, draws=999, rng=rng, level=None)["p_value"] < 0.05
    rej_wcr, rej_cr1 = rej_wcr / sims, rej_cr1 / sims
    assert rej_cr1 > 0.10            # the analytic test over-rejects with 8 clusters
    assert rej_wcr <= 0.09           # the bootstrap does not
    assert abs(rej_wcr - 0.05) < abs(rej_cr1 - 0.05)


def test_interval_inverts_the_test_and_seed_reproduces():
    X, y, cl = _toy(seed=4, G=12, beta=1.0)
    a = wcr_pvalue(X, y, cl, 1, draws=999, rng=np.random.default_rng(9), level=0.9)
    b = wcr_pvalue(X, y, cl, 1, draws=999, rng=np.random.default_rng(9), level=0.9)
    assert a == b
    assert a["ci_low"] < a["estimate"] < a["ci_high"]
    # the bounds are where the bootstrap p-value of H0: beta = b crosses 0.10
    for bound in (a["ci_low"], a["ci_high"]):
        p = {}
        for name, frac in [("inside", 0.98), ("outside", 1.02)]:
            b0 = a["estimate"] + (bound - a["estimate"]) * frac
            p[name] = wcr_pvalue(X, y - b0 * X[:, 1], cl, 1, draws=999, rng=np.random.default_rng(9),
                                 level=None)["p_value"]
        assert p["inside"] > 0.10 >= p["outside"]


def test_linear_combination_equals_reparametrised_coefficient():
    X, y, cl = _toy(seed=8, G=6)
    # r'beta with r = (1, 1): the same as testing the coefficient on x2 after x1 := x1 - x2
    r = wcr_pvalue(X, y, cl, np.array([1.0, 1.0]), enumerate_all=True, level=None)
    X2 = np.column_stack([X[:, 0], X[:, 1] - X[:, 0]])
    assert r["estimate"] == pytest.approx(np.linalg.lstsq(X, y, rcond=None)[0].sum())
    direct = wcr_pvalue(X2, y, cl, 0, enumerate_all=True, level=None)
    assert r["p_value"] == pytest.approx(direct["p_value"])


def test_front_with_fixed_effects_and_unrestricted_variant():
    rng = np.random.default_rng(3)
    units, periods = 40, 5
    df = pd.DataFrame({"u": np.repeat(np.arange(units), periods), "t": np.tile(np.arange(periods), units)})
    df["area"] = df["u"] % 8
    df["d"] = ((df["area"] < 3) & (df["t"] >= 3)).astype(float)
    df["y"] = df["u"] * 0.1 + df["t"] * 0.2 + 0.5 * df["d"] + rng.normal(size=len(df))
    kw = dict(param="d", cluster="area", outcome="y", regressors=["d"], fixed_effects=["u", "t"], seed=7)
    r = wild_cluster_bootstrap(df, **kw)
    assert r["enumerated"] and r["draws"] == 256 and 0 <= r["p_value"] <= 1
    assert r["settings"]["method"] == "WCR" and r["settings"]["cluster"] == "area"
    # FE absorbed = dummies included explicitly
    dummies = pd.get_dummies(df[["u", "t"]].astype(str), drop_first=True).to_numpy(float)
    X = np.column_stack([df["d"], np.ones(len(df)), dummies])
    full = wcr_pvalue(X, df["y"].to_numpy(), df["area"].to_numpy(), 0, enumerate_all=True, level=None)
    assert r["estimate"] == pytest.approx(full["estimate"], abs=1e-8)
    assert r["p_value"] == pytest.approx(full["p_value"])
    u = wild_cluster_bootstrap(df, **kw, impose_null=False, weights="webb", draws=499)
    assert u["settings"]["method"] == "WCU" and u["draws"] == 499 and u["ci_low"] < u["ci_high"]
    with pytest.raises(InputError):
        wild_cluster_bootstrap(df, param="x", cluster="area", outcome="y", regressors=["d"])


def test_multiplier_bootstrap_se_matches_clustered_sum():
    rng = np.random.default_rng(0)
    G = 400
    cl = np.repeat(np.arange(G), 3)
    psi = rng.normal(size=(cl.size, 2)) / cl.size
    out = cluster_multiplier_bootstrap(psi, cl, draws=4000, rng=np.random.default_rng(1))
    sums = np.array([psi[cl == g].sum(0) for g in range(G)])
    analytic = np.sqrt((sums ** 2).sum(0))
    assert out["se"] == pytest.approx(analytic, rel=0.08)
    assert out["draws"].shape == (4000, 2) and out["crit_value"] > stats.norm.ppf(0.975)


def test_twfe_and_event_study_results_carry_their_design_for_the_bootstrap():
    """wild_cluster_bootstrap(twfe_result) equals the data path on the same regression."""
    from evaluate import did

    rng = np.random.default_rng(4)
    n, periods = 120, 5
    g = rng.choice([0, 3, 4], size=n)
    rows = []
    for u in range(n):
        a = rng.normal()
        for t in range(1, periods + 1):
            d = float(g[u] > 0 and t >= g[u])
            rows.append((u, t, a + 0.1 * t + 0.3 * d + rng.normal(), g[u], d, u % 10, 1 + (u % 3)))
    df = pd.DataFrame(rows, columns=["id", "t", "y", "g", "d", "cl", "w"])
    for weights in (None, "w"):
        fit = did.twfe(df, outcome="y", unit="id", time="t", cohort="g", cluster="cl", weights=weights)
        via_result = did.wild_cluster_bootstrap(fit, param="treated", draws=499, seed=9)
        via_data = did.wild_cluster_bootstrap(df, param="d", outcome="y", regressors=["d"],
                                              fixed_effects=["id", "t"], cluster="cl", obs_weights=weights,
                                              draws=499, seed=9)
        assert via_result["p_value"] == pytest.approx(via_data["p_value"], abs=1e-12)
        assert via_result["t_stat"] == pytest.approx(via_data["t_stat"], rel=1e-8)
    es = did.event_study(df, outcome="y", unit="id", time="t", cohort="g", cluster="cl")
    out = did.wild_cluster_bootstrap(es, param="e=0", draws=499, seed=9)
    assert 0 <= out["p_value"] <= 1 and out["n_clusters"] == 10
