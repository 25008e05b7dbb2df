"""The methods prose of the reports, written from the settings stored with the results.

A report never types a design choice by hand: what was matched on, how, the timing rule,
the standard errors and the rating rules are read from ``results/<programme>.json`` (and
:mod:`evaluate.findings.judgement`), so the text cannot drift from what was run.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evaluate.report.rounding import fmt_count, fmt_number, year_label

__all__ = ["timing_paragraph", "comparison_paragraph", "inference_paragraph", "rating_rules",
           "balance_caveat", "design_summary", "VALIDATION_NOTE"]

_VARS = {"overall_absence_rate": "overall absence", "pa_rate": "persistent absence", "ofsted": "Ofsted rating",
         "priority_area": "priority-area status", "phase": "phase", "fsm_pct": "free school meals",
         "size": "size", "region": "region"}
_CLUSTERS = {"match_pair": "by matched set (a programme school and its comparison schools, following Abadie "
                           "and Spiess, 2022, so that the correlation matching creates is counted)",
             "school_id": "by school", "hub_cluster": "by hub (other schools alone)",
             "la_code": "by local authority (areas were treated whole)"}

#: Why the default design is the one it is (the known-truth worlds, analysis/VALIDATION.md).
VALIDATION_NOTE = ("The design was chosen on synthetic worlds whose true effects are known (`evaluate validate`, "
                   "`analysis/VALIDATION.md`): there, matching on the three-year mean of absence before joining "
                   "left the smallest bias in the headline; matching on the last year's level, or entropy "
                   "balancing on it, over-corrects, because a single year's rate carries noise that reverts, and "
                   "an unmatched comparison under-corrects.")


def _list(items: list[str]) -> str:
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def timing_paragraph(results: Mapping[str, Any]) -> str:
    """How partly exposed years are handled (the anticipation window) and who was left out.

    Examples
    --------
    >>> from evaluate.report.methods import timing_paragraph
    >>> print(timing_paragraph({"anticipation": 1, "timing": {"anticipation_setting": "auto",
    ...       "partly_exposed": "exclude", "partly_exposed_schools_left_out": 120}}))
    A school's cohort is the first academic year it was exposed for at least 75% of the year. Schools that joined during the year before (for example in June 2023, for the 2023/24 cohort) were partly exposed in it, so that year is left out of every comparison: it is never the base year, never in the pre-trend test and never matched on (1 year of anticipation, set from the data). 120 schools first exposed too late in the panel to form a cohort of their own are left out of the comparison group.
    """
    a = int(results.get("anticipation", 0))
    t = results.get("timing") or {}
    out = "A school's cohort is the first academic year it was exposed for at least 75% of the year. "
    if a:
        how = "set from the data" if t.get("anticipation_setting") == "auto" else "set in the configuration"
        out += ("Schools that joined during the year before (for example in June 2023, for the 2023/24 cohort) were "
                "partly exposed in it, so that year is left out of every comparison: it is never the base year, "
                f"never in the pre-trend test and never matched on ({a} year{'s' if a != 1 else ''} of "
                f"anticipation, {how}).")
    else:
        out += "No school was exposed before its cohort year, so the base year is the year before it."
    n = t.get("partly_exposed_schools_left_out") or 0
    if n:
        out += (f" {fmt_count(n)} schools first exposed too late in the panel to form a cohort of their own are "
                "left out of the comparison group.")
    o = t.get("other_programme_schools_left_out") or 0
    if o:
        what = "hub schools" if results.get("programme") == "mentors" else "schools in mentor areas"
        out += f" {fmt_count(o)} {what}, touched by the other programme, are left out of the comparison group too."
    return out


def comparison_paragraph(results: Mapping[str, Any]) -> str:
    """Who the programme schools are compared with, and how they were chosen or weighted.

    Examples
    --------
    >>> from evaluate.report.methods import comparison_paragraph
    >>> m = {"settings": {"method": "nearest", "outcomes": ["overall_absence_rate"], "covariates": ["fsm_pct"],
    ...      "exact": ["phase"], "control": "never", "pre_years": 3, "level": "mean", "terms": ["level", "trend"],
    ...      "distance": "logit", "ratio": 1, "replace": False, "caliper": 0.2}}
    >>> print(comparison_paragraph({"matching": m, "estimator": "dr"}))
    Each cohort is compared with never-treated schools chosen on its own years before joining: one comparison school per programme school, without replacement, nearest on the logit of a propensity score within the same phase and within 0.2 standard deviations of it, on overall absence (mean over the last 3 years before joining and trend over them) and free school meals. Callaway and Sant'Anna's doubly robust estimator then compares each cohort with its own comparison schools only.
    """
    m = results.get("matching")
    est = {"dr": "doubly robust", "ipw": "inverse-probability-weighted", "reg": "outcome-regression"}.get(
        results.get("estimator", "dr"), results.get("estimator", "dr"))
    if not m:
        return ("Programme schools are compared with every school outside the programme (never treated), with "
                f"Callaway and Sant'Anna's {est} estimator.")
    s = m["settings"]
    pool = "never-treated schools" if s.get("control") == "never" else "schools not yet treated"
    terms = s.get("terms") or ["level", "trend"]
    lev = (f"mean over the last {s.get('pre_years', 3)} years before joining" if s.get("level") == "mean"
           else "level in the last year before joining")
    parts = []
    if "level" in terms:
        parts.append(lev)
    if "trend" in terms:
        parts.append("trend over them" if s.get("level") == "mean" else f"trend over the last {s.get('pre_years', 3)} years")
    if "path" in terms:
        parts.append("the value in each of those years")
    outcomes = [f"{_VARS.get(o, o)} ({' and '.join(parts)})" for o in s.get("outcomes", [])]
    covs = [_VARS.get(c, c) for c in s.get("covariates", []) if c not in s.get("exact", [])]
    within = f" within the same {_list([_VARS.get(e, e) for e in s['exact']])}" if s.get("exact") else ""
    if s.get("method") == "entropy":
        how = ("entropy-balancing weights on every comparison school, which make the weighted comparison "
               f"group's mean of each matching variable equal to the programme schools'{within}")
    else:
        ratio = s.get("ratio", 1)
        how = (f"{'one comparison school' if ratio == 1 else f'{ratio} comparison schools'} per programme school, "
               f"{'with' if s.get('replace') else 'without'} replacement, nearest on the "
               f"{'logit of a propensity score' if s.get('distance') == 'logit' else s.get('distance')}{within}")
        if s.get("caliper") is not None:
            how += f" and within {fmt_number(s['caliper'], 1)} standard deviations of it"
    return (f"Each cohort is compared with {pool} chosen on its own years before joining: {how}, on "
            f"{_list(outcomes + covs)}. Callaway and Sant'Anna's {est} estimator then compares each cohort with "
            "its own comparison schools only.")


def inference_paragraph(results: Mapping[str, Any]) -> str:
    """Standard errors and intervals.

    Examples
    --------
    >>> from evaluate.report.methods import inference_paragraph
    >>> print(inference_paragraph({"cluster": "la_code"}))
    Standard errors are clustered by local authority (areas were treated whole). Where an estimate rests on fewer than 50 treated clusters, its 95% interval and p-value use Student's t with one degree of freedom fewer than the treated clusters, and the pre-trend test is an F test on the treated clusters (Hotelling's T-squared), not the large-sample chi-squared test.
    """
    cl = results.get("cluster")
    return (f"Standard errors are clustered {_CLUSTERS.get(cl, f'by {cl}')}. Where an estimate rests on fewer than "
            "50 treated clusters, its 95% interval and p-value use Student's t with one degree of freedom fewer "
            "than the treated clusters, and the pre-trend test is an F test on the treated clusters "
            "(Hotelling's T-squared), not the large-sample chi-squared test.")


def rating_rules() -> list[str]:
    """The confidence-rating rules (from :mod:`evaluate.findings.judgement`), as Markdown lines."""
    from evaluate.findings.judgement import RATING_RULE, RULES

    return [f"- {r}" for r in RULES] + ["", RATING_RULE]


def balance_caveat(results: Mapping[str, Any], *, min_treated: int = 30) -> str | None:
    """The cohorts that stayed imbalanced after matching or weighting, named (None when all balanced).

    Examples
    --------
    >>> from evaluate.report.methods import balance_caveat
    >>> m = {"counts": [{"cohort": 2022, "treated_matched": 7}, {"cohort": 2024, "treated_matched": 160}],
    ...      "balance": [{"cohort": 2022, "sample": "after", "term": "size", "smd": 0.4},
    ...                  {"cohort": 2024, "sample": "after", "term": "region[London]", "smd": -0.15},
    ...                  {"cohort": 2024, "sample": "after", "term": "fsm_pct", "smd": 0.02}]}
    >>> print(balance_caveat({"matching": m}))
    Matching left standardised differences above 0.1 in the cohort joining in 2024/25 (160 schools: region[London]) and in the small cohort joining in 2022/23 (7 schools: size).
    """
    m = results.get("matching")
    if not m:
        return None
    # a count suppressed under the school threshold ("c") is small: read as 0 here
    n = {int(c["cohort"]): int(c.get("treated_matched", 0)) if c.get("treated_matched") != "c" else 0
         for c in m.get("counts", []) if "cohort" in c}
    bad: dict[int, list[str]] = {}
    for b in m.get("balance", []):
        if b.get("sample") == "after" and b.get("smd") is not None and abs(b["smd"]) > 0.1:
            bad.setdefault(int(b["cohort"]), []).append(str(b["term"]))
    if not bad:
        return None
    big = [g for g in sorted(bad) if n.get(g, 0) >= min_treated]
    small = [g for g in sorted(bad) if n.get(g, 0) < min_treated]

    def one(g: int) -> str:
        return f"{year_label(g)} ({fmt_count(n.get(g, 0))} schools: {', '.join(bad[g][:4])})"

    parts = []
    if big:
        parts.append("the cohort" + ("s" if len(big) > 1 else "") + " joining in " + _list([one(g) for g in big]))
    if small:
        parts.append("the small cohort" + ("s" if len(small) > 1 else "") + " joining in "
                     + _list([one(g) for g in small]))
    return "Matching left standardised differences above 0.1 in " + " and in ".join(parts) + "."


def design_summary(results: Mapping[str, Any]) -> str:
    """The comparison, timing and inference paragraphs of one programme, as Markdown."""
    return "\n\n".join([comparison_paragraph(results), timing_paragraph(results), inference_paragraph(results)])
