"""Goodman-Bacon (2021) decomposition of the TWFE estimate on a balanced panel.

The two-way fixed effects coefficient on ``D = 1[time >= cohort]`` is a weighted average
of every 2x2 difference in differences between timing groups (Goodman-Bacon 2021,
Theorem 1):

- ``treated_vs_never``: a cohort against the never treated, over all periods;
- ``earlier_vs_later``: an earlier cohort (treated) against a later one (control) before
  the later one adopts;
- ``later_vs_earlier``: a later cohort (treated) against an earlier one that is already
  treated (control) after the earlier one adopts -- the "forbidden" comparison that biases
  TWFE when effects change over time. Units treated from the first period ("always"
  treated) enter only as such controls.

Weights (eq. 10 of the paper) depend on group sizes and the variance of treatment within
each pair; they sum to one and ``sum(weight * estimate)`` is the TWFE estimate. Cohorts
after the last period count as never treated (their ``D`` is always 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluate.did.results import DiDResult, finish_plot
from evaluate.did.twfe import _codes, prepare_panel
from evaluate.did.within import demean
from evaluate.errors import InputError

__all__ = ["bacon_decomposition", "BaconResult"]

TYPES = ("earlier_vs_later", "later_vs_earlier", "treated_vs_never")


@dataclass(frozen=True)
class BaconResult(DiDResult):
    """Result of :func:`bacon_decomposition`.

    The tidy table has one row per comparison type (``term`` = the type; ``estimate`` the
    weighted average of its 2x2 estimates, ``weight`` their total weight) followed by one
    row per 2x2 comparison (``term`` = ``"<treated> vs <control>"``), with extra columns
    ``type``, ``treated``, ``control``, ``weight``; ``se`` and intervals are missing (the
    decomposition is descriptive). ``n`` is the number of units in the comparison.

    Examples
    --------
    >>> from evaluate.did import bacon_decomposition, example_panel
    >>> res = bacon_decomposition(example_panel(), outcome="y", unit="id", time="period",
    ...                           cohort="cohort")
    >>> res.by_type["term"].tolist()
    ['earlier_vs_later', 'later_vs_earlier', 'treated_vs_never']
    >>> round(float(res.by_type["weight"].sum()), 6)
    1.0
    >>> res.comparisons["term"].tolist()[:3]
    ['3 vs never', '4 vs never', '5 vs never']
    """

    @property
    def comparisons(self) -> pd.DataFrame:
        """One row per 2x2 comparison."""
        t = self.table
        return t[t["term"] != t["type"]].reset_index(drop=True)

    @property
    def by_type(self) -> pd.DataFrame:
        """One row per comparison type."""
        t = self.table
        return t[t["term"] == t["type"]].reset_index(drop=True)

    @property
    def twfe_estimate(self) -> float:
        """The TWFE coefficient the decomposition reproduces."""
        return float(self.extra["twfe"])

    def plot(self, *, title: str | None = None, xlabel: str = "Weight", ylabel: str = "2x2 estimate"):
        """Each 2x2 estimate against its weight, by comparison type; the TWFE estimate dashed."""
        import matplotlib.pyplot as plt

        from evaluate.style import apply_style, palette

        apply_style()
        c = self.comparisons
        fig, ax = plt.subplots(figsize=(7, 3.6))
        for kind, colour in zip(TYPES, palette(3), strict=True):
            part = c[c["type"] == kind]
            if len(part):
                ax.scatter(part["weight"], part["estimate"], color=colour, label=kind.replace("_", " "))
        ax.axhline(self.twfe_estimate, color="#3D3D3D", linewidth=0.8, linestyle="--",
                   label=f"TWFE = {self.twfe_estimate:.3g}")
        return finish_plot(fig, ax, title=title or "Goodman-Bacon decomposition", xlabel=xlabel, ylabel=ylabel, legend=True)


def bacon_decomposition(data: pd.DataFrame, *, outcome: str, unit: str, time: str,
                        cohort: str) -> BaconResult:
    """Decompose the TWFE estimate into 2x2 comparisons (Goodman-Bacon 2021).

    Parameters
    ----------
    data
        Balanced long panel (every unit observed in every period), one row per unit-period.
    outcome, unit, time, cohort
        Column names; cohort is the first treated period (0 or empty = never treated).

    Returns
    -------
    BaconResult

    Raises
    ------
    InputError
        Bad columns (see :func:`evaluate.did._validate.prepare`), an unbalanced panel, or
        no variation in treatment timing.

    Examples
    --------
    The TWFE estimate is the weighted mean of the 2x2 comparisons:

    >>> from evaluate.did import bacon_decomposition, example_panel, twfe
    >>> panel = example_panel()
    >>> res = bacon_decomposition(panel, outcome="y", unit="id", time="period",
    ...                           cohort="cohort")
    >>> weighted = (res.by_type["estimate"] * res.by_type["weight"]).sum()
    >>> plain = twfe(panel, outcome="y", unit="id", time="period", cohort="cohort")
    >>> bool(abs(weighted - plain.estimates["treated"]) < 1e-8)
    True
    """
    p = prepare_panel(data, outcome=outcome, unit=unit, time=time, cohort=cohort)
    df = p.data
    periods = np.sort(df[time].unique())
    n_units = int(df[unit].nunique())
    T = len(periods)
    if len(df) != n_units * T:
        raise InputError(f"the Bacon decomposition needs a balanced panel: {n_units} units x {T} periods "
                         f"would be {n_units * T} rows, there are {len(df)}"
                         + (f" ({p.dropped_missing} dropped for a missing outcome)" if p.dropped_missing else ""),
                         column=time)
    g = df[cohort].to_numpy().astype(np.int64)
    g = np.where((g > periods[-1]) | (g <= 0), 0, g)  # never treated within the data -> 0
    t = df[time].to_numpy()
    d = ((g > 0) & (t >= g)).astype(float)
    y = df[outcome].to_numpy(dtype=float)
    fe = [_codes(df[unit]), _codes(df[time])]
    d_dm = demean(d, fe)
    var_d = float(d_dm @ d_dm) / len(df)
    if var_d <= 1e-14:
        raise InputError("treatment does not vary once unit and period effects are removed", column=cohort)
    beta = float(d_dm @ demean(y, fe)) / float(d_dm @ d_dm)

    # group x period means (one row per group: cohort value, 0 = never)
    groups, gidx = np.unique(g, return_inverse=True)
    tidx = np.searchsorted(periods, t)
    cell = gidx * T + tidx
    means = (np.bincount(cell, weights=y, minlength=len(groups) * T)
             / np.bincount(cell, minlength=len(groups) * T)).reshape(len(groups), T)
    share = np.bincount(gidx) / len(df)  # unit shares (balanced panel)
    dbar = np.array([np.mean(periods >= c) if c > 0 else 0.0 for c in groups])

    def name(c: int) -> str:
        if c == 0:
            return "never"
        return "always" if c <= periods[0] else str(int(c))

    def diff(k: int, post: np.ndarray, pre: np.ndarray) -> float:
        return float(means[k, post].mean() - means[k, pre].mean())

    rows = []
    never = np.flatnonzero(groups == 0)
    timing = [k for k in range(len(groups)) if groups[k] > 0]
    for k in timing:
        if never.size and dbar[k] < 1:
            u = int(never[0])
            post, pre = periods >= groups[k], periods < groups[k]
            est = diff(k, post, pre) - diff(u, post, pre)
            n_ku = share[k] / (share[k] + share[u])
            w = (share[k] + share[u]) ** 2 * n_ku * (1 - n_ku) * dbar[k] * (1 - dbar[k]) / var_d
            rows.append(("treated_vs_never", name(groups[k]), "never", est, w, k, u))
    for k in timing:  # k earlier (larger dbar), l later
        for ll in timing:
            if not dbar[k] > dbar[ll]:
                continue
            n_kl = share[k] / (share[k] + share[ll])
            pre, mid, post = periods < groups[k], (periods >= groups[k]) & (periods < groups[ll]), periods >= groups[ll]
            if dbar[k] < 1:
                est = diff(k, mid, pre) - diff(ll, mid, pre)
                w = (((share[k] + share[ll]) * (1 - dbar[ll])) ** 2 * n_kl * (1 - n_kl)
                     * (dbar[k] - dbar[ll]) / (1 - dbar[ll]) * (1 - dbar[k]) / (1 - dbar[ll]) / var_d)
                rows.append(("earlier_vs_later", name(groups[k]), name(groups[ll]), est, w, k, ll))
            est = diff(ll, post, mid) - diff(k, post, mid)
            w = (((share[k] + share[ll]) * dbar[k]) ** 2 * n_kl * (1 - n_kl)
                 * (dbar[ll] / dbar[k]) * (dbar[k] - dbar[ll]) / dbar[k] / var_d)
            rows.append(("later_vs_earlier", name(groups[ll]), name(groups[k]), est, w, ll, k))
    if not rows:
        raise InputError("no 2x2 comparison: need at least two timing groups or never-treated units",
                         column=cohort)
    units_in = np.bincount(gidx) // T
    comp = pd.DataFrame(rows, columns=["type", "treated", "control", "estimate", "weight", "a", "b"])
    comp["n"] = units_in[comp["a"].to_numpy()] + units_in[comp["b"].to_numpy()]
    comp["term"] = comp["treated"] + " vs " + comp["control"]
    type_rows = []
    for kind in TYPES:
        part = comp[comp["type"] == kind]
        if len(part):
            wsum = float(part["weight"].sum())
            type_rows.append({"term": kind, "type": kind, "treated": "", "control": "",
                              "estimate": float((part["weight"] * part["estimate"]).sum() / wsum),
                              "weight": wsum, "n": np.nan})
    table = pd.concat([pd.DataFrame(type_rows), comp.drop(columns=["a", "b"])], ignore_index=True)
    for col in ("se", "ci_low", "ci_high", "p_value"):
        table[col] = np.nan
    table["n"] = table["n"].astype(float)
    table = table[["term", "estimate", "se", "ci_low", "ci_high", "p_value", "n",
                   "type", "treated", "control", "weight"]]
    settings = {"outcome": outcome, "unit": unit, "time": time, "cohort": cohort,
                "dropped_missing": p.dropped_missing}
    return BaconResult("bacon_decomposition", table, settings, n_units=n_units, n_obs=len(df),
                       extra={"twfe": beta, "weight_sum": float(comp["weight"].sum()),
                              "weighted_sum": float((comp["weight"] * comp["estimate"]).sum()),
                              "var_d": var_d})
