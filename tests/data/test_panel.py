"""build_panel end to end on a hand-made data folder."""

from __future__ import annotations

import json

import pandas as pd

from evaluate.data.panel import PANEL_COLUMNS, build_panel, write_panel
from evaluate.data.quality import data_quality


def test_build_panel_end_to_end(data_dir, tmp_path):
    b = build_panel(data_dir)
    py, pt = b.panel_year, b.panel_term
    assert list(py.columns) == PANEL_COLUMNS
    assert not py.duplicated(["school_id", "year"]).any()
    assert not pt.duplicated(["school_id", "year", "term"]).any()
    # the converted school keeps the id of its first URN
    s = py[py["school_id"] == 1001]
    assert set(s["urn"]) == {1001, 2001} and s["year"].min() == 2017
    assert 9999 not in set(py["urn"])
    assert 2019 not in set(py["year"]) and 2020 not in set(py["year"])
    assert set(pt.loc[pt["year"] == 2020, "term"]) == {"autumn", "spring"}
    # hubs: 2001 joined 1 Sep 2022 -> cohort 2022, full exposure; 1002 joined Jan 2023 -> 2023
    r = py.set_index(["school_id", "year"])
    assert r.loc[(1001, 2022), "hub_cohort"] == 2022 and r.loc[(1001, 2022), "hub_exposure"] == 1.0
    assert r.loc[(1002, 2022), "hub_cohort"] == 2023 and 0 < r.loc[(1002, 2022), "hub_exposure"] < 1
    assert r.loc[(1002, 2021), "hub_exposure"] == 0
    assert r.loc[(1003, 2022), "mentor_cohort"] == 2022 and r.loc[(1003, 2022), "priority_area"]
    assert r.loc[(1004, 2022), "mentor_cohort"] == 2025 and r.loc[(1005, 2022), "mentor_cohort"] == 0
    assert r.loc[(1001, 2017), "overall_absence_rate"] == 100 * 1200 / 30000
    assert not r.loc[(1001, 2017), "academy"] and r.loc[(1001, 2018), "academy"]
    log = b.attrition.to_frame()
    assert (log["rows_before"] - log["rows_after"] == log["dropped"]).all()
    assert b.attrition.rows_read - log["dropped"].sum() == len(py) + len(pt)
    steps = dict(zip(log["step"], log["dropped"], strict=True))
    assert steps["school not in GIAS"] == 1 and steps["suppressed key counts"] == 1
    assert b.symbols["count"].sum() >= 2
    out = write_panel(b, tmp_path / "panel")
    assert pd.read_parquet(out["panel_year"]).shape == py.shape
    assert pd.read_csv(out["attrition"]).shape[0] == len(log)
    dq = data_quality(b, data_dir)
    json.dumps(dq)
    assert dq["synthetic"] is True and dq["programmes"]["hubs"] == 1
    assert dq["conversions"]["schools_with_more_than_one_urn"] == 1


def test_partial_areas_and_announced_start(data_dir):
    b = build_panel(data_dir, partial_areas="exclude", mentor_start="announced",
                    cohort_rule="first_exposed_year")
    py = b.panel_year
    assert not py["school_id"].isin([1004, 1005]).any()
    assert (py.loc[py["school_id"] == 1003, "mentor_cohort"] == 2021).all()
    steps = b.attrition.to_frame().set_index("step")
    assert steps.loc["partial mentor areas excluded", "dropped"] > 0


def test_byte_identical(data_dir, tmp_path):
    a = write_panel(build_panel(data_dir), tmp_path / "a")
    b = write_panel(build_panel(data_dir), tmp_path / "b")
    for k in a:
        assert a[k].read_bytes() == b[k].read_bytes(), k
