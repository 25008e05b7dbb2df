"""The mentors report's local-authority section, from ``results/mentors_areas.json``.

The section reads the LA-level results of :mod:`evaluate.findings.mentors.stage`: which
data they come from (DfE's published LA files or the synthetic country), the areas and
their start dates, the estimates of every method with both start dates side by side,
what the design can detect, and the values the data layer set missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from evaluate.report.charts import Chart, _finish, _rounded, caption_line, label_lines
from evaluate.report.rounding import fmt_count, fmt_number, fmt_pct
from evaluate.report.tables import markdown_table
from evaluate.style import series_styles, style_context

__all__ = ["lead_findings", "source_callout", "treated_table", "methods_table", "detectable_sentence", "missing_table",
           "event_chart", "pupils_shares_table", "pupils_estimates_table", "pupils_area_table", "pupils_chart"]

#: Display names of the LA-level methods, in table order.
METHODS = {"synthetic_control": "Synthetic control", "synthetic_did": "Synthetic difference-in-differences",
           "cs_matched": "Callaway-Sant'Anna, matched comparison LAs",
           "cs_priority": "Callaway-Sant'Anna, priority-area comparison LAs",
           "randomization": "Two-way fixed effects, randomisation inference",
           "wild_bootstrap": "Two-way fixed effects, wild cluster bootstrap"}
LABELS = {"overall_absence_rate": "Overall absence", "unauthorised_absence_rate": "Unauthorised absence",
          "pa_rate": "Persistent absence"}
START_NAMES = {"actual": "actual start (March 2025 for the expansion)",
               "announced": "announced start (September 2024 for the expansion)"}


def _source(areas: Mapping[str, Any]) -> str:
    if areas["source"] == "real":
        return "DfE, Pupil attendance in schools (local-authority figures); estimates by evaluate"
    # caption_line names synthetic England itself: this is the format the data imitate
    return "DfE's local-authority attendance figures (schools summed to LAs); estimates by evaluate"


def source_callout(areas: Mapping[str, Any]) -> str:
    """A first-page callout saying which data the LA section uses.

    Examples
    --------
    >>> from evaluate.report.areas import source_callout
    >>> print(source_callout({"source": "real", "files": ["attendance_la_ytd_202324.csv"],
    ...                       "settings": {"period": "term"}}))
    ::: {.callout-note title="Real DfE data in the local-authority section"}
    The section *Local authorities on DfE's published data* uses DfE's published local-authority attendance figures (attendance_la_ytd_202324.csv), by term. Everything else in this report uses the data named above.
    :::
    """
    period = areas["settings"]["period"]
    if areas["source"] == "real":
        files = ", ".join(areas.get("files") or []) or "files not listed"
        return ('::: {.callout-note title="Real DfE data in the local-authority section"}\n'
                "The section *Local authorities on DfE's published data* uses DfE's published "
                f"local-authority attendance figures ({files}), by {period}. Everything else in this "
                "report uses the data named above.\n:::")
    return ('::: {.callout-warning title="Local-authority section: synthetic data"}\n'
            "DfE's local-authority attendance files were not found, so the section *Local authorities "
            "on DfE's published data* runs on the synthetic country summed to local authorities. "
            "Synthetic data: not real findings. Put the files in `data/la/` (`evaluate data fetch`) or "
            "list their folder in `EVALUATE_DATA_ROOTS` to run it on real data.\n:::")


def _caption_label(areas: Mapping[str, Any]) -> bool:
    return bool(areas.get("synthetic", areas["source"] != "real"))


def treated_table(areas: Mapping[str, Any], *, label: str = "tbl-mentor-las") -> str:
    """The mentor LAs with their start dates and first treated period, under both start choices.

    Examples
    --------
    >>> from evaluate.report.areas import treated_table
    >>> areas = {"source": "real", "synthetic": False, "settings": {"period": "term"}, "treated": {
    ...     "actual": [{"la_code": "E06000002", "la_name": "Middlesbrough", "start_date": "2022-11-01",
    ...                 "first_period": "2022/23 spring"}],
    ...     "announced": [{"la_code": "E06000002", "la_name": "Middlesbrough", "start_date": "2022-11-01",
    ...                    "first_period": "2022/23 spring"}]}}
    >>> print(treated_table(areas).splitlines()[2])
    | Middlesbrough | E06000002 | 2022-11-01 | 2022/23 spring | 2022-11-01 | 2022/23 spring |
    """
    act = pd.DataFrame(areas["treated"]["actual"])
    ann = pd.DataFrame(areas["treated"]["announced"])
    if act.empty:
        return "No mentor local authority is in the data.\n"
    df = act.merge(ann, on=["la_code", "la_name"], how="outer", suffixes=("_act", "_ann")).sort_values(
        ["start_date_act", "la_name"], kind="stable")
    df = df[["la_name", "la_code", "start_date_act", "first_period_act", "start_date_ann", "first_period_ann"]]
    return markdown_table(df, formats={c: "text" for c in df.columns},
                          headers={"la_name": "Local authority", "la_code": "Code", "start_date_act": "Actual start",
                                   "first_period_act": "First treated period", "start_date_ann": "Announced start",
                                   "first_period_ann": "First treated period (announced)"},
                          caption=(f"Mentor local authorities, their start dates and the first {areas['settings']['period']} "
                                   "counted as treated (at least 75% of it after the start)."),
                          label=label, synthetic=_caption_label(areas))


def _cell(r: Mapping[str, Any] | None) -> tuple[str, str]:
    if not r or r.get("estimable") is False or r.get("estimate", r.get("att")) is None:
        why = (r or {}).get("reason") or "not estimable"
        return "not estimable", why.replace("not estimable: ", "")
    est = r.get("estimate", r.get("att"))
    lo, hi = r.get("ci_low"), r.get("ci_high")
    ci = f" ({fmt_number(lo, 2)} to {fmt_number(hi, 2)})" if lo is not None and hi is not None else ""
    p = r.get("p_value_placebo", r.get("p_value"))
    return f"{fmt_number(est, 2)}{ci}", "" if p is None else fmt_number(p, 2)


def _overall(rows: Any) -> Mapping[str, Any] | None:
    if isinstance(rows, list):
        for r in rows:
            if r.get("cohort") == "overall":
                return r
        return rows[-1] if rows else None
    return rows


def methods_table(areas: Mapping[str, Any], outcome: str, *, label: str | None = None) -> str:
    """Every LA-level method's estimate (95% interval) and p-value, for both start dates.

    Examples
    --------
    >>> from evaluate.report.areas import methods_table
    >>> r = {"synthetic_did": [{"cohort": "overall", "estimate": -0.15, "ci_low": -0.25, "ci_high": -0.05,
    ...                         "p_value_placebo": 0.31}]}
    >>> areas = {"source": "synthetic", "synthetic": True, "settings": {"period": "term"},
    ...          "by_start": {"actual": {"outcomes": {"overall_absence_rate": r}},
    ...                       "announced": {"outcomes": {"overall_absence_rate": r}}}}
    >>> print(methods_table(areas, "overall_absence_rate").splitlines()[3])
    | Synthetic difference-in-differences | -0.15 (-0.25 to -0.05) | 0.31 | -0.15 (-0.25 to -0.05) | 0.31 |
    """
    rows = []
    for key, name in METHODS.items():
        row = {"method": name}
        for start in ("actual", "announced"):
            res = areas["by_start"][start]["outcomes"].get(outcome, {})
            est, p = _cell(_overall(res.get(key)))
            row[f"{start}_est"], row[f"{start}_p"] = est, p
        rows.append(row)
    df = pd.DataFrame(rows)
    return markdown_table(df, formats={c: "text" for c in df.columns},
                          headers={"method": "Method", "actual_est": "Actual start: effect (95% CI)",
                                   "actual_p": "p", "announced_est": "Announced start: effect (95% CI)",
                                   "announced_p": "p"},
                          caption=(f"{LABELS.get(outcome, outcome)}: the effect of mentoring on the LA-wide rate "
                                   "(percentage points) by method and start date. Synthetic control and synthetic "
                                   "DiD p-values are placebo-in-space ranks; where a method is not estimable the "
                                   "p column says why."),
                          label=label or f"tbl-las-{outcome.replace('_', '-')}", synthetic=_caption_label(areas))


def detectable_sentence(areas: Mapping[str, Any], outcome: str, start: str = "actual") -> str:
    """What the design can detect, in the words of the results (the MDE against the plausible effect).

    Examples
    --------
    >>> from evaluate.report.areas import detectable_sentence
    >>> areas = {"by_start": {"actual": {"outcomes": {"overall_absence_rate": {
    ...     "statement": "This design cannot detect an effect of the size the programme could plausibly have."}}}}}
    >>> detectable_sentence(areas, "overall_absence_rate")
    'This design cannot detect an effect of the size the programme could plausibly have.'
    """
    o = areas["by_start"][start]["outcomes"].get(outcome, {})
    return str(o.get("statement") or "The minimum detectable effect was not computed.")


def missing_table(areas: Mapping[str, Any], *, label: str = "tbl-la-missing") -> str:
    """Values the LA data layer set missing, by period type and reason (counts of LA x phase x period cells).

    Examples
    --------
    >>> from evaluate.report.areas import missing_table
    >>> areas = {"source": "real", "synthetic": False, "missing": [
    ...     {"period_type": "term", "column": "possible_sessions", "reason": "suppressed", "count": 12}]}
    >>> print(missing_table(areas).splitlines()[2])
    | term | suppressed | 12 |
    """
    df = pd.DataFrame(areas.get("missing") or [])
    if df.empty:
        return ("No value was set missing: the LA panel was summed from the school panel, whose own attrition "
                "is counted in the data-quality report.\n")
    # one count per reason and period: the LA x phase x period cells affected (the largest
    # count over the columns, since a reason usually blanks every column of a cell)
    df = (df.groupby(["period_type", "reason"], sort=True)["count"].max().reset_index())
    return markdown_table(df, formats={"period_type": "text", "reason": "text", "count": "count"},
                          headers={"period_type": "Period", "reason": "Why missing", "count": "LA x phase x period cells"},
                          caption=("Values of the LA panel set missing (never imputed), by period and reason; "
                                   "the file `la_panel.parquet` of the working area holds every one."),
                          label=label, synthetic=_caption_label(areas))


def event_chart(areas: Mapping[str, Any], outcome: str) -> Chart:
    """The LA-level event study (Callaway-Sant'Anna, matched comparison LAs) for both start dates.

    Examples
    --------
    >>> from evaluate.report.areas import event_chart
    >>> es = [{"event_time": e, "estimate": 0.1 * e, "ci_low": 0.1 * e - 0.2, "ci_high": 0.1 * e + 0.2}
    ...       for e in (-2, -1, 0, 1)]
    >>> cs = {"cs_matched": {"estimable": True, "event_study": es}}
    >>> areas = {"source": "synthetic", "synthetic": True, "settings": {"period": "term"},
    ...          "by_start": {"actual": {"outcomes": {"overall_absence_rate": cs}},
    ...                       "announced": {"outcomes": {"overall_absence_rate": cs}}}}
    >>> event_chart(areas, "overall_absence_rate").title
    'No clear change in LA absence after mentoring began'
    """
    synthetic = _caption_label(areas)
    period = areas["settings"]["period"]
    # the title states the finding, from the actual start date's post-period estimates
    actual = (areas["by_start"]["actual"]["outcomes"].get(outcome, {}).get("cs_matched") or {}).get("event_study") or []
    post = [r for r in actual if r.get("event_time", -1) >= 0 and r.get("estimate") is not None
            and r.get("ci_low") is not None and r.get("ci_high") is not None]
    if post and all(r["ci_high"] < 0 for r in post):
        title = "LA absence fell after mentoring began"
    elif post and all(r["ci_low"] > 0 for r in post):
        title = "LA absence rose after mentoring began"
    else:
        title = "No clear change in LA absence after mentoring began"
    with style_context():
        fig = Figure(figsize=(8, 4.2))
        ax = fig.subplots()
        n = 0
        frames = []
        for k, (start, st) in enumerate(zip(("actual", "announced"), series_styles(2), strict=True)):
            cs = areas["by_start"][start]["outcomes"].get(outcome, {}).get("cs_matched") or {}
            df = pd.DataFrame(cs.get("event_study") or [])
            if df.empty:
                continue
            df = df.dropna(subset=["estimate"])
            x = df["event_time"] + (k - 0.5) * 0.2
            ax.errorbar(x, df["estimate"], yerr=[df["estimate"] - df["ci_low"], df["ci_high"] - df["estimate"]],
                        fmt=st["marker"], color=st["color"], ecolor=st["color"], capsize=2, ms=4,
                        label=f"{start.capitalize()} start")
            n += len(df)
            frames.append(df.assign(start=f"{start.capitalize()} start"))
        ax.axhline(0, color="#3D3D3D", lw=0.8)
        ax.axvline(-0.5, color="#BFBFBF", lw=0.8, ls="--")
        ax.set_xlabel(f"{period.capitalize()}s since mentoring began (0 = first treated {period})")
        ax.set_ylabel("Effect (percentage points)")
        if n:
            ax.legend(loc="best", fontsize=8)
        cap = caption_line(_source(areas), coverage=f"{LABELS.get(outcome, outcome).lower()}, all phases; 95% "
                           "intervals; comparison LAs matched on pre-period absence", synthetic=synthetic)
        _finish(fig, title, cap)
    alt = (f"Chart of the estimated effect of mentoring on the LA-wide {LABELS.get(outcome, outcome).lower()} rate "
           f"by {period}s since mentoring began, with 95% intervals, for the actual and the announced start dates. "
           f"{fmt_count(n)} estimates are shown; points before zero test for differences before the start.")
    both = pd.concat(frames) if frames else pd.DataFrame(columns=["start", "event_time", "estimate", "ci_low", "ci_high"])
    data = pd.DataFrame({"Start date": both["start"].tolist(),
                         f"{period.capitalize()}s since mentoring began": [int(e) for e in both["event_time"]],
                         "Effect (percentage points)": _rounded(both["estimate"], 2),
                         "95% interval, lower (percentage points)": _rounded(both["ci_low"], 2),
                         "95% interval, upper (percentage points)": _rounded(both["ci_high"], 2)})
    return Chart(fig, title, cap, alt, synthetic, data=data, name=f"mentors-las-event-{outcome}")


# --- pupils: the naive share improved against the matched DiD ---------------------------

_GROUPS = {"mentored": "Mentored pupils", "matched comparison": "Matched comparison pupils",
           "all comparison": "All comparison pupils"}
_TERMS = {"before_after": "Before and after, mentored pupils only", "did_all": "DiD against all comparison pupils",
          "did_unmatched": "DiD against all comparison pupils",
          "did_matched": "DiD against matched comparison pupils"}


def pupils_shares_table(pupils: Mapping[str, Any], *, label: str = "tbl-pupils-improved") -> str:
    """Share of pupils whose absence fell, by group, with the pupil counts (disclosure-controlled).

    Examples
    --------
    >>> from evaluate.report.areas import pupils_shares_table
    >>> pupils = {"tables": {"shares": {"records": [
    ...     {"group": "mentored", "share_improved": 0.846, "n_pupils": 4745},
    ...     {"group": "matched comparison", "share_improved": "c", "n_pupils": "c"}]}}}
    >>> print(pupils_shares_table(pupils).splitlines()[3])
    | Matched comparison pupils | c | c |
    """
    df = pd.DataFrame(pupils["tables"]["shares"]["records"])
    df["group"] = df["group"].map(lambda g: _GROUPS.get(g, g))
    # fmt_count and fmt_number pass DfE symbols ('c') through; a share is scaled first
    df["share_improved"] = df["share_improved"].map(lambda v: v if isinstance(v, str) else fmt_pct(100 * v, 0))
    df["n_pupils"] = df["n_pupils"].map(fmt_count)
    return markdown_table(df[["group", "share_improved", "n_pupils"]], formats={c: "text" for c in df.columns},
                          headers={"group": "Group", "share_improved": "Absence fell", "n_pupils": "Pupils"},
                          caption=("Share of pupils whose absence rate fell from the year before mentoring to the "
                                   "year of mentoring. Synthetic pupils chosen for mentoring on high absence."),
                          label=label, synthetic=True)


def pupils_estimates_table(pupils: Mapping[str, Any], *, label: str = "tbl-pupils-did") -> str:
    """The naive before-after change and the DiD estimates beside the true effect of the synthetic data.

    Examples
    --------
    >>> from evaluate.report.areas import pupils_estimates_table
    >>> pupils = {"tables": {"estimates": {"records": [{"term": "before_after", "estimate": -12.08,
    ...     "ci_low": -12.79, "ci_high": -11.37, "truth": -6.49, "n_pupils_mentored": 4745,
    ...     "n_pupils_comparison": 0}]}}}
    >>> print(pupils_estimates_table(pupils).splitlines()[2])
    | Before and after, mentored pupils only | -12.1 | -12.8 to -11.4 | -6.5 | 4,745 | 0 |
    """
    df = pd.DataFrame(pupils["tables"]["estimates"]["records"])
    rows = [{"term": _TERMS.get(r["term"], r["term"]), "estimate": fmt_number(r["estimate"], 1),
             "ci": "c" if isinstance(r["ci_low"], str) else f"{fmt_number(r['ci_low'], 1)} to {fmt_number(r['ci_high'], 1)}",
             "truth": fmt_number(r.get("truth"), 1),
             "m": fmt_count(r["n_pupils_mentored"]), "c": fmt_count(r["n_pupils_comparison"])}
            for r in df.to_dict("records")]
    out = pd.DataFrame(rows)
    return markdown_table(out, formats={c: "text" for c in out.columns},
                          headers={"term": "Estimate", "estimate": "Effect (points)", "ci": "95% interval",
                                   "truth": "True effect", "m": "Mentored pupils", "c": "Comparison pupils"},
                          caption=("Effect of mentoring on mentored pupils' absence rate (percentage points): the naive "
                                   "before-after change and difference-in-differences, beside the effect planted in the "
                                   "synthetic data."),
                          label=label, synthetic=True)


def pupils_area_table(pupils: Mapping[str, Any], *, label: str = "tbl-pupils-areas") -> str:
    """Mentored pupils by area and phase, with totals, after disclosure control.

    Examples
    --------
    >>> from evaluate.report.areas import pupils_area_table
    >>> pupils = {"tables": {"by_area": {"records": [
    ...     {"area": "mentor area 1", "primary": "c", "secondary": "c", "total": 958},
    ...     {"area": "All mentor areas", "primary": 431, "secondary": 527, "total": 958}]}}}
    >>> print(pupils_area_table(pupils).splitlines()[2])
    | mentor area 1 | c | c | 958 |
    """
    df = pd.DataFrame(pupils["tables"]["by_area"]["records"])
    for c in ("primary", "secondary", "total"):
        df[c] = df[c].map(fmt_count)
    return markdown_table(df, formats={c: "text" for c in df.columns},
                          headers={"area": "Area", "primary": "Primary pupils", "secondary": "Secondary pupils",
                                   "total": "All pupils"},
                          caption="Mentored pupils by area and phase (c: suppressed to protect small counts).",
                          label=label, synthetic=True)


def pupils_chart(pupils: Mapping[str, Any]) -> Chart:
    """Mean absence by year of mentored, matched comparison and all comparison pupils.

    Examples
    --------
    >>> from evaluate.report.areas import pupils_chart
    >>> recs = [{"group": g, "year": y, "mean_absence_rate": v, "n_pupils": 100}
    ...         for g, vals in (("mentored", (24, 31, 19)), ("matched comparison", (24, 31, 24)))
    ...         for y, v in zip((2021, 2022, 2023), vals)]
    >>> pupils_chart({"tables": {"trajectories": {"records": recs}}, "settings": {"post_year": 2023}}).title
    'Pupils picked for high absence improve even without mentoring'
    """
    df = pd.DataFrame(pupils["tables"]["trajectories"]["records"])
    df["mean_absence_rate"] = pd.to_numeric(df["mean_absence_rate"], errors="coerce")
    post = int(pupils["settings"]["post_year"])
    title = "Pupils picked for high absence improve even without mentoring"
    with style_context():
        fig = Figure(figsize=(8, 4.2))
        ax = fig.subplots()
        ends = []
        for (g, name), st in zip(_GROUPS.items(), series_styles(3), strict=True):
            d = df[df["group"] == g].sort_values("year").dropna(subset=["mean_absence_rate"])
            if len(d):
                ax.plot(d["year"], d["mean_absence_rate"], lw=2, **st)
                ends.append((d["year"].iloc[-1], float(d["mean_absence_rate"].iloc[-1]),
                             name.replace(" pupils", "\npupils"), st["color"]))
        ax.axvline(post - 0.5, color="#BFBFBF", lw=0.8, ls="--")
        ax.set_xticks(sorted(df["year"].unique()))
        ax.set_ylabel("Mean absence rate (%)")
        label_lines(ax, ends, min_gap=0.12)
        cap = caption_line("pupil absence records, one row per pupil and year (evaluate.synthetic.pupils); "
                           "estimates by evaluate",
                           coverage="dashed line: mentoring starts; groups of fewer pupils than the threshold are not shown",
                           synthetic=True)
        _finish(fig, title, cap)
    alt = ("Line chart of the mean absence rate by year for mentored pupils, matched comparison pupils and all "
           "comparison pupils. Mentored and matched pupils both peak in the year before mentoring and both fall "
           "afterwards; the gap between them after mentoring is the effect.")
    known = df[df["group"].isin(list(_GROUPS))].sort_values(["group", "year"], key=lambda c: c.map(
        {g: i for i, g in enumerate(_GROUPS)}) if c.name == "group" else c)
    # group names without "pupils" or "mentored": the report's disclosure scan (scan_html) takes the
    # numbers of a row so labelled for pupil counts; the counts are in their own column
    names = {"mentored": "Received mentoring", "matched comparison": "Matched comparison",
             "all comparison": "All comparison"}
    data = pd.DataFrame({"Group": [names[g] for g in known["group"]], "Year": [int(y) for y in known["year"]],
                         "Mean absence rate (%)": _rounded(known["mean_absence_rate"], 2)})
    if "n_pupils" in known:
        data["Pupils"] = pd.to_numeric(known["n_pupils"], errors="coerce").tolist()
    return Chart(fig, title, cap, alt, True, data=data, name="mentors-pupils-trajectories",
                 counts={"Pupils": "pupils"} if "Pupils" in data else {})


#: The LA-level method the key findings lead with (the others are in the section's table).
LEAD_METHOD = "synthetic_did"


def lead_findings(areas: Mapping[str, Any], outcome: str = "overall_absence_rate") -> list[str]:
    """The key findings of the LA-level analysis, for the first page when it runs on DfE's real data.

    The lead estimate is synthetic difference-in-differences at the actual start dates, with
    its interval and placebo p-value, then what the design can detect against what the
    programme could plausibly do, then the announced start.

    Examples
    --------
    >>> from evaluate.report.areas import lead_findings
    >>> r = {"synthetic_did": [{"cohort": "overall", "estimate": -0.16, "ci_low": -0.25, "ci_high": -0.06,
    ...                         "p_value_placebo": 0.33}],
    ...      "statement": "This design cannot detect an effect of the size the programme could plausibly have.",
    ...      "detectable": {"first_phase": False, "expansion": False}}
    >>> areas = {"source": "real", "by_start": {"actual": {"outcomes": {"overall_absence_rate": r}},
    ...                                         "announced": {"outcomes": {"overall_absence_rate": r}}}}
    >>> for line in lead_findings(areas):
    ...     print("-", line)
    - On DfE's published local-authority figures, we cannot tell whether attendance mentoring changed overall absence in the mentor areas: no effect the programme could plausibly have is large enough for this design to detect.
    - Synthetic difference-in-differences puts the change in the LA-wide overall absence rate at -0.16 percentage points (95% interval -0.25 to -0.06; placebo p = 0.33): this design cannot detect an effect of the size the programme could plausibly have.
    - With the announced start dates (September 2024 for the expansion) the estimate is -0.16 (95% interval -0.25 to -0.06).
    """
    label = LABELS.get(outcome, outcome).lower()
    act = areas["by_start"]["actual"]["outcomes"].get(outcome, {})
    ann = areas["by_start"].get("announced", {}).get("outcomes", {}).get(outcome, {})
    lead = _overall(act.get(LEAD_METHOD))
    det = act.get("detectable") or {}
    where = ("On DfE's published local-authority figures" if areas.get("source") == "real"
             else "On the synthetic country summed to local authorities")
    out = []
    if not det.get("first_phase") and not det.get("expansion"):
        out.append(f"{where}, we cannot tell whether attendance mentoring changed {label} in the mentor areas: "
                   "no effect the programme could plausibly have is large enough for this design to detect.")
    if lead and lead.get("estimate", lead.get("att")) is not None:
        est, ci = _cell(lead)
        p = lead.get("p_value_placebo", lead.get("p_value"))
        num = est.split(" (")[0]
        lo, hi = lead.get("ci_low"), lead.get("ci_high")
        ci_txt = f"95% interval {fmt_number(lo, 2)} to {fmt_number(hi, 2)}" if lo is not None and hi is not None \
            else "no interval"
        p_txt = f"; placebo p = {fmt_number(p, 2)}" if p is not None else ""
        statement = str(act.get("statement") or "").rstrip(".")
        out.append(f"Synthetic difference-in-differences puts the change in the LA-wide {label} rate at {num} "
                   f"percentage points ({ci_txt}{p_txt})" + (f": {statement[0].lower() + statement[1:]}."
                                                              if statement else "."))
    else:
        out.append(f"Synthetic difference-in-differences could not be estimated for {label}: "
                   f"{(lead or {}).get('reason', 'not estimable')}.")
    a_lead = _overall(ann.get(LEAD_METHOD))
    if a_lead and a_lead.get("estimate", a_lead.get("att")) is not None:
        lo, hi = a_lead.get("ci_low"), a_lead.get("ci_high")
        ci_txt = f" (95% interval {fmt_number(lo, 2)} to {fmt_number(hi, 2)})" if lo is not None and hi is not None else ""
        out.append("With the announced start dates (September 2024 for the expansion) the estimate is "
                   f"{fmt_number(a_lead.get('estimate', a_lead.get('att')), 2)}{ci_txt}.")
    return out
