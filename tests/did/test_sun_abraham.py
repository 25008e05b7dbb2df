"""Sun-Abraham: cohort x relative-time coefficients and aggregates against pyfixest."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluate.did.sun_abraham import sun_abraham
from evaluate.did.wild_bootstrap import wild_cluster_bootstrap
from evaluate.errors import InputError

pf = pytest.importorskip("pyfixest")


def _panel(seed=0, units=120, periods=8, cohorts=(0, 2004, 2005, 2007), drop=0.0):
    rng = np.random.default_rng(seed)
    u = np.repeat(np.arange(units), periods)
    t = np.tile(np.arange(2001, 2001 + periods), units)
    g = rng.choice(cohorts, size=units)[u]
    eff = np.where((g > 0) & (t >= g), 1 + 0.3 * (t - g) + 0.5 * (g == 2005), 0.0)
    df = pd.DataFrame({"id": u, "year": t, "g": g, "x": rng.normal(size=u.size),
                       "w": rng.uniform(0.5, 2.0, size=units)[u]})
    df["y"] = rng.normal(size=units)[u] + 0.1 * (t - 2000) + eff + 0.4 * df["x"] + rng.normal(size=u.size)
    if drop:
        df = df.sample(frac=1 - drop, random_state=seed).reset_index(drop=True)
    return df


def _pyfixest_saturated(df, control_cohort=0, weights=None, covariates=""):
    d = df.copy()
    d["rel"] = np.where((d["g"] > 0) & (d["g"] != control_cohort), d["year"] - d["g"], -1).astype(int)
    d["gg"] = np.where(d["g"] == control_cohort, 0, d["g"])
    fml = f"y ~ i(rel, gg, ref=-1, ref2=0){covariates} | id + year"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(fml, data=d, vcov={"CRV1": "id"}, weights=weights)


def _match_coefficients(res, fit):
    ce = res.extra["cohort_effects"]
    coef, se = fit.coef(), fit.se()
    ours = {(int(r.cohort), int(r.event_time)): (r.estimate, r.se) for r in ce.itertuples()}
    theirs = {}
    for name in coef.index:
        if not name.startswith("rel::"):
            continue
        e, gg = name.split(":gg::")
        theirs[(int(float(gg)), int(float(e.removeprefix("rel::"))))] = (coef[name], se[name])
    assert ours.keys() == theirs.keys()
    for k, (b, s) in ours.items():
        assert b == pytest.approx(theirs[k][0], abs=1e-8)
        assert s == pytest.approx(theirs[k][1], rel=1e-7)


@pytest.mark.parametrize("drop", [0.0, 0.1])
def test_cohort_coefficients_and_cr1_match_pyfixest(drop):
    df = _panel(drop=drop)
    res = sun_abraham(df, outcome="y", unit="id", time="year", cohort="g")
    _match_coefficients(res, _pyfixest_saturated(df))


def test_weights_covariates_and_last_cohort_control_match_pyfixest():
    df = _panel(seed=2, drop=0.05)
    res = sun_abraham(df, outcome="y", unit="id", time="year", cohort="g", weights="w", covariates=["x"])
    _match_coefficients(res, _pyfixest_saturated(df, weights="w", covariates=" + x"))
    last = sun_abraham(df, outcome="y", unit="id", time="year", cohort="g", control="last_cohort")
    sub = df[(df["g"] > 0) & (df["year"] < 2007)]
    _match_coefficients(last, _pyfixest_saturated(sub, control_cohort=2007))
    assert last.settings["control_cohort"] == 2007 and last.n_units == sub["id"].nunique()


def test_aggregates_match_pyfixest_saturated_event_study_and_hand_weights():
    df = _panel(seed=1)
    res = sun_abraham(df, outcome="y", unit="id", time="year", cohort="g")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.event_study(df, yname="y", idname="id", tname="year", gname="g", cluster="id",
                             estimator="saturated")
        agg = fit.aggregate()
    t = res.to_frame().set_index("term")
    for e, row in agg.iterrows():
        term = f"e={int(e)}"
        assert t.loc[term, "estimate"] == pytest.approx(float(row["Estimate"]), abs=1e-8)
        assert t.loc[term, "se"] == pytest.approx(float(row["Std. Error"]), rel=1e-7)
    # by hand: cohort shares of units observed at each relative time (balanced panel)
    ce = res.extra["cohort_effects"]
    sizes = df.groupby("g")["id"].nunique()
    for e in (-3, 0, 2):
        cells = ce[ce["event_time"] == e]
        share = sizes.loc[cells["cohort"]].to_numpy() / sizes.loc[cells["cohort"]].sum()
        assert t.loc[f"e={e}", "estimate"] == pytest.approx(share @ cells["estimate"].to_numpy(), abs=1e-12)
    post = ce[ce["event_time"] >= 0]
    mass = sizes.loc[post["cohort"]].to_numpy()
    assert t.loc["ATT", "estimate"] == pytest.approx(mass @ post["estimate"].to_numpy() / mass.sum(), abs=1e-12)
    assert "e=-1" not in t.index and t.loc["e=0", "event_time"] == 0


def test_pretest_is_the_wald_test_of_the_leads():
    df = _panel(seed=3)
    res = sun_abraham(df, outcome="y", unit="id", time="year", cohort="g")
    t = res.to_frame()
    leads = (t["event_time"] <= -2).to_numpy()
    V = np.asarray(res.extra["vcov"])[np.ix_(leads, leads)]
    b = t.loc[leads, "estimate"].to_numpy()
    stat = b @ np.linalg.solve(V, b)
    pt = res.pretest()
    assert pt["statistic"] == pytest.approx(stat) and pt["df"] == leads.sum()
    assert pt["p_value"] == pytest.approx(stats.chi2.sf(stat, leads.sum()))


def test_no_effect_recovers_zero_and_result_is_serialisable():
    rng = np.random.default_rng(5)
    df = _panel(seed=5)
    df["y"] = rng.normal(size=len(df)) + df["id"] * 0.01 + df["year"] * 0.1
    res = sun_abraham(df, outcome="y", unit="id", time="year", cohort="g", vcov="CR3")
    assert (res.to_frame()["p_value"] > 0.001).all()
    d = json.loads(json.dumps(res.to_dict()))
    assert d["settings"]["vcov"] == "CR3" and d["settings"]["control"] == "never"
    assert {r["term"] for r in d["table"]} >= {"e=0", "ATT"}


def test_wild_bootstrap_of_an_event_time_effect():
    df = _panel(seed=6, units=60)
    df["area"] = df["id"] % 8
    res = sun_abraham(df, outcome="y", unit="id", time="year", cohort="g", cluster="area")
    out = wild_cluster_bootstrap(res, param="e=0", seed=1)
    assert out["enumerated"] and out["estimate"] == pytest.approx(res.estimates["e=0"])
    assert out["p_value"] < 0.05  # a large effect
    lead = wild_cluster_bootstrap(res, param="g=2007,e=-3", seed=1)
    assert lead["estimate"] == pytest.approx(
        res.extra["cohort_effects"].set_index(["cohort", "event_time"]).loc[(2007, -3), "estimate"])


def test_errors():
    df = _panel()
    with pytest.raises(InputError, match="control"):
        sun_abraham(df, outcome="y", unit="id", time="year", cohort="g", control="notyet")
    with pytest.raises(InputError, match="never-treated"):
        sun_abraham(df[df["g"] > 0], outcome="y", unit="id", time="year", cohort="g")


def _panel_without_reference_year(seed=3):
    """Each cohort lacks its year g-1 (as when partly exposed years are left out)."""
    rng = np.random.default_rng(seed)
    years = [2016, 2017, 2018, 2021, 2022, 2023, 2024]
    rows, u = [], 0
    for g, n in {0: 300, 2022: 4, 2023: 19, 2024: 33}.items():
        for _ in range(n):
            a = rng.normal(5, 1)
            rows += [(u, t, g, a + 0.1 * (t - 2016) + rng.normal(0, 0.3))
                     for t in years if not (g and t == g - 1) and rng.random() > 0.05]
            u += 1
    return pd.DataFrame(rows, columns=["id", "year", "g", "y"])


def test_collinear_design_left_noisy_by_demeaning_is_refused_not_a_crash(monkeypatch):
    """Demeaning leaves an exactly collinear column as noise of about its tolerance; how much
    depends on the CPU's floating-point kernels. At 1e-11 of the scale numpy's default rank
    test calls the design full rank and the variance's inverse fails (seen on a CPU without
    AVX-512); the rank test must be tied to the demeaning's precision and refuse by name."""
    import sys

    from evaluate.did.within import numeric_rank

    sa = sys.modules["evaluate.did.sun_abraham"]
    real = sa.demean
    noise = np.random.default_rng(0)

    def noisy_demean(X, fe, weights=None, **kw):
        out = real(X, fe, weights=weights, **kw)
        return out + 1e-11 * np.abs(out).max() * noise.standard_normal(out.shape)

    monkeypatch.setattr(sa, "demean", noisy_demean)
    with pytest.raises(InputError, match="collinear with the fixed effects"):
        sun_abraham(_panel_without_reference_year(), outcome="y", unit="id", time="year", cohort="g")
    # the reason the default test is not enough
    x = np.random.default_rng(1).standard_normal((500, 3))
    X = np.column_stack([x, x[:, 0] - x[:, 1] + 1e-11 * np.random.default_rng(2).standard_normal(500)])
    assert np.linalg.matrix_rank(X) == 4 and numeric_rank(X) == 3
