"""The robustness section of the technical annex and the one-line verdict of each policy summary.

Built from ``results/<programme>_robustness.json`` (``evaluate.findings.robustness``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from evaluate.report.findings import interval_text
from evaluate.report.rounding import fmt_count, fmt_number, year_label
from evaluate.report.tables import Table, markdown_table, note

__all__ = ["verdict", "placebo_table", "leave_one_out_sentence", "heterogeneity_table", "comparisons_table",
           "power_sentence", "honest_table", "errors_sentence"]


def _p(p: float | None) -> str:
    if p is None:
        return "n/a"
    return "< 0.001" if p < 0.001 else fmt_number(p, 3)


def verdict(rob: Mapping[str, Any]) -> str:
    """One sentence: how wrong parallel trends could be before the conclusion changes.

    Examples
    --------
    >>> from evaluate.did import example_school_panel
    >>> from evaluate.findings.robustness import programme_robustness
    >>> panel = example_school_panel()
    >>> rob = programme_robustness(panel, programme="hubs", cohort="cohort")
    >>> from evaluate.report.robustness import verdict
    >>> print(verdict(rob))
    The result holds for every violation of parallel trends tried: up to 2.00 times the largest difference between consecutive years before joining (HonestDiD).
    """
    honest = rob.get("honest") or {}
    b = honest.get("breakdown") if honest else None
    orig = honest.get("original") if honest else None
    if isinstance(orig, Mapping) and orig.get("ci_low") is not None and orig["ci_low"] <= 0 <= orig["ci_high"]:
        # the grid-based robust interval can end just inside the original one: never claim a
        # breakdown value for a result that is not distinguishable from no effect to begin with
        return ("The estimate's 95% interval already includes no effect when trends are assumed exactly "
                "parallel, so no violation of parallel trends is needed to overturn it.")
    if isinstance(b, Mapping) and b.get("value") is None and "original" in honest:
        return ("The conclusion does not survive any violation of parallel trends: even with trends allowed "
                "to differ only as much as before joining, the HonestDiD interval includes no effect.")
    if isinstance(b, Mapping) and b.get("censored"):
        return ("The result holds for every violation of parallel trends tried: up to "
                f"{fmt_number(b['value'], 2)} times the largest difference between consecutive years before "
                "joining (HonestDiD).")
    if isinstance(b, Mapping) and b.get("value") is not None:
        kind = b.get("restriction", "relative magnitudes")
        if "relative" in str(kind):
            return ("The result holds unless the difference in trends after joining was more than "
                    f"{fmt_number(b['value'], 2)} times the largest difference between consecutive years "
                    "before joining (HonestDiD breakdown value).")
        return (f"The result holds unless trends bent by more than {fmt_number(b['value'], 2)} percentage points "
                "a year after joining (HonestDiD breakdown value).")
    pw = rob.get("pretrend_power")
    if pw and pw.get("table"):
        row = next((r for r in pw["table"] if abs((r.get("power") or 0) - 0.8) < 1e-9), pw["table"][-1])
        return ("The pre-trend test would detect, with 80% power, a steady difference in trends of "
                f"{fmt_number(abs(row['estimate']), 2)} percentage points a year; a difference that size would "
                f"shift the estimate by {fmt_number(abs(row['bias_post']), 2)} points.")
    return "No sensitivity analysis of parallel trends could be computed for this run."


def placebo_table(rob: Mapping[str, Any], *, synthetic: bool, label: str) -> Table:
    """The placebo-timing estimates (adoption moved earlier) as a Markdown table.

    Examples
    --------
    >>> from evaluate.did import example_school_panel
    >>> from evaluate.findings.robustness import programme_robustness
    >>> panel = example_school_panel()
    >>> rob = programme_robustness(panel, programme="hubs", cohort="cohort")
    >>> from evaluate.report.robustness import placebo_table
    >>> print(placebo_table(rob, synthetic=True, label="tbl-placebo"))
    | Adoption moved earlier by | Cohorts (real to placebo) | Placebo effect | 95% interval |
    |:---|:---|:---|:---|
    | 1 observed year | 2020 to 2019, 2021 to 2020, 2022 to 2021 | -0.13 | -0.32 to 0.07 |
    | 2 observed years | 2021 to 2019, 2022 to 2020 | -0.10 | -0.32 to 0.12 |
    <BLANKLINE>
    : Placebo adoption dates, estimated only on years before the real adoption: with parallel trends the placebo effect is zero. Synthetic data: not real findings. {#tbl-placebo}
    """
    rows = rob.get("placebo_timing") or []
    df = pd.DataFrame([{"Adoption moved earlier by": f"{int(r['shift'])} observed year{'s' if r['shift'] > 1 else ''}",
                        "Cohorts (real to placebo)": r["cohorts"].replace("->", " to "),
                        "Placebo effect": fmt_number(r["estimate"], 2),
                        "95% interval": interval_text(r["ci_low"], r["ci_high"], ndigits=2)} for r in rows])
    caption = ("Placebo adoption dates, estimated only on years before the real adoption: "
               "with parallel trends the placebo effect is zero.")
    if df.empty:
        # still a labelled table, so the text that cites it resolves, and it says why it is empty
        reason = str((rob.get("errors") or {}).get("placebo_timing") or "no placebo estimate in the results")
        df = pd.DataFrame({"Placebo adoption dates": [f"Not computed: {reason}."]})
        caption = "Placebo adoption dates: the test could not be computed for this run."
    return markdown_table(df, formats={c: "text" for c in df.columns}, caption=caption, label=label,
                          synthetic=synthetic)


def leave_one_out_sentence(rob: Mapping[str, Any]) -> str:
    """One sentence on the range of the effect when one hub (or local authority) at a time is left out.

    Examples
    --------
    >>> from evaluate.did import example_school_panel
    >>> from evaluate.findings.robustness import programme_robustness
    >>> panel = example_school_panel()
    >>> rob = programme_robustness(panel, programme="hubs", cohort="cohort")
    >>> from evaluate.report.robustness import leave_one_out_sentence
    >>> print(leave_one_out_sentence(rob))
    Leaving out one hub at a time (4 re-estimates), the effect ranges from 1.64 (without 1) to 1.68 (without 2), against 1.66 with all. No single one changes the sign of the effect.
    """
    loo = rob.get("leave_one_out")
    if not loo:
        return "The leave-one-out analysis could not be computed."
    what = {"hub_id": "hub", "la_code": "local authority"}.get(loo["group"], loo["group"])
    n = len(loo["table"])
    s = (f"Leaving out one {what} at a time ({fmt_count(n)} re-estimates), the effect ranges from "
         f"{fmt_number(loo['min'], 2)} (without {loo['min_group']}) to {fmt_number(loo['max'], 2)} "
         f"(without {loo['max_group']}), against {fmt_number(loo['full_estimate'], 2)} with all.")
    changes = int(loo.get("sign_changes", 0))
    sig = int(loo.get("significance_changes", 0))
    s += (" No single one changes the sign of the effect" if changes == 0 else
          f" Leaving out {changes} of them changes the sign of the effect")
    s += ("." if sig == 0 else f", and {sig} change whether the interval excludes zero.")
    return s


def heterogeneity_table(rob: Mapping[str, Any], *, synthetic: bool, label: str) -> Table:
    """Per subgrouping, the smallest and largest subgroup effects and the Wald test of equal effects.

    Examples
    --------
    >>> from evaluate.did import example_school_panel
    >>> from evaluate.findings.robustness import programme_robustness
    >>> panel = example_school_panel()
    >>> rob = programme_robustness(panel, programme="hubs", cohort="cohort")
    >>> from evaluate.report.robustness import heterogeneity_table
    >>> print(heterogeneity_table(rob, synthetic=True, label="tbl-heterogeneity"))
    | By | Groups | Smallest effect | Largest effect | Test of equal effects |
    |:---|:---|:---|:---|:---|
    | Cohort | 3 | 1.60 (2021/22) | 1.72 (2020/21) | chi-squared 0.2, 2 df, p 0.897 |
    <BLANKLINE>
    : Do effects differ between groups of schools? Wald tests of equal effects. Synthetic data: not real findings. {#tbl-heterogeneity}
    """
    names = {"phase": "Phase", "fsm": "Free school meals (thirds)", "region": "Region", "cohort": "Cohort"}
    rows = []
    for key, h in (rob.get("heterogeneity") or {}).items():
        t = h["test"]
        terms = [r for r in h["table"] if r.get("estimate") is not None]
        lo = min(terms, key=lambda r: r["estimate"])
        hi = max(terms, key=lambda r: r["estimate"])
        lab = (lambda v: year_label(int(float(v)))) if key == "cohort" else str
        rows.append({"By": names.get(key, key), "Groups": fmt_count(len(terms)),
                     "Smallest effect": f"{fmt_number(lo['estimate'], 2)} ({lab(lo['term'])})",
                     "Largest effect": f"{fmt_number(hi['estimate'], 2)} ({lab(hi['term'])})",
                     "Test of equal effects": f"chi-squared {fmt_number(t['statistic'], 1)}, {fmt_count(t['df'])} df, p {_p(t['p_value'])}"})
    if not rows:
        return note("No heterogeneity analysis could be computed.\n")
    df = pd.DataFrame(rows)
    return markdown_table(df, formats={c: "text" for c in df.columns},
                          caption="Do effects differ between groups of schools? Wald tests of equal effects.",
                          label=label, synthetic=synthetic)


def comparisons_table(rob: Mapping[str, Any], *, synthetic: bool, label: str) -> Table:
    """The effect against each alternative comparison group, as a Markdown table.

    Examples
    --------
    Rows are the ``comparisons`` of :func:`evaluate.findings.robustness.programme_robustness`
    (the table of :func:`evaluate.sensitivity.alternative_comparisons`):

    >>> from evaluate.report.robustness import comparisons_table
    >>> rob = {"comparisons": [
    ...     {"term": "never", "description": "never-treated schools", "estimate": -0.31,
    ...      "ci_low": -0.52, "ci_high": -0.1, "n_comparison": 420},
    ...     {"term": "not_yet", "description": "never- and not-yet-treated schools",
    ...      "estimate": -0.27, "ci_low": -0.45, "ci_high": -0.09, "n_comparison": 1530}]}
    >>> print(comparisons_table(rob, synthetic=True, label="tbl-comparisons"))
    | Comparison schools | Effect | 95% interval | Comparison units |
    |:---|:---|:---|:---|
    | never-treated schools | -0.31 | -0.52 to -0.10 | 420 |
    | never- and not-yet-treated schools | -0.27 | -0.45 to -0.09 | 1,530 |
    <BLANKLINE>
    : The effect against different comparison groups. Synthetic data: not real findings. {#tbl-comparisons}
    """
    rows = rob.get("comparisons") or []
    df = pd.DataFrame([{"Comparison schools": r.get("description", r["term"]),
                        "Effect": fmt_number(r["estimate"], 2),
                        "95% interval": interval_text(r["ci_low"], r["ci_high"], ndigits=2),
                        "Comparison units": fmt_count(r.get("n_comparison"))} for r in rows])
    if df.empty:
        return note("The alternative comparison groups could not be estimated.\n")
    return markdown_table(df, formats={c: "text" for c in df.columns},
                          caption="The effect against different comparison groups.", label=label, synthetic=synthetic)


def power_sentence(rob: Mapping[str, Any]) -> str:
    """One sentence on the power of the pre-trend test (Roth 2022) and the bias it could miss.

    Examples
    --------
    >>> from evaluate.did import example_school_panel
    >>> from evaluate.findings.robustness import programme_robustness
    >>> panel = example_school_panel()
    >>> rob = programme_robustness(panel, programme="hubs", cohort="cohort")
    >>> from evaluate.report.robustness import power_sentence
    >>> print(power_sentence(rob))
    The pre-trend test (p 0.556) has 50% power against a linear difference in trends of 0.156 points a year and 80% power against 0.215 (Roth 2022); a trend of the latter size would bias the average post-joining effect by 0.54 points.
    """
    pw = rob.get("pretrend_power")
    if not pw:
        return "The power of the pre-trend test could not be computed."
    rows = {round(r["power"], 2): r for r in pw["table"]}
    r50, r80 = rows.get(0.5), rows.get(0.8)
    pt = pw["pretest"]
    s = (f"The pre-trend test (p {_p(pt.get('p_value'))}) has 50% power against a linear difference in trends of "
         f"{fmt_number(abs(r50['estimate']), 3)} points a year and 80% power against "
         f"{fmt_number(abs(r80['estimate']), 3)} (Roth 2022); a trend of the latter size would bias the average "
         f"post-joining effect by {fmt_number(abs(r80['bias_post']), 2)} points.") if r50 and r80 else ""
    return s or "The power of the pre-trend test could not be computed."


def honest_table(rob: Mapping[str, Any], *, synthetic: bool, label: str) -> Table:
    """The HonestDiD robust intervals for each bound ``M``, as a Markdown table.

    Examples
    --------
    >>> from evaluate.did import example_school_panel
    >>> from evaluate.findings.robustness import programme_robustness
    >>> panel = example_school_panel()
    >>> rob = programme_robustness(panel, programme="hubs", cohort="cohort")
    >>> from evaluate.report.robustness import honest_table
    >>> print(honest_table(rob, synthetic=True, label="tbl-honest"))
    | Restriction | Bound (M) | Method | 95% robust interval |
    |:---|:---|:---|:---|
    | relative_magnitude | 0.00 | C-LF | 1.48 to 1.84 |
    | relative_magnitude | 0.25 | C-LF | 1.39 to 1.95 |
    | relative_magnitude | 0.50 | C-LF | 1.28 to 2.07 |
    | relative_magnitude | 0.75 | C-LF | 1.14 to 2.21 |
    | relative_magnitude | 1.00 | C-LF | 1.00 to 2.35 |
    | relative_magnitude | 1.25 | C-LF | 0.85 to 2.50 |
    | relative_magnitude | 1.50 | C-LF | 0.71 to 2.65 |
    | relative_magnitude | 1.75 | C-LF | 0.56 to 2.79 |
    | relative_magnitude | 2.00 | C-LF | 0.42 to 2.94 |
    <BLANKLINE>
    : HonestDiD (Rambachan and Roth 2023): intervals for the average post-joining effect allowing trends after joining to differ by up to M. Synthetic data: not real findings. {#tbl-honest}
    """
    h = rob.get("honest")
    if not h:
        return note("The HonestDiD sensitivity analysis is not available for this run.\n")
    df = pd.DataFrame(h["table"])
    cols = [c for c in ("restriction", "m", "method", "ci_low", "ci_high") if c in df.columns]
    out = pd.DataFrame({
        "Restriction": df.get("restriction", pd.Series([""] * len(df))).astype(str),
        "Bound (M)": [fmt_number(v, 2) for v in df["m"]] if "m" in df else "",
        "Method": df.get("method", pd.Series([""] * len(df))).astype(str),
        "95% robust interval": [interval_text(a, b, ndigits=2) for a, b in zip(df["ci_low"], df["ci_high"], strict=True)],
    })
    del cols
    return markdown_table(out, formats={c: "text" for c in out.columns},
                          caption=("HonestDiD (Rambachan and Roth 2023): intervals for the average post-joining effect "
                                   "allowing trends after joining to differ by up to M."), label=label, synthetic=synthetic)


def errors_sentence(rob: Mapping[str, Any]) -> str:
    """One sentence listing the robustness analyses that could not be computed, and why (empty when none failed).

    Examples
    --------
    >>> from evaluate.report.robustness import errors_sentence
    >>> errors_sentence({"errors": {"leave_one_out": "no hub_id column"}})
    'Not computed: leave one out (no hub_id column).'
    >>> errors_sentence({"errors": {}})
    ''
    """
    errs = rob.get("errors") or {}
    if not errs:
        return ""
    return "Not computed: " + "; ".join(f"{k.replace('_', ' ')} ({v})" for k, v in errs.items()) + "."
