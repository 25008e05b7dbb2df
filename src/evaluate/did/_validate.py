"""Check and prepare a unit x period panel for the estimators (shared by all of them).

Columns are passed by name; never treated is cohort 0 (an empty cohort is read as 0).
Every problem is an :class:`~evaluate.errors.InputError` naming the column and the first
offending row (0-based position in the data as given).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluate.errors import InputError


@dataclass(frozen=True)
class Prepared:
    """A validated panel: the columns the estimator needs, plus what was dropped."""

    data: pd.DataFrame
    outcome: str
    unit: str
    time: str
    cohort: str
    covariates: tuple[str, ...]
    weights: str | None
    cluster: str | None
    dropped_missing: int


def _first_bad(mask: pd.Series | np.ndarray) -> int:
    """The 0-based position of the first True in ``mask`` (report it as ``row=i + 1``: rows are 1-based)."""
    return int(np.flatnonzero(np.asarray(mask))[0])


def _numeric(df: pd.DataFrame, col: str, source: str | None) -> pd.Series:
    s = df[col]
    if pd.api.types.is_bool_dtype(s):
        return s.astype(float)
    if pd.api.types.is_numeric_dtype(s):
        return s.astype(float)
    conv = pd.to_numeric(s, errors="coerce")
    bad = conv.isna() & s.notna() & (s.astype("string").str.strip() != "")
    if bad.any():
        i = _first_bad(bad)
        raise InputError(f"'{s.iloc[i]}' is not a number", file=source, column=col, row=i + 1)
    return conv.astype(float)


def prepare(data: pd.DataFrame, *, outcome: str, unit: str, time: str, cohort: str,
            covariates: Sequence[str] = (), weights: str | None = None, cluster: str | None = None,
            source: str | None = None, extra_columns: Sequence[str] | None = None) -> Prepared:
    """Validate ``data`` and return the columns the estimators use.

    - Every named column exists; outcome, time, cohort, covariates and weights are numeric.
    - Cohort: 0 or empty = never treated; constant within a unit; not before the first period.
    - One row per unit and period.
    - Rows with a missing outcome, covariate or weight are dropped and counted
      (``dropped_missing``); weights must be positive; cluster must be constant within unit.
    - ``extra_columns`` are carried through unchanged.
    """
    if not isinstance(data, pd.DataFrame):
        raise InputError("data must be a pandas DataFrame", file=source)
    covariates = tuple(covariates or ())
    for role, col in [("outcome", outcome), ("unit", unit), ("time", time), ("cohort", cohort),
                      *[("covariate", c) for c in covariates], ("weights", weights), ("cluster", cluster)]:
        if col is not None and col not in data.columns:
            raise InputError(f"{role} column not found (columns: {', '.join(map(str, data.columns))})",
                             file=source, column=col)
    if len(data) == 0:
        raise InputError("no rows", file=source)
    keep = [unit, time, outcome, cohort, *covariates]
    if weights:
        keep.append(weights)
    if cluster and cluster not in keep:
        keep.append(cluster)
    keep.extend(c for c in (extra_columns or ()) if c not in keep)
    df = data.loc[:, list(dict.fromkeys(keep))].reset_index(drop=True).copy()
    for col in [outcome, time, *covariates] + ([weights] if weights else []):
        df[col] = _numeric(df, col, source)
    df[cohort] = _numeric(df, cohort, source).fillna(0.0)
    for col in (time, cohort):
        frac = (df[col] != np.round(df[col])) & df[col].notna()
        if frac.any():
            i = _first_bad(frac)
            raise InputError(f"'{df[col].iloc[i]}' is not a whole period", file=source, column=col, row=i + 1)
    if df[time].isna().any():
        raise InputError("missing period", file=source, column=time, row=_first_bad(df[time].isna()) + 1)
    if df[unit].isna().any():
        raise InputError("missing unit id", file=source, column=unit, row=_first_bad(df[unit].isna()) + 1)
    dup = df.duplicated([unit, time], keep="first")
    if dup.any():
        i = _first_bad(dup)
        raise InputError(f"duplicate row for unit '{df[unit].iloc[i]}' and period {df[time].iloc[i]:g}",
                         file=source, column=time, row=i + 1)
    g = df.groupby(unit, sort=False)[cohort]
    varies = g.transform("nunique") > 1
    if varies.any():
        i = _first_bad(varies)
        raise InputError(f"cohort changes within unit '{df[unit].iloc[i]}'", file=source, column=cohort, row=i + 1)
    if cluster:
        cv = df.groupby(unit, sort=False)[cluster].transform("nunique") > 1
        if cv.any():
            i = _first_bad(cv)
            raise InputError(f"cluster changes within unit '{df[unit].iloc[i]}'", file=source, column=cluster, row=i + 1)
    first = df[time].min()
    early = (df[cohort] > 0) & (df[cohort] < first)
    if early.any():
        i = _first_bad(early)
        raise InputError(f"unit '{df[unit].iloc[i]}' is treated in period {df[cohort].iloc[i]:g}, before the "
                         f"first period of the data ({first:g})", file=source, column=cohort, row=i + 1)
    if (df[cohort] < 0).any():
        i = _first_bad(df[cohort] < 0)
        raise InputError("negative cohort (use 0 for never treated)", file=source, column=cohort, row=i + 1)
    if weights:
        badw = df[weights].notna() & (df[weights] <= 0)
        if badw.any():
            i = _first_bad(badw)
            raise InputError("weights must be positive", file=source, column=weights, row=i + 1)
    need = [outcome, *covariates] + ([weights] if weights else [])
    missing = df[need].isna().any(axis=1)
    dropped = int(missing.sum())
    df = df.loc[~missing].reset_index(drop=True)
    if len(df) == 0:
        raise InputError("no rows left after dropping rows with a missing outcome, covariate or weight",
                         file=source, column=outcome)
    df[time] = df[time].astype("int64")
    df[cohort] = df[cohort].astype("int64")
    return Prepared(df, outcome, unit, time, cohort, covariates, weights, cluster, dropped)
