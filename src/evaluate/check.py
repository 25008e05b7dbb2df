"""``check_file``: validate and summarise one input file (``evaluate data check``).

The kind of file is told from its header: an EES file (attendance, absence, any other),
a GIAS establishments, links or establishment-types extract, a programme file (hubs,
mentor areas, priority areas) or a register-marks CSV. The file is read with the reader
the pipeline uses, without stopping at the first breach of its invariants
(:mod:`evaluate.data.invariants`): every breach is listed, each naming the file, the
column and the row. A file that cannot be read at all (not UTF-8, ragged rows, a missing
required column, a cell that is neither a number nor a DfE symbol) raises one
:class:`~evaluate.errors.InputError` instead.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from evaluate.data import _csv
from evaluate.data.invariants import FORMATS, breaches
from evaluate.errors import InputError

#: Register-marks files up to this many rows are also read into ``Inspection.frame``.
MARKS_FRAME_ROWS = 100_000


def detect_kind(columns: list[str]) -> str:
    """The kind of file from its header.

    One of ``ees``, ``gias_links``, ``gias_establishments``, ``gias_types``, ``hubs``,
    ``mentor_areas``, ``priority_areas`` or ``register_marks``.

    Raises
    ------
    InputError
        The header matches no kind the package reads.
    """
    cols = set(columns)
    if {"URN", "LinkURN", "LinkType"} <= cols:
        return "gias_links"
    if {"URN", "EstablishmentName"} <= cols:
        return "gias_establishments"
    if "type-of-establishment-code" in cols:
        return "gias_types"
    if {"time_period", "geographic_level"} <= cols or "school_type" in cols and "time_period" in cols:
        return "ees"
    if {"hub_id", "member_urn"} <= cols:
        return "hubs"
    if {"new_la_code", "start_date"} <= cols:
        return "mentor_areas"
    if {"new_la_code", "la_name"} <= cols:
        return "priority_areas"
    if {"date", "session", "code"} <= cols and ({"urn", "school_urn"} & cols):
        return "register_marks"
    raise InputError("not a file the package reads: no time_period/geographic_level (EES), "
                     "URN/LinkURN or URN/EstablishmentName (GIAS), hub_id/member_urn, "
                     "new_la_code/la_name (programmes) or date/session/code (register marks) "
                     "columns", column=columns[0] if columns else None, row=0)


@dataclass
class Inspection:
    """A file as ``evaluate data check`` read it.

    Attributes
    ----------
    file, kind, format
        The file, its kind (:func:`detect_kind`) and the name of its format in
        :data:`evaluate.data.invariants.FORMATS`.
    frame
        The file as the pipeline's reader returns it (typed, indexed by data row), or
        ``None`` when the file breaks its invariants (the reader would refuse it).
    records
        Every cell read as "no value" with its symbol (``column``, ``row``, ``symbol``):
        the differences between the cells and the numbers.
    problems
        Every breach of the format's invariants.
    summary
        What ``check_file`` reports besides the problems.
    """

    file: str
    kind: str
    format: str
    frame: pd.DataFrame | None
    records: pd.DataFrame
    problems: list[InputError] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def _no_records() -> pd.DataFrame:
    return pd.DataFrame({"column": pd.Series(dtype=object), "row": pd.Series(dtype="int64"),
                         "symbol": pd.Series(dtype=object)})


def _header(data: bytes, path: Path) -> list[str]:
    line = data.split(b"\n", 1)[0]
    if not line.strip():
        raise InputError("the file is empty (no header)", file=str(path), row=0)
    text, _ = _csv.decode(line, path, fallback="cp1252")
    try:
        return [c.strip() for c in next(csv.reader(io.StringIO(text.rstrip("\r"))), [])]
    except csv.Error as exc:
        raise InputError(f"the header is not valid CSV ({exc})", file=str(path), row=0) from None


def inspect(path: str | Path) -> Inspection:
    """Read ``path`` with the reader of its kind and list every breach of its invariants.

    Raises
    ------
    InputError
        The file cannot be read at all (naming the file and, where there is one, the
        column and the row).
    """
    path = Path(path)
    name = str(path)
    data, digest = _csv.read_bytes(path)
    try:
        kind = detect_kind(_header(data, path))
    except InputError as exc:
        exc.file = name
        raise
    if kind == "ees":
        return _inspect_ees(path)
    if kind == "register_marks":
        return _inspect_marks(path, digest)
    fallback = "cp1252" if kind.startswith("gias") else None
    text, enc = _csv.decode(data, path, fallback=fallback)
    raw = _csv.parse(text, path)
    raw = pd.DataFrame({c: raw[c].astype(object).map(str.strip) for c in raw.columns}, index=raw.index)
    fmt = FORMATS[kind]
    problems = breaches(raw, fmt, file=name)
    frame = None
    summary: dict[str, Any] = {"rows": len(raw), "columns": len(raw.columns), "encoding": enc,
                               "sha256": digest}
    if not problems:
        frame = _typed(kind, path, raw, summary)
    summary["undeclared_columns"] = [c for c in raw.columns if fmt.rule(c) is None]
    return Inspection(name, kind, fmt.name, frame, _no_records(), problems, summary)


def _typed(kind: str, path: Path, raw: pd.DataFrame, summary: dict[str, Any]) -> pd.DataFrame:
    from evaluate.data import programmes as prog
    from evaluate.data.gias import read_establishments, read_links, resolve_school_ids

    if kind == "gias_links":
        g = read_links(path, check=False)
        summary["link_types"] = {str(k): int(v) for k, v in g.frame["LinkType"].value_counts().sort_index().items()}
        ids = resolve_school_ids(g.frame)
        summary["conversions"] = dict(ids.summary)
        # contradictory or cyclic links are handled by a documented rule: facts about the
        # file, listed, but not problems that fail the check
        summary["handled"] = list(ids.problems)
        return g.frame
    if kind == "gias_establishments":
        return read_establishments(path, check=False).frame
    if kind == "hubs":
        # without the GIAS extract every URN stands for itself (checked against GIAS by
        # `evaluate data build`)
        urns = set(pd.to_numeric(raw["member_urn"]).astype(int)) | set(pd.to_numeric(raw["lead_urn"]).astype(int))
        summary["notes"] = ["URNs are not checked against GIAS here (evaluate data build does)"]
        return prog.read_hubs(path, {u: u for u in urns})
    if kind == "mentor_areas":
        return prog.read_mentor_areas(path)
    if kind == "priority_areas":
        return prog.read_priority_areas(path)
    return raw


def _inspect_ees(path: Path) -> Inspection:
    from evaluate.data.ees import read_ees
    from evaluate.data.invariants import ees_format

    name = str(path)
    f = read_ees(path, check=False)
    df = f.frame
    fmt = ees_format(list(f.raw.columns))
    problems = breaches(f.raw, fmt, file=name, years=df["year"])
    summary: dict[str, Any] = {
        "format": fmt.name, "rows": len(df), "columns": len(f.raw.columns), "encoding": f.encoding,
        "sha256": f.sha256, "years": sorted(int(y) for y in df["year"].unique()),
        "periods": sorted(map(str, df["period"].unique())),
        "geographic_levels": sorted(map(str, df["geographic_level"].unique())),
        "phases": sorted(map(str, df["education_phase"].dropna().unique())) if "education_phase" in df else [],
        "renames": dict(f.renames)}
    summ = f.symbols.summary()
    summary["symbols"] = {str(k): int(v) for k, v in summ.groupby("symbol")["count"].sum().items()}
    summary["notes"] = list(f.notes)
    summary["undeclared_columns"] = [c for c in f.raw.columns if fmt.rule(c) is None]
    rec = f.symbols.records()[["column", "row", "symbol"]]
    return Inspection(name, "ees", fmt.name, None if problems else df, rec, problems, summary)


def _inspect_marks(path: Path, digest: str) -> Inspection:
    from evaluate.registers.read import check_csv, read_marks, repeated_marks

    name = str(path)
    rows = check_csv(path)
    problems = repeated_marks(path)
    frame = None
    if not problems and rows <= MARKS_FRAME_ROWS:
        t = read_marks(path, check=False, threads=1, memory_limit="1GB")
        frame = t.to_pandas()
    summary = {"rows": rows, "sha256": digest,
               "notes": ["unknown attendance codes are counted by evaluate registers build"]}
    return Inspection(name, "register_marks", "register_marks", frame, _no_records(), problems, summary)


def check_file(path: str | Path) -> dict[str, Any]:
    """Read ``path`` with the loader for its kind and summarise it.

    Returns
    -------
    dict
        ``file``, ``kind``, ``rows``, ``columns``, ``encoding``, ``sha256``, and by kind
        ``format``, ``years``, ``periods``, ``geographic_levels``, ``phases``,
        ``renames``, ``symbols`` ({symbol: count}), link types, ``undeclared_columns``
        (columns no invariant covers); ``problems`` (one line per breach, naming the
        file, the column and the row).

    Raises
    ------
    InputError
        The first problem that stops the file being read (file, column, row).
    """
    ins = inspect(path)
    out: dict[str, Any] = {"file": ins.file, "kind": ins.kind, **ins.summary}
    out["problems"] = [str(p) for p in ins.problems]
    return out
