"""The invariants of every input format, stated once per format, and the check of a file.

A :class:`Format` says, for one kind of file, what every column may hold
(:class:`Column`: a count, an amount, a rate, a date, a code from a pattern or a known
list, or free text; whether it must be filled; whether it must agree across rows with
another column) and how the columns relate (keys unique per release, parts that add up
to a total, one count at most another, a published rate equal to its numerator over its
denominator). :data:`FORMATS` holds every format the package reads; ``docs/data-formats.md``
describes them and :func:`describe` prints them.

:func:`breaches` checks the cells of a file as read (strings) against its format and
returns every breach as an :class:`~evaluate.errors.InputError` naming the file, the
column and the 1-based data row; :func:`enforce` raises the first. The readers enforce
(``read_ees``, ``read_establishments``, ``read_links``, the programme readers);
``evaluate data check`` lists every breach.

DfE's suppression symbols (``c``, ``x``, ``z``, ``low``, ``u``, ``:``, ``.``, ``NaN``,
``NA`` and the empty cell) are never a breach in a measure column: they mean "no number
here" and are recorded by :mod:`evaluate.data.symbols`.

Examples
--------
>>> import pandas as pd
>>> from evaluate.data.invariants import FORMATS, breaches
>>> raw = pd.DataFrame({"time_period": ["202324", "202324"], "time_identifier": ["Academic year"] * 2,
...                     "geographic_level": ["National"] * 2, "country_code": ["E92000001"] * 2,
...                     "country_name": ["England"] * 2, "education_phase": ["Total"] * 2,
...                     "possible_sessions": ["-500", "1000"]}, index=[1, 2])
>>> [str(b) for b in breaches(raw, FORMATS["ees_attendance"], file="la.csv")]
["file la.csv, column 'possible_sessions', row 1: -500 is negative (a count cannot be)", "file la.csv, column 'geographic_level', row 2: duplicate key (time_period 202324, time_identifier Academic year, geographic_level National, country_code E92000001, education_phase Total): the same as row 1"]
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from evaluate.data.symbols import SYMBOLS, decimal_places, parse_numbers, strip_cells
from evaluate.errors import InputError

Kind = Literal["count", "amount", "rate", "integer", "date", "code", "text"]
#: Most breaches reported per check (a file with a wrong column would give one per row).
MAX_PER_CHECK = 200


@dataclass(frozen=True)
class Column:
    """What one column may hold.

    Parameters
    ----------
    kind
        ``count`` (a whole number >= 0), ``amount`` (a number >= 0, e.g. a daily
        average), ``rate`` (a percentage from 0 to 100), ``integer`` (a whole number from
        ``minimum`` to ``maximum``), ``date`` (in ``date_format``), ``code`` (matching
        ``pattern`` or one of ``values``) or ``text`` (anything).
    required
        ``True``: never empty; a set of geographic levels: never empty on rows at those
        levels; ``False``: may be empty.
    same_for
        Another column: rows with the same value there must agree here (an LA's name
        given with its code, a school's name with its URN).
    symbols
        Whether DfE symbols stand for "no value" here (measures, some codes).
    in_year
        A date that must fall in the row's academic year (1 August to 31 July).
    minimum, maximum
        The range of an ``integer``.
    wording
        How the allowed values are described in messages (default: from the rule).
    """

    kind: Kind
    required: bool | frozenset[str] = False
    pattern: str | None = None
    values: frozenset[str] | None = None
    same_for: str | None = None
    symbols: bool = False
    date_format: str = "%Y-%m-%d"
    in_year: bool = False
    minimum: float | None = None
    maximum: float | None = None
    wording: str | None = None

    def domain(self) -> str:
        """The values allowed, in words."""
        if self.wording is not None:
            return self.wording
        if self.kind == "count":
            return "a whole number, 0 or more" + (" (or a DfE symbol)" if self.symbols else "")
        if self.kind == "amount":
            return "a number, 0 or more" + (" (or a DfE symbol)" if self.symbols else "")
        if self.kind == "rate":
            return "a percentage from 0 to 100" + (" (or a DfE symbol)" if self.symbols else "")
        if self.kind == "integer":
            return f"a whole number from {self.minimum:g} to {self.maximum:g}"
        if self.kind == "date":
            fmt = self.date_format.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD")
            return f"a date {fmt}" + (" in the row's academic year" if self.in_year else "")
        if self.kind == "code":
            if self.values is not None:
                vals = sorted(self.values)
                return "one of " + ", ".join(repr(v) for v in vals[:8]) + (", ..." if len(vals) > 8 else "")
            return f"a code matching {self.pattern}"
        return "free text"


@dataclass(frozen=True)
class Key:
    """Columns that together identify a row (those present in the file are used).

    ``levels``: the key applies to rows at these geographic levels (None: every row);
    ``blame``: the column named in the message.
    """

    columns: tuple[str, ...]
    blame: str
    levels: frozenset[str] | None = None


@dataclass(frozen=True)
class Sum:
    """``parts`` (columns, or columns matching ``pattern``) add up to ``total`` (to 0.5)."""

    total: str
    parts: tuple[str, ...] = ()
    pattern: str | None = None


@dataclass(frozen=True)
class AtMost:
    """``small <= large`` in every row where both are numbers; ``blame`` is named."""

    small: str
    large: str
    blame: str
    dates: bool = False


@dataclass(frozen=True)
class RateOf:
    """``rate = 100 * numerator / denominator`` to ``tolerance`` percentage points
    (``None``: half a unit of the published precision)."""

    rate: str
    numerator: str
    denominator: str
    tolerance: float | None = None


RowCheck = Callable[[pd.DataFrame, str, "pd.Series | None"], list[InputError]]


@dataclass(frozen=True)
class Format:
    """The invariants of one kind of file."""

    name: str
    title: str
    columns: Mapping[str, Column]
    families: tuple[tuple[str, Column], ...] = ()
    keys: tuple[Key, ...] = ()
    sums: tuple[Sum, ...] = ()
    at_most: tuple[AtMost, ...] = ()
    rates: tuple[RateOf, ...] = ()
    checks: tuple[tuple[str, RowCheck], ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def rule(self, column: str) -> Column | None:
        """The rule of ``column``: by name, else by the first family pattern it matches."""
        if column in self.columns:
            return self.columns[column]
        for pattern, col in self.families:
            if re.search(pattern, column):
                return col
        return None


# --- the formats -----------------------------------------------------------------------

GEOGRAPHIC_LEVELS = frozenset({
    "National", "Regional", "Local authority", "Local authority district", "Parliamentary constituency",
    "Local skills improvement plan area", "Local enterprise partnership", "English devolved area",
    "Opportunity area", "Ward", "MAT", "Sponsor", "School", "Provider", "Institution", "Planning area"})
# School rows may lack their geography (a school file built from registers without the GIAS
# extract leaves it empty); where it is given it must agree with the school's other rows.
LA_LEVELS = frozenset({"Local authority"})
REGION_LEVELS = frozenset({"Regional", "Local authority"})
_TIME_IDENT = r"Academic year|Autumn term|Spring term|Summer term|Autumn and spring term|Full academic year|Week \d{1,2}"

_EES_BASE: dict[str, Column] = {
    "time_period": Column("code", True, pattern=r"\d{4}|\d{6}"),
    "time_identifier": Column("code", True, pattern=_TIME_IDENT),
    "time_frame": Column("code", values=frozenset({"Year to date", "Week", "Weekly"})),
    "geographic_level": Column("code", True, values=GEOGRAPHIC_LEVELS),
    "country_code": Column("code", True, values=frozenset({"E92000001"})),
    "country_name": Column("text", True, same_for="country_code"),
    "region_code": Column("code", REGION_LEVELS, pattern=r"E1200000[1-9]|E1300000[12]", symbols=True,
                          same_for="new_la_code"),
    "region_name": Column("text", REGION_LEVELS, same_for="region_code"),
    "new_la_code": Column("code", LA_LEVELS, pattern=r"E(06|07|08|09|10)\d{6}", symbols=True),
    "old_la_code": Column("code", pattern=r"\d{3}", same_for="new_la_code", symbols=True),
    "la_name": Column("text", LA_LEVELS, same_for="new_la_code"),
    "education_phase": Column("code", True, values=frozenset({
        "State-funded primary", "Primary", "State-funded secondary", "Secondary", "Special",
        "State-funded special", "Special school", "State-funded AP school", "Alternative provision",
        "Pupil referral unit", "PRU", "Total", "All schools", "State-funded total"})),
    "school_urn": Column("code", frozenset({"School"}), pattern=r"[1-9]\d*", wording="a number (a URN)"),
    "school_laestab": Column("code", pattern=r"\d{7}", same_for="school_urn"),
    "school_name": Column("text", same_for="school_urn"),
    # the long table of releases (shared data): provenance and week columns
    "academic_year": Column("code", True, pattern=r"\d{4}/\d{2}"),
    "breakdown": Column("code", True, values=frozenset({"weekly", "ytd"})),
    "calendar_year": Column("code", True, pattern=r"\d{4}"),
    "week_number": Column("integer", True, minimum=1, maximum=53),
    "week_commencing": Column("date", True),
    "week_ending_friday": Column("date", True, in_year=True),
    "week_source": Column("text", True),
    "snapshot_commit": Column("code", True, pattern=r"[0-9a-f]{40}"),
    "snapshot_commit_date": Column("date", True),
    "content_first_commit_date": Column("date"),
    "n_snapshots": Column("integer", True, minimum=1, maximum=10_000),
}
_RATE = Column("rate", symbols=True)
_COUNT = Column("count", symbols=True)
_AMOUNT = Column("amount", symbols=True)
_RATE_FAMILY = (r"_(perc|percent)$", _RATE)


def _time_checks(raw: pd.DataFrame, file: str, years: pd.Series | None) -> list[InputError]:
    """Week columns agree with each other and with the time columns (long table of releases)."""
    out: list[InputError] = []
    if {"calendar_year", "week_number", "week_ending_friday"} <= set(raw.columns):
        cache: dict[tuple[str, str], str | None] = {}

        def friday(c: str, w: str) -> str | None:
            if (c, w) not in cache:
                try:
                    cache[(c, w)] = dt.date.fromisocalendar(int(c), int(w), 5).isoformat()
                except ValueError:
                    cache[(c, w)] = None
            return cache[(c, w)]

        want = pd.Series([friday(c, w) for c, w in zip(raw["calendar_year"], raw["week_number"], strict=True)],
                         index=raw.index, dtype=object)
        bad = want.notna() & (want != raw["week_ending_friday"])
        out += _each(bad, raw, file, "week_ending_friday",
                     lambda i: f"{raw.at[i, 'week_ending_friday']} is not the Friday of week "
                               f"{raw.at[i, 'week_number']} of {raw.at[i, 'calendar_year']} ({want[i]})")
        if "week_commencing" in raw.columns:
            mon = pd.to_datetime(want, errors="coerce") - pd.Timedelta(days=4)
            got = pd.to_datetime(raw["week_commencing"], format="%Y-%m-%d", errors="coerce")
            bad = mon.notna() & got.notna() & (mon != got)
            out += _each(bad, raw, file, "week_commencing",
                         lambda i: f"{raw.at[i, 'week_commencing']} is not the Monday of the week "
                                   f"ending {want[i]}")
    if {"time_identifier", "week_number"} <= set(raw.columns):
        wk = raw["time_identifier"].str.extract(r"^Week (\d+)$")[0]
        bad = wk.notna() & (wk != raw["week_number"])
        out += _each(bad, raw, file, "week_number",
                     lambda i: f"week {raw.at[i, 'week_number']} but time_identifier "
                               f"'{raw.at[i, 'time_identifier']}'")
        if "calendar_year" in raw.columns and "time_period" in raw.columns:
            bad = wk.notna() & (raw["time_period"] != raw["calendar_year"])
            out += _each(bad, raw, file, "calendar_year",
                         lambda i: f"calendar year {raw.at[i, 'calendar_year']} but time_period "
                                   f"{raw.at[i, 'time_period']} on a weekly row")
    if "academic_year" in raw.columns and years is not None:
        y = pd.to_numeric(years.reindex(raw.index), errors="coerce")
        label = y.map(lambda v: f"{int(v)}/{(int(v) + 1) % 100:02d}" if v == v else "")
        bad = (label != "") & (raw["academic_year"] != label)
        out += _each(bad, raw, file, "academic_year",
                     lambda i: f"'{raw.at[i, 'academic_year']}' but time_period "
                               f"{raw.at[i, 'time_period']} is {label[i]}")
    return out


_EES_KEYS = (
    Key(("time_period", "time_identifier", "breakdown", "week_number", "week_ending_friday", "school_urn"),
        "school_urn",
        levels=frozenset({"School"})),
    Key(("time_period", "time_identifier", "breakdown", "week_number", "week_ending_friday",
         "geographic_level", "country_code",
         "region_code", "new_la_code", "lad_code", "pcon_code", "education_phase"), "geographic_level",
        levels=GEOGRAPHIC_LEVELS - {"School"}),
)

ATTENDANCE_COUNTS = ("possible_sessions", "present_sessions", "overall_attendance",
                     "approved_educational_activity", "overall_absence", "authorised_absence",
                     "unauthorised_absence", "late_sessions")
#: Published attendance rate -> numerator (denominator: possible sessions).
ATTENDANCE_RATES = {
    "overall_absence_perc": "overall_absence", "authorised_absence_perc": "authorised_absence",
    "unauthorised_absence_perc": "unauthorised_absence", "attendance_perc": "overall_attendance",
    "illness_perc": "reason_i_authorised_illness", "appointments_perc": "reason_m_authorised_medical_dental",
    "unauth_hol_perc": "reason_g_unauthorised_holiday", "unauth_oth_perc": "reason_o_other_unauthorised",
    "unauth_late_registers_closed_perc": "reason_u_unauthorised_late_after_registers_closed",
    "unauth_not_yet_perc": "reason_n_no_reason_yet",
    "auth_religious_perc": "reason_r_authorised_religious_observance",
    "auth_study_perc": "reason_s_authorised_study_leave", "auth_grt_perc": "reason_t_authorised_mobile_child",
    "auth_mob_perc": "reason_t_authorised_mobile_child", "auth_holiday_perc": "reason_h_authorised_holiday",
    "auth_excluded_perc": "reason_e_authorised_excluded", "auth_other_perc": "reason_c_authorised_other",
    "auth_performance_perc": "reason_c1_authorised_regulated_performance",
    "auth_interview_perc": "reason_j1_authorised_interview",
    "auth_part_time_perc": "reason_c2_authorised_temp_reduced_timetable",
    "covid_non_compulsory_perc": "reason_x_not_attending_covid_non_compulsory",
}

EES_ATTENDANCE = Format(
    "ees_attendance", "EES pupil attendance (LA, regional and national; weekly, year to date, long table)",
    columns={**_EES_BASE, **{c: _COUNT for c in ATTENDANCE_COUNTS},
             "num_schools": _AMOUNT, "enrolments": _AMOUNT, "total_num_schools": _AMOUNT,
             "total_enrolments": _AMOUNT, "pa_perc": _RATE},
    families=((r"^reason_", _COUNT), _RATE_FAMILY),
    keys=_EES_KEYS,
    sums=(Sum("overall_absence", ("authorised_absence", "unauthorised_absence")),
          Sum("possible_sessions", ("overall_attendance", "overall_absence")),
          Sum("overall_attendance", ("present_sessions", "approved_educational_activity")),
          Sum("present_sessions", ("reason_present", "reason_l_present_late_before_registers_closed")),
          Sum("reason_present", ("reason_present_am", "reason_present_pm")),
          Sum("late_sessions", ("reason_l_present_late_before_registers_closed",
                                "reason_u_unauthorised_late_after_registers_closed")),
          Sum("unauthorised_absence", pattern=r"^reason_(g|u|o|n)_")),
    at_most=(AtMost("num_schools", "enrolments", "num_schools"),),
    rates=tuple(RateOf(r, n, "possible_sessions", tolerance=0.5) for r, n in ATTENDANCE_RATES.items()),
    checks=(("week columns agree", _time_checks),),
    notes=("num_schools and enrolments are daily averages, so fractional; they may exceed "
           "total_num_schools and total_enrolments (a different basis), so that is not checked",
           "published rates may differ from 100 * sessions / possible sessions by up to 0.38 "
           "percentage points in the year-to-date releases (a different basis): 0.5 is allowed",
           "authorised and approved-activity reasons do not add up to their totals in every "
           "release (codes change between years): not checked"),
)

#: School-level and aggregate absence counts (school census, and the synthetic country).
ABSENCE_COUNTS = ("enrolments", "sess_possible", "sess_overall", "sess_authorised", "sess_unauthorised",
                  "enrolments_pa_10_exact", "enrolments_pa_50_exact")
#: Published absence percentage -> (numerator, denominator).
ABSENCE_PERCENTS = {
    "sess_overall_percent": ("sess_overall", "sess_possible"),
    "sess_authorised_percent": ("sess_authorised", "sess_possible"),
    "sess_unauthorised_percent": ("sess_unauthorised", "sess_possible"),
    "enrolments_pa_10_exact_percent": ("enrolments_pa_10_exact", "enrolments"),
    "enrolments_pa_50_exact_percent": ("enrolments_pa_50_exact", "enrolments"),
}

EES_ABSENCE = Format(
    "ees_absence", "EES pupil absence (school level, and national / regional / LA aggregates)",
    columns={**_EES_BASE, **{c: _COUNT for c in ABSENCE_COUNTS}, "num_schools": _COUNT},
    families=(_RATE_FAMILY,),
    keys=_EES_KEYS,
    sums=(Sum("sess_overall", ("sess_authorised", "sess_unauthorised")),),
    at_most=(AtMost("sess_overall", "sess_possible", "sess_possible"),
             AtMost("enrolments_pa_50_exact", "enrolments_pa_10_exact", "enrolments_pa_50_exact"),
             AtMost("enrolments_pa_10_exact", "enrolments", "enrolments_pa_10_exact"),
             AtMost("num_schools", "enrolments", "num_schools")),
    rates=tuple(RateOf(p, n, d) for p, (n, d) in ABSENCE_PERCENTS.items()),
    checks=(("week columns agree", _time_checks),),
)

EES_OTHER = Format(
    "ees", "Any other EES file (e.g. the persistent-absence explorer)",
    columns={**_EES_BASE, "pa_perc": _RATE, "num_schools": _AMOUNT, "enrolments": _AMOUNT},
    families=(_RATE_FAMILY,),
    keys=_EES_KEYS,
    checks=(("week columns agree", _time_checks),),
)

_URN = Column("code", True, pattern=r"[1-9]\d*", wording="a number (a URN)")
GIAS_GROUPS = frozenset({"Academies", "Colleges", "Free Schools", "Independent schools",
                         "Local authority maintained schools", "Special schools", "Welsh schools",
                         "Universities", "Other types", "Online provider"})
GIAS_ESTABLISHMENTS = Format(
    "gias_establishments", "GIAS establishments (edubasealldata.csv)",
    columns={
        "URN": _URN,
        "LA (code)": Column("code", pattern=r"\d{3}"),
        "LA (name)": Column("text", same_for="LA (code)"),
        "EstablishmentNumber": Column("code", pattern=r"\d{1,4}"),
        "EstablishmentName": Column("text", True),
        "TypeOfEstablishment (name)": Column("text"),
        "EstablishmentTypeGroup (name)": Column("code", values=GIAS_GROUPS),
        "EstablishmentStatus (name)": Column("code", values=frozenset({
            "Open", "Closed", "Open, but proposed to close", "Proposed to open"})),
        "OpenDate": Column("date", date_format="%d-%m-%Y"),
        "CloseDate": Column("date", date_format="%d-%m-%Y"),
        "PhaseOfEducation (name)": Column("code", values=frozenset({
            "Not applicable", "Nursery", "Primary", "Middle deemed primary", "Secondary",
            "Middle deemed secondary", "16 plus", "All-through"})),
        "Town": Column("text"),
        "GOR (name)": Column("text"),
        "DistrictAdministrative (code)": Column("code", pattern=r"[EWSN]\d{8}"),
        "Trusts (code)": Column("code", pattern=r"\d+"),
        "Trusts (name)": Column("text", same_for="Trusts (code)"),
        "NumberOfPupils": Column("count"),
        "PercentageFSM": Column("rate"),
        "OfstedRating (name)": Column("code", values=frozenset({
            "Outstanding", "Good", "Requires improvement", "Inadequate", "Serious Weaknesses",
            "Special Measures"})),
        "ReasonEstablishmentOpened (name)": Column("text"),
        "ReasonEstablishmentClosed (name)": Column("text"),
    },
    keys=(Key(("URN",), "URN"),),
    at_most=(AtMost("OpenDate", "CloseDate", "CloseDate", dates=True),),
)

LINK_TYPES = frozenset({
    "Successor", "Predecessor", "Successor - merged", "Predecessor - merged", "Successor - amalgamated",
    "Predecessor - amalgamated", "Result of Amalgamation", "Successor - Split School",
    "Predecessor - Split School", "Sixth Form Centre School", "Sixth Form Centre Link", "Other",
    "Merged - expansion in school capacity and changer in age range", "Merged - change in age range",
    "Merged - expansion of school capacity", "Expansion", "Closure"})


def _not_self(raw: pd.DataFrame, file: str, years: pd.Series | None) -> list[InputError]:
    bad = (raw["URN"] == raw["LinkURN"]) & (raw["URN"] != "")
    return _each(bad, raw, file, "LinkURN", lambda i: f"URN {raw.at[i, 'URN']} is linked to itself")


GIAS_LINKS = Format(
    "gias_links", "GIAS links (links_edubasealldata.csv)",
    columns={"URN": _URN, "LinkURN": _URN, "LinkName": Column("text", same_for="LinkURN"),
             "LinkType": Column("code", True, values=LINK_TYPES),
             "LinkEstablishedDate": Column("date", date_format="%d-%m-%Y")},
    keys=(Key(("URN", "LinkURN"), "LinkURN"),),
    checks=(("no link to itself", _not_self),),
)

GIAS_TYPES = Format(
    "gias_types", "GIAS establishment types",
    columns={"establishment-type-group-code": Column("code", True, pattern=r"\d+"),
             "establishment-type-group-name": Column("text", True,
                                                     same_for="establishment-type-group-code"),
             "type-of-establishment-code": Column("code", True, pattern=r"\d+"),
             "type-of-establishment-name": Column("text", True, same_for="type-of-establishment-code"),
             "further-education-type-name-applicable": Column("text")},
    keys=(Key(("type-of-establishment-code", "further-education-type-name-applicable"),
              "type-of-establishment-code"),),
)

_PROGRAMME_DATE = Column("date", True)
HUBS = Format(
    "hubs", "Attendance hubs (programmes/hubs.csv)",
    columns={"hub_id": Column("code", True, pattern=r"[A-Za-z0-9][A-Za-z0-9 _./-]{0,63}"),
             "lead_urn": Column("code", True, pattern=r"[1-9]\d*", same_for="hub_id",
                                wording="a number (a URN)"),
             "member_urn": _URN, "join_date": _PROGRAMME_DATE,
             "hub_name": Column("text", same_for="hub_id"),
             "wave": Column("code", pattern=r"[A-Za-z0-9][A-Za-z0-9 _-]{0,19}", same_for="hub_id")},
    keys=(Key(("member_urn",), "member_urn"),),
)


def _coverage(raw: pd.DataFrame, file: str, years: pd.Series | None) -> list[InputError]:
    if "coverage" not in raw.columns or "area" not in raw.columns:
        return []
    bad = ((raw["coverage"] == "partial") & (raw["area"] == "")) | (
        (raw["coverage"] == "whole") & (raw["area"] != ""))
    return _each(bad, raw, file, "coverage",
                 lambda i: f"coverage '{raw.at[i, 'coverage']}' with area '{raw.at[i, 'area']}' "
                           "(a partial area names its town; a whole LA names none)")


_LA_CODE = Column("code", True, pattern=r"E(06|07|08|09|10)\d{6}")
MENTOR_AREAS = Format(
    "mentor_areas", "Attendance-mentor areas (programmes/mentor_areas.csv)",
    columns={"new_la_code": _LA_CODE, "la_name": Column("text", True, same_for="new_la_code"),
             "start_date": _PROGRAMME_DATE, "announced_date": Column("date"), "area": Column("text"),
             "coverage": Column("code", values=frozenset({"whole", "partial"})),
             "provider": Column("text")},
    families=((r".", Column("text")),),
    keys=(Key(("new_la_code", "area"), "new_la_code"),),
    at_most=(AtMost("announced_date", "start_date", "announced_date", dates=True),),
    checks=(("coverage agrees with area", _coverage),),
)
PRIORITY_AREAS = Format(
    "priority_areas", "Priority education investment areas (programmes/priority_areas.csv)",
    columns={"new_la_code": _LA_CODE, "la_name": Column("text", True),
             "coverage": Column("code", values=frozenset({"whole", "partial"})), "area": Column("text")},
    families=((r".", Column("text")),),
    keys=(Key(("new_la_code",), "new_la_code"),),
    checks=(("coverage agrees with area", _coverage),),
)

#: Register marks: checked row by row while streaming by :func:`evaluate.registers.check_csv`
#: (the key is checked by :func:`evaluate.registers.register_measures`, ``duplicates='error'``).
REGISTER_MARKS = Format(
    "register_marks", "Register marks (evaluate registers build)",
    columns={"pupil_id": Column("text", True), "urn": Column("code", True, pattern=r"\d{1,9}"),
             "date": Column("date", True), "session": Column("code", True, values=frozenset({"AM", "PM"})),
             "code": Column("code", True, pattern=r"\S{1,4}", wording="an attendance code of 1 to 4 characters")},
    keys=(Key(("pupil_id", "urn", "date", "session"), "session"),),
    notes=("unknown attendance codes (of at most 4 characters) are counted and shown with "
           "examples, not refused", "a pupil id has at most 256 characters"),
)

#: Every format, by name.
FORMATS: dict[str, Format] = {f.name: f for f in (
    EES_ATTENDANCE, EES_ABSENCE, EES_OTHER, GIAS_ESTABLISHMENTS, GIAS_LINKS, GIAS_TYPES, HUBS,
    MENTOR_AREAS, PRIORITY_AREAS, REGISTER_MARKS)}


def ees_format(columns: Sequence[str]) -> Format:
    """The EES format of a file with these (renamed) columns."""
    cols = set(columns)
    if "sess_possible" in cols or "sess_overall" in cols:
        return EES_ABSENCE
    if "possible_sessions" in cols or "overall_absence" in cols:
        return EES_ATTENDANCE
    return EES_OTHER


# --- checking ----------------------------------------------------------------------------


def _each(mask: pd.Series, raw: pd.DataFrame, file: str, column: str,
          message: Callable[[object], str]) -> list[InputError]:
    """One InputError per row of ``mask`` (at most :data:`MAX_PER_CHECK`)."""
    m = np.asarray(pd.Series(mask).fillna(False).to_numpy(), dtype=bool)
    return _at(raw.index.to_numpy()[m], file, column, message)


def _at(rows: np.ndarray, file: str, column: str, message: Callable[[object], str]) -> list[InputError]:
    if len(rows) == 0:
        return []
    out = [InputError(message(i), file=file, column=column, row=int(i)) for i in rows[:MAX_PER_CHECK]]
    if len(rows) > MAX_PER_CHECK:
        out[-1] = InputError(f"{out[-1].message} (and {len(rows) - MAX_PER_CHECK} more rows like it)",
                             file=file, column=column, row=out[-1].row)
    return out


_SYMBOL_SET = list(SYMBOLS)
_NUMERIC = ("count", "amount", "rate", "integer")


def _years(raw: pd.DataFrame) -> pd.Series | None:
    if "time_period" not in raw.columns:
        return None
    tp = raw["time_period"].astype(str)
    six = tp.str.fullmatch(r"\d{6}")
    year = pd.to_numeric(tp.str.slice(0, 4).where(six, None), errors="coerce")
    if "week_ending_friday" in raw.columns:
        d = pd.to_datetime(raw["week_ending_friday"], format="%Y-%m-%d", errors="coerce")
        year = year.fillna(d.dt.year.where(d.dt.month >= 8, d.dt.year - 1))
    return year


def _strip(raw: pd.DataFrame) -> pd.DataFrame:
    """The cells as stripped Python strings (missing -> empty), same index and columns."""
    cols = {c: strip_cells(raw[c].to_numpy(dtype=object)) for c in raw.columns}
    return pd.DataFrame(cols, index=raw.index, dtype=object)


def breaches(raw: pd.DataFrame, fmt: Format, *, file: str,
             years: pd.Series | None = None) -> list[InputError]:
    """Every breach of ``fmt`` in ``raw`` (cells as read, column names as in ``fmt``).

    Parameters
    ----------
    raw
        The file's cells as strings, indexed by 1-based data row.
    fmt
        Its format (:data:`FORMATS`).
    file
        The file's name for the messages.
    years
        The academic year of each row (default: from ``time_period``), for dates that
        must fall in it.

    Returns
    -------
    list of InputError
        In the order of the checks: cells (column by column), keys, sums, orderings,
        rates, other checks; at most :data:`MAX_PER_CHECK` per check.
    """
    raw = _strip(raw)
    rows = raw.index.to_numpy()
    out: list[InputError] = []
    nums: dict[str, np.ndarray] = {}
    dates: dict[str, pd.Series] = {}
    if years is None:
        years = _years(raw)
    level = raw["geographic_level"].to_numpy(dtype=object) if "geographic_level" in raw.columns else None
    rules = {c: fmt.rule(c) for c in raw.columns}
    rules = {c: r for c, r in rules.items() if r is not None}
    # numbers: every numeric column at once
    num_cols = [c for c, r in rules.items() if r.kind in _NUMERIC]
    if num_cols:
        block = raw[num_cols].to_numpy(dtype=object)
        is_sym, values = parse_numbers(block.ravel())
        is_sym, values = is_sym.reshape(block.shape), values.reshape(block.shape)
    for col, rule in rules.items():
        text = raw[col].to_numpy(dtype=object)
        empty = text == ""
        if rule.symbols:
            symbol = np.isin(text, _SYMBOL_SET) if rule.kind not in _NUMERIC else is_sym[:, num_cols.index(col)]
        else:
            symbol = empty
        if rule.required is True:
            need = np.ones(len(text), dtype=bool)
        elif rule.required and level is not None:
            need = np.isin(level, list(rule.required))
        else:
            need = np.zeros(len(text), dtype=bool)
        out += _at(rows[need & symbol], file, col,
                   lambda i, c=col: "empty, but a value is required" if raw.at[i, c] == "" else
                   f"'{raw.at[i, c]}' where a value is required")
        filled = ~symbol
        if rule.kind in _NUMERIC:
            j = num_cols.index(col)
            v = values[:, j].copy()
            bad = filled & ~np.isfinite(v) & ~is_sym[:, j]
            if not rule.symbols:
                bad |= filled & is_sym[:, j]
            out += _at(rows[bad], file, col, lambda i, c=col: f"'{_short(raw.at[i, c])}' is not a number")
            v[~filled | bad] = np.nan
            nums[col] = v
            with np.errstate(invalid="ignore"):
                if rule.kind in ("count", "amount", "rate"):
                    out += _at(rows[v < 0], file, col,
                               lambda i, c=col, k=rule.kind: f"{raw.at[i, c]} is negative (a {k} cannot be)")
                if rule.kind in ("count", "integer"):
                    out += _at(rows[np.abs(v - np.round(v)) > 1e-9], file, col,
                               lambda i, c=col: f"{raw.at[i, c]} is not a whole number")
                if rule.kind == "rate":
                    out += _at(rows[v > 100 + 1e-9], file, col,
                               lambda i, c=col: f"{raw.at[i, c]} is more than 100 (a percentage)")
                if rule.kind == "integer":
                    out += _at(rows[(v < rule.minimum) | (v > rule.maximum)], file, col,
                               lambda i, c=col, r=rule: f"{raw.at[i, c]} is outside {r.minimum:g} to {r.maximum:g}")
        elif rule.kind == "date":
            d = _parse_dates(text, filled, rule.date_format)
            out += _at(rows[filled & d.isna().to_numpy()], file, col,
                       lambda i, c=col, r=rule: f"'{_short(raw.at[i, c])}' is not {r.domain()}")
            d.index = raw.index
            dates[col] = d
            if rule.in_year and years is not None:
                y = pd.to_numeric(years.reindex(raw.index), errors="coerce")
                start = y.fillna(1970).astype("int64")
                lo = pd.to_datetime(start.astype(str) + "-08-01").where(y.notna())
                hi = pd.to_datetime((start + 1).astype(str) + "-07-31").where(y.notna())
                bad = (d.notna() & lo.notna() & ((d < lo) | (d > hi))).to_numpy()
                out += _at(rows[bad], file, col,
                           lambda i, c=col: f"{raw.at[i, c]} is outside the academic year of "
                                            f"time_period {raw.at[i, 'time_period']}")
        elif rule.kind == "code":
            ok = _codes_ok(text, rule)
            out += _at(rows[filled & ~ok], file, col,
                       lambda i, c=col, r=rule: f"'{_short(raw.at[i, c])}' is not {r.domain()}")
        if rule.same_for is not None and rule.same_for in raw.columns:
            out += _disagree(raw, col, rule.same_for, filled, file)
    out += _keys(raw, fmt, file)
    out += _sums(raw, fmt, nums, file)
    for rel in fmt.at_most:
        if rel.dates and rel.small in dates and rel.large in dates:
            a, b = dates[rel.small], dates[rel.large]
            bad = (a.notna() & b.notna() & (a > b)).to_numpy()
        elif not rel.dates and rel.small in nums and rel.large in nums:
            a, b = nums[rel.small], nums[rel.large]
            with np.errstate(invalid="ignore"):
                bad = a > b + 1e-9
        else:
            continue
        out += _at(rows[bad], file, rel.blame,
                   lambda i, r=rel: f"{r.small} > {r.large} ({raw.at[i, r.small]} > {raw.at[i, r.large]})")
    out += _rates(raw, fmt, nums, file)
    for _, check in fmt.checks:
        out += check(raw, file, years)
    return out


def _parse_dates(text: np.ndarray, filled: np.ndarray, fmt: str) -> pd.Series:
    uniq = pd.unique(text[filled]) if filled.any() else np.array([], dtype=object)
    parsed = pd.to_datetime(pd.Series(uniq, dtype=object), format=fmt, errors="coerce")
    pos = pd.Index(uniq).get_indexer(text)
    vals = np.where(filled & (pos >= 0), parsed.to_numpy()[np.maximum(pos, 0)] if len(uniq) else
                    np.datetime64("NaT"), np.datetime64("NaT"))
    return pd.Series(vals.astype("datetime64[ns]"))


def _codes_ok(text: np.ndarray, rule: Column) -> np.ndarray:
    uniq = pd.unique(text)
    if rule.values is not None:
        good = [u for u in uniq if u in rule.values]
    else:
        pat = re.compile(rule.pattern)
        good = [u for u in uniq if pat.fullmatch(u)]
    return pd.Index(good, dtype=object).get_indexer(text) >= 0


def _short(v: str, n: int = 60) -> str:
    return v if len(v) <= n else v[:n] + f"... ({len(v):,} characters)"


def _disagree(raw: pd.DataFrame, col: str, key: str, filled: np.ndarray, file: str) -> list[InputError]:
    """Rows whose ``col`` differs from the value most rows give for the same ``key``."""
    keys = raw[key].to_numpy(dtype=object)
    vals = raw[col].to_numpy(dtype=object)
    use = np.flatnonzero((keys != "") & filled)
    if len(use) < 2:
        return []
    kc, _ = pd.factorize(keys[use])
    vc, vu = pd.factorize(vals[use])
    pair = kc.astype(np.int64) * len(vu) + vc
    pairs, first, count = np.unique(pair, return_index=True, return_counts=True)
    pk = pairs // len(vu)
    distinct = np.bincount(pk, minlength=kc.max() + 1)
    if (distinct <= 1).all():
        return []
    # the usual value of each key: the most frequent, ties to the first met
    order = np.lexsort((first, -count, pk))
    usual_pair = np.full(kc.max() + 1, -1, dtype=np.int64)
    usual_first = np.zeros(kc.max() + 1, dtype=np.int64)
    for p, f in zip(pairs[order][::-1], first[order][::-1], strict=True):
        usual_pair[p // len(vu)], usual_first[p // len(vu)] = p, f
    bad = pair != usual_pair[kc]
    if not bad.any():
        return []
    idx = raw.index.to_numpy()
    rows = idx[use[bad]]
    want = {keys[use[usual_first[k]]]: (vals[use[usual_first[k]]], idx[use[usual_first[k]]])
            for k in np.unique(kc[bad])}
    return _at(rows, file, col,
               lambda i: f"'{_short(raw.at[i, col])}' differs from '{_short(want[raw.at[i, key]][0])}' "
                         f"given for {key} {raw.at[i, key]} in row {int(want[raw.at[i, key]][1])}")


def _keys(raw: pd.DataFrame, fmt: Format, file: str) -> list[InputError]:
    out: list[InputError] = []
    for key in fmt.keys:
        cols = [c for c in key.columns if c in raw.columns]
        if not cols:
            continue
        rows = raw
        if key.levels is not None:
            if "geographic_level" not in raw.columns:
                continue
            rows = raw[raw["geographic_level"].isin(list(key.levels))]
        if rows.empty:
            continue
        seen: dict[tuple, object] = {}
        dup_rows = []
        for i, vals in zip(rows.index, zip(*(rows[c].to_numpy(dtype=object) for c in cols), strict=True),
                           strict=True):
            if vals in seen:
                dup_rows.append(i)
            else:
                seen[vals] = i
        if not dup_rows:
            continue
        blame = key.blame if key.blame in raw.columns else cols[-1]

        def msg(i, cols=cols, seen=seen):
            vals = tuple(raw.at[i, c] for c in cols)
            where = ", ".join(f"{c} {_short(v)}" if v != "" else f"{c} (empty)" for c, v in zip(cols, vals, strict=True))
            return f"duplicate key ({where}): the same as row {int(seen[vals])}"
        out += _at(np.array(dup_rows), file, blame, msg)
    return out


def _sums(raw: pd.DataFrame, fmt: Format, nums: Mapping[str, np.ndarray], file: str) -> list[InputError]:
    out: list[InputError] = []
    rows = raw.index.to_numpy()
    for rel in fmt.sums:
        parts = list(rel.parts) if rel.pattern is None else [c for c in raw.columns if re.search(rel.pattern, c)]
        if not parts or rel.total not in nums or any(p not in nums for p in parts):
            continue
        total = np.sum([nums[p] for p in parts], axis=0)
        with np.errstate(invalid="ignore"):
            bad = np.abs(total - nums[rel.total]) > 0.5
        out += _at(rows[bad], file, rel.total,
                   lambda i, r=rel, p=parts, t=total: f"{' + '.join(p) if len(p) <= 3 else f'the {len(p)} columns {p[0]} ... {p[-1]}'}"
                                                      f" = {t[raw.index.get_loc(i)]:.12g}, not {r.total} {raw.at[i, r.total]}")
    return out


def _decimals(text: np.ndarray) -> np.ndarray:
    return decimal_places(text).astype("float64")


def _rates(raw: pd.DataFrame, fmt: Format, nums: Mapping[str, np.ndarray], file: str) -> list[InputError]:
    out: list[InputError] = []
    rows = raw.index.to_numpy()
    for rel in fmt.rates:
        if not {rel.rate, rel.numerator, rel.denominator} <= set(nums):
            continue
        den = nums[rel.denominator]
        with np.errstate(invalid="ignore", divide="ignore"):
            rate = 100 * nums[rel.numerator] / np.where(den > 0, den, np.nan)
            tol = (rel.tolerance if rel.tolerance is not None
                   else 0.5 * 10.0 ** (-_decimals(raw[rel.rate].to_numpy(dtype=object))) + 1e-9)
            bad = np.abs(rate - nums[rel.rate]) > tol + 1e-7
        out += _at(rows[bad], file, rel.rate,
                   lambda i, r=rel, q=rate: f"{raw.at[i, r.rate]} differs from 100 * {r.numerator} / "
                                            f"{r.denominator} = {q[raw.index.get_loc(i)]:.6g}")
    return out


def enforce(raw: pd.DataFrame, fmt: Format, *, file: str, years: pd.Series | None = None) -> None:
    """Raise the first breach of ``fmt`` in ``raw`` (see :func:`breaches`).

    Raises
    ------
    InputError
        Naming the file, the column and the row; the message says how many breaches
        there are in all (``evaluate data check`` lists them).
    """
    found = breaches(raw, fmt, file=file, years=years)
    if found:
        first = found[0]
        more = f" ({len(found) - 1} more problem(s) in the file: evaluate data check lists them)" if len(found) > 1 else ""
        raise InputError(first.message + more, file=first.file, column=first.column, row=first.row)


def describe(fmt: Format) -> str:
    """The invariants of ``fmt`` as Markdown (for the documentation and ``--help``).

    Examples
    --------
    >>> from evaluate.data.invariants import FORMATS, describe
    >>> print(describe(FORMATS["priority_areas"]).splitlines()[0])
    ### Priority education investment areas (programmes/priority_areas.csv) (`priority_areas`)
    """
    lines = [f"### {fmt.title} (`{fmt.name}`)", "", "| column | holds | filled | agrees with |",
             "|---|---|---|---|"]
    for col, rule in fmt.columns.items():
        req = ("always" if rule.required is True else
               ("on " + ", ".join(sorted(rule.required)) + " rows") if rule.required else "may be empty")
        lines.append(f"| {col} | {rule.domain()} | {req} | {rule.same_for or ''} |")
    for pattern, rule in fmt.families:
        lines.append(f"| columns matching `{pattern}` | {rule.domain()} | may be empty | |")
    lines.append("")
    for key in fmt.keys:
        lvl = f" (rows at {', '.join(sorted(key.levels))})" if key.levels and len(key.levels) < 4 else ""
        lines.append(f"- unique key{lvl}: {', '.join(key.columns)} (those present)")
    for s in fmt.sums:
        lines.append(f"- {' + '.join(s.parts) if s.parts else f'columns matching `{s.pattern}`'} = {s.total}")
    for a in fmt.at_most:
        lines.append(f"- {a.small} <= {a.large}")
    for r in fmt.rates:
        tol = "half a unit of the published precision" if r.tolerance is None else f"{r.tolerance} points"
        lines.append(f"- {r.rate} = 100 * {r.numerator} / {r.denominator} (to {tol})")
    for name, _ in fmt.checks:
        lines.append(f"- {name}")
    for n in fmt.notes:
        lines.append(f"- not checked: {n}" if n.endswith("not checked") else f"- note: {n}")
    return "\n".join(lines)
