"""Primary and secondary suppression of a table of counts: the one gate to publication.

A table is a pandas frame whose count columns are named in a :class:`TableSpec`, with
the additive structure a reader could use to subtract back to a hidden cell:

* ``column_totals``: a column that is the sum of other count columns of the same row
  (``total = primary + secondary + special``);
* ``row_total``: rows whose ``column`` holds ``label`` are the totals of the other rows
  of their group (rows with equal values in ``group_by``), column by column.

Each total and its parts form a *line*. Primary suppression hides counts from 1 to
threshold - 1 (pupils; schools too when a school threshold is set). Secondary suppression
(:func:`evaluate.disclosure.protect.protect`) then hides the fewest further cells, totals
last, so that no hidden cell can be narrowed down by the lines to a range narrower than
its threshold (the *interval of protection*: a reader cannot tell a hidden 3 from 0 or
from 10), which also means no hidden cell can be worked out exactly. It is the cell
suppression problem of tau-ARGUS and sdcTable, solved as a mixed-integer programme with
HiGHS and checked by linear programming. Rates computed from a hidden count are hidden
too. :func:`evaluate.disclosure.audit_table` checks the result independently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from evaluate.disclosure.protect import protect
from evaluate.disclosure.rules import CountKind, DisclosureRules
from evaluate.errors import InputError

SUPPRESSED = "c"

Cell = tuple[int, str]  # (row position, column name)


@dataclass(frozen=True)
class TableSpec:
    """Which columns of a table are counts, and how its totals add up.

    Parameters
    ----------
    counts
        Count column -> ``"pupils"`` or ``"schools"``.
    rates
        Rate or percentage column -> the count columns of the same row it is computed
        from; it is hidden when any of them is.
    column_totals
        Total column -> the count columns it sums (in the same row).
    row_total
        ``(column, label)``: rows whose ``column`` equals ``label`` total the other rows
        of their group.
    group_by
        Columns whose values define the groups of ``row_total`` (empty: one group).
    hidden
        Count columns used to decide suppression (e.g. the numerator of a rate) but not
        published: they are dropped from the controlled table.

    Examples
    --------
    >>> from evaluate.disclosure import TableSpec
    >>> spec = TableSpec(counts={"pupils": "pupils"}, row_total=("area", "Total"))
    >>> spec.count_columns()
    ['pupils']
    """

    counts: Mapping[str, CountKind]
    rates: Mapping[str, Sequence[str]] = field(default_factory=dict)
    column_totals: Mapping[str, Sequence[str]] = field(default_factory=dict)
    row_total: tuple[str, Any] | None = None
    group_by: Sequence[str] = ()
    hidden: Sequence[str] = ()

    def count_columns(self) -> list[str]:
        """The count columns, in the order given."""
        return list(self.counts)

    def to_dict(self) -> dict[str, Any]:
        """The spec as a JSON-ready mapping (stored beside a published table)."""
        return {"counts": dict(self.counts), "rates": {k: list(v) for k, v in self.rates.items()},
                "column_totals": {k: list(v) for k, v in self.column_totals.items()},
                "row_total": list(self.row_total) if self.row_total else None,
                "group_by": list(self.group_by), "hidden": list(self.hidden)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TableSpec:
        """The inverse of :meth:`to_dict`."""
        rt = d.get("row_total")
        return cls(counts=dict(d["counts"]), rates={k: tuple(v) for k, v in d.get("rates", {}).items()},
                   column_totals={k: tuple(v) for k, v in d.get("column_totals", {}).items()},
                   row_total=tuple(rt) if rt else None, group_by=tuple(d.get("group_by", ())),
                   hidden=tuple(d.get("hidden", ())))


@dataclass(frozen=True)
class ControlledTable:
    """A table after disclosure control.

    Attributes
    ----------
    table
        The publishable table: counts and rates as numbers, or ``"c"`` where suppressed;
        ``hidden`` columns dropped; pupil counts rounded when the rules say so.
    primary, secondary
        The cells suppressed for being small, and to protect them, as ``(row, column)``
        pairs (row = position in the table).
    spec, rules
        What was applied.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluate.disclosure import TableSpec, control_table
    >>> df = pd.DataFrame({"area": ["A", "B", "C", "Total"], "pupils": [3, 40, 52, 95]})
    >>> out = control_table(df, TableSpec(counts={"pupils": "pupils"}, row_total=("area", "Total")))
    >>> out.table["pupils"].tolist()
    ['c', 'c', 52, 95]
    >>> out.summary()
    '2 of 4 cells suppressed: 1 primary (below the threshold), 1 secondary (protecting them).'
    """

    table: pd.DataFrame
    primary: frozenset[Cell]
    secondary: frozenset[Cell]
    spec: TableSpec
    rules: DisclosureRules
    n_cells: int

    def summary(self) -> str:
        """One sentence: how many cells were suppressed and why."""
        n = len(self.primary) + len(self.secondary)
        return (f"{n} of {self.n_cells} cells suppressed: {len(self.primary)} primary (below the "
                f"threshold), {len(self.secondary)} secondary (protecting them).")

    def to_frame(self) -> pd.DataFrame:
        """The publishable table (a copy)."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the records, the spec, the rules and the counts of suppressed cells."""
        return {"records": records(self.table), "spec": self.spec.to_dict(),
                "rules": self.rules.to_dict(),
                "suppressed": {"primary": len(self.primary), "secondary": len(self.secondary),
                               "cells": self.n_cells}}

    def plot(self, ax: Any = None) -> Any:
        """A map of the table's count cells: shown, primary and secondary suppression."""
        import matplotlib.pyplot as plt

        cols = [c for c in self.spec.counts if c in self.table.columns]
        grid = np.zeros((len(self.table), len(cols)))
        for r, c in self.primary:
            if c in cols:
                grid[r, cols.index(c)] = 2
        for r, c in self.secondary:
            if c in cols:
                grid[r, cols.index(c)] = 1
        if ax is None:
            _, ax = plt.subplots(figsize=(1 + 0.8 * len(cols), 1 + 0.3 * len(self.table)))
        ax.imshow(grid, cmap=plt.get_cmap("Greys"), vmin=0, vmax=2, aspect="auto")
        ax.set_xticks(range(len(cols)), cols)
        ax.set_yticks([])
        ax.set_title("Suppressed cells (dark: primary, grey: secondary)")
        return ax


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A frame as JSON-ready records (NaN -> ``None``, numpy scalars -> Python)."""
    out = []
    for row in frame.to_dict(orient="records"):
        clean = {}
        for k, v in row.items():
            if isinstance(v, np.generic):
                v = v.item()
            if isinstance(v, float) and v != v:
                v = None
            clean[str(k)] = v
        out.append(clean)
    return out


def _lines(df: pd.DataFrame, spec: TableSpec) -> list[list[tuple[Cell, int]]]:
    """Every additive constraint: a list of (cell, coefficient); parts +1, total -1."""
    lines: list[list[tuple[Cell, int]]] = []
    for total, parts in spec.column_totals.items():
        for i in range(len(df)):
            lines.append([((i, p), 1) for p in parts] + [((i, total), -1)])
    if spec.row_total is not None:
        col, label = spec.row_total
        is_total = (df[col] == label).to_numpy()
        keys = list(spec.group_by)
        groups = df.groupby(keys, sort=False, dropna=False).indices if keys else {(): np.arange(len(df))}
        for key, idx in groups.items():
            idx = np.asarray(idx)
            tot = idx[is_total[idx]]
            if len(tot) == 0:
                continue
            if len(tot) > 1:
                raise InputError(f"the group {key!r} has {len(tot)} total rows ('{label}'); it needs one",
                                 column=col, row=int(tot[1]) + 1)
            parts = idx[~is_total[idx]]
            for c in spec.counts:
                lines.append([((int(r), c), 1) for r in parts] + [((int(tot[0]), c), -1)])
    return lines


def _value(df: pd.DataFrame, cell: Cell) -> float:
    v = df.iat[cell[0], df.columns.get_loc(cell[1])]
    return float(v) if v is not None and v == v else np.nan


def control_table(frame: pd.DataFrame, spec: TableSpec, rules: DisclosureRules | None = None,
                  *, name: str | None = None) -> ControlledTable:
    """Apply primary and secondary suppression (and rounding) to ``frame``.

    Primary suppression hides every count from 1 to its threshold - 1. Secondary
    suppression (:func:`evaluate.disclosure.protect.protect`) then hides the fewest further
    cells (inner cells before totals, smaller values first) so that every hidden count keeps
    an interval of protection: the smallest and largest values a reader can derive from the
    published table lie at least the threshold of its kind apart (1 apart for a kind without
    a threshold, i.e. not recoverable exactly). The result passes :func:`audit_table` with
    ``interval=True``; the same table always gives the same cells.

    Parameters
    ----------
    frame
        The table, with unsuppressed counts (numbers or NaN). Cells that already hold
        ``"c"`` are treated as suppressed (so control is idempotent).
    spec
        Its count and rate columns and totals (:class:`TableSpec`).
    rules
        The thresholds (default: :class:`DisclosureRules` ()).
    name
        The table's name for error messages.

    Returns
    -------
    ControlledTable

    Raises
    ------
    InputError
        A count column is missing or holds a negative or non-numeric value.

    Examples
    --------
    Two areas by two phases with totals: hiding the 4 forces three more cells, so that
    neither the row nor the column gives it away.

    >>> import pandas as pd
    >>> from evaluate.disclosure import TableSpec, control_table
    >>> df = pd.DataFrame({"area": ["A", "B", "Total"], "primary": [4, 30, 34],
    ...                    "secondary": [25, 60, 85], "total": [29, 90, 119]})
    >>> spec = TableSpec(counts={"primary": "pupils", "secondary": "pupils", "total": "pupils"},
    ...                  column_totals={"total": ["primary", "secondary"]}, row_total=("area", "Total"))
    >>> print(control_table(df, spec).table.to_string(index=False))
     area primary secondary  total
        A       c         c     29
        B       c         c     90
    Total      34        85    119

    Two hidden 1s beside a published 10 and a total of 12 would each be known to be 0 to
    2; the 10 is hidden too, so that each could be anything from 0 to 12:

    >>> one_way = TableSpec(counts={"pupils": "pupils"}, row_total=("area", "Total"))
    >>> small = pd.DataFrame({"area": ["A", "B", "C", "D", "Total"], "pupils": [1, 1, 10, 60, 72]})
    >>> control_table(small, one_way).table["pupils"].tolist()
    ['c', 'c', 'c', 60, 72]
    """
    rules = rules or DisclosureRules()
    label = name or "table"
    missing = [c for c in [*spec.counts, *spec.rates, *spec.column_totals] if c not in frame.columns]
    for parts in spec.rates.values():
        missing += [p for p in parts if p not in frame.columns]
    if spec.row_total is not None and spec.row_total[0] not in frame.columns:
        missing.append(spec.row_total[0])
    if missing:
        raise InputError(f"the table has no column {missing[0]!r} named in its disclosure spec",
                         file=label, column=missing[0])
    df = frame.reset_index(drop=True).copy()
    hidden: set[Cell] = set()
    for c in spec.counts:
        col = df[c].astype(object)
        pre = col.map(lambda v: isinstance(v, str) and v == SUPPRESSED).to_numpy(bool)
        hidden |= {(int(i), c) for i in np.flatnonzero(pre)}
        num = pd.to_numeric(col.where(~pre, np.nan), errors="coerce")
        bad = num.isna() & col.notna() & ~pre & ~col.map(lambda v: isinstance(v, float) and v != v)
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"a count must be a number or 'c', not {col.iat[i]!r}", file=label,
                             column=c, row=i + 1)
        if (num < 0).any():
            i = int(np.flatnonzero((num < 0).to_numpy())[0])
            raise InputError(f"a count cannot be negative ({num.iat[i]})", file=label, column=c, row=i + 1)
        df[c] = num
    primary: set[Cell] = set(hidden)
    for c, kind in spec.counts.items():
        th = rules.threshold(kind)
        if th is None:
            continue
        small = (df[c] > 0) & (df[c] < th)
        primary |= {(int(i), c) for i in np.flatnonzero(small.to_numpy())}
    hidden = set(primary)
    lines = _lines(df, spec)
    if rules.secondary and hidden:
        hidden = protect(lines, {cell: _value(df, cell) for line in lines for cell, _ in line},
                         hidden, lambda cell: float(rules.threshold(spec.counts.get(cell[1], "pupils")) or 1))
    out = df.astype({c: object for c in spec.counts})
    for r, c in hidden:
        out.iat[r, out.columns.get_loc(c)] = SUPPRESSED
    for rate, parts in spec.rates.items():
        hide = [r for r in range(len(out)) if any((r, p) in hidden for p in parts)]
        if hide:
            out[rate] = out[rate].astype(object)
            for r in hide:
                out.iat[r, out.columns.get_loc(rate)] = SUPPRESSED
    if rules.round_to:
        from evaluate.numbers import round_half_up

        step = rules.round_to
        for c, kind in spec.counts.items():
            if kind == "pupils":
                out[c] = out[c].map(lambda v: v if isinstance(v, str) or v != v
                                    else int(round_half_up(v / step)) * step)
    for c in spec.counts:
        if any(isinstance(v, str) for v in out[c]):
            out[c] = out[c].map(lambda v: int(v) if isinstance(v, float) and v.is_integer() else v)
        else:
            whole = out[c].dropna().map(lambda v: float(v).is_integer()).all()
            out[c] = pd.to_numeric(out[c]).astype("Int64" if whole and out[c].isna().any() else
                                                   ("int64" if whole else "float64"))
    out = out.drop(columns=[c for c in spec.hidden if c in out.columns])
    n_cells = len(df) * len(spec.counts)
    return ControlledTable(out, frozenset(primary), frozenset(hidden - primary), spec, rules, n_cells)
