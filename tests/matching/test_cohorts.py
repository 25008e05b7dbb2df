"""Cohort-specific matching: pre-period features, comparison pools, errors, the matched DiD."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluate.errors import InputError
from evaluate.matching import match_cohorts, matched_did
from evaluate.matching.cohorts import pre_period_features

YEARS = (2016, 2017, 2018, 2021, 2022, 2023, 2024)


def _panel(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.normal(6, 1.5, size=n)
    phase = rng.choice(["Primary", "Secondary"], size=n, p=[0.8, 0.2])
    p_join = 1 / (1 + np.exp(-(-3 + 0.5 * (base - 6))))
    join = rng.random(n) < p_join * 2
    cohort = np.where(join, rng.choice([2022, 2023, 2024], size=n), 0)
    rows = []
    for y in YEARS:
        eff = -0.5 * ((cohort > 0) & (y >= cohort))
        absr = base + 0.1 * (base - 6) * (y - 2016) + eff + rng.normal(0, 0.3, size=n)
        rows.append(pd.DataFrame({"school_id": np.arange(n), "year": y, "cohort": cohort,
                                  "overall_absence_rate": absr, "pa_rate": 3 * absr + rng.normal(0, 1, size=n),
                                  "phase": phase, "fsm_pct": 20 + 3 * (base - 6), "size": 300.0 + (phase == "Secondary") * 600,
                                  "ofsted": rng.choice(["Good", "Outstanding"], size=n), "priority_area": base > 7,
                                  "region": rng.choice(["North", "South"], size=n)}))
    return pd.concat(rows, ignore_index=True)


def test_pre_period_level_and_trend():
    d = pd.DataFrame({"u": [1, 1, 1, 1, 2, 2], "t": [2016, 2017, 2018, 2021, 2017, 2018],
                      "y": [1.0, 2.0, 4.0, 99.0, 5.0, np.nan], "z": ["a", "b", "c", "d", "e", "f"]})
    f = pre_period_features(d, unit="u", time="t", first_year=2021, outcomes=["y"], covariates=["z"],
                            pre_years=2).set_index("u")
    assert f.loc[1, "y_level"] == 4.0  # latest year before 2021
    assert f.loc[1, "y_trend"] == pytest.approx(2.0)  # slope over 2017-2018
    assert f.loc[1, "z"] == "c"
    assert f.loc[2, "y_level"] == 5.0  # the latest non-missing value
    assert np.isnan(f.loc[2, "y_trend"])  # one value: no trend


def test_cohorts_matched_on_their_own_pre_period_and_pool():
    d = _panel()
    cm = match_cohorts(d, unit="school_id", time="year", cohort="cohort", caliper=None)
    assert cm.cohorts == [2022, 2023, 2024]
    never = set(d.loc[d["cohort"] == 0, "school_id"])
    for g, m in cm.matches.items():
        treated = set(m.units.loc[m.units["treated"], "unit"])
        assert treated == set(d.loc[d["cohort"] == g, "school_id"])
        assert set(m.units.loc[~m.units["treated"], "unit"]) <= never
        # phase is an exact block
        ph = d.drop_duplicates("school_id").set_index("school_id")["phase"]
        assert (ph.loc[m.pairs["treated_unit"]].to_numpy() == ph.loc[m.pairs["control_unit"]].to_numpy()).all()
    # not yet treated: later cohorts join the pool of earlier ones
    ny = match_cohorts(d, unit="school_id", time="year", cohort="cohort", control="not_yet", caliper=None)
    pool_2022 = set(ny.matches[2022].units.loc[~ny.matches[2022].units["treated"], "unit"])
    assert pool_2022 & set(d.loc[d["cohort"] == 2024, "school_id"])
    st = cm.stacked()
    assert set(st.columns) == {"stack", "school_id", "treated", "weight", "subclass"}
    assert (st["weight"] > 0).all()
    counts = cm.counts()
    assert (counts["treated_matched"] <= counts["treated"]).all()


def test_matching_removes_pre_period_imbalance():
    d = _panel()
    cm = match_cohorts(d, unit="school_id", time="year", cohort="cohort")
    for b in cm.balance.values():
        w = b.wide().set_index("term")
        assert abs(w.loc["overall_absence_rate_level", "smd_before"]) > 0.2
        assert abs(w.loc["overall_absence_rate_level", "smd_after"]) < 0.1


def test_no_comparison_units_in_a_phase_block_is_a_clear_error():
    d = _panel()
    d.loc[(d["phase"] == "Secondary") & (d["cohort"] == 0), "phase"] = "Primary"
    with pytest.raises(InputError, match=r"no comparison units in exact block\(s\) Secondary"):
        match_cohorts(d, unit="school_id", time="year", cohort="cohort")


def test_unknown_covariate():
    with pytest.raises(InputError, match="covariate column not found"):
        match_cohorts(_panel(n=300), unit="school_id", time="year", cohort="cohort", covariates=["nope"])


def test_matched_did_runs_and_reports_both():
    d = _panel()
    r = matched_did(d, outcome="overall_absence_rate", unit="school_id", time="year", cohort="cohort")
    s = r.aggregate("simple")
    assert np.isfinite(s.overall_att) and np.isfinite(s.overall_se)
    assert r.unmatched is not None
    out = r.to_dict()
    assert {"matching", "did", "aggregations", "unmatched"} <= set(out)
    assert r.did.settings["subexperiment"] == "stack"
    assert r.did.settings["weights"] == "match_weight"


def test_a_cohort_that_cannot_be_matched_is_skipped_and_counted_or_raises():
    d = _panel(n=1500, seed=3)
    # one treated school of a new cohort, far from every comparison school
    lone = d["school_id"] == d.loc[d["cohort"] == 0, "school_id"].iloc[0]
    d.loc[lone, "cohort"] = 2021
    d.loc[lone, "overall_absence_rate"] += 40
    with pytest.warns(RuntimeWarning, match="cohort 2021 left out"):
        cm = match_cohorts(d, unit="school_id", time="year", cohort="cohort", caliper=0.01)
    assert 2021 not in cm.matches and 2021 in cm.skipped
    row = cm.counts().set_index("cohort").loc[2021]
    assert row["treated_dropped_cohort_unmatched"] == 1 and row["treated_matched"] == 0
    with pytest.raises(InputError, match="cohort 2021: no treated unit was matched"):
        match_cohorts(d, unit="school_id", time="year", cohort="cohort", caliper=0.01, on_unmatched="error")
    # every cohort is left out (each says so in a warning) and then the run refuses
    with pytest.raises(InputError, match="no cohort could be matched"), \
            pytest.warns(RuntimeWarning, match="left out of the matched sample"):
        match_cohorts(d, unit="school_id", time="year", cohort="cohort", caliper=1e-12)


def test_mean_level_option():
    d = pd.DataFrame({"u": [1, 1, 1], "t": [2016, 2017, 2018], "y": [1.0, 2.0, 6.0]})
    f = pre_period_features(d, unit="u", time="t", first_year=2021, outcomes=["y"], covariates=[],
                            pre_years=3, level="mean").set_index("u")
    assert f.loc[1, "y_level"] == pytest.approx(3.0)
    with pytest.raises(InputError, match="level must be"):
        match_cohorts(_panel(n=300), unit="school_id", time="year", cohort="cohort", level="median")


def test_cohorts_after_the_panel_are_never_treated_within_it():
    """Units first treated after the last year are comparison candidates (as in callaway_santanna)."""
    d = _panel(n=1500, seed=9)
    late = d.loc[d["cohort"] == 0, "school_id"].unique()[:200]
    d.loc[d["school_id"].isin(late), "cohort"] = 2025
    cm = match_cohorts(d, unit="school_id", time="year", cohort="cohort", caliper=None)
    assert 2025 not in cm.cohorts
    pool = set(cm.matches[2023].units.loc[~cm.matches[2023].units["treated"], "unit"])
    assert set(late) <= pool


def test_unit_weights_carry_into_the_other_estimators():
    from evaluate.did import event_study, twfe

    d = _panel(n=1500, seed=4)
    cm = match_cohorts(d, unit="school_id", time="year", cohort="cohort", caliper=None)
    w = cm.unit_weights()
    st = cm.stacked()
    assert w["match_weight"].sum() == pytest.approx(st["weight"].sum())
    treated = set(d.loc[d["cohort"] > 0, "school_id"])
    assert (w.loc[w["school_id"].isin(treated), "match_weight"] == 1).all()
    m = d.merge(w, on="school_id", how="inner")
    tw = twfe(m, outcome="overall_absence_rate", unit="school_id", time="year", cohort="cohort",
              weights="match_weight", cluster="school_id")
    assert tw.settings["weights"] == "match_weight" and np.isfinite(tw.to_frame()["estimate"].iloc[0])
    es = event_study(m, outcome="overall_absence_rate", unit="school_id", time="year", cohort="cohort",
                     weights="match_weight")
    assert len(es.to_frame()) > 3
