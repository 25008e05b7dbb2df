"""The effect against different comparison groups, side by side.

:func:`alternative_comparisons` estimates the Callaway-Sant'Anna simple ATT of the same
treated units against

- ``"never"``: all never-treated units;
- ``"not_yet"``: never-treated units and units not yet treated;
- ``"matched"``: each cohort's matched comparison units
  (:func:`evaluate.matching.matched_did` with its default matching);
- ``"priority_area"``: never-treated units in priority areas only (``priority_area``
  true), the schools most like the treated ones in where they are.

Estimates that agree suggest the result does not depend on which schools are taken as
the counterfactual.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

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

__all__ = ["COMPARISONS", "ComparisonsResult", "alternative_comparisons"]

#: The comparison groups, in table order, and how each is described.
COMPARISONS: dict[str, str] = {
    "never": "never-treated schools",
    "not_yet": "never- and not-yet-treated schools",
    "matched": "matched comparison schools (each cohort matched on its pre-period)",
    "priority_area": "never-treated schools in priority areas",
}


@dataclass(frozen=True)
class ComparisonsResult(SensitivityResult):
    """The simple ATT against each comparison group: one row per group (term = its key).

    Extra table columns: ``description``, ``n_comparison`` (comparison units: for
    ``"not_yet"`` the never-treated and later-treated units, for ``"matched"`` the distinct
    matched comparison units).
    """

    def headline(self) -> list[str]:
        lines = ["The effect against different comparison groups:"]
        for r in self.table.itertuples():
            lines.append(f"  {r.term:<14} {r.estimate:+.4f} (95% CI {r.ci_low:+.4f} to {r.ci_high:+.4f}); "
                         f"{int(r.n)} treated, {int(r.n_comparison)} comparison units")
        return lines

    def plot(self, *, title: str | None = None, xlabel: str = "Effect"):
        """Dot chart of the effect by comparison group, with intervals."""
        t = self.table
        return dot_chart(t["description"].tolist(), t["estimate"].to_numpy(), t["ci_low"].to_numpy(),
                         t["ci_high"].to_numpy(), reference=None, reference_label="",
                         title=title or "The effect against different comparison groups", xlabel=xlabel)


@accepts_design
def alternative_comparisons(data: pd.DataFrame, *, comparisons: Sequence[str] = tuple(COMPARISONS),
                            priority: str = "priority_area", match_options: Mapping[str, Any] | None = None,
                            outcome: str = DEFAULT_COLUMNS["outcome"], unit: str = DEFAULT_COLUMNS["unit"],
                            time: str = DEFAULT_COLUMNS["time"], cohort: str = DEFAULT_COLUMNS["cohort"],
                            covariates: Sequence[str] = (), estimator: str = "dr", weights: str | None = None,
                            cluster: str | None = None, anticipation: int = 0, base_period: str = "varying",
                            level: float = 0.95) -> ComparisonsResult:
    """The simple ATT against never-treated, not-yet-treated, matched and priority-area comparison units.

    Parameters
    ----------
    data
        Long panel, one row per unit and period.
    comparisons
        Which of :data:`COMPARISONS` to estimate, in this order.
    priority
        The boolean column marking priority-area units (``"priority_area"`` comparison:
        never-treated units with it true; all treated units are kept).
    match_options
        Options of :func:`evaluate.matching.match_cohorts` for ``"matched"`` (default: its
        defaults, which match on the pre-period levels and trends of
        ``overall_absence_rate`` and ``pa_rate`` and on ``ofsted``, ``priority_area``,
        ``phase``, ``fsm_pct``, ``size`` and ``region``, so those columns must exist).
    outcome, unit, time, cohort
        Columns; defaults are those of ``work/output/panel/panel_year.parquet`` (hub cohorts).
    covariates, estimator, weights, cluster, anticipation, base_period, level
        As :func:`evaluate.did.callaway_santanna` (analytic standard errors). ``weights``
        and ``anticipation``, ``base_period`` are not used by the matched estimate
        (:func:`evaluate.matching.matched_did` weights by the matching and clusters on the
        unit unless ``cluster`` is given).

    Returns
    -------
    ComparisonsResult

    Raises
    ------
    InputError
        A column is missing, an unknown comparison is named, or a comparison group is empty.

    Examples
    --------
    The simple ATT against never-treated units, then against never- and not-yet-treated:

    >>> from evaluate.did import example_panel
    >>> from evaluate.sensitivity import alternative_comparisons
    >>> res = alternative_comparisons(example_panel(), comparisons=("never", "not_yet"),
    ...                               outcome="y", unit="id", time="period", cohort="cohort")
    >>> res.table[["term", "estimate", "n_comparison"]].round(2)
          term  estimate  n_comparison
    0    never      1.66            42
    1  not_yet      1.71           153
    """
    comps = list(comparisons)
    unknown = [c for c in comps if c not in COMPARISONS]
    if unknown or not comps:
        raise InputError(f"unknown comparison group(s) {unknown or comps}; choose from {', '.join(COMPARISONS)}")
    base = cs_settings(outcome=outcome, unit=unit, time=time, cohort=cohort, covariates=covariates,
                       control="never", estimator=estimator, weights=weights, cluster=cluster,
                       anticipation=anticipation, base_period=base_period, level=level)
    check_settings(data, base)
    if "priority_area" in comps:
        check_columns(data, {"priority": priority})
    ucoh = unit_cohorts(data, unit=unit, cohort=cohort, time=time)
    periods = np.sort(pd.to_numeric(data[time], errors="coerce").dropna().unique())
    never = (ucoh == 0) | (ucoh > periods[-1])
    rows = []
    for c in comps:
        if c == "never":
            f = fit_simple(data, base)
            n_comp = f.n_units - f.n_treated
            row = f.row()
        elif c == "not_yet":
            f = fit_simple(data, {**base, "control": "not_yet"})
            sizes = f.result.extra["group_sizes"]
            n_comp = f.n_units - sizes[min(sizes)]  # never treated or treated after the first cohort
            row = f.row()
        elif c == "priority_area":
            flag = unit_values(data, unit=unit, column=priority, what="priority-area column")
            flag = flag.astype("boolean").fillna(False).astype(bool)
            comp_units = ucoh.index[(never & flag.reindex(ucoh.index, fill_value=False)).to_numpy()]
            if len(comp_units) == 0:
                raise InputError(f"no never-treated unit has '{priority}' true", column=priority)
            keep = data[unit].isin(comp_units) | data[unit].isin(ucoh.index[(~never).to_numpy()])
            f = fit_simple(data.loc[keep], base)
            n_comp = f.n_units - f.n_treated
            row = f.row()
        else:  # matched
            from evaluate.matching import matched_did

            md = matched_did(data, outcome=outcome, unit=unit, time=time, cohort=cohort,
                             match_options=dict(match_options or {}), covariates=covariates, estimator=estimator,
                             cluster=cluster, compare_unmatched=False)
            agg = md.aggregate("simple")
            r = agg.table.loc[agg.table["term"] == "overall"].iloc[0]
            counts = md.matching.counts()
            n_tr = int(counts["treated_matched"].sum())
            st = md.matching.stacked()
            n_comp = int(st.loc[~st["treated"].astype(bool), unit].nunique())
            row = {"estimate": float(r["estimate"]), "se": float(r["se"]), "ci_low": float(r["ci_low"]),
                   "ci_high": float(r["ci_high"]), "p_value": float(r["p_value"]), "n": float(n_tr)}
        rows.append({"term": c, **row, "description": COMPARISONS[c], "n_comparison": n_comp})
    tab = pd.DataFrame(rows)
    st_ = {**base, "covariates": list(base["covariates"]), "comparisons": comps, "priority": priority,
           "match_options": dict(match_options or {})}
    st_.pop("control")
    return ComparisonsResult("alternative_comparisons", tab, st_, n_units=int(ucoh.size), n_obs=int(len(data)))
