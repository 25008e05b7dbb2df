"""Read any explore-education-statistics (EES) CSV: absence and attendance files.

Columns are found by name. Known renames between DfE releases are applied (and
reported); phase labels are harmonised; ``time_period`` becomes ``year`` (the calendar
year in which the academic year starts) and ``time_identifier`` becomes ``period``
(``year``, ``autumn``, ``spring``, ``summer``, ``week``) with ``week`` for weekly rows.
Measure columns are converted to numbers with every suppression symbol recorded, and the
file is checked against the invariants of its format
(:mod:`evaluate.data.invariants`: keys unique per release, counts whole and not negative,
parts adding up to totals, rates from 0 to 100 and equal to their counts, dates in the
academic year, known codes, names agreeing with codes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evaluate.data import _csv
from evaluate.data.invariants import ees_format, enforce
from evaluate.data.symbols import SYMBOLS, SymbolLog, numeric_block, strip_cells
from evaluate.errors import InputError

#: Old column name -> current name (DfE renames between releases).
RENAMES: dict[str, str] = {
    "school_type": "education_phase",          # attendance files until 2024/25
    "phase_type_grouping": "education_phase",  # older absence releases
    "urn": "school_urn",
    "laestab": "school_laestab",
    "school_laestab_as_used": "school_laestab",
    "enrolments_pa10_exact": "enrolments_pa_10_exact",
    "enrolments_pa10_exact_percent": "enrolments_pa_10_exact_percent",
    "enrolments_pa50_exact": "enrolments_pa_50_exact",
    "enrolments_pa50_exact_percent": "enrolments_pa_50_exact_percent",
    "persistent_absence_percent": "pa_perc",   # persistent-absence explorer
    # Code T was redefined from "Gypsy, Roma and Traveller absence" to "mobile child"
    # in 2024/25; the register count is the same column.
    "reason_t_authorised_grt_absence": "reason_t_authorised_mobile_child",
}

#: Published phase label -> harmonised label (the absence files' labels).
PHASES: dict[str, str] = {
    "State-funded primary": "State-funded primary",
    "Primary": "State-funded primary",
    "State-funded secondary": "State-funded secondary",
    "Secondary": "State-funded secondary",
    "Special": "Special",
    "State-funded special": "Special",
    "Special school": "Special",
    "State-funded AP school": "State-funded AP school",
    "Alternative provision": "State-funded AP school",
    "Pupil referral unit": "State-funded AP school",
    "PRU": "State-funded AP school",
    "Total": "Total",
    "All schools": "Total",
    "State-funded total": "Total",
}

#: time_identifier -> period kind.
PERIODS: dict[str, str] = {
    "Academic year": "year",
    "Autumn term": "autumn",
    "Spring term": "spring",
    "Summer term": "summer",
    "Autumn and spring term": "autumn_spring",
    "Full academic year": "year",
}

#: Columns that are labels, codes or provenance (kept as text); everything else is a measure.
TEXT_COLUMNS = frozenset({
    "time_period", "time_identifier", "time_frame", "geographic_level", "country_code",
    "country_name", "region_code", "region_name", "new_la_code", "la_name", "old_la_code",
    "education_phase", "school_urn", "school_laestab", "school_name", "academic_year",
    "breakdown", "week_commencing", "week_ending_friday", "week_source", "snapshot_commit",
    "snapshot_commit_date", "content_first_commit_date", "calendar_year", "week_number",
    "lad_code", "lad_name", "pcon_code", "pcon_name", "opportunity_area_code",
    "opportunity_area_name", "school_type_detail", "academy_type", "establishment_type_group",
})

#: Code columns in which a symbol means "no code here" (recorded, set missing).
CODE_COLUMNS = ("old_la_code", "new_la_code", "region_code")

DEFAULT_REQUIRED = ("time_period", "geographic_level")


@dataclass(frozen=True)
class EESFile:
    """One EES file, read and typed.

    Attributes
    ----------
    path, sha256
        The file and the SHA-256 of its bytes.
    frame
        One row per data row, indexed by the 1-based data row; measure columns are
        float64 (missing where a symbol was published), plus ``year`` (int),
        ``period`` and, for weekly rows, ``week`` and ``calendar_year``.
    raw
        The cells exactly as read (strings), same index and (renamed) columns.
    symbols
        A :class:`SymbolLog` of every symbol met in measure and code columns.
    renames
        Columns renamed on reading (old -> new).
    phase_labels
        Published phase labels met -> harmonised labels.
    encoding
        ``utf-8`` or ``utf-8-sig``.
    notes
        Assumptions made while reading (e.g. no ``time_identifier`` column).
    format
        The name of its format in :data:`evaluate.data.invariants.FORMATS`.
    """

    path: Path
    sha256: str
    frame: pd.DataFrame
    raw: pd.DataFrame
    symbols: SymbolLog
    renames: Mapping[str, str] = field(default_factory=dict)
    phase_labels: Mapping[str, str] = field(default_factory=dict)
    encoding: str = "utf-8"
    notes: tuple[str, ...] = ()
    format: str = "ees"

    @property
    def measures(self) -> list[str]:
        """The numeric (measure) columns."""
        return [c for c in self.raw.columns if c not in TEXT_COLUMNS]


def read_ees(path: str | Path, *, required: Iterable[str] = DEFAULT_REQUIRED,
             counts: Iterable[str] = (), label: str | None = None, check: bool = True) -> EESFile:
    """Read an EES CSV (plain or ``.gz``), validate it and convert it.

    Parameters
    ----------
    path
        The file.
    required
        Columns (current names, after renames) that must be present.
    counts
        Measure columns that are counts: a negative value there is an error.
    label
        How the file is named in records and errors (default: the path).
    check
        Enforce the invariants of the file's format (:func:`evaluate.data.invariants.enforce`);
        ``evaluate data check`` reads with ``check=False`` and lists every breach instead.

    Returns
    -------
    EESFile

    Raises
    ------
    InputError
        Not UTF-8, empty, header only, a required column missing, a bad
        ``time_period`` or ``time_identifier``, an unknown phase label, a cell that
        is neither a number nor a DfE symbol, or a breach of the format's invariants;
        each names the file, column and row.
    """
    path = Path(path)
    name = label or str(path)
    data, digest = _csv.read_bytes(path)
    text, encoding = _csv.decode(data, Path(name))
    required = tuple(required)
    raw = _csv.parse(text, Path(name), expect=required[0] if required else None)

    renames = {}
    for old, new in RENAMES.items():
        if old in raw.columns and new not in raw.columns:
            renames[old] = new
    raw = raw.rename(columns=renames)
    for col in required:
        if col not in raw.columns:
            raise InputError(f"required column missing (columns present: {', '.join(raw.columns[:12])}"
                             f"{', ...' if len(raw.columns) > 12 else ''})",
                             file=name, column=col, row=0)

    log = SymbolLog()
    count_set = set(counts)
    notes: list[str] = []
    cols: dict[str, pd.Series] = {}
    measures = [c for c in raw.columns if c not in TEXT_COLUMNS]
    for col in raw.columns:
        if col in TEXT_COLUMNS:
            values = pd.Series(strip_cells(raw[col].to_numpy(dtype=object)), index=raw.index,
                               dtype=object, name=col)
            if col in CODE_COLUMNS:
                is_sym = values.isin([s for s in SYMBOLS if s])
                if is_sym.any():
                    log.add(name, col, raw.index[is_sym].to_numpy(), values[is_sym].to_numpy())
                values = values.where(~values.isin(list(SYMBOLS)), None)
            cols[col] = values
        elif col == measures[0]:
            cols |= numeric_block(raw, measures, file=name, log=log, counts=count_set)
    frame = pd.DataFrame({c: cols[c] for c in raw.columns}, index=raw.index)

    phase_labels: dict[str, str] = {}
    if "education_phase" in frame.columns:
        labels = frame["education_phase"]
        for i, lab in zip(labels.index, labels, strict=True):
            if lab not in PHASES:
                if lab in phase_labels:
                    continue
                raise InputError(f"unknown phase label '{lab}' (known: {', '.join(sorted(PHASES))})",
                                 file=name, column="education_phase", row=int(i))
            phase_labels.setdefault(lab, PHASES[lab])
        frame["education_phase"] = labels.map(PHASES)

    _add_time(frame, name, notes)
    fmt = ees_format(list(raw.columns))
    if check:
        enforce(raw, fmt, file=name, years=frame["year"])
    return EESFile(path=path, sha256=digest, frame=frame, raw=raw, symbols=log,
                   renames=renames, phase_labels=phase_labels, encoding=encoding,
                   notes=tuple(notes), format=fmt.name)


def academic_year_of(day: dt.date) -> int:
    """The academic year (start year) containing ``day``: 1 August to 31 July."""
    return day.year if day.month >= 8 else day.year - 1


def _add_time(frame: pd.DataFrame, name: str, notes: list[str]) -> None:
    """Add ``year``, ``period``, ``week`` and ``calendar_year`` from DfE's time columns."""
    tp = frame["time_period"]
    if "time_identifier" in frame.columns:
        ti = frame["time_identifier"]
    else:
        ti = pd.Series(["Academic year"] * len(frame), index=frame.index, dtype=object)
        notes.append("no time_identifier column: every row read as 'Academic year'")
    years = np.zeros(len(frame), dtype=np.int64)
    periods = np.empty(len(frame), dtype=object)
    weeks = np.full(len(frame), -1, dtype=np.int64)
    cal = np.full(len(frame), -1, dtype=np.int64)
    cache: dict[tuple[str, str], tuple[int, str, int, int]] = {}
    for k, (row, p, ident) in enumerate(zip(frame.index, tp, ti, strict=True)):
        key = (p, ident)
        if key not in cache:
            cache[key] = _parse_time(p, ident, name, int(row))
        years[k], periods[k], weeks[k], cal[k] = cache[key]
    frame["year"] = years
    frame["period"] = periods
    if (weeks >= 0).any():
        frame["week"] = pd.array(np.where(weeks >= 0, weeks, 0), dtype="Int64")
        frame.loc[weeks < 0, "week"] = pd.NA
        frame["calendar_year"] = pd.array(np.where(cal >= 0, cal, 0), dtype="Int64")
        frame.loc[cal < 0, "calendar_year"] = pd.NA


