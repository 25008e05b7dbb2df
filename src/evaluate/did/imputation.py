"""Borusyak, Jaravel and Spiess (2024): the imputation estimator.

1. Fit ``Y_it = a_i + l_t + X_it'd + e_it`` by (weighted) least squares on the untreated
   observations only (never treated, and not yet treated: ``D_it = 0``).
2. Impute ``Y_it(0)`` for every treated observation and take ``tau_it = Y_it - Yhat_it(0)``.
3. Average: ``ATT`` over all treated observations, ``e=h`` over those h periods after
   adoption (observation weights if given).

Standard errors are the conservative ones of BJS Theorem 3 (as in Stata ``did_imputation``
and R ``didimputation``, without leave-out): with the implicit weights ``v_it`` of the
estimator (``v = w`` on treated observations, ``v_0 = -W_0 Z_0 (Z_0'W_0Z_0)^{-1} Z_1'w_1`` on
untreated ones), ``Var = sum_clusters (sum_it v_it e~_it)^2`` where ``e~`` is the
untreated-model residual on ``D = 0`` and ``tau_it`` minus its cohort x event-time average
(weighted by ``v^2``) on ``D = 1``. Inference is normal.

The unit effects are eliminated exactly (block elimination: within-unit demeaning of the
period dummies and covariates), so the estimator needs no iteration.

The pre-trend test (BJS Test 1) regresses the outcome, on untreated observations only, on
unit and period effects (and covariates) plus indicators of the ``pretrends`` periods
before adoption, and Wald-tests that the lead coefficients are zero (cluster-robust CR1).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from evaluate.did._validate import prepare
from evaluate.did.results import DiDResult, tidy_table
from evaluate.did.sun_abraham import _fe_regression, wald_test
from evaluate.errors import InputError

__all__ = ["imputation", "ImputationResult"]


class ImputationResult(DiDResult):
    """Result of :func:`imputation`: rows ``"ATT"`` and ``"e=h"`` (extra column ``event_time``).

    ``extra`` holds ``tau`` (the treated observations with their imputed effects),
    ``pretest`` and ``dropped_not_imputable``.

    Examples
    --------
    >>> from evaluate.did import example_panel, imputation
    >>> res = imputation(example_panel(), outcome="y", unit="id", time="period",
    ...                  cohort="cohort", pretrends=2)
    >>> res.table["term"].tolist()
    ['e=-2', 'e=-1', 'ATT', 'e=0', 'e=1', 'e=2', 'e=3']
    >>> res.pretest()["p_value"] > 0.05
    True
    """

    def pretest(self) -> dict[str, float]:
        """BJS pre-trend test: Wald test that the ``pretrends`` lead coefficients are zero.

        Returns ``dict(statistic, df, p_value)`` (chi-squared); requires ``pretrends > 0``.
        """
        if not self.settings["pretrends"]:
            raise InputError("no pre-trend test: call imputation(..., pretrends=K) with K > 0")
        return dict(self.extra["pretest"])


def _unit_sums(codes: np.ndarray, n: int, M: np.ndarray) -> np.ndarray:
    """Sum rows of M (n_obs x m) by unit code: n x m."""
    out = np.zeros((n, M.shape[1]))
    np.add.at(out, codes, M)
    return out


def imputation(data: pd.DataFrame, *, outcome: str, unit: str, time: str, cohort: str,
               covariates: Sequence[str] = (), weights: str | None = None, cluster: str | None = None,
               horizons: Sequence[int] | None = None, pretrends: int = 0,
               level: float = 0.95) -> ImputationResult:
    """Imputation estimator of Borusyak, Jaravel and Spiess (2024).

    Parameters
    ----------
    data
        Unit x period panel.
    outcome, unit, time, cohort
        Column names; cohort is the first treated period, 0 for never treated.
    covariates
        Time-varying covariates in the model of untreated outcomes.
    weights
        Column of positive observation weights (in the fit and in the averages).
    cluster
        Cluster column for the standard errors; default the unit.
    horizons
        Event times (0 = period of adoption) to report; default all observed.
    pretrends
        Number of leads in the pre-trend test (0: no test); their coefficients are also
        reported as rows ``"e=-k"``.
    level
        Confidence level (normal intervals).

    Returns
    -------
    ImputationResult
        Rows ``"ATT"`` and ``"e=h"``; ``.pretest()`` gives the pre-trend test.

    Notes
    -----
    Treated observations whose unit has no untreated period, or whose period has no
    untreated unit, cannot be imputed; they are dropped and counted in
    ``extra["dropped_not_imputable"]``.

    Examples
    --------
    Borusyak, Jaravel and Spiess: the overall ATT and one estimate per event time.

    >>> from evaluate.did import example_panel, imputation
    >>> res = imputation(example_panel(), outcome="y", unit="id", time="period",
    ...                  cohort="cohort", cluster="id")
    >>> round(float(res.estimates["ATT"]), 2)
    1.65
    >>> res.table.loc[res.table["term"] == "e=0", "n"].item()
    158.0
    """
    p = prepare(data, outcome=outcome, unit=unit, time=time, cohort=cohort, covariates=covariates,
                weights=weights, cluster=cluster)
    if pretrends < 0:
        raise InputError("pretrends must be 0 or a positive number of leads")
    df = p.data
    g = df[cohort].to_numpy()
    t = df[time].to_numpy()
    treated = (g > 0) & (t >= g)
    if not treated.any():
        raise InputError("no treated observations", column=cohort)
    untreated_units = set(df.loc[~treated, unit].tolist())
    untreated_times = set(df.loc[~treated, time].tolist())
    imputable = df[unit].isin(untreated_units).to_numpy() & df[time].isin(untreated_times).to_numpy()
    n_dropped = int(np.sum(treated & ~imputable))
    df = df.loc[~treated | imputable].reset_index(drop=True)
    g, t = df[cohort].to_numpy(), df[time].to_numpy()
    treated = (g > 0) & (t >= g)
    if not treated.any():
        raise InputError("no treated observation can be imputed (no untreated period for the treated units)",
                         column=cohort)
    y = df[outcome].to_numpy(float)
    omega = df[weights].to_numpy(float) if weights else np.ones(len(df))
    i0, i1 = np.flatnonzero(~treated), np.flatnonzero(treated)

    # design of the untreated model: unit effects (eliminated) + period dummies + covariates
    u_codes, u_levels = pd.factorize(df[unit])
    nu = len(u_levels)
    times = np.sort(np.unique(t[i0]))
    T = (t[:, None] == times[None, 1:]).astype(float)
    RX = np.column_stack([T, df[list(p.covariates)].to_numpy(float)]) if p.covariates else T
    m = RX.shape[1]
    u0, w0 = u_codes[i0], omega[i0]
    s = np.bincount(u0, weights=w0, minlength=nu)                   # D = diag(s)
    B = _unit_sums(u0, nu, RX[i0] * w0[:, None])                    # U0'W0 RX0
    C = RX[i0].T @ (RX[i0] * w0[:, None])
    with np.errstate(divide="ignore", invalid="ignore"):
        Dinv = np.where(s > 0, 1.0 / s, 0.0)
    schur = C - B.T @ (B * Dinv[:, None])
    if m and np.linalg.matrix_rank(schur) < m:
        raise InputError("covariates are collinear with the unit and period effects among untreated observations")
    yU = np.bincount(u0, weights=w0 * y[i0], minlength=nu)
    b = np.linalg.solve(schur, RX[i0].T @ (w0 * y[i0]) - B.T @ (Dinv * yU)) if m else np.zeros(0)
    a = Dinv * (yU - B @ b)
    yhat = a[u_codes] + RX @ b
    resid0 = y[i0] - yhat[i0]
    tau = y[i1] - yhat[i1]

    # estimands: columns of weights over treated observations
    rel = (t - g)[i1]
    event_times = sorted(set(rel.tolist()))
    if horizons is not None:
        missing = [h for h in horizons if h not in event_times]
        if missing:
            raise InputError(f"no treated observations at horizons {missing}")
        event_times = sorted(int(h) for h in horizons)
    terms = ["ATT"] + [f"e={h}" for h in event_times]
    W1 = np.zeros((len(i1), len(terms)))
    W1[:, 0] = omega[i1]
    for j, h in enumerate(event_times, start=1):
        W1[:, j] = omega[i1] * (rel == h)
    n_term = (W1 > 0).sum(axis=0)
    W1 = W1 / W1.sum(axis=0, keepdims=True)
    est = W1.T @ tau

    # implicit weights of the untreated observations: v0 = -W0 Z0 (Z0'W0Z0)^-1 Z1'W1
    rU = _unit_sums(u_codes[i1], nu, W1)
    rR = RX[i1].T @ W1
    gb = np.linalg.solve(schur, rR - B.T @ (Dinv[:, None] * rU)) if m else np.zeros((0, len(terms)))
    ga = Dinv[:, None] * (rU - B @ gb)
    v0 = -w0[:, None] * (ga[u0] + RX[i0] @ gb)

    # conservative variance (BJS Theorem 3)
    cl = df[cluster].to_numpy() if cluster else df[unit].to_numpy()
    cl_codes, cl_levels = pd.factorize(cl)
    G = len(cl_levels)
    cell = pd.factorize(pd.MultiIndex.from_arrays([g[i1], rel]))[0]
    n_cell = cell.max() + 1
    se = np.empty(len(terms))
    for j in range(len(terms)):
        v1 = W1[:, j]
        num = np.bincount(cell, weights=v1 ** 2 * tau, minlength=n_cell)
        den = np.bincount(cell, weights=v1 ** 2, minlength=n_cell)
        tau_bar = np.divide(num, den, out=np.zeros(n_cell), where=den > 0)
        score = (np.bincount(cl_codes[i0], weights=v0[:, j] * resid0, minlength=G)
                 + np.bincount(cl_codes[i1], weights=v1 * (tau - tau_bar[cell]), minlength=G))
        se[j] = np.sqrt(np.sum(score ** 2))
    table = tidy_table(terms, est, se, n=n_term, level=level)
    table["event_time"] = [np.nan] + [float(h) for h in event_times]

    pretest: dict[str, Any] = {"statistic": float("nan"), "df": 0, "p_value": float("nan")}
    if pretrends:
        lead_times = list(range(-pretrends, 0))
        d0 = df.iloc[i0]
        rel0 = np.where(d0[cohort].to_numpy() > 0, d0[time].to_numpy() - d0[cohort].to_numpy(), 0)
        L = np.column_stack([(rel0 == k).astype(float) for k in lead_times])
        keep_cols = L.sum(axis=0) > 0
        L = L[:, keep_cols]
        lead_times = [k for k, keep in zip(lead_times, keep_cols, strict=True) if keep]
        if lead_times:
            X = np.column_stack([L, d0[list(p.covariates)].to_numpy(float)]) if p.covariates else L
            names = [f"e={k}" for k in lead_times] + list(p.covariates)
            fe = [pd.factorize(d0[unit])[0], pd.factorize(d0[time])[0]]
            fit = _fe_regression(d0[outcome].to_numpy(float), X, fe, w0 if weights else None,
                                 cl[i0], "CR1", names)
            nl = len(lead_times)
            pretest = wald_test(fit.beta[:nl], fit.vcov[:nl, :nl])
            lead_se = np.sqrt(np.diag(fit.vcov)[:nl])
            lead_tab = tidy_table(names[:nl], fit.beta[:nl], lead_se, level=level,
                                  n=[int(c) for c in L.sum(axis=0)])
            lead_tab["event_time"] = [float(k) for k in lead_times]
            table = pd.concat([lead_tab, table], ignore_index=True)

    tau_frame = pd.DataFrame({unit: df[unit].to_numpy()[i1], time: t[i1], cohort: g[i1],
                              "event_time": rel, "tau": tau})
    settings: dict[str, Any] = {
        "outcome": outcome, "unit": unit, "time": time, "cohort": cohort, "covariates": list(p.covariates),
        "weights": weights, "cluster": cluster or unit, "horizons": None if horizons is None else list(horizons),
        "pretrends": pretrends, "level": level, "variance": "BJS Theorem 3 (conservative, no leave-out)",
        "tau_bar_cells": "cohort x event time", "inference": "normal",
    }
    extra = {"tau": tau_frame, "pretest": pretest, "dropped_not_imputable": n_dropped,
             "dropped_missing": p.dropped_missing, "n_clusters": G,
             "weights_untreated": v0, "n_treated_obs": len(i1)}
    return ImputationResult("imputation", table, settings, n_units=nu, n_obs=len(df), extra=extra)
