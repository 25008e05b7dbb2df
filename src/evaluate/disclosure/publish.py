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

from evaluate.disclosure.audit import audit_table
from evaluate.disclosure.pseudonym import ID_NAME, pupil_id_columns
from evaluate.disclosure.rules import GATE_CHECKS_INTERVAL, DisclosureRules
from evaluate.disclosure.suppress import SUPPRESSED, ControlledTable, TableSpec, control_table
from evaluate.errors import InputError
from evaluate.numbers import json_default as _json_default

#: Keys of JSON values that are counts of pupils (rates and shares excluded).
PUPIL_COUNT_KEY = re.compile(r"(^|_)(pupils?|enrolments?|mentored|children)(_|$)", re.IGNORECASE)
RATE_KEY = re.compile(r"(_|^)(rate|pct|perc|percent|share|per|mean|avg|sd)(_|$)", re.IGNORECASE)
#: Keys of JSON values that are counts of schools: the sample sizes of the headline, the
#: matching counts per cohort and the data-quality counts. They are controlled under the
#: rule for schools (``DisclosureRules.school_threshold``; ``None``, the default, publishes
#: them as they are, as DfE does for counts of schools in a national sample).
SCHOOL_COUNT_KEY = re.compile(
    r"^(n_(treated|comparison|control|schools|units)|treated|comparison|schools"
    r"|(hub|mentor)_schools(_listed)?|dropped_(treated|units)"
    r"|(other_programme|partly_exposed)_schools_left_out|(treated|comparison)_(matched|dropped_\w+)"
    r"|both_programmes)$")
#: Keys of JSON mappings whose values are all counts of schools (schools per cohort).
SCHOOL_COUNTS_BY_KEY = re.compile(r"^(hub|mentor)_cohorts$")
#: The key of the record a published JSON keeps of what control did.
RECORD_KEY = "_disclosure"
#: A top-level ``"unit"`` with this value says the file's counts are of local authorities
#: (public areas), not of schools: the school rule does not apply to them.
LA_UNIT = "local authority"


