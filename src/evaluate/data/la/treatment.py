"""Mentor-programme treatment of local authorities, from the editable programme file.

The package ships the public facts in ``mentor_areas_public.csv`` (one row per area, with
``announced_date``, ``start_date`` (the actual start), ``coverage``, ``confidence`` and the
``source`` address) and the 24 priority education investment areas in
``priority_areas_public.csv``. Users may pass their own file in the same format
(:func:`evaluate.data.programmes.read_mentor_areas` checks it).

Assumption (documented in the file): Middlesbrough's month is not public; 1 November
2022 is used (as in the synthetic data), which makes 2022/23 its first mostly exposed
year. The partial areas (Hastings, Ipswich, Norwich, West Somerset) are parts of East
Sussex, Suffolk, Norfolk and Somerset: ``partial='include'`` treats those whole LAs
(diluted), ``partial='exclude'`` drops them from the analysis.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from evaluate.data.programmes import (
    MOSTLY_EXPOSED,
    cohort_of,
    exposure_share,
    read_mentor_areas,
    read_priority_areas,
)
from evaluate.errors import InputError

__all__ = ["public_file", "read_public_mentor_areas", "read_public_priority_areas",
           "mentor_treatment", "add_treatment"]

TREATMENT_COLUMNS = ["la_code", "la_name", "start_date", "announced_date", "actual_date",
                     "coverage", "included", "cohort_year"]


def public_file(name: str) -> Path:
    """Path of a programme file shipped with the package (``mentor_areas_public.csv``...).

    Examples
    --------
    >>> from evaluate.data.la.treatment import public_file
    >>> public_file("priority_areas_public.csv").name
    'priority_areas_public.csv'
    """
    return Path(str(resources.files("evaluate.data") / name))


def read_public_mentor_areas(path: str | Path | None = None) -> pd.DataFrame:
    """Read the mentor-areas file (default: the shipped public one).

    Examples
    --------
    >>> from evaluate.data.la.treatment import read_public_mentor_areas
    >>> areas = read_public_mentor_areas()
    >>> len(areas), int((areas["coverage"] == "partial").sum())
    (15, 4)
    """
    path = Path(path) if path is not None else public_file("mentor_areas_public.csv")
    return read_mentor_areas(path, label=path.name)


def read_public_priority_areas(path: str | Path | None = None) -> pd.DataFrame:
    """Read the priority-areas file (default: the shipped list of 24 LAs).

    Examples
    --------
    >>> from evaluate.data.la.treatment import read_public_priority_areas
    >>> len(read_public_priority_areas())
    24
    """
    path = Path(path) if path is not None else public_file("priority_areas_public.csv")
    return read_priority_areas(path, label=path.name)


def mentor_treatment(areas: pd.DataFrame | str | Path | None = None, *, start: str = "actual",
                     partial: str = "include") -> pd.DataFrame:
    """One row per mentor LA: the chosen start date, whether it is included, its cohort year.

    Parameters
    ----------
    areas
        The programme file as read by :func:`read_public_mentor_areas`, a path to one,
        or None for the shipped public file.
    start
        ``'actual'`` (``start_date``) or ``'announced'`` (``announced_date``).
    partial
        ``'include'`` (partial areas treat their whole LA) or ``'exclude'``
        (``included`` False: such LAs are dropped by :func:`add_treatment`).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TREATMENT_COLUMNS`; ``cohort_year`` is the first academic year
        mostly exposed (:func:`evaluate.data.programmes.cohort_of`), 0 when excluded.
        An LA listed in several rows takes its earliest start and is partial if any row is.

    Raises
    ------
    InputError
        A bad ``start`` or ``partial``, or an empty chosen date.

    Examples
    --------
    >>> from evaluate.data.la.treatment import mentor_treatment
    >>> tr = mentor_treatment(start="announced", partial="exclude")
    >>> tr.groupby("cohort_year")["la_code"].count().to_dict()
    {0: 4, 2022: 1, 2023: 4, 2024: 6}
    >>> mentor_treatment()["cohort_year"].value_counts().sort_index().to_dict()
    {2022: 1, 2023: 4, 2025: 10}
    """
    if start not in ("actual", "announced"):
        raise InputError(f"start must be 'actual' or 'announced', not {start!r}",
                         column="mentor_start")
    if partial not in ("include", "exclude"):
        raise InputError(f"partial must be 'include' or 'exclude', not {partial!r}",
                         column="partial_areas")
    if areas is None or isinstance(areas, (str, Path)):
        areas = read_public_mentor_areas(areas)
    df = areas.copy()
    if "announced_date" not in df.columns:
        df["announced_date"] = pd.NaT
    col = "start_date" if start == "actual" else "announced_date"
    if df[col].isna().any():
        i = df.index[df[col].isna().to_numpy()][0]
        raise InputError(f"date is empty (needed for start='{start}')", column=col, row=int(i))
    df["_partial"] = df["coverage"] == "partial"
    g = df.groupby("new_la_code", sort=True)
    out = pd.DataFrame({
        "la_code": g.size().index.astype(object),
        "la_name": g["la_name"].first().to_numpy(),
        "start_date": pd.to_datetime(g[col].min().to_numpy()),
        "announced_date": pd.to_datetime(g["announced_date"].min().to_numpy()),
        "actual_date": pd.to_datetime(g["start_date"].min().to_numpy()),
        "coverage": np.where(g["_partial"].any().to_numpy(), "partial", "whole"),
    })
    out["included"] = (out["coverage"] == "whole") | (partial == "include")
    out["cohort_year"] = np.array([cohort_of(d.date())[0] if inc else 0 for d, inc in
                                   zip(out["start_date"], out["included"], strict=True)],
                                  dtype=np.int64)
    return out[TREATMENT_COLUMNS]


def add_treatment(panel: pd.DataFrame, treatment: pd.DataFrame,
                  priority: pd.DataFrame | None = None) -> pd.DataFrame:
    """Add ``cohort``, ``treated``, ``priority_area`` (and ``coverage``) to the LA panel.

    ``cohort`` is, within each ``period_type``, the first ``t`` at which the LA is
    treated (0 = never treated); ``treated`` is ``t >= cohort > 0``. Year rows use the
    ``cohort_year`` of :func:`mentor_treatment`; term and fortnight rows use the same
    "mostly exposed" rule on their own days (the first period at least 75% of whose days
    from ``start_date`` to ``end_date`` are on or after the start). A start after the
    last period observed gives cohort 0 (not treated within the data). LAs with
    ``included`` False are dropped; their codes are in ``attrs['excluded_las']`` and the
    rows dropped in ``attrs['rows_dropped']``.

    Parameters
    ----------
    panel
        :attr:`LAPanel.panel <evaluate.data.la.panel.LAPanel.panel>`.
    treatment
        From :func:`mentor_treatment`.
    priority
        Priority areas (``new_la_code``); default the shipped list.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluate.data.la.treatment import add_treatment, mentor_treatment
    >>> panel = pd.DataFrame({"la_code": ["E06000002"] * 2 + ["E06000003"] * 2,
    ...     "period_type": "year", "year": [2022, 2023] * 2, "t": [1, 2] * 2,
    ...     "start_date": pd.to_datetime(["2022-08-29", "2023-08-28"] * 2),
    ...     "end_date": pd.to_datetime(["2023-07-28", "2024-07-26"] * 2)})
    >>> out = add_treatment(panel, mentor_treatment())
    >>> out[["cohort", "treated", "priority_area"]].values.tolist()
    [[1, True, True], [1, True, True], [0, False, False], [0, False, False]]
    """
    if priority is None:
        priority = read_public_priority_areas()
    tr = treatment.set_index("la_code")
    excluded = sorted(tr.index[~tr["included"].astype(bool)])
    keep = ~panel["la_code"].isin(excluded)
    out = panel[keep.to_numpy()].copy()
    out["cohort"] = np.zeros(len(out), dtype=np.int64)
    cy = out["la_code"].map(tr["cohort_year"]).fillna(0).astype(np.int64)
    for kind, g in out.groupby("period_type"):
        periods = g[["t", "year", "start_date", "end_date"]].drop_duplicates("t").sort_values("t")
        for code in g["la_code"].unique():
            if code not in tr.index or not tr.at[code, "included"]:
                continue
            s = tr.at[code, "start_date"]
            if kind == "year":
                hit = periods[periods["year"] >= cy[g.index[g["la_code"] == code][0]]]
            else:
                share = [exposure_share(s.date(), a.date(), b.date())
                         for a, b in zip(periods["start_date"], periods["end_date"], strict=True)]
                hit = periods[np.asarray(share) >= MOSTLY_EXPOSED]
            if len(hit):
                out.loc[g.index[(g["la_code"] == code).to_numpy()], "cohort"] = int(hit["t"].iloc[0])
    out["treated"] = (out["cohort"] > 0) & (out["t"] >= out["cohort"])
    out["priority_area"] = out["la_code"].isin(set(priority["new_la_code"]))
    out["coverage"] = out["la_code"].map(tr["coverage"]).fillna("none")
    out.attrs["excluded_las"] = excluded
    out.attrs["rows_dropped"] = int((~keep).sum())
    return out
