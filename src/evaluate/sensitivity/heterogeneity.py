"""Effects by subgroup (phase, free-school-meals third, region, cohort) and a test that they are equal.

:func:`heterogeneity` estimates the Callaway-Sant'Anna simple ATT within each subgroup
and tests, with a Wald chi-squared statistic on the differences, whether the subgroup
effects are all the same.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

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
    joint_covariance,
    unit_cohorts,
)

__all__ = ["HeterogeneityResult", "heterogeneity", "wald_equality"]


def wald_equality(estimates: Sequence[float], vcov: np.ndarray) -> dict[str, float]:
    """Wald test that every estimate is equal: chi-squared on the differences from the first.

    Parameters
    ----------
    estimates
        ``k`` estimates.
    vcov
        Their ``k x k`` covariance (diagonal when they are independent).

    Returns
    -------
    dict
        ``statistic``, ``df`` (``k - 1``) and ``p_value``; NaN when ``k < 2`` or the
        covariance of the differences is singular.

    Examples
    --------
    >>> import numpy as np
    >>> from evaluate.sensitivity import wald_equality
    >>> out = wald_equality([1.0, 1.5], np.diag([0.04, 0.04]))
    >>> round(out["statistic"], 3), out["df"], round(out["p_value"], 3)
    (3.125, 1.0, 0.077)
    """
    b = np.asarray(estimates, dtype=float)
    v = np.asarray(vcov, dtype=float)
    k = len(b)
    if k < 2 or not np.all(np.isfinite(b)) or not np.all(np.isfinite(v)):
        return {"statistic": math.nan, "df": float(max(k - 1, 0)), "p_value": math.nan}
    d = np.hstack([-np.ones((k - 1, 1)), np.eye(k - 1)])  # b_j - b_1, j = 2..k
    diff = d @ b
    vd = d @ v @ d.T
    try:
        stat = float(diff @ np.linalg.solve(vd, diff))
    except np.linalg.LinAlgError:
        return {"statistic": math.nan, "df": float(k - 1), "p_value": math.nan}
    return {"statistic": stat, "df": float(k - 1), "p_value": float(stats.chi2.sf(stat, k - 1))}


@dataclass(frozen=True)
class HeterogeneityResult(SensitivityResult):
    """The simple ATT by subgroup (term = the subgroup) and the Wald test of equality.

    Extra table columns: ``n_comparison`` (comparison units in the subgroup's fit).
    ``extra`` holds ``test`` (``statistic``, ``df``, ``p_value``), ``vcov`` (covariance of
    the subgroup estimates, rows in table order, nested lists), ``independent`` (whether
    the covariance is diagonal: disjoint subgroups), ``full_estimate`` and ``bins`` (the
    cut points when a numeric column was cut into quantile groups).
    """

    @property
    def test(self) -> dict[str, float]:
        """The Wald test of equal subgroup effects."""
        return dict(self.extra["test"])

    def headline(self) -> list[str]:
        t = self.extra["test"]
        return [f"Effect by {self.settings['by']} (comparison units: {self.settings['comparison']}):",
                f"  Wald test of equal effects: chi2({t['df']:.0f}) = {t['statistic']:.3f}, p = {t['p_value']:.4f}"
                + ("" if self.extra["independent"] else " (covariance across subgroups from the influence functions)")]

    def plot(self, *, title: str | None = None, xlabel: str = "Effect"):
        """Dot chart of the subgroup effects with intervals and the whole-sample effect."""
        t = self.table
        p = self.extra["test"]["p_value"]
        ptxt = "" if p is None or not math.isfinite(p) else f" (equality p = {p:.3f})"
        return dot_chart(t["term"].tolist(), t["estimate"].to_numpy(), t["ci_low"].to_numpy(),
                         t["ci_high"].to_numpy(), reference=self.extra["full_estimate"],
                         reference_label="All units", title=title or f"Effect by {self.settings['by']}{ptxt}",
                         xlabel=xlabel)


@accepts_design
def heterogeneity(data: pd.DataFrame, *, by: str, bins: int | None = None, comparison: str = "auto",
                  outcome: str = DEFAULT_COLUMNS["outcome"], unit: str = DEFAULT_COLUMNS["unit"],
                  time: str = DEFAULT_COLUMNS["time"], cohort: str = DEFAULT_COLUMNS["cohort"],
                  covariates: Sequence[str] = (), control: str = "never", estimator: str = "dr",
                  weights: str | None = None, cluster: str | None = None, anticipation: int = 0,
                  base_period: str = "varying", level: float = 0.95) -> HeterogeneityResult:
    """The simple ATT within each subgroup and a Wald test that the subgroup effects are equal.

    A unit's subgroup is its value of ``by`` in its first observed period (``by`` must not
    change within a unit, except when ``bins`` cuts a numeric column, which is read in the
    first period). Examples: ``by="phase"``, ``by="region"``, ``by="fsm_pct", bins=3``
    (free-school-meals thirds), ``by="hub_cohort"`` (the cohort column: effect by cohort).

    Parameters
    ----------
    data
        Long panel, one row per unit and period.
    by
        The subgrouping column.
    bins
        Cut a numeric ``by`` into this many equal-sized quantile groups of units (3 =
        thirds), labelled ``"Q1 (a to b)"``, ...
    comparison
        Which comparison units each subgroup's estimate uses:

        - ``"same"``: the treated units of the subgroup against the comparison units of
          the same subgroup (primary schools against primary schools). Subgroups are
          then disjoint: their estimates are independent (unless ``cluster`` puts units of
          two subgroups in one cluster, which the covariance accounts for).
        - ``"all"``: the subgroup's treated units against all comparison units. Subgroups
          share the comparison units, so their estimates are correlated; the covariance
          comes from the influence functions.
        - ``"auto"`` (the default): ``"all"`` when ``by`` is the cohort column (the
          comparison units have no cohort of their own), otherwise ``"same"``.
    outcome, unit, time, cohort
        Columns; defaults are those of ``work/output/panel/panel_year.parquet`` (hub cohorts).
    covariates, control, estimator, weights, cluster, anticipation, base_period, level
        As :func:`evaluate.did.callaway_santanna` (analytic standard errors).

    Returns
    -------
    HeterogeneityResult

    Raises
    ------
    InputError
        A column is missing, ``by`` changes within a unit, fewer than two subgroups have
        treated units, or a subgroup has no comparison unit.

    Notes
    -----
    The test statistic is ``W = (D b)' (D V D')^{-1} (D b)`` with ``b`` the subgroup
    estimates, ``D`` the differences from the first subgroup and ``V`` their covariance,
    chi-squared with ``k - 1`` degrees of freedom under equal effects. ``V`` comes from
    the simple ATTs' influence functions (summed within clusters), scaled to the reported
    standard errors; for disjoint subgroups with unit-level standard errors it is exactly
    diagonal (``extra["independent"]``). Subgroups without treated units are left out
    (listed in ``extra["no_treated"]``).

    Examples
    --------
    Effects by a unit-level subgroup (here four arbitrary regions), with the Wald test of
    equal effects:

    >>> from evaluate.did import example_panel
    >>> from evaluate.sensitivity import heterogeneity
    >>> panel = example_panel()
    >>> panel["region"] = panel["id"] % 4
    >>> res = heterogeneity(panel, by="region", outcome="y", unit="id", time="period",
    ...                     cohort="cohort")
    >>> res.table[["term", "estimate"]].round(2)
      term  estimate
    0    0      1.48
    1    1      1.87
    2    2      1.71
    3    3      1.54
    >>> res.test["df"], res.test["p_value"] > 0.05
    (3.0, True)
    """
    settings = cs_settings(outcome=outcome, unit=unit, time=time, cohort=cohort, covariates=covariates,
                           control=control, estimator=estimator, weights=weights, cluster=cluster,
                           anticipation=anticipation, base_period=base_period, level=level)
    check_settings(data, settings)
    check_columns(data, {"by": by})
    if comparison not in ("auto", "same", "all"):
        raise InputError(f"comparison must be 'auto', 'same' or 'all', not {comparison!r}")
    is_cohort = by == cohort
    if comparison == "auto":
        comparison = "all" if is_cohort else "same"
    if is_cohort and comparison == "same":
        raise InputError("comparison='same' is impossible by cohort (comparison units have cohort 0); use 'all'",
                         column=by)
    ucoh = unit_cohorts(data, unit=unit, cohort=cohort, time=time)
    first_rows = data.sort_values([unit, time], kind="mergesort").groupby(unit, sort=True).head(1).set_index(unit)
    cut_points: list[float] | None = None
    if bins is not None:
        if not isinstance(bins, (int, np.integer)) or bins < 2:
            raise InputError(f"bins must be a whole number of at least 2, not {bins!r}")
        vals = pd.to_numeric(first_rows[by], errors="coerce")
        if vals.notna().sum() == 0:
            raise InputError(f"'{by}' has no numeric values to cut into {bins} groups", column=by)
        codes, edges = pd.qcut(vals, bins, labels=False, retbins=True, duplicates="drop")
        cut_points = [float(e) for e in edges]
        labels = [f"Q{i + 1} ({edges[i]:.3g} to {edges[i + 1]:.3g})" for i in range(len(edges) - 1)]
        sub = codes.map(lambda c: labels[int(c)] if pd.notna(c) else np.nan)
    else:
        nun = data.groupby(unit, sort=False)[by].nunique(dropna=True)
        if (nun > 1).any():
            u = nun.index[np.flatnonzero((nun > 1).to_numpy())[0]]
            raise InputError(f"'{by}' changes within unit '{u}'; subgroups must be constant within a unit "
                             "(use bins= to cut a numeric column read in the first period)", column=by)
        sub = first_rows[by]
    sub = sub.reindex(ucoh.index)
    treated = (ucoh > 0).to_numpy()
    values = pd.unique(sub[treated].dropna())
    try:
        values = np.sort(values)
    except TypeError:
        pass
    all_values = pd.unique(sub.dropna())
    no_treated = [v for v in all_values if v not in set(values.tolist())]
    if len(values) < 2:
        raise InputError(f"fewer than two subgroups of '{by}' have treated units ({len(values)}); nothing to compare",
                         column=by)
    unit_sub = data[unit].map(sub)
    unit_treated = data[unit].map(ucoh > 0)
    fits, rows = [], []
    for v in values:
        in_v = (unit_sub == v).to_numpy()
        keep = in_v if comparison == "same" else (in_v | ~unit_treated.to_numpy())
        d = data.loc[keep]
        try:
            f = fit_simple(d, settings, keep_influence=True)
        except InputError as e:
            raise InputError(f"subgroup {by} = {v}: {e.message}", column=e.column or by) from None
        fits.append(f)
        rows.append({"term": str(v), **f.row(), "n_comparison": int(f.n_units - f.n_treated)})
    tab = pd.DataFrame(rows)
    vcov = joint_covariance(fits)
    if vcov is None:  # units could not be matched to the influence functions: independence
        vcov = np.diag([f.se**2 for f in fits])
    off = vcov - np.diag(np.diag(vcov))
    independent = bool(np.all(np.abs(off) <= 1e-14 * np.max(np.abs(np.diag(vcov)))))
    test = wald_equality([f.estimate for f in fits], vcov)
    full = fit_simple(data, settings)
    extra = {"test": test, "vcov": vcov.tolist(), "independent": independent, "full_estimate": full.estimate,
             "full_se": full.se, "bins": cut_points, "no_treated": [str(v) for v in no_treated]}
    st = {**settings, "covariates": list(settings["covariates"]), "by": by, "bins": bins, "comparison": comparison}
    return HeterogeneityResult("heterogeneity", tab, st, n_units=int(ucoh.size), n_obs=int(len(data)), extra=extra)
