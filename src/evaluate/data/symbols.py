"""DfE suppression symbols and the conversion of published cells to numbers.

DfE publishes a symbol instead of a number where a figure is suppressed or unavailable.
Converting a column turns numbers into floats and symbols into missing values, and keeps
a record of every symbol (file, column, row, symbol) so that nothing is hidden: the
records are summarised in the data-quality report. A token that is neither a number nor
a known symbol is an :class:`~evaluate.errors.InputError`. A symbol never becomes zero.
"""

from __future__ import annotations

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
            f"'{_short(text.iloc[i])}' is neither a number nor a DfE symbol "
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


def strip_cells(values: np.ndarray) -> np.ndarray:
    """Cells as stripped Python strings (missing -> ``""``), vectorised with Arrow."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        values = np.array([v if isinstance(v, str) else ("" if v is None or v != v else str(v))
                           for v in values], dtype=object)
        arr = pa.array(values, type=pa.string())
    if arr.null_count == 0:
        trimmed = pc.utf8_trim_whitespace(arr)
        if arr.equals(trimmed):  # every cell a string, none to strip: the cells as they are
            return values if values.dtype == object else values.astype(object)
    else:
        trimmed = pc.utf8_trim_whitespace(pc.fill_null(arr, ""))
    return trimmed.to_numpy(zero_copy_only=False).astype(object)


def parse_numbers(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(is a DfE symbol, float value or NaN) of stripped cells (Arrow when it can)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(cells, type=pa.string())
    sym = pc.is_in(arr, value_set=pa.array(list(SYMBOLS))).to_numpy(zero_copy_only=False)
    try:
        num = pc.cast(pc.if_else(pa.array(sym), pa.scalar(None, pa.string()), arr), pa.float64())
        return sym, num.to_numpy(zero_copy_only=False).astype("float64")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        flat = pd.Series(cells, dtype=object)
        num = pd.to_numeric(flat.where(~sym, None), errors="coerce").to_numpy(dtype="float64")
        return sym, num


def numeric_block(raw: pd.DataFrame, columns: list[str], *, file: str | Path,
                  log: SymbolLog | None = None, counts: set[str] | frozenset[str] = frozenset()
                  ) -> dict[str, pd.Series]:
    """:func:`to_numeric` for several columns of ``raw`` at once (same checks, same records).

    Returns
    -------
    dict
        Column -> float64 Series (missing where the cell held a symbol).

    Raises
    ------
    InputError
        The first column (in order) holding a token that is neither a number nor a
        symbol, at its first such row; or a negative number in a column of ``counts``.
    """
    if not columns:
        return {}
    block = np.column_stack([strip_cells(raw[c].to_numpy(dtype=object)) for c in columns])
    sym, num = parse_numbers(block.ravel())
    sym = sym.reshape(block.shape)
    num = num.reshape(block.shape)
    bad = ~sym & ~np.isfinite(num)
    rows = raw.index.to_numpy()
    if bad.any():
        j = int(np.flatnonzero(bad.any(axis=0))[0])
        i = int(np.flatnonzero(bad[:, j])[0])
        raise InputError(
            f"'{_short(block[i, j])}' is neither a number nor a DfE symbol "
            f"({', '.join(repr(s) for s in SYMBOLS if s)} or empty)",
            file=str(file), column=columns[j], row=int(rows[i]))
    out = {}
    for j, c in enumerate(columns):
        v = num[:, j]
        if c in counts and (v < 0).any():
            i = int(np.flatnonzero(v < 0)[0])
            raise InputError(f"negative count {block[i, j]}", file=str(file), column=c, row=int(rows[i]))
        if log is not None and sym[:, j].any():
            log.add(str(file), c, rows[sym[:, j]], block[sym[:, j], j])
        out[c] = pd.Series(np.where(sym[:, j], np.nan, v), index=raw.index, name=c, dtype="float64")
    return out


def _short(v: str, n: int = 60) -> str:
    return v if len(v) <= n else v[:n] + f"... ({len(v):,} characters)"


def decimal_places(cells: np.ndarray) -> np.ndarray:
    """Decimal places of each cell that is a plain decimal number, else 0 (Arrow, vectorised)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(strip_cells(np.asarray(cells, dtype=object)), type=pa.string())
    is_dec = pc.match_substring_regex(arr, r"^-?\d*\.\d+$")
    places = pc.subtract(pc.subtract(pc.utf8_length(arr), pc.find_substring(arr, ".")), 1)
    out = pc.if_else(is_dec, places, 0)
    return out.to_numpy(zero_copy_only=False).astype("int64")


def decimals(values: pd.Series) -> pd.Series:
    """Number of decimal places of each published number (0 for integers or symbols)."""
    return pd.Series(decimal_places(values.to_numpy(dtype=object)), index=values.index, dtype="int64")
