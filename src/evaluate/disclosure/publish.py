"""The publication area: the only folder reports read, written only through control.

A run has two output areas. The *working area* (``working:`` in ``evaluation.yml``,
default ``work/``, ignored by git) may hold pupil-level and unsuppressed data: the panel,
the matched samples, register measures. It is never rendered. The *publication area*
(``output:``, default ``output/``) holds only what passed disclosure control: results
JSON, published tables, reports and provenance. Everything written there goes through
:func:`publish_json` or :func:`publish_table`, and :func:`check_publication_area` scans
the folder for anything that looks like a pupil identifier or an uncontrolled small count.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from evaluate.disclosure.audit import GATE_CHECKS_INTERVAL, audit_table
from evaluate.disclosure.pseudonym import ID_NAME, pupil_id_columns
from evaluate.disclosure.rules import DisclosureRules
from evaluate.disclosure.suppress import SUPPRESSED, ControlledTable, TableSpec, control_table
from evaluate.errors import InputError
from evaluate.numbers import json_default as _json_default

#: Keys of JSON values that are counts of pupils (rates and shares excluded).
PUPIL_COUNT_KEY = re.compile(r"(^|_)(pupils?|enrolments?|mentored|children)(_|$)", re.IGNORECASE)
RATE_KEY = re.compile(r"(_|^)(rate|pct|perc|percent|share|per|mean|avg|sd)(_|$)", re.IGNORECASE)
#: The key of the record a published JSON keeps of what control did.
RECORD_KEY = "_disclosure"


def _inside(path: Path, area: Path) -> Path:
    path = Path(path).resolve()
    area = Path(area).resolve()
    if path != area and area not in path.parents:
        raise InputError(f"refusing to publish outside the publication area {area}", file=str(path))
    return path


def _walk(obj: Any, rules: DisclosureRules, where: str, log: list[dict[str, Any]], name: str) -> Any:
    if isinstance(obj, Mapping):
        if "records" in obj and "spec" in obj and isinstance(obj["records"], list):
            spec = TableSpec.from_dict(obj["spec"])
            frame = pd.DataFrame(obj["records"])
            problems = audit_table(frame, spec, rules, name=f"{name} {where}", interval=GATE_CHECKS_INTERVAL)
            if problems:
                raise InputError(f"a table failed disclosure control: {problems[0]}", file=name, column=where)
            return dict(obj)
        out = {}
        for k, v in obj.items():
            key = str(k)
            if ID_NAME.search(key):
                raise InputError("looks like a pupil identifier; pupil-level data may not be published",
                                 file=name, column=f"{where}.{key}".lstrip("."))
            if (PUPIL_COUNT_KEY.search(key) and not RATE_KEY.search(key)
                    and isinstance(v, int | float) and not isinstance(v, bool)):
                th = rules.pupil_threshold
                if 0 < v < th:
                    log.append({"path": f"{where}.{key}".lstrip("."), "reason": f"pupil count below {th}"})
                    v = SUPPRESSED
            out[k] = _walk(v, rules, f"{where}.{key}", log, name)
        return out
    if isinstance(obj, list):
        if obj and all(isinstance(r, Mapping) for r in obj):
            keys = {str(k) for r in obj for k in r}
            counts = [k for k in keys if PUPIL_COUNT_KEY.search(k) and not RATE_KEY.search(k)
                      and any(isinstance(r.get(k), int | float) and not isinstance(r.get(k), bool) for r in obj)]
            if counts and len(obj) > 1:
                raise InputError(f"a table of pupil counts ({', '.join(sorted(counts))}) is published without a "
                                 "disclosure spec: build it with evaluate.disclosure.control_table",
                                 file=name, column=where.lstrip(".") or None)
        return [_walk(v, rules, f"{where}[{i}]", log, name) for i, v in enumerate(obj)]
    return obj


def publish_json(obj: Any, path: str | Path, *, area: str | Path, rules: DisclosureRules | None = None) -> Path:
    """Write ``obj`` as JSON into the publication area, after disclosure control.

    Every controlled table inside (a mapping with ``records`` and ``spec``, as
    :meth:`ControlledTable.to_dict` gives) is audited again; a single pupil count below
    the threshold (a key naming pupils, enrolments, mentored pupils or children) becomes
    ``"c"`` and is listed under ``_disclosure``; a list of records with pupil counts but
    no spec, and any key that looks like a pupil identifier, are refused.

    Raises
    ------
    InputError
        The path is outside ``area``, or the content may not be published.

    Examples
    --------
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> from evaluate.disclosure import publish_json
    >>> area = Path(tempfile.mkdtemp())
    >>> path = publish_json({"mentored_pupils": 7, "effect": -0.4}, area / "r.json", area=area)
    >>> json.loads(path.read_text())["mentored_pupils"]
    'c'
    >>> publish_json({"pupil_id": [1, 2]}, area / "bad.json", area=area)
    Traceback (most recent call last):
    ...
    evaluate.errors.InputError: file bad.json, column 'pupil_id': looks like a pupil identifier; pupil-level data may not be published
    """
    from evaluate.io import write_json

    rules = rules or DisclosureRules()
    target = _inside(Path(path), Path(area))
    log: list[dict[str, Any]] = []
    clean = _walk(json.loads(json.dumps(obj, default=_json_default)), rules, "", log, target.name)
    if log and isinstance(clean, dict):
        clean[RECORD_KEY] = {"rules": rules.to_dict(), "suppressed": log}
    return write_json(clean, target)


def publish_table(frame: pd.DataFrame, spec: TableSpec, path: str | Path, *, area: str | Path,
                  rules: DisclosureRules | None = None) -> ControlledTable:
    """Control ``frame`` and write it as CSV into the publication area.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from pathlib import Path
    >>> from evaluate.disclosure import TableSpec, publish_table
    >>> area = Path(tempfile.mkdtemp())
    >>> df = pd.DataFrame({"area": ["A", "B", "C", "Total"], "pupils": [3, 40, 52, 95]})
    >>> out = publish_table(df, TableSpec(counts={"pupils": "pupils"}, row_total=("area", "Total")),
    ...                     area / "pupils.csv", area=area)
    >>> print((area / "pupils.csv").read_text())
    area,pupils
    A,c
    B,c
    C,52
    Total,95
    <BLANKLINE>
    """
    from evaluate.io import write_csv

    rules = rules or DisclosureRules()
    target = _inside(Path(path), Path(area))
    ids = pupil_id_columns(frame)
    if ids:
        raise InputError("looks like a pupil identifier; pupil-level data may not be published",
                         file=target.name, column=ids[0])
    controlled = control_table(frame, spec, rules, name=target.name)
    problems = audit_table(controlled.table, spec, rules, original=frame, name=target.name,
                           interval=GATE_CHECKS_INTERVAL)
    if problems:  # pragma: no cover - control_table guarantees this; the audit is the belt and braces
        raise InputError(f"disclosure control failed: {problems[0]}", file=target.name)
    write_csv(controlled.table, target, index=False)
    return controlled


def check_publication_area(area: str | Path, rules: DisclosureRules | None = None) -> list[str]:
    """Problems in a publication area: pupil-identifier columns or keys, uncontrolled counts.

    Every CSV's header and values and every JSON's keys and tables are checked.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from evaluate.disclosure import check_publication_area
    >>> area = Path(tempfile.mkdtemp())
    >>> _ = (area / "ok.csv").write_text("area,pupils\\nA,c\\n")
    >>> _ = (area / "bad.csv").write_text("upn,absence\\nA123456789012,3\\n")
    >>> check_publication_area(area)
    ["bad.csv: column 'upn' looks like a pupil identifier"]
    """
    rules = rules or DisclosureRules()
    root = Path(area)
    problems: list[str] = []
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.suffix == ".parquet":
            problems.append(f"{rel}: a Parquet file (working data) in the publication area")
        elif path.suffix == ".csv":
            try:
                frame = pd.read_csv(path, dtype=str, nrows=500)
            except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError):
                continue
            problems += [f"{rel}: column '{c}' looks like a pupil identifier" for c in pupil_id_columns(frame)]
        elif path.suffix == ".json":
            try:
                obj = json.loads(path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError):
                problems.append(f"{rel}: not valid JSON")
                continue
            try:
                _walk(obj, rules, "", [], rel)
            except InputError as err:
                problems.append(f"{rel}: {err.message} ({err.column})")
    return problems
