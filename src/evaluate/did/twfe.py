"""Two-way fixed effects (TWFE) difference in differences, by the within transformation.

``y_it = a_i + l_t + b D_it + x_it'g + e_it`` with unit and period effects absorbed by
:func:`evaluate.did.within.demean` (never a dummy per school). The slopes are fitted by
statsmodels OLS/WLS on the demeaned data; its covariance is replaced by
:func:`evaluate.did.vcov.vcov_info` (CR1 by unit by default, pyfixest's small-sample
adjustments) and confidence intervals use Student t with the same degrees of freedom as
fixest (``G - 1`` when clustered).

With staggered adoption and effects that change over time the TWFE coefficient is a
weighted average of 2x2 comparisons some of which use already-treated units as controls
(see :func:`evaluate.did.bacon.bacon_decomposition`); it is reported here as a benchmark.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evaluate.did._validate import Prepared, prepare
from evaluate.did.results import RegressionResult, tidy_table
from evaluate.did.vcov import vcov_info
from evaluate.did.within import absorbed_parameters, demean, numeric_rank
from evaluate.errors import InputError

__all__ = ["twfe", "TWFEResult"]

_VCOV_KINDS = ("CR1", "CR3", "HC1")


@dataclass(frozen=True)
class TWFEResult(RegressionResult):
    """Result of :func:`twfe`: the tidy table plus the coefficient vector and its variance.

    ``extra`` holds ``terms``, ``vcov`` (nested lists, in ``terms`` order), ``n_clusters``,
    ``df`` (degrees of freedom of the t intervals), ``df_k``, ``ssc``, ``n_singletons``,
    ``demean_iterations`` and the statsmodels results (``sm_results``, not serialised).

    Examples
    --------
    >>> from evaluate.did import example_panel, twfe
    >>> res = twfe(example_panel(), outcome="y", unit="id", time="period", cohort="cohort",
    ...            cluster="id")
    >>> res.method
    'twfe'
    >>> round(float(res.coef["treated"]), 2), res.n_clusters
    (1.22, 200)
    """

    @property
    def n_clusters(self) -> int:
        """Number of clusters (observations for HC1)."""
        return int(self.extra["n_clusters"])

    @property
    def df(self) -> int:
        """Degrees of freedom of the t-based intervals and p-values."""
        return int(self.extra["df"])


@dataclass(frozen=True)
class WithinFit:
    """A least-squares fit with absorbed fixed effects (shared by TWFE and the event study)."""

    terms: list[str]
    coef: np.ndarray
    vcov: np.ndarray
    df_t: int
    df_k: int
    ssc: float
    n_clusters: int
    n_singletons: int
    iterations: int
    sm_results: Any
    X_dm: np.ndarray
    y_dm: np.ndarray

    def design(self, cluster: np.ndarray):
        """The demeaned regression as a :class:`~evaluate.did.wild_bootstrap.FEDesign`
        (rows scaled by the square root of the weights), for the wild cluster bootstrap."""
        from evaluate.did.wild_bootstrap import FEDesign

        w = self.sm_results.model.weights if hasattr(self.sm_results.model, "weights") else None
        sw = np.sqrt(np.asarray(w, dtype=float)) if w is not None and np.ndim(w) else None
        X, y = (self.X_dm, self.y_dm) if sw is None else (self.X_dm * sw[:, None], self.y_dm * sw)
        return FEDesign(X, y, np.asarray(cluster), tuple(self.terms))


def _check_vcov(vcov: str, level: float) -> None:
    if vcov not in _VCOV_KINDS:
        raise InputError(f"vcov must be one of {', '.join(_VCOV_KINDS)}, not {vcov!r}")
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1, not {level!r}")


def fit_within(y: np.ndarray, X: np.ndarray, terms: Sequence[str], fe: Sequence[np.ndarray], *,
               weights: np.ndarray | None, cluster: np.ndarray | None, vcov: str) -> WithinFit:
    """Demean ``y`` and ``X`` by ``fe``, fit OLS/WLS with statsmodels, attach our variance.

    Raises :class:`InputError` if a regressor is constant after absorbing the fixed effects
    or the regressors are collinear.
    """
    import statsmodels.api as sm
    from statsmodels.regression.linear_model import RegressionResults

    Z, info = demean(np.column_stack([y, X]), list(fe), weights=weights, return_info=True)
    y_dm, X_dm = Z[:, 0], Z[:, 1:]
    scale = np.abs(X).max(axis=0) if len(X) else np.ones(X_dm.shape[1])
    flat = np.abs(X_dm).max(axis=0) <= 1e-9 * np.maximum(scale, 1.0)
    if flat.any():
        bad = [t for t, f in zip(terms, flat, strict=True) if f]
        raise InputError(f"{', '.join(bad)} does not vary once unit and period effects are removed "
                         "(e.g. every unit treated at the same time and no comparison units)")
    if numeric_rank(X_dm) < X_dm.shape[1]:
        raise InputError(f"the regressors ({', '.join(terms)}) are collinear once unit and period "
                         "effects are removed")
    model = sm.OLS(y_dm, X_dm) if weights is None else sm.WLS(y_dm, X_dm, weights=weights)
    res = model.fit()
    resid = y_dm - X_dm @ res.params
    vi = vcov_info(X_dm, resid, cluster=cluster, weights=weights, kind=vcov,
                   n_absorbed=absorbed_parameters(fe), fe=fe)
    res = RegressionResults(model, res.params, normalized_cov_params=vi.vcov, scale=1.0)
    res.df_resid = vi.df_t
    return WithinFit(list(terms), np.asarray(res.params, dtype=float), vi.vcov, vi.df_t, vi.df_k,
                     vi.ssc, vi.n_clusters, info.n_singletons, info.iterations, res, X_dm, y_dm)


def _codes(s: pd.Series) -> np.ndarray:
    return pd.factorize(s, sort=True)[0].astype(np.intp)


def prepare_panel(data: pd.DataFrame, *, outcome: str, unit: str, time: str, cohort: str | None,
                  extra_numeric: Sequence[str] = (), covariates: Sequence[str] = (),
                  weights: str | None = None, cluster: str | None = None) -> Prepared:
    """Validate with :func:`evaluate.did._validate.prepare` (cluster defaults to ``unit``)."""
    if not isinstance(data, pd.DataFrame):
        raise InputError("data must be a pandas DataFrame")
    covs = tuple(covariates)
    if cohort is None:
        cohort = "__cohort__"
        while cohort in data.columns:
            cohort += "_"
        data = data.assign(**{cohort: 0})
    cl = None if cluster in (None, unit) else cluster
    return prepare(data, outcome=outcome, unit=unit, time=time, cohort=cohort,
                   covariates=(*extra_numeric, *covs), weights=weights, cluster=cl)


def twfe(data: pd.DataFrame, *, outcome: str, unit: str, time: str, cohort: str | None = None,
         treatment: str | None = None, covariates: Sequence[str] = (), weights: str | None = None,
         cluster: str | None = None, vcov: str = "CR1", level: float = 0.95) -> TWFEResult:
    """Two-way fixed effects estimate of the effect of treatment.

    Parameters
    ----------
    data
        Long panel, one row per unit and period.
    outcome, unit, time
        Column names.
    cohort
        First treated period per unit (0 or empty = never treated). The treatment dummy is
        ``D = 1[time >= cohort and cohort > 0]`` unless ``treatment`` is given.
    treatment
        A 0/1 (or numeric) treatment column to use instead of the cohort rule.
    covariates
        Time-varying covariates, entered linearly.
    weights
        Regression weights column (weighted least squares).
    cluster
        Cluster column; default ``unit``. Must be constant within unit.
    vcov
        ``"CR1"`` (default), ``"CR3"`` or ``"HC1"`` (heteroskedasticity-robust).
    level
        Confidence level.

    Returns
    -------
    TWFEResult
        Tidy rows ``treated`` and one per covariate; ``coef``, ``se``, ``vcov``,
        ``n_clusters``, ``df``; t-based intervals with ``df`` degrees of freedom.

    Examples
    --------
    Static TWFE with the treatment dummy built from the cohort column, clustered by unit:

    >>> from evaluate.did import example_panel, twfe
    >>> panel = example_panel(n_units=200, seed=0)
    >>> res = twfe(panel, outcome="y", unit="id", time="period", cohort="cohort",
    ...            covariates=["x"], cluster="id")
    >>> res.table["term"].tolist()
    ['treated', 'x']
    >>> bool(1.0 < res.estimates["treated"] < 1.5)
    True
    """
    _check_vcov(vcov, level)
    if cohort is None and treatment is None:
        raise InputError("give cohort (first treated period, 0 = never) or a treatment column")
    covariates = tuple(covariates or ())
    if treatment is not None and treatment not in data.columns:
        raise InputError("treatment column not found", column=treatment)
    extra = (treatment,) if treatment is not None else ()
    p = prepare_panel(data, outcome=outcome, unit=unit, time=time, cohort=cohort,
                      extra_numeric=extra, covariates=covariates, weights=weights, cluster=cluster)
    df = p.data
    if treatment is not None:
        d = df[treatment].to_numpy(dtype=float)
    else:
        c = df[p.cohort].to_numpy()
        d = ((df[time].to_numpy() >= c) & (c > 0)).astype(float)
    X = np.column_stack([d, *(df[c].to_numpy(dtype=float) for c in covariates)])
    terms = ["treated", *covariates]
    fe = [_codes(df[unit]), _codes(df[time])]
    w = df[weights].to_numpy(dtype=float) if weights else None
    cl_col = unit if cluster is None else cluster
    cl = None if vcov == "HC1" else _codes(df[cl_col])
    fit = fit_within(df[outcome].to_numpy(dtype=float), X, terms, fe, weights=w, cluster=cl, vcov=vcov)
    se = np.sqrt(np.diag(fit.vcov))
    table = tidy_table(terms, fit.coef, se, n=len(df), level=level, df=fit.df_t)
    settings = {"outcome": outcome, "unit": unit, "time": time, "cohort": cohort,
                "treatment": treatment, "covariates": list(covariates), "weights": weights,
                "cluster": None if vcov == "HC1" else cl_col, "vcov": vcov, "level": level,
                "fixed_effects": [unit, time], "dropped_missing": p.dropped_missing}
    n_units = int(df[unit].nunique())
    return TWFEResult("twfe", table, settings, n_units=n_units, n_obs=len(df),
                      extra={"terms": terms, "vcov": fit.vcov.tolist(), "n_clusters": fit.n_clusters,
                             "df": fit.df_t, "df_k": fit.df_k, "ssc": fit.ssc,
                             "n_singletons": fit.n_singletons,
                             "demean_iterations": fit.iterations, "sm_results": fit.sm_results,
                             "design": fit.design(_codes(df[cl_col]))})

