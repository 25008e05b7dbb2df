"""The JSON that ``evaluate estimate --json`` writes: an exact contract scripts rely on.

- ``cs``: ``{"method", "n_units", "n_obs", "att_gt": [{"group", "time", "att", "se"}],
  "aggregations": {"simple": {"att", "se"}, "group": {"att", "se", "by": [{"group", "att",
  "se"}]}, "dynamic": {"att", "se", "by": [{"event_time", "att", "se"}]}, "calendar":
  {"att", "se", "by": [{"time", "att", "se"}]}}, "pretest": {"statistic", "df", "p_value"}}``
- ``twfe``: ``{"method", "n_units", "n_obs", "coef", "se", "ci_low", "ci_high", "p_value", "vcov"}``
- ``event-study``, ``sun-abraham``, ``imputation``: ``{"method", "n_units", "n_obs",
  "by": [{"event_time", "estimate", "se"}], "pretest": {"statistic", "df", "p_value"}}``

Values are plain floats (``null`` where not finite). Extra keys are never added, so that
a script can validate the shape strictly.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from evaluate.did.results import DiDResult
from evaluate.errors import InputError
from evaluate.numbers import finite

_f = finite  # a finite float or None (evaluate.numbers)


def _i(x: Any) -> int:
    return int(round(float(x)))


def _pretest(result: Any) -> dict[str, float | None]:
    try:
        pre = result.pretest() if hasattr(result, "pretest") else None
    except InputError:  # e.g. no lead to test
        pre = None
    if not pre:
        return {"statistic": None, "df": None, "p_value": None}
    return {"statistic": _f(pre.get("statistic")), "df": _f(pre.get("df")), "p_value": _f(pre.get("p_value"))}


def cs_json(result: DiDResult) -> dict[str, Any]:
    """The contract JSON of a Callaway-Sant'Anna result (with all four aggregations)."""
    t = result.to_frame()
    att_gt = [{"group": _i(r.group), "time": _i(r.time), "att": _f(r.estimate), "se": _f(r.se)}
              for r in t.itertuples(index=False)]
    keys = {"group": "group", "dynamic": "event_time", "calendar": "time"}
    aggs: dict[str, Any] = {}
    for kind in ("simple", "group", "dynamic", "calendar"):
        agg = result.aggregate(kind)
        entry: dict[str, Any] = {"att": _f(agg.overall_att), "se": _f(agg.overall_se)}
        if kind in keys:
            comp = agg.to_frame()
            comp = comp[comp["term"] != "overall"]
            col = keys[kind]
            entry["by"] = [{col: _i(r.component), "att": _f(r.estimate), "se": _f(r.se)}
                           for r in comp.itertuples(index=False)]
        aggs[kind] = entry
    return {"method": "cs", "n_units": int(result.n_units), "n_obs": int(result.n_obs),
            "att_gt": att_gt, "aggregations": aggs, "pretest": _pretest(result)}


def twfe_json(result: DiDResult) -> dict[str, Any]:
    """The contract JSON of a TWFE result (the treatment coefficient)."""
    t = result.to_frame().set_index("term")
    row = t.loc["treated"]
    vcov = result.extra.get("vcov")
    vcov = None if vcov is None else [[_f(v) for v in r] for r in np.atleast_2d(np.asarray(vcov, dtype=float))]
    return {"method": "twfe", "n_units": int(result.n_units), "n_obs": int(result.n_obs),
            "coef": _f(row["estimate"]), "se": _f(row["se"]), "ci_low": _f(row["ci_low"]),
            "ci_high": _f(row["ci_high"]), "p_value": _f(row["p_value"]), "vcov": vcov}


def event_json(result: DiDResult, method: str) -> dict[str, Any]:
    """The contract JSON of an event-study-type result (event study, Sun-Abraham, imputation)."""
    t = result.to_frame()
    if "event_time" in t.columns:
        t = t[t["event_time"].notna()]
    by = [{"event_time": _i(r.event_time), "estimate": _f(r.estimate), "se": _f(r.se)}
          for r in t.itertuples(index=False)]
    return {"method": method, "n_units": int(result.n_units), "n_obs": int(result.n_obs),
            "by": by, "pretest": _pretest(result)}
