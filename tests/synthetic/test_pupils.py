"""The mentoring pupil panel: determinism, calibration, selection, and the truth it reports."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from evaluate.synthetic import calibration as cal
from evaluate.synthetic.england import FULL_COUNTS
from evaluate.synthetic.programmes import MENTOR_SHARE
from evaluate.synthetic.pupils import PA_THRESHOLD, mentoring_pupils


@pytest.fixture(scope="module")
def mp():
    return mentoring_pupils(seed=4, n_pupils=60_000)


def _wide(mp) -> tuple[pd.DataFrame, pd.DataFrame]:
    return mp.wide(), mp.panel.drop_duplicates("pupil_id").set_index("pupil_id")


def test_deterministic_and_seed_matters():
    a = mentoring_pupils(seed=9, n_pupils=3000)
    b = mentoring_pupils(seed=9, n_pupils=3000)
    c = mentoring_pupils(seed=10, n_pupils=3000)
    pd.testing.assert_frame_equal(a.panel, b.panel)
    pd.testing.assert_frame_equal(a.hidden, b.hidden)
    assert dict(a.truth) == dict(b.truth)
    assert not a.panel["sess_overall"].equals(c.panel["sess_overall"])


def test_shape_and_consistency(mp):
    p = mp.panel
    assert p["pupil_id"].nunique() == 60_000
    assert sorted(p["year"].unique()) == [2021, 2022, 2023, 2024]
    assert (p["sess_overall"] <= p["sess_possible"]).all() and (p["sess_possible"] > 0).all()
    assert np.allclose(p["absence_rate"], 100 * p["sess_overall"] / p["sess_possible"])
    # pupil attributes are constant over years
    assert (p.groupby("pupil_id")[["school_id", "phase", "fsm", "mentored"]].nunique() == 1).all().all()
    # a full year has the synthetic country's sessions (part-year pupils fewer)
    assert p["sess_possible"].max() == sum(cal.TERM_SESSIONS)


def test_cross_section_near_calibrated_targets(mp):
    """Comparison areas (no area shift) reproduce the calibrated phase rates within 15%."""
    enrol = {k: FULL_COUNTS[k] * {"primary": 280, "secondary": 950, "special": 120, "ap": 45}[k]
             for k in FULL_COUNTS}
    share = {k: v / sum(enrol.values()) for k, v in enrol.items()}
    c = mp.panel[~mp.panel["mentor_area"]]
    for (year, phase), d in c.groupby(["year", "phase"]):
        target = cal.phase_targets(year, {"overall": share, "pa": share, "severe": share})
        rate = 100 * d["sess_overall"].sum() / d["sess_possible"].sum()
        pa = 100 * (10 * d["sess_overall"] >= d["sess_possible"]).mean()
        assert rate == pytest.approx(target["overall"][phase], rel=0.15), (year, phase)
        assert pa == pytest.approx(target["pa"][phase], rel=0.15), (year, phase)


def test_selection_on_prior_persistent_absence(mp):
    w, a = _wide(mp)
    m = a["mentored"] == 1
    assert a.loc[m, "mentor_area"].all()
    assert (w.loc[m, 2022] >= 100 * PA_THRESHOLD).all()
    eligible = a["mentor_area"] & (w[2022] >= 100 * PA_THRESHOLD)
    assert mp.truth["n_eligible"] == int(eligible.sum())
    assert m.sum() / eligible.sum() == pytest.approx(MENTOR_SHARE, abs=0.03)
    # referral favours the more absent among the eligible
    assert w.loc[m, 2022].mean() > w.loc[eligible & ~m, 2022].mean()


def test_truth_matches_the_frames(mp):
    p = mp.panel.merge(mp.hidden, on=["pupil_id", "year"])
    not_m = p["mentored"] == 0
    assert (p.loc[not_m, "sess_overall"] == p.loc[not_m, "sess_overall_untreated"]).all()
    pre = p["year"] <= 2022
    assert (p.loc[pre, "sess_overall"] == p.loc[pre, "sess_overall_untreated"]).all()
    m = p[p["mentored"] == 1]
    assert (m["sess_overall"] <= m["sess_overall_untreated"]).all()  # thinning only lowers
    for year in (2023, 2024):
        d = m[m["year"] == year]
        att = float((100 * (d["sess_overall"] - d["sess_overall_untreated"]) / d["sess_possible"]).mean())
        assert mp.truth["att_pp"][str(year)] == pytest.approx(att, abs=1e-10)
        # the realised effect agrees with the expected one (binomial thinning is right)
        assert mp.truth["att_pp"][str(year)] == pytest.approx(mp.truth["att_expected_pp"][str(year)], abs=0.3)
    assert mp.truth["att_pp"]["2024"] < mp.truth["att_pp"]["2023"] < -2  # effects grow
    w = mp.wide()
    mm = mp.panel.drop_duplicates("pupil_id").set_index("pupil_id")["mentored"] == 1
    assert mp.truth["share_improved_mentored"] == pytest.approx(float((w.loc[mm, 2023] < w.loc[mm, 2022]).mean()))


def test_randomised_referral_oracle_recovers_the_true_effect():
    """With referral at random among persistent absentees, mentored vs other eligible pupils is
    an experiment: the plain difference in post-year absence estimates the true effect."""
    for seed in (0, 1):
        mp = mentoring_pupils(seed=seed, n_pupils=60_000, observed_selection=0, latent_selection=0)
        w, a = _wide(mp)
        eligible = a["mentor_area"] & (w[2022] >= 10)
        post, m = w.loc[eligible, 2023], a.loc[eligible, "mentored"] == 1
        diff = post[m].mean() - post[~m].mean()
        se = np.sqrt(post[m].var() / m.sum() + post[~m].var() / (~m).sum())
        assert abs(diff - mp.truth["att_pp"]["2023"]) < 4 * se


def test_null_effect_still_shows_improvement():
    """Regression to the mean: with no effect, most mentored pupils' absence still falls."""
    mp = mentoring_pupils(seed=2, n_pupils=30_000, effect_scale=0.0)
    assert mp.truth["att_pp"]["2023"] == 0.0 and mp.truth["att_pp"]["2024"] == 0.0
    assert mp.truth["share_improved_mentored"] == mp.truth["share_improved_without_mentoring"]
    assert mp.truth["share_improved_mentored"] > 0.6
    rates = mp.truth["mean_rate_mentored"]
    assert rates["2023"] < rates["2022"] - 2  # a fall of more than 2 points without any effect


