"""Sun and Abraham (2021): the interaction-weighted event-study estimator.

1. A saturated regression of the outcome on cohort x relative-time indicators (every
   treated cohort g and relative period e = t - g except the reference e = -1), with unit
   and period fixed effects (and covariates), estimated on the treated cohorts plus a
   clean comparison group: the never treated (``control="never"``) or the last-treated
   cohort (``control="last_cohort"``; then the never treated are left out and so are the
   periods from the last cohort's adoption on, so that the comparison is never treated
   within the sample).
2. The cohort-specific coefficients ``CATT(g, e)`` are averaged to event-time effects with
   weights equal to each cohort's share of the (weighted) observations at that relative
   time among the treated cohorts; ``ATT`` averages all post-adoption cells by their shares
   of the treated observations.
3. Standard errors by the delta method from the cluster-robust variance of the
   coefficients, with the weights treated as fixed (as fixest's ``sunab`` and pyfixest's
   saturated event study do).

The fixed effects are absorbed by :func:`evaluate.did.within.demean` and the variance is
:func:`evaluate.did.vcov.vcov_info` (pyfixest's small-sample conventions), so the cohort x
relative-time coefficients are those of pyfixest's
``feols("y ~ i(rel_time, cohort, ref=-1, ref2=0) | unit + time")``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from evaluate.did._validate import prepare
from evaluate.did.results import DiDResult, tidy_table
from evaluate.did.vcov import vcov_info
from evaluate.did.wild_bootstrap import FEDesign
from evaluate.did.within import absorbed_parameters, demean, numeric_rank
from evaluate.errors import InputError

__all__ = ["sun_abraham", "SunAbrahamResult", "wald_test"]


@dataclass(frozen=True)
class _FEFit:
    beta: np.ndarray
    vcov: np.ndarray
    df_t: int
    n_clusters: int
    X_dm: np.ndarray
    y_dm: np.ndarray
    cluster: np.ndarray
    resid: np.ndarray


def _fe_regression(y: np.ndarray, X: np.ndarray, fe: list[np.ndarray], w: np.ndarray | None,
                   cluster: np.ndarray, kind: str, names: Sequence[str]) -> _FEFit:
    """Least squares of y on X with fixed effects absorbed; cluster-robust variance."""
    M = demean(np.column_stack([y, X]), fe, weights=w)
    y_dm, X_dm = M[:, 0], M[:, 1:]
    sw = np.ones_like(y_dm) if w is None else np.sqrt(w)
    Xs, ys = X_dm * sw[:, None], y_dm * sw
    rank = numeric_rank(Xs)
    if rank < Xs.shape[1]:
        raise InputError(f"the regressors are collinear with the fixed effects ({Xs.shape[1]} terms, "
                         f"rank {rank}); terms: {', '.join(names)}")
    beta = np.linalg.lstsq(Xs, ys, rcond=None)[0]
    resid = y_dm - X_dm @ beta
    info = vcov_info(X_dm, resid, cluster=cluster, weights=w, kind=kind,
                     n_absorbed=absorbed_parameters(fe), fe=fe)
    codes = pd.factorize(cluster)[0]
    return _FEFit(beta, info.vcov, int(info.df_t), int(info.n_clusters), Xs, ys, codes, resid)


def wald_test(estimate: np.ndarray, vcov: np.ndarray) -> dict[str, float]:
    """Chi-squared Wald test that all ``estimate`` are zero: ``dict(statistic, df, p_value)``."""
    est = np.asarray(estimate, dtype=float)
    if est.size == 0:
        return {"statistic": float("nan"), "df": 0, "p_value": float("nan")}
    stat = float(est @ np.linalg.pinv(np.asarray(vcov, dtype=float)) @ est)
    return {"statistic": stat, "df": int(est.size), "p_value": float(stats.chi2.sf(stat, est.size))}


class SunAbrahamResult(DiDResult):
    """Event-time effects of :func:`sun_abraham` (rows ``"e=k"`` and ``"ATT"``).

    ``extra`` holds ``cohort_effects`` (the CATT(g, e) coefficients with SEs), ``weights``
    (the aggregation shares), ``vcov`` (of the event-time rows), ``pretest`` and
    ``design`` (the demeaned regression, for :func:`evaluate.did.wild_cluster_bootstrap`).

    Examples
    --------
    >>> from evaluate.did import example_panel, sun_abraham
    >>> res = sun_abraham(example_panel(), outcome="y", unit="id", time="period",
    ...                   cohort="cohort")
    >>> res.method
    'sun_abraham'
    >>> sorted(res.pretest())
    ['df', 'p_value', 'statistic']
    """

    def pretest(self) -> dict[str, float]:
        """Wald test that all aggregated leads (e <= -2) are zero: ``dict(statistic, df, p_value)``."""
        return dict(self.extra["pretest"])


def sun_abraham(data: pd.DataFrame, *, outcome: str, unit: str, time: str, cohort: str,
                control: str = "never", covariates: Sequence[str] = (), weights: str | None = None,
                cluster: str | None = None, vcov: str = "CR1", level: float = 0.95) -> SunAbrahamResult:
    """Interaction-weighted event-study estimator of Sun and Abraham (2021).

    Parameters
    ----------
    data
        Unit x period panel.
    outcome, unit, time, cohort
        Column names; cohort is the first treated period, 0 for never treated.
    control
        ``"never"`` (never-treated comparison) or ``"last_cohort"`` (the last-treated
        cohort, with periods from its adoption on dropped, and the never treated dropped).
    covariates
        Time-varying covariates added linearly to the regression.
    weights
        Column of positive observation weights (weighted least squares and weighted shares).
    cluster
        Cluster column; default the unit.
    vcov
        ``"CR1"``, ``"CR3"`` or ``"HC1"`` (see :mod:`evaluate.did.vcov`).
    level
        Confidence level of the intervals (Student t with the variance's degrees of freedom).

    Returns
    -------
    SunAbrahamResult
        Tidy rows ``"e=k"`` for every relative period k != -1 (extra column
        ``event_time``) and ``"ATT"``; ``.pretest()`` tests the leads.

    Notes
    -----
    Units treated in or before the first period of the data have no pre-period and are
    dropped (counted in ``extra["dropped_always_treated"]``).

    Examples
    --------
    >>> from evaluate.did import example_panel, sun_abraham
    >>> res = sun_abraham(example_panel(), outcome="y", unit="id", time="period",
    ...                   cohort="cohort", cluster="id")
    >>> est = res.table.set_index("term")["estimate"]
    >>> round(float(est["e=0"]), 1), round(float(est["e=2"]), 1)
    (1.1, 2.2)
    """
    if control not in ("never", "last_cohort"):
        raise InputError(f"control must be 'never' or 'last_cohort', not {control!r}")
    if vcov not in ("CR1", "CR3", "HC1"):
        raise InputError(f"vcov must be 'CR1', 'CR3' or 'HC1', not {vcov!r}")
    p = prepare(data, outcome=outcome, unit=unit, time=time, cohort=cohort, covariates=covariates,
                weights=weights, cluster=cluster)
    df = p.data
    first = int(df[time].min())
    always = (df[cohort] > 0) & (df[cohort] <= first)
    dropped_always = int(df.loc[always, unit].nunique())
    df = df.loc[~always]
    if control == "never":
        if not (df[cohort] == 0).any():
            raise InputError("no never-treated units for control='never' (try control='last_cohort')",
                             column=cohort)
        control_cohort = 0
    else:
        treated_cohorts = sorted(c for c in df[cohort].unique() if c > 0)
        if len(treated_cohorts) < 2:
            raise InputError("control='last_cohort' needs at least two treated cohorts", column=cohort)
        control_cohort = int(treated_cohorts[-1])
        df = df.loc[(df[cohort] > 0) & (df[time] < control_cohort)]
    df = df.reset_index(drop=True)
    g = df[cohort].to_numpy()
    t = df[time].to_numpy()
    is_treated_cohort = (g > 0) & (g != control_cohort)
    if not is_treated_cohort.any():
        raise InputError("no treated cohort to estimate", column=cohort)
    rel = np.where(is_treated_cohort, t - g, 0)
    cell_rows = is_treated_cohort & (rel != -1)
    cells = sorted(set(zip(g[cell_rows].tolist(), rel[cell_rows].tolist(), strict=True)))
    cell_index = {c: j for j, c in enumerate(cells)}
    D = np.zeros((len(df), len(cells)))
    rows = np.flatnonzero(cell_rows)
    D[rows, [cell_index[(gi, ei)] for gi, ei in zip(g[rows].tolist(), rel[rows].tolist(), strict=True)]] = 1.0
    names = [f"g={gi},e={ei}" for gi, ei in cells] + list(p.covariates)
    X = np.column_stack([D, df[list(p.covariates)].to_numpy(float)]) if p.covariates else D
    w = df[weights].to_numpy(float) if weights else None
    fe = [pd.factorize(df[unit])[0], pd.factorize(df[time])[0]]
    cl = df[cluster].to_numpy() if cluster else df[unit].to_numpy()
    fit = _fe_regression(df[outcome].to_numpy(float), X, fe, w, cl, vcov, names)
    K = X.shape[1]

    # aggregation shares: (weighted) observations of cohort g at relative time e
    obs_w = np.ones(len(df)) if w is None else w
    cell_mass = np.array([obs_w[rows][D[rows, j] == 1].sum() for j in range(len(cells))])
    cells_df = pd.DataFrame(cells, columns=["cohort", "event_time"])
    cells_df["mass"] = cell_mass
    cells_df["weight"] = cells_df["mass"] / cells_df.groupby("event_time")["mass"].transform("sum")
    event_times = sorted(cells_df["event_time"].unique().tolist())
    R = np.zeros((len(event_times) + 1, K))
    for i, e in enumerate(event_times):
        sel = (cells_df["event_time"] == e).to_numpy()
        R[i, np.flatnonzero(sel)] = cells_df.loc[sel, "weight"].to_numpy()
    post = (cells_df["event_time"] >= 0).to_numpy()
    if post.any():
        R[-1, np.flatnonzero(post)] = cell_mass[post] / cell_mass[post].sum()
    terms = [f"e={e}" for e in event_times] + ["ATT"]
    if not post.any():
        R, terms = R[:-1], terms[:-1]
    est = R @ fit.beta
    V = R @ fit.vcov @ R.T
    se = np.sqrt(np.clip(np.diag(V), 0, None))
    n_cell = [int(D[:, (cells_df["event_time"] == e).to_numpy()].sum()) for e in event_times]
    if post.any():
        n_cell.append(int(np.sum(D[:, post])))
    table = tidy_table(terms, est, se, n=n_cell, level=level, df=fit.df_t)
    table["event_time"] = [float(e) for e in event_times] + ([np.nan] if post.any() else [])

    coef_se = np.sqrt(np.clip(np.diag(fit.vcov), 0, None))
    cohort_effects = cells_df[["cohort", "event_time"]].copy()
    cohort_effects["estimate"] = fit.beta[:len(cells)]
    cohort_effects["se"] = coef_se[:len(cells)]
    leads = [i for i, e in enumerate(event_times) if e <= -2]
    pretest = wald_test(est[leads], V[np.ix_(leads, leads)])
    design = FEDesign(fit.X_dm, fit.y_dm, fit.cluster, tuple(names),
                      {term: R[i] for i, term in enumerate(terms)})
    settings: dict[str, Any] = {
        "outcome": outcome, "unit": unit, "time": time, "cohort": cohort, "control": control,
        "control_cohort": control_cohort, "covariates": list(p.covariates), "weights": weights,
        "cluster": cluster or unit, "vcov": vcov, "level": level, "reference_event_time": -1,
        "aggregation": "cohort shares of (weighted) observations at each relative time; fixed",
        "inference": f"t with {fit.df_t} df",
    }
    extra = {
        "cohort_effects": cohort_effects, "weights": cells_df, "vcov": V.tolist(),
        "coef_vcov": fit.vcov, "pretest": pretest, "design": design, "n_clusters": fit.n_clusters,
        "dropped_always_treated": dropped_always, "dropped_missing": p.dropped_missing,
    }
    return SunAbrahamResult("sun_abraham", table, settings, n_units=int(df[unit].nunique()),
                            n_obs=len(df), extra=extra)
