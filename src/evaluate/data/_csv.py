"""Reading CSV bytes: encodings, gzip, empty files, and locating bad bytes."""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
from pathlib import Path

import pandas as pd

from evaluate.errors import InputError


def read_bytes(path: Path) -> tuple[bytes, str]:
    """The file's (decompressed) bytes and the SHA-256 of the bytes on disk."""
    if not path.exists():
        raise InputError("the file does not exist", file=str(path))
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except OSError as exc:
            raise InputError(f"not a valid gzip file ({exc})", file=str(path)) from None
    return data, digest


def _locate(data: bytes, offset: int) -> tuple[int, str | None]:
    """Data row (header = 0) and column name holding byte ``offset``."""
    line_start = data.rfind(b"\n", 0, offset) + 1
    row = data.count(b"\n", 0, line_start)
    header = data.split(b"\n", 1)[0].decode("latin-1").lstrip("\ufeff\xef\xbb\xbf")
    names = next(csv.reader([header]), [])
    prefix = data[line_start:offset].decode("latin-1")
    try:
        fields = next(csv.reader([prefix]))
        col_i = max(len(fields) - 1, 0)
    except StopIteration:
        col_i = 0
    column = names[col_i].strip() if col_i < len(names) else None
    return row, column


def decode(data: bytes, path: Path, *, fallback: str | None = None) -> tuple[str, str]:
    """Decode UTF-8 (with or without BOM); otherwise ``fallback`` or an InputError.

    Returns the text and the encoding used.
    """
    try:
        return data.decode("utf-8-sig"), ("utf-8-sig" if data[:3] == b"\xef\xbb\xbf" else "utf-8")
    except UnicodeDecodeError as exc:
        if fallback is not None:
            return data.decode(fallback), fallback
        row, column = _locate(data, exc.start)
        raise InputError(
            f"the file is not UTF-8 (byte 0x{data[exc.start]:02x} cannot be decoded; "
            "save it as UTF-8)", file=str(path), column=column, row=row) from None


def parse(text: str, path: Path, *, expect: str | None = None) -> pd.DataFrame:
    """Parse CSV text into a frame of strings indexed by 1-based data row.

    Every cell stays a string (no NA conversion, no type guessing): symbols and
    numbers are converted later, with a record. Column names are stripped.
    """
    if not text.strip():
        raise InputError("the file is empty (no header, no rows)", file=str(path),
                         column=expect, row=0)
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False,
                         na_filter=False, skipinitialspace=False)
    except pd.errors.ParserError as exc:
        raise InputError(f"the file is not valid CSV ({exc})", file=str(path)) from None
    df.columns = [str(c).strip() for c in df.columns]
    dup = [c for c in df.columns if list(df.columns).count(c) > 1 or "." in c and c.rsplit(".", 1)[0] in df.columns]
    if dup:
        raise InputError("the column appears twice in the header", file=str(path),
                         column=dup[0], row=0)
    if df.empty:
        raise InputError("the file has a header but no data rows", file=str(path),
                         column=expect or (df.columns[0] if len(df.columns) else None), row=1)
    df.index = pd.RangeIndex(1, len(df) + 1)
    return df
