"""Fast numpy solvers for the nuisance fits of the 2x2 DiD estimators.

:mod:`evaluate.did.drdid` fits a logit propensity score and weighted least-squares outcome
regressions in every group-time cell. statsmodels (``Logit``/``GLM`` and ``WLS``) is the
reference for those fits; this module computes the same fits with a few BLAS calls on the
``n x k`` design, without statsmodels' model and result objects:

- :func:`logit_newton`: the weighted logit maximum likelihood by Newton-Raphson (for the
  canonical logit link this is the IRLS of ``glm``), stopped as statsmodels' ``newton``
  (every parameter moved by at most ``tol``). It reports failure (``None``) instead of
  guessing when Newton does not converge cleanly (no convergence within ``max_iter``
  steps, a non-finite value, a Hessian that is not positive definite, or fitted
  probabilities within ``1e-12`` of 0 or 1, the signature of (quasi-)separation); the caller
  then uses the statsmodels reference fit, so that such data get exactly the reference
  answer.
- :func:`wls_normal`: weighted least squares from the ``k x k`` normal equations, solved
  by Cholesky after scaling the columns to unit diagonal; when the scaled normal matrix is
  ill-conditioned (condition number above ``1e5``), where squaring the condition number
  would cost accuracy, it reports failure and the caller uses the statsmodels reference
  (``WLS.fit(method="qr")``).

``tests/did/test_solvers.py`` pins both to statsmodels (and every estimator built on them)
to 1e-10.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

__all__ = ["logit_newton", "wls_normal", "weighted_gram"]

_P_EXTREME = 1e-12  # fitted probabilities closer to 0 or 1 than this: leave it to statsmodels
_COND_MAX = 1e5  # scaled normal matrix condition number above which WLS is left to statsmodels


def _expit(eta: np.ndarray) -> np.ndarray:
    """``1 / (1 + exp(-eta))`` in place of ``eta`` (the logistic function, as statsmodels'
    ``Logit.cdf``; about twice as fast as ``scipy.special.expit``)."""
    np.negative(eta, out=eta)
    np.exp(eta, out=eta)
    eta += 1.0
    return np.reciprocal(eta, out=eta)


def weighted_gram(x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``X' diag(v) X`` for an ``n x k`` design (symmetric ``k x k``)."""
    return (x * v[:, None]).T @ x


def logit_newton(d: np.ndarray, x: np.ndarray, w: np.ndarray, *, start: np.ndarray | None = None,
                 tol: float = 1e-10, max_iter: int = 50) -> tuple[np.ndarray, np.ndarray] | None:
    """Weighted logit maximum likelihood by Newton-Raphson.

    Maximises ``sum(w * (d * log(p) + (1 - d) * log(1 - p)))`` with ``p = expit(x @ b)``.

    Parameters
    ----------
    d
        0/1 outcome (float).
    x
        ``n x k`` design matrix (first column the intercept, if any).
    w
        Non-negative prior weights.
    start
        Starting parameters (default: zero slopes and, for the first column, the logit of
        the weighted mean of ``d``, which is the maximum when ``x`` is the intercept alone).
    tol
        Convergence when no parameter moves by more than ``tol`` in a Newton step (as
        statsmodels' ``newton``).
    max_iter
        Most Newton steps.

    Returns
    -------
    (params, fitted) or None
        The maximiser and ``expit(x @ params)``, or ``None`` when Newton did not converge
        cleanly (see the module docstring): the caller should use the reference fit.
    """
    k = x.shape[1]
    if start is not None and np.shape(start) == (k,) and np.all(np.isfinite(start)):
        b = np.array(start, dtype=float)
    else:
        b = np.zeros(k)
        sw = float(w.sum())
        m = float(w @ d) / sw if sw > 0 else 0.5
        if not 0.0 < m < 1.0:
            return None  # every unit in one group: nothing to fit (statsmodels decides)
        b[0] = np.log(m / (1.0 - m))
    unit = bool(np.all(w == 1.0))  # equal weights (normalised): skip the products with w
    target = x.T @ (d if unit else w * d)  # X' w d, the treated part of the score
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for _ in range(max_iter):
            p = _expit(x @ b)
            wp = p if unit else w * p
            hess = weighted_gram(x, wp * (1.0 - p))
            score = target - x.T @ wp
            try:
                c = linalg.cho_factor(hess, lower=True, check_finite=True)
            except (linalg.LinAlgError, ValueError):
                return None
            step = linalg.cho_solve(c, score, check_finite=False)
            if not np.all(np.isfinite(step)):
                return None
            b = b + step
            if np.max(np.abs(step)) <= tol:
                break
        else:
            return None
        p = _expit(x @ b)
    if not np.all(np.isfinite(p)):
        return None
    lo = float(p.min())
    hi = float(p.max())
    if lo < _P_EXTREME or hi > 1.0 - _P_EXTREME:
        return None
    return b, p


def wls_normal(xtwx: np.ndarray, xtwy: np.ndarray) -> np.ndarray | None:
    """Weighted least-squares coefficients from the normal equations ``(X'WX) b = X'Wy``.

    ``xtwy`` may have several columns (one regression per column, same design and weights).
    The columns of the design are scaled to a unit-diagonal normal matrix and the system is
    solved by Cholesky. Returns ``None`` when the scaled normal matrix is singular, not
    positive definite or has a condition number above ``1e5`` (then use the QR-based
    reference).
    """
    diag = np.diag(xtwx)
    if not np.all(diag > 0) or not np.all(np.isfinite(xtwx)):
        return None
    s = 1.0 / np.sqrt(diag)
    a = xtwx * s[:, None] * s[None, :]
    if a.shape[0] > 1:
        ev = np.linalg.eigvalsh(a)
        if not ev[0] > 0 or ev[-1] / ev[0] > _COND_MAX:
            return None
    try:
        c = linalg.cho_factor(a, lower=True, check_finite=False)
    except linalg.LinAlgError:
        return None
    rhs = xtwy * (s if np.ndim(xtwy) == 1 else s[:, None])
    sol = linalg.cho_solve(c, rhs, check_finite=False)
    return sol * (s if np.ndim(xtwy) == 1 else s[:, None])

