"""The value-for-money sentence of a policy summary and the power section of the technical annex.

Built from the ``value`` and ``power`` blocks of ``results/<programme>.json``
(``evaluate.findings.planning``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from evaluate.report.rounding import fmt_count, fmt_number, year_label
from evaluate.report.tables import Table, markdown_table, note

__all__ = ["value_sentence", "mde_sentence", "planning_table_md", "power_chart"]


def value_sentence(results: Mapping[str, Any]) -> str:
    """The cost per extra day in school, or why it cannot be given.

    Examples
    --------
    >>> from evaluate.report.planning import value_sentence
    >>> value_sentence({"value": {"cost": None, "note": "no programme cost given"}})
    'No cost per extra day in school is given: no programme cost given.'
    >>> v = {"cost": 1_900_000, "cost_per_day": 1000.0, "ci_low": 800.0, "ci_high": 1300.0,
    ...      "total_days": 1900.0, "note": None, "years": 1}
    >>> value_sentence({"value": v})
    'Each extra day in school cost about £1,000 (95% interval £800 to £1,300), for 1,900 extra days over 1 year.'
    """
    v = results.get("value") or {}
    if v.get("cost") is None or v.get("cost_per_day") is None:
        reason = v.get("note") or "no programme cost or no effect to value"
        return f"No cost per extra day in school is given: {reason}."
    years = v.get("years", 1)
    span = f"{fmt_number(years, 0)} year{'s' if years != 1 else ''}"
    if v.get("ci_high") is None:
        interval = f"from £{fmt_count(v['ci_low'])} with no upper bound: {v.get('note')}"
    else:
        interval = f"95% interval £{fmt_count(v['ci_low'])} to £{fmt_count(v['ci_high'])}"
    s = (f"Each extra day in school cost about £{fmt_count(v['cost_per_day'])} ({interval}), "
         f"for {fmt_count(v['total_days'])} extra days over {span}.")
    if v.get("break_even_effect") is not None:
        s += (f" At £{fmt_count(v['value_per_day'])} a day the programme breaks even at a fall of "
              f"{fmt_number(abs(v['break_even_effect']), 2)} percentage points in the overall absence rate.")
    return s


def mde_sentence(results: Mapping[str, Any], outcome: str = "overall_absence_rate") -> str:
    """The minimum detectable effect of the design used, in words.

    Examples
    --------
    >>> from evaluate.report.planning import mde_sentence
    >>> p = {"pre": 4, "post": 3, "outcomes": {"overall_absence_rate": {"label": "Overall absence rate",
    ...      "mde": 0.116, "n_treated": 578, "n_comparison": 19688, "rho": 0.89}}}
    >>> mde_sentence({"power": p})
    'With 578 treated and 19,688 comparison schools, 4 years before and 3 after, the design detects an effect on the overall absence rate of 0.12 percentage points with 80% power at the 5% level.'
    """
    p = (results.get("power") or {}).get("outcomes", {}).get(outcome)
    if not p:
        return "The power of the design could not be computed."
    pw = results["power"]
    return (f"With {fmt_count(p['n_treated'])} treated and {fmt_count(p['n_comparison'])} comparison schools, "
            f"{pw['pre']} years before and {pw['post']} after, the design detects an effect on the "
            f"{p['label'].lower()} of {fmt_number(p['mde'], 2)} percentage points with 80% power at the 5% level.")


def planning_table_md(results: Mapping[str, Any], *, synthetic: bool, label: str) -> Table:
    """Treated schools needed (with as many comparison schools) for 80% power, by effect.

    Examples
    --------
    >>> from evaluate.report.planning import planning_table_md
    >>> p = {"pre": 4, "post": 3, "outcomes": {"overall_absence_rate": {"label": "Overall absence rate",
    ...      "planning": [{"effect": 0.1, "n_treated": 1512, "n_control": 1512}]}}}
    >>> print(planning_table_md({"power": p}, synthetic=False, label="tbl-plan").splitlines()[2])
    | Overall absence rate | 0.1 | 1,512 | 1,512 |
    """
    rows = []
    for o in (results.get("power") or {}).get("outcomes", {}).values():
        for r in o.get("planning", []):
            rows.append({"Outcome": o["label"], "Effect (percentage points)": fmt_number(r["effect"], 1),
                         "Treated schools needed": fmt_count(r["n_treated"]),
                         "Comparison schools": fmt_count(r["n_control"])})
    if not rows:
        return note("No planning table could be computed.\n")
    df = pd.DataFrame(rows)
    return markdown_table(df, formats={c: "text" for c in df.columns},
                          caption=("Planning the next wave: treated schools needed, with as many comparison "
                                   "schools, to detect each effect with 80% power at the 5% level, with the "
                                   "variance and serial correlation of never-treated schools in this panel; "
                                   "clustering (hubs, areas) would raise these numbers."),
                          label=label, synthetic=synthetic)


def power_chart(results: Mapping[str, Any], *, synthetic: bool, outcome: str = "overall_absence_rate"):
    """Power against the size of the effect: the design used, and half and double its schools.

    The curves are in the results (``power.outcomes.<outcome>.curves``); nothing is computed here.

    Examples
    --------
    >>> from evaluate.report.planning import power_chart
    >>> curve = {"effect": [0.0, 0.116, 0.3], "power": [0.05, 0.8, 1.0]}
    >>> curves = [{"scale": s, "n_treated": 578 * s, **curve} for s in (0.5, 1.0, 2.0)]
    >>> p = {"pre": 4, "post": 3, "outcomes": {"overall_absence_rate": {"label": "Overall absence rate",
    ...      "mde": 0.116, "n_treated": 578, "n_comparison": 19688, "rho": 0.89, "sigma2": 15.0,
    ...      "curves": curves}}}
    >>> chart = power_chart({"power": p, "years": [2016, 2024]}, synthetic=True)
    >>> chart.title
    'The design detects 0.12 points with 80% power'
    >>> list(chart.data.columns)
    ['Effect (percentage points)', 'Power, the schools used', 'Power, half the schools', 'Power, twice the schools']
    """
    import pandas as pd
    from matplotlib.figure import Figure

    from evaluate.report.charts import Chart, _finish, _rounded, caption_line
    from evaluate.style import series_styles, style_context

    pw = results["power"]
    o = pw["outcomes"][outcome]
    title = f"The design detects {fmt_number(o['mde'], 2)} points with 80% power"
    styles = series_styles(3)
    names = {1.0: (styles[0], "the schools used"), 2.0: (styles[1], "twice the schools"),
             0.5: (styles[2], "half the schools")}
    # computed by the estimates stage (evaluate.findings.planning); drawn twice, used, half
    curves = sorted(o.get("curves") or [], key=lambda c: -c["scale"])
    with style_context():
        fig = Figure(figsize=(8, 4.0))
        ax = fig.subplots()
        for c in curves:
            st, name = names.get(c["scale"], (styles[0], f"{c['scale']} x the schools"))
            ax.plot(c["effect"], c["power"], color=st["color"], linestyle=st["linestyle"], lw=2,
                    label=f"{name.capitalize()} ({fmt_count(c['n_treated'])} treated)")
        ax.axhline(0.8, color="#3D3D3D", lw=0.8, ls="--")
        ax.set_xlabel(f"Effect on the {o['label'].lower()} (percentage points)")
        ax.set_ylabel("Power")
        ax.set_ylim(0, 1.02)
        # the three curves converge, so direct labels would collide: a legend, left to right
        ax.legend(loc="lower right", fontsize=8)
        years = results.get("years") or []
        cap = caption_line("DfE pupil absence in schools in England; power by evaluate.power (analytic)",
                           coverage=(f"{year_label(years[0])} to {year_label(years[-1])}; " if years else "")
                           + "variance components from never-treated schools; dashed line: 80% power",
                           synthetic=synthetic)
        _finish(fig, title, cap)
    alt = (f"Line chart of the power to detect an effect on the {o['label'].lower()} against its size, from 0 to "
           f"{fmt_number(3 * o['mde'], 2)} percentage points, for the design used and for half and twice as many "
           f"schools; the design used reaches 80% power at {fmt_number(o['mde'], 2)} points.")
    data = None
    if curves:
        by = {names.get(c["scale"], (None, f"{c['scale']} x the schools"))[1]: c for c in curves}
        effects = list(curves[0]["effect"])
        step = max(1, len(effects) // 20)  # about 20 points of the curve: enough to read it
        data = pd.DataFrame({"Effect (percentage points)": _rounded(effects[::step], 3),
                             **{f"Power, {name}": _rounded(list(by[name]["power"])[::step], 3)
                                for name in ("the schools used", "half the schools", "twice the schools")
                                if name in by}})
    return Chart(fig, title, cap, alt, synthetic, data=data, name=f"{results.get('programme') or 'programme'}-power")
