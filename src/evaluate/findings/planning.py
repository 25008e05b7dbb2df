"""What a programme is worth and what the next evaluation can detect: ``value`` and ``power`` results.

Adds to ``results/<programme>.json``:

- ``value``: the cost per extra day in school (``evaluate.value.cost_per_day``) from the
  headline effect on the overall absence rate, the sessions possible in the treated schools
  and the programme's cost from ``evaluation.yml`` (``value.<programme>``); when no cost is
  given, the reason, never an invented number;
- ``power``: the minimum detectable effect of the design used (``evaluate.power.mde_did``
  with variance components estimated from the never-treated schools) and a planning table
  for the next wave: treated schools needed for 80% power at the effects policy cares about.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from evaluate.numbers import jsonable

__all__ = ["PLANNING_EFFECTS", "power_findings", "value_findings"]

#: Effects of interest for the planning table, by outcome (percentage points).
PLANNING_EFFECTS: dict[str, tuple[float, ...]] = {
    "overall_absence_rate": (0.1, 0.2, 0.5),
    "pa_rate": (1.0, 2.0),
}


def value_findings(results: Mapping[str, Any], panel: pd.DataFrame, *, cohort: str, cost: float | None,
                   years: float = 1.0, source: str = "", value_per_day: float | None = None) -> dict[str, Any]:
    """Cost per extra day in school from the headline effect on the overall absence rate.

    Days are counted over every pupil of the treated schools (the effect is on whole-school
    rates): total days = -effect / 100 x sessions possible in the treated schools in the
    latest year / 2 x ``years``.

    Examples
    --------
    >>> from evaluate.findings.planning import value_findings
    >>> value_findings({"outcomes": {}}, None, cohort="c", cost=None)["note"]
    'no programme cost given (the value section of evaluation.yml)'
    """
    if cost is None:
        return {"cost": None, "note": "no programme cost given (the value section of evaluation.yml)"}
    o = results["outcomes"].get("overall_absence_rate")
    if o is None or o["headline"]["estimate"] is None:
        return {"cost": cost, "note": "no headline effect on the overall absence rate to value"}
    from evaluate.value import cost_per_day

    last = panel["year"].max()
    treated = panel[(panel[cohort] > 0) & (panel[cohort] <= last) & (panel["year"] == last)]
    pupils = float(treated["enrolments"].sum())
    spp = float(treated["sess_possible"].sum() / pupils) if pupils > 0 else math.nan
    h = o["headline"]
    res = cost_per_day(h["estimate"], h["ci_low"], h["ci_high"], sessions_per_pupil=spp, pupils=pupils,
                       cost=float(cost), years=float(years))
    out = {"cost": cost, "years": years, "source": source, "pupils": pupils, "sessions_per_pupil": spp,
           **res.to_dict()}
    if value_per_day is not None:
        from evaluate.value import break_even_effect

        out["value_per_day"] = value_per_day
        out["break_even_effect"] = break_even_effect(float(cost), pupils=pupils, years=float(years),
                                                     sessions_per_pupil=spp, value_per_day=float(value_per_day))
    return jsonable(out)


def power_findings(results: Mapping[str, Any], panel: pd.DataFrame, *, cohort: str) -> dict[str, Any]:
    """The design's minimum detectable effect and a planning table, per headline outcome.

    Examples
    --------
    >>> from evaluate.findings.planning import PLANNING_EFFECTS
    >>> PLANNING_EFFECTS["overall_absence_rate"]
    (0.1, 0.2, 0.5)
    """
    import numpy as np

    from evaluate.power import estimate_variance_components, mde_did, planning_table, power_did

    years = sorted(int(y) for y in panel["year"].unique())
    cohorts = results.get("cohorts") or []
    first = min(cohorts) if cohorts else years[-1]
    pre = sum(y < first for y in years)
    post = max(1, sum(y >= first for y in years))
    never = panel[panel[cohort] == 0]
    out: dict[str, Any] = {"pre": pre, "post": post, "outcomes": {}}
    for y, effects in PLANNING_EFFECTS.items():
        o = results["outcomes"].get(y)
        if o is None or y not in panel:
            continue
        vc = estimate_variance_components(never.dropna(subset=[y]), outcome=y, unit="school_id", time="year")
        h = o["headline"]
        mde = mde_did(n_treated=h["n_treated"], n_control=h["n_comparison"], pre=pre, post=post,
                      sigma2=vc["sigma2"], rho=vc["rho"])
        table = planning_table(list(effects), pre=pre, post=post, sigma2=vc["sigma2"], rho=vc["rho"], ratio=1.0)
        # power against effect size for the design used and half and twice its schools (the chart's
        # lines: computed here, so that the report only draws them)
        grid = np.linspace(0, 3 * mde, 61) if np.isfinite(mde) else np.array([])
        curves = [{"scale": scale, "n_treated": h["n_treated"] * scale, "n_comparison": h["n_comparison"] * scale,
                   "effect": grid.tolist(),
                   "power": [power_did(e, n_treated=h["n_treated"] * scale, n_control=h["n_comparison"] * scale,
                                       pre=pre, post=post, sigma2=vc["sigma2"], rho=vc["rho"]) for e in grid]}
                  for scale in (0.5, 1.0, 2.0)]
        out["outcomes"][y] = {"label": o["label"], "mde": mde, "sigma2": vc["sigma2"], "rho": vc["rho"],
                              "n_treated": h["n_treated"], "n_comparison": h["n_comparison"],
                              "planning": jsonable(table), "curves": curves}
    return jsonable(out)
