"""The within transformation: absorb any number of fixed effects by alternating projections.

:func:`demean` sweeps over the fixed effects in turn (Gauss-Seidel, the method of
alternating projections), subtracting the (weighted) group mean of each column for one
fixed effect at a time until a full sweep changes nothing. Group means are computed with
:func:`numpy.bincount`, so there is no Python loop over units; the loop is over sweeps
and columns only. Unbalanced panels are fine (they just take more sweeps); with a
balanced two-way panel one sweep is exact.

Singletons (levels of a fixed effect with one observation) are kept; their rows are
demeaned to zero and do not move the slope estimates. :func:`singleton_mask` reports them
so callers can say how many there were.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["demean", "DemeanInfo", "factorize", "singleton_mask", "absorbed_parameters", "numeric_rank"]

#: Relative tolerance of :func:`numeric_rank`: well above what :func:`demean` leaves in an
#: exactly collinear column (about ``tol`` times its scale), far below any real signal.
RANK_RTOL = 1e-7


@dataclass(frozen=True)
class DemeanInfo:
    """What :func:`demean` did.

    Attributes
    ----------
    iterations
        Full sweeps over the fixed effects.
    converged
        Whether the largest change in the last sweep was below the tolerance.
    n_singletons
        Rows that are the only observation of some level of some fixed effect.
    """

    iterations: int
    converged: bool
    n_singletons: int


def factorize(values) -> tuple[np.ndarray, int]:
    """Integer codes ``0..L-1`` for any 1-d array (sorted levels) and the number of levels."""
    _, codes = np.unique(np.asarray(values), return_inverse=True)
    codes = codes.reshape(-1).astype(np.intp)
    return codes, int(codes.max()) + 1 if codes.size else 0


def _codes(f: np.ndarray, n: int) -> tuple[np.ndarray, int]:
    f = np.asarray(f).reshape(-1)
    if f.shape[0] != n:
        raise ValueError(f"fixed effect has {f.shape[0]} rows, X has {n}")
    if not np.issubdtype(f.dtype, np.integer) or (f.size and f.min() < 0):
        return factorize(f)
    f = f.astype(np.intp, copy=False)
    return f, int(f.max()) + 1 if f.size else 0


def singleton_mask(fe: Sequence[np.ndarray]) -> np.ndarray:
    """Rows that are alone in their level of at least one fixed effect."""
    if not fe:
        return np.zeros(0, dtype=bool)
    n = np.asarray(fe[0]).reshape(-1).shape[0]
    mask = np.zeros(n, dtype=bool)
    for f in fe:
        codes, n_levels = _codes(f, n)
        mask |= np.bincount(codes, minlength=n_levels)[codes] == 1
    return mask


def absorbed_parameters(fe: Sequence[np.ndarray]) -> int:
    """Number of absorbed fixed-effect parameters as fixest/pyfixest count them.

    The sum of the number of levels of each fixed effect, minus one for every fixed effect
    after the first (one reference level each).
    """
    if not fe:
        return 0
    n = np.asarray(fe[0]).reshape(-1).shape[0]
    levels = [np.unique(_codes(f, n)[0]).size for f in fe]
    return int(sum(levels) - (len(fe) - 1))


def demean(X: np.ndarray, fe: Sequence[np.ndarray], weights: np.ndarray | None = None,
           tol: float = 1e-10, maxiter: int = 10_000, *, return_info: bool = False):
    """Subtract the fixed effects from every column of ``X`` (the within transformation).

    Parameters
    ----------
    X
        ``n x k`` (or length-``n``) array of variables to demean.
    fe
        One integer code array of length ``n`` per fixed effect (e.g. ``[unit, time]``).
        Codes need not be contiguous; non-integer arrays are factorised.
    weights
        Optional positive weights of length ``n``: weighted group means are removed (the
        within transformation of weighted least squares).
    tol
        Convergence tolerance: stop when the largest absolute change of any column in a
        full sweep is below ``tol`` times that column's scale (``max(1, max |x|)``).
    maxiter
        Maximum number of full sweeps. A warning is issued if it is reached.
    return_info
        Also return a :class:`DemeanInfo` (sweeps, convergence, singletons).

    Returns
    -------
    numpy.ndarray or (numpy.ndarray, DemeanInfo)
        The demeaned array, of the same shape as ``X`` (a new float64 array).

    Notes
    -----
    With a single fixed effect, or a balanced two-way panel, the first sweep is exact; the
    second only confirms convergence.
    """
    X = np.asarray(X, dtype=np.float64)
    one_d = X.ndim == 1
    out = (X.reshape(-1, 1) if one_d else X).copy()
    n, k = out.shape
    fe = list(fe or [])
    coded = [_codes(f, n) for f in fe]
    w = None if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    if w is not None and w.shape[0] != n:
        raise ValueError(f"weights have {w.shape[0]} rows, X has {n}")
    inv_size = []
    for codes, n_levels in coded:
        size = np.bincount(codes, weights=w, minlength=n_levels)
        with np.errstate(divide="ignore"):
            inv_size.append(np.where(size > 0, 1.0 / size, 0.0))
    n_singletons = int(singleton_mask(fe).sum()) if fe else 0
    iterations, converged = 0, not coded
    if coded and n and k:
        scale = np.maximum(1.0, np.abs(out).max(axis=0))
        single = len(coded) == 1
        active = np.arange(k)
        while iterations < maxiter and active.size:
            iterations += 1
            change = np.zeros(active.size)
            for (codes, n_levels), inv in zip(coded, inv_size, strict=True):
                for j_pos, j in enumerate(active):
                    col = out[:, j]
                    sums = np.bincount(codes, weights=col if w is None else col * w, minlength=n_levels)
                    means = sums * inv
                    col -= means[codes]
                    change[j_pos] = max(change[j_pos], float(np.abs(means).max()))
            done = change <= tol * scale[active]
            if single:
                done[:] = True
            active = active[~done]
        converged = active.size == 0
        if not converged:
            warnings.warn(f"demean: not converged after {maxiter} sweeps (tol={tol:g})",
                          RuntimeWarning, stacklevel=2)
    result = out.reshape(-1) if one_d else out
    if return_info:
        return result, DemeanInfo(iterations, converged, n_singletons)
    return result


def numeric_rank(X: np.ndarray, *, rtol: float = RANK_RTOL) -> int:
    """Rank of a demeaned design, with a tolerance set by the demeaning's precision.

    :func:`numpy.linalg.matrix_rank` uses a tolerance near machine precision, which suits
    exact arithmetic. After iterative demeaning a column that is exactly collinear with the
    fixed effects is left as noise of about the convergence tolerance, so its singular value
    is about ``1e-11`` to ``1e-10`` of the largest, not ``1e-16``: the default test calls such
    a design full rank and the normal equations are then singular (seen on a CPU whose
    floating-point kernels differ). Singular values below ``rtol`` times the largest count
    as zero.

    Parameters
    ----------
    X
        The (demeaned, weighted) design, ``n x k``.
    rtol
        Relative tolerance; default :data:`RANK_RTOL`.

    Returns
    -------
    int
        The numerical rank.
    """
    X = np.asarray(X, dtype=float)
    s = np.linalg.svd(X, compute_uv=False) if X.size else np.zeros(0)
    return int((s > rtol * s[0]).sum()) if s.size and s[0] > 0 else 0
