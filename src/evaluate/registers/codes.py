"""The national attendance and absence codes: one table, both code sets.

Every register mark carries one code. A code falls in one **category**:

``present``
    Attending the school (``/`` morning, ``\\`` afternoon, ``L`` late before registers
    close). Counts in possible sessions, not absence.
``aea``
    Approved educational activity (attending somewhere else the school approved: off-site
    education, sport, trips, work experience, LA-arranged provision). Counts in possible
    sessions as attendance, not absence.
``authorised``
    Authorised absence. Counts in possible sessions and in absence.
``unauthorised``
    Unauthorised absence. Counts in possible sessions and in absence.
``not_counted``
    Not a possible session for this school: attendance not required (``X``), not
    possible to attend (``Q``, ``Y``, ``Y1``-``Y7``), planned whole-school closure
    (``#``), not on roll (``Z``) or dual registered and attending the other school
    (``D``). The mark is counted in the register summary but not in any measure.

So ``sess_possible = present + aea + authorised + unauthorised`` and
``sess_overall = authorised + unauthorised``.

Two code sets apply, chosen by the mark's **academic year** (1 August to 31 July):

``pre2024``
    The codes of the School Attendance (Pupil Registration) Regulations before August
    2024, used for academic years up to 2023/24.
``2024``
    The codes of the School Attendance (Pupil Registration) (England) Regulations 2024
    and DfE's "Working together to improve school attendance" (August 2024), in force
    from 19 August 2024, used for academic years 2024/25 onward. New: ``C1``, ``C2``,
    ``J1``, ``K``, ``Q``, ``Y1``-``Y7``; withdrawn: ``H`` (holiday), ``J`` (interview,
    now ``J1`` and an authorised absence instead of an approved activity) and ``Y``
    (replaced by ``Y1``-``Y7``).

A code that is valid only in the other set (``H`` in 2025, ``C1`` in 2022) or in
neither is an **unknown code**: it is counted and reported with examples by
:func:`evaluate.registers.register_measures`, never put in a category.

Uncertain treatments (stated, so they can be changed in one place):

- ``D`` (dual registered, attending the other school) is ``not_counted`` in both sets:
  the main school does not count the session as possible, the other school records
  the pupil's attendance in its own register (see ``docs/registers.md``).
- ``Q`` (unable to attend for lack of access arrangements, usually transport the LA
  should arrange) is ``not_counted`` ("not possible to attend"), not authorised absence.
- ``Y5`` (in criminal-justice detention) is ``not_counted`` as DfE's guidance says; before
  2024 schools used ``Y`` or ``B`` for it depending on the case.
- ``X`` (non-compulsory school age not required to attend; in 2020-22 also COVID
  circumstances) is ``not_counted`` in both sets.
- ``F`` (agreed extended family holiday) was withdrawn in 2013 and ``-`` (no mark) is
  not a code: both are unknown in both sets.

Reason columns are named as in DfE's attendance files on explore-education-statistics
(``reason_i_authorised_illness`` ...); ``T`` uses the 2024/25 name
``reason_t_authorised_mobile_child`` in both sets, as the data layer renames the old
``reason_t_authorised_grt_absence`` (:data:`evaluate.data.ees.RENAMES`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

__all__ = ["CATEGORIES", "CODE_SETS", "CODES", "Code", "code_set_of_year", "code_table",
           "lookup", "reason_columns"]

#: The categories, in the order measures are reported.
CATEGORIES: tuple[str, ...] = ("present", "aea", "authorised", "unauthorised", "not_counted")
#: The code sets and the first academic year (start year) each applies to.
CODE_SETS: dict[str, int] = {"pre2024": 0, "2024": 2024}


@dataclass(frozen=True)
class Code:
    """One register code in one code set.

    Attributes
    ----------
    code
        The mark as written in the register (``/``, ``C1``, ``#`` ...).
    code_set
        ``'pre2024'`` or ``'2024'``.
    category
        One of :data:`CATEGORIES`.
    reason
        The reason column the mark is counted in (EES attendance-file naming).
    meaning
        DfE's description, shortened.

    Examples
    --------
    >>> from evaluate.registers import CODES
    >>> first = CODES[0]
    >>> first.code, first.code_set, first.category
    ('/', 'pre2024', 'present')
    """

    code: str
    code_set: str
    category: str
    reason: str
    meaning: str


_BOTH = ("pre2024", "2024")
_PRE = ("pre2024",)
_NEW = ("2024",)
# (code, sets, category, reason column, meaning)
_ROWS: list[tuple[str, tuple[str, ...], str, str, str]] = [
    ("/", _BOTH, "present", "reason_present_am", "present (morning)"),
    ("\\", _BOTH, "present", "reason_present_pm", "present (afternoon)"),
    ("L", _BOTH, "present", "reason_l_present_late_before_registers_closed",
     "late, arrived before registers closed"),
    ("B", _BOTH, "aea", "reason_b_aea_education_off_site",
     "off-site educational activity (2024: any other approved educational activity)"),
    ("J", _PRE, "aea", "reason_j_aea_interview", "at an interview (approved activity until 2023/24)"),
    ("K", _NEW, "aea", "reason_k_aea_la_arranged_provision",
     "attending education provision arranged by the local authority"),
    ("P", _BOTH, "aea", "reason_p_aea_approved_sporting_activity",
     "approved sporting activity"),
    ("V", _BOTH, "aea", "reason_v_aea_educational_visit_trip", "educational visit or trip"),
    ("W", _BOTH, "aea", "reason_w_aea_work_experience", "work experience"),
    ("C", _BOTH, "authorised", "reason_c_authorised_other",
     "leave of absence for exceptional circumstances (other authorised)"),
    ("C1", _NEW, "authorised", "reason_c1_authorised_regulated_performance",
     "leave for a regulated performance or employment abroad"),
    ("C2", _NEW, "authorised", "reason_c2_authorised_temp_reduced_timetable",
     "leave for a temporarily reduced (part-time) timetable"),
    ("E", _BOTH, "authorised", "reason_e_authorised_excluded",
     "suspended or excluded, no alternative provision"),
    ("H", _PRE, "authorised", "reason_h_authorised_holiday",
     "holiday authorised by the school (withdrawn in 2024)"),
    ("I", _BOTH, "authorised", "reason_i_authorised_illness", "illness (not appointments)"),
    ("J1", _NEW, "authorised", "reason_j1_authorised_interview",
     "leave for an interview (authorised absence from 2024/25)"),
    ("M", _BOTH, "authorised", "reason_m_authorised_medical_dental",
     "medical or dental appointment"),
    ("R", _BOTH, "authorised", "reason_r_authorised_religious_observance",
     "religious observance"),
    ("S", _BOTH, "authorised", "reason_s_authorised_study_leave", "study leave"),
    ("T", _BOTH, "authorised", "reason_t_authorised_mobile_child",
     "mobile child: parent travelling for occupation (until 2023/24: Traveller absence)"),
    ("G", _BOTH, "unauthorised", "reason_g_unauthorised_holiday",
     "holiday not authorised by the school"),
    ("N", _BOTH, "unauthorised", "reason_n_no_reason_yet", "reason not yet provided"),
    ("O", _BOTH, "unauthorised", "reason_o_other_unauthorised",
     "absent in other or unknown circumstances"),
    ("U", _BOTH, "unauthorised", "reason_u_unauthorised_late_after_registers_closed",
     "arrived after registers closed"),
    ("D", _BOTH, "not_counted", "reason_d_aea_dual_registration",
     "dual registered: attending the other school (not possible here)"),
    ("X", _BOTH, "not_counted", "reason_x_not_attending_not_required",
     "not required to attend (non-compulsory school age; 2020-22 also COVID)"),
    ("Q", _NEW, "not_counted", "reason_q_not_attending_lack_of_access_arrangements",
     "unable to attend: lack of access arrangements (not possible to attend)"),
    ("Y", _PRE, "not_counted", "reason_y_not_attending_enforced_closure",
     "unable to attend: exceptional circumstances or enforced closure"),
    ("Y1", _NEW, "not_counted", "reason_y1_not_attending_transport_not_available",
     "unable to attend: transport normally provided not available"),
    ("Y2", _NEW, "not_counted", "reason_y2_not_attending_widespread_disruption",
     "unable to attend: widespread disruption to travel"),
    ("Y3", _NEW, "not_counted", "reason_y3_not_attending_part_school_closed",
     "unable to attend: part of the school premises closed"),
    ("Y4", _NEW, "not_counted", "reason_y4_not_attending_whole_school_closed",
     "unable to attend: unexpected whole-school closure"),
    ("Y5", _NEW, "not_counted", "reason_y5_not_attending_criminal_justice_detention",
     "unable to attend: in criminal-justice detention"),
    ("Y6", _NEW, "not_counted", "reason_y6_not_attending_public_health",
     "unable to attend: public-health guidance or law"),
    ("Y7", _NEW, "not_counted", "reason_y7_not_attending_other_unavoidable",
     "unable to attend: any other unavoidable cause"),
    ("Z", _BOTH, "not_counted", "reason_z_not_attending_not_on_roll",
     "not on roll (pupil not yet or no longer on roll)"),
    ("#", _BOTH, "not_counted", "reason_not_attending_planned_closed",
     "planned whole-school closure"),
]

#: Every (code, code set) as a :class:`Code`, in table order.
CODES: tuple[Code, ...] = tuple(
    Code(code, s, cat, reason, meaning)
    for code, sets, cat, reason, meaning in _ROWS for s in sets
)


def code_set_of_year(year: int) -> str:
    """The code set of academic year ``year`` (its start year).

    Examples
    --------
    >>> from evaluate.registers import code_set_of_year
    >>> code_set_of_year(2023), code_set_of_year(2024)
    ('pre2024', '2024')
    """
    return "2024" if year >= CODE_SETS["2024"] else "pre2024"


def lookup(code: str, code_set: str) -> Code | None:
    """The :class:`Code` of ``code`` in ``code_set``; ``None`` when it is not a code there.

    Examples
    --------
    >>> from evaluate.registers import lookup
    >>> lookup("J1", "2024").category, lookup("J", "pre2024").category
    ('authorised', 'aea')
    >>> lookup("H", "2024") is None
    True
    """
    if code_set not in CODE_SETS:
        raise ValueError(f"unknown code set {code_set!r} (known: {', '.join(CODE_SETS)})")
    for c in CODES:
        if c.code == code and c.code_set == code_set:
            return c
    return None


def reason_columns() -> list[str]:
    """Every reason column, in table order (each appears once).

    Examples
    --------
    >>> from evaluate.registers import reason_columns
    >>> cols = reason_columns()
    >>> cols[0], "reason_c1_authorised_regulated_performance" in cols
    ('reason_present_am', True)
    """
    return list(dict.fromkeys(c.reason for c in CODES))


def code_table() -> pd.DataFrame:
    """The code table as a frame: ``code, code_set, category, reason, meaning``.

    Examples
    --------
    >>> from evaluate.registers import code_table
    >>> t = code_table()
    >>> t.groupby("code_set").size().to_dict()
    {'2024': 34, 'pre2024': 25}
    """
    return pd.DataFrame([c.__dict__ for c in CODES],
                        columns=["code", "code_set", "category", "reason", "meaning"])
