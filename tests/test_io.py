"""Atomic writes: a failed write leaves the old file as it was and no temporary file."""

from __future__ import annotations

import pandas as pd
import pytest

from evaluate.io import atomic_open, sha256_file, write_csv, write_json, write_parquet


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_open(target) as fh:
        fh.write("half a fi")
        raise RuntimeError("disk full")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_failed_first_write_creates_nothing(tmp_path):
    with pytest.raises(ValueError), atomic_open(tmp_path / "sub" / "new.json") as fh:
        fh.write("{")
        raise ValueError
    assert list((tmp_path / "sub").iterdir()) == []


def test_writers_are_byte_stable(tmp_path):
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": [0.1, None]})
    for name in ("one", "two"):
        write_csv(df, tmp_path / f"{name}.csv")
        write_parquet(df, tmp_path / f"{name}.parquet")
        write_json({"b": 1, "a": [1.5, None]}, tmp_path / f"{name}.json")
    for ext in ("csv", "parquet", "json"):
        assert sha256_file(tmp_path / f"one.{ext}") == sha256_file(tmp_path / f"two.{ext}")
    assert (tmp_path / "one.json").read_text(encoding="utf-8").startswith('{\n  "a"')
    assert pd.read_parquet(tmp_path / "one.parquet").equals(df)
