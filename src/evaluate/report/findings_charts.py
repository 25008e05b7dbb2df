"""Charts of the programme reports, from ``results/<programme>.json`` (see :mod:`evaluate.report.charts`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from evaluate.report.charts import Chart, _finish, _year_axis, caption_line
from evaluate.report.rounding import fmt_number, year_label
from evaluate.style import palette, style_context

__all__ = ["trend_chart", "event_chart", "estimators_chart", "subgroup_chart", "love_chart"]

_SOURCE = "DfE pupil absence in schools in England; estimates by evaluate"


def _coverage(results: Mapping[str, Any]) -> str:
    ys = results["years"]
    return f"state-funded schools in England, {year_label(ys[0])} to {year_label(ys[-1])}"


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
        c = palette(2)
        for grp, colour, name in (("treated", c[0], "Programme schools"), ("comparison", c[1], comp_name)):
            s = wide[grp].reindex(range(years[0], years[-1] + 1))
            ax.plot(s.index, s.to_numpy(), color=colour, marker="o", ms=4, lw=2, label=name)
        for g in results["cohorts"]:
            ax.axvline(g - 0.5, color="#BFBFBF", lw=0.8, ls="--")
        ax.set_ylabel(f"{o['label']} (%)")
        _year_axis(ax, years)
        ax.legend(loc="best", fontsize=8)
        cap = caption_line(_SOURCE, coverage=_coverage(results) + "; dashed lines: cohorts' first years"
                           + ("; comparison schools weighted by matching" if "matching" in results else ""),
                           synthetic=synthetic)
        _finish(fig, title, cap)
    alt = (f"Line chart of the mean {o['label'].lower()} by academic year from {year_label(years[0])} to "
           f"{year_label(years[-1])} for programme schools and {comp_name.lower()}. The gap is "
           f"{fmt_number(gap_first, 1)} points in the first year and {fmt_number(gap_last, 1)} in the last.")
    return Chart(fig, title, cap, alt, synthetic)


def event_chart(results: Mapping[str, Any], outcome: str, *, synthetic: bool) -> Chart:
    """The event study: effect by years since joining, with 95% intervals."""
    o = results["outcomes"][outcome]
    df = pd.DataFrame(o["event_study"]).rename(columns={"component": "e"}).dropna(subset=["estimate"])
    post = df[df["e"] >= 0]
    title = ("Absence fell after joining, more with longer membership" if len(post) > 1
             and post["estimate"].iloc[-1] < post["estimate"].iloc[0] < 0
             else "Effect by years since joining")
    with style_context():
        fig = Figure(figsize=(8, 4.2))
        ax = fig.subplots()
        c = palette(2)
        for part, colour, name in ((df[df["e"] < 0], c[1], "Before joining"), (df[df["e"] >= 0], c[0], "After joining")):
            if len(part):
                ax.errorbar(part["e"], part["estimate"], yerr=[part["estimate"] - part["ci_low"],
                                                               part["ci_high"] - part["estimate"]],
                            fmt="o", color=colour, ecolor=colour, capsize=3, label=name)
        ax.legend(loc="best", fontsize=8)
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
    return Chart(fig, title, cap, alt, synthetic)


def _forest(rows: pd.DataFrame, name_col: str, *, title: str, xlabel: str, caption: str, alt: str,
            synthetic: bool, highlight: int | None = 0) -> Chart:
    with style_context():
        fig = Figure(figsize=(8, 0.45 * len(rows) + 1.8))
        ax = fig.subplots()
        y = np.arange(len(rows))[::-1]
        c = palette(2)
        for i in range(len(rows)):
            r = rows.iloc[i]
            colour = c[0] if i == highlight else c[1]
            ax.errorbar([r["estimate"]], [y[i]], xerr=[[r["estimate"] - r["ci_low"]], [r["ci_high"] - r["estimate"]]],
                        fmt="o", color=colour, ecolor=colour, capsize=3)
        ax.axvline(0, color="#3D3D3D", lw=0.8)
        ax.set_yticks(y, rows[name_col])
        ax.set_xlabel(xlabel)
        _finish(fig, title, caption)
    return Chart(fig, title, caption, alt, synthetic)


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
                   synthetic=synthetic)


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
    title = "Effects by cohort, phase and disadvantage"
    cap = caption_line(_SOURCE, coverage=_coverage(results) + "; 95% intervals; FSM: thirds of schools by the "
                       "share of pupils eligible for free school meals", synthetic=synthetic)
    alt = (f"Dot chart of the effect on {o['label'].lower()} for {len(rows)} groups of schools (cohort, phase, "
           f"free-school-meals third) with 95% intervals, from {fmt_number(rows['estimate'].min(), 1)} to "
           f"{fmt_number(rows['estimate'].max(), 1)} percentage points.")
    return _forest(rows, "name", title=title, xlabel="Effect (percentage points)", caption=cap, alt=alt,
                   synthetic=synthetic, highlight=None)


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
        c = palette(2)
        ax.scatter(worst["before"], y, color=c[1], marker="o", label="Before matching")
        ax.scatter(worst["after"], y, color=c[0], marker="D", label="After matching")
        ax.axvline(0.1, color="#3D3D3D", lw=0.8, ls="--")
        ax.set_yticks(y, worst.index)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_xlabel("Largest absolute standardised mean difference across cohorts")
        ax.legend(loc="lower right", fontsize=8)
        cap = caption_line(_SOURCE, coverage=_coverage(results) + "; dashed line: 0.1", synthetic=synthetic)
        _finish(fig, title, cap)
    alt = (f"Dot chart of the absolute standardised mean difference of {len(worst)} matching variables before "
           f"and after matching; {n_bad} remain above 0.1 after matching.")
    return Chart(fig, title, cap, alt, synthetic)
