"""Independent checks of published tables: small counts shown, suppressed cells recoverable.

:func:`audit_table` checks a controlled table against the unsuppressed original by
linear programming (scipy ``linprog``), a different method from the one that chose the
cells: for every suppressed count it finds the smallest and largest value consistent with
everything published (the visible cells, the totals and non-negativity). If the two are
equal the cell can be recovered. :func:`scan_html` reads the tables of a rendered report
and applies the same checks to what a reader actually sees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from evaluate.disclosure.rules import DisclosureRules
from evaluate.disclosure.suppress import SUPPRESSED, TableSpec, _lines


@dataclass(frozen=True)
class Problem:
    """One disclosure problem found by an audit.

    Examples
    --------
    >>> from evaluate.disclosure.audit import Problem
    >>> str(Problem("table 1", 2, "pupils", "small count shown: 3"))
    "table 1, row 2, column 'pupils': small count shown: 3"
    """

    table: str
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.table}, row {self.row}, column '{self.column}': {self.message}"


def _num(v: object) -> float:
    if isinstance(v, str):
        return np.nan
    try:
        return float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return np.nan


def audit_table(published: pd.DataFrame, spec: TableSpec, rules: DisclosureRules | None = None,
                *, original: pd.DataFrame | None = None, name: str = "table") -> list[Problem]:
    """Problems of a published table: small counts shown, suppressed cells recoverable.

    Parameters
    ----------
    published
        The table as published (``"c"`` for suppressed cells).
    spec, rules
        The table's structure and the thresholds.
    original
        The unsuppressed table, to report which true value a recoverable cell reveals
        (optional: recoverability is decided from the published table alone).
    name
        The table's name in the messages.

    Returns
    -------
    list of Problem
        Empty when the table is safe. Rounded tables are checked for small counts only
        (rounding breaks the equalities the recovery check relies on).

    Examples
    --------
    Hiding only the small cell of a column with a total leaves it recoverable:

    >>> import pandas as pd
    >>> from evaluate.disclosure import TableSpec, audit_table
    >>> spec = TableSpec(counts={"pupils": "pupils"}, row_total=("area", "Total"))
    >>> bad = pd.DataFrame({"area": ["A", "B", "Total"], "pupils": ["c", 40, 43]})
    >>> [str(p) for p in audit_table(bad, spec)]
    ["table, row 1, column 'pupils': suppressed cell can be recovered from the totals (it is 3)"]
    """
    rules = rules or DisclosureRules()
    df = published.reset_index(drop=True)
    problems: list[Problem] = []
    for c, kind in spec.counts.items():
        if c not in df.columns:
            continue
        th = rules.threshold(kind)
        for i, v in enumerate(df[c]):
            x = _num(v)
            if th is not None and 0 < x < th:
                problems.append(Problem(name, i + 1, c, f"small count shown: {v}"))
    for rate, parts in spec.rates.items():
        if rate not in df.columns:
            continue
        for i in range(len(df)):
            hid = any(p in df.columns and df.at[i, p] == SUPPRESSED for p in parts)
            if hid and df.at[i, rate] != SUPPRESSED:
                problems.append(Problem(name, i + 1, rate, "rate shown although a count it is computed from is suppressed"))
    if rules.round_to:
        return problems
    cols = [c for c in spec.counts if c in df.columns]
    hidden = [(i, c) for c in cols for i in range(len(df)) if df.at[i, c] == SUPPRESSED]
    if not hidden:
        return problems
    pos = {cell: k for k, cell in enumerate(hidden)}
    a_eq, b_eq = [], []
    for line in _lines(df, spec):
        coef = np.zeros(len(hidden))
        rhs = 0.0
        for cell, a in line:
            if cell in pos:
                coef[pos[cell]] += a
            else:
                rhs -= a * _num(df.at[cell[0], cell[1]])
        if np.any(coef) and not np.isnan(rhs):
            a_eq.append(coef)
            b_eq.append(rhs)
    if not a_eq:
        return problems
    a = np.array(a_eq)
    b = np.array(b_eq)
    for cell, k in pos.items():
        bounds = []
        for sign in (1.0, -1.0):
            cost = np.zeros(len(hidden))
            cost[k] = sign
            res = linprog(cost, A_eq=a, b_eq=b, bounds=[(0, None)] * len(hidden), method="highs")
            bounds.append(sign * res.fun if res.status == 0 else (np.nan if res.status == 2 else sign * np.inf))
        lo, hi = bounds[0], bounds[1]
        if np.isfinite(lo) and np.isfinite(hi) and hi - lo < 1e-6:
            value = lo if original is None else _num(original.reset_index(drop=True).at[cell[0], cell[1]])
            true = f" (it is {value:g})"
            problems.append(Problem(name, cell[0] + 1, cell[1],
                                    f"suppressed cell can be recovered from the totals{true}"))
    return problems


# --- rendered reports ----------------------------------------------------------------


class _Tables(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[dict] = []
        self._cell: list[str] | None = None
        self._row: list[str] | None = None
        self._caption: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "table":
            self.tables.append({"rows": [], "caption": ""})
        elif tag == "tr" and self.tables:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "caption" and self.tables:
            self._caption = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            self.tables[-1]["rows"].append(self._row)
            self._row = None
        elif tag == "caption" and self._caption is not None:
            self.tables[-1]["caption"] = " ".join("".join(self._caption).split())
            self._caption = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        elif self._caption is not None:
            self._caption.append(data)


#: Header words that mark a column of pupil counts in a rendered table.
PUPIL_HEADER = re.compile(r"\b(pupils?|enrolments?|children|mentored)\b", re.IGNORECASE)
#: Row labels that mark a total row.
TOTAL_LABEL = re.compile(r"^(total|all\b.*|england)$", re.IGNORECASE)
_NUMBER = re.compile(r"^-?[\d,]+(\.\d+)?$")


def html_tables(html: str) -> list[pd.DataFrame]:
    """The tables of an HTML document as frames of strings (first row = header).

    Examples
    --------
    >>> from evaluate.disclosure.audit import html_tables
    >>> t = html_tables("<table><tr><th>Area</th><th>Pupils</th></tr><tr><td>A</td><td>12</td></tr></table>")
    >>> t[0].to_dict(orient="list")
    {'Area': ['A'], 'Pupils': ['12']}
    """
    parser = _Tables()
    parser.feed(html)
    out = []
    for t in parser.tables:
        rows = [r for r in t["rows"] if r]
        if len(rows) < 2:
            continue
        head, body = rows[0], [r for r in rows[1:] if len(r) == len(rows[0])]
        frame = pd.DataFrame(body, columns=head)
        frame.attrs["caption"] = t["caption"]
        out.append(frame)
    return out


def scan_html(html: str, rules: DisclosureRules | None = None, *, name: str = "report") -> list[Problem]:
    """Check every table of a rendered report the way a reader could attack it.

    Columns whose header names pupils (``PUPIL_HEADER``) are pupil counts. A row with a
    total label (``TOTAL_LABEL``) in any other cell totals the rows above it back to the
    previous total row (or the top). Within that structure, no pupil count from 1 to
    threshold - 1 may be shown, and no suppressed cell may be recoverable
    (:func:`audit_table`).

    Examples
    --------
    >>> from evaluate.disclosure.audit import scan_html
    >>> html = ("<table><tr><th>Area</th><th>Pupils</th></tr><tr><td>A</td><td>c</td></tr>"
    ...         "<tr><td>B</td><td>41</td></tr><tr><td>Total</td><td>44</td></tr></table>")
    >>> [str(p) for p in scan_html(html)]
    ["report table 1, row 1, column 'Pupils': suppressed cell can be recovered from the totals (it is 3)"]
    """
    rules = rules or DisclosureRules()
    problems: list[Problem] = []
    for k, table in enumerate(html_tables(html), start=1):
        pupil_cols = [c for c in table.columns if PUPIL_HEADER.search(str(c))]
        if not pupil_cols:
            continue
        df = table.copy()
        for c in pupil_cols:
            df[c] = df[c].map(lambda s: float(s.replace(",", "")) if _NUMBER.match(s or "") else s)
        text_cols = [c for c in table.columns if c not in pupil_cols]
        is_total = pd.Series(False, index=df.index)
        for c in text_cols:
            is_total |= df[c].map(lambda s: bool(TOTAL_LABEL.match(str(s).strip())))
        group = is_total.shift(fill_value=False).cumsum()
        df["_group"] = group.to_numpy()
        spec = TableSpec(counts={c: "pupils" for c in pupil_cols})
        if is_total.any():
            df["_total"] = np.where(is_total, "T", "")
            spec = TableSpec(counts={c: "pupils" for c in pupil_cols}, row_total=("_total", "T"),
                             group_by=("_group",))
        problems += audit_table(df, spec, rules, name=f"{name} table {k}")
    return problems