def _is_count(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _school_rule(obj: Any, rules: DisclosureRules) -> bool:
    """Whether the rule for school counts applies to this published object."""
    return rules.school_threshold is not None and not (isinstance(obj, Mapping) and obj.get("unit") == LA_UNIT)


#: Mappings of schools per cohort and the key of their total, in the same object.
COHORT_TOTALS = {"hub_cohorts": "hub_schools", "mentor_cohorts": "mentor_schools"}


def _control_cohort_counts(obj: dict[str, Any], rules: DisclosureRules, where: str,
                           log: list[dict[str, Any]], name: str) -> dict[str, Any]:
    """Schools per cohort with their total (``hub_cohorts`` and ``hub_schools``) as one
    one-way table through :func:`control_table`, so that a suppressed cohort cannot be got
    back by subtracting the others from the total. Used only where the total is the sum."""
    obj = dict(obj)
    for by, tot in COHORT_TOTALS.items():
        cells, total = obj.get(by), obj.get(tot)
        if not (isinstance(cells, Mapping) and cells and _is_count(total)
                and all(_is_count(v) for v in cells.values()) and sum(cells.values()) == total):
            continue
        keys = [str(k) for k in cells]
        frame = pd.DataFrame({"cohort": [*keys, "Total"], "schools": [*cells.values(), total]})
        table = control_table(frame, TableSpec(counts={"schools": "schools"}, row_total=("cohort", "Total")),
                              rules, name=name).table
        shown = dict(zip(table["cohort"], table["schools"], strict=True))
        new = {}
        for k in cells:
            new[k] = shown[str(k)]
            if isinstance(new[k], str) and new[k] == SUPPRESSED:
                log.append({"path": f"{where}.{by}.{k}".lstrip("."), "reason":
                            f"school count below {rules.school_threshold}, or one that would reveal it"})
        obj[by] = new
        if isinstance(shown["Total"], str) and shown["Total"] == SUPPRESSED:
            obj[tot] = SUPPRESSED
            log.append({"path": f"{where}.{tot}".lstrip("."), "reason": "total that would reveal a suppressed count"})
    return obj


def _control_school_rows(rows: list[Any], rules: DisclosureRules, where: str, log: list[dict[str, Any]],
                         name: str) -> list[Any]:
    """A list of records with school counts, through :func:`control_table` (kind ``schools``)."""
    cols = sorted({str(k) for r in rows for k, v in r.items() if SCHOOL_COUNT_KEY.search(str(k)) and _is_count(v)})
    if not cols:
        return rows
    frame = pd.DataFrame([{c: (r.get(c) if _is_count(r.get(c)) or r.get(c) == SUPPRESSED else None)
                           for c in cols} for r in rows])
    table = control_table(frame, TableSpec(counts={c: "schools" for c in cols}), rules, name=name).table
    out = []
    for i, r in enumerate(rows):
        r = dict(r)
        for c in cols:
            cell = table.at[i, c]
            if isinstance(cell, str) and cell == SUPPRESSED and r.get(c) != SUPPRESSED:
                log.append({"path": f"{where}[{i}].{c}".lstrip("."),
                            "reason": f"school count below {rules.school_threshold}"})
                r[c] = SUPPRESSED
        out.append(r)
    return out


def _inside(path: Path, area: Path) -> Path:
    path = Path(path).resolve()
    area = Path(area).resolve()
    if path != area and area not in path.parents:
        raise InputError(f"refusing to publish outside the publication area {area}", file=str(path))
    return path


def _walk(obj: Any, rules: DisclosureRules, where: str, log: list[dict[str, Any]], name: str,
          schools: bool = False) -> Any:
    if isinstance(obj, Mapping):
        if "records" in obj and "spec" in obj and isinstance(obj["records"], list):
            spec = TableSpec.from_dict(obj["spec"])
            frame = pd.DataFrame(obj["records"])
            problems = audit_table(frame, spec, rules, name=f"{name} {where}", interval=GATE_CHECKS_INTERVAL)
            if problems:
                raise InputError(f"a table failed disclosure control: {problems[0]}", file=name, column=where)
            return dict(obj)
        if schools and any(k in obj for k in COHORT_TOTALS):
            obj = _control_cohort_counts(dict(obj), rules, where, log, name)
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
            elif schools and SCHOOL_COUNT_KEY.search(key) and _is_count(v):
                th = rules.school_threshold
                if 0 < v < th:
                    log.append({"path": f"{where}.{key}".lstrip("."), "reason": f"school count below {th}"})
                    v = SUPPRESSED
            elif schools and SCHOOL_COUNTS_BY_KEY.search(key) and isinstance(v, Mapping):
                th = rules.school_threshold
                v = dict(v)
                for g, n in v.items():
                    if _is_count(n) and 0 < n < th:
                        log.append({"path": f"{where}.{key}.{g}".lstrip("."), "reason": f"school count below {th}"})
                        v[g] = SUPPRESSED
            out[k] = _walk(v, rules, f"{where}.{key}", log, name, schools)
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
            if schools:
                obj = _control_school_rows(obj, rules, where, log, name)
                # the rows' own school counts are controlled as one table; walk the rest
                return [{k: (v if SCHOOL_COUNT_KEY.search(str(k)) else
                             _walk(v, rules, f"{where}[{i}].{k}", log, name, schools)) for k, v in r.items()}
                        for i, r in enumerate(obj)]
        return [_walk(v, rules, f"{where}[{i}]", log, name, schools) for i, v in enumerate(obj)]
    return obj


def publish_json(obj: Any, path: str | Path, *, area: str | Path, rules: DisclosureRules | None = None) -> Path:
    """Write ``obj`` as JSON into the publication area, after disclosure control.

    Every controlled table inside (a mapping with ``records`` and ``spec``, as
    :meth:`ControlledTable.to_dict` gives) is audited again; a single pupil count below
    the threshold (a key naming pupils, enrolments, mentored pupils or children) becomes
    ``"c"`` and is listed under ``_disclosure``; a list of records with pupil counts but
    no spec, and any key that looks like a pupil identifier, are refused.

    Counts of schools (keys in :data:`SCHOOL_COUNT_KEY`: the headline's ``n_treated`` and
    ``n_comparison``, the matching counts per cohort, the data-quality counts) follow the
    rule for schools when ``rules.school_threshold`` is set: a single one below it becomes
    ``"c"``, and a list of records holding them goes through :func:`control_table` with
    kind ``schools``, each suppressed cell listed under ``_disclosure``. A file whose
    top-level ``"unit"`` is ``"local authority"`` counts public areas, not schools, and is
    left to the pupil rule.

    Raises
    ------
    InputError
        The path is outside ``area``, or the content may not be published.

    Examples
    --------
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> from evaluate.disclosure import DisclosureRules, publish_json
    >>> area = Path(tempfile.mkdtemp())
    >>> path = publish_json({"mentored_pupils": 7, "effect": -0.4}, area / "r.json", area=area)
    >>> json.loads(path.read_text())["mentored_pupils"]
    'c'
    >>> rules = DisclosureRules(school_threshold=5)
    >>> path = publish_json({"headline": {"n_treated": 3, "n_comparison": 40}}, area / "s.json",
    ...                     area=area, rules=rules)
    >>> json.loads(path.read_text())["headline"]
    {'n_comparison': 40, 'n_treated': 'c'}
    >>> publish_json({"pupil_id": [1, 2]}, area / "bad.json", area=area)
    Traceback (most recent call last):
    ...
    evaluate.errors.InputError: file bad.json, column 'pupil_id': looks like a pupil identifier; pupil-level data may not be published
    """
    from evaluate.io import write_json

    rules = rules or DisclosureRules()
    target = _inside(Path(path), Path(area))
    log: list[dict[str, Any]] = []
    plain = json.loads(json.dumps(obj, default=_json_default))
    clean = _walk(plain, rules, "", log, target.name, _school_rule(plain, rules))
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

    Every CSV's header and values and every JSON's keys and tables are checked; a count in
    a JSON that :func:`publish_json` would have suppressed (a pupil count below the pupil
    threshold, or, with a school threshold, a school count below it) is a problem too.

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
            shown: list[dict[str, Any]] = []
            try:
                _walk(obj, rules, "", shown, rel, _school_rule(obj, rules))
            except InputError as err:
                problems.append(f"{rel}: {err.message} ({err.column})")
            # a count the gate would have suppressed is in the area uncontrolled
            problems += [f"{rel}: {s['reason']} shown ({s['path']})" for s in shown]
    return problems
