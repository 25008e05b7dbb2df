"""Sentences and tables of the programme reports (hubs, mentors), built from ``results/<programme>.json``.

Every number is formatted here, once, with DfE's rounding (half up), so the key findings,
the headline table and the charts show the same rounded values. Nothing is estimated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from evaluate.report.rounding import fmt_count, fmt_number, year_label
from evaluate.report.tables import SOURCE_ABSENCE, Table, markdown_table, note, source_text

__all__ = ["PROGRAMME_NAMES", "caveats", "key_findings", "report_key_findings", "headline_table", "estimators_table", "subgroup_table",
           "bacon_table", "confidence_sentence", "effect_sentence", "design_sentence", "interval_text",
           "balance_table_md", "pretest_sentence"]

#: How each programme is named in a sentence (subject, and the schools it covers).
PROGRAMME_NAMES = {
    "hubs": {"subject": "Attendance hub membership", "schools": "hub schools", "title": "Attendance hubs"},
    "mentors": {"subject": "The attendance mentor programme", "schools": "schools in mentor areas",
                "title": "Attendance mentors"},
}

_CONF_WORDS = {"high": "high", "moderate": "moderate", "low": "low"}


def _pp(x: float | None) -> str:
    return fmt_number(abs(x), 1) if x is not None else "n/a"


def _noun(label: str) -> str:
    """An outcome label inside a sentence: ``"Overall absence rate"`` -> ``"the overall absence rate"``."""
    low = label[0].lower() + label[1:]
    return f"the {low}" if low.endswith("rate") else low


def interval_text(lo: float | None, hi: float | None, *, absolute: bool = False, ndigits: int = 1) -> str:
    """``"0.5 to 0.8"``: a 95% interval, rounded half up to ``ndigits`` decimals (signed unless ``absolute``).

    Examples
    --------
    >>> from evaluate.report.findings import interval_text
    >>> interval_text(-0.42, -0.08)
    '-0.4 to -0.1'
    >>> interval_text(None, 0.3)
    'not available'
    """
    if lo is None or hi is None:
        return "not available"
    if absolute:
        a, b = sorted((abs(lo), abs(hi)))
        return f"{fmt_number(a, ndigits)} to {fmt_number(b, ndigits)}"
    return f"{fmt_number(lo, ndigits)} to {fmt_number(hi, ndigits)}"


def effect_sentence(programme: str, outcome: Mapping[str, Any]) -> str:
    """One sentence: the headline effect on an outcome, its 95% interval and, for absence rates, days.

    Examples
    --------
    >>> from evaluate.did import example_school_panel
    >>> from evaluate.findings import programme_findings
    >>> panel = example_school_panel()
    >>> results = programme_findings(panel, programme="hubs", cohort="cohort",
    ...                              outcomes=["overall_absence_rate"], synthetic=True)
    >>> outcome = results["outcomes"]["overall_absence_rate"]
    >>> from evaluate.report.findings import effect_sentence
    >>> print(effect_sentence("hubs", outcome))
    Attendance hub membership increased the overall absence rate by 1.7 percentage points (95% interval 1.5 to 1.8).
    """
    name = PROGRAMME_NAMES.get(programme, {"subject": programme})["subject"]
    h = outcome["headline"]
    est, lo, hi = h["estimate"], h["ci_low"], h["ci_high"]
    label = _noun(outcome["label"])
    if est is None:
        return f"No estimate of the effect on {label} could be computed."
    if lo is None or hi is None:
        return (f"We cannot tell whether {name[0].lower() + name[1:]} changed {label}: the estimate is "
                f"{fmt_number(est, 1)} percentage points, and no interval can be computed for it.")
    spans_zero = lo is not None and hi is not None and lo <= 0 <= hi
    if spans_zero:
        s = (f"We cannot tell whether {name[0].lower() + name[1:]} changed {label}: the estimate is "
             f"{fmt_number(est, 1)} percentage points, with a 95% interval from {interval_text(lo, hi)} that includes no change.")
    else:
        verb = "reduced" if est < 0 else "increased"
        s = (f"{name} {verb} {label} by {_pp(est)} percentage points "
             f"(95% interval {interval_text(lo, hi, absolute=True)})")
        days = h.get("days_per_pupil")
        if days and days.get("estimate") is not None:
            s += (f", about {fmt_number(abs(days['estimate']), 1)} days of school per pupil per year "
                  f"(95% interval {interval_text(days['ci_low'], days['ci_high'], absolute=True)})")
        s += "."
    return s


def confidence_sentence(outcome: Mapping[str, Any]) -> str:
    """How confident we can be, and why (the checks behind the rating).

    Examples
    --------
    >>> from evaluate.did import example_school_panel
    >>> from evaluate.findings import programme_findings
    >>> panel = example_school_panel()
    >>> results = programme_findings(panel, programme="hubs", cohort="cohort",
    ...                              outcomes=["overall_absence_rate"], synthetic=True)
    >>> outcome = results["outcomes"]["overall_absence_rate"]
    >>> from evaluate.report.findings import confidence_sentence
    >>> print(confidence_sentence(outcome))
    Confidence in the overall absence rate estimate is high: pre-trends, balance and the other estimators all support it.
    """
    c = outcome["confidence"]
    checks = c["checks"]
    reasons = []
    p = checks["pretrends"]["p_value"]
    if checks["pretrends"]["ok"] is None:
        reasons.append("the pre-trends could not be tested")
    elif not checks["pretrends"]["ok"]:
        reasons.append("treated and comparison schools already differed in the years before joining "
                       f"(pre-trend test p {'< 0.001' if p is not None and p < 0.001 else '= ' + fmt_number(p, 3)})")
    if not checks["balance"]["ok"]:
        n = len(checks["balance"]["imbalanced"])
        reasons.append(f"{n} matching variable{'s' if n != 1 else ''} remained imbalanced after matching")
    if not checks["agreement"]["ok"]:
        reasons.append("other estimators disagree (" + ", ".join(checks["agreement"]["disagree"]) + ")")
    head = f"Confidence in the {outcome['label'].lower()} estimate is {_CONF_WORDS[c['rating']]}"
    head = head.replace("the the ", "the ")
    if not reasons:
        return head + ": pre-trends, balance and the other estimators all support it."
    return head + ": " + "; ".join(reasons) + "."


def pretest_sentence(outcome: Mapping[str, Any]) -> str:
    """The Wald pre-test, in words.

    Examples
    --------
    >>> from evaluate.did import example_school_panel
    >>> from evaluate.findings import programme_findings
    >>> panel = example_school_panel()
    >>> results = programme_findings(panel, programme="hubs", cohort="cohort",
    ...                              outcomes=["overall_absence_rate"], synthetic=True)
    >>> outcome = results["outcomes"]["overall_absence_rate"]
    >>> from evaluate.report.findings import pretest_sentence
    >>> print(pretest_sentence(outcome))
    The joint test that all 6 pre-treatment effects are zero does not reject parallel pre-trends (F(6, 152) = 0.61, p = 0.724).
    """
    pt = outcome["pretest"]
    if pt.get("p_value") is None:
        note = pt.get("note")
        return f"The pre-trend test is {note}." if note and note.startswith("not available") else \
            "There was no pre-treatment period to test."
    p = pt["p_value"]
    ptxt = "< 0.001" if p < 0.001 else fmt_number(p, 3)
    verdict = "rejects" if p < 0.05 else "does not reject"
    what = {"cells": "pre-treatment effects", "event times": "pre-treatment event-time averages",
            "average": "pre-treatment effects' average"}.get(pt.get("tested", "cells"), "pre-treatment effects")
    if pt.get("tested") == "average":
        return (f"With {fmt_count(pt['treated_clusters'])} treated clusters only the average pre-treatment effect "
                f"can be tested: the test {verdict} parallel pre-trends "
                f"(F(1, {fmt_count(pt['df_denominator'])}) = {fmt_number(pt['statistic'], 2)}, "
                f"p {'' if p < 0.001 else '= '}{ptxt}).")
    if pt.get("df_denominator") is not None:
        stat = f"F({fmt_count(pt['df'])}, {fmt_count(pt['df_denominator'])}) = {fmt_number(pt['statistic'], 2)}"
    else:
        stat = f"chi-squared {fmt_number(pt['statistic'], 1)}"
    return (f"The joint test that all {fmt_count(pt['df'])} {what} are zero {verdict} "
            f"parallel pre-trends ({stat}, p {'' if p < 0.001 else '= '}{ptxt}).")


def design_sentence(results: Mapping[str, Any]) -> str:
    """One sentence naming the design and its Maryland Scientific Methods Scale level.

    Examples
    --------
    >>> from evaluate.did import example_school_panel
    >>> from evaluate.findings import programme_findings
    >>> panel = example_school_panel()
    >>> results = programme_findings(panel, programme="hubs", cohort="cohort",
    ...                              outcomes=["overall_absence_rate"], synthetic=True)
    >>> from evaluate.report.findings import design_sentence
    >>> print(design_sentence(results))
    Design: difference-in-differences against never-treated comparison schools (Maryland Scientific Methods Scale level 3: outcomes before and after, with a comparison group providing the counterfactual; assignment was not random).
    """
    d = results["design"]
    return (f"Design: {d['design']} (Maryland Scientific Methods Scale level {d['level']}: {d['reason']}).")


def key_findings(results: Mapping[str, Any], *, max_findings: int = 6) -> list[str]:
    """At most six one-sentence findings, each with its number and 95% interval, from the results.

    Examples
    --------
    >>> from evaluate.did import example_school_panel
    >>> from evaluate.findings import programme_findings
    >>> panel = example_school_panel()
    >>> results = programme_findings(panel, programme="hubs", cohort="cohort",
    ...                              outcomes=["overall_absence_rate"], synthetic=True)
    >>> from evaluate.report.findings import key_findings
    >>> findings = key_findings(results)
    >>> print(findings[0])
    Attendance hub membership increased the overall absence rate by 1.7 percentage points (95% interval 1.5 to 1.8).
    """
    prog = results["programme"]
    outs = results["outcomes"]
    order = [k for k in ("overall_absence_rate", "pa_rate", "severe_rate") if k in outs] + \
            [k for k in outs if k not in ("overall_absence_rate", "pa_rate", "severe_rate")]
    findings = [effect_sentence(prog, outs[k]) for k in order][:3]
    first = outs[order[0]]
    h = first["headline"]
    schools = PROGRAMME_NAMES.get(prog, {"schools": "treated schools"})["schools"]
    comp = "matched comparison schools" if "matching" in results else "schools outside the programme"
    findings.append(f"The estimates compare {fmt_count(h['n_treated'])} {schools} with "
                    f"{fmt_count(h['n_comparison'])} {comp}.")
    waves = [w for w in first.get("by_wave", []) if w.get("estimate") is not None]
    if len(waves) > 1:
        big = min(waves, key=lambda w: w["estimate"])
        small = max(waves, key=lambda w: w["estimate"])
        findings.append(f"Effects on {_noun(first['label'])} differed by cohort: from {fmt_number(big['estimate'], 1)} "
                        f"percentage points for schools joining in {year_label(int(big['component']))} to "
                        f"{fmt_number(small['estimate'], 1)} for those joining in {year_label(int(small['component']))}.")
    findings.append(confidence_sentence(first))
    return findings[:max_findings]


def report_key_findings(results: Mapping[str, Any], areas: Mapping[str, Any] | None = None) -> list[str]:
    """The key findings a programme report leads with.

    For mentors, when the local-authority analysis ran on DfE's real published figures
    (``areas["source"] == "real"``), the real data lead (:func:`evaluate.report.areas.lead_findings`)
    and the school-level findings follow, named for the data they rest on; otherwise
    :func:`key_findings`.

    Examples
    --------
    >>> from evaluate.report.findings import report_key_findings
    >>> r = {"synthetic_did": [{"cohort": "overall", "estimate": -0.16, "ci_low": -0.25, "ci_high": -0.06}],
    ...      "statement": "This design cannot detect an effect of the size the programme could plausibly have.",
    ...      "detectable": {"first_phase": False, "expansion": False}}
    >>> areas = {"source": "real", "by_start": {"actual": {"outcomes": {"overall_absence_rate": r}}}}
    >>> from evaluate.did import example_school_panel
    >>> from evaluate.findings import programme_findings
    >>> res = programme_findings(example_school_panel(), programme="mentors", cohort="cohort",
    ...                          outcomes=["overall_absence_rate"], synthetic=True)
    >>> lines = report_key_findings(res, areas)
    >>> lines[0].startswith("On DfE's published local-authority figures, we cannot tell")
    True
    >>> lines[2].startswith("School-level estimates (synthetic data, not real findings):")
    True
    """
    school = key_findings(results)
    if results.get("programme") != "mentors" or not areas or areas.get("source") != "real":
        return school
    from evaluate.report.areas import lead_findings

    data = "synthetic data, not real findings" if results.get("synthetic") else "DfE's school-level files"
    return [*lead_findings(areas)[:2], f"School-level estimates ({data}): {school[0]}", *school[1:3]]


def headline_table(results: Mapping[str, Any], *, synthetic: bool, label: str = "tbl-headline") -> Table:
    """Outcome, effect, 95% interval, days per pupil, schools, confidence: one row per outcome.

    Examples
    --------
    >>> from evaluate.did import example_school_panel
    >>> from evaluate.findings import programme_findings
    >>> panel = example_school_panel()
    >>> results = programme_findings(panel, programme="hubs", cohort="cohort",
    ...                              outcomes=["overall_absence_rate"], synthetic=True)
    >>> from evaluate.report.findings import headline_table
    >>> print(headline_table(results, synthetic=True))
    | Outcome | Effect (percentage points) | 95% interval (percentage points) | Days per pupil per year | Treated schools | Comparison schools | Confidence |
    |:---|---:|:---|---:|---:|---:|:---|
    | Overall absence rate | 1.7 | 1.5 to 1.8 |  | 158 | 42 | high |
    <BLANKLINE>
    : Headline estimates: difference-in-differences against never-treated comparison schools, Scientific Methods Scale level 3. Negative effects are falls in absence. Synthetic data: not real findings. {#tbl-headline}
    """
    rows = []
    for _k, o in results["outcomes"].items():
        h = o["headline"]
        days = h.get("days_per_pupil") or {}
        rows.append({
            "Outcome": o["label"],
            "Effect (percentage points)": h["estimate"],
            "95% interval (percentage points)": interval_text(h["ci_low"], h["ci_high"]),
            "Days per pupil per year": days.get("estimate") if days else float("nan"),
            "Treated schools": h["n_treated"],
            "Comparison schools": h["n_comparison"],
            "Confidence": o["confidence"]["rating"],
        })
    d = results["design"]
    one = lambda x: fmt_number(x, 1)  # noqa: E731
    return markdown_table(pd.DataFrame(rows),
                          formats={"Outcome": "text", "95% interval (percentage points)": "text", "Confidence": "text",
                                   "Effect (percentage points)": one, "Days per pupil per year": one,
                                   "Treated schools": "count", "Comparison schools": "count"},
                          caption=(f"Headline estimates: {d['design']}, Scientific Methods Scale level {d['level']}. "
                                   "Negative effects are falls in absence."),
                          label=label, synthetic=synthetic, source=source_text(SOURCE_ABSENCE, synthetic=synthetic))


def _est_rows(rows: Sequence[Mapping[str, Any]], key: str, name: str, fmt=str) -> pd.DataFrame:
    out = []
    for r in rows:
        out.append({name: fmt(r[key]),
                    "Effect (percentage points)": fmt_number(r.get("estimate"), 2) if r.get("estimate") is not None else "",
                    "95% interval (percentage points)": (interval_text(r.get("ci_low"), r.get("ci_high"), ndigits=2)
                                     if r.get("estimate") is not None else ""),
                    "Note": r.get("note", "")})
    df = pd.DataFrame(out)
    if not (df["Note"] != "").any():
        df = df.drop(columns="Note")
    return df


def estimators_table(outcome: Mapping[str, Any], *, synthetic: bool, label: str = "tbl-estimators") -> Table:
    """The overall effect of one outcome by estimator (Callaway-Sant'Anna, Sun-Abraham, imputation, TWFE).

    Examples
    --------
    >>> from evaluate.did import example_school_panel
    >>> from evaluate.findings import programme_findings
    >>> panel = example_school_panel()
    >>> results = programme_findings(panel, programme="hubs", cohort="cohort",
    ...                              outcomes=["overall_absence_rate"], synthetic=True)
    >>> outcome = results["outcomes"]["overall_absence_rate"]
    >>> from evaluate.report.findings import estimators_table
    >>> print(estimators_table(outcome, synthetic=True))
    | Estimator | Effect (percentage points) | 95% interval (percentage points) |
    |:---|:---|:---|
    | Callaway-Sant'Anna | 1.66 | 1.47 to 1.85 |
    | Sun-Abraham | 1.66 | 1.47 to 1.85 |
    | Imputation (Borusyak-Jaravel-Spiess) | 1.65 | 1.50 to 1.81 |
    | Two-way fixed effects | 1.22 | 1.07 to 1.37 |
    <BLANKLINE>
    : Overall absence rate: the overall effect by estimator. Synthetic data: not real findings. {#tbl-estimators}
    """
    df = _est_rows(outcome["estimators"], "estimator", "Estimator")
    return markdown_table(df, formats={c: "text" for c in df.columns},
                          caption=f"{outcome['label']}: the overall effect by estimator.", label=label,
                          synthetic=synthetic, source=source_text(SOURCE_ABSENCE, synthetic=synthetic))


def subgroup_table(outcome: Mapping[str, Any], key: str, *, synthetic: bool, label: str) -> Table:
    """Estimates by wave (``by_wave``), phase (``by_phase``) or disadvantage (``by_fsm``).

    Examples
    --------
    >>> from evaluate.did import example_school_panel
    >>> from evaluate.findings import programme_findings
    >>> panel = example_school_panel()
    >>> results = programme_findings(panel, programme="hubs", cohort="cohort",
    ...                              outcomes=["overall_absence_rate"], synthetic=True)
    >>> outcome = results["outcomes"]["overall_absence_rate"]
    >>> from evaluate.report.findings import subgroup_table
    >>> print(subgroup_table(outcome, "by_wave", synthetic=True, label="tbl-waves"))
    | Cohort (first year) | Effect (percentage points) | 95% interval (percentage points) |
    |:---|:---|:---|
    | 2020/21 | 1.72 | 1.36 to 2.07 |
    | 2021/22 | 1.60 | 1.31 to 1.90 |
    | 2022/23 | 1.64 | 1.31 to 1.98 |
    <BLANKLINE>
    : Overall absence rate: effect by the year schools joined. Synthetic data: not real findings. {#tbl-waves}
    """
    rows = outcome.get(key) or []
    if key == "by_wave":
        df = _est_rows(rows, "component", "Cohort (first year)", fmt=lambda g: year_label(int(g)))
        what = "by the year schools joined"
    else:
        df = _est_rows(rows, "group", "Phase" if key == "by_phase" else "Free school meals (thirds of schools)")
        df.insert(1, "Treated schools", [fmt_count(r.get("n_treated")) for r in rows])
        what = "by phase" if key == "by_phase" else "by the school's share of pupils eligible for free school meals"
    return markdown_table(df, formats={c: "text" for c in df.columns},
                          caption=f"{outcome['label']}: effect {what}.", label=label, synthetic=synthetic,
                          source=source_text(SOURCE_ABSENCE, synthetic=synthetic))


def bacon_table(outcome: Mapping[str, Any], *, synthetic: bool, label: str = "tbl-bacon") -> Table:
    """The Goodman-Bacon decomposition of the TWFE estimate of one outcome, by comparison type.

    Examples
    --------
    >>> from evaluate.did import example_school_panel
    >>> from evaluate.findings import programme_findings
    >>> panel = example_school_panel()
    >>> results = programme_findings(panel, programme="hubs", cohort="cohort",
    ...                              outcomes=["overall_absence_rate"], synthetic=True)
    >>> outcome = results["outcomes"]["overall_absence_rate"]
    >>> from evaluate.report.findings import bacon_table
    >>> print(bacon_table(outcome, synthetic=True))
    | Comparison | Weight | Average 2x2 estimate (percentage points) |
    |:---|:---|:---|
    | Earlier vs later treated | 0.240 | 1.20 |
    | Later vs earlier treated (already treated as controls) | 0.234 | 0.49 |
    | Treated vs never treated | 0.526 | 1.56 |
    <BLANKLINE>
    : Overall absence rate: the two-way fixed effects estimate (1.22) as a weighted average of 2x2 comparisons (200 schools observed in every year). Synthetic data: not real findings. {#tbl-bacon}
    """
    b = outcome.get("bacon")
    names = {"treated_vs_never": "Treated vs never treated", "earlier_vs_later": "Earlier vs later treated",
             "later_vs_earlier": "Later vs earlier treated (already treated as controls)"}
    if not b:
        return note("The Bacon decomposition could not be computed.\n")
    df = pd.DataFrame([{"Comparison": names.get(r["type"], r["type"]), "Weight": fmt_number(r["weight"], 3),
                        "Average 2x2 estimate (percentage points)": fmt_number(r["estimate"], 2)} for r in b["by_type"]])
    return markdown_table(df, formats={c: "text" for c in df.columns},
                          caption=(f"{outcome['label']}: the two-way fixed effects estimate "
                                   f"({fmt_number(b['twfe'], 2)}) as a weighted average of 2x2 comparisons "
                                   f"({fmt_count(b['n_schools'])} schools observed in every year)."),
                          label=label, synthetic=synthetic, source=source_text(SOURCE_ABSENCE, synthetic=synthetic))


def balance_table_md(matching: Mapping[str, Any], cohort: int, *, synthetic: bool, label: str) -> Table:
    """Standardised mean differences before and after matching for one cohort.

    Examples
    --------
    Needs a matched design: the balance of one cohort before and after matching.

    >>> from evaluate.did import example_panel
    >>> from evaluate.findings import programme_findings
    >>> from evaluate.matching import match_cohorts
    >>> panel = example_panel(start=2018).rename(
    ...     columns={"id": "school_id", "period": "year", "y": "overall_absence_rate"})
    >>> matching = match_cohorts(panel, unit="school_id", time="year", cohort="cohort",
    ...                          outcomes=["overall_absence_rate"], covariates=["x"], exact=(),
    ...                          pre_years=2, seed=0)
    >>> results = programme_findings(panel, programme="hubs", cohort="cohort",
    ...                              outcomes=["overall_absence_rate"], matching=matching)
    >>> from evaluate.report.findings import balance_table_md
    >>> print(balance_table_md(results["matching"], 2020, synthetic=True, label="tbl-balance"))
    | Variable | SMD before | SMD after |
    |:---|:---|:---|
    | overall_absence_rate_level | 0.25 | 0.01 |
    | overall_absence_rate_trend | 0.06 | -0.04 |
    | x | -0.09 | -0.06 |
    <BLANKLINE>
    : Balance of the cohort joining in 2020/21: standardised mean differences (pooled standard deviation) before and after matching; above 0.1 in absolute value is flagged as imbalanced. Synthetic data: not real findings. {#tbl-balance}
    """
    t = pd.DataFrame(matching["balance"])
    t = t[t["cohort"] == cohort]
    w = t.pivot(index="term", columns="sample", values="smd").reindex(list(dict.fromkeys(t["term"])))
    df = pd.DataFrame({"Variable": w.index, "SMD before": [fmt_number(v, 2) for v in w.get("before", [])],
                       "SMD after": [fmt_number(v, 2) for v in w.get("after", [])]})
    return markdown_table(df, formats={c: "text" for c in df.columns},
                          caption=(f"Balance of the cohort joining in {year_label(cohort)}: standardised mean "
                                   "differences (pooled standard deviation) before and after matching; "
                                   "above 0.1 in absolute value is flagged as imbalanced."),
                          label=label, synthetic=synthetic, source=source_text(SOURCE_ABSENCE, synthetic=synthetic))


def caveats(results: Mapping[str, Any], *, max_caveats: int = 4) -> list[str]:
    """The top caveats of a programme's headline estimate, each one sentence, from the results.

    Examples
    --------
    >>> from evaluate.did import example_school_panel
    >>> from evaluate.findings import programme_findings
    >>> panel = example_school_panel()
    >>> results = programme_findings(panel, programme="hubs", cohort="cohort",
    ...                              outcomes=["overall_absence_rate"], synthetic=True)
    >>> from evaluate.report.findings import caveats
    >>> for note in caveats(results, max_caveats=2):
    ...     print("-", note)
    - These figures come from synthetic data made to test the pipeline; they are not findings about real schools.
    """
    out: list[str] = []
    if results.get("synthetic"):
        out.append("These figures come from synthetic data made to test the pipeline; they are not findings "
                   "about real schools.")
    first = next(iter(results["outcomes"].values()))
    pt = first["confidence"]["checks"]["pretrends"]
    if pt["ok"] is False:
        out.append("Programme and comparison schools were already on different paths before joining, so part "
                   "of the estimated effect may not be caused by the programme.")
    m = results.get("matching")
    from evaluate.report.methods import balance_caveat

    bal = balance_caveat(results)
    if bal:
        out.append(bal)
    if m:
        counts = pd.DataFrame(m["counts"])
        # with a school count suppressed ("c"), the difference could give it away: no sentence
        shown = not counts[["treated", "treated_matched"]].astype(str).eq("c").any().any()
        left = int(counts["treated"].sum() - counts["treated_matched"].sum()) if shown else 0
        if left:
            out.append(f"{fmt_count(left)} of {fmt_count(int(counts['treated'].sum()))} programme schools could not "
                       "be matched and are not in the estimate, which describes the matched schools only.")
    elif results.get("programme") == "mentors":
        out.append("Whole local authorities were treated and there are few of them, so the intervals, clustered "
                   "by local authority, may understate the uncertainty.")
    if not first["confidence"]["checks"]["agreement"]["ok"]:
        out.append("Estimators that weigh the comparisons differently give different answers (see the "
                   "estimators section).")
    return out[:max_caveats]
