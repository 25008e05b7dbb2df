"""The robustness section of a programme's results: ``results/<programme>_robustness.json``.

For the headline outcome: placebo adoption dates, leave-one-out (each hub, or each local
authority for mentors), effects by phase, disadvantage, region and cohort with tests of
equality, the effect against alternative comparison groups, the power of the pre-trend
test (Roth 2022) and, when available, the HonestDiD sensitivity of the headline to
violations of parallel trends (Rambachan and Roth 2023). Each analysis that cannot be run
on the data is recorded with its reason, never dropped silently.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd

from evaluate.errors import InputError
from evaluate.numbers import jsonable

__all__ = ["programme_robustness"]


def _table(res) -> list[dict[str, Any]]:
    return jsonable(res.to_frame())


def _run(name: str, fn: Callable[[], Any], errors: dict[str, str]):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return fn()
    except (InputError, ValueError, ZeroDivisionError, KeyError) as exc:  # recorded, not hidden
        errors[name] = getattr(exc, "message", None) or str(exc)
        return None


def programme_robustness(panel: pd.DataFrame, *, design=None, programme: str | None = None,
                         cohort: str | None = None, outcome: str = "overall_absence_rate", unit: str = "school_id",
                         time: str = "year", cluster: str | None = None, matching=None,
                         synthetic: bool = False) -> dict[str, Any]:
    """Every robustness analysis of one programme's headline outcome, JSON-ready.

    Parameters
    ----------
    panel
        The school-year panel.
    design
        The programme's :class:`evaluate.design.Design`: every re-estimation uses its timing
        (anticipation), estimator and cluster (the school where its cluster is the matched
        set), against all never-treated schools. Without it, the keywords below make one.
    programme
        ``"hubs"`` (leave one hub out) or ``"mentors"`` (leave one local authority out).
    cohort
        The programme's cohort column.
    outcome
        The headline outcome.
    cluster
        Cluster column for the re-estimates (default: none).
    matching
        The headline's cohort matching, if the headline is matched: HonestDiD then uses the
        matched design; the other analyses always compare with all never-treated schools
        (recorded as ``design``).
    """
    from evaluate.design import Design
    from evaluate.did import callaway_santanna
    from evaluate.sensitivity.comparison_groups import alternative_comparisons
    from evaluate.sensitivity.heterogeneity import heterogeneity
    from evaluate.sensitivity.leave_one_out import leave_one_out
    from evaluate.sensitivity.placebo import placebo_timing
    from evaluate.sensitivity.pretrend_power import pretrend_power_cs

    if design is None:
        if programme is None or cohort is None:
            raise InputError("programme_robustness needs a design, or programme= and cohort=")
        design = Design(programme=programme, cohort=cohort, unit=unit, time=time, cluster=cluster)
    programme, cohort, unit, time = design.programme, design.cohort, design.unit, design.time
    panel = design.sample(panel)
    settings = design.unmatched().cs_settings(outcome, data=panel)
    cluster = settings["cluster"]
    extra = {k: settings[k] for k in ("anticipation", "estimator", "control")}
    cols = dict(outcome=outcome, unit=unit, time=time, cohort=cohort)
    errors: dict[str, str] = {}
    out: dict[str, Any] = {"programme": programme, "outcome": outcome, "synthetic": bool(synthetic),
                           "design": "all never-treated schools (HonestDiD: the headline design)",
                           "settings": {"anticipation": extra["anticipation"], "estimator": extra["estimator"],
                                        "cluster": cluster}}

    base = _run("callaway_santanna", lambda: callaway_santanna(panel, **cols, cluster=cluster, **extra), errors)
    pl = _run("placebo_timing", lambda: placebo_timing(panel, shift=[1, 2], **cols, cluster=cluster, **extra), errors)
    out["placebo_timing"] = _table(pl) if pl is not None else None

    group = "hub_id" if programme == "hubs" else "la_code"
    loo = _run("leave_one_out", lambda: leave_one_out(panel, group=group, **cols, cluster=cluster, **extra), errors)
    out["leave_one_out"] = None if loo is None else {
        "group": group, "table": _table(loo),
        **{k: loo.extra[k] for k in ("full_estimate", "full_ci_low", "full_ci_high", "min", "max", "range",
                                     "min_group", "max_group", "sign_changes", "significance_changes")
           if k in loo.extra}}

    het = {}
    for name, kw in (("phase", dict(by="phase")), ("fsm", dict(by="fsm_pct", bins=3)),
                     ("region", dict(by="region")), ("cohort", dict(by=cohort))):
        h = _run(f"heterogeneity_{name}", lambda kw=kw: heterogeneity(panel, **kw, **cols, cluster=cluster, **extra), errors)
        if h is not None:
            het[name] = {"table": _table(h), "test": dict(h.extra["test"])}
    out["heterogeneity"] = het

    comp = _run("alternative_comparisons", lambda: alternative_comparisons(panel, **cols, cluster=cluster, anticipation=extra["anticipation"], estimator=extra["estimator"]), errors)
    out["comparisons"] = _table(comp) if comp is not None else None

    pw = _run("pretrend_power", lambda: pretrend_power_cs(base), errors) if base is not None else None
    out["pretrend_power"] = None if pw is None else {"table": _table(pw), "pretest": dict(pw.extra["pretest"])}

    out["honest"] = _honest(panel, cols, cluster, errors, matching=matching)
    out["errors"] = errors
    return jsonable(out)


def _period_index(frame: pd.DataFrame, *, time: str, cohort: str) -> pd.DataFrame:
    """``_period`` and ``_cohort_period``: years as consecutive observed-period numbers (1, 2, ...).

    HonestDiD needs consecutive event times; the panel has no 2019/20 (nor a full 2020/21), so
    event time is counted in observed years here. A cohort maps to the first observed period
    at or after its first year; cohorts after the last period are never treated (0).
    """
    import numpy as np

    years = np.sort(frame[time].unique())
    out = frame.copy()
    out["_period"] = np.searchsorted(years, out[time].to_numpy()) + 1
    coh = pd.to_numeric(out[cohort], errors="coerce").fillna(0).to_numpy()
    idx = np.searchsorted(years, coh) + 1
    out["_cohort_period"] = np.where((coh > 0) & (coh <= years[-1]), idx, 0)
    return out


def _honest(panel: pd.DataFrame, cols: dict[str, str], cluster: str | None, errors: dict[str, str],
            matching=None) -> dict[str, Any] | None:
    """HonestDiD relative-magnitude sensitivity of the headline (simple) effect.

    HonestDiD needs event-study coefficients against one reference period, so the
    Callaway-Sant'Anna fit here uses the universal base period (as R's HonestDiD requires),
    on consecutive observed periods; the target is the simple aggregate's event-time weights.
    With ``matching`` the fit is the headline's matched design (stacked sub-experiments).
    """
    from evaluate.did import callaway_santanna
    from evaluate.sensitivity.honest import honest_did_cs

    kw = dict(outcome=cols["outcome"], time="_period", cohort="_cohort_period", cluster=cluster,
              base_period="universal")
    if matching is not None:
        from evaluate.matching.matched_did import stacked_panel

        frame = _period_index(stacked_panel(panel, matching), time=cols["time"], cohort=cols["cohort"])
        frame["stack"] = _period_index(frame.assign(**{cols["cohort"]: frame["stack"]}), time=cols["time"],
                                       cohort=cols["cohort"])["_cohort_period"]
        fit = lambda: callaway_santanna(frame, unit="stack_unit", weights="match_weight",  # noqa: E731
                                        subexperiment="stack", control=matching.settings["control"], **kw)
    else:
        frame = _period_index(panel, time=cols["time"], cohort=cols["cohort"])
        fit = lambda: callaway_santanna(frame, unit=cols["unit"], **kw)  # noqa: E731
    uni = _run("honest", fit, errors)
    if uni is None:
        return None
    res = _run("honest", lambda: honest_did_cs(uni, target="simple"), errors)
    if res is None:
        return None
    b = float(res.breakdown)
    return {"table": jsonable(res.to_frame()), "original": jsonable(res.original),
            "design": "matched" if matching is not None else "all never-treated schools",
            "event_time": "observed years",
            "breakdown": {"value": None if b != b else b, "censored": bool(res.breakdown_censored),
                          "restriction": "relative magnitudes" if res.restriction == "relative_magnitude"
                          else "smoothness"}}
