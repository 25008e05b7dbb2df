"""pandas -> report tables, with DfE rounding (half up) on every number.

Every table function returns a :class:`Table`: a ``str`` that *is* the Markdown pipe table
(what ``print`` shows, and what the golden files hold), carrying the cells it was built
from. A report cell marked ``#| output: asis`` prints either the pipe table itself or
``table.markdown()``, the publication form: a cross-referenced table float
(``::: {#tbl-x}``, Quarto's syntax, which the bridge's ``crossref.lua`` also reads) holding
the table twice, once as a ``great_tables`` HTML table (``{=html}``: column headers with
their units, numbers right-aligned, the source and the key to any DfE symbol in its notes)
and once as a Typst table (``{=typst}``: the same cells, headers repeated on each page and
tagged as header cells in the PDF, the same notes), each writer keeping its own. A caption
with a label (``tbl-...``) makes the table a cross-reference target: ``@tbl-x``.
"""

from __future__ import annotations

import html as htmllib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from evaluate.report.rounding import DFE_SYMBOLS, fmt_count, fmt_number, fmt_pct, fmt_pp, year_label
from evaluate.report.sentences import synthetic_label

__all__ = [
    "Table",
    "note",
    "source_text",
    "symbol_notes",
    "markdown_table",
    "national_table",
    "coverage_table",
    "suppression_table",
    "attrition_table",
    "conversions_table",
    "programmes_table",
]

Formatter = Callable[[Any], str]

#: Named formats for :func:`markdown_table`'s ``formats`` argument.
FORMATS: dict[str, Formatter] = {
    "count": fmt_count,
    "pct": fmt_pct,
    "pct2": lambda x: fmt_pct(x, 2),
    "pp": fmt_pp,
    "pp2": lambda x: fmt_pp(x, 2),
    "num1": lambda x: fmt_number(x, 1),
    "num2": lambda x: fmt_number(x, 2),
    "year": lambda x: "" if x is None or x != x else year_label(x),
    "text": lambda x: "" if x is None or (isinstance(x, float) and x != x) else str(x),
}


