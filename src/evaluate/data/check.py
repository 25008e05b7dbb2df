"""``check_file``: validate and summarise one EES or GIAS file (``evaluate data check``)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from evaluate.data import _csv
from evaluate.errors import InputError


def detect_kind(columns: list[str]) -> str:
    """``ees``, ``gias_links``, ``gias_establishments`` or ``gias_types`` from the header."""
    cols = set(columns)
    if {"URN", "LinkURN", "LinkType"} <= cols:
        return "gias_links"
    if {"URN", "EstablishmentName"} <= cols:
        return "gias_establishments"
    if "type-of-establishment-code" in cols:
        return "gias_types"
    if {"time_period", "geographic_level"} <= cols or "school_type" in cols and "time_period" in cols:
        return "ees"
    raise InputError("not an EES or GIAS file: no time_period/geographic_level, URN/LinkURN "
                     "or URN/EstablishmentName columns", column=columns[0] if columns else None, row=0)


def check_file(path: str | Path) -> dict[str, Any]:
    """Read ``path`` with the loader for its kind and summarise it.

    Returns
    -------
    dict
        ``file``, ``kind``, ``rows``, ``columns``, ``encoding``, ``sha256``, and by kind
        ``years``, ``periods``, ``geographic_levels``, ``phases``, ``renames``,
        ``symbols`` ({symbol: count}), or link types; ``problems`` (list of strings).

    Raises
    ------
    InputError
        The first problem that stops the file being read (file, column, row).
    """
    from evaluate.data.ees import read_ees
    from evaluate.data.gias import read_establishments, read_links, resolve_school_ids

    path = Path(path)
    data, _ = _csv.read_bytes(path)
    head = data.split(b"\n", 1)[0].decode("latin-1").lstrip("\ufeff").lstrip("ï»¿")
    try:
        kind = detect_kind([c.strip() for c in next(csv.reader(io.StringIO(head)), [])])
    except InputError as exc:
        exc.file = str(path)
        raise
    out: dict[str, Any] = {"file": str(path), "kind": kind}
    problems: list[str] = []
    if kind == "ees":
        f = read_ees(path)
        df = f.frame
        out |= {"rows": len(df), "columns": len(f.raw.columns), "encoding": f.encoding,
                "sha256": f.sha256, "years": sorted(int(y) for y in df["year"].unique()),
                "periods": sorted(map(str, df["period"].unique())),
                "geographic_levels": sorted(map(str, df["geographic_level"].unique())),
                "phases": sorted(map(str, df["education_phase"].dropna().unique()))
                if "education_phase" in df else [],
                "renames": dict(f.renames)}
        summ = f.symbols.summary()
        out["symbols"] = {str(k): int(v) for k, v in summ.groupby("symbol")["count"].sum().items()}
        if {"sess_authorised", "sess_overall"} <= set(df.columns):
            from evaluate.data.schemas import school_absence_schema, validate

            try:
                validate(df, school_absence_schema(), file=str(path))
            except InputError as exc:
                problems.append(str(exc))
        for c1, c2, c3 in (("authorised_absence", "unauthorised_absence", "overall_absence"),):
            if {c1, c2, c3} <= set(df.columns):
                bad = ((df[c1] + df[c2] - df[c3]).abs() > 0.5).sum()
                if bad:
                    problems.append(f"{int(bad)} rows where {c1} + {c2} != {c3}")
        for col in ("school_urn", "school_laestab"):
            if col in f.raw.columns:
                vals = f.raw[col].astype("string").str.strip()
                bad = vals.notna() & ~vals.str.fullmatch(r"\d+").fillna(False).astype(bool)
                if bad.any():
                    i = int(bad.to_numpy().nonzero()[0][0])
                    problems.append(str(InputError(f"'{vals.iloc[i]}' is not a number ({int(bad.sum())} such rows)",
                                                   file=str(path), column=col, row=i + 1)))
        out["notes"] = list(f.notes)
    else:
        reader = {"gias_links": read_links, "gias_establishments": read_establishments}.get(kind)
        if reader is None:
            text, enc = _csv.decode(data, path, fallback="cp1252")
            df = _csv.parse(text, path)
            out |= {"rows": len(df), "columns": len(df.columns), "encoding": enc}
        else:
            g = reader(path)
            out |= {"rows": len(g.frame), "columns": len(g.frame.columns), "encoding": g.encoding,
                    "sha256": g.sha256}
            if kind == "gias_links":
                out["link_types"] = {str(k): int(v) for k, v in g.frame["LinkType"].value_counts().sort_index().items()}
                ids = resolve_school_ids(g.frame)
                out["conversions"] = dict(ids.summary)
                # contradictory or cyclic links are handled by a documented rule: facts
                # about the file, listed, but not problems that fail the check
                out["handled"] = list(ids.problems)
    out["problems"] = problems
    return out
