"""Placebo adoption dates, placebo outcomes and placebo groups on simulated panels with known answers."""

from __future__ import annotations

import matplotlib.figure
import numpy as np
import pytest
from tests.sensitivity._panel import simulate_panel

from evaluate.did import callaway_santanna
from evaluate.errors import InputError
from evaluate.sensitivity.placebo import placebo_groups, placebo_outcome, placebo_timing


def test_placebo_timing_centred_on_zero_without_pretrend():
    # a large real effect (-2) must not leak into the placebo: only pre-treatment periods are used
    est, cover = [], []
    for seed in range(12):
        r = placebo_timing(simulate_panel(1000, seed=seed, tau=-2.0), shift=[1, 2], estimator="reg")
        t = r.to_frame()
        est.append(t["estimate"].to_numpy())
        cover.append(((t["ci_low"] <= 0) & (t["ci_high"] >= 0)).to_numpy())
    est = np.array(est)
    mcse = est.std(axis=0, ddof=1) / np.sqrt(len(est))
    assert np.all(np.abs(est.mean(axis=0)) < 4 * mcse + 0.01)
    assert np.mean(cover) >= 0.8
    assert np.all(np.abs(est) < 0.5)  # far from the real effect of -2


def test_placebo_timing_detects_planted_pretrend():
    slope = 0.3
    panel = simulate_panel(3000, seed=1, tau=-1.0, pretrend=slope)
    r = placebo_timing(panel, shift=1, estimator="reg")
    row = r.to_frame().iloc[0]
    # cells: 2022 -> 2021 (2021 vs 2018: 3 years of trend); 2023 -> 2022, 2024 -> 2023 (1 year each),
    # weighted by cohort size
    sizes = panel.drop_duplicates("school_id")["hub_cohort"].value_counts()
    expected = slope * (3 * sizes[2022] + sizes[2023] + sizes[2024]) / (sizes[2022] + sizes[2023] + sizes[2024])
    assert row["p_value"] < 1e-6
    assert abs(row["estimate"] - expected) < 4 * row["se"]
    assert row["cohorts"] == "2022->2021, 2023->2022, 2024->2023"


def test_placebo_timing_equals_truncated_panel_by_hand():
    panel = simulate_panel(800, seed=2, tau=-1.5, pretrend=0.1, single_cohort=2023)
    r = placebo_timing(panel, shift=2, estimator="dr")
    by_hand = panel.loc[panel["year"] < 2023].copy()
    by_hand["fake"] = np.where(by_hand["hub_cohort"] > 0, 2021, 0)  # 2023 two observed years back
    ref = callaway_santanna(by_hand, outcome="overall_absence_rate", unit="school_id", time="year",
                            cohort="fake", estimator="dr").aggregate("simple")
    row = r.to_frame().iloc[0]
    assert row["estimate"] == pytest.approx(ref.overall_att, abs=1e-10)
    assert row["se"] == pytest.approx(ref.overall_se, rel=1e-8)


def test_placebo_timing_bad_input():
    panel = simulate_panel(300, seed=3)
    with pytest.raises(InputError, match="shift"):
        placebo_timing(panel, shift=0)
    with pytest.raises(InputError, match="no cohort can be moved 6"):
        placebo_timing(panel, shift=6)
    with pytest.raises(InputError, match="outcome column 'nope'"):
        placebo_timing(panel, outcome="nope")


def test_placebo_timing_drops_cohorts_that_cannot_move():
    panel = simulate_panel(600, seed=4)
    r = placebo_timing(panel, shift=4, estimator="reg")  # 2022 -> 2016 (first period): left out
    row = r.to_frame().iloc[0]
    n2022 = panel.drop_duplicates("school_id")["hub_cohort"].eq(2022).sum()
    assert row["dropped_units"] == n2022
    assert row["cohorts"] == "2023->2017, 2024->2018"
    assert isinstance(r.plot(), matplotlib.figure.Figure)
    d = r.to_dict()
    assert d["table"][0]["term"] == "shift=4"
    assert "Placebo adoption dates" in r.summary()


