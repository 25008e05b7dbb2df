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
