"""TWFE, the within transformation and the cluster-robust variance, against pyfixest and linearmodels."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from evaluate.did.vcov import cluster_vcov, vcov_info
from evaluate.did.within import absorbed_parameters, demean, singleton_mask
from evaluate.errors import InputError

pf = pytest.importorskip("pyfixest")

TOL = 1e-8


def make_panel(n_units: int = 60, n_periods: int = 7, *, seed: int = 0, drop: int = 0,
               cohorts=(0, 3, 4, 6)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame([(u, t) for u in range(n_units) for t in range(1, n_periods + 1)],
                      columns=["unit", "time"])
    df["g"] = np.repeat(rng.choice(cohorts, n_units), n_periods)
    df["d"] = ((df["time"] >= df["g"]) & (df["g"] > 0)).astype(float)
    df["x"] = rng.normal(size=len(df))
    df["w"] = rng.uniform(0.5, 2.0, len(df))
    df["region"] = df["unit"] % 9
    df["y"] = (df["d"] * (1 + 0.2 * (df["time"] - df["g"]).clip(lower=0)) + 0.3 * df["x"]
               + 0.1 * df["unit"] + 0.05 * df["time"] ** 2 + rng.normal(size=len(df)))
    if drop:
        df = df.drop(rng.choice(len(df), drop, replace=False)).reset_index(drop=True)
    return df


def pyfixest_fit(df, fml, vcov, weights=None, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pf.feols(fml, data=df, vcov=vcov, weights=weights, fixef_tol=1e-14, **kw)


def twfe(*args, **kwargs):
    from evaluate.did import twfe as fn

    return fn(*args, **kwargs)


CASES = [
    # (vcov, pyfixest vcov, cluster, weights, covariates, dropped rows)
    ("CR1", {"CRV1": "unit"}, None, None, (), 0),
    ("CR1", {"CRV1": "unit"}, None, None, (), 25),
    ("CR1", {"CRV1": "unit"}, None, "w", ("x",), 25),
    ("CR3", {"CRV3": "unit"}, None, None, (), 0),
    ("CR3", {"CRV3": "unit"}, None, "w", ("x",), 25),
    ("HC1", "hetero", None, None, (), 0),
    ("HC1", "hetero", None, "w", ("x",), 25),
    ("CR1", {"CRV1": "region"}, "region", None, ("x",), 25),
    ("CR3", {"CRV3": "region"}, "region", "w", (), 25),
]


@pytest.mark.parametrize(("vcov", "pf_vcov", "cluster", "weights", "covs", "drop"), CASES)
def test_twfe_matches_pyfixest(vcov, pf_vcov, cluster, weights, covs, drop):
    df = make_panel(drop=drop)
    r = twfe(df, outcome="y", unit="unit", time="time", cohort="g", covariates=covs,
             weights=weights, cluster=cluster, vcov=vcov)
    m = pyfixest_fit(df, "y ~ " + " + ".join(["d", *covs]) + " | unit + time", pf_vcov, weights)
    np.testing.assert_allclose(r.coef.to_numpy(), m.coef().to_numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(r.se.to_numpy(), m.se().to_numpy(), rtol=TOL)
    np.testing.assert_allclose(r.vcov.to_numpy(), m._vcov, rtol=1e-7, atol=1e-14)
    assert r.df == int(m._df_t)
    t = r.to_frame()
    np.testing.assert_allclose(t["ci_low"], m.confint().iloc[:, 0], rtol=1e-7)
    np.testing.assert_allclose(t["p_value"], m.pvalue(), rtol=1e-6, atol=1e-12)
    assert list(t["term"]) == ["treated", *covs]
    assert r.n_clusters == (len(df) if vcov == "HC1" else df[cluster or "unit"].nunique())


def test_twfe_singletons_are_kept_and_reported():
    df = make_panel(drop=0)
    df = df[~((df["unit"] < 3) & (df["time"] > 1))].reset_index(drop=True)  # three one-row units
    r = twfe(df, outcome="y", unit="unit", time="time", cohort="g", vcov="CR1")
    m = pyfixest_fit(df, "y ~ d | unit + time", {"CRV1": "unit"}, fixef_rm="none")
    assert r.extra["n_singletons"] == 3
    np.testing.assert_allclose(r.coef.to_numpy(), m.coef().to_numpy(), atol=TOL)
    np.testing.assert_allclose(r.se.to_numpy(), m.se().to_numpy(), rtol=TOL)


def test_twfe_matches_linearmodels_panelols():
    lm = pytest.importorskip("linearmodels.panel")
    df = make_panel(drop=30, seed=3)
    r = twfe(df, outcome="y", unit="unit", time="time", cohort="g", covariates=("x",))
    idx = df.set_index(["unit", "time"])
    m = lm.PanelOLS(idx["y"], idx[["d", "x"]], entity_effects=True, time_effects=True).fit(
        cov_type="clustered", cluster_entity=True)
    np.testing.assert_allclose(r.coef.to_numpy(), m.params.to_numpy(), atol=TOL)
    # linearmodels scales B M B by n / df_resid; fixest by G/(G-1) (n-1)/(n-K)
    n, G = len(df), df["unit"].nunique()
    ratio = (m.df_resid / n) * G / (G - 1) * (n - 1) / (n - r.extra["df_k"])
    np.testing.assert_allclose(r.vcov.to_numpy(), m.cov.to_numpy() * ratio, rtol=TOL)


def test_one_cohort_two_periods_is_the_difference_in_means():
    rng = np.random.default_rng(5)
    df = pd.DataFrame([(u, t) for u in range(30) for t in (1, 2)], columns=["unit", "time"])
    df["g"] = np.where(df["unit"] < 12, 2, 0)
    df["y"] = rng.normal(size=len(df)) + (df["g"] == 2) * (df["time"] == 2) * 1.5
    r = twfe(df, outcome="y", unit="unit", time="time", cohort="g")
    m = df.groupby(["g", "time"])["y"].mean()
    did = (m[(2, 2)] - m[(2, 1)]) - (m[(0, 2)] - m[(0, 1)])
    assert r.coef["treated"] == pytest.approx(did, abs=1e-12)


def test_twfe_is_biased_with_effects_growing_over_time():
    # Staggered adoption, effect = 0.5 per period since adoption (grows), no never treated
    # late enough: already-treated units serve as controls and TWFE falls far below the ATT.
    rng = np.random.default_rng(20240901)
    n_units, periods = 600, np.arange(1, 11)
    g = rng.choice([3, 5, 7, 0], n_units, p=[0.3, 0.3, 0.3, 0.1])
    df = pd.DataFrame({"unit": np.repeat(np.arange(n_units), len(periods)),
                       "time": np.tile(periods, n_units), "g": np.repeat(g, len(periods))})
    treated = (df["g"] > 0) & (df["time"] >= df["g"])
    effect = np.where(treated, 0.5 * (df["time"] - df["g"] + 1), 0.0)
    df["y"] = (np.repeat(rng.normal(size=n_units), len(periods)) + 0.2 * df["time"] + effect
               + rng.normal(scale=0.5, size=len(df)))
    true_att = float(effect[treated].mean())
    r = twfe(df, outcome="y", unit="unit", time="time", cohort="g")
    est, se = r.coef["treated"], r.se["treated"]
    assert true_att > 1.5
    assert est < true_att - 0.5  # a clear margin
    assert (true_att - est) / se > 10  # not sampling noise


def test_treatment_column_gives_the_same_estimate_and_result_is_serialisable():
    df = make_panel(drop=10)
    a = twfe(df, outcome="y", unit="unit", time="time", cohort="g")
    b = twfe(df, outcome="y", unit="unit", time="time", treatment="d")
    assert a.coef["treated"] == pytest.approx(b.coef["treated"], abs=1e-12)
    d = json.loads(json.dumps(a.to_dict()))
    assert d["extra"]["vcov"] == [[pytest.approx(a.vcov.iloc[0, 0])]]
    assert d["settings"]["cluster"] == "unit" and d["settings"]["vcov"] == "CR1"
    assert d["extra"]["n_clusters"] == df["unit"].nunique() and d["extra"]["df"] == df["unit"].nunique() - 1
    assert "treated" in a.summary()


def test_front_returns_the_function_even_after_the_submodule_is_imported():
    import importlib

    import evaluate.did as did

    importlib.import_module("evaluate.did.twfe")
    df = make_panel()
    r = did.twfe(df, outcome="y", unit="unit", time="time", cohort="g")
    assert r.method == "twfe"


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"outcome": "nope"}, "not found"),
    ({"cluster": "nope"}, "not found"),
    ({"vcov": "CR2"}, "vcov must be"),
    ({"cohort": None}, "give cohort"),
])
def test_twfe_bad_arguments(kwargs, match):
    df = make_panel()
    args = {"outcome": "y", "unit": "unit", "time": "time", "cohort": "g", **kwargs}
    with pytest.raises(InputError, match=match):
        twfe(df, **args)


def test_twfe_bad_data():
    df = make_panel()
    bad = df.astype({"y": "object"})
    bad.loc[3, "y"] = "high"
    with pytest.raises(InputError, match="not a number") as exc:
        twfe(bad, outcome="y", unit="unit", time="time", cohort="g")
    assert exc.value.column == "y"
    shifted = df.assign(time=df["time"] + 2010, g=np.where(df["g"] > 0, df["g"] + 2010, 0))
    early = shifted.assign(g=np.where(shifted["unit"] == 0, 2005, shifted["g"]))
    with pytest.raises(InputError, match="before the first period"):
        twfe(early, outcome="y", unit="unit", time="time", cohort="g")
    everyone = df.assign(g=3)
    with pytest.raises(InputError, match="does not vary"):
        twfe(everyone, outcome="y", unit="unit", time="time", cohort="g")


# --- the building blocks --------------------------------------------------------------

def test_demean_equals_dummy_regression_residuals_unbalanced_weighted():
    df = make_panel(n_units=25, drop=20, seed=7)
    unit, time = df["unit"].to_numpy(), df["time"].to_numpy()
    D = np.column_stack([pd.get_dummies(unit).to_numpy(float), pd.get_dummies(time).to_numpy(float)[:, 1:]])
    X = df[["y", "x"]].to_numpy()
    w = df["w"].to_numpy()
    sw = np.sqrt(w)
    coef, *_ = np.linalg.lstsq(D * sw[:, None], X * sw[:, None], rcond=None)
    expected = X - D @ coef
    got, info = demean(X, [unit, time], weights=w, return_info=True)
    np.testing.assert_allclose(got, expected, atol=1e-9)
    assert info.converged and info.n_singletons == 0
    assert absorbed_parameters([unit, time]) == 25 + 7 - 1


def test_singleton_mask_and_single_fixed_effect_is_exact():
    f = np.array([0, 0, 1, 2, 2, 2])
    assert singleton_mask([f]).tolist() == [False, False, True, False, False, False]
    x = np.arange(6.0)
    got = demean(x, [f])
    np.testing.assert_allclose(got, [-0.5, 0.5, 0.0, -1.0, 0.0, 1.0])


def test_cluster_vcov_without_fixed_effects_matches_pyfixest():
    df = make_panel(drop=15)
    X = np.column_stack([np.ones(len(df)), df[["d", "x"]].to_numpy()])
    b = np.linalg.lstsq(X, df["y"].to_numpy(), rcond=None)[0]
    e = df["y"].to_numpy() - X @ b
    for kind, pf_v in [("CR1", {"CRV1": "region"}), ("CR3", {"CRV3": "region"}), ("HC1", "hetero")]:
        V = cluster_vcov(X, e, cluster=df["region"].to_numpy(), kind=kind, n_absorbed=0)
        m = pyfixest_fit(df, "y ~ d + x", pf_v)
        np.testing.assert_allclose(np.sqrt(np.diag(V)), m.se().to_numpy(), rtol=TOL)
    info = vcov_info(X, e, cluster=df["region"].to_numpy(), kind="CR1", n_absorbed=0)
    assert info.df_t == 8 and info.n_clusters == 9


def test_nested_in_linear_time_matches_the_pair_count():
    from evaluate.did.vcov import nested_in

    def by_pairs(f, c):
        f, c = np.asarray(f).astype(str), np.asarray(c).astype(str)
        return len(set(zip(f, c, strict=True))) == len(set(f))

    rng = np.random.default_rng(3)
    for _ in range(200):
        n = int(rng.integers(1, 60))
        f = rng.integers(0, int(rng.integers(1, 12)), n)
        c = f // int(rng.integers(1, 4)) if rng.random() < 0.5 else rng.integers(0, 5, n)
        if rng.random() < 0.3:
            c = c.copy()
            c[int(rng.integers(n))] = 99     # break nesting in one row (or not)
        for ff, cc in ((f, c), (f * 7 + 100, c), (f.astype(str), np.char.add("c", c.astype(str))),
                       (f - 3, c.astype(float))):
            assert nested_in(ff, cc) == by_pairs(ff, cc)
