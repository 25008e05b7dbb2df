"""Corruptions of CSV files, for the property tests of the readers (test_corruptions.py).

Each corruption takes a clean file (its header and rows as parsed, and its encoding) and
a random generator, and returns the corrupted bytes with a :class:`Corruption` saying
what was done and where (the 1-based data row and the column, when there is one).

A *value* corruption (stray symbol, empty field, sign flip) is made only where the
file's declared format (:mod:`evaluate.data.invariants`) says the new value is wrong, or
where the reader must record it (a DfE symbol in a measure): free text takes any text,
an optional field may be empty, so changing those gives another valid file, not a
corrupt one.
"""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from dataclasses import dataclass

from evaluate.data.ees import RENAMES
from evaluate.data.invariants import Format, ees_format
from evaluate.data.symbols import SYMBOLS

#: Tokens a corrupted cell may hold: DfE's symbols and other strays seen in spreadsheets.
STRAYS = [s for s in SYMBOLS if s] + ["-", "*", "?", "n/a", "#N/A", "~", "c c"]
#: Bytes no accepted encoding decodes (invalid UTF-8 and undefined in Windows-1252).
INVALID_BYTES = [b"\x81", b"\x8d", b"\x8f", b"\x90", b"\x9d"]
#: The kinds of corruption, and whether a clean reading is expected (the file means the same).
KINDS = {
    "duplicate row": False, "sign flip": False, "swapped columns": True, "truncated row": False,
    "wrong encoding": False, "stray symbol": False, "shuffled header": False,
    "empty field": False, "huge field": False, "BOM": True, "CRLF": True,
}


@dataclass(frozen=True)
class Corruption:
    """What a corruption did: ``row`` and ``column`` are where (None: the whole file)."""

    kind: str
    detail: str
    row: int | None = None
    column: str | None = None


@dataclass
class Table:
    """A clean CSV file: header, rows (lists of strings), encoding, the format's rules."""

    header: list[str]
    rows: list[list[str]]
    encoding: str
    fmt: Format

    @classmethod
    def parse(cls, data: bytes, encoding: str, fmt: Format | None = None) -> Table:
        """The clean file; ``fmt`` None: an EES file, its format told from the header."""
        text = data.decode(encoding)
        recs = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
        if fmt is None:
            fmt = ees_format([RENAMES.get(c.strip(), c.strip()) for c in recs[0]])
        return cls(recs[0], recs[1:], encoding, fmt)

    def rule(self, col: str):
        """The rule of a column (EES files: after DfE's renames, as the reader applies them)."""
        return self.fmt.rule(RENAMES.get(col, col) if self.fmt.name.startswith("ees") else col)


def write(header: list[str], rows: list[list[str]], *, encoding: str = "utf-8",
          lineterminator: str = "\n") -> bytes:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator=lineterminator)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue().encode(encoding)


def _required(t: Table, col: str, row: list[str]) -> bool:
    rule = t.rule(col)
    if rule is None:
        return False
    if rule.required is True:
        return True
    if rule.required and "geographic_level" in t.header:
        return row[t.header.index("geographic_level")].strip() in rule.required
    return False


def _wrong(t: Table, col: str, value: str, row_i: int, counts: dict[str, Counter]) -> bool:
    """Whether ``value`` in ``col`` of row ``row_i`` breaks the format or must be recorded."""
    import numpy as np

    from evaluate.data.invariants import _codes_ok, _parse_dates

    rule = t.rule(col)
    row = t.rows[row_i]
    old = row[t.header.index(col)].strip()
    if rule is None or value.strip() == old:
        return False
    if value.strip() == "":
        return _required(t, col, row) or (rule.kind in ("count", "amount", "rate") and rule.symbols)
    if rule.kind in ("count", "amount", "rate", "integer"):
        return True  # a symbol is recorded, anything else is not a number, negatives break
    if rule.kind == "code":
        if rule.symbols and value in SYMBOLS:
            return True  # recorded as "no code here"
        return not bool(_codes_ok(np.array([value.strip()], dtype=object), rule)[0])
    if rule.kind == "date":
        return bool(_parse_dates(np.array([value.strip()], dtype=object), np.array([True]),
                                 rule.date_format).isna()[0])
    # text: wrong only where it must agree with other rows of the same key
    names = [RENAMES.get(c, c) for c in t.header] if t.fmt.name.startswith("ees") else t.header
    key = rule.same_for
    if key is None or key not in names:
        return False
    k = row[names.index(key)].strip()
    return k != "" and counts[t.header[names.index(key)]][k] >= 2