def _parse_time(period: str, ident: str, name: str, row: int) -> tuple[int, str, int, int]:
    ident = ident.strip()
    if ident.startswith("Week "):
        num = ident[5:].strip()
        if not num.isdigit() or not 1 <= int(num) <= 53:
            raise InputError(f"bad week in time_identifier '{ident}'", file=name,
                             column="time_identifier", row=row)
        week = int(num)
        if len(period) != 4 or not period.isdigit():
            raise InputError(f"time_period '{period}' on a weekly row must be a 4-digit calendar year",
                             file=name, column="time_period", row=row)
        cal = int(period)
        try:
            friday = dt.date.fromisocalendar(cal, week, 5)
        except ValueError:
            raise InputError(f"{ident} does not exist in {cal}", file=name,
                             column="time_identifier", row=row) from None
        return academic_year_of(friday), "week", week, cal
    if ident not in PERIODS:
        raise InputError(f"unknown time_identifier '{ident}' (known: {', '.join(PERIODS)}, Week N)",
                         file=name, column="time_identifier", row=row)
    if len(period) != 6 or not period.isdigit():
        raise InputError(f"bad time_period '{period}': expected six digits such as 202324",
                         file=name, column="time_period", row=row)
    start, end = int(period[:4]), int(period[4:])
    if (start + 1) % 100 != end:
        raise InputError(f"bad time_period '{period}': {end:02d} does not follow {start}",
                         file=name, column="time_period", row=row)
    return start, PERIODS[ident], -1, -1
