"""Run ONE difference-in-differences estimator on ONE prepared panel and report time and memory.

Started by ``benchmarks/did_speed.py``, once per estimator, data set and repetition, in a
fresh interpreter (ours and pyfixest in the project venv, ``csdid`` and ``differences`` in
the benchmark venv of ``benchmarks/requirements-bench.txt``), so the peak resident memory
(``VmHWM`` of this process) belongs to this estimator alone.

Usage: python benchmarks/did_worker.py ESTIMATOR PANEL.parquet OUT.json [--calls N] [--draws B]

``ESTIMATOR`` is one of ``ours_cs``, ``csdid``, ``differences`` (Callaway-Sant'Anna, doubly
robust, covariate ``x``, never-treated comparison, ``B`` multiplier-bootstrap draws, then
the four aggregations, each bootstrapped) or ``ours_twfe``, ``pyfixest`` (TWFE,
``y ~ d + x | unit + period``, CR1 by unit; ``x`` is left out when it is constant within
unit, as ``fsm_pct`` is in the synthetic national panel, since the unit effects absorb it). The panel has columns ``unit``, ``period``
(1..7), ``cohort`` (first treated period, 0 = never), ``y``, ``x`` and ``d``.
The timed region starts with the panel in memory (imports and the Parquet read are timed
apart) and ends when every estimate and standard error has been computed. With
``--calls N`` the estimator is run N times in the same process (the first call includes
lazy imports and JIT compilation; later calls are warm).
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd

SEED = 20240901
AGGREGATIONS = ("simple", "group", "dynamic", "calendar")


def _rows(group: Any, time_: Any, att: Any, se: Any) -> list[dict[str, float]]:
    """ATT(g, t) rows as plain floats (for the agreement check in the driver)."""
    return [{"group": float(g), "time": float(t), "att": float(a), "se": float(s)}
            for g, t, a, s in zip(group, time_, att, se, strict=True)]


def run_ours_cs(df: pd.DataFrame, draws: int) -> dict[str, Any]:
    """``evaluate.did.callaway_santanna`` (dr, covariate, never treated) + four aggregations."""
    from evaluate.did import callaway_santanna

    res = callaway_santanna(df, outcome="y", unit="unit", time="period", cohort="cohort",
                            covariates=["x"], control="never", estimator="dr",
                            bootstrap=draws, seed=SEED)
    overall = {}
    for kind in AGGREGATIONS:
        agg = res.aggregate(kind)  # bootstrap draws and seed as the fit
        overall[kind] = [agg.overall_att, agg.overall_se]
    t = res.table
    return {"attgt": _rows(t["group"], t["time"], t["estimate"], t["se"]), "overall": overall}


def run_csdid(df: pd.DataFrame, draws: int) -> dict[str, Any]:
    """``csdid.att_gt.ATTgt`` (dr, ``xformla``, never treated, cband) + ``aggte`` x 4."""
    import numpy as np
    from csdid.att_gt import ATTgt

    np.random.seed(SEED)  # noqa: NPY002 - csdid's bootstrap draws from the global numpy RNG
    m = ATTgt(yname="y", tname="period", idname="unit", gname="cohort", data=df,
              control_group=["nevertreated"], xformla="y ~ x", biters=draws, cband=True)
    m.fit(est_method="dr", base_period="varying", bstrap=True)
    r = m.results
    overall = {}
    for kind in AGGREGATIONS:
        agg = m.aggte(typec=kind, biters=draws, bstrap=True, cband=True)
        overall[kind] = _overall_csdid(agg)
    return {"attgt": _rows(r["group"], r["year"], r["att"], r["se"]), "overall": overall}


def _overall_csdid(agg: Any) -> list[float]:
    """Overall ATT and SE from ``csdid``'s ``aggte`` (the model, its ``atte`` dict holds them)."""
    import numpy as np

    obj = getattr(agg, "atte", agg)
    if isinstance(obj, dict):
        att = np.ravel(obj.get("overall_att", math.nan))[0]
        se = np.ravel(obj.get("overall_se", math.nan))[0]
        return [float(att), float(se)]
    return [math.nan, math.nan]


def run_differences(df: pd.DataFrame, draws: int) -> dict[str, Any]:
    """``differences.ATTgt`` (dr, ``y ~ x`` at base period, never treated) + ``aggregate`` x 4."""
    import numpy as np
    from differences import ATTgt

    data = df.assign(cohort=df["cohort"].where(df["cohort"] > 0, np.nan)).set_index(["unit", "period"])
    m = ATTgt(data=data, cohort_column="cohort")
    fit = m.fit(formula="y ~ x", est_method="dr", control_group="never_treated",
                boot_iterations=draws, random_state=SEED, progress_bar=False)
    overall = {}
    names = {"simple": "simple", "group": "cohort", "dynamic": "event", "calendar": "time"}
    for kind in AGGREGATIONS:
        agg = m.aggregate(names[kind], overall=kind != "simple", boot_iterations=draws,
                          random_state=SEED)
        overall[kind] = _overall_differences(agg)
    return {"attgt": _attgt_differences(fit, m), "overall": overall}


