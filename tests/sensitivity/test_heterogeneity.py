"""Effects by subgroup and the Wald test of equality: rejects a planted difference, not an equal effect."""

from __future__ import annotations

import matplotlib.figure
import numpy as np
import pytest
from scipy import stats
from tests.sensitivity._panel import simulate_panel

from evaluate.did import callaway_santanna
from evaluate.errors import InputError
from evaluate.sensitivity.heterogeneity import heterogeneity, wald_equality

CS = dict(outcome="overall_absence_rate", unit="school_id", time="year", cohort="hub_cohort")


def test_wald_equality_closed_form():
    r = wald_equality([1.0, 1.5], np.diag([0.04, 0.05]))
    assert r["statistic"] == pytest.approx(0.25 / 0.09)
    assert r["p_value"] == pytest.approx(stats.chi2.sf(0.25 / 0.09, 1))
    r = wald_equality([1.0, 1.5], np.array([[0.04, 0.01], [0.01, 0.05]]))
    assert r["statistic"] == pytest.approx(0.25 / 0.07)
    # three independent estimates: sum of squared precision-weighted deviations from the weighted mean
    b, v = np.array([0.2, -0.1, 0.5]), np.array([0.01, 0.02, 0.04])
    w = 1 / v
    expected = float(np.sum(w * (b - np.sum(w * b) / w.sum()) ** 2))
    r = wald_equality(b, np.diag(v))
    assert r["statistic"] == pytest.approx(expected) and r["df"] == 2
    assert np.isnan(wald_equality([1.0], np.eye(1))["statistic"])


def test_rejects_planted_difference_by_phase():
    panel = simulate_panel(2500, seed=30, tau=-2.0, tau_secondary=0.0)
    r = heterogeneity(panel, by="phase", estimator="reg")
    t = r.to_frame().set_index("term")
    assert r.test["p_value"] < 1e-6
    assert abs(t.loc["Primary", "estimate"] + 2.0) < 4 * t.loc["Primary", "se"]
    assert abs(t.loc["Secondary", "estimate"]) < 4 * t.loc["Secondary", "se"]
    assert r.extra["independent"]  # disjoint subgroups: diagonal covariance
    # the 'same' subgroup fit is the estimator on that subgroup's units alone
    ref = callaway_santanna(panel.loc[panel["phase"] == "Secondary"], estimator="reg", **CS).aggregate("simple")
    assert t.loc["Secondary", "estimate"] == pytest.approx(ref.overall_att, abs=1e-12)
    b, se = t["estimate"].to_numpy(), t["se"].to_numpy()
    assert r.test["statistic"] == pytest.approx((b[0] - b[1]) ** 2 / (se[0] ** 2 + se[1] ** 2))
    assert isinstance(r.plot(), matplotlib.figure.Figure)


def test_does_not_reject_equal_effects():
    rejections = 0
    for seed in range(5):
        r = heterogeneity(simulate_panel(1500, seed=40 + seed, tau=-1.0), by="phase", estimator="reg")
        rejections += r.test["p_value"] < 0.05
    assert rejections <= 1


def test_all_comparison_units_and_correlated_subgroups():
    panel = simulate_panel(2000, seed=31, tau=-1.0, tau_secondary=-1.0)
    r = heterogeneity(panel, by="phase", comparison="all", estimator="reg")
    keep = (panel["phase"] == "Primary") | (panel["hub_cohort"] == 0)
    ref = callaway_santanna(panel.loc[keep], estimator="reg", **CS).aggregate("simple")
    t = r.to_frame().set_index("term")
    assert t.loc["Primary", "estimate"] == pytest.approx(ref.overall_att, abs=1e-12)
    assert t.loc["Primary", "n_comparison"] == (panel.drop_duplicates("school_id")["hub_cohort"] == 0).sum()
    v = np.array(r.extra["vcov"])
    assert not r.extra["independent"] and v[0, 1] > 0  # the shared comparison units correlate them
    assert v[0, 0] == pytest.approx(t["se"].iloc[0] ** 2)
    assert r.test["p_value"] > 0.01


def test_by_cohort_and_bins():
    panel = simulate_panel(1500, seed=32)
    r = heterogeneity(panel, by="hub_cohort", estimator="reg")
    assert r.settings["comparison"] == "all" and list(r.to_frame()["term"]) == ["2022", "2023", "2024"]
    ref = callaway_santanna(panel, estimator="reg", **CS).aggregate("group").table.set_index("term")
    assert r.to_frame().set_index("term").loc["2023", "estimate"] == pytest.approx(ref.loc["g=2023", "estimate"])
    with pytest.raises(InputError, match="comparison='same' is impossible"):
        heterogeneity(panel, by="hub_cohort", comparison="same")
    r = heterogeneity(panel, by="fsm_pct", bins=3, estimator="reg")
    t = r.to_frame()
    assert len(t) == 3 and t["term"].str.startswith("Q").all()
    assert t["n_comparison"].add(t["n"]).between(480, 520).all()  # thirds of 1500 units
    assert len(r.extra["bins"]) == 4


def test_bad_input():
    panel = simulate_panel(600, seed=33)
    with pytest.raises(InputError, match="by column 'nope'"):
        heterogeneity(panel, by="nope")
    with pytest.raises(InputError, match="fewer than two subgroups"):
        heterogeneity(panel.assign(phase="Primary"), by="phase")
    with pytest.raises(InputError, match="changes within unit"):
        heterogeneity(panel, by="overall_absence_rate")
    with pytest.raises(InputError, match="bins"):
        heterogeneity(panel, by="fsm_pct", bins=1)
