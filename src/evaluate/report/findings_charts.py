"""Charts of the programme reports, from ``results/<programme>.json`` (see :mod:`evaluate.report.charts`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from evaluate.report.charts import Chart, _finish, _rounded, _year_axis, caption_line, label_lines
from evaluate.report.rounding import fmt_number, year_label
from evaluate.style import series_styles, style_context

__all__ = ["trend_chart", "event_chart", "estimators_chart", "subgroup_chart", "love_chart"]

_SOURCE = "DfE pupil absence in schools in England; estimates by evaluate"


def _coverage(results: Mapping[str, Any]) -> str:
    ys = results["years"]
    return f"state-funded schools in England, {year_label(ys[0])} to {year_label(ys[-1])}"


def _name(results: Mapping[str, Any], chart: str, outcome: str | None = None) -> str:
    return "-".join(p for p in (str(results.get("programme") or "programme"), chart, outcome) if p)


def _intervals(rows: pd.DataFrame, first: str, name: str, fmt=str) -> pd.DataFrame:
    """The numbers of a dot-and-interval chart: one row per point, 2 decimals (DfE rounding)."""
    return pd.DataFrame({first: [fmt(v) for v in rows[name]],
                         "Effect (percentage points)": _rounded(rows["estimate"], 2),
                         "95% interval, lower (percentage points)": _rounded(rows["ci_low"], 2),
                         "95% interval, upper (percentage points)": _rounded(rows["ci_high"], 2)})


def trend_chart(results: Mapping[str, Any], outcome: str, *, synthetic: bool) -> Chart:
    """Mean outcome by year: treated schools against their comparison schools."""
    o = results["outcomes"][outcome]
    df = pd.DataFrame(o["trends"])
    years = sorted(df["year"].unique())
    comp_name = "Matched comparison schools" if "matching" in results else "Comparison schools"
    wide = df.pivot(index="year", columns="group", values="mean")
    gap_first = wide["treated"].iloc[0] - wide["comparison"].iloc[0]
    gap_last = wide["treated"].iloc[-1] - wide["comparison"].iloc[-1]
    title = ("Gap with comparison schools narrowed after joining" if abs(gap_last) < abs(gap_first)
             else "Gap with comparison schools did not narrow")
    with style_context():
        fig = Figure(figsize=(8, 4.2))
        ax = fig.subplots()
        ends = []
        groups = (("treated", "Programme schools"), ("comparison", comp_name))
        for (grp, name), st in zip(groups, series_styles(2), strict=True):
            ser = wide[grp].reindex(range(years[0], years[-1] + 1))
            ax.plot(ser.index, ser.to_numpy(), ms=4, lw=2, **st)
            last = ser.dropna()
            ends.append((last.index[-1], float(last.iloc[-1]), name.replace(" schools", "\nschools", 1), st["color"]))
        for g in results["cohorts"]:
            ax.axvline(g - 0.5, color="#BFBFBF", lw=0.8, ls="--")
        ax.set_ylabel(f"{o['label']} (%)")
        _year_axis(ax, years)
        label_lines(ax, ends, min_gap=0.12)
        cap = caption_line(_SOURCE, coverage=_coverage(results) + "; dashed lines: cohorts' first years"
                           + ("; comparison schools weighted by matching" if "matching" in results else ""),
                           synthetic=synthetic)
        _finish(fig, title, cap)
    alt = (f"Line chart of the mean {o['label'].lower()} by academic year from {year_label(years[0])} to "
           f"{year_label(years[-1])} for programme schools and {comp_name.lower()}. The gap is "
           f"{fmt_number(gap_first, 1)} points in the first year and {fmt_number(gap_last, 1)} in the last.")
    full = wide.reindex(range(years[0], years[-1] + 1)).dropna(how="all")
    data = pd.DataFrame({"Academic year": [year_label(y) for y in full.index],
                         f"Programme schools, {o['label'].lower()} (%)": _rounded(full["treated"], 2),
                         f"{comp_name}, {o['label'].lower()} (%)": _rounded(full["comparison"], 2)})
    return Chart(fig, title, cap, alt, synthetic, data=data, name=_name(results, "trend", outcome))


def event_chart(results: Mapping[str, Any], outcome: str, *, synthetic: bool) -> Chart:
    """The event study: effect by years since joining, with 95% intervals."""
    o = results["outcomes"][outcome]
    df = pd.DataFrame(o["event_study"]).rename(columns={"component": "e"}).dropna(subset=["estimate"])
    post = df[df["e"] >= 0]
    if len(post) > 1 and post["estimate"].iloc[-1] < post["estimate"].iloc[0] < 0:
        title = "Absence fell after joining, more with longer membership"
    elif len(post) and (post["ci_high"] < 0).all():
        title = "Absence fell in every year after joining"
    elif len(post) and (post["ci_low"] > 0).all():
        title = "Absence rose in every year after joining"
    elif len(post) and post["estimate"].mean() < 0:
        title = "Absence fell after joining, not clearly in every year"
    else:
        title = "No clear fall in absence after joining"
    with style_context():
        fig = Figure(figsize=(8, 4.2))
        ax = fig.subplots()
        after, before = series_styles(2)
        for part, st, name in ((df[df["e"] < 0], before, "Before joining"), (df[df["e"] >= 0], after, "After joining")):
            if len(part):
                ax.errorbar(part["e"], part["estimate"], yerr=[part["estimate"] - part["ci_low"],
                                                               part["ci_high"] - part["estimate"]],
                            fmt=st["marker"], color=st["color"], ecolor=st["color"], capsize=3)
                # direct labels, above each group, instead of a legend
                ax.text(part["e"].mean(), 1.0, name, transform=ax.get_xaxis_transform(), ha="center", va="bottom",
                        fontsize=8.5, color=st["color"])
        ax.axhline(0, color="#3D3D3D", lw=0.8)
        ax.axvline(-0.5, color="#BFBFBF", lw=0.8, ls="--")
        ax.set_xlabel("Years since joining (0 = first year)")
        ax.set_ylabel("Effect (percentage points)")
        ax.set_xticks(df["e"].astype(int).tolist())
        cap = caption_line(_SOURCE, coverage=_coverage(results) + "; Callaway-Sant'Anna, 95% intervals; "
                           "before joining (left of the dashed line) effects should be near zero", synthetic=synthetic)
        _finish(fig, title, cap)
    alt = (f"Dot chart of the estimated effect on {o['label'].lower()} by years since joining, from "
           f"{int(df['e'].min())} to {int(df['e'].max())}, with 95% intervals. In the first year the effect is "
           f"{fmt_number(post['estimate'].iloc[0], 1) if len(post) else 'not estimated'} percentage points.")
    data = _intervals(df, "Years since joining", "e", fmt=lambda e: int(e))
    return Chart(fig, title, cap, alt, synthetic, data=data, name=_name(results, "event", outcome))


def _forest(rows: pd.DataFrame, name_col: str, *, title: str, xlabel: str, caption: str, alt: str,
            synthetic: bool, highlight: int | None = 0, name: str | None = None, first: str = "Group") -> Chart:
    with style_context():
        fig = Figure(figsize=(8, 0.45 * len(rows) + 1.8))
        ax = fig.subplots()
        y = np.arange(len(rows))[::-1]
        main, other = series_styles(2)
        for i in range(len(rows)):
            r = rows.iloc[i]
            st = main if i == highlight else other
            ax.errorbar([r["estimate"]], [y[i]], xerr=[[r["estimate"] - r["ci_low"]], [r["ci_high"] - r["estimate"]]],
                        fmt=st["marker"], color=st["color"], ecolor=st["color"], capsize=3)
        ax.axvline(0, color="#3D3D3D", lw=0.8)
        ax.set_yticks(y, rows[name_col])
        if highlight is not None:  # the headline estimate's label in bold: shape, colour and weight
            ax.get_yticklabels()[highlight].set_fontweight("bold")
        ax.set_xlabel(xlabel)
        _finish(fig, title, caption)
    return Chart(fig, title, caption, alt, synthetic, data=_intervals(rows, first, name_col), name=name)


def estimators_chart(results: Mapping[str, Any], outcome: str, *, synthetic: bool) -> Chart:
    """The overall effect by estimator (the design's estimate first)."""
    o = results["outcomes"][outcome]
    rows = pd.DataFrame(o["estimators"]).dropna(subset=["estimate"])
    spread = rows["estimate"].max() - rows["estimate"].min()
    same_sign = (rows["estimate"] < 0).all() or (rows["estimate"] > 0).all()
    title = "Estimators agree on the direction of the effect" if same_sign else "Estimators disagree on the effect"
    cap = caption_line(_SOURCE, coverage=_coverage(results) + "; 95% intervals", synthetic=synthetic)
    alt = (f"Dot chart of the overall effect on {o['label'].lower()} from {len(rows)} estimators with 95% "
           f"intervals; estimates range over {fmt_number(spread, 1)} percentage points.")
    return _forest(rows, "estimator", title=title, xlabel="Effect (percentage points)", caption=cap, alt=alt,
                   synthetic=synthetic, name=_name(results, "estimators", outcome), first="Estimator")


def subgroup_chart(results: Mapping[str, Any], outcome: str, *, synthetic: bool) -> Chart:
    """Effects by wave, phase and disadvantage in one chart."""
    o = results["outcomes"][outcome]
    parts = []
    for r in o.get("by_wave", []):
        parts.append({"name": f"Joined {year_label(int(r['component']))}", **r})
    for r in o.get("by_phase", []):
        parts.append({"name": str(r["group"]).replace("State-funded ", "").capitalize(), **r})
    for r in o.get("by_fsm", []):
        parts.append({"name": f"FSM: {r['group']}", **r})
    rows = pd.DataFrame(parts).dropna(subset=["estimate"])
    if (rows["ci_high"] < 0).all():
        title = "Absence fell in every cohort, phase and disadvantage group"
    elif (rows["estimate"] < 0).all():
        title = "Effects point to falls in absence in every group"
    elif (rows["estimate"] > 0).all():
        title = "Effects point to rises in absence in every group"
    else:
        title = "Effects differ in direction between groups of schools"
    cap = caption_line(_SOURCE, coverage=_coverage(results) + "; 95% intervals; FSM: thirds of schools by the "
                       "share of pupils eligible for free school meals", synthetic=synthetic)
    alt = (f"Dot chart of the effect on {o['label'].lower()} for {len(rows)} groups of schools (cohort, phase, "
           f"free-school-meals third) with 95% intervals, from {fmt_number(rows['estimate'].min(), 1)} to "
           f"{fmt_number(rows['estimate'].max(), 1)} percentage points.")
    return _forest(rows, "name", title=title, xlabel="Effect (percentage points)", caption=cap, alt=alt,
                   synthetic=synthetic, highlight=None, name=_name(results, "subgroups", outcome))


def love_chart(results: Mapping[str, Any], *, synthetic: bool) -> Chart:
    """Love plot: the largest absolute standardised difference across cohorts, before and after matching."""
    t = pd.DataFrame(results["matching"]["balance"])
    t["abs_smd"] = t["smd"].abs()
    worst = t.groupby(["term", "sample"])["abs_smd"].max().unstack("sample")
    worst = worst.sort_values("before")
    n_bad = int((worst["after"] > 0.1).sum())
    title = ("Matching balanced every variable within 0.1" if n_bad == 0
             else f"Matching left {n_bad} variables above 0.1")
    with style_context():
        fig = Figure(figsize=(8, 0.28 * len(worst) + 1.8))
        ax = fig.subplots()
        y = np.arange(len(worst))
        after, before = series_styles(2)
        ax.scatter(worst["before"], y, color=before["color"], marker="o", label="Before matching")
        ax.scatter(worst["after"], y, color=after["color"], marker="D", label="After matching")
        ax.axvline(0.1, color="#3D3D3D", lw=0.8, ls="--")
        ax.set_yticks(y, worst.index)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_xlabel("Largest absolute standardised mean difference across cohorts")
        ax.legend(loc="lower right", fontsize=8)
        cap = caption_line(_SOURCE, coverage=_coverage(results) + "; dashed line: 0.1", synthetic=synthetic)
        _finish(fig, title, cap)
    alt = (f"Dot chart of the absolute standardised mean difference of {len(worst)} matching variables before "
           f"and after matching; {n_bad} remain above 0.1 after matching.")
    data = pd.DataFrame({"Matching variable": worst.index.astype(str),
                         "Largest absolute SMD before matching": _rounded(worst["before"], 3),
                         "Largest absolute SMD after matching": _rounded(worst["after"], 3)})
    return Chart(fig, title, cap, alt, synthetic, data=data, name=_name(results, "balance"))