def _attgt_differences(fit: Any, model: Any) -> list[dict[str, float]]:
    """ATT(g, t) rows from ``differences``' result frame (index: cohort, base period, time)."""
    res = model._fit_res  # the frame ``fit`` wraps; its columns are a MultiIndex
    flat = res.copy()
    flat.columns = [c[-1] if isinstance(c, tuple) else c for c in flat.columns]
    idx = flat.index.to_frame(index=False)
    return _rows(idx["cohort"], idx["time"], flat["ATT"], flat["std_error"])


def _overall_differences(agg: pd.DataFrame) -> list[float]:
    """The first (overall) ATT and SE of a ``differences`` aggregation frame."""
    flat = agg.copy()
    flat.columns = [c[-1] if isinstance(c, tuple) else c for c in flat.columns]
    return [float(flat["ATT"].iloc[0]), float(flat["std_error"].iloc[0])]


def _x_varies(df: pd.DataFrame) -> bool:
    """Whether ``x`` varies within unit (if not, the unit effects absorb it)."""
    return bool((df.groupby("unit", sort=False)["x"].nunique() > 1).any())


def run_ours_twfe(df: pd.DataFrame, draws: int) -> dict[str, Any]:
    """``evaluate.did.twfe``, CR1 by unit, with covariate ``x`` when it varies within unit."""
    from evaluate.did import twfe

    covs = ["x"] if df.attrs["x_varies"] else []
    res = twfe(df, outcome="y", unit="unit", time="period", cohort="cohort", covariates=covs)
    return {"coef": float(res.coef["treated"]), "se": float(res.se["treated"])}


def run_pyfixest(df: pd.DataFrame, draws: int) -> dict[str, Any]:
    """``pyfixest.feols("y ~ d + x | unit + period", vcov={"CRV1": "unit"})`` (``+ x`` if it varies)."""
    import pyfixest as pf

    rhs = "d + x" if df.attrs["x_varies"] else "d"
    fit = pf.feols(f"y ~ {rhs} | unit + period", data=df, vcov={"CRV1": "unit"})
    return {"coef": float(fit.coef()["d"]), "se": float(fit.se()["d"])}


ESTIMATORS: dict[str, Callable[[pd.DataFrame, int], dict[str, Any]]] = {
    "ours_cs": run_ours_cs,
    "csdid": run_csdid,
    "differences": run_differences,
    "ours_twfe": run_ours_twfe,
    "pyfixest": run_pyfixest,
}

_IMPORTS = {
    "ours_cs": "evaluate.did",
    "ours_twfe": "evaluate.did",
    "csdid": "csdid.att_gt",
    "differences": "differences",
    "pyfixest": "pyfixest",
}


def _peak_rss_kib() -> float:
    """Peak resident memory of this process in KiB.

    ``VmHWM`` from ``/proc/self/status`` (reset by ``exec``); ``ru_maxrss`` is not used
    because Linux carries it over from the parent across ``fork`` + ``exec``, so a worker
    started by a large driver would report the driver's peak.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1])
    except OSError:
        pass
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run the estimator, write the JSON report."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("estimator", choices=sorted(ESTIMATORS))
    ap.add_argument("panel")
    ap.add_argument("out")
    ap.add_argument("--calls", type=int, default=1)
    ap.add_argument("--draws", type=int, default=999)
    args = ap.parse_args(argv)

    t0 = time.perf_counter()
    __import__(_IMPORTS[args.estimator])
    import_s = time.perf_counter() - t0
    df = pd.read_parquet(args.panel)
    df.attrs["x_varies"] = _x_varies(df)
    rss_loaded = _peak_rss_kib()
    fn = ESTIMATORS[args.estimator]
    times: list[float] = []
    result: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(args.calls):
            t = time.perf_counter()
            result = fn(df, args.draws)
            times.append(time.perf_counter() - t)
    peak_kib = _peak_rss_kib()
    report = {"estimator": args.estimator, "panel": args.panel, "rows": len(df),
              "units": int(df["unit"].nunique()), "x_varies": df.attrs["x_varies"], "import_s": import_s, "times_s": times,
              "peak_rss_mib": peak_kib / 1024, "rss_after_load_mib": rss_loaded / 1024,
              "python": sys.executable, "result": result}
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=1)


if __name__ == "__main__":
    main()
