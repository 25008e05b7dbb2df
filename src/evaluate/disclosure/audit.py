"""Independent checks of published tables: small counts shown, suppressed cells recoverable.

:func:`audit_table` checks a controlled table by linear programming (scipy ``linprog``),
a different method from the one that chose the cells: for every suppressed count it finds
the smallest and largest value consistent with everything published (the visible cells,
the totals, non-negativity, and for a rounded table the rounding intervals). If the two
are equal the cell can be recovered; if they are less than the threshold apart it can be
narrowed down to within the threshold (the interval of protection, :func:`protection`).
:func:`scan_html` reads the tables of a rendered report and applies the same checks to
what a reader actually sees, finding pupil counts by their headers, by the labels of
their rows and by the cells themselves ("3 pupils", "n = 4", a pupil number).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import linprog

from evaluate.disclosure.rules import GATE_CHECKS_INTERVAL, DisclosureRules
from evaluate.disclosure.suppress import SUPPRESSED, TableSpec, _lines


def _hidden(v: Any) -> bool:
    """Whether a published cell is the suppression symbol (missing values, pd.NA included, are not)."""
    return isinstance(v, str) and v == SUPPRESSED


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
                *, original: pd.DataFrame | None = None, name: str = "table",
                interval: bool = True) -> list[Problem]:
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
    interval
        Check the interval of protection too: for every suppressed count the smallest and
        largest values consistent with what is published must lie at least the threshold
        apart (:func:`protection`), so that no cell can be narrowed down to within the
        threshold; ``False`` checks exact recovery only.

    Returns
    -------
    list of Problem
        Empty when the table is safe. A rounded table (``rules.round_to``) is checked the
        same way, with every published rounded count standing for the interval of values
        that round to it (half up), so its totals hold only to within the rounding.

    Examples
    --------
    Hiding only the small cell of a column with a total leaves it recoverable:

    >>> import pandas as pd
    >>> from evaluate.disclosure import TableSpec, audit_table
    >>> spec = TableSpec(counts={"pupils": "pupils"}, row_total=("area", "Total"))
    >>> bad = pd.DataFrame({"area": ["A", "B", "Total"], "pupils": ["c", 40, 43]})
    >>> [str(p) for p in audit_table(bad, spec)]
    ["table, row 1, column 'pupils': suppressed cell can be recovered from the totals (it is 3)"]

    Hiding two small cells whose sum is shown narrows each to within the threshold:

    >>> narrow = pd.DataFrame({"area": ["A", "B", "C", "Total"], "pupils": ["c", "c", 40, 43]})
    >>> [p.message for p in audit_table(narrow, spec)][0]
    'suppressed cell can be narrowed down to 0 to 3 from the totals (less than the threshold of 10 apart)'
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
            hid = any(p in df.columns and _hidden(df.at[i, p]) for p in parts)
            if hid and not _hidden(df.at[i, rate]):
                problems.append(Problem(name, i + 1, rate, "rate shown although a count it is computed from is suppressed"))
    cols = [c for c in spec.counts if c in df.columns]
    hidden = [(i, c) for c in cols for i in range(len(df)) if _hidden(df.at[i, c])]
    if not hidden:
        return problems
    pos = {cell: k for k, cell in enumerate(hidden)}
    step = float(rules.round_to or 0)
    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for line in _lines(df, spec):
        coef = np.zeros(len(hidden))
        rhs = 0.0
        slack = 0.0
        for cell, a in line:
            if cell in pos:
                coef[pos[cell]] += a
            else:
                rhs -= a * _num(df.at[cell[0], cell[1]])
                if step and spec.counts.get(cell[1]) == "pupils":
                    slack += step / 2  # a rounded count stands for [v - step/2, v + step/2)
        if not np.any(coef) or np.isnan(rhs):
            continue
        if slack:
            a_ub += [coef, -coef]
            b_ub += [rhs + slack, -(rhs - slack)]
        else:
            a_eq.append(coef)
            b_eq.append(rhs)
    if not a_eq and not a_ub:
        return problems
    lp = {"A_eq": np.array(a_eq) if a_eq else None, "b_eq": np.array(b_eq) if b_eq else None,
          "A_ub": np.array(a_ub) if a_ub else None, "b_ub": np.array(b_ub) if b_ub else None,
          "bounds": [(0, None)] * len(hidden), "method": "highs"}
    for cell, k in pos.items():
        bounds = []
        for sign in (1.0, -1.0):
            cost = np.zeros(len(hidden))
            cost[k] = sign
            res = linprog(cost, **lp)
            bounds.append(sign * res.fun if res.status == 0 else (np.nan if res.status == 2 else sign * np.inf))
        lo, hi = bounds[0], bounds[1]
        if not (np.isfinite(lo) and np.isfinite(hi)):
            continue
        if hi - lo < 1e-6:
            value = lo if original is None else _num(original.reset_index(drop=True).at[cell[0], cell[1]])
            problems.append(Problem(name, cell[0] + 1, cell[1],
                                    f"suppressed cell can be recovered from the totals (it is {value:g})"))
            continue
        th = protection(rules, spec.counts[cell[1]])
        if interval and th is not None and hi - lo < th - 1e-9:
            problems.append(Problem(name, cell[0] + 1, cell[1],
                                    f"suppressed cell can be narrowed down to {lo:g} to {hi:g} from the totals "
                                    f"(less than the threshold of {th:g} apart)"))
    return problems


def protection(rules: DisclosureRules, kind: str) -> float | None:
    """The width of the interval of protection of a suppressed count of ``kind``.

    The threshold of its kind (``None``: not protected): a reader may not be able to tell
    a suppressed count to within fewer values than the threshold, so a suppressed count
    from 1 to threshold - 1 cannot be told from zero or from a count at the threshold.

    Examples
    --------
    >>> from evaluate.disclosure import DisclosureRules
    >>> from evaluate.disclosure.audit import protection
    >>> protection(DisclosureRules(pupil_threshold=10), "pupils"), protection(DisclosureRules(), "schools")
    (10.0, None)
    """
    th = rules.threshold(kind)  # type: ignore[arg-type]
    return None if th is None else float(th)


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
#: Header words that make a column naming pupils a rate or an average, not a count
#: ("Days per pupil per year", "Persistent absence rate, pupils", "Share of pupils (%)").
RATE_HEADER = re.compile(r"\b(per pupil|rates?|per ?cent|percentage|share|average|mean|median)\b|%",
                         re.IGNORECASE)
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


def scan_html(html: str, rules: DisclosureRules | None = None, *, name: str = "report",
              interval: bool = GATE_CHECKS_INTERVAL) -> list[Problem]:
    """Check every table of a rendered report the way a reader could attack it.

    Pupil counts are found three ways:

    - by header: columns whose header names pupils (``PUPIL_HEADER``) and not a rate or an
      average (``RATE_HEADER``: "Days per pupil per year" is not a count). A row with a total
      label (``TOTAL_LABEL``) in any other cell totals the rows above it back to the
      previous total row (or the top); within that structure no pupil count from 1 to
      threshold - 1 may be shown and no suppressed cell may be recoverable
      (:func:`audit_table`, with ``interval`` as given);
    - by row: in a table whose first column labels its rows (a key-value table, a
      transposed one), the numbers in a row whose label names pupils are pupil counts;
    - by value: a cell that says how many pupils ("3 pupils", "n = 4", "4 children") is a
      pupil count wherever it is; a cell that looks like a unique pupil number
      (``UPN_VALUE``) is refused wherever it is.

    Examples
    --------
    >>> from evaluate.disclosure.audit import scan_html
    >>> html = ("<table><tr><th>Area</th><th>Pupils</th></tr><tr><td>A</td><td>c</td></tr>"
    ...         "<tr><td>B</td><td>41</td></tr><tr><td>Total</td><td>44</td></tr></table>")
    >>> [str(p) for p in scan_html(html)]
    ["report table 1, row 1, column 'Pupils': suppressed cell can be recovered from the totals (it is 3)"]
    >>> kv = ("<table><tr><th>Measure</th><th>Value</th></tr><tr><td>Mentored pupils</td><td>7</td></tr>"
    ...       "<tr><td>Hub schools</td><td>3</td></tr><tr><td>Note</td><td>n = 4 in Hartlepool</td></tr></table>")
    >>> [str(p) for p in scan_html(kv)]
    ["report table 1, row 1, column 'Value': small count of pupils shown in the row 'Mentored pupils': 7", "report table 1, row 3, column 'Value': small count of pupils shown in the text: 'n = 4'"]
    """
    rules = rules or DisclosureRules()
    problems: list[Problem] = []
    for k, table in enumerate(html_tables(html), start=1):
        where = f"{name} table {k}"
        pupil_cols = [c for c in table.columns
                      if PUPIL_HEADER.search(str(c)) and not RATE_HEADER.search(str(c))]
        problems += _scan_values(table, pupil_cols, rules, where)
        problems += _scan_schools(table, rules, where)
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
        problems += audit_table(df, spec, rules, name=where, interval=interval)
    return problems


#: A cell saying how many pupils: "3 pupils", "4 children", "n = 5", "5 persistent absentees".
PUPIL_TEXT = re.compile(r"\b(\d[\d,]*)\s+(?:(?:persistent|severe|mentored)\s+)?(?:pupils?|children|enrolments?|absentees)\b"
                        r"|\bn\s*=\s*(\d[\d,]*)", re.IGNORECASE)
#: Words that make a row label name something other than a count of pupils.
NOT_PUPIL_COUNT = re.compile(r"\b(rate|rates|per ?cent|percentage|share|%|schools?|las?|areas?|hubs?|"
                             r"average|mean|per pupil|sessions?)\b", re.IGNORECASE)


#: Headers of columns of school counts ("Treated schools", "Matched", "Left out: caliper").
SCHOOL_HEADER = re.compile(r"\bschools?\b|^matched$|^left out\b", re.IGNORECASE)
#: Header words of a column about schools that is not a count of them ("Power, the schools used").
NOT_SCHOOLS = re.compile(r"\b(power|probability|p-value|effect|estimate)\b", re.IGNORECASE)
#: Row labels that count hubs or local authorities, not schools.
NOT_SCHOOL_ROW = re.compile(r"\b(hubs?|local authorit(y|ies)|las?|areas?)\b", re.IGNORECASE)


def _scan_schools(table: pd.DataFrame, rules: DisclosureRules, where: str) -> list[Problem]:
    """With a school threshold, a count of schools below it shown in a school-count column."""
    th = rules.school_threshold
    if th is None:
        return []
    out = []
    label = table[table.columns[0]].astype(str) if len(table.columns) else pd.Series(dtype=str)
    for c in table.columns:
        if not SCHOOL_HEADER.search(str(c).strip()) or RATE_HEADER.search(str(c)) or NOT_SCHOOLS.search(str(c)):
            continue
        for i, v in enumerate(table[c]):
            x = float(v.replace(",", "")) if _NUMBER.match(str(v or "")) else None
            # a row counting hubs or local authorities (public) in a "Schools or areas" column
            other = NOT_SCHOOL_ROW.search(label.iloc[i]) and not re.search(r"\bschools?\b", label.iloc[i], re.I)
            if x is not None and x.is_integer() and 0 < x < th and not other:
                out.append(Problem(where, i + 1, str(c), f"small count of schools shown: {v}"))
    return out


def _scan_values(table: pd.DataFrame, pupil_cols: list[str], rules: DisclosureRules,
                 where: str) -> list[Problem]:
    """The row-label and cell-value checks of :func:`scan_html`."""
    from evaluate.disclosure.pseudonym import UPN_VALUE

    th = rules.pupil_threshold
    out: list[Problem] = []
    cols = list(table.columns)
    label_col = cols[0] if cols else None
    for i, row in enumerate(table.itertuples(index=False), start=1):
        label = str(row[0]).strip() if cols else ""
        pupil_row = bool(PUPIL_HEADER.search(label)) and not NOT_PUPIL_COUNT.search(label)
        for c, cell in zip(cols, row, strict=True):
            text = str(cell).strip()
            if UPN_VALUE.match(text):
                out.append(Problem(where, i, str(c), "looks like a unique pupil number; pupil-level data may not be published"))
                continue
            if c in pupil_cols:
                continue  # audited by header
            if pupil_row and c != label_col and _NUMBER.match(text):
                x = float(text.replace(",", ""))
                if 0 < x < th:
                    out.append(Problem(where, i, str(c), f"small count of pupils shown in the row '{label}': {text}"))
                continue
            for m in PUPIL_TEXT.finditer(text):
                x = float((m.group(1) or m.group(2)).replace(",", ""))
                if 0 < x < th:
                    out.append(Problem(where, i, str(c), f"small count of pupils shown in the text: '{m.group(0)}'"))
    return out
