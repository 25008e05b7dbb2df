"""The real DfE files in ../shared/data load (skipped when the folder is absent)."""

from __future__ import annotations

import pytest

from evaluate.check import check_file
from evaluate.data.ees import read_ees
from evaluate.data.gias import read_links, resolve_school_ids

pytestmark = pytest.mark.real_data

EES = ["attendance_la_ytd_202223.csv", "attendance_la_ytd_202324.csv", "attendance_la_ytd_202425.csv",
       "attendance_la_ytd_202526.csv", "attendance_la_weekly_202526_partial.csv",
       "attendance_la_weekly_panel.csv.gz", "attendance_pa_week29_202425.csv"]


@pytest.mark.parametrize("name", EES)
def test_ees_files_load(shared_data, name):
    f = read_ees(shared_data / name)
    df = f.frame
    assert len(df) > 400
    assert set(df["education_phase"]) <= {"State-funded primary", "State-funded secondary", "Special", "Total"}
    assert df["year"].between(2022, 2025).all()
    assert "c" in set(f.symbols.records()["symbol"])
    if "school_type" in f.raw.columns or "school_type" in f.renames:
        assert f.renames["school_type"] == "education_phase"


def test_weekly_panel_years_and_nan(shared_data):
    f = read_ees(shared_data / "attendance_la_weekly_panel.csv.gz")
    assert len(f.frame) == 72556
    assert sorted(f.frame["year"].unique()) == [2022, 2023, 2024, 2025]
    syms = f.symbols.summary().groupby("symbol")["count"].sum()
    assert syms["NaN"] > 0 and syms["z"] > 0
    weekly = f.frame[f.frame["period"] == "week"]
    assert weekly["week"].notna().all()


def test_gias_links_load_and_resolve(shared_data):
    # its speed is measured in benchmarks/gias_links.py, not here
    links = read_links(shared_data / "gias_links_edubasealldata20250422.csv")
    ids = resolve_school_ids(links.frame)
    assert len(links.frame) == 33801 and links.encoding == "cp1252"
    assert ids.summary["conversions_followed"] > 10000
    assert ids.summary["longest_chain"] >= 3
    assert (ids.mapping.groupby("school_id").size() >= 1).all()


def test_check_file_on_real_files(shared_data):
    s = check_file(shared_data / "gias_establishment_types_20250422.csv")
    assert s["kind"] == "gias_types" and s["rows"] == 50
    s = check_file(shared_data / "attendance_la_ytd_202324.csv")
    assert s["kind"] == "ees" and s["years"] == [2023] and s["symbols"]["c"] == 200
