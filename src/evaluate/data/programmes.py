"""Programme files -> each school's cohort and exposure (hubs and attendance mentors).

Definitions (see ``docs/data-formats.md``):

- Terms: autumn 1 August to 31 December, spring 1 January to Easter Sunday, summer
  Easter Monday to 31 July (``dateutil.easter``).
- Exposure share of a period: the share of its days on or after the start date,
  counting days from 1 September (August is the summer holiday, so a school joining
  on 1 September is exposed for the whole autumn term and the whole year).
- ``first_exposed_year``: the academic year containing the start date.
- Cohort (``cohort_rule='mostly_exposed'``, the default): the first academic year with
  exposure share of at least ``MOSTLY_EXPOSED`` (0.75), i.e. the start date is on or
  before about 24 November of that year. This reproduces the programmes' own account of
  their first full years: Middlesbrough (autumn 2022) 2022/23, hubs from October 2023
  2023/24, hubs from spring 2024 2024/25, hubs from June 2023 2023/24.
  ``'first_full_year'``: the first year with exposure share 1 (start on or before
  1 September); ``'first_exposed_year'``: the year containing the start date.
  Never treated: 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd
from dateutil.easter import easter

from evaluate.data import _csv
from evaluate.data.gias import parse_dates
from evaluate.data.invariants import FORMATS, enforce
from evaluate.errors import InputError

TERMS = ("autumn", "spring", "summer")
TERM_OFFSET = {"autumn": 0, "spring": 1, "summer": 2}
CohortRule = Literal["mostly_exposed", "first_full_year", "first_exposed_year"]
COHORT_RULES: tuple[str, ...] = ("mostly_exposed", "first_full_year", "first_exposed_year")
#: Exposure share of a year from which the ``mostly_exposed`` rule counts it as treated.
MOSTLY_EXPOSED = 0.75


def term_bounds(year: int, term: str) -> tuple[dt.date, dt.date]:
    """First and last day of ``term`` of academic year ``year`` (exposure counts from 1 Sep)."""
    sunday = easter(year + 1)
    if term == "autumn":
        return dt.date(year, 9, 1), dt.date(year, 12, 31)
    if term == "spring":
        return dt.date(year + 1, 1, 1), sunday
    if term == "summer":
        return sunday + dt.timedelta(days=1), dt.date(year + 1, 7, 31)
    raise ValueError(f"unknown term {term!r}")


def year_bounds(year: int) -> tuple[dt.date, dt.date]:
    """Exposure window of academic year ``year``: 1 September to 31 July."""
    return dt.date(year, 9, 1), dt.date(year + 1, 7, 31)


def exposure_share(start: dt.date | None, first: dt.date, last: dt.date) -> float:
    """Share of the days ``first..last`` on or after ``start`` (0 when ``start`` is None)."""
    if start is None:
        return 0.0
    days = (last - first).days + 1
    exposed = (last - max(start, first)).days + 1
    return float(min(max(exposed, 0), days)) / days


def academic_year(day: dt.date) -> int:
    """Academic year (start year) containing ``day``."""
    return day.year if day.month >= 8 else day.year - 1


def cohort_of(start: dt.date | None, rule: CohortRule = "mostly_exposed") -> tuple[int, int]:
    """(cohort, first exposed year) of a start date; (0, 0) when never treated.

    The one definition of a cohort in the package: the synthetic generator and its
    ``truth.json`` use it too.
    """
    if start is None:
        return 0, 0
    first = academic_year(start)
    if rule == "first_exposed_year":
        return first, first
    if rule == "first_full_year":
        # exposure to a year starts counting on 1 September; August starts count as full.
        return (first if start <= dt.date(first, 9, 1) else first + 1), first
    if rule == "mostly_exposed":
        share = exposure_share(start, *year_bounds(first))
        return (first if share >= MOSTLY_EXPOSED else first + 1), first
    raise ValueError(f"unknown cohort rule {rule!r}")


def _read(path: Path, required: tuple[str, ...], label: str, fmt: str) -> pd.DataFrame:
    data, _ = _csv.read_bytes(path)
    text, _ = _csv.decode(data, Path(label))
    df = _csv.parse(text, Path(label), expect=required[0])
    for col in required:
        if col not in df.columns:
            raise InputError("required column missing", file=label, column=col, row=0)
    for col in df.columns:
        df[col] = df[col].astype(object).map(str.strip)
    enforce(df, FORMATS[fmt], file=label)
    return df


def _urn_col(df: pd.DataFrame, col: str, label: str) -> pd.Series:
    ok = df[col].str.fullmatch(r"\d+").astype(bool)
    if not ok.all():
        i = df.index[~ok.to_numpy()][0]
        raise InputError(f"'{df.at[i, col]}' is not a URN", file=label, column=col, row=int(i))
    return df[col].astype("int64")


def read_hubs(path: str | Path, urn_to_id: Mapping[int, int], *, label: str | None = None) -> pd.DataFrame:
    """Read and validate ``hubs.csv``; map member URNs (current at join) to ``school_id``.

    Raises
    ------
    InputError
        A missing column, a bad URN or date, a URN not in GIAS, a school listed twice
        (also under another URN of the same school), or a lead not listed as a member.
    """
    label = label or str(path)
    df = _read(Path(path), ("hub_id", "lead_urn", "member_urn", "join_date"), label, "hubs")
    df["lead_urn"] = _urn_col(df, "lead_urn", label)
    df["member_urn"] = _urn_col(df, "member_urn", label)
    df["join_date"] = parse_dates(df["join_date"], label, "join_date", "%Y-%m-%d")
    empty = df["join_date"].isna()
    if empty.any():
        i = df.index[empty.to_numpy()][0]
        raise InputError("join_date is empty", file=label, column="join_date", row=int(i))
    for col in ("member_urn", "lead_urn"):
        unknown = ~df[col].isin(list(urn_to_id))
        if unknown.any():
            i = df.index[unknown.to_numpy()][0]
            raise InputError(f"URN {df.at[i, col]} is not in the GIAS extract", file=label,
                             column=col, row=int(i))
    df["school_id"] = df["member_urn"].map(urn_to_id).astype("int64")
    dup = df["school_id"].duplicated()
    if dup.any():
        i = df.index[dup.to_numpy()][0]
        first = df.index[(df["school_id"] == df.at[i, "school_id"]).to_numpy()][0]
        raise InputError(f"school {df.at[i, 'school_id']} (URN {df.at[i, 'member_urn']}) is listed "
                         f"twice (first at row {first})", file=label, column="member_urn", row=int(i))
    members = set(zip(df["hub_id"], df["member_urn"], strict=True))
    for i, hub, lead in zip(df.index, df["hub_id"], df["lead_urn"], strict=True):
        if (hub, lead) not in members:
            raise InputError(f"lead URN {lead} of hub {hub} is not listed as a member",
                             file=label, column="lead_urn", row=int(i))
    return df


def read_mentor_areas(path: str | Path, *, label: str | None = None) -> pd.DataFrame:
    """Read and validate ``mentor_areas.csv`` (dates ISO; ``area`` empty = whole LA)."""
    label = label or str(path)
    df = _read(Path(path), ("new_la_code", "la_name", "start_date"), label, "mentor_areas")
    for col in ("start_date", "announced_date"):
        if col in df.columns:
            df[col] = parse_dates(df[col], label, col, "%Y-%m-%d")
    if df["start_date"].isna().any():
        i = df.index[df["start_date"].isna().to_numpy()][0]
        raise InputError("start_date is empty", file=label, column="start_date", row=int(i))
    if "area" not in df.columns:
        df["area"] = ""
    if "coverage" not in df.columns:
        df["coverage"] = np.where(df["area"] == "", "whole", "partial")
    bad = ~df["coverage"].isin(["whole", "partial"])
    if bad.any():
        i = df.index[bad.to_numpy()][0]
        raise InputError(f"coverage must be 'whole' or 'partial', not '{df.at[i, 'coverage']}'",
                         file=label, column="coverage", row=int(i))
    dup = df.duplicated(["new_la_code", "area"])
    if dup.any():
        i = df.index[dup.to_numpy()][0]
        raise InputError("the area is listed twice", file=label, column="new_la_code", row=int(i))
    return df


def read_priority_areas(path: str | Path, *, label: str | None = None) -> pd.DataFrame:
    """Read ``priority_areas.csv`` (``new_la_code``, ``la_name``); duplicates are an error."""
    label = label or str(path)
    df = _read(Path(path), ("new_la_code", "la_name"), label, "priority_areas")
    dup = df["new_la_code"].duplicated()
    if dup.any():
        i = df.index[dup.to_numpy()][0]
        raise InputError("LA listed twice", file=label, column="new_la_code", row=int(i))
    return df


@dataclass(frozen=True)
class Treatment:
    """School-level treatment: one row per ``school_id`` with start dates and cohorts."""

    schools: pd.DataFrame
    partial_la_codes: frozenset[str]


def assign_treatment(schools: pd.DataFrame, hubs: pd.DataFrame | None,
                     mentors: pd.DataFrame | None, *, mentor_start: str = "actual",
                     cohort_rule: CohortRule = "mostly_exposed",
                     mentor_label: str = "mentor_areas.csv") -> Treatment:
    """Start dates and cohorts per school.

    Parameters
    ----------
    schools
        One row per ``school_id`` with ``la_code`` and ``town`` (GIAS ``Town``).
    hubs, mentors
        As from :func:`read_hubs` and :func:`read_mentor_areas` (None = no programme).
    mentor_start
        ``'actual'`` (``start_date``) or ``'announced'`` (``announced_date``).
    cohort_rule
        ``'first_full_year'`` or ``'first_exposed_year'``.
    """
    if mentor_start not in ("actual", "announced"):
        raise InputError(f"mentor_start must be 'actual' or 'announced', not {mentor_start!r}",
                         column="mentor_start")
    out = schools[["school_id", "la_code", "town"]].copy()
    out["hub_id"] = pd.Series([None] * len(out), dtype=object, index=out.index)
    out["hub_join_date"] = pd.NaT
    if hubs is not None and len(hubs):
        h = hubs.set_index("school_id")
        out["hub_id"] = out["school_id"].map(h["hub_id"]).astype(object)
        out["hub_join_date"] = out["school_id"].map(h["join_date"])
    out["mentor_area"] = pd.Series([None] * len(out), dtype=object, index=out.index)
    out["mentor_start_date"] = pd.NaT
    partial: set[str] = set()
    if mentors is not None and len(mentors):
        col = "start_date" if mentor_start == "actual" else "announced_date"
        if col not in mentors.columns:
            raise InputError("mentor_start='announced' needs this column", file=mentor_label,
                             column="announced_date", row=0)
        missing = mentors[col].isna()
        if missing.any():
            i = mentors.index[missing.to_numpy()][0]
            raise InputError("date is empty", file=mentor_label, column=col, row=int(i))
        town = out["town"].fillna("").str.strip().str.casefold()
        for _, m in mentors.sort_values(["new_la_code", "area"]).iterrows():
            in_la = out["la_code"] == m["new_la_code"]
            if m["coverage"] == "partial" or m["area"]:
                partial.add(m["new_la_code"])
                hit = in_la & (town == str(m["area"]).strip().casefold())
            else:
                hit = in_la
            hit = hit & out["mentor_start_date"].isna()
            out.loc[hit, "mentor_area"] = m["area"] or m["la_name"]
            out.loc[hit, "mentor_start_date"] = m[col]
    for prefix, col in (("hub", "hub_join_date"), ("mentor", "mentor_start_date")):
        dates = [None if pd.isna(d) else d.date() for d in out[col]]
        pairs = [cohort_of(d, cohort_rule) for d in dates]
        out[f"{prefix}_cohort"] = np.array([p[0] for p in pairs], dtype=np.int64)
        out[f"{prefix}_first_exposed_year"] = np.array([p[1] for p in pairs], dtype=np.int64)
    out["both_programmes"] = (out["hub_cohort"] > 0) & (out["mentor_cohort"] > 0)
    return Treatment(out.drop(columns=["town", "la_code"]), frozenset(partial))


def add_exposure(panel: pd.DataFrame, starts: pd.DataFrame, *, term: bool) -> pd.DataFrame:
    """Add ``hub_exposure`` and ``mentor_exposure`` (0 to 1) for each row's period."""
    for prefix, col in (("hub", "hub_join_date"), ("mentor", "mentor_start_date")):
        start = panel["school_id"].map(starts.set_index("school_id")[col])
        keys = panel[["year", "term"]] if term else panel[["year"]]
        cache: dict[tuple, float] = {}
        vals = np.zeros(len(panel))
        for k, (s, *key) in enumerate(zip(start, *[keys[c] for c in keys.columns], strict=True)):
            if pd.isna(s):
                continue
            ck = (s, *key)
            if ck not in cache:
                first, last = term_bounds(key[0], key[1]) if term else year_bounds(key[0])
                cache[ck] = exposure_share(s.date(), first, last)
            vals[k] = cache[ck]
        panel[f"{prefix}_exposure"] = vals
    return panel
