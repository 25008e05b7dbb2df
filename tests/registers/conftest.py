"""Fixtures: random register marks and an oracle written in plain pandas; one Spark session."""

from __future__ import annotations

import datetime as dt
import shutil

import numpy as np
import pandas as pd
import pytest

from evaluate.data.programmes import academic_year, term_bounds
from evaluate.registers import code_table


def random_marks(n: int = 4000, seed: int = 0, *, string_ids: bool = False,
                 repeats: bool = False) -> pd.DataFrame:
    """Random marks over 2023/24 and 2024/25, every code of both sets plus junk.

    ``repeats=False``: no two marks share a pupil, school, date and session (draws that
    would are replaced by later ones), as a clean register. ``repeats=True``: keys drawn
    with replacement, so some repeat (about 30 in 4,000).
    """
    rng = np.random.default_rng(seed)
    codes = sorted(set(code_table()["code"])) + ["F", "??"]
    days = pd.date_range("2023-08-01", "2025-07-31", freq="D").date
    m = n if repeats else 2 * n
    df = _draw(rng, m, codes, days, string_ids)
    if not repeats:
        df = df.drop_duplicates(["pupil_id", "urn", "date", "session"]).head(n).reset_index(drop=True)
        assert len(df) == n
    return df


def _draw(rng, n, codes, days, string_ids):
    pupils = rng.integers(1, 60, n)
    df = pd.DataFrame({
        "pupil_id": [f"P{p:04d}" for p in pupils] if string_ids else pupils.astype("int64"),
        "urn": rng.choice([100001, 100002, 100003], n).astype("int64"),
        "date": rng.choice(days, n),
        "session": rng.choice(["AM", "PM", "XX"], n, p=[0.49, 0.49, 0.02]),
        # present codes common so some rows are below the 10% threshold
        "code": np.where(rng.random(n) < 0.6, rng.choice(["/", "\\"], n), rng.choice(codes, n)),
    })
    return df


def oracle(marks: pd.DataFrame) -> pd.DataFrame:
    """School x period table computed row by row in pandas (independent of Ibis)."""
    m = marks[marks["session"].isin(["AM", "PM"]) & marks["date"].notna()].copy()
    ay = {d: academic_year(d) for d in m["date"].unique()}
    m["year"] = m["date"].map(ay)

    def term(d: dt.date) -> str:
        y = academic_year(d)
        if d.month >= 8:
            return "autumn"
        return "spring" if d <= term_bounds(y, "spring")[1] else "summer"

    m["term"] = m["date"].map({d: term(d) for d in m["date"].unique()})
    m["code_set"] = np.where(m["year"] >= 2024, "2024", "pre2024")
    ct = code_table()
    m = m.merge(ct[["code", "code_set", "category", "reason"]], on=["code", "code_set"], how="inner")
    cats = {"sess_present": ["present"], "sess_approved_educational_activity": ["aea"],
            "sess_authorised": ["authorised"], "sess_unauthorised": ["unauthorised"],
            "sess_overall": ["authorised", "unauthorised"],
            "sess_possible": ["present", "aea", "authorised", "unauthorised"],
            "sess_not_counted": ["not_counted"]}
    for name, cs in cats.items():
        m[name] = m["category"].isin(cs).astype(int)
    reasons = list(dict.fromkeys(ct["reason"]))
    for r in reasons:
        m[r] = (m["reason"] == r).astype(int)
    cols = [*cats, *reasons]
    pupil_term = m.groupby(["pupil_id", "urn", "year", "term"], as_index=False)[cols].sum()
    pupil_year = m.groupby(["pupil_id", "urn", "year"], as_index=False)[cols].sum()
    pupil_year["term"] = "year"
    rows = pd.concat([pupil_term, pupil_year], ignore_index=True)
    pos = rows["sess_possible"] > 0
    rows["enrolments"] = pos.astype(int)
    rate = rows["sess_overall"] / rows["sess_possible"].where(pos)
    rows["enrolments_pa_10_exact"] = (pos & (rate >= 0.1)).astype(int)
    rows["enrolments_pa_50_exact"] = (pos & (rate >= 0.5)).astype(int)
    out = rows.groupby(["urn", "year", "term"], as_index=False)[
        ["enrolments", *cols, "enrolments_pa_10_exact", "enrolments_pa_50_exact"]].sum()
    return out.rename(columns={"term": "period"})


@pytest.fixture(scope="session")
def spark():
    """One local[2] Spark session for the parity tests (skipped without Java or PySpark)."""
    if shutil.which("java") is None:
        pytest.skip("Java is not installed: the Spark parity test needs a JVM")
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        pytest.skip("pyspark is not installed")
    session = (SparkSession.builder.master("local[2]").appName("evaluate-registers-test")
               .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "4")
               .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    yield session
    session.stop()