def test_placebo_outcome_zero_on_unaffected_outcome_and_matches_direct_fit():
    panel = simulate_panel(2000, seed=5, tau=-1.0)
    r = placebo_outcome(panel, outcome=["placebo_y", "overall_absence_rate"], estimator="reg")
    t = r.to_frame().set_index("term")
    assert t.loc["placebo_y", "ci_low"] <= 0 <= t.loc["placebo_y", "ci_high"]
    direct = callaway_santanna(panel, outcome="overall_absence_rate", unit="school_id", time="year",
                               cohort="hub_cohort", estimator="reg").aggregate("simple")
    assert t.loc["overall_absence_rate", "estimate"] == pytest.approx(direct.overall_att, abs=1e-12)
    assert t.loc["overall_absence_rate", "p_value"] < 1e-6  # the real effect is found: it is no placebo
    with pytest.raises(InputError, match="'nope'"):
        placebo_outcome(panel, outcome="nope")
    assert isinstance(r.plot(), matplotlib.figure.Figure)


def test_placebo_groups_real_effect_in_the_tail_and_reproducible():
    panel = simulate_panel(1500, seed=6, tau=-1.0)
    r = placebo_groups(panel, reps=19, seed=11, estimator="reg")
    assert r.p_value == pytest.approx(1 / 20)  # the minimum: every placebo effect is smaller
    assert r.extra["percentile"] == 0.0
    pl = r.placebo_estimates
    assert len(pl) == 19 and np.all(np.abs(pl) < 0.5)
    real = panel.drop_duplicates("school_id")["hub_cohort"].value_counts().drop(0).sort_index()
    assert r.extra["placebo_sizes"] == {int(g): int(n) for g, n in real.items()}
    again = placebo_groups(panel, reps=19, seed=11, estimator="reg")
    np.testing.assert_array_equal(again.placebo_estimates, pl)
    other = placebo_groups(panel, reps=19, seed=12, estimator="reg")
    assert not np.allclose(other.placebo_estimates, pl)
    assert isinstance(r.plot(), matplotlib.figure.Figure)
    assert "permutation p" in r.summary()


def test_placebo_groups_no_effect_rarely_rejected():
    # no effect: the actual estimate is one more draw from (about) the placebo distribution,
    # so the permutation p-value is small only by chance (at most 5% of panels, in expectation)
    pvals, means = [], []
    for seed in range(6):
        r = placebo_groups(simulate_panel(1200, seed=20 + seed, tau=0.0), reps=19, seed=seed, estimator="reg")
        pvals.append(r.p_value)
        means.append(r.extra["placebo_mean"] / (r.extra["placebo_sd"] / np.sqrt(19)))
    assert sum(p <= 0.05 for p in pvals) <= 1
    assert np.median(pvals) > 0.2
    assert np.all(np.abs(means) < 4)  # placebo effects centred on zero


def test_placebo_groups_sizes_and_bad_input():
    panel = simulate_panel(400, seed=8, shares=(0.2, 0.2, 0.2))  # 60% treated: too few never-treated
    with pytest.raises(InputError, match="sizes='share'"):
        placebo_groups(panel, reps=2, seed=1)
    r = placebo_groups(panel, reps=2, seed=1, sizes="share", estimator="reg")
    n_never = panel.drop_duplicates("school_id")["hub_cohort"].eq(0).sum()
    assert sum(r.extra["placebo_sizes"].values()) == pytest.approx(0.6 * n_never, rel=0.15)
    with pytest.raises(InputError, match="reps"):
        placebo_groups(panel, reps=0)
    with pytest.raises(InputError, match="no treated units"):
        placebo_groups(panel.assign(hub_cohort=0), reps=2)
