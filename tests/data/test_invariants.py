"""The invariants of each format (evaluate.data.invariants): every kind of breach is found,
named by file, column and row, and the real and synthetic files have none."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from evaluate.check import check_file, inspect
from evaluate.data.invariants import FORMATS, breaches, describe, enforce
from evaluate.errors import InputError

from .conftest import SHARED

LA = FORMATS["ees_attendance"]


def la_rows() -> pd.DataFrame:
    """Three LA rows and a national row of a year-to-date attendance file, as strings."""
    base = {"time_period": "202324", "time_identifier": "Academic year", "geographic_level": "Local authority",
            "country_code": "E92000001", "country_name": "England", "region_code": "E12000001",
            "region_name": "North East", "new_la_code": "E06000001", "la_name": "Hartlepool",
            "old_la_code": "805", "education_phase": "Primary", "num_schools": "26.5", "enrolments": "5825.2",
            "possible_sessions": "1000", "overall_attendance": "940", "overall_absence": "60",
            "authorised_absence": "40", "unauthorised_absence": "20", "overall_absence_perc": "6",
            "pa_perc": "12.5"}
    rows = [dict(base), dict(base, education_phase="Secondary"), dict(base, education_phase="Special"),
            dict(base, geographic_level="National", region_code="", region_name="", new_la_code="",
                 la_name="", old_la_code="", education_phase="Total")]
    return pd.DataFrame(rows, index=range(1, 5))


def test_clean_rows_have_no_breach():
    assert breaches(la_rows(), LA, file="f.csv") == []


@pytest.mark.parametrize(("row", "column", "value", "named", "words"), [
    (2, "possible_sessions", "-500", "possible_sessions", "negative"),
    (2, "possible_sessions", "1000.5", "possible_sessions", "whole number"),
    (2, "overall_absence", "61", "overall_absence", "authorised_absence + unauthorised_absence"),
    (2, "overall_attendance", "950", "possible_sessions", "overall_attendance + overall_absence"),
    (2, "pa_perc", "100.5", "pa_perc", "more than 100"),
    (2, "overall_absence_perc", "7", "overall_absence_perc", "differs from 100 * overall_absence"),
    (2, "num_schools", "9999", "num_schools", "num_schools > enrolments"),
    (2, "la_name", "Hartlepol", "la_name", "differs from 'Hartlepool'"),
    (2, "old_la_code", "806", "old_la_code", "differs from '805'"),
    (2, "region_code", "E12000099", "region_code", "is not a code matching"),
    (2, "new_la_code", "", "new_la_code", "a value is required"),
    (2, "new_la_code", "c", "new_la_code", "where a value is required"),
    (2, "geographic_level", "Local authorities", "geographic_level", "is not one of"),
    (2, "country_code", "E92000002", "country_code", "is not one of"),
    (2, "education_phase", "Primary", "geographic_level", "duplicate key"),
])
def test_each_breach_is_named(row, column, value, named, words):
    df = la_rows()
    df.loc[row, column] = value
    found = breaches(df, LA, file="f.csv")
    hit = [b for b in found if b.column == named and words in b.message]
    assert hit, [str(b) for b in found]
    assert hit[0].file == "f.csv" and hit[0].row == row


def test_symbols_are_not_breaches_and_enforce_raises_the_first():
    df = la_rows()
    df.loc[1, ["possible_sessions", "overall_absence", "pa_perc"]] = ["c", "NaN", "z"]
    assert breaches(df, LA, file="f.csv") == []
    df.loc[3, "possible_sessions"] = "-1"
    df.loc[2, "pa_perc"] = "101"
    with pytest.raises(InputError, match=r"column 'possible_sessions', row 3: -1 is negative .*2 more problem"):
        enforce(df, LA, file="f.csv")


def test_week_columns_of_the_long_table_must_agree():
    df = pd.DataFrame({"academic_year": ["2025/26", "2025/26"], "breakdown": ["weekly", "ytd"],
                       "time_period": ["2025", "202526"], "time_identifier": ["Week 37", "Academic year"],
                       "calendar_year": ["2025", "2025"], "week_number": ["37", "38"],
                       "week_commencing": ["2025-09-08", "2025-09-15"],
                       "week_ending_friday": ["2025-09-12", "2025-09-19"],
                       "geographic_level": ["National"] * 2, "country_code": ["E92000001"] * 2,
                       "country_name": ["England"] * 2, "education_phase": ["Total"] * 2}, index=[1, 2])
    assert breaches(df, LA, file="f") == []
    bad = df.copy()
    bad.loc[2, "week_ending_friday"] = "2025-09-26"
    bad.loc[1, "week_number"] = "38"
    bad.loc[2, "academic_year"] = "2024/25"
    msgs = {(b.column, b.row): b.message for b in breaches(bad, LA, file="f")}
    assert "is not the Friday of week 38" in msgs[("week_ending_friday", 2)]
    assert "but time_identifier 'Week 37'" in msgs[("week_number", 1)]
    assert "but time_period 202526 is 2025/26" in msgs[("academic_year", 2)]


def test_gias_and_programme_formats():
    links = pd.DataFrame({"URN": ["1", "2", "3"], "LinkURN": ["2", "2", "4"], "LinkName": ["B", "B", "D"],
                          "LinkType": ["Successor", "Sucessor", "Predecessor"],
                          "LinkEstablishedDate": ["01-09-2020", "", "31-02-2020"]}, index=[1, 2, 3])
    got = {(b.column, b.row) for b in breaches(links, FORMATS["gias_links"], file="l")}
    assert got == {("LinkType", 2), ("LinkEstablishedDate", 3), ("LinkURN", 2)}
    est = pd.DataFrame({"URN": ["10", "11"], "EstablishmentName": ["A", "B"], "OpenDate": ["01-09-2020", "01-09-2020"],
                        "CloseDate": ["", "31-08-2019"], "NumberOfPupils": ["200", "-3"],
                        "PercentageFSM": ["20.5", "120"]}, index=[1, 2])
    got = {(b.column, b.row) for b in breaches(est, FORMATS["gias_establishments"], file="e")}
    assert got == {("CloseDate", 2), ("NumberOfPupils", 2), ("PercentageFSM", 2)}
    hubs = pd.DataFrame({"hub_id": ["H1", "H1", "H2"], "lead_urn": ["1", "9", "3"], "member_urn": ["1", "2", "1"],
                         "join_date": ["2023-09-01", "2023-13-01", "2024-01-01"]}, index=[1, 2, 3])
    got = {(b.column, b.row) for b in breaches(hubs, FORMATS["hubs"], file="h")}
    assert got == {("lead_urn", 2), ("join_date", 2), ("member_urn", 3)}
    areas = pd.DataFrame({"new_la_code": ["E06000002", "E10000011"], "la_name": ["Middlesbrough", "East Sussex"],
                          "start_date": ["2022-11-01", "2025-03-01"], "announced_date": ["2022-12-01", "2024-09-01"],
                          "area": ["", ""], "coverage": ["whole", "partial"]}, index=[1, 2])
    got = {(b.column, b.row) for b in breaches(areas, FORMATS["mentor_areas"], file="m")}
    assert got == {("announced_date", 1), ("coverage", 2)}


def _write(path: Path, rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh, quoting=csv.QUOTE_ALL).writerows(rows)
    return path


@pytest.mark.real_data
def test_the_two_files_of_the_issue_now_fail_data_check(shared_data, tmp_path):
    """Five duplicated rows, and possible_sessions -500: both passed with 'problems: 0'."""
    rows = list(csv.reader((shared_data / "attendance_la_ytd_202324.csv").open(encoding="utf-8")))
    dup = _write(tmp_path / "dup.csv", rows + rows[5:10])
    neg_rows = [list(r) for r in rows]
    neg_rows[7][rows[0].index("possible_sessions")] = "-500"
    neg = _write(tmp_path / "neg.csv", neg_rows)
    s = check_file(dup)
    assert len(s["problems"]) == 5
    assert all("duplicate key" in p for p in s["problems"])
    assert [f"row {len(rows) - 1 + k}:" in p for k, p in enumerate(s["problems"], start=1)] == [True] * 5
    s = check_file(neg)
    assert f"file {neg}, column 'possible_sessions', row 7: -500 is negative" in s["problems"][0]
    code = "from evaluate.cli import main; main()"
    out = subprocess.run([sys.executable, "-c", code, "data", "check", str(dup), str(neg)],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "Traceback" not in out.stderr
    assert out.stdout.count("  problems: 5") == 1 and out.stdout.count("  problems: 2") == 1


@pytest.mark.real_data
@pytest.mark.parametrize("name", sorted(p.name for p in SHARED.glob("*.csv*")) if SHARED.exists() else [])
def test_every_real_file_meets_its_invariants(shared_data, name):
    ins = inspect(shared_data / name)
    assert ins.problems == [], [str(p) for p in ins.problems[:5]]
    assert ins.summary.get("undeclared_columns", []) == []


def test_the_synthetic_country_meets_its_invariants(tmp_path):
    from evaluate import synthetic

    synthetic.generate(tmp_path / "d", seed=4, n_schools=60)
    # truth_schools.csv is the synthetic world's answer key, not an input the readers take
    files = sorted(p for p in (tmp_path / "d").rglob("*.csv") if not p.name.startswith("truth"))
    assert len(files) >= 13
    for path in files:
        ins = inspect(path)
        assert ins.problems == [], (path.name, [str(p) for p in ins.problems[:5]])


def test_describe_states_every_format():
    for fmt in FORMATS.values():
        text = describe(fmt)
        assert text.startswith(f"### {fmt.title} (`{fmt.name}`)")
        assert all(f"| {c} |" in text for c in fmt.columns)
    assert "authorised_absence + unauthorised_absence = overall_absence" in describe(LA)


def test_the_documentation_states_the_invariants_of_the_code():
    doc = (Path(__file__).resolve().parents[2] / "docs" / "data-formats.md").read_text(encoding="utf-8")
    for fmt in FORMATS.values():
        assert describe(fmt) in doc, f"docs/data-formats.md: the table of {fmt.name} is out of date"
