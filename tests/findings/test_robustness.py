"""The robustness findings on a panel with the real calendar's gap (no 2019/20)."""

from __future__ import annotations

import warnings

import numpy as np

from evaluate.findings.robustness import _period_index, programme_robustness


def _load_panel_maker():
    """The simulated gapped-calendar panel of tests/matching/test_cohorts.py (one definition)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "matching" / "test_cohorts.py"
    spec = importlib.util.spec_from_file_location("_matching_test_cohorts", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod._panel


_panel = _load_panel_maker()


def test_period_index_is_consecutive_and_maps_cohorts():
    d = _panel(n=300, seed=2)
    f = _period_index(d, time="year", cohort="cohort")
    assert sorted(f["_period"].unique()) == list(range(1, 8))
    m = f.drop_duplicates("school_id")
    assert set(m.loc[m["cohort"] == 2022, "_cohort_period"]) == {5}
    assert set(m.loc[m["cohort"] == 0, "_cohort_period"]) == {0}


def test_every_analysis_runs_on_the_gapped_calendar():
    d = _panel(n=1500, seed=6)
    d["hub_id"] = np.where(d["cohort"] > 0, "H" + (d["school_id"] % 5).astype(str), None)
    d["la_code"] = "E" + (d["school_id"] % 20).astype(str)
    d["region"] = np.where(d["school_id"] % 3 == 0, "North", "South")  # constant within a school
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        r = programme_robustness(d, programme="hubs", cohort="cohort", synthetic=True)
    assert r["errors"] == {}
    assert r["honest"]["breakdown"]["restriction"] == "relative magnitudes"
    # the effect (-0.5) is large against the noise: the robust interval excludes zero at M = 0
    assert r["honest"]["breakdown"]["value"] is None or r["honest"]["breakdown"]["value"] > 0
    assert {"phase", "fsm", "region", "cohort"} <= set(r["heterogeneity"])
    assert len(r["leave_one_out"]["table"]) == 5
