"""Register marks -> pupil x school x term measures -> school x term (EES format).

One set of Ibis expressions; DuckDB runs them by default, Spark (or any Ibis backend
with the same operations) runs them unchanged.

Steps
    1. Each mark gets its academic year (1 August to 31 July, as
       :func:`evaluate.data.programmes.academic_year`), its term and its code set
       (:func:`~evaluate.registers.codes.code_set_of_year`). Terms: **autumn** 1 August
       to 31 December, **spring** 1 January to Easter Sunday, **summer** Easter Monday to
       31 July (the package's :func:`evaluate.data.programmes.term_bounds`, with August
       in autumn), looked up in a small table of the distinct dates (:func:`date_terms`).
    2. Marks are counted by (pupil, school, code, session, year-and-term) -- the one
       heavy pass over the marks, kept in the engine; a light pass counts them by date
       (the dates present, missing dates).
    3. The counts are joined to the code table (:mod:`evaluate.registers.codes`) and
       pivoted with conditional sums over the categories to one row per pupil x school
       x year x term (kept in the engine as a temporary table), and per pupil x school x
       year (sum of the terms). Reason counts stay long (:attr:`RegisterMeasures.pupil_reasons`)
       and are added up per school x term directly from the counts.
    4. Per row: ``sess_possible`` = present + approved educational activity + authorised
       + unauthorised; ``sess_overall`` = authorised + unauthorised; persistent absentee
       when ``10 * sess_overall >= sess_possible`` (10%+), severely absent when
       ``2 * sess_overall >= sess_possible`` (50%+), for rows with ``sess_possible > 0``;
       the year flags use the year's sessions (not the terms' flags).
    5. School x term (and x year) rows add the pupils: ``enrolments`` counts rows with
       at least one possible session; ``enrolments_pa_10_exact`` and
       ``enrolments_pa_50_exact`` count the flags.

Dual registration (a pupil on two schools' rolls)
    Each school counts its own marks: a session the pupil spends at the other school is
    ``D`` in this school's register and is not a possible session here. A pupil-level row
    is per pupil x school x term; the persistent and severe flags are per row (as DfE
    counts them in each school's figures), so a dual-registered pupil is an enrolment in
    both schools. :meth:`RegisterMeasures.pupil_totals` gives the pupil's measures summed
    over schools, with the flags recomputed on the sums.

Repeated marks
    A pupil has one mark per session at a school. Before anything is counted, one pass
    looks for marks that repeat a pupil, school, date and session (an exact check: the
    key is packed into integers, nothing is hashed). By default a repeat is an error
    that names how many there are and the first school, date and session, because the
    stage cannot know which of two marks is right; ``duplicates="skip"`` leaves the check
    out (every mark is then counted as read; ``settings`` and the summary say it was not
    checked). The check groups marks by pupil x school x week (a screen that is exact, see
    ``_repeated_marks``) and costs about as much as the rest of the stage
    (``benchmarks/RESULTS.md``).

Marks never disappear silently
    Every mark is in exactly one of: counted (a possible session), not counted (a code
    of the ``not_counted`` category), **unknown** (a code not in the mark's code set,
    reported by code with examples) or **malformed** (session not ``AM``/``PM``, or a
    missing date, pupil id, URN or code; reported by problem with examples). The counts
    add up to the marks read (:attr:`RegisterMeasures.marks`).

Pupil-level rows are pupil data: they stay in the engine (:attr:`RegisterMeasures.pupils`
is a lazy Ibis table) and are never written under ``results/``; the school table is the
publishable aggregate.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import ibis
import numpy as np
import pandas as pd

from evaluate.disclosure import DisclosureRules, TableSpec, control_table
from evaluate.numbers import half_up_array
from evaluate.registers.codes import CATEGORIES, CODE_SETS, code_table, reason_columns

__all__ = ["EES_COLUMNS", "TERMS", "RegisterMeasures", "date_terms", "register_measures"]

#: Term index -> term name (the data layer's ``period`` values).
TERMS: tuple[str, ...] = ("autumn", "spring", "summer")
_TIME_IDENTIFIER = {"autumn": "Autumn term", "spring": "Spring term", "summer": "Summer term",
                    "year": "Academic year"}
_GEO = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name",
        "region_code", "region_name", "old_la_code", "new_la_code", "la_name", "school_urn",
        "school_laestab", "school_name", "education_phase"]
_COUNTS = ["enrolments", "sess_possible", "sess_overall", "sess_authorised", "sess_unauthorised",
           "sess_overall_percent", "sess_authorised_percent", "sess_unauthorised_percent",
           "enrolments_pa_10_exact", "enrolments_pa_10_exact_percent",
           "enrolments_pa_50_exact", "enrolments_pa_50_exact_percent"]
_EXTRA = ["sess_present", "sess_approved_educational_activity", "sess_not_counted"]
#: The columns of the school-level file :meth:`RegisterMeasures.to_ees` writes (then the
#: reason columns of :func:`~evaluate.registers.codes.reason_columns`).
EES_COLUMNS: tuple[str, ...] = (*_GEO, *_COUNTS, *_EXTRA)
_SUMS = ["sess_possible", "sess_overall", "sess_authorised", "sess_unauthorised", "sess_present",
         "sess_approved_educational_activity", "sess_not_counted"]
_PROBLEMS = ("session not AM or PM", "missing date", "missing pupil id", "missing URN",
             "missing code")


def date_terms(dates: pd.Series | list) -> pd.DataFrame:
    """Academic year and term (0 autumn, 1 spring, 2 summer) of each date.

    The package's rule (:func:`evaluate.data.programmes.academic_year` and
    :func:`~evaluate.data.programmes.term_bounds`): the academic year runs 1 August to
    31 July; autumn to 31 December (August included), spring 1 January to Easter
    Sunday, summer Easter Monday to 31 July.

    Examples
    --------
    >>> import datetime as dt
    >>> from evaluate.registers.measures import date_terms
    >>> date_terms([dt.date(2024, 3, 28), dt.date(2024, 4, 2), dt.date(2024, 8, 20)]).values.tolist()
    [[datetime.date(2024, 3, 28), 2023, 1], [datetime.date(2024, 4, 2), 2023, 2], [datetime.date(2024, 8, 20), 2024, 0]]
    """
    from evaluate.data.programmes import academic_year, term_bounds

    out = []
    for d in pd.Series(list(dates)).dropna():
        d = pd.Timestamp(d).date()
        y = academic_year(d)
        if d.month >= 8:
            term = 0
        else:
            term = 1 if d <= term_bounds(y, "spring")[1] else 2
        out.append((d, y, term))
    return pd.DataFrame(out, columns=["date", "year", "term"])


def _problem(t: ibis.Table) -> ibis.IntegerValue:
    """0 for a well-formed mark, else the 1-based index of the problem in ``_PROBLEMS``.

    For the counts' keys (a missing date is counted in the light pass, a session other
    than AM/PM in the heavy pass's ``bad`` column, problem 1).
    """
    return ibis.cases(
        (t.pupil_id.isnull(), 3),
        (t.urn.isnull(), 4),
        (t.code.isnull(), 5),
        else_=0).cast("int8")


def _code_frame() -> pd.DataFrame:
    t = code_table()
    return pd.DataFrame({
        "code": t["code"].astype(str),
        "code_set": t["code_set"].astype(str),
        "category": t["category"].map({c: i for i, c in enumerate(CATEGORIES)}).astype("int8"),
        "reason": t["reason"].astype(str),
    })


class _Clock:
    """Wall time of each step (kept in ``settings['seconds']``)."""

    def __init__(self) -> None:
        self.steps: dict[str, float] = {}
        self.last = time.perf_counter()

    def __call__(self, step: str) -> None:
        now = time.perf_counter()
        self.steps[step] = round(self.steps.get(step, 0.0) + now - self.last, 3)
        self.last = now


def _materialise(t: ibis.Table, like: ibis.Table | None = None) -> ibis.Table:
    """Compute ``t`` once and keep it in the engine (DuckDB: a temporary table).

    DuckDB gets an explicit ``CREATE TEMP TABLE`` (it spills to the temporary directory
    under memory pressure) because Ibis 12's cache release fails with sqlglot 30; other
    backends use :meth:`ibis.Table.cache`. ``like``: a table whose backend to use (for a
    memtable, which has none of its own).
    """
    con = (like if like is not None else t).get_backend()
    if con.name != "duckdb":
        if like is not None:  # a small memtable: joined as it is
            return t
        con._run_pre_execute_hooks(t)  # registers in-memory tables (memtables) first
        return t.cache()
    con._run_pre_execute_hooks(t)
    name = f"_evaluate_register_counts_{uuid.uuid4().hex}"
    con.raw_sql(f'CREATE TEMP TABLE "{name}" AS {con.compile(t)}')
    return con.table(name)


def _flags(t: ibis.Table) -> ibis.Table:
    pos = t.sess_possible > 0
    return t.mutate(
        enrolled=pos.cast("int64"),
        pa10=(pos & (10 * t.sess_overall >= t.sess_possible)).cast("int64"),
        pa50=(pos & (2 * t.sess_overall >= t.sess_possible)).cast("int64"),
    )


_half_up = half_up_array  # evaluate.numbers


@dataclass(frozen=True)
class RegisterMeasures:
    """The registers stage's result.

    Attributes
    ----------
    schools
        One row per school x academic year x period (``autumn``, ``spring``,
        ``summer``, ``year``): ``urn, year, period, enrolments, sess_possible,
        sess_overall, sess_authorised, sess_unauthorised, sess_present,
        sess_approved_educational_activity, sess_not_counted, enrolments_pa_10_exact,
        enrolments_pa_50_exact`` and every reason column (counts of marks).
    pupils
        Lazy Ibis table, one row per pupil x school x year x period (``term`` is
        ``autumn``, ``spring``, ``summer`` or ``year``; the year row sums the terms and
        has its own flags) with the same sessions plus the flags ``pa10`` and ``pa50``
        (1/0). Pupil data: keep it in the working area.
    pupil_reasons
        Lazy Ibis table, the same rows by reason in long form: ``pupil_id, urn, year,
        term, reason, marks`` (reason columns with no marks are absent).
    marks
        Counts of marks: ``read``, ``counted`` (possible sessions), ``not_counted``,
        ``unknown``, ``malformed`` (read = the other four).
    unknown
        Unknown codes: ``code, code_set, marks, example_urn, example_year,
        example_term`` (the lowest URN with the code, and its first term with it).
    malformed
        Malformed marks: ``problem, marks, example_urn, example_year``.
    dual_registered
        Pupil x year x term combinations on more than one school's roll.
    settings
        Engine and rules used.

    Examples
    --------
    >>> import datetime as dt
    >>> import ibis
    >>> from evaluate.registers import register_measures
    >>> marks = ibis.memtable({"pupil_id": ["a"] * 4, "urn": [100] * 4,
    ...     "date": [dt.date(2023, 9, 4)] * 2 + [dt.date(2023, 9, 5)] * 2,
    ...     "session": ["AM", "PM"] * 2, "code": ["/", "\\\\", "I", "I"]})
    >>> res = register_measures(marks)
    >>> row = res.to_frame().query("period == 'autumn'").iloc[0]
    >>> int(row.sess_possible), int(row.sess_overall), int(row.enrolments_pa_50_exact)
    (4, 2, 1)
    """

    schools: pd.DataFrame
    pupils: Any
    pupil_reasons: Any
    marks: Mapping[str, int]
    unknown: pd.DataFrame
    malformed: pd.DataFrame
    dual_registered: int
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "marks", MappingProxyType(dict(self.marks)))
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))

    def to_frame(self) -> pd.DataFrame:
        """The school x period table (a copy)."""
        return self.schools.copy()

    def to_dict(self) -> dict[str, Any]:
        """Counts, problems and settings as plain JSON-ready values (no pupil data)."""
        def records(df: pd.DataFrame) -> list[dict[str, Any]]:
            return [{k: (v.item() if hasattr(v, "item") else v) for k, v in r.items()}
                    for r in df.to_dict("records")]
        return {"marks": dict(self.marks), "unknown": records(self.unknown),
                "malformed": records(self.malformed), "dual_registered": int(self.dual_registered),
                "schools": int(self.schools["urn"].nunique()) if len(self.schools) else 0,
                "rows": len(self.schools), "settings": dict(self.settings)}

    def summary(self) -> str:
        """A short plain-text account of what was read and counted."""
        m = self.marks
        lines = [f"Register marks read: {m['read']:,} ({self.settings.get('engine', '?')})",
                 f"  counted in possible sessions: {m['counted']:,}",
                 f"  not counted (X, Y, Z, #, D, Q ...): {m['not_counted']:,}",
                 f"  unknown codes: {m['unknown']:,}",
                 f"  malformed: {m['malformed']:,}"]
        for r in self.unknown.itertuples():
            lines.append(f"    unknown code {r.code!r} ({r.code_set} codes): {r.marks:,} marks, "
                         f"e.g. URN {r.example_urn}, {r.example_year} {r.example_term} term")
        for r in self.malformed.itertuples():
            lines.append(f"    {r.problem}: {r.marks:,} marks, e.g. URN {r.example_urn}, "
                         f"year {r.example_year}")
        s = self.schools[self.schools["period"] == "year"]
        if self.settings.get("duplicates") == "not checked":
            lines.append("  repeated marks (same pupil, school, date and session): not checked")
        lines.append(f"Schools: {s['urn'].nunique():,}; school x period rows: {len(self.schools):,}; "
                     f"dual-registered pupil-terms: {self.dual_registered:,}")
        if len(s):
            poss = s["sess_possible"].sum()
            rate = 100 * s["sess_overall"].sum() / poss if poss else math.nan
            lines.append(f"Overall absence rate (all years): {rate:.2f}%")
        return "\n".join(lines)

    def plot(self, *, title: str | None = None):
        """Histogram of schools' overall absence rates (academic-year rows); returns the figure."""
        import matplotlib.pyplot as plt

        from evaluate.style import finish_plot

        s = self.schools[(self.schools["period"] == "year") & (self.schools["sess_possible"] > 0)]
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.hist(100 * s["sess_overall"] / s["sess_possible"], bins=40)
        return finish_plot(fig, ax, title=title or "Schools' overall absence rate (registers)",
                           xlabel="Overall absence rate (%)", ylabel="Schools")

    def pupil_totals(self) -> Any:
        """Lazy Ibis table: per pupil x year x term, summed over the pupil's schools.

        Flags are recomputed on the sums; ``schools`` is the number of rolls the pupil
        was on in the term.
        """
        p = self.pupils
        sums = {c: p[c].sum() for c in _SUMS}
        t = p.group_by(["pupil_id", "year", "term"]).aggregate(schools=p.urn.nunique(), **sums)
        return _flags(t).drop("enrolled")

    def to_ees(self, schools: pd.DataFrame | None = None, *, rules: DisclosureRules | None = None) -> pd.DataFrame:
        """The school table in the EES school-level absence format.

        Parameters
        ----------
        schools
            School details by ``school_urn`` (or ``urn``): any of ``region_code,
            region_name, old_la_code, new_la_code, la_name, school_laestab, school_name,
            education_phase``. Missing details are left empty (``education_phase``:
            ``Total``), which the data layer reads but cannot place in an LA.
        rules
            ``None`` (the default): the unsuppressed table, for the panel in the working
            area. With :class:`~evaluate.disclosure.DisclosureRules`: the publishable table
            through the package's one gate, :func:`evaluate.disclosure.control_table`
            (:func:`ees_spec`): pupil counts below the threshold become ``c``, and every
            session count, reason count and rate of a school whose pupil count is
            suppressed too (they would reveal it).

        Examples
        --------
        >>> import datetime as dt
        >>> import ibis
        >>> from evaluate.registers import register_measures
        >>> marks = ibis.memtable({"pupil_id": [1, 1], "urn": [100, 100],
        ...     "date": [dt.date(2024, 9, 4)] * 2, "session": ["AM", "PM"], "code": ["/", "C1"]})
        >>> ees = register_measures(marks).to_ees()
        >>> row = ees.iloc[0]
        >>> row.time_period, row.time_identifier, int(row.sess_possible), float(row.sess_overall_percent)
        ('202425', 'Autumn term', 2, 50.0)
        """
        s = self.schools
        info = pd.DataFrame({"urn": pd.Series(dtype="int64")})
        if schools is not None:
            info = schools.rename(columns={"school_urn": "urn"}).copy()
            info["urn"] = info["urn"].astype("int64")
            info = info.drop_duplicates("urn", keep="last")
        out = s.merge(info, on="urn", how="left")
        order = {"autumn": 0, "spring": 1, "summer": 2, "year": 3}
        out = out.assign(_o=out["period"].map(order)).sort_values(["year", "_o", "urn"], kind="stable")
        df = pd.DataFrame({
            "time_period": [f"{y}{(y + 1) % 100:02d}" for y in out["year"]],
            "time_identifier": out["period"].map(_TIME_IDENTIFIER).to_numpy(),
            "geographic_level": "School", "country_code": "E92000001", "country_name": "England",
        })
        for c in ["region_code", "region_name", "old_la_code", "new_la_code", "la_name"]:
            df[c] = out[c].fillna("").astype(str).to_numpy() if c in out else ""
        df["school_urn"] = out["urn"].astype(str).to_numpy()
        for c in ["school_laestab", "school_name"]:
            df[c] = out[c].fillna("").astype(str).to_numpy() if c in out else ""
        df["education_phase"] = (out["education_phase"].fillna("Total").to_numpy()
                                 if "education_phase" in out else "Total")
        for c in ["enrolments", *_SUMS, "enrolments_pa_10_exact", "enrolments_pa_50_exact",
                  *reason_columns()]:
            df[c] = out[c].astype("int64").to_numpy()
        poss = df["sess_possible"].to_numpy(dtype=float)
        enr = df["enrolments"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            for c in ("sess_overall", "sess_authorised", "sess_unauthorised"):
                df[f"{c}_percent"] = _half_up(100 * df[c].to_numpy(dtype=float) / poss)
            for c in ("enrolments_pa_10_exact", "enrolments_pa_50_exact"):
                df[f"{c}_percent"] = _half_up(100 * df[c].to_numpy(dtype=float) / enr)
        df = df[[*EES_COLUMNS, *reason_columns()]].reset_index(drop=True)
        if rules is not None:
            df = control_table(df, ees_spec(df.columns), rules, name="school absence from registers").table
        return df

    def write_ees(self, path: str | Path, schools: pd.DataFrame | None = None, *,
                  rules: DisclosureRules | None = None) -> Path:
        """Write :meth:`to_ees` as a CSV the data layer reads (``c`` for a suppressed cell).

        Name it ``absence/school_absence_YYYYYY.csv`` inside a data folder for
        :func:`evaluate.data.panel.build_panel`; one file may hold several years. Without
        ``rules`` the file is unsuppressed pupil-derived data: keep it in the data folder or
        the working area; to publish it, pass the run's rules (or use
        :func:`evaluate.disclosure.publish_table` with :func:`ees_spec`).
        """
        from evaluate.io import write_csv

        return write_csv(self.to_ees(schools, rules=rules), Path(path), na_rep="",
                         float_format="%.5f")


def ees_spec(columns: Sequence[str]) -> TableSpec:
    """The disclosure spec of the school-level EES table: pupil counts, and what depends on them.

    ``enrolments`` and the persistent and severe counts are counts of pupils; their
    percentages are rates of them; every session and reason count of a school is hidden
    with its enrolments (a school of three pupils may not publish its sessions missed).

    Examples
    --------
    >>> from evaluate.registers.measures import ees_spec
    >>> spec = ees_spec(["school_urn", "enrolments", "sess_overall", "enrolments_pa_10_exact",
    ...                  "enrolments_pa_10_exact_percent"])
    >>> sorted(spec.counts), spec.rates["enrolments_pa_10_exact_percent"]
    (['enrolments', 'enrolments_pa_10_exact'], ['enrolments_pa_10_exact', 'enrolments'])
    """
    pupils = [c for c in ("enrolments", "enrolments_pa_10_exact", "enrolments_pa_50_exact") if c in columns]
    rates: dict[str, list[str]] = {}
    for c in columns:
        if c in pupils or c in _GEO:
            continue
        if c.startswith(("enrolments_pa_10", "enrolments_pa_50")) and c.endswith("_percent"):
            rates[c] = [c.removesuffix("_percent"), "enrolments"]
        elif c.startswith(("sess_", "reason_")):
            rates[c] = ["enrolments"]
    return TableSpec(counts={c: "pupils" for c in pupils}, rates=rates)


#: Marks per pass of the repeat check: dates are taken in runs of at most this many marks
#: (a repeat shares its date), so the check's hash table stays small at any size.
REPEAT_CHUNK_MARKS = 40_000_000
_NIBBLE_HIGH_BITS = int("E" * 14, 16)  # bits 1-3 of each of 14 nibbles


def _repeated_marks(marks: ibis.Table, by_date: pd.DataFrame,
                    chunk: int = REPEAT_CHUNK_MARKS) -> tuple[int, int, list[tuple[int, Any, str]]]:
    """Marks that repeat a pupil, school, date and session: (marks, keys, first examples).

    Exact, in two steps, one run of consecutive dates at a time (``by_date``: marks per
    date, from the light pass; runs of at most ``chunk`` marks: a repeat shares its date,
    so it is always inside one run):

    1. A screen (runs of up to ``10 * chunk`` marks: a run is a scan of the marks, which
       for files not ordered by date means reading them all again) with one row per
       pupil x school x week: the week's session ``s``
       (Monday AM = 0 ... Sunday PM = 13) adds ``16**s`` to a sum. Without repeats a
       pupil-week has at most 14 marks and every nibble of the sum is 0 or 1; a row with
       more than 14 marks or a nibble of 2 or more has a repeat (with at most 14 marks no
       nibble can carry, so nothing is missed). Ten times fewer groups than marks.
    2. Only if the screen finds any: the exact count, with school, day and session packed
       into one integer (the day counted from the first date read, so the packing cannot
       overflow for URNs below 2**40) grouped with the pupil id, and the first examples.

    Marks without a date, pupil, URN or an AM/PM session are malformed and counted
    elsewhere; they are left out here. (On Spark with ANSI arithmetic, a pupil-week with
    over 2,000 marks would overflow the screen's sum and stop with Spark's error.)
    """
    import datetime as dt

    days = by_date.assign(date=pd.to_datetime(by_date["date"]).dt.date).sort_values("date")
    first = days["date"].iloc[0]
    span = (days["date"].iloc[-1] - first).days + 1

    def date_runs(limit: int) -> list[tuple[Any, Any]]:
        runs, lo, prev, size = [], None, first, 0
        for d, n in zip(days["date"], days["n"], strict=True):
            if lo is not None and size + n > limit:
                runs.append((lo, prev))
                lo, size = None, 0
            lo = d if lo is None else lo
            size += int(n)
            prev = d
        return [*runs, (lo, prev)]

    m = marks.filter(marks.date.notnull() & marks.urn.notnull() & marks.pupil_id.notnull()
                     & marks.session.isin(["AM", "PM"]))
    day = m.date.epoch_days().cast("int64") - (first - dt.date(1970, 1, 1)).days
    pm = ibis.ifelse(m.session == "PM", 1, 0).cast("int64")
    # screen, one row per pupil x school x week: session s of the week (0-13) adds 16**s,
    # so with at most 14 marks no nibble carries and a repeat shows as a nibble of 2+
    week, dow = (day + first.weekday()) // 7, (day + first.weekday()) % 7
    w = m.select(m.pupil_id, m.date, wk=m.urn * (span // 7 + 2) + week,
                 bit=ibis.literal(1, "int64") << (4 * (2 * dow + pm)))
    flagged = 0
    runs = date_runs(10 * chunk)      # a tenth as many groups as marks: longer runs
    for a, b in runs:
        c = w.filter(w.date.between(a, b)) if len(runs) > 1 else w
        g = c.group_by([c.pupil_id, c.wk]).aggregate(n=c.count(), s=c.bit.sum())
        flagged += int(g.filter((g.n > 14) | ((g.s & _NIBBLE_HIGH_BITS) != 0)).count().to_pandas())
        if flagged:
            break
    if not flagged:
        return 0, 0, []
    # repeats exist: count them exactly, one packed integer per school, day and session
    m = m.select(m.pupil_id, m.date, k=m.urn * (2 * span) + day * 2 + pm)
    n_marks = n_keys = 0
    found: list[int] = []
    runs = date_runs(chunk)
    for a, b in runs:
        c = m.filter(m.date.between(a, b)) if len(runs) > 1 else m
        g = c.group_by([c.pupil_id, c.k]).aggregate(n=c.count())
        g = g.filter(g.n > 1)
        totals = g.aggregate(keys=g.count(), marks=g.n.sum()).to_pandas()
        keys = int(totals["keys"].iloc[0]) if len(totals) else 0
        if keys:
            n_keys += keys
            n_marks += int(totals["marks"].iloc[0])
            found += g.select("k").distinct().order_by("k").limit(3).to_pandas()["k"].tolist()
    ex = [(int(k // (2 * span)), first + dt.timedelta(days=int(k % (2 * span)) // 2),
           "PM" if k % 2 else "AM") for k in sorted(set(found))[:3]]
    return n_marks, n_keys, ex


def register_measures(marks: ibis.Table, *, cache: bool = True,
                      duplicates: str = "error") -> RegisterMeasures:
    """Absence measures from register marks (see the module docstring for the rules).

    A light pass counts the marks by date (marks read, missing dates). One heavy pass
    counts the dated marks by pupil, school, code, academic year and term (the term of
    each date from a small table of the dates present, :func:`date_terms`), with the
    marks whose session is not AM/PM counted alongside. The counts are kept in the
    engine; they give the mark accounting (unknown codes, malformed marks), and are
    joined to the code table and pivoted to pupil x school x term rows, also kept in the
    engine; everything else is computed from those rows.

    Parameters
    ----------
    marks
        Ibis table with ``pupil_id, urn, date, session, code``
        (e.g. from :func:`~evaluate.registers.read_marks`), on any backend.
    cache
        Keep the counts and the pupil x school x term rows in the engine (temporary
        tables; ``Table.cache`` on other backends) so that nothing reads the marks twice;
        turn off only for backends that cannot.
    duplicates
        ``'error'`` (default): look for marks that repeat a pupil, school, date and
        session, and raise if there are any (the message gives their number and the first
        school, date and session; no pupil id). ``'skip'``: do not look (faster; every
        mark is counted as read, and ``settings['duplicates']`` says it was not checked).

    Returns
    -------
    RegisterMeasures

    Raises
    ------
    InputError
        A column is missing, ``duplicates`` is not ``'error'`` or ``'skip'``, or
        (``duplicates='error'``) marks repeat a pupil, school, date and session.

    Examples
    --------
    A code of the other code set is counted as unknown, not categorised:

    >>> import datetime as dt
    >>> import ibis
    >>> from evaluate.registers import register_measures
    >>> marks = ibis.memtable({"pupil_id": ["a", "a", "b"], "urn": [7, 7, 7],
    ...     "date": [dt.date(2025, 1, 6)] * 3, "session": ["AM", "PM", "AM"],
    ...     "code": ["/", "H", "O"]})
    >>> res = register_measures(marks)
    >>> dict(res.marks)
    {'read': 3, 'counted': 2, 'not_counted': 0, 'unknown': 1, 'malformed': 0}
    >>> res.unknown[["code", "code_set", "marks"]].values.tolist()
    [['H', '2024', 1]]
    """
    missing = [c for c in ("pupil_id", "urn", "date", "session", "code") if c not in marks.columns]
    if missing:
        from evaluate.errors import InputError

        raise InputError(f"marks table lacks column(s) {', '.join(missing)}", column=missing[0])
    if duplicates not in ("error", "skip"):
        from evaluate.errors import InputError

        raise InputError(f"duplicates must be 'error' or 'skip', not {duplicates!r}", column="duplicates")
    engine = marks.get_backend().name
    marks = marks.select("pupil_id", "urn", "date", "session", "code")

    # light pass: marks by date (the dates present, marks read, missing dates)
    clock = _Clock()
    by_date = marks.group_by("date").aggregate(n=marks.count()).to_pandas()
    clock("light pass (dates)")
    read = int(by_date["n"].sum())
    no_date = int(by_date.loc[by_date["date"].isna(), "n"].sum())
    dated = by_date[by_date["date"].notna()]
    if duplicates == "error" and len(dated):
        rep, rep_keys, examples = _repeated_marks(marks, dated)
        clock("repeated marks")
        if rep:
            from evaluate.errors import InputError

            eg = "; ".join(f"URN {u}, {d.isoformat()} {sess}" for u, d, sess in examples)
            raise InputError(
                f"{rep:,} register marks repeat a pupil, school, date and session ({rep_keys:,} "
                f"pupil-sessions with more than one mark), e.g. {eg}. A pupil has one mark per "
                "session at a school and the stage cannot tell which mark is right: remove the "
                "repeats, or pass duplicates='skip' (--duplicates skip) to count every mark",
                column="session")
    dterms = date_terms(dated["date"]).sort_values("date")
    # one small key: 4 * year + term (a narrow group key makes the heavy pass much faster),
    # from the last date of each run of dates in one term (terms follow each other in time)
    yt_of_date = (4 * dterms["year"] + dterms["term"]).to_numpy()
    last = np.r_[yt_of_date[1:] != yt_of_date[:-1], True][: len(yt_of_date)]
    ends = list(zip(dterms["date"].to_numpy()[last], yt_of_date[last], strict=True))

    # the one heavy pass: dated marks counted by pupil, school, code, year and term, with
    # the marks whose session is not AM/PM counted alongside (an aggregate is cheaper than
    # a group key or a filter)
    dated_marks = marks.filter(marks.date.notnull())
    yt = ibis.cases(*[(dated_marks.date <= ibis.literal(d, "date"), int(k)) for d, k in ends[:-1]],
                    else_=int(ends[-1][1])) if len(ends) > 1 else ibis.literal(int(ends[0][1]) if ends else 0)
    joined = dated_marks.mutate(yt=yt.cast("int16"))
    bad_session = joined.session.isnull() | ~joined.session.isin(["AM", "PM"])
    counts = joined.group_by(["pupil_id", "urn", "code", "yt"]).aggregate(
        n=joined.count(), bad=bad_session.cast("int64").sum())
    if cache:
        counts = _materialise(counts)
        clock("heavy pass (counts)")
    counts = counts.mutate(year=(counts.yt // 4).cast("int16"), term=(counts.yt % 4).cast("int8"),
                           good=counts.n - counts.bad, problem=_problem(counts))
    counts = counts.mutate(
        code_set=ibis.ifelse(counts.year >= CODE_SETS["2024"], "2024", "pre2024"))

    # accounting: every mark read is counted, not counted, unknown or malformed
    acc = (counts.group_by(["code", "code_set", "problem"])
           .aggregate(good=counts.good.sum(), bad=counts.bad.sum()).to_pandas())
    acc = acc.merge(_code_frame()[["code", "code_set", "category"]], on=["code", "code_set"],
                    how="left")
    fine = acc[acc["problem"] == 0].rename(columns={"good": "n"})
    unknown_pairs = fine[fine["category"].isna() & (fine["n"] > 0)]
    odd = pd.DataFrame(columns=["code", "code_set", "problem", "urn", "year", "term", "good",
                                "bad"])
    if len(unknown_pairs) or (acc["problem"] > 0).any() or acc["bad"].sum() > 0:
        # the details (few rows): filter first, then group
        cond = (counts.problem > 0) | (counts.bad > 0)
        for cset, g in unknown_pairs.groupby("code_set"):
            cond = cond | ((counts.code_set == cset) & counts.code.isin(g["code"].tolist()))
        sel = counts.filter(cond)
        odd = sel.group_by(["code", "code_set", "problem", "urn", "year", "term"]).aggregate(
            good=sel.good.sum(), bad=sel.bad.sum()).to_pandas()
    clock("accounting")
    unknown_rows = []
    unk = odd[(odd["problem"] == 0) & (odd["good"] > 0)].merge(
        unknown_pairs[["code", "code_set"]], on=["code", "code_set"])
    for (code, cset), g in unk.groupby(["code", "code_set"], sort=True):
        first = g.sort_values(["urn", "year", "term"]).iloc[0]
        unknown_rows.append({"code": code, "code_set": cset, "marks": int(g["good"].sum()),
                             "example_urn": int(first["urn"]), "example_year": int(first["year"]),
                             "example_term": TERMS[int(first["term"])]})
    unknown = pd.DataFrame(unknown_rows, columns=["code", "code_set", "marks", "example_urn",
                                                  "example_year", "example_term"])
    mal_rows = []
    bad = odd[odd["bad"] > 0]
    if len(bad):
        first = bad.sort_values(["urn", "year"], na_position="last").iloc[0]
        mal_rows.append((1, int(bad["bad"].sum()), first["urn"], first["year"]))
    keyp = odd[(odd["problem"] > 0) & (odd["good"] > 0)]
    for k, g in keyp.groupby("problem", sort=True):
        first = g.sort_values(["urn", "year"], na_position="last").iloc[0]
        mal_rows.append((int(k), int(g["good"].sum()), first["urn"], first["year"]))
    if no_date:
        ex = marks.filter(marks.date.isnull()).aggregate(u=marks.urn.min()).to_pandas()
        mal_rows.append((2, no_date, ex["u"].iloc[0], None))
    mal_rows = [{"problem": _PROBLEMS[k - 1], "marks": n,
                 "example_urn": None if pd.isna(u) else int(u),
                 "example_year": None if y is None or pd.isna(y) else int(y)}
                for k, n, u, y in sorted(mal_rows, key=lambda r: r[0])]
    malformed = pd.DataFrame(mal_rows, columns=["problem", "marks", "example_urn", "example_year"])

    # pivot: pupil x school x term, by category (integer keys: cheap conditional sums)
    reasons = reason_columns()
    cf = _code_frame()
    cf = cf.assign(set_id=(cf["code_set"] == "2024").astype("int8"),
                   rid=cf["reason"].map({r: i for i, r in enumerate(reasons)}).astype("int16"))
    ct_int = ibis.memtable(cf[["code", "set_id", "category", "rid"]])
    ok = counts.filter((counts.problem == 0) & (counts.good > 0))
    ok = ok.mutate(set_id=(ok.year >= CODE_SETS["2024"]).cast("int8"))
    known = ok.inner_join(ct_int, [ok.code == ct_int.code, ok.set_id == ct_int.set_id]).select(
        ok.pupil_id, ok.urn, ok.year, ok.term, ok.yt, ok.code, n=ok.good,
        category=ct_int.category, rid=ct_int.rid)
    cat = {c: i for i, c in enumerate(CATEGORIES)}

    def by_cat(*names: str) -> ibis.Value:
        ids = [cat[x] for x in names]
        cond = known.category == ids[0] if len(ids) == 1 else known.category.isin(ids)
        return ibis.ifelse(cond, known.n, 0).sum().cast("int64")

    aggs = {
        "sess_possible": by_cat("present", "aea", "authorised", "unauthorised"),
        "sess_overall": by_cat("authorised", "unauthorised"),
        "sess_authorised": by_cat("authorised"),
        "sess_unauthorised": by_cat("unauthorised"),
        "sess_present": by_cat("present"),
        "sess_approved_educational_activity": by_cat("aea"),
        "sess_not_counted": by_cat("not_counted"),
    }
    pupil_term = _flags(known.group_by(["pupil_id", "urn", "year", "term"]).aggregate(**aggs))
    if cache:
        pupil_term = _materialise(pupil_term)
        clock("pivot (pupil x school x term)")
    term_name = ibis.cases((pupil_term.term == 0, "autumn"), (pupil_term.term == 1, "spring"),
                           else_="summer")
    rname = ibis.memtable(pd.DataFrame({"rid": np.arange(len(reasons), dtype="int16"),
                                        "reason": reasons}))
    pupil_reasons = (known.group_by(["pupil_id", "urn", "year", "term", "rid"])
                     .aggregate(marks=known.n.sum().cast("int64")))
    pupil_reasons = pupil_reasons.inner_join(rname, "rid").mutate(
        term=ibis.cases((pupil_reasons.term == 0, "autumn"), (pupil_reasons.term == 1, "spring"),
                        else_="summer")).select("pupil_id", "urn", "year", "term", "reason", "marks")

    # school x term and x year: pupils' sums and flags; reasons counted from the counts
    pupil_year = _flags(pupil_term.group_by(["pupil_id", "urn", "year"]).aggregate(
        **{c: pupil_term[c].sum().cast("int64") for c in _SUMS}))
    cols = ["pupil_id", "urn", "year", "term", *_SUMS, "pa10", "pa50"]
    pupils = pupil_term.mutate(term=term_name).select(cols).union(
        pupil_year.mutate(term=ibis.literal("year")).select(cols))
    school_cols = ["enrolled", "pa10", "pa50", *_SUMS]
    st = pupil_term.group_by(["urn", "year", "term"]).aggregate(
        **{c: pupil_term[c].sum() for c in school_cols})
    sy = pupil_year.group_by(["urn", "year"]).aggregate(
        **{c: pupil_year[c].sum() for c in school_cols}).mutate(term=ibis.literal(3, "int8"))
    both = st.mutate(term=st.term.cast("int8")).union(sy.select(st.columns))
    sch = both.to_pandas()
    long = ok.group_by(["urn", "yt", "code"]).aggregate(n=ok.good.sum()).to_pandas()
    clock("school tables")
    long["year"], long["term"] = long["yt"] // 4, long["yt"] % 4
    long["set_id"] = (long["year"] >= CODE_SETS["2024"]).astype("int8")
    long = long.merge(cf[["code", "set_id", "rid"]], on=["code", "set_id"], how="inner")
    wide = long.pivot_table(index=["urn", "year", "term"], columns="rid", values="n",
                            aggfunc="sum", fill_value=0)
    wide = wide.reindex(columns=range(len(reasons)), fill_value=0)
    wide.columns = reasons
    wide = wide.reset_index()
    wide_year = wide.groupby(["urn", "year"], as_index=False)[reasons].sum().assign(term=3)
    wide = pd.concat([wide, wide_year], ignore_index=True)
    for c in ("urn", "year", "term"):
        wide[c] = wide[c].astype("int64")
        sch[c] = sch[c].astype("int64")
    sch = sch.merge(wide, on=["urn", "year", "term"], how="left")
    sch["period"] = sch["term"].map(dict(enumerate([*TERMS, "year"])))
    sch = sch.drop(columns="term")
    sch = sch.rename(columns={"enrolled": "enrolments", "pa10": "enrolments_pa_10_exact",
                              "pa50": "enrolments_pa_50_exact"})
    front = ["urn", "year", "period", "enrolments", *_SUMS, "enrolments_pa_10_exact",
             "enrolments_pa_50_exact"]
    for c in [*front[3:], *reasons]:
        sch[c] = sch[c].fillna(0).astype("int64")
    order = {"autumn": 0, "spring": 1, "summer": 2, "year": 3}
    sch = (sch.assign(_o=sch["period"].map(order)).sort_values(["urn", "year", "_o"], kind="stable")
           .drop(columns="_o").reset_index(drop=True))
    sch = sch[[*front, *reasons]]

    dual = pupil_term.group_by(["pupil_id", "year", "term"]).aggregate(k=pupil_term.urn.nunique())
    dual_n = int(dual.filter(dual.k > 1).count().to_pandas())
    clock("dual registration")
    terms = sch[sch["period"] != "year"]
    counted = int(terms["sess_possible"].sum())
    not_counted = int(terms["sess_not_counted"].sum())
    unknown_n = int(unknown["marks"].sum()) if len(unknown) else 0
    malformed_n = int(malformed["marks"].sum()) if len(malformed) else 0
    marks_tally = {"read": read, "counted": counted, "not_counted": not_counted,
                   "unknown": unknown_n, "malformed": malformed_n}
    # the pivot must agree with the accounting mark for mark
    want = fine[fine["category"].notna()]
    read_check = int(acc["good"].sum() + acc["bad"].sum()) + no_date
    is_nc = want["category"] == CATEGORIES.index("not_counted")
    if (int(want.loc[~is_nc, "n"].sum()), int(want.loc[is_nc, "n"].sum())) != (counted, not_counted) \
            or counted + not_counted + unknown_n + malformed_n != read or read_check != read:
        raise AssertionError(f"register marks do not add up: {marks_tally}")
    settings = {"engine": engine,
                "terms": "autumn Aug-Dec, spring Jan-Easter Sunday, summer Easter Monday-Jul",
                "code_sets": "pre2024 up to 2023/24, 2024 from 2024/25",
                "persistent": "10 * overall >= possible", "severe": "2 * overall >= possible",
                "dual_registration": "per pupil x school; D not counted at the school recording it",
                "duplicates": ("checked: no mark repeats a pupil, school, date and session"
                               if duplicates == "error" else "not checked"),
                "seconds": dict(clock.steps)}
    return RegisterMeasures(schools=sch, pupils=pupils, pupil_reasons=pupil_reasons,
                            marks=marks_tally, unknown=unknown,
                            malformed=malformed, dual_registered=dual_n, settings=settings)
