"""Event study against pyfixest's ``i(rel_time, ref=-1)`` regression; windows, comparisons, pre-test."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from scipy import stats
from tests.did.test_twfe import TOL, make_panel, pyfixest_fit

from evaluate.errors import InputError

pytest.importorskip("pyfixest")


def event_study(*args, **kwargs):
    from evaluate.did import event_study as fn

    return fn(*args, **kwargs)


def with_rel(df: pd.DataFrame) -> pd.DataFrame:
    """Relative time; never treated get the reference value (no dummy), as in fixest."""
    return df.assign(rel=np.where(df["g"] > 0, df["time"] - df["g"], -1))


def check(r, m, n_terms=None):
    np.testing.assert_allclose(r.coef.to_numpy(), m.coef().to_numpy(), atol=TOL)
    np.testing.assert_allclose(r.se.to_numpy(), m.se().to_numpy(), rtol=TOL)
    assert r.extra["df"] == int(m._df_t)


@pytest.mark.parametrize(("vcov", "pf_vcov", "weights", "covs", "drop"), [
    ("CR1", {"CRV1": "unit"}, None, (), 0),
    ("CR1", {"CRV1": "unit"}, "w", ("x",), 25),
    ("CR3", {"CRV3": "unit"}, None, ("x",), 25),
    ("HC1", "hetero", "w", (), 25),
])
def test_event_study_matches_pyfixest(vcov, pf_vcov, weights, covs, drop):
    df = make_panel(drop=drop)
    r = event_study(df, outcome="y", unit="unit", time="time", cohort="g", covariates=covs,
                    weights=weights, vcov=vcov)
    m = pyfixest_fit(with_rel(df), "y ~ " + " + ".join(["i(rel, ref=-1)", *covs]) + " | unit + time",
                     pf_vcov, weights)
    check(r, m)
    t = r.to_frame()
    ev = t[t["event_time"].notna()]
    assert list(ev["term"]) == [f"e={k}" for k in ev["event_time"].astype(int)]
    assert -1 not in ev["event_time"].tolist()
    assert (ev["n"] > 0).all()


def test_binned_end_points_match_a_binned_regression():
    df = make_panel()
    r = event_study(df, outcome="y", unit="unit", time="time", cohort="g", leads=3, lags=2)
    rel = np.where(df["g"] > 0, (df["time"] - df["g"]).clip(-3, 2), -1)
    m = pyfixest_fit(df.assign(rel=rel), "y ~ i(rel, ref=-1) | unit + time", {"CRV1": "unit"})
    check(r, m)
    assert list(r.to_frame()["term"]) == ["e<=-3", "e=-2", "e=0", "e=1", "e>=2"]
    assert r.settings["leads"] == 3 and r.settings["lags"] == 2 and r.settings["bin_endpoints"] is True


def test_unbinned_window_drops_observations_outside_it():
    df = make_panel()
    r = event_study(df, outcome="y", unit="unit", time="time", cohort="g", leads=3, lags=2,
                    bin_endpoints=False)
    d = with_rel(df)
    d = d[(d["g"] == 0) | d["rel"].between(-3, 2)]
    m = pyfixest_fit(d, "y ~ i(rel, ref=-1) | unit + time", {"CRV1": "unit"})
    check(r, m)
    assert r.settings["dropped_outside_window"] == len(df) - len(d) and r.n_obs == len(d)


def test_not_yet_treated_observations_are_comparisons():
    df = make_panel()
    r = event_study(df, outcome="y", unit="unit", time="time", cohort="g", leads=2, lags=2,
                    control="not_yet")
    rel = np.where(df["g"] > 0, df["time"] - df["g"], -1)
    rel = np.where(rel < -2, -1, np.minimum(rel, 2))  # earlier pre-periods: no dummy; late post binned
    m = pyfixest_fit(df.assign(rel=rel), "y ~ i(rel, ref=-1) | unit + time", {"CRV1": "unit"})
    check(r, m)
    assert list(r.to_frame()["term"]) == ["e=-2", "e=0", "e=1", "e>=2"]


def test_not_yet_without_never_treated_drops_periods_when_all_are_treated():
    df = make_panel(cohorts=(3, 4, 6))
    r = event_study(df, outcome="y", unit="unit", time="time", cohort="g", leads=1, lags=2,
                    control="not_yet")
    d = df[df["time"] < 6]
    rel = np.where(d["time"] - d["g"] < -1, -1, np.minimum(d["time"] - d["g"], 2))
    m = pyfixest_fit(d.assign(rel=rel), "y ~ i(rel, ref=-1) | unit + time", {"CRV1": "unit"})
    check(r, m)


def test_never_control_needs_never_treated_units():
    df = make_panel(cohorts=(3, 4, 6))
    with pytest.raises(InputError, match="never-treated units"):
        event_study(df, outcome="y", unit="unit", time="time", cohort="g", control="never")


def test_pretest_is_the_wald_test_of_the_leads():
    df = make_panel(drop=20, seed=4)
    r = event_study(df, outcome="y", unit="unit", time="time", cohort="g")
    t = r.to_frame()
    lead = (t["event_time"] < 0).to_numpy()
    b = t.loc[lead, "estimate"].to_numpy()
    V = r.vcov.to_numpy()[np.ix_(lead, lead)]
    w = float(b @ np.linalg.solve(V, b))
    q = int(lead.sum())
    chi = r.pretest()
    assert chi["statistic"] == pytest.approx(w, rel=1e-10) and chi["df"] == q
    assert chi["p_value"] == pytest.approx(stats.chi2.sf(w, q), rel=1e-10)
    f = r.pretest("F")
    dfd = df["unit"].nunique() - 1
    assert f["statistic"] == pytest.approx(w / q) and f["df_denominator"] == dfd
    assert f["p_value"] == pytest.approx(stats.f.sf(w / q, q, dfd), rel=1e-10)
    # pyfixest's Wald test of the same restriction (it reports the chi-squared form here)
    m = pyfixest_fit(with_rel(df), "y ~ i(rel, ref=-1) | unit + time", {"CRV1": "unit"})
    R = np.eye(len(b) + int((~lead).sum()))[:q]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wt = m.wald_test(R=R, distribution="chi2")
    assert chi["statistic"] == pytest.approx(float(wt["statistic"]), rel=1e-7)
    assert chi["p_value"] == pytest.approx(float(wt["pvalue"]), rel=1e-6)


def test_event_study_result_plot_and_json():
    from evaluate.did.export import event_json

    df = make_panel()
    r = event_study(df, outcome="y", unit="unit", time="time", cohort="g", covariates=("x",))
    fig = r.plot()
    assert isinstance(fig, Figure)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("reference" in s for s in labels)
    payload = json.loads(json.dumps(event_json(r, "event-study")))
    assert [b["event_time"] for b in payload["by"]] == [-5, -4, -3, -2, 0, 1, 2, 3, 4]
    assert payload["pretest"]["df"] == 4
    d = json.loads(json.dumps(r.to_dict()))
    assert d["settings"]["reference"] == -1 and d["settings"]["control"] == "never"


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"reference": 7}, "outside the window"),
    ({"control": "later"}, "control must be"),
    ({"leads": -1}, "leads must be"),
    ({"cohort": "nope"}, "not found"),
])
def test_event_study_bad_arguments(kwargs, match):
    df = make_panel()
    args = {"outcome": "y", "unit": "unit", "time": "time", "cohort": "g", **kwargs}
    with pytest.raises(InputError, match=match):
        event_study(df, **args)
