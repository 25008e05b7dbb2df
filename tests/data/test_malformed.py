"""Malformed inputs: each is an InputError naming the file, the column and the row."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from evaluate.data.panel import build_panel
from evaluate.errors import InputError


def _edit(path: Path, fn) -> None:
    rows = list(csv.reader(path.open(encoding="utf-8", newline="")))
    rows = fn(rows)
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(rows)


def _set(col: str, value: str, row: int = 1):
    def fn(rows):
        rows[row][rows[0].index(col)] = value
        return rows
    return fn


ABS = "absence/school_absence_201718.csv"
HUBS = "programmes/hubs.csv"
CASES = {
    "missing column": (ABS, lambda r: [x[:15] + x[16:] for x in r], "sess_possible"),
    "non-numeric cell": (ABS, _set("sess_authorised", "12a"), "sess_authorised"),
    "unknown symbol": (ABS, _set("enrolments", "q"), "enrolments"),
    "negative count": (ABS, _set("enrolments_pa_50_exact", "-1"), "enrolments_pa_50_exact"),
    "duplicate key": (ABS, lambda r: r + [r[1]], "school_urn"),
    "authorised+unauthorised != overall": (ABS, _set("sess_overall", "401"), "sess_overall"),
    "overall > possible": (ABS, lambda r: _set("sess_possible", "350")(r), "sess_possible"),
    "pa50 > pa10": (ABS, _set("enrolments_pa_50_exact", "20"), "enrolments_pa_50_exact"),
    "pa10 > enrolments": (ABS, _set("enrolments_pa_10_exact", "200"), "enrolments_pa_10_exact"),
    "published percent wrong": (ABS, _set("sess_overall_percent", "9.5"), "sess_overall_percent"),
    "bad time_period": (ABS, _set("time_period", "201719"), "time_period"),
    "unknown time_identifier": (ABS, _set("time_identifier", "Winter term"), "time_identifier"),
    "unknown phase": (ABS, _set("education_phase", "Nursery-ish"), "education_phase"),
    "bad URN": (ABS, _set("school_urn", "10x1"), "school_urn"),
    "header only": (ABS, lambda r: r[:1], "time_period"),
    "empty file": (ABS, lambda r: [], "time_period"),
    "bad date in hubs.csv": (HUBS, _set("join_date", "2022-13-01"), "join_date"),
    "duplicate hub member": (HUBS, lambda r: r + [["H2", "1002", "1002", "2023-02-01", "2"]], "member_urn"),
    "unknown URN in hubs.csv": (HUBS, _set("member_urn", "777", row=2), "member_urn"),
    "bad GIAS date": ("gias/edubasealldata.csv", _set("OpenDate", "2000-09-01"), "OpenDate"),
    "duplicate GIAS URN": ("gias/edubasealldata.csv", lambda r: r + [r[2]], "URN"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_malformed(case, data_dir):
    rel, fn, column = CASES[case]
    _edit(data_dir / rel, fn)
    with pytest.raises(InputError) as exc:
        build_panel(data_dir)
    msg = str(exc.value)
    assert rel in msg, msg
    assert f"column '{column}'" in msg, msg
    assert "row " in msg, msg


def test_wrong_encoding(data_dir):
    p = data_dir / ABS
    text = p.read_text(encoding="utf-8").replace("School 1002", "École 1002")
    p.write_bytes(text.encode("latin-1"))
    with pytest.raises(InputError) as exc:
        build_panel(data_dir)
    msg = str(exc.value)
    assert ABS in msg and "column 'school_name'" in msg and "row " in msg and "UTF-8" in msg


def test_overall_gt_possible_is_named(data_dir):
    _edit(data_dir / ABS, lambda r: _set("sess_possible", "100")(r))
    with pytest.raises(InputError, match="sess_overall > sess_possible|differs"):
        build_panel(data_dir)
