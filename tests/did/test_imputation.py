"""BJS imputation: against pyfixest fit-and-predict, a dense v* computation, 2x2 DiD, simulation."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from evaluate.did.imputation import imputation
from evaluate.errors import InputError

pf = pytest.importorskip("pyfixest")


def _panel(seed=0, units=80, periods=7, cohorts=(0, 3, 4, 6), effect=2.0, drop=0.0):
    rng = np.random.default_rng(seed)
    u = np.repeat(np.arange(units), periods)
    t = np.tile(np.arange(1, periods + 1), units)
    g = rng.choice(cohorts, size=units)[u]
    x = rng.normal(size=u.size)
    y = rng.normal(size=units)[u] + 0.2 * t + 0.5 * x + effect * ((g > 0) & (t >= g)) + rng.normal(size=u.size)
    df = pd.DataFrame({"id": u, "t": t, "g": g, "x": x, "y": y, "w": rng.uniform(0.5, 2, units)[u],
                       "area": u % 9})
    if drop:
        df = df.sample(frac=1 - drop, random_state=seed).reset_index(drop=True)
    return df


def _pyfixest_tau(df, covariates="", weights=None):
    D = ((df["g"] > 0) & (df["t"] >= df["g"])).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.feols(f"y ~ 1{covariates} | id + t", data=df[~D], weights=weights, fixef_rm="none",
                       fixef_tol=1e-14)
        fit.fixef(atol=1e-14, btol=1e-14)  # recover the effects precisely (default tolerance 1e-6)
        yhat = np.asarray(fit.predict(newdata=df[D]))
    out = df[D].assign(tau=df.loc[D, "y"].to_numpy() - yhat)
    return out[out["tau"].notna()]    # not imputable: no untreated period for the unit


@pytest.mark.parametrize("kw", [{}, {"covariates": ["x"], "weights": "w"}])
def test_point_estimates_equal_pyfixest_fit_on_untreated_and_predict(kw):
    df = _panel(drop=0.05)
    res = imputation(df, outcome="y", unit="id", time="t", cohort="g", **kw)
    d1 = _pyfixest_tau(df, " + x" if kw else "", kw.get("weights"))
    assert res.extra["n_treated_obs"] == len(d1)
    w = d1["w"] if kw else np.ones(len(d1))
    est = res.estimates
    assert est["ATT"] == pytest.approx(np.average(d1["tau"], weights=w), abs=1e-8)
    rel = d1["t"] - d1["g"]
    for h in (0, 2, 4):
        assert est[f"e={h}"] == pytest.approx(np.average(d1["tau"][rel == h], weights=w[rel == h]), abs=1e-8)
    mine = res.extra["tau"].sort_values(["id", "t"])["tau"].to_numpy()
    np.testing.assert_allclose(mine, d1.sort_values(["id", "t"])["tau"].to_numpy(), atol=1e-8)


def test_standard_errors_equal_a_dense_implementation_of_theorem_3():
    df = _panel(seed=3, units=30, periods=5, cohorts=(0, 3, 4))
    res = imputation(df, outcome="y", unit="id", time="t", cohort="g", covariates=["x"], cluster="area")
    D = ((df["g"] > 0) & (df["t"] >= df["g"])).to_numpy()
    Z = np.column_stack([pd.get_dummies(df["id"]).to_numpy(float),
                         pd.get_dummies(df["t"]).to_numpy(float)[:, 1:], df["x"]])
    Z0, Z1 = Z[~D], Z[D]
    y = df["y"].to_numpy()
    coef = np.linalg.lstsq(Z0, y[~D], rcond=None)[0]
    tau = y[D] - Z1 @ coef
    e0 = y[~D] - Z0 @ coef
    rel = (df["t"] - df["g"]).to_numpy()[D]
    g1 = df["g"].to_numpy()[D]
    t_ = res.to_frame().set_index("term")
    for term, w1 in [("ATT", np.ones(D.sum())), ("e=1", (rel == 1).astype(float))]:
        w1 = w1 / w1.sum()
        v0 = -Z0 @ np.linalg.pinv(Z0.T @ Z0) @ Z1.T @ w1
        cells = pd.Series(w1 ** 2 * tau).groupby([g1, rel]).transform("sum") / \
            pd.Series(w1 ** 2).groupby([g1, rel]).transform("sum")
        eps1 = tau - cells.fillna(0).to_numpy()
        score = pd.Series(np.r_[v0 * e0, w1 * eps1]).groupby(
            np.r_[df["area"].to_numpy()[~D], df["area"].to_numpy()[D]]).sum()
        assert t_.loc[term, "estimate"] == pytest.approx(w1 @ tau, abs=1e-10)
        assert t_.loc[term, "se"] == pytest.approx(np.sqrt(np.sum(score ** 2)), rel=1e-8)


def test_one_cohort_two_periods_is_the_two_by_two_difference_in_means():
    rng = np.random.default_rng(1)
    units = 40
    df = pd.DataFrame({"id": np.repeat(np.arange(units), 2), "t": np.tile([1, 2], units)})
    df["g"] = np.where(df["id"] < 15, 2, 0)
    df["y"] = rng.normal(size=len(df)) + 1.5 * ((df["g"] == 2) & (df["t"] == 2))
    res = imputation(df, outcome="y", unit="id", time="t", cohort="g")
    m = df.groupby(["g", "t"])["y"].mean()
    did = (m[(2, 2)] - m[(2, 1)]) - (m[(0, 2)] - m[(0, 1)])
    assert res.estimates["ATT"] == pytest.approx(did, abs=1e-12)
    assert res.estimates["e=0"] == pytest.approx(did, abs=1e-12)


def test_unbiased_with_a_homogeneous_effect_and_conservative_se():
    ests, ses = [], []
    for s in range(40):
        r = imputation(_panel(seed=100 + s, units=60, effect=1.0), outcome="y", unit="id", time="t",
                       cohort="g")
        ests.append(r.estimates["ATT"])
        ses.append(r.to_frame().set_index("term").loc["ATT", "se"])
    ests = np.array(ests)
    assert abs(ests.mean() - 1.0) < 3 * ests.std(ddof=1) / np.sqrt(len(ests))
    assert np.mean(ses) > 0.8 * ests.std(ddof=1)


def test_pretest_matches_pyfixest_leads_on_untreated_observations():
    df = _panel(seed=4)
    res = imputation(df, outcome="y", unit="id", time="t", cohort="g", pretrends=2, horizons=[0, 1])
    D = (df["g"] > 0) & (df["t"] >= df["g"])
    d0 = df[~D].copy()
    for k in (1, 2):
        d0[f"lead{k}"] = ((d0["g"] > 0) & (d0["t"] - d0["g"] == -k)).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.feols("y ~ lead1 + lead2 | id + t", data=d0, vcov={"CRV1": "id"}, fixef_rm="none",
                       fixef_tol=1e-14)
    t_ = res.to_frame().set_index("term")
    assert t_.loc["e=-1", "estimate"] == pytest.approx(fit.coef()["lead1"], abs=1e-8)
    assert t_.loc["e=-2", "se"] == pytest.approx(fit.se()["lead2"], rel=1e-7)
    b = fit.coef()[["lead1", "lead2"]].to_numpy()
    V = fit._vcov
    pt = res.pretest()
    assert pt["df"] == 2 and pt["statistic"] == pytest.approx(b @ np.linalg.solve(V, b), rel=1e-7)
    assert list(t_.index) == ["e=-2", "e=-1", "ATT", "e=0", "e=1"]
    d = json.loads(json.dumps(res.to_dict()))
    assert d["settings"]["pretrends"] == 2 and d["settings"]["horizons"] == [0, 1]


def test_not_imputable_observations_are_dropped_and_counted():
    df = _panel(seed=5, cohorts=(0, 1, 3))   # cohort 1: treated from the first period
    res = imputation(df, outcome="y", unit="id", time="t", cohort="g")
    assert res.extra["dropped_not_imputable"] == int((df["g"] == 1).sum())
    with pytest.raises(InputError, match="pretrends"):
        res.pretest()
    with pytest.raises(InputError, match="horizons"):
        imputation(df, outcome="y", unit="id", time="t", cohort="g", horizons=[99])
