"""Leave one group out: does the effect hang on one hub, one local authority or one cohort?

:func:`leave_one_out` drops each group's treated units in turn (a hub's member schools,
a local authority's treated schools, a cohort) and re-estimates the Callaway-Sant'Anna
simple ATT with the same settings. A result whose sign or size changes when one group is
left out rests on that group.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluate.errors import InputError
from evaluate.sensitivity._common import (
    DEFAULT_COLUMNS,
    SensitivityResult,
    accepts_design,
    check_columns,
    check_settings,
    cs_settings,
    dot_chart,
    fit_simple,
    unit_cohorts,
    unit_values,
)

__all__ = ["LeaveOneOutResult", "leave_one_out"]


@dataclass(frozen=True)
class LeaveOneOutResult(SensitivityResult):
    """The simple ATT with each group left out: one row per group (term = the group's value).

    Extra table columns: ``dropped_treated`` (treated units left out), ``dropped_units``
    (all units left out; more than ``dropped_treated`` with ``drop="all"``) and ``change``
    (estimate minus the full-sample estimate). ``extra`` holds the full-sample estimate
    (``full_estimate``, ``full_se``, ``full_ci_low``, ``full_ci_high``) and the spread
    (``min``, ``max``, ``range``, ``min_group``, ``max_group``, ``sign_changes``: how many
    leave-one-out estimates have the other sign than the full one, ``significance_changes``:
    how many 95% intervals disagree with the full one on whether zero is excluded).
    """

    @property
    def full_estimate(self) -> float:
        """The simple ATT on the full sample."""
        return float(self.extra["full_estimate"])

    def spread(self) -> dict[str, float | str]:
        """Smallest and largest leave-one-out estimates and the groups behind them."""
        return {k: self.extra[k] for k in ("min", "max", "range", "min_group", "max_group")}

    def headline(self) -> list[str]:
        e = self.extra
        return [f"Leave one {self.settings['group']} out ({len(self.table)} groups; drop={self.settings['drop']}):",
                f"  full sample {e['full_estimate']:+.4f} (95% CI {e['full_ci_low']:+.4f} to {e['full_ci_high']:+.4f})",
                f"  leave-one-out estimates from {e['min']:+.4f} (without {e['min_group']}) to "
                f"{e['max']:+.4f} (without {e['max_group']}); sign changes {e['sign_changes']}, "
                f"significance changes {e['significance_changes']}"]

    def plot(self, *, title: str | None = None, xlabel: str = "Effect with the group left out"):
        """Dot chart of the leave-one-out estimates (sorted, with intervals) and the full-sample line."""
        t = self.table.sort_values("estimate", ascending=True, kind="mergesort")
        e = self.extra
        return dot_chart([f"without {x}" for x in t["term"]], t["estimate"].to_numpy(), t["ci_low"].to_numpy(),
                         t["ci_high"].to_numpy(), reference=e["full_estimate"],
                         reference_label=f"Full sample ({e['full_estimate']:+.3f})",
                         band=(e["full_ci_low"], e["full_ci_high"]),
                         title=title or f"Leave one {self.settings['group']} out", xlabel=xlabel)


@accepts_design
def leave_one_out(data: pd.DataFrame, *, group: str = "hub_id", groups: Sequence | None = None,
                  drop: str = "treated", outcome: str = DEFAULT_COLUMNS["outcome"],
                  unit: str = DEFAULT_COLUMNS["unit"], time: str = DEFAULT_COLUMNS["time"],
                  cohort: str = DEFAULT_COLUMNS["cohort"], covariates: Sequence[str] = (),
                  control: str = "never", estimator: str = "dr", weights: str | None = None,
                  cluster: str | None = None, anticipation: int = 0, base_period: str = "varying",
                  level: float = 0.95) -> LeaveOneOutResult:
    """Re-estimate the simple ATT leaving out each group's treated units in turn.

    Parameters
    ----------
    data
        Long panel, one row per unit and period.
    group
        The column defining the groups (constant within a unit): ``"hub_id"`` (the default),
        ``"la_code"``, ``"region"``, the cohort column, ...
    groups
        The groups to leave out, one at a time (default: every group with a treated unit).
    drop
        ``"treated"`` (the default): leave out the group's treated units only, its
        comparison units stay; ``"all"``: leave out every unit of the group (for a local
        authority, its comparison schools too).
    outcome, unit, time, cohort
        Columns; defaults are those of ``work/output/panel/panel_year.parquet`` (hub cohorts).
    covariates, control, estimator, weights, cluster, anticipation, base_period, level
        As :func:`evaluate.did.callaway_santanna` (analytic standard errors).

    Returns
    -------
    LeaveOneOutResult

    Raises
    ------
    InputError
        A column is missing, ``group`` changes within a unit, a named group has no treated
        unit, or leaving a group out leaves no treated unit.

    Notes
    -----
    One Callaway-Sant'Anna fit per group (for 32 hubs on the full synthetic panel, about
    half a minute with the doubly robust estimator; ``estimator="reg"`` is faster).
    Treated units whose group is missing are never left out (counted in
    ``extra["treated_without_group"]``).

    Examples
    --------
    Re-estimate leaving out each group of treated units in turn (here four arbitrary
    groups of units):

    >>> from evaluate.did import example_panel
    >>> from evaluate.sensitivity import leave_one_out
    >>> panel = example_panel()
    >>> panel["hub"] = panel["id"] % 4
    >>> res = leave_one_out(panel, group="hub", outcome="y", unit="id", time="period",
    ...                     cohort="cohort")
    >>> res.table[["term", "estimate", "dropped_treated"]].round(2)
      term  estimate  dropped_treated
    0    0      1.67               39
    1    1      1.64               39
    2    2      1.68               39
    3    3      1.64               41
    >>> round(float(res.full_estimate), 2)
    1.66
    """
    settings = cs_settings(outcome=outcome, unit=unit, time=time, cohort=cohort, covariates=covariates,
                           control=control, estimator=estimator, weights=weights, cluster=cluster,
                           anticipation=anticipation, base_period=base_period, level=level)
    check_settings(data, settings)
    check_columns(data, {"group": group})
    if drop not in ("treated", "all"):
        raise InputError(f"drop must be 'treated' or 'all', not {drop!r}")
    ucoh = unit_cohorts(data, unit=unit, cohort=cohort, time=time)
    ugrp = unit_values(data, unit=unit, column=group, what="group")
    is_treated = (ucoh > 0).to_numpy()
    treated_groups = pd.unique(ugrp[is_treated].dropna())
    try:
        treated_groups = np.sort(treated_groups)
    except TypeError:
        pass
    if groups is None:
        todo = list(treated_groups)
        if not todo:
            raise InputError(f"no treated unit has a value of '{group}'", column=group)
    else:
        todo = list(groups)
        known = set(treated_groups.tolist())
        bad = [g for g in todo if g not in known]
        if bad:
            raise InputError(f"group(s) {', '.join(map(str, bad))} of '{group}' have no treated units "
                             "(or do not exist)", column=group)
    full = fit_simple(data, settings)
    unit_col = data[unit]
    rows = []
    for g in todo:
        in_g = (ugrp == g).to_numpy()
        out_units = ugrp.index[in_g & is_treated] if drop == "treated" else ugrp.index[in_g]
        keep = ~unit_col.isin(out_units)
        if not (is_treated & ~ucoh.index.isin(out_units)).any():
            raise InputError(f"leaving out {group} '{g}' leaves no treated unit", column=group)
        f = fit_simple(data.loc[keep], settings)
        rows.append({"term": str(g), **f.row(), "dropped_treated": int(np.sum(in_g & is_treated)),
                     "dropped_units": int(len(out_units)), "change": f.estimate - full.estimate})
    tab = pd.DataFrame(rows)
    est = tab["estimate"].to_numpy()
    excl = (tab["ci_low"].to_numpy() > 0) | (tab["ci_high"].to_numpy() < 0)
    full_excl = full.ci_low > 0 or full.ci_high < 0
    i_min, i_max = int(np.nanargmin(est)), int(np.nanargmax(est))
    extra = {"full_estimate": full.estimate, "full_se": full.se, "full_ci_low": full.ci_low,
             "full_ci_high": full.ci_high, "full_n_treated": full.n_treated,
             "min": float(est[i_min]), "max": float(est[i_max]), "range": float(est[i_max] - est[i_min]),
             "min_group": tab["term"].iloc[i_min], "max_group": tab["term"].iloc[i_max],
             "sign_changes": int(np.sum(np.sign(est) != np.sign(full.estimate))),
             "significance_changes": int(np.sum(excl != full_excl)),
             "treated_without_group": int(np.sum(is_treated & ugrp.isna().to_numpy())),
             "mean_change": float(np.mean(est - full.estimate)) if len(est) else math.nan}
    st = {**settings, "covariates": list(settings["covariates"]), "group": group, "drop": drop}
    return LeaveOneOutResult("leave_one_out", tab, st, n_units=int(ucoh.size), n_obs=int(len(data)), extra=extra)