def _cell(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


_CODE = re.compile(r"`([^`]*)`")


def _plain(text: str) -> str:
    """A cell's text without Markdown code marks (`` `c` `` -> ``c``)."""
    return _CODE.sub(r"\1", str(text))


def _typst_str(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


@dataclass(frozen=True)
class _Parts:
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: tuple[bool, ...]
    caption: str
    label: str | None
    notes: tuple[str, ...] = field(default=())


class Table(str):
    """A report table: the ``str`` is its Markdown pipe table; :meth:`markdown` is its
    publication form (great_tables HTML and a Typst table in one cross-referenced float).

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluate.report.tables import markdown_table
    >>> t = markdown_table(pd.DataFrame({"Phase": ["Primary"], "Schools": [1520]}),
    ...                    caption="Schools.", label="tbl-schools", source="DfE school census")
    >>> print(t)
    | Phase | Schools |
    |:---|---:|
    | Primary | 1,520 |
    <BLANKLINE>
    : Schools. {#tbl-schools}
    >>> md = t.markdown()
    >>> md.strip().splitlines()[0], "```{=html}" in md, "```{=typst}" in md, md.rstrip().endswith(":::")
    ('::: {#tbl-schools}', True, True, True)
    >>> 'scope="col"' in t.html() and "Source: DfE school census." in t.html()
    True
    >>> print(t.typst().splitlines()[0])
    #table(
    """

    _parts: _Parts | None

    def __new__(cls, text: str, parts: _Parts | None = None) -> Table:
        obj = super().__new__(cls, text)
        obj._parts = parts
        return obj

    @property
    def parts(self) -> _Parts | None:
        """Headers, rows of display strings, numeric columns, caption, label and notes."""
        return self._parts

    def html(self) -> str:
        """The table through ``great_tables``: headers with ``scope="col"``, numbers right-aligned,
        the notes (source, symbol key) in its footer; no caption (the float's)."""
        from great_tables import GT

        p = self._require()
        ident = f"gt-{p.label or 'table'}"
        frame = pd.DataFrame(list(p.rows), columns=[f"c{i}" for i in range(len(p.headers))])
        gt = GT(frame, id=ident).cols_label(**{f"c{i}": h for i, h in enumerate(p.headers)})
        for side, want in (("right", True), ("left", False)):
            chosen = [f"c{i}" for i, n in enumerate(p.numeric) if n is want]
            if chosen:
                gt = gt.cols_align(align=side, columns=chosen)
        for n in p.notes:
            gt = gt.tab_source_note(n)
        gt = gt.tab_options(table_font_size="0.9em", table_font_color="#0b0c0c",
                            column_labels_font_weight="bold", source_notes_font_size="0.85em",
                            table_border_top_color="#3D3D3D", column_labels_border_bottom_color="#3D3D3D",
                            table_body_hlines_color="#d9d9d9", table_border_bottom_color="#3D3D3D")
        out = gt.as_raw_html()
        # great_tables leaves some of its CSS unscoped (it would restyle every table of the
        # page) and lets Quarto re-parse the table: scope the CSS, keep the table as it is
        out = out.replace(f"#{ident} thead, tbody, tfoot, tr, td, th {{",
                          f"#{ident} thead, #{ident} tbody, #{ident} tfoot, #{ident} tr, #{ident} td, #{ident} th {{")
        out = out.replace("\n tr { background-color: transparent; }", f"\n #{ident} tr {{ background-color: transparent; }}")
        out = out.replace('data-quarto-disable-processing="false"', 'data-quarto-disable-processing="true"')
        # the container scrolls sideways when the table is wider than the window (zoom): a
        # keyboard user can then focus it and scroll it, and hears what it holds (WCAG 1.4.10, 2.1.1)
        name = htmllib.escape(p.caption or "Table", quote=True)
        out = out.replace(f'<div id="{ident}" ', f'<div id="{ident}" class="table-scroll" tabindex="0" role="region" '
                          f'aria-label="{name}" ', 1)
        return out.strip()

    def typst(self) -> str:
        """The same cells as a Typst table: header row repeated on each page (tagged as header
        cells), numbers right-aligned, column widths from the longest cell, then the notes."""
        p = self._require()
        widths = []
        for i, h in enumerate(p.headers):
            longest = max([len(w) for w in h.split()] + [len(w) for r in p.rows for w in r[i].split()] + [1])
            widths.append(max(4, min(max([len(r[i]) for r in p.rows] + [0]), 40), longest + 3, min(len(h), 24) * 0.6))
        total = sum(widths)
        cols = ("(" + ", ".join(f"{w / total:.3f}fr" for w in widths) + ",)") if total >= 70 else str(len(widths))
        align = "(" + ", ".join("right" if n else "left" for n in p.numeric) + ",)"
        lines = ["#table(", f"  columns: {cols},", f"  align: {align},", "  stroke: none,",
                 "  inset: (x: 4pt, y: 3pt),", "  table.hline(stroke: 0.8pt),",
                 "  table.header(repeat: true, " + ", ".join(f"strong({_typst_str(h)})" for h in p.headers) + "),",
                 "  table.hline(stroke: 0.5pt),"]
        for r in p.rows:
            lines.append("  " + ", ".join(_typst_str(c) for c in r) + ",")
        lines += ["  table.hline(stroke: 0.8pt),", ")"]
        if p.notes:
            body = " #linebreak() ".join(f"#{_typst_str(n)}" for n in p.notes)
            lines.append(f"#block(width: 100%, above: 4pt)[#set align(left); #set text(size: 7.5pt); {body}]")
        return "\n".join(lines)

    def markdown(self) -> str:
        """The publication form: a ``::: {#tbl-x}`` float with the HTML and the Typst table and
        the caption as its last paragraph (Quarto's table float; the bridge reads it too)."""
        p = self._parts
        if p is None:
            return str(self)
        ident = f"#{p.label}" if p.label else ""
        cap = p.caption or "Table."
        return (f"\n::: {{{ident}}}\n\n```{{=html}}\n{self.html()}\n```\n\n```{{=typst}}\n{self.typst()}\n```\n\n"
                f"{cap}\n\n:::\n")

    def _require(self) -> _Parts:
        if self._parts is None:
            raise ValueError("this table holds only text")
        return self._parts


#: The sources the tables name in their notes.
SOURCE_ABSENCE = "DfE pupil absence in schools in England; estimates by evaluate"
SOURCE_PANEL = "DfE pupil absence in schools in England (school-level files) and GIAS; panel built by evaluate"


def source_text(source: str, *, synthetic: bool | None) -> str:
    """A table's source, naming the generator on synthetic data (as chart captions do).

    Examples
    --------
    >>> from evaluate.report.tables import source_text
    >>> source_text("DfE pupil absence", synthetic=True)
    'synthetic England (evaluate.synthetic), in the format of DfE pupil absence'
    """
    return f"synthetic England (evaluate.synthetic), in the format of {source}" if synthetic else source


def note(text: str) -> Table:
    """Text in place of a table (a table that could not be computed); prints the same in both forms.

    Examples
    --------
    >>> from evaluate.report.tables import note
    >>> note("The placebo test could not be computed.").markdown()
    'The placebo test could not be computed.'
    """
    return Table(text)


def symbol_notes(rows: Iterable[Iterable[str]]) -> list[str]:
    """The key to the DfE symbols that a table's cells hold, one note per symbol.

    Examples
    --------
    >>> from evaluate.report.tables import symbol_notes
    >>> symbol_notes([["Primary", "c"], ["Special", "12"]])
    ['c: confidential (suppressed to protect small counts).']
    """
    from evaluate.data.symbols import SYMBOLS

    found = {c for r in rows for c in r if c in DFE_SYMBOLS}
    return [f"{k}: {SYMBOLS[k]}." for k in SYMBOLS if k in found]


def markdown_table(
    df: pd.DataFrame,
    *,
    formats: Mapping[str, str | Formatter] | None = None,
    headers: Mapping[str, str] | None = None,
    caption: str | None = None,
    label: str | None = None,
    synthetic: bool | None = None,
    source: str | None = None,
    notes: Iterable[str] = (),
) -> Table:
    """Render ``df`` as a pipe table (a :class:`Table`, whose :meth:`Table.markdown` is its
    publication form).

    Parameters
    ----------
    formats
        Per column, a name from ``FORMATS`` (``count``, ``pct``, ``pp``, ``num1``,
        ``year``, ...) or a callable returning the cell text. Numeric columns without a
        format are shown as counts when whole and to one decimal otherwise.
    headers
        Display names for columns.
    caption, label
        Table caption and cross-reference label (``tbl-...``).
    synthetic
        When true, the caption ends with the synthetic-data label.
    source, notes
        The source (``"Source: ..."``) and further notes of the publication form, under the
        table; the key to any DfE symbol in the cells is added to them.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluate.report.tables import markdown_table
    >>> df = pd.DataFrame({"year": [2022, 2023], "rate": [5.94, 5.46], "schools": [1520, 1498]})
    >>> print(markdown_table(df, formats={"year": "year", "rate": "pct"},
    ...                      headers={"year": "Year", "rate": "Absence", "schools": "Schools"},
    ...                      caption="Absence by year.", label="tbl-example", synthetic=True))
    | Year | Absence | Schools |
    |:---|---:|---:|
    | 2022/23 | 5.9% | 1,520 |
    | 2023/24 | 5.5% | 1,498 |
    <BLANKLINE>
    : Absence by year. Synthetic data: not real findings. {#tbl-example}
    """
    formats = dict(formats or {})
    headers = dict(headers or {})
    if label is not None and not label.startswith("tbl-"):
        raise ValueError(f"a table label must start with 'tbl-', not {label!r}")
    cols = list(df.columns)
    fns: list[Formatter] = []
    numeric: list[bool] = []
    for c in cols:
        spec = formats.get(c)
        if spec is None:
            if pd.api.types.is_integer_dtype(df[c]):
                spec = "count"
            elif pd.api.types.is_float_dtype(df[c]):
                whole = df[c].dropna().apply(float.is_integer).all()
                spec = "count" if whole else "num1"
            else:
                spec = "text"
        fn = FORMATS[spec] if isinstance(spec, str) else spec
        fns.append(fn)
        numeric.append(spec not in ("text", "year") and pd.api.types.is_numeric_dtype(df[c]))
    head = "| " + " | ".join(_cell(headers.get(c, c)) for c in cols) + " |"
    rule = "|" + "|".join("---:" if n else ":---" for n in numeric) + "|"
    body = [
        "| " + " | ".join(_cell(fn(v)) for fn, v in zip(fns, row, strict=True)) + " |"
        for row in df.itertuples(index=False, name=None)
    ]
    out = "\n".join([head, rule, *body]) + "\n"
    cap = " ".join(p for p in [caption or "", synthetic_label(synthetic) if synthetic is not None else ""] if p)
    if cap or label:
        out += f"\n: {cap}" + (f" {{#{label}}}" if label else "") + "\n"
    cells = tuple(tuple(_plain(fn(v)) for fn, v in zip(fns, row, strict=True))
                  for row in df.itertuples(index=False, name=None))
    numeric_cols = tuple(n or _numeric_text([r[i] for r in cells]) for i, n in enumerate(numeric))
    # the key to the symbols that stand in for numbers (a "low" confidence rating is a word)
    in_numbers = [[c for c, n in zip(r, numeric_cols, strict=True) if n] for r in cells]
    all_notes = ([f"Source: {source.rstrip('.')}."] if source else []) + list(notes) + symbol_notes(in_numbers)
    parts = _Parts(headers=tuple(_plain(headers.get(c, c)) for c in cols), rows=cells, numeric=numeric_cols,
                   caption=cap, label=label, notes=tuple(all_notes))
    return Table(out, parts)


def _numeric_text(values: list[str]) -> bool:
    """A text column that holds numbers (formatted already): right-aligned in the publication form."""
    vals = [v for v in values if v not in ("", *DFE_SYMBOLS)]
    if not vals:
        return False
    return all(re.fullmatch(r"[-+−]?[\d,]*\.?\d+%?( to [-+−]?[\d,]*\.?\d+%?)?", v) for v in vals)


# --- the data-quality report's tables ------------------------------------------------


def _frame(rows: Iterable[Mapping]) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def national_table(national: Iterable[Mapping], *, synthetic: bool, label: str = "tbl-national") -> Table:
    """Panel against published national rates by year and phase.

    Examples
    --------
    >>> from evaluate.report.tables import national_table
    >>> national = [
    ...     {"year": 2022, "phase": "Primary", "overall_absence_rate": 5.94,
    ...      "published_overall_absence_rate": 5.9, "pa_rate": 17.24, "published_pa_rate": 17.2,
    ...      "severe_rate": 1.06, "difference_pp": 0.04},
    ...     {"year": 2023, "phase": "Primary", "overall_absence_rate": 5.46,
    ...      "published_overall_absence_rate": 5.5, "pa_rate": 15.6, "published_pa_rate": 15.6,
    ...      "severe_rate": 1.2, "difference_pp": -0.04},
    ... ]
    >>> print(national_table(national, synthetic=False))
    | Year | Phase | Overall, panel | Overall, published | Persistent, panel | Persistent, published | Severe, panel | Overall difference (pp) |
    |:---|:---|---:|---:|---:|---:|---:|---:|
    | 2022/23 | Primary | 5.9% | 5.9% | 17.2% | 17.2% | 1.1% | +0.04 |
    | 2023/24 | Primary | 5.5% | 5.5% | 15.6% | 15.6% | 1.2% | -0.04 |
    <BLANKLINE>
    : Overall, persistent and severe absence rates in the panel and as published, by year and phase. {#tbl-national}
    """
    df = _frame(national).sort_values(["phase", "year"], kind="stable")
    df = df[["year", "phase", "overall_absence_rate", "published_overall_absence_rate",
             "pa_rate", "published_pa_rate", "severe_rate", "difference_pp"]]
    return markdown_table(
        df,
        formats={"year": "year", "overall_absence_rate": "pct", "published_overall_absence_rate": "pct",
                 "pa_rate": "pct", "published_pa_rate": "pct", "severe_rate": "pct", "difference_pp": "pp2"},
        headers={"year": "Year", "phase": "Phase", "overall_absence_rate": "Overall, panel",
                 "published_overall_absence_rate": "Overall, published",
                 "pa_rate": "Persistent, panel", "published_pa_rate": "Persistent, published",
                 "severe_rate": "Severe, panel", "difference_pp": "Overall difference (pp)"},
        caption="Overall, persistent and severe absence rates in the panel and as published, by year and phase.",
        label=label,
        synthetic=synthetic,
        source=source_text(SOURCE_PANEL, synthetic=synthetic),
    )


def dfe_published_table(rows: Iterable[Mapping], *, synthetic: bool, label: str = "tbl-dfe") -> Table:
    """The panel's national rates beside DfE's published headline figures."""
    df = _frame(rows)
    if df.empty:
        df = pd.DataFrame(columns=["year", "phase", "measure", "published", "panel", "difference_pp"])
    df = df.assign(measure=df["measure"].map({"overall": "Overall absence", "pa": "Persistent absence"}))
    df = df[["year", "phase", "measure", "published", "panel", "difference_pp"]]
    return markdown_table(
        df,
        formats={"year": "year", "published": "pct", "panel": "pct", "difference_pp": "pp2"},
        headers={"year": "Year", "phase": "Phase", "measure": "Measure", "published": "DfE published",
                 "panel": "Panel", "difference_pp": "Difference (pp)"},
        caption="National absence in the panel against DfE's published national figures.",
        label=label,
        synthetic=synthetic,
        source=source_text(SOURCE_PANEL, synthetic=synthetic),
    )


def coverage_table(coverage: Iterable[Mapping] | Mapping[str, Any], *, synthetic: bool, label: str = "tbl-coverage") -> Table:
    """Schools and enrolments by year, term and phase.

    Examples
    --------
    >>> from evaluate.report.tables import coverage_table
    >>> coverage = [
    ...     {"year": 2022, "term": "full_year", "phase": "Primary", "schools": 1520, "enrolments": 401234},
    ...     {"year": 2022, "term": "full_year", "phase": "Secondary", "schools": 310, "enrolments": 298001},
    ...     {"year": 2023, "term": "full_year", "phase": "Primary", "schools": 1498, "enrolments": 399870},
    ...     {"year": 2023, "term": "full_year", "phase": "Secondary", "schools": 312, "enrolments": 301552},
    ... ]
    >>> print(coverage_table(coverage, synthetic=False))
    | Year | Term | Phase | Schools | Enrolments |
    |:---|:---|:---|---:|---:|
    | 2022/23 | full_year | Primary | 1,520 | 401,234 |
    | 2022/23 | full_year | Secondary | 310 | 298,001 |
    | 2023/24 | full_year | Primary | 1,498 | 399,870 |
    | 2023/24 | full_year | Secondary | 312 | 301,552 |
    <BLANKLINE>
    : Schools and pupil enrolments in the panel by year, term and phase. {#tbl-coverage}
    """
    if isinstance(coverage, Mapping):  # a controlled table (evaluate.disclosure): keep its order
        df = _frame(coverage["records"])[["year", "term", "phase", "schools", "enrolments"]]
    else:
        df = _frame(coverage).sort_values(["year", "term", "phase"], kind="stable")[
            ["year", "term", "phase", "schools", "enrolments"]]
    return markdown_table(
        df,
        formats={"year": "year", "schools": "count", "enrolments": "count"},
        headers={"year": "Year", "term": "Term", "phase": "Phase", "schools": "Schools",
                 "enrolments": "Enrolments"},
        caption="Schools and pupil enrolments in the panel by year, term and phase.",
        label=label,
        synthetic=synthetic,
        source=source_text(SOURCE_PANEL, synthetic=synthetic),
    )


def suppression_table(suppression: Iterable[Mapping], *, synthetic: bool,
                      label: str = "tbl-suppression") -> Table:
    """Counts of suppressed or unavailable cells by file, column and DfE symbol.

    Examples
    --------
    >>> from evaluate.report.tables import suppression_table
    >>> rows = [{"file": "absence.csv", "column": "sess_overall", "symbol": "c", "count": 12},
    ...         {"file": "absence.csv", "column": "sess_overall", "symbol": "x", "count": 3}]
    >>> print(suppression_table(rows, synthetic=False))
    | File | Column | Symbol | Cells |
    |:---|:---|:---|---:|
    | absence.csv | sess_overall | `c` | 12 |
    | absence.csv | sess_overall | `x` | 3 |
    <BLANKLINE>
    : Cells holding a DfE symbol instead of a number, by file, column and symbol. {#tbl-suppression}
    """
    df = _frame(suppression)
    if df.empty:
        df = pd.DataFrame({"file": [], "column": [], "symbol": [], "count": []})
    df = df.sort_values(["file", "column", "symbol"], kind="stable")[["file", "column", "symbol", "count"]]
    df["symbol"] = df["symbol"].map(lambda s: f"`{s}`")
    return markdown_table(
        df,
        formats={"count": "count"},
        headers={"file": "File", "column": "Column", "symbol": "Symbol", "count": "Cells"},
        caption="Cells holding a DfE symbol instead of a number, by file, column and symbol.",
        label=label,
        synthetic=synthetic,
        source=source_text(SOURCE_PANEL, synthetic=synthetic),
    )


def attrition_table(attrition: Iterable[Mapping], *, synthetic: bool, label: str = "tbl-attrition") -> Table:
    """The attrition log in order, each step's rows before and after and why.

    Examples
    --------
    >>> from evaluate.report.tables import attrition_table
    >>> log = [{"step": "read", "rows_before": 10500, "rows_after": 10500, "dropped": 0,
    ...         "reason": ""},
    ...        {"step": "drop special schools", "rows_before": 10500, "rows_after": 10000,
    ...         "dropped": 500, "reason": "out of scope"}]
    >>> print(attrition_table(log, synthetic=False))
    | Step | Rows before | Rows after | Dropped | Reason |
    |:---|---:|---:|---:|:---|
    | read | 10,500 | 10,500 | 0 |  |
    | drop special schools | 10,500 | 10,000 | 500 | out of scope |
    <BLANKLINE>
    : Attrition from the rows read to the rows of the analysis panel. {#tbl-attrition}
    """
    df = _frame(attrition)[["step", "rows_before", "rows_after", "dropped", "reason"]]
    return markdown_table(
        df,
        formats={"rows_before": "count", "rows_after": "count", "dropped": "count"},
        headers={"step": "Step", "rows_before": "Rows before", "rows_after": "Rows after",
                 "dropped": "Dropped", "reason": "Reason"},
        caption="Attrition from the rows read to the rows of the analysis panel.",
        label=label,
        synthetic=synthetic,
        source=source_text(SOURCE_PANEL, synthetic=synthetic),
    )


_CONVERSION_LABELS = {
    "links_read": "GIAS links read",
    "conversions_followed": "Academy conversions followed",
    "mergers": "Mergers",
    "schools_with_more_than_one_urn": "Schools with more than one URN",
    "longest_chain": "Longest chain of URNs",
}

_PROGRAMME_LABELS = {
    "hubs": "Attendance hubs",
    "hub_schools": "Schools in an attendance hub",
    "hub_schools_listed": "Member rows listed in hubs.csv",
    "mentor_las": "Local authorities with attendance mentors",
    "mentor_schools": "Schools in a mentor area",
    "both_programmes": "Schools in both programmes",
}


def _key_value(pairs: list[tuple[str, Any]], *, caption: str, label: str, synthetic: bool,
               value_header: str = "Number", item_header: str = "Measure") -> Table:
    # the first column has a header too: an empty header cell is announced as nothing
    df = pd.DataFrame(pairs, columns=["item", "value"])
    return markdown_table(df, formats={"item": "text", "value": "count"},
                          headers={"item": item_header, "value": value_header},
                          caption=caption, label=label, synthetic=synthetic,
                          source=source_text(SOURCE_PANEL, synthetic=synthetic))


def conversions_table(conversions: Mapping[str, Any], *, synthetic: bool,
                      label: str = "tbl-conversions") -> Table:
    """How schools were followed across academy conversions and mergers.

    Examples
    --------
    >>> from evaluate.report.tables import conversions_table
    >>> print(conversions_table({"links_read": 812, "conversions_followed": 640, "mergers": 12},
    ...                         synthetic=False))
    | Measure | Number |
    |:---|---:|
    | GIAS links read | 812 |
    | Academy conversions followed | 640 |
    | Mergers | 12 |
    <BLANKLINE>
    : Schools followed across academy conversions and mergers. {#tbl-conversions}
    """
    pairs = [(_CONVERSION_LABELS.get(k, k.replace("_", " ")), v) for k, v in conversions.items()]
    return _key_value(pairs, caption="Schools followed across academy conversions and mergers.",
                      label=label, synthetic=synthetic)


def programmes_table(programmes: Mapping[str, Any], *, synthetic: bool,
                     label: str = "tbl-programmes") -> Table:
    """Programme membership: hubs, hub schools by cohort, mentor areas, both.

    Examples
    --------
    >>> from evaluate.report.tables import programmes_table
    >>> print(programmes_table({"hubs": 2, "hub_schools": 31, "hub_cohorts": {"2023": 20, "2024": 11}},
    ...                        synthetic=False))
    | Membership | Schools or areas |
    |:---|---:|
    | Attendance hubs | 2 |
    | Schools in an attendance hub | 31 |
    | Hub schools in cohort 2023/24 | 20 |
    | Hub schools in cohort 2024/25 | 11 |
    <BLANKLINE>
    : Programme membership in the panel. {#tbl-programmes}
    """
    pairs: list[tuple[str, Any]] = []
    for key in ["hubs", "hub_schools_listed", "hub_schools"]:
        if key in programmes:
            pairs.append((_PROGRAMME_LABELS[key], programmes[key]))
    for cohort, n in sorted((programmes.get("hub_cohorts") or {}).items(), key=lambda kv: int(kv[0])):
        pairs.append((f"Hub schools in cohort {year_label(cohort)}", n))
    for key in ["mentor_las", "mentor_schools"]:
        if key in programmes:
            pairs.append((_PROGRAMME_LABELS[key], programmes[key]))
    for cohort, n in sorted((programmes.get("mentor_cohorts") or {}).items(), key=lambda kv: int(kv[0])):
        pairs.append((f"Mentor-area schools in cohort {year_label(cohort)}", n))
    if "both_programmes" in programmes:
        pairs.append((_PROGRAMME_LABELS["both_programmes"], programmes["both_programmes"]))
    known = set(_PROGRAMME_LABELS) | {"hub_cohorts", "mentor_cohorts"}
    pairs += [(k.replace("_", " "), v) for k, v in programmes.items() if k not in known]
    return _key_value(pairs, caption="Programme membership in the panel.", label=label,
                      synthetic=synthetic, value_header="Schools or areas", item_header="Membership")


_MATCH_REASONS = {
    "treated_dropped_missing_pre": "no pre-period data",
    "treated_dropped_support": "outside common support",
    "treated_dropped_caliper": "no comparison school within the caliper",
    "treated_dropped_block": "no comparison school in its phase block",
    "treated_dropped_cohort_unmatched": "cohort could not be matched",
}


def matching_counts_table(counts: Iterable[Mapping], *, programme: str, synthetic: bool,
                          label: str = "tbl-matching") -> Table:
    """Per cohort: treated schools, matched, every treated school left out by reason, comparison schools used."""
    df = _frame(counts).fillna(0)
    cols = ["cohort", "treated", "treated_matched"] + [c for c in _MATCH_REASONS if c in df.columns]
    cols += ["comparison", "comparison_matched"]
    df = df.reindex(columns=cols, fill_value=0)
    # a school count suppressed under disclosure.school_threshold stays "c" (DfE's symbol)
    df = df.astype({c: "int64" for c in cols if not df[c].astype(str).eq("c").any()})
    headers = {"cohort": "Cohort", "treated": "Treated schools", "treated_matched": "Matched",
               "comparison": "Comparison candidates", "comparison_matched": "Comparison schools used",
               **{k: f"Left out: {v}" for k, v in _MATCH_REASONS.items()}}
    return markdown_table(df, formats={"cohort": "year", **{c: "count" for c in cols if c != "cohort"}},
                          headers=headers,
                          caption=f"Matching of the {programme} cohorts: schools matched and left out, by reason.",
                          label=label, synthetic=synthetic, source=source_text(SOURCE_ABSENCE, synthetic=synthetic))


def symbols_key_table(*, label: str = "tbl-symbols") -> Table:
    """The key to the DfE symbols that stand in for numbers in the source files."""
    from evaluate.data.symbols import SYMBOLS

    df = pd.DataFrame([{"Symbol": f"`{k}`" if k else "(empty)", "Meaning": v} for k, v in SYMBOLS.items()])
    return markdown_table(df, formats={"Symbol": "text", "Meaning": "text"},
                          caption="Key to the symbols the DfE files use in place of numbers.", label=label,
                          source="DfE, Explore education statistics: symbols used in the data files")
