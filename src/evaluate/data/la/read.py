"""Read DfE's local-authority attendance files into one table of year-to-date releases.

Two layouts of the "Pupil attendance in schools" collection are read (both the
``school_type`` and the ``education_phase`` spelling of the phase column):

- the long table of every fortnightly release (``attendance_la_weekly_panel.csv.gz``):
  ``breakdown = ytd`` rows are year-to-date totals as of the Friday in
  ``week_ending_friday``; ``breakdown = weekly`` rows (autumn single weeks) are not used
  (recorded);
- a year-to-date snapshot file (``attendance_la_ytd_202324.csv``): one release, the
  year's last, without a release date. It is used for a year only when the long table
  does not cover that year (otherwise its rows are set aside, recorded, and compared).

Every row read is accounted for in an :class:`~evaluate.data.attrition.AttritionLog`;
suppressed cells stay missing with a record (:class:`~evaluate.data.symbols.SymbolLog`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evaluate.data.attrition import AttritionLog
from evaluate.data.ees import read_ees
from evaluate.data.la.codes import SPLITS, harmonise_codes
from evaluate.data.symbols import SymbolLog
from evaluate.errors import InputError

#: Harmonised phase label (from :mod:`evaluate.data.ees`) -> the LA panel's label.
PHASE_LABELS = {"State-funded primary": "Primary", "State-funded secondary": "Secondary",
                "Special": "Special", "Total": "Total"}

#: Published count column -> panel column (counts are additive across releases and LAs).
COUNTS = {
    "possible_sessions": "possible_sessions",
    "overall_absence": "overall_absence_sessions",
    "authorised_absence": "authorised_absence_sessions",
    "unauthorised_absence": "unauthorised_absence_sessions",
}
#: Other published columns kept (not additive over time).
LEVELS = {"num_schools": "num_schools", "enrolments": "enrolments", "pa_perc": "pa_rate"}

__all__ = ["Releases", "read_la_releases"]

RELEASE_COLUMNS = ["source", "source_row", "geographic_level", "la_code", "la_name", "region",
                   "phase", "year", "release_end", "snapshot", *COUNTS.values(), *LEVELS.values()]


@dataclass
class Releases:
    """Year-to-date releases by geography and phase.

    Attributes
    ----------
    la
        Local-authority rows: one per LA x phase x year x release (``release_end``, the
        Friday of the last week included; NaT for a snapshot file's single release).
    national
        National rows in the same layout (``la_code`` ``E92000001``), for checks.
    attrition
        Every row read, and every step that set rows aside, with reasons.
    symbols
        Every suppression symbol met in the files.
    sources
        File name -> SHA-256 of its bytes.
    snapshot_checks
        For years covered by both a snapshot file and the long table: the largest
        absolute difference of each count between the snapshot and the long table's
        last release (same LA and phase).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from evaluate.data.la.read import read_la_releases
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "ytd.csv").write_text(
    ...     "time_period,time_identifier,geographic_level,new_la_code,la_name,region_name,"
    ...     "education_phase,possible_sessions\\n"
    ...     "202526,Academic year,National,,,,Total,5000\\n"
    ...     "202526,Academic year,Local authority,E06000002,Middlesbrough,North East,Total,1000\\n")
    >>> r = read_la_releases([d / "ytd.csv"])
    >>> len(r.la), len(r.national), bool(r.la["snapshot"].iloc[0])
    (1, 1, True)
    """

    la: pd.DataFrame
    national: pd.DataFrame
    attrition: AttritionLog
    symbols: SymbolLog
    sources: dict[str, str] = field(default_factory=dict)
    snapshot_checks: pd.DataFrame | None = None


def _standardise(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    """The columns of :data:`RELEASE_COLUMNS` from one read EES file."""
    for col in ("geographic_level", "education_phase", "possible_sessions"):
        if col not in frame.columns:
            raise InputError("required column missing (an LA attendance file needs "
                             "geographic_level, education_phase or school_type, and counts)",
                             file=name, column=col, row=0)
    out = pd.DataFrame(index=frame.index)
    out["source"] = name
    out["source_row"] = frame.index.to_numpy(dtype=np.int64)
    out["geographic_level"] = frame["geographic_level"].astype(object)
    out["la_code"] = frame.get("new_la_code", pd.Series(None, index=frame.index)).astype(object)
    out["la_name"] = frame.get("la_name", pd.Series(None, index=frame.index)).astype(object)
    out["region"] = frame.get("region_name", pd.Series(None, index=frame.index)).astype(object)
    out["phase"] = frame["education_phase"].map(PHASE_LABELS).astype(object)
    out["year"] = frame["year"].astype(np.int64)
    if "week_ending_friday" in frame.columns:
        out["release_end"] = pd.to_datetime(frame["week_ending_friday"], format="%Y-%m-%d",
                                            errors="coerce")
        bad = out["release_end"].isna()
        if bad.any():
            i = int(frame.index[bad.to_numpy()][0])
            raise InputError("week_ending_friday is not a date YYYY-MM-DD", file=name,
                             column="week_ending_friday", row=i)
        out["snapshot"] = False
    else:
        out["release_end"] = pd.NaT
        out["snapshot"] = True
    for src, dst in {**COUNTS, **LEVELS}.items():
        out[dst] = frame[src].astype("float64") if src in frame.columns else np.nan
    return out


def read_la_releases(paths: Iterable[str | Path]) -> Releases:
    """Read LA attendance files (long table and/or snapshots) into :class:`Releases`.

    Parameters
    ----------
    paths
        EES CSV files (plain or ``.gz``) of the LA-level "Pupil attendance in schools"
        collection.

    Returns
    -------
    Releases

    Raises
    ------
    InputError
        A file that cannot be read (see :func:`~evaluate.data.ees.read_ees`), without
        a phase column, or with an LA x phase x release listed twice.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from evaluate.data.la.read import read_la_releases
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "ytd.csv").write_text(
    ...     "time_period,time_identifier,geographic_level,new_la_code,la_name,region_name,"
    ...     "school_type,possible_sessions,overall_absence\\n"
    ...     "202324,Academic year,Local authority,E10000023,North Yorkshire,Yorkshire,Primary,1000,c\\n"
    ...     "202324,Academic year,Local authority,E10000006,Cumbria,North West,Primary,900,40\\n")
    >>> r = read_la_releases([d / "ytd.csv"])
    >>> r.la[["la_code", "phase", "possible_sessions"]].to_dict("records")
    [{'la_code': 'E06000065', 'phase': 'Primary', 'possible_sessions': 1000.0}, {'la_code': 'E10000006', 'phase': 'Primary', 'possible_sessions': 900.0}]
    >>> r.attrition.to_frame()["dropped"].tolist()
    [0, 0, 0, 0, 0]
    """
    log = AttritionLog()
    symbols = SymbolLog()
    parts: list[pd.DataFrame] = []
    sources: dict[str, str] = {}
    weekly_dropped = 0
    for path in paths:
        path = Path(path)
        f = read_ees(path, required=("time_period", "geographic_level"), label=path.name)
        sources[path.name] = f.sha256
        symbols.extend(f.symbols)
        frame = f.frame
        log.read(path.name, len(frame))
        if "breakdown" in frame.columns:
            weekly = (frame["breakdown"] != "ytd").to_numpy()
            weekly_dropped += int(weekly.sum())
            frame = frame[~weekly]
        else:
            not_year = (frame["period"] != "year").to_numpy()
            weekly_dropped += int(not_year.sum())
            frame = frame[~not_year]
        parts.append(_standardise(frame, path.name))
    if not parts:
        raise InputError("no LA attendance file given")
    rows = pd.concat(parts, ignore_index=True)
    n = log.rows_read
    log.step("keep year-to-date rows", n, len(rows),
             "weekly (single-week) rows are not used: fortnights come from differencing "
             "year-to-date releases")
    n = len(rows)

    level = rows["geographic_level"]
    national = rows[level == "National"].copy()
    national["la_code"] = "E92000001"
    national["la_name"] = "England"
    la = rows[level == "Local authority"].copy()
    log.step("keep local-authority rows", n, len(la),
             f"national ({len(national)}) and regional rows set aside (national rows are kept "
             "for the check of LA totals)")
    n = len(la)

    mapped, _ = harmonise_codes(la["la_code"])
    old = la["la_code"].isin(["E10000023", "E10000027"]).sum()
    la["la_code"] = mapped
    log.step("harmonise LA codes (April 2023 reorganisation)", n, len(la),
             f"{int(old)} rows mapped one-to-one (North Yorkshire E10000023 -> E06000065, "
             "Somerset E10000027 -> E06000066); none dropped")
    n = len(la)
    la, summed, unpaired = _rebuild_splits(la)
    splits = "; ".join(f"{k} = {' + '.join(v)}" for k, v in SPLITS.items())
    log.step("rebuild split areas from their successors", n, len(la),
             f"{splits} (Cumbria = Cumberland + Westmorland and Furness), release by release: "
             f"{summed} successor rows summed into {summed // 2 if summed else 0} rows of the old "
             f"area, so its series runs on across the split; {unpaired} successor rows without "
             "their partner in the same release set aside")
    n = len(la)
    # one name and region per code: the latest published
    latest = la.sort_values(["year", "release_end"]).groupby("la_code")[["la_name", "region"]].last()
    la["la_name"] = la["la_code"].map(latest["la_name"])
    la["region"] = la["la_code"].map(latest["region"])

    snap_years = set(la.loc[la["snapshot"], "year"])
    long_years = set(la.loc[~la["snapshot"], "year"])
    both = sorted(snap_years & long_years)
    checks = None
    if both:
        checks = _compare_snapshots(la, both)
        keep = ~(la["snapshot"] & la["year"].isin(both))
        la_kept = la[keep.to_numpy()]
        log.step("snapshot files vs the long table", n, len(la_kept),
                 f"snapshot rows of years {', '.join(map(str, both))} set aside: the long "
                 "table's last release of those years is used (compared in snapshot_checks)")
        la = la_kept
        n = len(la)
        national = national[~(national["snapshot"] & national["year"].isin(both)).to_numpy()]

    key = ["la_code", "phase", "year", "release_end"]
    dup = la.duplicated(key, keep=False)
    if dup.any():
        first = la[dup].iloc[0]
        raise InputError(f"LA {first['la_code']} phase {first['phase']} year {first['year']} "
                         f"release {first['release_end']} is listed twice",
                         file=str(first["source"]), row=int(first["source_row"]))
    la = la.sort_values(key).reset_index(drop=True)
    national = national.sort_values(["phase", "year", "release_end"]).reset_index(drop=True)
    return Releases(la=la[RELEASE_COLUMNS], national=national[RELEASE_COLUMNS], attrition=log,
                    symbols=symbols, sources=sources, snapshot_checks=checks)


def _rebuild_splits(la: pd.DataFrame) -> tuple[pd.DataFrame, int, int]:
    """Sum the successors of a split area back into the old area, release by release.

    Counts, schools and enrolments add up across LAs within one release; a count
    missing (suppressed) in either successor is missing in the sum; the persistent
    absence rate is the enrolment-weighted mean. Rows are summed only where every
    successor is present in the same file, phase and release; successor rows without
    their partner are set aside. Returns the frame, the number of successor rows summed
    and the number set aside.
    """
    key = ["source", "geographic_level", "phase", "year", "release_end", "snapshot"]
    additive = [*COUNTS.values(), "num_schools", "enrolments"]
    keep = np.ones(len(la), dtype=bool)
    rebuilt, summed, unpaired = [], 0, 0
    for old, new in SPLITS.items():
        is_new = la["la_code"].isin(new).to_numpy()
        if not is_new.any():
            continue
        keep &= ~is_new
        succ = la[is_new].copy()
        size = succ.groupby(key, dropna=False)["la_code"].transform("nunique")
        paired = succ[(size == len(new)).to_numpy()]
        unpaired += len(succ) - len(paired)
        summed += len(paired)
        if paired.empty:
            continue
        paired = paired.assign(_pa=paired["pa_rate"] * paired["enrolments"])
        g = paired.groupby(key, dropna=False, sort=True)
        out = g[[*additive, "_pa"]].sum(min_count=len(new)).reset_index()
        out["pa_rate"] = out.pop("_pa") / out["enrolments"]
        out["source_row"] = g["source_row"].min().to_numpy()
        out["region"] = g["region"].first().to_numpy()
        out["la_code"], out["la_name"] = old, _OLD_NAMES.get(old, old)
        rebuilt.append(out[la.columns])
    if not rebuilt:
        return la, summed, unpaired
    return pd.concat([la[keep], *rebuilt], ignore_index=True), summed, unpaired


_OLD_NAMES = {"E10000006": "Cumbria"}


def _compare_snapshots(la: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """Largest |snapshot - long table's last release| per year and count column."""
    rows = []
    for year in years:
        snap = la[la["snapshot"] & (la["year"] == year)]
        long = la[~la["snapshot"] & (la["year"] == year)]
        last = long[long["release_end"] == long["release_end"].max()]
        m = snap.merge(last, on=["la_code", "phase"], suffixes=("_s", "_l"))
        for col in COUNTS.values():
            diff = (m[f"{col}_s"] - m[f"{col}_l"]).abs()
            rows.append({"year": year, "column": col, "matched_rows": len(m),
                         "max_abs_difference": float(diff.max()) if diff.notna().any() else np.nan})
    return pd.DataFrame(rows)
