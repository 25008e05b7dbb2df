"""`evaluate registers synth` then `evaluate registers build`: the panel's school file from marks."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from evaluate.data.ees import read_ees


def _cli(*args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evaluate.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_synth_then_build_writes_the_school_file_the_data_layer_reads(tmp_path):
    out = _cli("registers", "synth", "--out", str(tmp_path / "marks"), "--seed", "3", "--schools", "60",
               "--max-marks", "200000", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    built = _cli("registers", "build", str(tmp_path / "marks"), "--data", str(tmp_path / "data"), cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert "Register marks read" in built.stdout
    path = tmp_path / "data" / "absence" / "school_absence_registers.csv"
    f = read_ees(path)
    assert len(f.frame) > 0 and (f.frame["sess_possible"] > 0).all()
    # no pupil-level column in the written file
    assert not any("pupil" in c for c in pd.read_csv(path, nrows=1).columns)


def test_a_bad_engine_is_one_line(tmp_path):
    out = _cli("registers", "build", str(tmp_path), "--data", str(tmp_path / "d"), "--engine", "oracle", cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr and "unknown engine" in out.stderr


def test_repeated_marks_stop_the_build_in_one_line_naming_the_file(tmp_path):
    marks = tmp_path / "marks.csv"
    marks.write_text("pupil_id,urn,date,session,code\nP1,100001,2024-09-04,AM,/\n"
                     "P1,100001,2024-09-04,PM,/\nP1,100001,2024-09-04,AM,N\n", encoding="utf-8")
    out = _cli("registers", "build", str(marks), "--data", str(tmp_path / "d"), cwd=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert f"file {marks}" in out.stderr and "2 register marks repeat" in out.stderr
    assert "URN 100001, 2024-09-04 AM" in out.stderr
    assert not (tmp_path / "d" / "absence").exists()
    skipped = _cli("registers", "build", str(marks), "--data", str(tmp_path / "d"), "--duplicates", "skip",
                   cwd=tmp_path)
    assert skipped.returncode == 0, skipped.stderr
    assert "Register marks read: 3" in skipped.stdout and "not checked" in skipped.stdout
