"""Callaway and Sant'Anna ATT(g, t): known answers, bootstrap, inputs and the result object."""

from __future__ import annotations

import dataclasses
import json
import time

import numpy as np
import pandas as pd
import pytest

from evaluate.did.att_gt import ATTgtResult, callaway_santanna
from evaluate.did.inference import multiplier_bootstrap
from evaluate.errors import InputError

KW = dict(outcome="y", unit="id", time="t", cohort="g")


def _panel(n_units=400, periods=(1, 2, 3, 4, 5), cohorts=(0, 3, 4), effect=2.0, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(np.array(cohorts), size=n_units)
    alpha = rng.normal(size=n_units) + 0.5 * (g > 0)
    x = rng.normal(size=n_units)
    rows = []
    for t in periods:
        y = alpha + 0.3 * t + 0.5 * x * t / len(periods) + effect * ((g > 0) & (t >= g)) + rng.normal(size=n_units)
        rows.append(pd.DataFrame({"id": np.arange(n_units), "t": t, "g": g, "y": y, "x": x,
                                  "w": 1 + (np.arange(n_units) % 3), "cl": np.arange(n_units) // 10}))
    return pd.concat(rows, ignore_index=True)


@pytest.mark.parametrize("estimator", ["dr", "ipw", "reg"])
def test_two_by_two_equals_difference_in_means(estimator):
    d = _panel(cohorts=(0, 2), periods=(1, 2), seed=1)
    res = callaway_santanna(d, **KW, estimator=estimator)
    wide = d.pivot(index="id", columns="t", values="y")
    gu = d.groupby("id")["g"].first()
    dy = wide[2] - wide[1]
    expected = dy[gu == 2].mean() - dy[gu == 0].mean()
    assert len(res.table) == 1
    assert res.table.loc[0, "term"] == "g2_t2"
    assert res.table.loc[0, "estimate"] == pytest.approx(expected, abs=1e-12)
    # analytic SE of a difference in means (variances with denominator n)
    n1, n0 = (gu == 2).sum(), (gu == 0).sum()
    se = np.sqrt(dy[gu == 2].var(ddof=0) / n1 + dy[gu == 0].var(ddof=0) / n0)
    assert res.table.loc[0, "se"] == pytest.approx(se, rel=1e-10)


@pytest.mark.parametrize("estimator", ["dr", "ipw", "reg"])
def test_simulation_recovers_constant_effect(estimator):
    d = _panel(n_units=3000, effect=2.0, seed=2)
    res = callaway_santanna(d, **KW, covariates=["x"], estimator=estimator)
    t = res.to_frame()
    post = t[t["post"]]
    pre = t[~t["post"]]
    assert np.all(np.abs(post["estimate"] - 2.0) < 4 * post["se"])
    assert np.all(np.abs(pre["estimate"]) < 4 * pre["se"])
    agg = res.aggregate("dynamic")
    assert abs(agg.overall_att - 2.0) < 4 * agg.overall_se
    assert res.pretest()["p_value"] > 0.001


def test_bootstrap_reproducible_and_close_to_analytic():
    d = _panel(seed=3)
    a = callaway_santanna(d, **KW, bootstrap=499, seed=11)
    b = callaway_santanna(d, **KW, bootstrap=499, seed=11)
    c = callaway_santanna(d, **KW, bootstrap=499, seed=12)
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    assert not np.allclose(a.to_frame()["se"], c.to_frame()["se"])
    analytic = callaway_santanna(d, **KW)
    np.testing.assert_allclose(a.to_frame()["se"], analytic.to_frame()["se"], rtol=0.2)
    # uniform band is wider than the pointwise one
    assert a.extra["crit_value"] > 1.96
    agg1 = a.aggregate("group")
    agg2 = a.aggregate("group")
    pd.testing.assert_frame_equal(agg1.to_frame(), agg2.to_frame())


def test_bootstrap_fast_and_vectorised():
    rng = np.random.default_rng(0)
    inf = rng.normal(size=(21_500, 30))
    start = time.perf_counter()
    se, crit, draws = multiplier_bootstrap(inf, draws=999, rng=np.random.default_rng(1))
    elapsed = time.perf_counter() - start
    assert draws.shape == (999, 30)
    assert elapsed < 5.0
    np.testing.assert_allclose(se, np.sqrt((inf**2).sum(0)) / len(inf), rtol=0.15)
    assert 2.0 < crit < 4.0
    for kind in ("mammen", "webb"):
        se_k, _, _ = multiplier_bootstrap(inf[:2000], draws=199, weights=kind, rng=np.random.default_rng(2))
        assert np.all(np.isfinite(se_k))


def test_clustered_se_and_weights_run():
    d = _panel(seed=4)
    res = callaway_santanna(d, **KW, cluster="cl", weights="w", control="not_yet",
                            base_period="universal", anticipation=0)
    t = res.to_frame()
    assert t.loc[t["estimate"] == 0, "se"].isna().all()
    assert res.settings["cluster"] == "cl" and res.settings["weights"] == "w"


def test_units_treated_in_first_period_are_dropped_and_counted():
    d = _panel(cohorts=(0, 1, 3), seed=5)
    res = callaway_santanna(d, **KW)
    assert res.extra["dropped_treated_first_period"] == d.loc[d["g"] == 1, "id"].nunique()
    assert set(res.table["group"]) == {3}


@pytest.mark.parametrize("kwargs", [dict(control="sometimes"), dict(estimator="ols"),
                                    dict(base_period="fixed"), dict(anticipation=-1),
                                    dict(bootstrap=-5), dict(bootstrap_weights="normal"),
                                    dict(level=1.5), dict(outcome="nope")])
def test_bad_settings_raise_input_error(kwargs):
    d = _panel(seed=6)
    with pytest.raises(InputError):
        callaway_santanna(d, **{**KW, **kwargs})


def test_no_comparison_units_names_cohort_and_group():
    d = _panel(cohorts=(3, 4), seed=7)
    with pytest.raises(InputError) as e:
        callaway_santanna(d, **KW)
    assert e.value.column == "g"
    d2 = _panel(cohorts=(0, 3), seed=7)
    d2.loc[d2["g"] == 0, "g"] = 6  # treated after the panel: counts as never treated
    res = callaway_santanna(d2, **KW)
    assert set(res.table["group"]) == {3}


def test_not_yet_without_never_treated_uses_last_cohort():
    d = _panel(cohorts=(3, 5), seed=8)
    res = callaway_santanna(d, **KW, control="not_yet")
    assert set(res.table["group"]) == {3}
    assert res.table["time"].max() == 4


def test_result_is_immutable_and_serialisable():
    res = callaway_santanna(_panel(seed=9), **KW)
    assert isinstance(res, ATTgtResult)
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.method = "x"
    with pytest.raises(TypeError):
        res.settings["control"] = "not_yet"
    with pytest.raises(ValueError):
        res.influence[0, 0] = 1.0
    assert list(res.table.columns[:7]) == ["term", "estimate", "se", "ci_low", "ci_high", "p_value", "n"]
    assert {"group", "time", "event_time", "post"} <= set(res.table.columns)
    text = json.dumps(res.to_dict())
    assert "influence" not in text
    for typ in ("simple", "group", "dynamic", "calendar"):
        agg = res.aggregate(typ)
        json.dumps(agg.to_dict())
        assert agg.table["term"].iloc[-1] == "overall"
    assert res.aggregate("dynamic", min_e=-1, max_e=1).table["term"].tolist() == ["e=-1", "e=0", "e=1", "overall"]
    bal = res.aggregate("dynamic", balance_e=1).to_frame()
    assert bal["component"].max() <= 1
    with pytest.raises(InputError):
        res.aggregate("weekly")


@pytest.mark.parametrize("kind", ["rademacher", "mammen", "webb"])
@pytest.mark.parametrize("opts", [dict(), dict(cluster="cl", weights="w", control="not_yet")])
def test_aggregations_reuse_the_fit_draws_exactly(kind, opts):
    """Each aggregation's bootstrap from the fit's stored draws equals a fresh bootstrap of its
    influence functions with the same weights (same seed): the draws are shared, not redrawn.
    (Equal up to the single-precision products of the bootstrap, about 1e-7 relative; a
    different seed moves the standard errors by percent.)"""
    d = _panel(seed=13)
    res = callaway_santanna(d, **KW, **opts, bootstrap=199, bootstrap_weights=kind, seed=5)
    assert res.extra["_bootstrap_draws"] is not None
    assert "_bootstrap_draws" not in res.to_dict()["extra"]
    fresh = dataclasses.replace(res, extra={k: v for k, v in res.extra.items() if k != "_bootstrap_draws"})
    for typ in ("simple", "group", "dynamic", "calendar"):
        a = res.aggregate(typ).to_frame()
        b = fresh.aggregate(typ).to_frame()
        np.testing.assert_allclose(a["se"], b["se"], rtol=2e-6, atol=1e-14)
        np.testing.assert_allclose(a["ci_low"], b["ci_low"], rtol=2e-6, atol=1e-12)
        np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=0, atol=0)
    # an explicit, different seed draws anew
    other = res.aggregate("dynamic", seed=6).to_frame()
    assert not np.allclose(other["se"], res.aggregate("dynamic").to_frame()["se"])
    # the fit's own SEs are the first columns of the stored draws
    se_boot = res.to_frame()["se"].to_numpy()
    assert np.isfinite(se_boot[res.to_frame()["estimate"] != 0]).all()


def test_shared_fits_reuse_is_exact_and_scoped():
    """Identical propensity-score fits are computed once inside an estimation, with
    exactly the result of a fresh fit; outside the block nothing is cached."""
    from evaluate.did import drdid

    rng = np.random.default_rng(3)
    n = 400
    x = np.column_stack([np.ones(n), rng.normal(size=n)])
    d = (rng.random(n) < 0.3).astype(float)
    w = np.ones(n)
    fresh_p, fresh_v = drdid.logit(d, x, w)
    with drdid.shared_fits():
        p1, v1 = drdid.logit(d, x, w)
        p1[:] = -1.0  # a caller changing its copy must not touch the cache
        p2, v2 = drdid.logit(d, x, w)
        cache = drdid._FITS.get()
        assert cache is not None and sum(not k.startswith(b"start") for k in cache) == 1
    assert drdid._FITS.get() is None
    np.testing.assert_array_equal(p2, fresh_p)
    np.testing.assert_array_equal(v2, fresh_v)


def test_logit_equal_weights_path_equals_the_weighted_glm():
    """With equal weights the propensity score is fitted by statsmodels ``Logit`` (Newton);
    it must be the same maximum-likelihood fit as the binomial GLM used for unequal weights,
    and a weighted fit must differ from it (the weights are used)."""
    import statsmodels.api as sm

    from evaluate.did import drdid

    rng = np.random.default_rng(11)
    n = 5000
    x = np.column_stack([np.ones(n), rng.normal(size=n), rng.normal(size=n)])
    d = (rng.random(n) < 1 / (1 + np.exp(-(-0.8 + 0.6 * x[:, 1] - 0.3 * x[:, 2])))).astype(float)
    p, inv = drdid.logit(d, x, np.ones(n))
    glm = sm.GLM(d, x, family=sm.families.Binomial()).fit(method="irls", tol=1e-14)
    np.testing.assert_allclose(p, glm.fittedvalues, rtol=0, atol=1e-10)
    np.testing.assert_allclose(inv, glm.cov_params(), rtol=1e-8)
    w = rng.uniform(0.5, 1.5, size=n)
    pw, _ = drdid.logit(d, x, w / w.mean())
    glm_w = sm.GLM(d, x, family=sm.families.Binomial(), var_weights=w / w.mean()).fit(method="irls", tol=1e-14)
    np.testing.assert_allclose(pw, glm_w.fittedvalues, rtol=0, atol=1e-10)
    assert np.max(np.abs(pw - p)) > 1e-4
