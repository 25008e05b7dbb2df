"""DfE suppression symbols and the conversion of published cells to numbers.

DfE publishes a symbol instead of a number where a figure is suppressed or unavailable.
Converting a column turns numbers into floats and symbols into missing values, and keeps
a record of every symbol (file, column, row, symbol) so that nothing is hidden: the
records are summarised in the data-quality report. A token that is neither a number nor
a known symbol is an :class:`~evaluate.errors.InputError`. A symbol never becomes zero.
"""

from __future__ import annotations

import re

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from evaluate.errors import InputError

#: Every token read as "no number here", with its meaning.
SYMBOLS: dict[str, str] = {
    "c": "confidential (suppressed to protect small counts)",
    "x": "unavailable",
    "z": "not applicable",
    "low": "rounds to zero, but not zero",
    "u": "low reliability",
    ":": "not available",
    ".": "not applicable (older files)",
    "NaN": "not a number (DfE literal, e.g. a rate where possible sessions are 0)",
    "NA": "missing (R's literal NA, seen in some DfE files)",
    "": "empty cell",
}

RECORD_COLUMNS = ["file", "column", "row", "symbol"]
SUMMARY_COLUMNS = ["file", "column", "symbol", "count"]


@dataclass
class SymbolLog:
    """A record of every symbol met while converting columns.

    Records are kept as small frames (one per converted column) with the columns
    ``file``, ``column``, ``row`` (1-based data row) and ``symbol``.
    """

    parts: list[pd.DataFrame] = field(default_factory=list)

    def add(self, file: str, column: str, rows: np.ndarray, symbols: np.ndarray) -> None:
        """Record ``symbols`` found at data ``rows`` of ``column`` in ``file``."""
        if len(rows) == 0:
            return
        self.parts.append(pd.DataFrame({
            "file": pd.Series([file] * len(rows), dtype=object),
            "column": pd.Series([column] * len(rows), dtype=object),
            "row": np.asarray(rows, dtype=np.int64),
            "symbol": pd.Series(np.asarray(symbols, dtype=object), dtype=object),
        }))

    def extend(self, other: SymbolLog) -> None:
        """Append the records of ``other``."""
        self.parts.extend(other.parts)

    def records(self) -> pd.DataFrame:
        """Every record, one row per symbol cell."""
        if not self.parts:
            return pd.DataFrame({c: pd.Series(dtype=object if c != "row" else np.int64)
                                 for c in RECORD_COLUMNS})
        return pd.concat(self.parts, ignore_index=True)

    def summary(self) -> pd.DataFrame:
        """Counts by file, column and symbol, sorted (stable for reports)."""
        rec = self.records()
        if rec.empty:
            return pd.DataFrame({c: pd.Series(dtype=object if c != "count" else np.int64)
                                 for c in SUMMARY_COLUMNS})
        out = (rec.groupby(["file", "column", "symbol"], sort=True).size()
               .rename("count").reset_index())
        out["count"] = out["count"].astype(np.int64)
        return out[SUMMARY_COLUMNS]

    def __len__(self) -> int:
        return int(sum(len(p) for p in self.parts))


def to_numeric(values: pd.Series, *, file: str | Path, column: str,
               log: SymbolLog | None = None, rows: np.ndarray | None = None,
               allow_negative: bool = True) -> pd.Series:
    """Convert a column of published cells to floats.

    Parameters
    ----------
    values
        The column as read (strings).
    file, column
        Where the column comes from, for records and errors.
    log
        Receives a record of every symbol (file, column, row, symbol).
    rows
        The 1-based data row of each value; default ``values.index`` (the readers in
        this package index frames by data row).
    allow_negative
        When false a negative number is an error (counts).

    Returns
    -------
    pandas.Series
        float64, missing where the cell held a symbol.

    Raises
    ------
    InputError
        For a token that is neither a number nor a known symbol (naming the file, the
        column, the row and the value), or a negative number when not allowed.
    """
    raw = values.astype(object).where(values.notna(), "")
    text = pd.Series([str(v).strip() for v in raw], index=values.index, dtype=object)
    rows = np.asarray(values.index if rows is None else rows)
    num = pd.to_numeric(text.where(~text.isin(list(SYMBOLS)), None), errors="coerce")
    num = num.astype("float64")
    is_symbol = text.isin(list(SYMBOLS)).to_numpy()
    finite = np.isfinite(num.to_numpy())
    bad = ~is_symbol & ~finite
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"'{text.iloc[i]}' is neither a number nor a DfE symbol "
            f"({', '.join(repr(s) for s in SYMBOLS if s)} or empty)",
            file=str(file), column=column, row=int(rows[i]))
    if not allow_negative:
        neg = finite & (num.to_numpy() < 0)
        if neg.any():
            i = int(np.flatnonzero(neg)[0])
            raise InputError(f"negative count {text.iloc[i]}", file=str(file), column=column,
                             row=int(rows[i]))
    if log is not None and is_symbol.any():
        log.add(str(file), column, rows[is_symbol], text.to_numpy()[is_symbol])
    out = pd.Series(num.to_numpy(), index=values.index, name=values.name, dtype="float64")
    out[is_symbol] = np.nan
    return out


_DECIMAL = re.compile(r"-?\d*\.(\d+)")


def decimals(values: pd.Series) -> pd.Series:
    """Number of decimal places of each published number (0 for integers or symbols)."""
    text = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    out = [len(m.group(1)) if (m := _DECIMAL.fullmatch(t)) else 0 for t in text.to_numpy()]
    return pd.Series(np.asarray(out, dtype="int64"), index=values.index, name=values.name)