def test_no_persistence_means_full_regression_and_full_persistence_little():
    lo = mentoring_pupils(seed=3, n_pupils=30_000, effect_scale=0.0, persistence=0.0, rho=0.0)
    hi = mentoring_pupils(seed=3, n_pupils=30_000, effect_scale=0.0, persistence=1.0)
    fall = {k: v.truth["mean_rate_mentored"]["2022"] - v.truth["mean_rate_mentored"]["2023"]
            for k, v in (("lo", lo), ("hi", hi))}
    assert fall["lo"] > fall["hi"] + 2


def test_fast_enough():
    t0 = time.perf_counter()
    mentoring_pupils(seed=1, n_pupils=100_000)
    assert time.perf_counter() - t0 < 6  # about 1 s alone; generous for a shared CI machine


@pytest.mark.parametrize("kwargs", [dict(n_pupils=10), dict(persistence=1.5), dict(rho=1.0),
                                    dict(mentor_share=0.0), dict(start="2020-09-01"),
                                    dict(start="2023-10-01"), dict(n_follow_up=2), dict(n_areas=0)])
def test_bad_parameters(kwargs):
    with pytest.raises(ValueError):
        mentoring_pupils(**kwargs)


def test_middlesbrough_start_and_base_effect():
    mp = mentoring_pupils(seed=1, n_pupils=3000, start="2022-11-01")
    assert mp.truth["pre_year"] == 2021 and mp.truth["years"] == [2020, 2021, 2022, 2023]
    # 2020/21 has only two terms: fewer possible sessions
    p = mp.panel
    assert p.loc[p["year"] == 2020, "sess_possible"].max() == sum(cal.TERM_SESSIONS[:2])
    mp2 = mentoring_pupils(seed=1, n_pupils=3000, start="2023-10-01", base_effect=0.4)
    assert mp2.settings["base_effect"] == 0.4
