"""The LA x phase x period panel from a school panel: the mentor LA analysis without real LA files.

When the real DfE local-authority attendance files are not available, the LA-level
analysis of the mentor programme runs on the synthetic country instead: the school-year
and school-term panels are summed to local authority, phase and period, in the columns of
:func:`evaluate.data.la.panel.build_la_panel` (the same contract), so the same code runs
on both and the report says which it used.
"""

from __future__ import annotations

import datetime as dt
from importlib import resources

import numpy as np
import pandas as pd

from evaluate.data.la.panel import academic_label
from evaluate.data.programmes import term_bounds, year_bounds

__all__ = ["la_panel_from_schools", "PHASES"]

#: School-panel phase -> LA-panel phase. Alternative provision is not in the LA files.
PHASES = {"State-funded primary": "Primary", "State-funded secondary": "Secondary", "Special": "Special"}
_SUMS = {"sess_possible": "possible_sessions", "sess_overall": "overall_absence_sessions",
         "sess_authorised": "authorised_absence_sessions", "sess_unauthorised": "unauthorised_absence_sessions",
         "enrolments": "enrolments", "enrolments_pa_10_exact": "_pa"}


def _la_names() -> dict[str, str]:
    path = resources.files("evaluate.synthetic") / "local_authorities.csv"
    with resources.as_file(path) as p:
        la = pd.read_csv(p, dtype=str)
    return dict(zip(la["new_la_code"], la["la_name"], strict=True))


def _aggregate(panel: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    df = panel[panel["phase"].isin(PHASES)].assign(phase=lambda d: d["phase"].map(PHASES))
    by = df.groupby(["la_code", "region", "phase", *keys], sort=True)
    out = by[list(_SUMS)].sum(min_count=1).rename(columns=_SUMS)
    out["num_schools"] = by["school_id"].nunique().astype(float)
    out = out.reset_index()
    tot = (out.groupby(["la_code", "region", *keys], sort=True)
           [[*_SUMS.values(), "num_schools"]].sum(min_count=1).reset_index().assign(phase="Total"))
    return pd.concat([out, tot], ignore_index=True)


def la_panel_from_schools(panel_year: pd.DataFrame, panel_term: pd.DataFrame | None = None) -> pd.DataFrame:
    """Sum a school panel to the LA x phase x period panel (year and term rows).

    Parameters
    ----------
    panel_year, panel_term
        The school-year and school-term panels of :func:`evaluate.data.panel.build_panel`.

    Returns
    -------
    pandas.DataFrame
        The columns of the LA panel contract (``la_code``, ``la_name``, ``region``,
        ``phase`` with a ``Total``, ``period_type``, ``period``, ``year``, ``t``,
        ``start_date``, ``end_date``, the session counts and rates, ``pa_rate``,
        ``num_schools``, ``enrolments``). Alternative-provision schools are left out, as in
        DfE's LA files.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluate.data.la.synthetic import la_panel_from_schools
    >>> schools = pd.DataFrame({
    ...     "school_id": [1, 2, 1, 2], "year": [2022, 2022, 2023, 2023], "la_code": "E06000002",
    ...     "region": "North East", "phase": ["State-funded primary", "Special"] * 2,
    ...     "sess_possible": [1000, 500, 1000, 500], "sess_overall": [60, 50, 50, 50],
    ...     "sess_authorised": [40, 30, 35, 30], "sess_unauthorised": [20, 20, 15, 20],
    ...     "enrolments": [3, 2, 3, 2], "enrolments_pa_10_exact": [1, 1, 0, 1]})
    >>> la = la_panel_from_schools(schools)
    >>> la[la["phase"] == "Total"][["la_name", "period", "t", "overall_absence_rate", "pa_rate"]]
              la_name   period  t  overall_absence_rate  pa_rate
    4   Middlesbrough  2022/23  1             7.333333     40.0
    5   Middlesbrough  2023/24  2             6.666667     20.0
    """
    names = _la_names()
    parts = []
    year = _aggregate(panel_year, ["year"]).assign(period_type="year")
    bounds = year["year"].map(lambda y: year_bounds(int(y)))
    year["period"] = year["year"].map(lambda y: academic_label(int(y)))
    year["start_date"] = bounds.map(lambda b: b[0])
    year["end_date"] = bounds.map(lambda b: b[1])
    order = sorted(year["year"].unique())
    year["t"] = year["year"].map({y: i + 1 for i, y in enumerate(order)})
    parts.append(year)
    if panel_term is not None and len(panel_term):
        term = _aggregate(panel_term, ["year", "term"]).assign(period_type="term")
        rank = {"autumn": 0, "spring": 1, "summer": 2}
        keys = sorted({(int(y), str(t)) for y, t in zip(term["year"], term["term"], strict=True)},
                      key=lambda k: (k[0], rank[k[1]]))
        term["t"] = [keys.index((int(y), str(t))) + 1 for y, t in zip(term["year"], term["term"], strict=True)]
        term["period"] = [f"{academic_label(int(y))} {t}" for y, t in zip(term["year"], term["term"], strict=True)]
        b = [term_bounds(int(y), str(t)) for y, t in zip(term["year"], term["term"], strict=True)]
        term["start_date"] = [x[0] for x in b]
        term["end_date"] = [x[1] for x in b]
        parts.append(term.drop(columns="term"))
    out = pd.concat(parts, ignore_index=True)
    for c in ("start_date", "end_date"):
        out[c] = pd.to_datetime(out[c].map(lambda d: d if isinstance(d, dt.date) else None))
    den = out["possible_sessions"].where(out["possible_sessions"] > 0)
    out["overall_absence_rate"] = 100 * out["overall_absence_sessions"] / den
    out["authorised_absence_rate"] = 100 * out["authorised_absence_sessions"] / den
    out["unauthorised_absence_rate"] = 100 * out["unauthorised_absence_sessions"] / den
    out["pa_rate"] = 100 * out["_pa"] / out["enrolments"].where(out["enrolments"] > 0)
    out["la_name"] = out["la_code"].map(names).fillna(out["la_code"])
    out["year"] = out["year"].astype(np.int64)
    cols = ["la_code", "la_name", "region", "phase", "period_type", "period", "year", "t", "start_date",
            "end_date", "possible_sessions", "overall_absence_sessions", "authorised_absence_sessions",
            "unauthorised_absence_sessions", "overall_absence_rate", "authorised_absence_rate",
            "unauthorised_absence_rate", "pa_rate", "num_schools", "enrolments"]
    return out[cols].sort_values(["period_type", "la_code", "phase", "t"], kind="stable").reset_index(drop=True)
