"""The propensity score: a logit of treatment on covariates, fitted with statsmodels."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    PerfectSeparationWarning,
    SingularMatrixWarning,
)

from evaluate.errors import InputError

__all__ = ["PropensityScore", "design_matrix", "propensity_score", "treatment_indicator"]


def treatment_indicator(data: pd.DataFrame, treatment: str, *, source: str | None = None) -> np.ndarray:
    """The 0/1 treatment column as a boolean array (checked: present, no gaps, only 0/1)."""
    if treatment not in data.columns:
        raise InputError("treatment column not found", file=source, column=treatment)
    t = pd.to_numeric(data[treatment], errors="coerce")
    bad = t.isna() | ~t.isin([0, 1])
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"treatment must be 0 or 1, not {data[treatment].iloc[row]!r}", file=source,
                         column=treatment, row=row + 1)
    return t.to_numpy().astype(bool)


def design_matrix(data: pd.DataFrame, covariates: Sequence[str], *, source: str | None = None,
                  drop_first: bool = True) -> pd.DataFrame:
    """Covariates as numeric columns: numbers kept, booleans as 0/1, text as level indicators.

    Text (and categorical) columns are expanded to one indicator per level in sorted order,
    the first level left out when ``drop_first`` (as R's treatment contrasts). Every missing
    value is an error naming the column and the first row.

    Examples
    --------
    Numeric columns are kept; text columns become indicator columns (first level dropped):

    >>> import pandas as pd
    >>> from evaluate.matching import design_matrix
    >>> df = pd.DataFrame({"a": [1.0, 2.0, 3.0], "region": ["N", "S", "N"]})
    >>> design_matrix(df, ["a", "region"])
         a  region[S]
    0  1.0        0.0
    1  2.0        1.0
    2  3.0        0.0
    """
    cols: dict[str, np.ndarray] = {}
    for c in covariates:
        if c not in data.columns:
            raise InputError(f"covariate not found (columns: {', '.join(map(str, data.columns))})",
                             file=source, column=c)
        s = data[c]
        if s.isna().any():
            row = int(np.flatnonzero(s.isna().to_numpy())[0])
            raise InputError("missing value in a matching covariate", file=source, column=c, row=row + 1)
        if pd.api.types.is_bool_dtype(s):
            cols[c] = s.to_numpy().astype(float)
        elif pd.api.types.is_numeric_dtype(s):
            cols[c] = s.to_numpy(dtype=float)
        else:
            text = s.astype(str).to_numpy()
            text = np.where(text == "", "(blank)", text)  # a visible name for an empty category
            levels = sorted(set(text))
            for lev in levels[1:] if drop_first else levels:
                cols[f"{c}[{lev}]"] = (text == lev).astype(float)
    return pd.DataFrame(cols, index=data.index)


@dataclass(frozen=True, eq=False)
class PropensityScore:
    """A fitted propensity score.

    Attributes
    ----------
    score
        Fitted probability of treatment per row.
    linear
        The linear predictor (logit of the score).
    params
        Coefficients by design column (``const`` first).
    converged
        Whether the maximum-likelihood fit converged.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluate.matching import propensity_score
    >>> df = pd.DataFrame({"treated": [0, 0, 1, 0, 1, 1], "x": [1.0, 2.0, 3.0, 4.0, 5.0, 0.5]})
    >>> ps = propensity_score(df, treatment="treated", covariates=["x"])
    >>> bool(((ps.score > 0) & (ps.score < 1)).all())
    True
    >>> list(ps.params.index)
    ['const', 'x']
    """

    score: np.ndarray
    linear: np.ndarray
    params: pd.Series
    converged: bool
    settings: dict = field(default_factory=dict)


def propensity_score(data: pd.DataFrame, *, treatment: str, covariates: Sequence[str],
                     source: str | None = None) -> PropensityScore:
    """Logit of ``treatment`` on ``covariates`` by maximum likelihood (statsmodels, as R's ``glm``).

    Parameters
    ----------
    data
        One row per unit.
    treatment
        0/1 column.
    covariates
        Columns; text columns become level indicators (see :func:`design_matrix`).

    Raises
    ------
    InputError
        Unknown or incomplete column, or a treatment that is not 0/1, or only one group.

    Examples
    --------
    A logit of treatment on the covariates, on a small simulated cross-section where
    older units are more often treated:

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"id": range(200), "age": rng.normal(40, 10, 200),
    ...                    "urban": rng.integers(0, 2, 200)})
    >>> df["treated"] = (rng.random(200) < 1 / (1 + np.exp(-(df["age"] - 45) / 5))).astype(int)
    >>> from evaluate.matching import propensity_score
    >>> ps = propensity_score(df, treatment="treated", covariates=["age", "urban"])
    >>> ps.converged, ps.score.shape
    (True, (200,))
    >>> {k: round(float(v), 2) for k, v in ps.params.items()}
    {'const': -11.42, 'age': 0.24, 'urban': -0.01}
    """
    d = treatment_indicator(data, treatment, source=source)
    if d.all() or not d.any():
        raise InputError(f"both treated and comparison units are needed to fit a propensity score "
                         f"({int(d.sum()):,} treated, {int((~d).sum()):,} comparison)", file=source, column=treatment)
    x = design_matrix(data, covariates, source=source)
    # columns constant in the data (for example a level absent here) carry no information
    keep = [c for c in x.columns if x[c].nunique() > 1]
    x = sm.add_constant(x[keep], has_constant="add")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (PerfectSeparationWarning, ConvergenceWarning, RuntimeWarning))
        # collinear covariates (for example size and phase) leave the fitted scores unique
        warnings.simplefilter("ignore", SingularMatrixWarning)
        params, converged = None, False
        xa = x.to_numpy()
        full_rank = np.linalg.matrix_rank(xa) == xa.shape[1]
        if full_rank:
            # Newton with the analytic Hessian (statsmodels Logit): several times faster than
            # IRLS by least squares on 20,000 schools; the same maximum
            try:
                res = sm.Logit(d.astype(float), xa, hasconst=True).fit(method="newton", tol=1e-10,
                                                                        maxiter=35, disp=0)
                if np.all(np.isfinite(res.params)):
                    # not converged after 35 steps = (quasi-)separation: coefficients drifting
                    # off to infinity, as R's glm after its 25; the scores are as usable (near
                    # 0 or 1) and a second fit by IRLS would only repeat the drift, slowly
                    params = np.asarray(res.params, dtype=float)
                    converged = bool(res.mle_retvals.get("converged", False))
            except (np.linalg.LinAlgError, ValueError):
                params = None
        if params is None:
            # collinear columns (pseudo-inverse: the fitted scores are still unique) or a
            # singular Hessian: IRLS for at most 25 iterations, as R's glm (maxit = 25)
            res = sm.GLM(d.astype(float), xa, family=sm.families.Binomial()).fit(
                method="irls", tol=1e-12, maxiter=25, wls_method="qr" if full_rank else "pinv")
            params, converged = np.asarray(res.params, dtype=float), bool(res.converged)
    linear = x.to_numpy() @ params
    score = 1.0 / (1.0 + np.exp(-linear))
    return PropensityScore(score=score, linear=linear, params=pd.Series(params, index=x.columns),
                           converged=converged,
                           settings={"treatment": treatment, "covariates": list(covariates)})
