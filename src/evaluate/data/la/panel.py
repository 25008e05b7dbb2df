"""The local-authority x phase x period attendance panel built from DfE's real releases.

DfE publishes LA attendance as year-to-date totals about every fortnight. This module
turns those releases (read by :func:`evaluate.data.la.read.read_la_releases`) into a long
panel with one row per LA x phase x period, for three kinds of period:

- ``year``: the year's last release as published (``2023/24``);
- ``term``: the difference between the last release on or before the end of the term
  and the last release on or before the end of the previous term (``2023/24 autumn``;
  terms as in :func:`evaluate.data.programmes.term_bounds`);
- ``fortnight``: the difference between consecutive releases of the same academic year
  (``2023/24 to 2024-03-15``; mostly two weeks, one to four where a release is missing;
  the ``weeks`` column says how many). The year's first release is its own first period.

Differencing is done on the counts only (possible sessions and absence sessions are
additive; rates are recomputed as ``100 * sessions / possible``). A difference is kept
only when both releases have the count, neither release is inside a known change of basis
(:data:`KNOWN_BASIS_CHANGES`), the difference is not negative, and possible sessions grew
by at most ``max_fill`` x 10 sessions per enrolled pupil per week (more means schools or
history were added: voluntary collection until 2023/24). Otherwise the value is set
missing and the reason is recorded in :attr:`LAPanel.missing`: nothing is silently kept.

``Total`` rows are the sum of Primary, Secondary and Special where all three are
published with the count; where they are not and DfE publishes its own LA Total (from
2025/26) that is used instead and ``total_source`` says so (where both exist they are
equal to the session in every 2025/26 release, so releases built either way are
differenced with each other).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evaluate.data.attrition import AttritionLog
from evaluate.data.la.read import COUNTS, Releases, read_la_releases
from evaluate.data.la.treatment import (  # noqa: F401  (the LA panel's public interface)
    add_treatment,
    mentor_treatment,
    read_public_mentor_areas,
    read_public_priority_areas,
)
from evaluate.data.programmes import term_bounds
from evaluate.data.symbols import SymbolLog

__all__ = ["LAPanel", "implausible_rates", "build_la_panel", "find_la_files", "add_totals", "schedules", "difference_ytd",
           "academic_label", "year_start", "mentor_treatment", "add_treatment",
           "read_public_mentor_areas", "read_public_priority_areas"]

#: Known changes of basis: (academic year, first off-basis release end, last one, why).
#: Releases whose ``release_end`` falls in the window are not differenced.
KNOWN_BASIS_CHANGES: tuple[tuple[int, str, str, str], ...] = (
    (2022, "2023-02-10", "2023-05-05",
     "2022/23 year-to-date levels jump between the releases of 2023-02-23 and 2023-05-18 "
     "(data to 2023-02-10 .. 2023-05-05) and fall back in June (shared data README)"),
)
#: Largest plausible growth of possible sessions: this x 10 sessions per pupil per week.
MAX_FILL = 1.3
PHASES = ("Primary", "Secondary", "Special", "Total")
COUNT_COLUMNS = list(COUNTS.values())
RATES = {"overall_absence_rate": "overall_absence_sessions",
         "authorised_absence_rate": "authorised_absence_sessions",
         "unauthorised_absence_rate": "unauthorised_absence_sessions"}
PANEL_COLUMNS = ["la_code", "la_name", "region", "phase", "period_type", "period", "year", "t",
                 "start_date", "end_date", "weeks", *COUNT_COLUMNS, *RATES, "pa_rate",
                 "num_schools", "enrolments", "total_source"]
MISSING_COLUMNS = ["la_code", "phase", "period_type", "period", "column", "reason"]
SUPPRESSED = "suppressed or not published in the release"


def academic_label(year: int) -> str:
    """The label of academic year ``year``.

    Examples
    --------
    >>> from evaluate.data.la.panel import academic_label
    >>> academic_label(2023)
    '2023/24'
    """
    return f"{year}/{(year + 1) % 100:02d}"


def year_start(year: int) -> pd.Timestamp:
    """First Monday covered by academic year ``year``: the Monday of the week of 1 September.

    Examples
    --------
    >>> from evaluate.data.la.panel import year_start
    >>> str(year_start(2023).date()), str(year_start(2025).date())
    ('2023-08-28', '2025-09-01')
    """
    first = dt.date(year, 9, 1)
    return pd.Timestamp(first - dt.timedelta(days=first.weekday()))


@dataclass(frozen=True)
class LAPanel:
    """The LA x phase x period panel and the record of how it was built.

    Attributes
    ----------
    panel
        One row per LA x phase x period (columns :data:`PANEL_COLUMNS`).
    national
        The same layout built from DfE's National rows (``la_code`` ``E92000001``).
    missing
        One row per value set missing, with the reason (columns :data:`MISSING_COLUMNS`).
    attrition
        Rows read and set aside, with reasons.
    symbols
        Suppression symbols met in the files.
    sources
        File name -> SHA-256.
    settings
        The choices that built the panel (``max_fill``, basis changes, files).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from evaluate.data.la.panel import build_la_panel
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "ytd.csv").write_text(
    ...     "time_period,time_identifier,geographic_level,new_la_code,la_name,region_name,"
    ...     "school_type,possible_sessions,overall_absence,authorised_absence,unauthorised_absence\\n"
    ...     "202324,Academic year,Local authority,E06000002,Middlesbrough,North East,Primary,1000,c,c,c\\n")
    >>> lp = build_la_panel([d / "ytd.csv"], period_types=("year",))
    >>> lp.missing_summary()[["column", "count"]].to_dict("records")[0]
    {'column': 'authorised_absence_sessions', 'count': 2}
    >>> print(lp.summary().splitlines()[0])
    LA panel: 2 rows, 1 LAs, years 2023/24
    """

    panel: pd.DataFrame
    national: pd.DataFrame
    missing: pd.DataFrame
    attrition: AttritionLog
    symbols: SymbolLog
    sources: dict[str, str] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)

    def missing_summary(self) -> pd.DataFrame:
        """Values set missing, counted by period type, column and reason."""
        if self.missing.empty:
            return pd.DataFrame(columns=["period_type", "column", "reason", "count"])
        return (self.missing.groupby(["period_type", "column", "reason"], sort=True).size()
                .rename("count").reset_index())

    def summary(self) -> str:
        """A few lines: rows, LAs, periods and values set missing."""
        p = self.panel
        lines = [f"LA panel: {len(p)} rows, {p['la_code'].nunique()} LAs, "
                 f"years {', '.join(academic_label(y) for y in sorted(p['year'].unique()))}"]
        for kind, g in p.groupby("period_type", sort=False):
            lines.append(f"  {kind}: {g['period'].nunique()} periods, "
                         f"{int(g['overall_absence_rate'].notna().sum())} rows with an absence rate")
        lines.append(f"  values set missing: {len(self.missing)} "
                     f"({', '.join(f'{r}: {n}' for r, n in self.missing['reason'].value_counts().items())})")
        return "\n".join(lines)

    def to_frame(self) -> pd.DataFrame:
        """The panel (a copy)."""
        return self.panel.copy()


def build_la_panel(paths: Iterable[str | Path] | None = None, *,
                   releases: Releases | None = None,
                   period_types: Sequence[str] = ("year", "term", "fortnight"),
                   max_fill: float = MAX_FILL,
                   basis_changes: Sequence[tuple[int, str, str, str]] = KNOWN_BASIS_CHANGES,
                   total_pa: str = "published") -> LAPanel:
    """Build the LA x phase x period panel from LA attendance files.

    Parameters
    ----------
    paths
        EES files (the long table of releases and/or year-to-date snapshots).
    releases
        Already read releases (instead of ``paths``).
    period_types
        Which of ``year``, ``term``, ``fortnight`` to build.
    max_fill
        Largest plausible growth of possible sessions between releases, as a multiple
        of 10 sessions per enrolled pupil per week.
    basis_changes
        Windows of releases not to difference (default :data:`KNOWN_BASIS_CHANGES`).
    total_pa
        Persistent absence of ``Total`` rows: ``'published'`` (DfE's, 2025/26 only) or
        ``'weighted'`` (else the enrolment-weighted mean of the phases); see
        :func:`add_totals`.

    Returns
    -------
    LAPanel

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from evaluate.data.la.panel import build_la_panel
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> head = ("academic_year,breakdown,time_period,time_identifier,week_ending_friday,"
    ...         "geographic_level,new_la_code,la_name,region_name,education_phase,"
    ...         "enrolments,possible_sessions,overall_absence,authorised_absence,unauthorised_absence\\n")
    >>> rows = [f"2023/24,ytd,202324,Academic year,{e},Local authority,E06000002,"
    ...         f"Middlesbrough,North East,{ph},100,{p},{a},{a - 1},1\\n"
    ...         for e, p, a in (("2023-09-15", 1000, 50), ("2023-09-29", 3000, 170))
    ...         for ph in ("Primary", "Secondary", "Special")]
    >>> _ = (d / "panel.csv").write_text(head + "".join(rows))
    >>> lp = build_la_panel([d / "panel.csv"], period_types=("fortnight",))
    >>> f = lp.panel[lp.panel["phase"] == "Total"]
    >>> f[["period", "possible_sessions", "overall_absence_rate"]].to_dict("records")
    [{'period': '2023/24 to 2023-09-15', 'possible_sessions': 3000.0, 'overall_absence_rate': 5.0}, \
{'period': '2023/24 to 2023-09-29', 'possible_sessions': 6000.0, 'overall_absence_rate': 6.0}]
    """
    if releases is None:
        if paths is None:
            raise ValueError("give paths or releases")
        releases = read_la_releases(paths)
    for kind in period_types:
        if kind not in ("year", "term", "fortnight"):
            raise ValueError(f"unknown period type {kind!r}")
    basis = [(int(y), pd.Timestamp(a), pd.Timestamp(b), why) for y, a, b, why in basis_changes]
    ytd = add_totals(releases.la, total_pa=total_pa)
    nat = releases.national.copy()
    nat["total_source"] = "DfE"
    sched = schedules(ytd, period_types)
    parts, nparts, miss = [], [], []
    for kind in period_types:
        rows, m = difference_ytd(ytd, sched[kind], max_fill=max_fill, basis=basis)
        parts.append(rows)
        miss.append(m)
        nrows, _ = difference_ytd(nat, sched[kind], max_fill=max_fill, basis=basis)
        nparts.append(nrows)
    panel = _finish(pd.concat(parts, ignore_index=True))
    national = _finish(pd.concat(nparts, ignore_index=True))
    miss.append(implausible_rates(panel))
    missing = pd.concat(miss, ignore_index=True)[MISSING_COLUMNS]
    log = copy.deepcopy(releases.attrition)  # the releases may be reused: do not append to them
    n = log.rows_final
    for (kind, reason), k in missing.groupby(["period_type", "reason"]).size().items():
        log.note(f"{kind} values set missing", n, f"{k} values: {reason}")
    settings = {"max_fill": max_fill, "total_pa": total_pa, "basis_changes": [list(b) for b in basis_changes],
                "period_types": list(period_types), "files": sorted(releases.sources)}
    return LAPanel(panel=panel, national=national, missing=missing, attrition=log,
                   symbols=releases.symbols, sources=dict(releases.sources), settings=settings)


#: A term or fortnight whose possible sessions are below this share of its LA and phase's
#: median for that period type is (nearly) a holiday: its rates rest on a handful of sessions.
MIN_POSSIBLE_SHARE = 0.1
HOLIDAY = (f"possible sessions under {MIN_POSSIBLE_SHARE:.0%} of the LA and phase's usual period "
           "(holiday weeks): rate not computed")
OVER_100 = ("sessions above possible sessions, or authorised or unauthorised above overall absence "
            "(releases inconsistent): this rate not computed")


def implausible_rates(panel: pd.DataFrame) -> pd.DataFrame:
    """Blank the rates of terms and fortnights that cannot bear one, in place; return the record.

    The counts stay (they are differences of DfE's cumulative totals and still add up); the
    rates are set missing where the period is nearly a holiday (possible sessions under
    :data:`MIN_POSSIBLE_SHARE` of the LA and phase's median for that period type) or where
    the differenced counts contradict each other (absence above possible sessions, a part of
    absence above the whole). Year rows are left alone.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluate.data.la.panel import implausible_rates
    >>> p = pd.DataFrame({"la_code": "E1", "phase": "Total", "period_type": "fortnight",
    ...                   "period": ["a", "b", "c"], "possible_sessions": [1000.0, 1000.0, 30.0],
    ...                   "overall_absence_sessions": [60.0, 70.0, 45.0],
    ...                   "authorised_absence_sessions": [40.0, 50.0, 40.0],
    ...                   "unauthorised_absence_sessions": [20.0, 20.0, 5.0],
    ...                   "overall_absence_rate": [6.0, 7.0, 150.0], "authorised_absence_rate": [4.0, 5.0, 133.3],
    ...                   "unauthorised_absence_rate": [2.0, 2.0, 16.7]})
    >>> rec = implausible_rates(p)
    >>> p["overall_absence_rate"].tolist(), sorted(set(rec["column"]))
    ([6.0, 7.0, nan], ['authorised_absence_rate', 'overall_absence_rate', 'unauthorised_absence_rate'])
    >>> bool(rec["reason"].str.startswith("possible sessions under").all())
    True
    """
    sub = panel["period_type"] != "year"
    poss = panel["possible_sessions"]
    med = panel[sub].groupby(["la_code", "phase", "period_type"])["possible_sessions"].transform("median")
    holiday = sub & (poss < MIN_POSSIBLE_SHARE * med.reindex(panel.index))
    overall = panel["overall_absence_sessions"]
    records = []
    for rate, col in RATES.items():
        # a rate above 100%, or a part of absence above the whole: the releases contradict each other
        over = sub & ~holiday & ((panel[col] > poss) | ((panel[col] > overall + 1) if col != "overall_absence_sessions"
                                                        else False))
        for mask, why in ((holiday, HOLIDAY), (over, OVER_100)):
            hit = mask & panel[rate].notna()
            if hit.any():
                records.append(pd.DataFrame({c: panel.loc[hit, c].to_numpy()
                                             for c in ("la_code", "phase", "period_type", "period")})
                               .assign(column=rate, reason=why))
            panel.loc[mask, rate] = np.nan
    return (pd.concat(records, ignore_index=True) if records else pd.DataFrame(columns=MISSING_COLUMNS))


#: File-name patterns of the LA attendance files, looked for by :func:`find_la_files`.
LA_FILE_PATTERNS = ("attendance_la_weekly_panel*.csv*", "attendance_la_ytd_*.csv*")


def find_la_files(folder: str | Path) -> list[Path]:
    """The LA attendance files in ``folder`` (long table of releases first, then snapshots).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from evaluate.data.la.panel import find_la_files
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> for name in ("attendance_la_ytd_202324.csv", "attendance_la_weekly_panel.csv.gz", "x.csv"):
    ...     _ = (d / name).write_text("")
    >>> [p.name for p in find_la_files(d)]
    ['attendance_la_weekly_panel.csv.gz', 'attendance_la_ytd_202324.csv']
    """
    folder = Path(folder)
    found: list[Path] = []
    for pattern in LA_FILE_PATTERNS:
        found += [p for p in sorted(folder.glob(pattern)) if p not in found]
    return found


def add_totals(la: pd.DataFrame, *, total_pa: str = "published") -> pd.DataFrame:
    """Add (or replace) ``Total`` rows: the sum of the three phases, else DfE's own Total.

    Parameters
    ----------
    la
        Release rows (as :attr:`Releases.la`).
    total_pa
        ``'published'``: a Total's ``pa_rate`` only where DfE publishes an LA Total
        (2025/26); ``'weighted'``: otherwise the enrolment-weighted mean of the three
        phases' rates (an approximation: against DfE's Total in 2025/26 it differs by
        -0.006 points on average, SD 0.08, at most 0.6).

    Returns
    -------
    pandas.DataFrame
        Phase rows plus one ``Total`` row per LA x release with ``total_source``
        (``phases``: summed; ``DfE``: DfE's published Total; ``phases (incomplete)``:
        summed with a phase missing or suppressed, so the counts are missing).

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluate.data.la.panel import add_totals
    >>> la = pd.DataFrame({"la_code": "E1", "la_name": "A", "region": "R", "year": 2023,
    ...     "release_end": pd.Timestamp("2023-09-15"), "phase": ["Primary", "Secondary", "Special"],
    ...     "possible_sessions": [10.0, 20.0, 5.0], "overall_absence_sessions": [1.0, 2.0, None],
    ...     "authorised_absence_sessions": 0.0, "unauthorised_absence_sessions": 0.0,
    ...     "num_schools": 1.0, "enrolments": 1.0, "pa_rate": None})
    >>> t = add_totals(la).query("phase == 'Total'")
    >>> t[["possible_sessions", "overall_absence_sessions", "total_source"]].to_dict("records")
    [{'possible_sessions': 35.0, 'overall_absence_sessions': nan, 'total_source': 'phases (incomplete)'}]
    """
    key = ["la_code", "year", "release_end"]
    undated = pd.Timestamp("1900-01-01")  # snapshots have no release date: NaT breaks indexing
    la = la.assign(release_end=la["release_end"].fillna(undated))
    phases = la[la["phase"] != "Total"].copy()
    phases["total_source"] = ""
    dfe = la[la["phase"] == "Total"].set_index(key)
    sums = phases.groupby(key, dropna=False)
    total = sums[COUNT_COLUMNS + ["num_schools", "enrolments"]].sum(min_count=1)
    n_phases = sums["phase"].nunique()
    for col in COUNT_COLUMNS:
        complete = sums[col].count() == 3
        total.loc[~complete, col] = np.nan
    total[["la_name", "region"]] = sums[["la_name", "region"]].first()
    full = (n_phases == 3) & total[COUNT_COLUMNS].notna().all(axis=1)
    total["total_source"] = np.where(full, "phases", "phases (incomplete)")
    total["pa_rate"] = np.nan
    if total_pa == "weighted":
        w = phases["pa_rate"] * phases["enrolments"]
        wsum = w.groupby([phases[k] for k in key], dropna=False).sum(min_count=3)
        esum = phases["enrolments"].where(phases["pa_rate"].notna()).groupby(
            [phases[k] for k in key], dropna=False).sum(min_count=3)
        total["pa_rate"] = (wsum / esum).reindex(total.index)
    elif total_pa != "published":
        raise ValueError(f"total_pa must be 'published' or 'weighted', not {total_pa!r}")
    if len(dfe):
        common = total.index.intersection(dfe.index)
        total.loc[common, "pa_rate"] = dfe.loc[common, "pa_rate"]
        use = [i for i in dfe.index if i not in total.index or not full.get(i, False)]
        if use:
            repl = dfe.loc[use, COUNT_COLUMNS + ["num_schools", "enrolments", "pa_rate",
                                                 "la_name", "region"]].copy()
            repl["total_source"] = "DfE"
            total = pd.concat([total.drop(index=[i for i in use if i in total.index]), repl])
    total = total.reset_index()
    total["phase"] = "Total"
    out = pd.concat([phases, total], ignore_index=True)
    out["release_end"] = out["release_end"].mask(out["release_end"] == undated)
    return out


def schedules(ytd: pd.DataFrame, period_types: Sequence[str]) -> dict[str, pd.DataFrame]:
    """The periods to build: per period, the release it ends with and the one before.

    Returns, per period type, a frame with ``year``, ``release_end``, ``prev_end`` (NaT
    for a year's first period), ``period``, ``start_date``, ``end_date`` and ``weeks``.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluate.data.la.panel import schedules
    >>> ytd = pd.DataFrame({"year": 2023, "release_end": pd.to_datetime(
    ...     ["2023-09-15", "2023-09-29", "2023-12-22", "2024-01-12"])})
    >>> schedules(ytd, ["term"])["term"][["period", "weeks"]].to_dict("records")
    [{'period': '2023/24 autumn', 'weeks': 17.0}, {'period': '2023/24 spring', 'weeks': 3.0}]
    """
    out = {}
    rel = ytd[["year", "release_end"]].drop_duplicates()
    for kind in period_types:
        rows = []
        for year, g in rel.groupby("year"):
            ends = sorted(g["release_end"].dropna())
            label = academic_label(int(year))
            if not ends:  # snapshot only: the year's last release, date unknown
                if kind == "year":
                    last = pd.Timestamp(dt.date(int(year) + 1, 7, 31))
                    last -= pd.Timedelta(days=(last.weekday() - 4) % 7)
                    rows.append((year, pd.NaT, pd.NaT, label, year_start(int(year)), last))
                continue
            if kind == "year":
                chosen = [(ends[-1], label)]
            elif kind == "fortnight":
                chosen = [(e, f"{label} to {e:%Y-%m-%d}") for e in ends]
            else:
                chosen = []
                for term in ("autumn", "spring", "summer"):
                    _, stop = term_bounds(int(year), term)
                    inside = [e for e in ends if e.date() <= stop]
                    if inside and (not chosen or inside[-1] > chosen[-1][0]):
                        chosen.append((inside[-1], f"{label} {term}"))
            prev = pd.NaT
            for end, period in chosen:
                start = year_start(int(year)) if pd.isna(prev) else prev + pd.Timedelta(days=3)
                rows.append((year, end, prev if kind != "year" else pd.NaT, period, start, end))
                prev = end
        df = pd.DataFrame(rows, columns=["year", "release_end", "prev_end", "period",
                                         "start_date", "end_date"])
        df["year"] = df["year"].astype(np.int64)
        for c in ("release_end", "prev_end", "start_date", "end_date"):
            df[c] = pd.to_datetime(df[c])
        df["weeks"] = ((df["end_date"] - df["start_date"]).dt.days + 3) / 7
        df["period_type"] = kind
        out[kind] = df
    return out


def difference_ytd(ytd: pd.DataFrame, schedule: pd.DataFrame, *, max_fill: float = MAX_FILL,
                   basis: Sequence[tuple[int, pd.Timestamp, pd.Timestamp, str]] = ()
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Counts of each period: a release minus the one before, with every invalid value missing.

    Parameters
    ----------
    ytd
        Release rows: ``la_code``, ``phase``, ``year``, ``release_end``, the counts
        (:data:`COUNT_COLUMNS`), ``enrolments``, ``num_schools``, ``pa_rate``,
        ``total_source``.
    schedule
        One period type's schedule (from :func:`schedules`).
    max_fill
        See :func:`build_la_panel`.
    basis
        ``(year, first, last, why)`` windows of off-basis releases.

    Returns
    -------
    rows, missing
        Period rows (counts; NaN where not derivable) and one record per value set
        missing (:data:`MISSING_COLUMNS`).

    Examples
    --------
    Possible sessions 100 then 90: a negative difference is set missing, not kept.

    >>> import pandas as pd
    >>> from evaluate.data.la.panel import difference_ytd, schedules
    >>> ytd = pd.DataFrame({"la_code": "E1", "phase": "Primary", "year": 2023,
    ...     "release_end": pd.to_datetime(["2023-09-15", "2023-09-29"]),
    ...     "possible_sessions": [100.0, 90.0], "overall_absence_sessions": [5.0, 9.0],
    ...     "authorised_absence_sessions": [3.0, 5.0], "unauthorised_absence_sessions": [2.0, 4.0],
    ...     "enrolments": 10.0, "num_schools": 1.0, "pa_rate": None, "total_source": ""})
    >>> rows, miss = difference_ytd(ytd, schedules(ytd, ["fortnight"])["fortnight"])
    >>> rows["possible_sessions"].tolist(), sorted(set(miss["reason"]))
    ([100.0, nan], ['negative difference in possible sessions'])
    """
    key = ["la_code", "phase", "year"]
    keep = [*key, "release_end", *COUNT_COLUMNS, "enrolments", "total_source"]
    cur = ytd.merge(schedule, on=["year", "release_end"], how="inner")
    prev = ytd[keep].rename(columns={"release_end": "prev_end",
                                     **{c: f"prev_{c}" for c in keep[4:]}})
    m = cur.merge(prev, on=[*key, "prev_end"], how="left", indicator=True)
    m = m.reset_index(drop=True)
    n = len(m)
    first = m["prev_end"].isna().to_numpy()
    reason_all = np.full(n, None, dtype=object)

    def flag(mask: np.ndarray, why: str) -> None:
        hit = mask & pd.isna(reason_all)
        reason_all[hit] = why

    no_prev = (~first) & (m["_merge"] == "left_only").to_numpy()
    flag(no_prev, "LA x phase not in the release before (nothing to difference from)")
    for year, a, b, why in basis:
        inside = lambda s, a=a, b=b: ((s >= a) & (s <= b)).fillna(False).to_numpy()  # noqa: E731
        hit = ((m["year"] == year).to_numpy() & ~first
               & (inside(m["release_end"]) | inside(m["prev_end"])))
        flag(hit, f"change of basis: {why}")
    # A Total summed from the phases and DfE's own Total are differenced with each other:
    # where both are published (2025/26) they are equal to the session (tested).
    weeks = ((m["release_end"] - m["prev_end"]).dt.days / 7).to_numpy()
    dposs = (m["possible_sessions"] - m["prev_possible_sessions"]).to_numpy()
    with np.errstate(invalid="ignore"):
        flag(~first & (dposs < 0), "negative difference in possible sessions")
        cap = max_fill * 10 * m["enrolments"].to_numpy() * weeks
        flag(~first & (dposs > cap), f"possible sessions grew by more than {max_fill:g} x 10 "
             "per enrolled pupil per week (schools or history added: change of coverage)")
    for col in ("la_name", "region"):
        if col not in m.columns:
            m[col] = None
    out = m[[*key, "la_name", "region", "period_type", "period", "start_date", "end_date",
             "weeks", "num_schools", "enrolments", "pa_rate", "total_source"]].copy()
    records = []
    for col in COUNT_COLUMNS:
        c = m[col].to_numpy(dtype=float)
        p = m[f"prev_{col}"].to_numpy(dtype=float)
        val = np.where(first, c, c - p)
        why = reason_all.copy()
        sup = np.isnan(c) | (~first & np.isnan(p))
        why[sup & pd.isna(why)] = SUPPRESSED
        with np.errstate(invalid="ignore"):
            neg = ~first & (val < 0)
        why[neg & pd.isna(why)] = "negative difference"
        val = np.where(pd.isna(why), val, np.nan)
        out[col] = val
        bad = ~pd.isna(why)
        if bad.any():
            records.append(pd.DataFrame({
                "la_code": m.loc[bad, "la_code"].to_numpy(), "phase": m.loc[bad, "phase"].to_numpy(),
                "period_type": m.loc[bad, "period_type"].to_numpy(),
                "period": m.loc[bad, "period"].to_numpy(), "column": col,
                "reason": why[bad]}))
    if (out["period_type"] != "year").any():
        out.loc[out["period_type"] != "year", "pa_rate"] = np.nan
    missing = (pd.concat(records, ignore_index=True) if records
               else pd.DataFrame(columns=MISSING_COLUMNS))
    return out, missing


def _finish(rows: pd.DataFrame) -> pd.DataFrame:
    """Rates, the time index ``t`` and the column order."""
    rows = rows.copy()
    poss = rows["possible_sessions"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        for rate, col in RATES.items():
            rows[rate] = np.where(poss > 0, 100 * rows[col].to_numpy(dtype=float) / poss, np.nan)
    rows["t"] = 0
    for _kind, g in rows.groupby("period_type"):
        ends = np.sort(g["end_date"].unique())
        rows.loc[g.index, "t"] = np.searchsorted(ends, g["end_date"].to_numpy()) + 1
    rows["t"] = rows["t"].astype(np.int64)
    rows["year"] = rows["year"].astype(np.int64)
    order = {k: i for i, k in enumerate(("year", "term", "fortnight"))}
    rows["_k"] = rows["period_type"].map(order)
    rows["_p"] = rows["phase"].map({p: i for i, p in enumerate(PHASES)})
    rows = rows.sort_values(["_k", "la_code", "_p", "t"]).reset_index(drop=True)
    return rows[PANEL_COLUMNS]
