"""pandas -> Markdown pipe tables, with DfE rounding (half up) on every number.

A report cell prints what these functions return inside a cell marked
``#| output: asis``, so Quarto (and the bridge) read the table as Markdown. A caption
with a label (``tbl-...``) makes the table a cross-reference target: ``@tbl-x``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

import pandas as pd

from evaluate.report.rounding import fmt_count, fmt_number, fmt_pct, fmt_pp, year_label
from evaluate.report.sentences import synthetic_label

__all__ = [
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


def markdown_table(
    df: pd.DataFrame,
    *,
    formats: Mapping[str, str | Formatter] | None = None,
    headers: Mapping[str, str] | None = None,
    caption: str | None = None,
    label: str | None = None,
    synthetic: bool | None = None,
) -> str:
    """Render ``df`` as a pipe table.

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
    return out


# --- the data-quality report's tables ------------------------------------------------


def _frame(rows: Iterable[Mapping]) -> pd.DataFrame:
    return pd.DataFrame(list(rows))


def national_table(national: Iterable[Mapping], *, synthetic: bool, label: str = "tbl-national") -> str:
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
    )


def dfe_published_table(rows: Iterable[Mapping], *, synthetic: bool, label: str = "tbl-dfe") -> str:
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
    )


def coverage_table(coverage: Iterable[Mapping] | Mapping[str, Any], *, synthetic: bool, label: str = "tbl-coverage") -> str:
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
    )


def suppression_table(suppression: Iterable[Mapping], *, synthetic: bool,
                      label: str = "tbl-suppression") -> str:
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
    )


def attrition_table(attrition: Iterable[Mapping], *, synthetic: bool, label: str = "tbl-attrition") -> str:
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
               value_header: str = "Number", item_header: str = "Measure") -> str:
    # the first column has a header too: an empty header cell is announced as nothing
    df = pd.DataFrame(pairs, columns=["item", "value"])
    return markdown_table(df, formats={"item": "text", "value": "count"},
                          headers={"item": item_header, "value": value_header},
                          caption=caption, label=label, synthetic=synthetic)


def conversions_table(conversions: Mapping[str, Any], *, synthetic: bool,
                      label: str = "tbl-conversions") -> str:
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
                     label: str = "tbl-programmes") -> str:
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
                          label: str = "tbl-matching") -> str:
    """Per cohort: treated schools, matched, every treated school left out by reason, comparison schools used."""
    df = _frame(counts).fillna(0)
    cols = ["cohort", "treated", "treated_matched"] + [c for c in _MATCH_REASONS if c in df.columns]
    cols += ["comparison", "comparison_matched"]
    df = df.reindex(columns=cols, fill_value=0).astype({c: "int64" for c in cols})
    headers = {"cohort": "Cohort", "treated": "Treated schools", "treated_matched": "Matched",
               "comparison": "Comparison candidates", "comparison_matched": "Comparison schools used",
               **{k: f"Left out: {v}" for k, v in _MATCH_REASONS.items()}}
    return markdown_table(df, formats={"cohort": "year", **{c: "count" for c in cols if c != "cohort"}},
                          headers=headers,
                          caption=f"Matching of the {programme} cohorts: schools matched and left out, by reason.",
                          label=label, synthetic=synthetic)


def symbols_key_table(*, label: str = "tbl-symbols") -> str:
    """The key to the DfE symbols that stand in for numbers in the source files."""
    from evaluate.data.symbols import SYMBOLS

    df = pd.DataFrame([{"Symbol": f"`{k}`" if k else "(empty)", "Meaning": v} for k, v in SYMBOLS.items()])
    return markdown_table(df, formats={"Symbol": "text", "Meaning": "text"},
                          caption="Key to the symbols the DfE files use in place of numbers.", label=label)
