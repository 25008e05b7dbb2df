"""Dynamic TWFE event study: leads and lags of adoption, reference period omitted.

``y_it = a_i + l_t + sum_{e != ref} b_e 1[t - G_i = e] + x_it'g + e_it`` with unit and period
effects absorbed (:func:`evaluate.did.twfe.fit_within`) and the variance of
:mod:`evaluate.did.vcov` (CR1 by unit by default). Event time is ``e = time - cohort`` for
treated units; never-treated units (cohort 0, or a cohort after the last period) have no
event-time dummies.

The window runs from ``-leads`` to ``lags``; the default is every event time in the data.

Gaps in the periods (DfE published no 2019/20 absence data and no full-year 2020/21 row)
are kept as calendar distances: event time is measured in the units of ``time``, so with
years 2018 and 2021 adjacent in the data, a 2022 cohort's 2018 row is ``e = -4``. Passing
consecutive period indices instead changes which rows share a lead dummy and, when
effects differ by cohort, the post-adoption coefficients too (the Monte Carlo study in
``analysis/MONTE_CARLO.md`` shows the size). The heterogeneity-robust estimators
(Callaway-Sant'Anna, Sun-Abraham, imputation) give the same post-adoption estimates
either way.

Comparison group
    ``control="never"``: every observation of a treated unit outside the reference period
    gets a dummy, so period effects are identified from never-treated units only (they are
    required). End points: with ``bin_endpoints=True`` every ``e <= -leads`` goes in one
    bin and every ``e >= lags`` in another; with ``bin_endpoints=False`` observations
    outside the window are dropped (never pooled with the reference period).

    ``control="not_yet"``: treated units' observations more than ``leads`` periods before
    adoption get no dummy and serve as (not-yet-treated) comparisons together with the
    never treated. Post-adoption observations beyond ``lags`` are binned into ``e >= lags``
    (``bin_endpoints=True``) or dropped (``False``); they are never used as comparisons.
    When there are no never-treated units, periods in which every unit is already treated
    are dropped (nothing is not yet treated there). With all leads in the window
    (the default) the two choices fit the same regression.

``.pretest()`` is the joint Wald test that all leads (event times before adoption other
than the reference) are zero, as chi-squared or F.

With heterogeneous effects across cohorts these coefficients mix effects of other event
times (Sun and Abraham 2021); see :func:`evaluate.did.sun_abraham` for the robust version.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from evaluate.did.results import RegressionResult, finish_plot, tidy_table
from evaluate.did.twfe import _check_vcov, _codes, fit_within, prepare_panel
from evaluate.errors import InputError

__all__ = ["event_study", "EventStudyResult"]


@dataclass(frozen=True)
class EventStudyResult(RegressionResult):
    """Result of :func:`event_study`.

    The tidy table has one row per event-time coefficient (term ``e=-3``, ``e=0``, ...;
    a pooled end point reads ``e<=-4`` or ``e>=3``) with column ``event_time``, then one row
    per covariate (``event_time`` missing). ``extra`` holds ``terms``, ``vcov``,
    ``n_clusters``, ``df``, ``pretest`` (chi-squared and F) and the statsmodels results.

    Examples
    --------
    >>> from evaluate.did import event_study, example_panel
    >>> res = event_study(example_panel(), outcome="y", unit="id", time="period",
    ...                   cohort="cohort")
    >>> res.table["term"].tolist()
    ['e=-4', 'e=-3', 'e=-2', 'e=0', 'e=1', 'e=2', 'e=3']
    >>> res.pretest()["p_value"] > 0.05
    True
    """

    def pretest(self, test: str = "chi2") -> dict[str, Any]:
        """Joint Wald test that every lead (pre-adoption coefficient) is zero.

        Parameters
        ----------
        test
            ``"chi2"``: ``W = b' V^{-1} b`` against chi-squared with ``q`` (number of leads)
            degrees of freedom. ``"F"``: ``W / q`` against F with ``(q, df)`` where ``df``
            is the t degrees of freedom of the fit (``G - 1`` when clustered).

        Returns
        -------
        dict
            ``statistic``, ``df`` (``q``), ``p_value`` and ``test``; for F also
            ``df_denominator``. Empty values (``nan``) when there are no leads.
        """
        pre = self.extra["pretest"]
        if test == "chi2":
            return {"test": "chi2", "statistic": pre["chi2"], "df": pre["q"], "p_value": pre["chi2_p_value"]}
        if test == "F":
            return {"test": "F", "statistic": pre["F"], "df": pre["q"], "df_denominator": pre["df_denominator"],
                    "p_value": pre["F_p_value"]}
        raise ValueError(f"test must be 'chi2' or 'F', not {test!r}")

    def plot(self, *, title: str | None = None, xlabel: str = "Periods since adoption",
             ylabel: str = "Estimate"):
        """Coefficients with confidence intervals against event time (a matplotlib Figure).

        The omitted reference period is drawn at zero as an open marker; a dotted line marks
        adoption (between event times -1 and 0).
        """
        import matplotlib.pyplot as plt

        from evaluate.style import apply_style, palette

        apply_style()
        t = self.table[self.table["event_time"].notna()]
        ref = self.settings["reference"]
        colour, ref_colour = palette(2)
        fig, ax = plt.subplots(figsize=(7, 3.6))
        ax.axhline(0, color="#3D3D3D", linewidth=0.8)
        ax.axvline(-0.5, color="#3D3D3D", linewidth=0.8, linestyle=":")  # adoption
        ax.errorbar(t["event_time"], t["estimate"],
                    yerr=[t["estimate"] - t["ci_low"], t["ci_high"] - t["estimate"]],
                    fmt="o", color=colour, capsize=3, label=f"{self.settings['level']:.0%} CI")
        ax.plot([ref], [0.0], marker="o", markerfacecolor="white", color=ref_colour, linestyle="none",
                label=f"reference (e={ref})")
        ticks = sorted({*t["event_time"].astype(int).tolist(), ref})
        ax.set_xticks(ticks)
        return finish_plot(fig, ax, title=title or "Event study", xlabel=xlabel, ylabel=ylabel, legend=True)


def _whole(value: int | None, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise InputError(f"{name} must be a whole number of periods (0 or more), not {value!r}")
    return int(value)


def event_study(data: pd.DataFrame, *, outcome: str, unit: str, time: str, cohort: str,
                leads: int | None = None, lags: int | None = None, reference: int = -1,
                bin_endpoints: bool = True, control: str = "never", covariates: Sequence[str] = (),
                weights: str | None = None, cluster: str | None = None, vcov: str = "CR1",
                level: float = 0.95) -> EventStudyResult:
    """Dynamic two-way fixed effects regression on event-time dummies.

    Parameters
    ----------
    data
        Long panel, one row per unit and period.
    outcome, unit, time, cohort
        Column names; cohort is the first treated period (0 or empty = never treated).
    leads, lags
        The window ``-leads .. lags`` of event times with their own coefficient; default
        every event time in the data.
    reference
        The omitted event time (default ``-1``); must lie inside the window.
    bin_endpoints
        Pool all event times beyond the window into the end-point coefficients (``True``)
        or drop those observations (``False``). See the module docstring for ``not_yet``.
    control
        ``"never"`` or ``"not_yet"`` (see the module docstring).
    covariates, weights, cluster, vcov, level
        As in :func:`evaluate.did.twfe.twfe`.

    Returns
    -------
    EventStudyResult

    Examples
    --------
    Leads and lags relative to the period before adoption (``reference=-1``):

    >>> from evaluate.did import event_study, example_panel
    >>> res = event_study(example_panel(), outcome="y", unit="id", time="period",
    ...                   cohort="cohort", cluster="id")
    >>> lags = res.table.set_index("term")["estimate"]
    >>> round(float(lags["e=0"]), 1), round(float(lags["e=2"]), 1)
    (1.1, 2.2)
    """
    _check_vcov(vcov, level)
    if control not in ("never", "not_yet"):
        raise InputError(f"control must be 'never' or 'not_yet', not {control!r}")
    leads, lags = _whole(leads, "leads"), _whole(lags, "lags")
    if isinstance(reference, bool) or not isinstance(reference, (int, np.integer)):
        raise InputError(f"reference must be a whole event time, not {reference!r}")
    reference = int(reference)
    covariates = tuple(covariates or ())
    p = prepare_panel(data, outcome=outcome, unit=unit, time=time, cohort=cohort,
                      covariates=covariates, weights=weights, cluster=cluster)
    df = p.data
    t = df[time].to_numpy()
    g = df[cohort].to_numpy()
    treated = (g > 0) & (g <= t.max())
    n_never_units = int(df.loc[~treated, unit].nunique())
    if not treated.any():
        raise InputError("no unit is treated within the data", column=cohort)
    if control == "never" and n_never_units == 0:
        raise InputError("control='never' needs never-treated units (cohort 0) and there are none; "
                         "use control='not_yet' or add comparison units", column=cohort)
    e = np.where(treated, t - g, 0)
    e_min, e_max = int(e[treated].min()), int(e[treated].max())
    lo = -e_min if leads is None else leads
    hi = e_max if lags is None else lags
    if not -lo <= reference <= hi:
        raise InputError(f"reference period {reference} is outside the window {-lo}..{hi}")
    keep = np.ones(len(df), dtype=bool)
    dummy_e = e.astype(float)
    dummy_e[~treated] = np.nan
    late = treated & (e > hi)
    early = treated & (e < -lo)
    if bin_endpoints:
        dummy_e[late] = hi
    else:
        keep &= ~late
    if control == "never":
        if bin_endpoints:
            dummy_e[early] = -lo
        else:
            keep &= ~early
    else:
        dummy_e[early] = np.nan  # not yet treated: comparisons
        if n_never_units == 0:
            keep &= t < g[treated].max()
    dropped_window = int((~keep).sum())
    df = df.loc[keep].reset_index(drop=True)
    dummy_e = dummy_e[keep]
    event_times = [k for k in range(-lo, hi + 1) if k != reference and np.any(dummy_e == k)]
    if not event_times:
        raise InputError("no event time other than the reference period has observations")
    D = np.column_stack([(dummy_e == k).astype(float) for k in event_times])
    pooled_low = bool(bin_endpoints and control == "never" and np.any(early[keep]) and -lo != reference)
    pooled_high = bool(bin_endpoints and np.any(late[keep]) and hi != reference)

    def label(k: int) -> str:
        if k == -lo and pooled_low:
            return f"e<={k}"
        if k == hi and pooled_high:
            return f"e>={k}"
        return f"e={k}"

    terms = [label(k) for k in event_times] + list(covariates)
    X = np.column_stack([D, *(df[c].to_numpy(dtype=float) for c in covariates)])
    fe = [_codes(df[unit]), _codes(df[time])]
    w = df[weights].to_numpy(dtype=float) if weights else None
    cl_col = unit if cluster is None else cluster
    cl = None if vcov == "HC1" else _codes(df[cl_col])
    try:
        fit = fit_within(df[outcome].to_numpy(dtype=float), X, terms, fe, weights=w, cluster=cl, vcov=vcov)
    except InputError as exc:
        if n_never_units:
            raise
        raise InputError(f"{exc.message}; with no never-treated units a fully dynamic specification is "
                         "not identified: shorten the window (leads) so that some not-yet-treated "
                         "observations are comparisons") from exc
    se = np.sqrt(np.diag(fit.vcov))
    n_per = [int(D[:, j].sum()) for j in range(D.shape[1])] + [len(df)] * len(covariates)
    table = tidy_table(terms, fit.coef, se, n=n_per, level=level, df=fit.df_t)
    table["event_time"] = np.array(event_times + [np.nan] * len(covariates), dtype=float)
    # Wald test of the leads
    lead_idx = [j for j, k in enumerate(event_times) if k < 0]
    q = len(lead_idx)
    if q:
        b = fit.coef[lead_idx]
        V = fit.vcov[np.ix_(lead_idx, lead_idx)]
        chi2 = float(b @ np.linalg.solve(V, b))
        pre = {"q": q, "chi2": chi2, "chi2_p_value": float(stats.chi2.sf(chi2, q)),
               "F": chi2 / q, "df_denominator": fit.df_t,
               "F_p_value": float(stats.f.sf(chi2 / q, q, fit.df_t)), "leads": [terms[j] for j in lead_idx]}
    else:
        pre = {"q": 0, "chi2": float("nan"), "chi2_p_value": float("nan"), "F": float("nan"),
               "df_denominator": fit.df_t, "F_p_value": float("nan"), "leads": []}
    settings = {"outcome": outcome, "unit": unit, "time": time, "cohort": cohort, "leads": lo, "lags": hi,
                "reference": reference, "bin_endpoints": bin_endpoints, "control": control,
                "covariates": list(covariates), "weights": weights,
                "cluster": None if vcov == "HC1" else cl_col, "vcov": vcov, "level": level,
                "fixed_effects": [unit, time], "dropped_missing": p.dropped_missing,
                "dropped_outside_window": dropped_window}
    return EventStudyResult("event_study", table, settings, n_units=int(df[unit].nunique()), n_obs=len(df),
                            extra={"terms": terms, "vcov": fit.vcov.tolist(), "n_clusters": fit.n_clusters,
                                   "df": fit.df_t, "df_k": fit.df_k, "ssc": fit.ssc, "pretest": pre,
                                   "n_singletons": fit.n_singletons, "sm_results": fit.sm_results,
                                   "design": fit.design(_codes(df[cl_col]))})

