"""Pandera schemas for school-level absence rows and the panels.

Failures become :class:`~evaluate.errors.InputError` naming the file, the column and
the (first) row; no pandera traceback reaches the user.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from evaluate.data.invariants import ABSENCE_COUNTS, ABSENCE_PERCENTS, EES_ABSENCE
from evaluate.errors import InputError

#: The school-level absence counts and published percentages, as declared once in
#: :data:`evaluate.data.invariants.EES_ABSENCE` (this schema is built from that format).
COUNTS = list(ABSENCE_COUNTS)
#: published percentage column -> (numerator, denominator)
PERCENTS = dict(ABSENCE_PERCENTS)
EPS = 1e-6


def _both(df: pd.DataFrame, *cols: str) -> pd.Series:
    return df[list(cols)].notna().all(axis=1)


def _sum_check(total: str, parts: tuple[str, ...]):
    def check(d: pd.DataFrame) -> pd.Series:
        return ~_both(d, *parts, total) | ((sum(d[p] for p in parts) - d[total]).abs() < 0.5 + EPS)
    return check


def _at_most_check(small: str, large: str):
    def check(d: pd.DataFrame) -> pd.Series:
        return ~_both(d, small, large) | (d[small] <= d[large] + EPS)
    return check


def school_absence_schema(tolerance: dict[str, pd.Series] | None = None) -> pa.DataFrameSchema:
    """Schema of school-level absence rows after symbol conversion.

    Built from the relations of :data:`evaluate.data.invariants.EES_ABSENCE` (parts adding
    up to totals, counts at most others, published percentages equal to their counts).
    Checks apply where the cells are numbers (symbols are missing and recorded).
    ``tolerance`` maps a published percentage column to the allowed difference per row
    (half a unit of the published precision).
    """
    cols = {c: pa.Column(float, pa.Check.ge(0), nullable=True, required=True) for c in COUNTS}
    checks = []
    for rel in EES_ABSENCE.sums:
        checks.append(pa.Check(_sum_check(rel.total, rel.parts), name=rel.total,
                               error=f"{' + '.join(rel.parts)} != {rel.total}"))
    for rel in EES_ABSENCE.at_most:
        if rel.small in COUNTS and rel.large in COUNTS:
            checks.append(pa.Check(_at_most_check(rel.small, rel.large), name=rel.blame,
                                   error=f"{rel.small} > {rel.large}"))
    for rel in EES_ABSENCE.rates:
        pct, num, den = rel.rate, rel.numerator, rel.denominator
        tol = None if tolerance is None else tolerance.get(pct)
        checks.append(pa.Check(_pct_check(pct, num, den, tol), name=pct,
                               error=f"{pct} differs from 100 * {num} / {den}"))
    return pa.DataFrameSchema(cols, checks=checks, strict=False, coerce=False)


def _pct_check(pct: str, num: str, den: str, tol: pd.Series | None):
    def check(d: pd.DataFrame) -> pd.Series:
        if pct not in d.columns:
            return pd.Series(True, index=d.index)
        ok = _both(d, pct, num, den) & (d[den] > 0)
        rate = 100 * d[num] / d[den].where(d[den] > 0)
        t = 0.5 if tol is None else tol.reindex(d.index).fillna(0.5)
        return ~ok | ((rate - d[pct]).abs() <= t + 1e-7)
    return check


def panel_schema(term: bool) -> pa.DataFrameSchema:
    """Schema of ``panel_year`` (``term=False``) or ``panel_term``."""
    rate = pa.Column(float, [pa.Check.ge(0), pa.Check.le(100)], nullable=True)
    share = pa.Column(float, [pa.Check.ge(0), pa.Check.le(1)])
    cols = {
        "school_id": pa.Column("int64"), "urn": pa.Column("int64"), "year": pa.Column("int64"),
        "overall_absence_rate": rate, "authorised_rate": rate, "unauthorised_rate": rate,
        "pa_rate": rate, "severe_rate": rate,
        "hub_cohort": pa.Column("int64", pa.Check.ge(0)),
        "mentor_cohort": pa.Column("int64", pa.Check.ge(0)),
        "hub_exposure": share, "mentor_exposure": share,
    }
    keys = ["school_id", "year"]
    if term:
        cols["term"] = pa.Column(str, pa.Check.isin(["autumn", "spring", "summer"]))
        cols["term_index"] = pa.Column("int64")
        keys.append("term")
    return pa.DataFrameSchema(cols, unique=keys, strict=False)


def validate(df: pd.DataFrame, schema: pa.DataFrameSchema, *, file: str,
             rows: pd.Series | None = None, files: pd.Series | None = None) -> pd.DataFrame:
    """Validate ``df``; on failure raise an InputError for the first failing cell.

    Parameters
    ----------
    rows, files
        Per-row source data row and file (default: the index and ``file``).
    """
    try:
        return schema.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
        fc = fc[fc["index"].notna()] if fc["index"].notna().any() else fc
        first = fc.iloc[0]
        idx = first["index"]
        check = str(first["check"])
        column = first["column"] if isinstance(first["column"], str) else None
        named = {c.name: c for c in schema.checks} | {c.error: c for c in schema.checks}
        if check in named:
            column = named[check].name
            msg = named[check].error
        elif "uniqueness" in check or "unique" in check:
            column = "+".join(schema.unique or [])
            msg = f"duplicate key ({', '.join(schema.unique or [])})"
        else:
            msg = f"check {check} failed for value {first['failure_case']!r}"
        n = int(fc["index"].nunique()) if fc["index"].notna().any() else len(fc)
        row = None
        where = file
        if idx is not None and not (isinstance(idx, float) and np.isnan(idx)):
            row = int(rows.loc[idx]) if rows is not None else int(idx)
            if files is not None:
                where = str(files.loc[idx])
        raise InputError(f"{msg} ({n} row(s) fail this check)", file=where, column=column,
                         row=row) from None
