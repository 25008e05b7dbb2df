"""Pandera schemas for school-level absence rows and the panels.

Failures become :class:`~evaluate.errors.InputError` naming the file, the column and
the (first) row; no pandera traceback reaches the user.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandera.pandas as pa

from evaluate.errors import InputError

COUNTS = ["enrolments", "sess_possible", "sess_overall", "sess_authorised", "sess_unauthorised",
          "enrolments_pa_10_exact", "enrolments_pa_50_exact"]
#: published percentage column -> (numerator, denominator)
PERCENTS = {
    "sess_overall_percent": ("sess_overall", "sess_possible"),
    "sess_authorised_percent": ("sess_authorised", "sess_possible"),
    "sess_unauthorised_percent": ("sess_unauthorised", "sess_possible"),
    "enrolments_pa_10_exact_percent": ("enrolments_pa_10_exact", "enrolments"),
    "enrolments_pa_50_exact_percent": ("enrolments_pa_50_exact", "enrolments"),
}
EPS = 1e-6


def _both(df: pd.DataFrame, *cols: str) -> pd.Series:
    return df[list(cols)].notna().all(axis=1)


def school_absence_schema(tolerance: dict[str, pd.Series] | None = None) -> pa.DataFrameSchema:
    """Schema of school-level absence rows after symbol conversion.

    Checks apply where the cells are numbers (symbols are missing and recorded).
    ``tolerance`` maps a published percentage column to the allowed difference per row
    (half a unit of the published precision).
    """
    cols = {c: pa.Column(float, pa.Check.ge(0), nullable=True, required=True) for c in COUNTS}
    checks = [
        pa.Check(lambda d: ~_both(d, "sess_authorised", "sess_unauthorised", "sess_overall")
                 | ((d["sess_authorised"] + d["sess_unauthorised"] - d["sess_overall"]).abs() < 0.5 + EPS),
                 name="sess_overall", error="sess_authorised + sess_unauthorised != sess_overall"),
        pa.Check(lambda d: ~_both(d, "sess_overall", "sess_possible")
                 | (d["sess_overall"] <= d["sess_possible"] + EPS),
                 name="sess_possible", error="sess_overall > sess_possible"),
        pa.Check(lambda d: ~_both(d, "enrolments_pa_50_exact", "enrolments_pa_10_exact")
                 | (d["enrolments_pa_50_exact"] <= d["enrolments_pa_10_exact"] + EPS),
                 name="enrolments_pa_50_exact", error="enrolments_pa_50_exact > enrolments_pa_10_exact"),
        pa.Check(lambda d: ~_both(d, "enrolments_pa_10_exact", "enrolments")
                 | (d["enrolments_pa_10_exact"] <= d["enrolments"] + EPS),
                 name="enrolments_pa_10_exact", error="enrolments_pa_10_exact > enrolments"),
    ]
    for pct, (num, den) in PERCENTS.items():
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
