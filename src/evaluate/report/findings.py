"""Sentences and tables of the programme reports (hubs, mentors), built from ``results/<programme>.json``.

Every number is formatted here, once, with DfE's rounding (half up), so the key findings,
the headline table and the charts show the same rounded values. Nothing is estimated.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from evaluate.report.rounding import fmt_count, fmt_number, year_label
from evaluate.report.tables import markdown_table

__all__ = ["PROGRAMME_NAMES", "caveats", "key_findings", "headline_table", "estimators_table", "subgroup_table",
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
    """``"0.5 to 0.8"``: a 95% interval, rounded half up to ``ndigits`` decimals (signed unless ``absolute``)."""
    if lo is None or hi is None:
        return "not available"
    if absolute:
        a, b = sorted((abs(lo), abs(hi)))
        return f"{fmt_number(a, ndigits)} to {fmt_number(b, ndigits)}"
    return f"{fmt_number(lo, ndigits)} to {fmt_number(hi, ndigits)}"


def effect_sentence(programme: str, outcome: Mapping[str, Any]) -> str:
    """One sentence: the headline effect on an outcome, its 95% interval and, for absence rates, days."""
    name = PROGRAMME_NAMES.get(programme, {"subject": programme})["subject"]
    h = outcome["headline"]
    est, lo, hi = h["estimate"], h["ci_low"], h["ci_high"]
    label = _noun(outcome["label"])
    if est is None:
        return f"No estimate of the effect on {label} could be computed."
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
    """How confident we can be, and why (the checks behind the rating)."""
    c = outcome["confidence"]
    checks = c["checks"]
    reasons = []
    p = checks["pretrends"]["p_value"]
    if not checks["pretrends"]["ok"]:
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
    """The Wald pre-test, in words."""
    pt = outcome["pretest"]
    if pt.get("p_value") is None:
        return "There was no pre-treatment period to test."
    p = pt["p_value"]
    ptxt = "< 0.001" if p < 0.001 else fmt_number(p, 3)
    verdict = "rejects" if p < 0.05 else "does not reject"
    return (f"The joint test that all {fmt_count(pt['df'])} pre-treatment effects are zero {verdict} "
            f"parallel pre-trends (chi-squared {fmt_number(pt['statistic'], 1)}, p {'' if p < 0.001 else '= '}{ptxt}).")


def design_sentence(results: Mapping[str, Any]) -> str:
    d = results["design"]
    return (f"Design: {d['design']} (Maryland Scientific Methods Scale level {d['level']}: {d['reason']}).")


def key_findings(results: Mapping[str, Any], *, max_findings: int = 6) -> list[str]:
    """At most six one-sentence findings, each with its number and 95% interval, from the results."""
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


def headline_table(results: Mapping[str, Any], *, synthetic: bool, label: str = "tbl-headline") -> str:
    """Outcome, effect, 95% interval, days per pupil, schools, confidence: one row per outcome."""
    rows = []
    for _k, o in results["outcomes"].items():
        h = o["headline"]
        days = h.get("days_per_pupil") or {}
        rows.append({
            "Outcome": o["label"],
            "Effect (percentage points)": h["estimate"],
            "95% interval": interval_text(h["ci_low"], h["ci_high"]),
            "Days per pupil per year": days.get("estimate") if days else float("nan"),
            "Treated schools": h["n_treated"],
            "Comparison schools": h["n_comparison"],
            "Confidence": o["confidence"]["rating"],
        })
    d = results["design"]
    one = lambda x: fmt_number(x, 1)  # noqa: E731
    return markdown_table(pd.DataFrame(rows),
                          formats={"Outcome": "text", "95% interval": "text", "Confidence": "text",
                                   "Effect (percentage points)": one, "Days per pupil per year": one,
                                   "Treated schools": "count", "Comparison schools": "count"},
                          caption=(f"Headline estimates: {d['design']}, Scientific Methods Scale level {d['level']}. "
                                   "Negative effects are falls in absence."),
                          label=label, synthetic=synthetic)


def _est_rows(rows: Sequence[Mapping[str, Any]], key: str, name: str, fmt=str) -> pd.DataFrame:
    out = []
    for r in rows:
        out.append({name: fmt(r[key]),
                    "Effect (percentage points)": fmt_number(r.get("estimate"), 2) if r.get("estimate") is not None else "",
                    "95% interval": (interval_text(r.get("ci_low"), r.get("ci_high"), ndigits=2)
                                     if r.get("estimate") is not None else ""),
                    "Note": r.get("note", "")})
    df = pd.DataFrame(out)
    if not (df["Note"] != "").any():
        df = df.drop(columns="Note")
    return df


def estimators_table(outcome: Mapping[str, Any], *, synthetic: bool, label: str = "tbl-estimators") -> str:
    df = _est_rows(outcome["estimators"], "estimator", "Estimator")
    return markdown_table(df, formats={c: "text" for c in df.columns},
                          caption=f"{outcome['label']}: the overall effect by estimator.", label=label,
                          synthetic=synthetic)


def subgroup_table(outcome: Mapping[str, Any], key: str, *, synthetic: bool, label: str) -> str:
    """Estimates by wave (``by_wave``), phase (``by_phase``) or disadvantage (``by_fsm``)."""
    rows = outcome.get(key) or []
    if key == "by_wave":
        df = _est_rows(rows, "component", "Cohort (first year)", fmt=lambda g: year_label(int(g)))
        what = "by the year schools joined"
    else:
        df = _est_rows(rows, "group", "Phase" if key == "by_phase" else "Free school meals (thirds of schools)")
        df.insert(1, "Treated schools", [fmt_count(r.get("n_treated")) for r in rows])
        what = "by phase" if key == "by_phase" else "by the school's share of pupils eligible for free school meals"
    return markdown_table(df, formats={c: "text" for c in df.columns},
                          caption=f"{outcome['label']}: effect {what}.", label=label, synthetic=synthetic)


def bacon_table(outcome: Mapping[str, Any], *, synthetic: bool, label: str = "tbl-bacon") -> str:
    b = outcome.get("bacon")
    names = {"treated_vs_never": "Treated vs never treated", "earlier_vs_later": "Earlier vs later treated",
             "later_vs_earlier": "Later vs earlier treated (already treated as controls)"}
    if not b:
        return "The Bacon decomposition could not be computed.\n"
    df = pd.DataFrame([{"Comparison": names.get(r["type"], r["type"]), "Weight": fmt_number(r["weight"], 3),
                        "Average 2x2 estimate": fmt_number(r["estimate"], 2)} for r in b["by_type"]])
    return markdown_table(df, formats={c: "text" for c in df.columns},
                          caption=(f"{outcome['label']}: the two-way fixed effects estimate "
                                   f"({fmt_number(b['twfe'], 2)}) as a weighted average of 2x2 comparisons "
                                   f"({fmt_count(b['n_schools'])} schools observed in every year)."),
                          label=label, synthetic=synthetic)


def balance_table_md(matching: Mapping[str, Any], cohort: int, *, synthetic: bool, label: str) -> str:
    """Standardised mean differences before and after matching for one cohort."""
    t = pd.DataFrame(matching["balance"])
    t = t[t["cohort"] == cohort]
    w = t.pivot(index="term", columns="sample", values="smd").reindex(list(dict.fromkeys(t["term"])))
    df = pd.DataFrame({"Variable": w.index, "SMD before": [fmt_number(v, 2) for v in w.get("before", [])],
                       "SMD after": [fmt_number(v, 2) for v in w.get("after", [])]})
    return markdown_table(df, formats={c: "text" for c in df.columns},
                          caption=(f"Balance of the cohort joining in {year_label(cohort)}: standardised mean "
                                   "differences (pooled standard deviation) before and after matching; "
                                   "above 0.1 in absolute value is flagged as imbalanced."),
                          label=label, synthetic=synthetic)


def caveats(results: Mapping[str, Any], *, max_caveats: int = 4) -> list[str]:
    """The top caveats of a programme's headline estimate, each one sentence, from the results."""
    out: list[str] = []
    if results.get("synthetic"):
        out.append("These figures come from synthetic data made to test the pipeline; they are not findings "
                   "about real schools.")
    first = next(iter(results["outcomes"].values()))
    pt = first["confidence"]["checks"]["pretrends"]
    if not pt["ok"]:
        out.append("Programme and comparison schools were already on different paths before joining, so part "
                   "of the estimated effect may not be caused by the programme.")
    m = results.get("matching")
    if m:
        counts = pd.DataFrame(m["counts"])
        left = int(counts["treated"].sum() - counts["treated_matched"].sum())
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
