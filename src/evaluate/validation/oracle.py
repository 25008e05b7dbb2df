"""The true value of what an estimate estimates, on the schools it kept.

A Callaway-Sant'Anna aggregate is a fixed linear combination of the group-time cells
(weights from the cohorts' sizes in the estimation sample). Its *target* is the same
combination of the true cell effects: for cell ``(g, t)``, the weighted mean of the true
effect in year ``t`` over the treated units of cohort ``g`` that the estimate used (after
matching, weighting, and dropping units not observed every year). :func:`true_aggregate`
computes it by putting the true cell effects into a copy of the fitted result and
aggregating that copy with the estimator's own code, so the target and the estimate are
weighted identically by construction.

The true effects come from the synthetic world (``truth_schools.csv``); nothing here is
used by the analysis itself.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from evaluate.did.att_gt import ATTgtResult

__all__ = ["school_of_unit", "true_cells", "true_aggregate", "effects_lookup"]


def school_of_unit(unit: object) -> int:
    """The school id of an estimation unit: a school id, or ``"<cohort>:<school>"`` in a stacked design."""
    s = str(unit)
    return int(s.rsplit(":", 1)[-1])


def effects_lookup(truth_schools: pd.DataFrame, *, programme: str, outcome: str) -> dict[tuple[int, int], float]:
    """``(school_id, year) -> true effect`` of one programme on one outcome (percentage points)."""
    col = {"overall_absence_rate": "effect_overall", "pa_rate": "effect_pa", "severe_rate": "effect_severe"}[outcome]
    t = truth_schools[truth_schools["programme"] == programme]
    return {(int(s), int(y)): float(v) for s, y, v in zip(t["school_id"], t["year"], t[col], strict=True)}


def true_cells(result: ATTgtResult, effects: Mapping[tuple[int, int], float], *,
               school: Callable[[object], int] = school_of_unit) -> tuple[pd.DataFrame, int]:
    """The true ATT(g, t) of every post-treatment cell of ``result`` on its own treated units.

    Returns the cell table (``group``, ``time``, ``true``) and the number of treated
    unit-years without a true effect (a treated school the truth does not know, counted as
    effect 0; should be 0).
    """
    ids = np.asarray(result.extra["unit_ids"], dtype=object)
    g_own = np.asarray(result.extra["unit_cohort"])
    w = np.asarray(result.extra["unit_weights"], dtype=float)
    schools = np.array([school(u) for u in ids], dtype=np.int64)
    t = result.table
    out = []
    missing = 0
    for g, tt, post in zip(t["group"], t["time"], t["post"], strict=True):
        if not post:
            out.append(np.nan)
            continue
        members = np.flatnonzero(g_own == g)
        vals = np.empty(len(members))
        for k, i in enumerate(members):
            v = effects.get((int(schools[i]), int(tt)))
            if v is None:
                missing += 1
                v = 0.0
            vals[k] = v
        ww = w[members]
        out.append(float(np.sum(ww * vals) / np.sum(ww)) if len(members) else np.nan)
    return pd.DataFrame({"group": t["group"].to_numpy(), "time": t["time"].to_numpy(), "true": out}), missing


def true_aggregate(result: ATTgtResult, effects: Mapping[tuple[int, int], float], kind: str = "simple",
                   **kwargs) -> pd.DataFrame:
    """The target of ``result.aggregate(kind, **kwargs)``: ``term`` and ``true`` (post-treatment terms).

    Pre-treatment cells are set to 0 (their target under no anticipation); terms made only
    of pre-treatment cells are therefore 0 and should be read as placebo targets.
    """
    cells, _ = true_cells(result, effects)
    table = result.table.copy()
    table["estimate"] = np.where(table["post"].to_numpy(), cells["true"].to_numpy(), 0.0)
    table["estimate"] = table["estimate"].fillna(0.0)
    oracle = dataclasses.replace(result, table=table)
    agg = oracle.aggregate(kind, bootstrap=0, **kwargs)
    t = agg.to_frame()
    return pd.DataFrame({"term": t["term"].to_numpy(), "true": t["estimate"].to_numpy(dtype=float)})
