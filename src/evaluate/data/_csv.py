"""Reading CSV bytes: encodings, gzip, empty files, ragged rows, and locating bad bytes.

Every problem found here is an :class:`~evaluate.errors.InputError` naming the file and,
where there is one, the column and the 1-based data row (the header is row 0):

- not UTF-8 (or, for GIAS, neither UTF-8 nor Windows-1252), UTF-16/32 text, or a file
  that mixes UTF-8 with another encoding;
- a row with more or fewer fields than the header (a row cut short, an unquoted comma),
  an unterminated quote;
- a field longer than :data:`MAX_FIELD` characters (no DfE or GIAS field comes near);
- an empty file, a header without rows, a name that appears twice in the header.

A UTF-8 byte-order mark, Windows line endings (CRLF) and empty lines at the end are read
as the file means them and do not change the result; an empty line between rows is an
error (a row lost or cut short).
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import re
import zlib
from pathlib import Path

import pandas as pd

from evaluate.errors import InputError

#: Longest field accepted, in characters.
MAX_FIELD = 32_768
_BOM = b"\xef\xbb\xbf"
_WIDE_BOMS = {b"\xff\xfe\x00\x00": "UTF-32", b"\x00\x00\xfe\xff": "UTF-32",
              b"\xff\xfe": "UTF-16", b"\xfe\xff": "UTF-16"}
# a byte sequence that is valid UTF-8 and not plain ASCII (evidence of UTF-8 text)
_UTF8_SEQ = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


def read_bytes(path: Path) -> tuple[bytes, str]:
    """The file's (decompressed) bytes and the SHA-256 of the bytes on disk.

    Raises
    ------
    InputError
        The file does not exist, is a folder, cannot be read, or is not valid gzip.
    """
    path = Path(path)
    if not path.exists():
        raise InputError("the file does not exist", file=str(path))
    if path.is_dir():
        raise InputError("this is a folder, not a file", file=str(path))
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"the file cannot be read ({exc.strerror or exc})", file=str(path)) from None
    digest = hashlib.sha256(data).hexdigest()
    if path.suffix == ".gz":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"not a valid gzip file ({exc or 'cut short'})", file=str(path)) from None
    return data, digest


def _locate(data: bytes, offset: int) -> tuple[int, str | None]:
    """Data row (header = 0) and column name holding byte ``offset`` (CSV records, so a
    quoted line break inside a field does not start a row)."""
    body = data[3:] if data[:3] == _BOM else data
    offset = max(offset - (len(data) - len(body)), 0)
    prefix = body[:offset].decode("latin-1")
    recs = [r for r in csv.reader(io.StringIO(prefix, newline="")) if r]
    header_text = body.split(b"\n", 1)[0].decode("latin-1").rstrip("\r")
    names = [c.strip() for c in next(csv.reader([header_text]), [])]
    if not recs or prefix.endswith(("\n", "\r")):
        row, col_i = len(recs), 0
    else:
        row, col_i = len(recs) - 1, max(len(recs[-1]) - 1, 0)
    column = names[col_i] if col_i < len(names) else None
    return row, column


def decode(data: bytes, path: Path, *, fallback: str | None = None) -> tuple[str, str]:
    """Decode UTF-8 (with or without BOM); otherwise ``fallback`` or an InputError.

    Returns the text and the encoding used (``utf-8``, ``utf-8-sig`` or ``fallback``).

    Raises
    ------
    InputError
        UTF-16 or UTF-32 text; bytes that are not UTF-8 (and not ``fallback``); a file
        that mixes UTF-8 with other bytes. The row and column of the first bad byte are
        named.
    """
    for bom, name in _WIDE_BOMS.items():
        if data.startswith(bom):
            raise InputError(f"the file is {name} text; save it as UTF-8", file=str(path), row=0)
    if len(data) >= 4 and data[1:4:2] == b"\x00\x00" and data[0:1] != b"\x00":
        raise InputError("the file looks like UTF-16 text without a byte-order mark; save it as "
                         "UTF-8", file=str(path), row=0)
    try:
        return data.decode("utf-8-sig"), ("utf-8-sig" if data[:3] == _BOM else "utf-8")
    except UnicodeDecodeError as exc:
        row, column = _locate(data, exc.start)
        bad = f"byte 0x{data[exc.start]:02x} cannot be decoded"
        body = data[3:] if data[:3] == _BOM else data
        if fallback is not None and _UTF8_SEQ.search(body) is None:
            try:
                return body.decode(fallback), fallback
            except UnicodeDecodeError as exc2:
                row, column = _locate(body, exc2.start)
                raise InputError(
                    f"the file is neither UTF-8 nor {fallback} (byte 0x{body[exc2.start]:02x} "
                    "cannot be decoded); save it as UTF-8", file=str(path), column=column,
                    row=row) from None
        if fallback is not None:
            raise InputError(f"the file mixes UTF-8 with another encoding ({bad}); save it as "
                             "UTF-8", file=str(path), column=column, row=row) from None
        raise InputError(f"the file is not UTF-8 ({bad}; save it as UTF-8)", file=str(path),
                         column=column, row=row) from None


def _fast(text: str, header: list[str]) -> pd.DataFrame | None:
    """The rows by Arrow's CSV reader when the file is regular; None to take the careful path."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    if len(set(header)) != len(header) or "" in header:
        return None
    names = [f"c{j}" for j in range(len(header))]
    try:
        table = pacsv.read_csv(
            io.BytesIO(text.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 26),
            parse_options=pacsv.ParseOptions(newlines_in_values=True, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.num_rows == 0:
        return None
    df = table.to_pandas()
    df.columns = header
    return df


def parse(text: str, path: Path, *, expect: str | None = None) -> pd.DataFrame:
    """Parse CSV text into a frame of strings indexed by 1-based data row.

    Every cell stays a string (no NA conversion, no type guessing): symbols and
    numbers are converted later, with a record. Column names are stripped. Empty lines
    at the end are ignored; an empty line between data rows is an error (a row would be
    lost silently); every row must have as many fields as the header.

    Raises
    ------
    InputError
        See the module docstring.
    """
    name = str(path)
    if not text.strip():
        raise InputError("the file is empty (no header, no rows)", file=name, column=expect, row=0)
    # only a file with a line longer than the limit can hold a long field
    long_fields = len(text) > MAX_FIELD and max(map(len, text.split("\n"))) > MAX_FIELD
    # Arrow reads an empty line as a row of empty cells: files with one take the careful path
    empty_lines = re.search(r"\n[ \t\r]*\n", text.rstrip()) is not None
    if not long_fields and not empty_lines:
        try:
            first = next(csv.reader(io.StringIO(text, newline="")), [])
        except csv.Error:
            first = []
        head = [c.strip() for c in first]
        # trailing empty lines end the file; Arrow would read them as rows of empty cells
        fast = _fast(text.rstrip(" \t\r\n") + "\n", head) if head else None
        if fast is not None:
            fast.index = pd.RangeIndex(1, len(fast) + 1)
            return fast
    old = csv.field_size_limit()
    csv.field_size_limit(max(old, len(text) + 1))
    rows: list[list[str]] = []
    try:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        header = [c.strip() for c in next(reader)]
        width = len(header)
        _check_header(header, name)
        blank = 0  # data row after which a blank line was met
        for rec in reader:
            n = len(rows) + 1
            if not rec or len(rec) == 1 and width > 1 and not rec[0].strip():
                blank = blank or n
                continue
            if blank:
                raise InputError("an empty line between data rows (a row lost or cut short?); "
                                 "empty lines may only end the file", file=name,
                                 column=header[0], row=blank)
            if len(rec) != width:
                what = ("cut short or a field is missing" if len(rec) < width
                        else "an unquoted comma or a stray field")
                col = header[min(len(rec), width) - 1] if len(rec) < width else header[-1]
                raise InputError(f"the row has {len(rec)} fields but the header has {width} "
                                 f"({what})", file=name, column=col, row=n)
            if long_fields and max(map(len, rec)) > MAX_FIELD:
                j = next(k for k, v in enumerate(rec) if len(v) > MAX_FIELD)
                raise InputError(f"a field of {len(rec[j]):,} characters (at most {MAX_FIELD:,} "
                                 "are accepted)", file=name, column=header[j], row=n)
            rows.append(rec)
    except csv.Error as exc:
        raise InputError(f"the file is not valid CSV ({exc}; an unterminated quote?)", file=name,
                         row=len(rows) + 1) from None
    finally:
        csv.field_size_limit(old)
    if not rows:
        raise InputError("the file has a header but no data rows", file=name,
                         column=expect or (header[0] if header else None), row=1)
    df = pd.DataFrame(rows, columns=header, dtype="str")
    df.index = pd.RangeIndex(1, len(df) + 1)
    return df


def _check_header(header: list[str], name: str) -> None:
    for j, c in enumerate(header):
        if len(c) > MAX_FIELD:
            raise InputError(f"a header field of {len(c):,} characters", file=name, row=0)
        if header.index(c) != j:
            raise InputError("the column appears twice in the header", file=name, column=c, row=0)