def _cells(t: Table, rng: random.Random, make, tries: int = 400):
    """A random (row index, column, new value) where the new value is wrong."""
    counts = {c: Counter(r[t.header.index(c)].strip() for r in t.rows) for c in t.header}
    for _ in range(tries):
        i = rng.randrange(len(t.rows))
        j = rng.randrange(len(t.header))
        new = make(t.rows[i][j], rng)
        if new is not None and _wrong(t, t.header[j], new, i, counts):
            return i, j, new
    return None


def _flip(v: str, rng: random.Random) -> str | None:
    s = v.strip()
    try:
        x = float(s)
    except ValueError:
        return None
    return None if x == 0 or not s[:1].isdigit() else "-" + s


def corrupt(t: Table, kind: str, rng: random.Random) -> tuple[bytes, Corruption] | None:
    """Apply one corruption of ``kind`` to ``t``; None if the file offers no place for it."""
    h, rows, enc = list(t.header), [list(r) for r in t.rows], t.encoding
    if kind == "duplicate row":
        i = rng.randrange(len(rows))
        at = rng.choice([i + 1, len(rows)])
        rows.insert(at, list(rows[i]))
        return write(h, rows, encoding=enc), Corruption(kind, f"row {i + 1} copied to row {at + 1}", at + 1)
    if kind in ("sign flip", "stray symbol", "empty field"):
        make = {"sign flip": _flip, "stray symbol": lambda v, r: r.choice(STRAYS),
                "empty field": lambda v, r: ""}[kind]
        found = _cells(t, rng, make)
        if found is None:
            return None
        i, j, new = found
        rows[i][j] = new
        return write(h, rows, encoding=enc), Corruption(kind, f"{rows[i][j]!r}", i + 1, h[j])
    if kind == "huge field":
        i, j = rng.randrange(len(rows)), rng.randrange(len(h))
        rows[i][j] = rng.choice("9xX,") * rng.randrange(40_000, 120_000)
        return write(h, rows, encoding=enc), Corruption(kind, f"{len(rows[i][j]):,} characters", i + 1, h[j])
    if kind == "swapped columns":
        a, b = rng.sample(range(len(h)), 2)
        for r in [h, *rows]:
            r[a], r[b] = r[b], r[a]
        return write(h, rows, encoding=enc), Corruption(kind, f"{h[b]} <-> {h[a]}")
    if kind == "shuffled header":
        perm = list(h)
        while perm == h:
            rng.shuffle(perm)
        return write(perm, rows, encoding=enc), Corruption(kind, "header permuted", 0)
    if kind == "truncated row":
        if len(h) < 2:
            return None
        i = rng.randrange(len(rows))
        k = rng.randrange(len(h) - 1)  # keep fields 0..k-1 and part of field k: at least one lost
        rows[i] = rows[i][:k] + [rows[i][k][: rng.randrange(len(rows[i][k]) + 1)]]
        return write(h, rows, encoding=enc), Corruption(kind, f"cut to {k + 1} fields", i + 1)
    if kind == "wrong encoding":
        how = rng.choice([e for e in ("utf-16", "utf-16-le", "utf-32", "cp1252", "utf-8", "invalid byte")
                          if e != enc])
        if how == "invalid byte":
            i, j = rng.randrange(len(rows)), rng.randrange(len(h))
            marker = "\x00MARK\x00"
            v = rows[i][j]
            pos = rng.randrange(len(v) + 1)
            rows[i][j] = v[:pos] + marker + v[pos:]
            data = write(h, rows, encoding=enc).replace(marker.encode(enc), rng.choice(INVALID_BYTES))
            return data, Corruption(kind, "a byte no encoding decodes", i + 1, h[j])
        try:
            data = write(h, rows, encoding=how)
        except UnicodeEncodeError:
            return None
        return data, Corruption(kind, f"the file written in {how}")
    if kind == "BOM":
        return b"\xef\xbb\xbf" + write(h, rows, encoding=enc), Corruption(kind, "UTF-8 byte-order mark")
    if kind == "CRLF":
        return write(h, rows, encoding=enc, lineterminator="\r\n"), Corruption(kind, "Windows line endings")
    raise ValueError(kind)
