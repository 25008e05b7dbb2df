"""read_marks: Parquet (partitioned) and CSV, with CSV errors naming file, column and row."""

from __future__ import annotations

import ibis
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from evaluate import InputError
from evaluate.registers import check_csv, connect, read_marks, register_measures

from .conftest import random_marks

HEADER = "pupil_id,urn,date,session,code\n"


def _write(tmp_path, body, name="marks.csv", header=HEADER):
    p = tmp_path / name
    p.write_text(header + body)
    return p


def test_csv_and_parquet_give_the_same_measures(tmp_path):
    df = random_marks(1500, 3)
    df = df[df["session"] != "XX"]          # a CSV with a bad session is refused (below)
    df.to_csv(tmp_path / "m.csv", index=False)
    part = tmp_path / "parts"
    for k, (month, g) in enumerate(df.groupby(pd.to_datetime(df["date"]).dt.to_period("M"))):
        folder = part / f"month={month}"
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pandas(g, preserve_index=False), folder / f"p{k}.parquet")
    a = register_measures(read_marks(tmp_path / "m.csv")).schools
    b = register_measures(read_marks(part)).schools
    c = register_measures(ibis.memtable(df)).schools
    pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(a, c)


def test_school_urn_alias_and_format_argument(tmp_path):
    p = _write(tmp_path, "1,100,2024-01-08,AM,I\n", name="marks.txt",
               header="pupil_id,school_urn,date,session,code\n")
    t = read_marks(p, format="csv")
    assert t.columns == ("pupil_id", "urn", "date", "session", "code")
    assert register_measures(t).schools["sess_overall"].tolist() == [1, 1]
    with pytest.raises(InputError, match="cannot tell the format"):
        read_marks(p)


@pytest.mark.parametrize(("body", "column", "row", "what"), [
    ("1,100,2024-01-08,AM,/\n1,100,2024-01-08,pm,/\n", "session", 2, "AM or PM"),
    ("1,100,2024-01-08,AM,/\n1,100,08/01/2024,PM,/\n", "date", 2, "YYYY-MM-DD"),
    ("1,100,2024-02-30,AM,/\n", "date", 1, "not a calendar date"),
    ("1,100,2024-01-08,AM,/\n1,1x0,2024-01-08,AM,/\n1,100,2024-01-08,AM,/\n", "urn", 2, "whole number"),
    ("1,100,2024-01-08,AM,/\n,100,2024-01-08,AM,/\n", "pupil_id", 2, "empty pupil id"),
    ("1,100,2024-01-08,AM, \n", "code", 1, "empty code"),
])
def test_csv_errors_name_file_column_row(tmp_path, body, column, row, what):
    p = _write(tmp_path, body)
    with pytest.raises(InputError, match=what) as err:
        read_marks(p)
    assert (err.value.column, err.value.row, str(err.value.file)) == (column, row, str(p))


def test_csv_error_row_counts_across_blocks(tmp_path):
    good = "1,100,2024-01-08,AM,/\n" * 5000
    p = _write(tmp_path, good + "1,100,2024-01-08,XX,/\n")
    with pytest.raises(InputError) as err:
        check_csv(p, block_size=4096)       # many small blocks
    assert err.value.row == 5001 and err.value.column == "session"


def test_missing_column_and_no_files(tmp_path):
    p = _write(tmp_path, "1,100,2024-01-08,/\n", header="pupil_id,urn,date,code\n")
    with pytest.raises(InputError) as err:
        read_marks(p)
    assert err.value.column == "session" and err.value.row == 0
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no .parquet or .csv"):
        read_marks(tmp_path / "empty")
    with pytest.raises(InputError, match="unknown engine"):
        connect("postgres")


def test_parquet_with_bad_sessions_is_counted_not_refused(tmp_path):
    df = pd.DataFrame({"pupil_id": [1, 1], "urn": [5, 5], "date": pd.to_datetime(
        ["2024-01-08", "2024-01-08"]).date, "session": ["AM", "Morning"], "code": ["/", "/"]})
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), tmp_path / "m.parquet")
    res = register_measures(read_marks(tmp_path / "m.parquet"))
    assert res.marks["malformed"] == 1 and res.malformed["problem"].tolist() == ["session not AM or PM"]


def test_partitioned_by_school_with_the_urn_only_in_the_folder_names(tmp_path):
    df = random_marks(1200, 9)
    for urn, g in df.groupby("urn"):
        folder = tmp_path / "by_school" / f"urn={urn}"
        folder.mkdir(parents=True)
        pq.write_table(pa.Table.from_pandas(g.drop(columns="urn"), preserve_index=False),
                       folder / "marks.parquet")
    a = register_measures(read_marks(tmp_path / "by_school")).schools
    b = register_measures(ibis.memtable(df)).schools
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(("body", "column", "row", "what"), [
    ("1,100,2024-01-08,AM,/\n1,100,2024-01-08,PM,P0001\n", "code", 2, "at most 4 characters"),
    ("1,1234567890,2024-01-08,AM,/\n", "urn", 1, "at most 9 digits"),
    (f"{'p' * 300},100,2024-01-08,AM,/\n", "pupil_id", 1, "at most 256"),
    ("1,100,2024-01-08,AM,/\n1,100,2024-01-08\n", "date", 2, "fields but the header has 5"),
])
def test_csv_invariants_of_the_marks(tmp_path, body, column, row, what):
    p = _write(tmp_path, body)
    with pytest.raises(InputError, match=what) as err:
        check_csv(p)
    assert (err.value.column, err.value.row) == (column, row)


def test_a_byte_that_is_not_utf8_is_located(tmp_path):
    p = tmp_path / "m.csv"
    p.write_bytes(HEADER.encode() + b"1,100,2024-01-08,AM,/\n" * 3 + b"1,100,2024-01-08,PM,\x81\n")
    with pytest.raises(InputError, match="not UTF-8") as err:
        check_csv(p)
    assert err.value.row == 4


def test_repeated_marks_are_listed_with_their_rows(tmp_path):
    from evaluate.registers.read import repeated_marks

    p = _write(tmp_path, "1,100,2024-01-08,AM,/\n2,100,2024-01-08,AM,/\n1,100,2024-01-08,AM,L\n"
                         "1,100,2024-01-08,AM,L\n")
    found = repeated_marks(p)
    assert [(e.column, e.row) for e in found] == [("session", 3), ("session", 4)]
    assert "has a mark already (row 1)" in found[0].message
    assert repeated_marks(_write(tmp_path, "1,100,2024-01-08,AM,/\n", name="ok.csv")) == []
