"""Weight solvers on the simplex: Frank-Wolfe as R ``synthdid``, and an exact least-squares QP.

Two problems are solved here, both over weights ``x >= 0`` with ``sum(x) = 1``:

- :func:`fw_weights` minimises ``zeta^2 ||x||^2 + ||A x - b||^2 / n`` (``n`` rows of ``A``)
  by Frank-Wolfe with exact line search, the algorithm of ``synthdid::sc.weight.fw``
  (Arkhangelsky et al. 2021), optionally after centring the columns of ``[A, b]`` (the
  intercept). It stops when the objective falls by less than ``min_decrease^2`` in one
  step or after ``max_iter`` steps, as R. The loop works on the Gram matrix ``A'A`` and
  updates ``A'A x`` and the objective incrementally, so each step costs ``O(k)`` for ``k``
  weights (not ``O(n k)``).
- :func:`simplex_least_squares` minimises ``||A x - b||^2`` exactly (Abadie, Diamond and
  Hainmueller 2010 weights with the identity ``V``), by non-negative least squares with the
  adding-up constraint as a heavily weighted extra row (Lawson-Hanson active set,
  :func:`scipy.optimize.nnls`), then renormalised.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

__all__ = ["fw_weights", "simplex_least_squares", "sparsify"]


def sparsify(v: np.ndarray) -> np.ndarray:
    """Zero the weights at most a quarter of the largest and renormalise (R ``sparsify_function``).

    Examples
    --------
    >>> import numpy as np
    >>> from evaluate.synthcontrol.weights import sparsify
    >>> sparsify(np.array([0.6, 0.3, 0.1])).round(3).tolist()
    [0.667, 0.333, 0.0]
    """
    v = np.where(v <= v.max() / 4, 0.0, v)
    return v / v.sum()


def fw_weights(A: np.ndarray, b: np.ndarray, *, zeta: float, intercept: bool = True,
               x0: np.ndarray | None = None, min_decrease: float = 1e-3,
               max_iter: int = 1000) -> np.ndarray:
    """Frank-Wolfe weights on the simplex with a ridge penalty (R ``synthdid::sc.weight.fw``).

    Parameters
    ----------
    A
        ``n x k`` matrix: one column per weight.
    b
        Length-``n`` target.
    zeta
        Ridge penalty (the objective is ``zeta^2 ||x||^2 + ||A x - b||^2 / n``).
    intercept
        Centre the columns of ``A`` and ``b`` first (a free intercept in the fit).
    x0
        Starting weights (default uniform).
    min_decrease, max_iter
        Stop when one step lowers the objective by less than ``min_decrease**2``, or after
        ``max_iter`` steps.

    Returns
    -------
    numpy.ndarray
        Weights, non-negative, summing to one.

    Examples
    --------
    The target is the mean of the first two columns:

    >>> import numpy as np
    >>> from evaluate.synthcontrol.weights import fw_weights
    >>> A = np.array([[1.0, 3.0, 9.0], [2.0, 0.0, 5.0], [0.0, 4.0, 1.0], [5.0, 1.0, 0.0]])
    >>> x = fw_weights(A, A[:, :2].mean(axis=1), zeta=0.0, intercept=False,
    ...                min_decrease=1e-10, max_iter=10_000)
    >>> x.round(2).tolist()
    [0.5, 0.5, 0.0]
    """
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    n, k = A.shape
    if intercept:
        A = A - A.mean(axis=0)
        b = b - b.mean()
    x = np.full(k, 1.0 / k) if x0 is None else np.asarray(x0, dtype=float).copy()
    eta = n * zeta**2
    G = A.T @ A
    c = A.T @ b
    bb = float(b @ b)
    diagG = np.diag(G).copy()
    H = np.ascontiguousarray((G - c[:, None]).T)  # row i: G[:, i] - c
    Gx = G @ x
    grad = Gx - c + eta * x  # half gradient of ||Ax-b||^2 + eta ||x||^2, updated in place
    xx = float(x @ x)
    cx = float(c @ x)
    xGx = float(x @ Gx)
    tol = min_decrease**2
    prev = np.inf
    for t in range(max_iter):
        i = int(np.argmin(grad))
        gi = float(grad[i])
        xi = float(x[i])
        gx = float(grad @ x)
        # direction d = e_i - x: ||A d||^2 = G_ii - 2 (Gx)_i + x'Gx, ||d||^2 = 1 - 2 x_i + x'x
        gxi = gi + c[i] - eta * xi  # (Gx)_i
        d2 = 1.0 - 2.0 * xi + xx
        denom = diagG[i] - 2.0 * gxi + xGx + eta * d2
        step = min(1.0, max(0.0, -(gi - gx) / denom)) if (d2 > 0 and denom > 0) else 0.0
        if step > 0:
            s1 = 1.0 - step
            xGx = s1 * s1 * xGx + 2.0 * step * s1 * gxi + step * step * diagG[i]
            xx = s1 * s1 * xx + 2.0 * step * s1 * xi + step * step
            cx = s1 * cx + step * c[i]
            # grad' = G x' - c + eta x' = s1 grad + step (G[:, i] - c) + eta step e_i
            grad *= s1
            grad += step * H[i]
            grad[i] += eta * step
            x *= s1
            x[i] += step
        val = zeta**2 * xx + (xGx - 2.0 * cx + bb) / n
        if t >= 1 and prev - val <= tol:
            break
        prev = val
    return x


def simplex_least_squares(A: np.ndarray, b: np.ndarray, *, penalty: float | None = None) -> np.ndarray:
    """Exact ``argmin ||A x - b||^2`` over the simplex (non-negative weights summing to one).

    Parameters
    ----------
    A
        ``n x k`` matrix, one column per weight.
    b
        Length-``n`` target.
    penalty
        Weight of the adding-up row (default ``1e3`` times the scale of ``A``), large enough
        that ``sum(x)`` is 1 to about ``1e-6`` before renormalising.

    Returns
    -------
    numpy.ndarray
        The weights.

    Examples
    --------
    >>> import numpy as np
    >>> from evaluate.synthcontrol.weights import simplex_least_squares
    >>> A = np.array([[1.0, 3.0, 9.0], [2.0, 0.0, 5.0], [0.0, 4.0, 1.0], [5.0, 1.0, 0.0]])
    >>> simplex_least_squares(A, 0.25 * A[:, 0] + 0.75 * A[:, 2]).round(3).tolist()
    [0.25, 0.0, 0.75]
    """
    A = np.asarray(A, dtype=float)
    b = np.asarray(b, dtype=float)
    scale = max(float(np.abs(A).max()), 1.0)
    m = 1e3 * scale if penalty is None else penalty
    Aa = np.vstack([A, np.full((1, A.shape[1]), m)])
    ba = np.append(b, m)
    x, _ = nnls(Aa, ba, maxiter=50 * A.shape[1])
    s = x.sum()
    return x / s if s > 0 else np.full(A.shape[1], 1.0 / A.shape[1])


def fw_weights_batch(G: np.ndarray, C: np.ndarray, bb: np.ndarray, *, n: int, zeta: float,
                     X0: np.ndarray, allowed: np.ndarray | None = None, min_decrease: float = 1e-3,
                     max_iter: int = 1000) -> np.ndarray:
    """:func:`fw_weights` for many problems sharing one Gram matrix, stepped together.

    Problem ``p`` minimises ``zeta^2 ||x||^2 + (x'Gx - 2 C_p'x + bb_p) / n`` over the
    simplex restricted to ``allowed[p]`` (``G = A'A``, ``C_p = A'b_p``, ``bb_p = b_p'b_p``
    for already centred ``A`` and ``b_p``). Every problem takes exactly the Frank-Wolfe steps
    that :func:`fw_weights` would take on its own and stops by the same rule (a stopped
    problem takes zero steps while the others go on), so the results agree with one-at-a-time
    solving up to rounding; stepping them together turns thousands of small numpy calls
    per problem into the same number of calls for all of them (placebo refits).

    Parameters
    ----------
    G
        ``k x k`` Gram matrix shared by every problem, or ``P x k x k`` (one per problem).
    C
        ``P x k``: ``A'b_p`` per problem.
    bb
        Length ``P``: ``b_p'b_p``.
    n
        Rows of ``A`` (the penalty is ``n zeta^2``).
    zeta
        Ridge penalty.
    X0
        ``P x k`` starting weights (zero outside ``allowed``).
    allowed
        ``P x k`` booleans: the weights each problem may use (default all).
    min_decrease, max_iter
        As :func:`fw_weights`.

    Returns
    -------
    numpy.ndarray
        ``P x k`` weights.

    Examples
    --------
    Two problems on the same columns, each target one of the columns:

    >>> import numpy as np
    >>> from evaluate.synthcontrol.weights import fw_weights_batch
    >>> A = np.array([[1.0, 3.0, 9.0], [2.0, 0.0, 5.0], [0.0, 4.0, 1.0], [5.0, 1.0, 0.0]])
    >>> G = A.T @ A
    >>> X = fw_weights_batch(G, G[[0, 2]], np.diag(G)[[0, 2]], n=4, zeta=0.0,
    ...                      X0=np.full((2, 3), 1 / 3), min_decrease=1e-12, max_iter=10_000)
    >>> X.round(2).tolist()
    [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]]
    """
    X = np.array(X0, dtype=float)
    P, k = X.shape
    C = np.asarray(C, dtype=float)
    bb = np.asarray(bb, dtype=float)
    eta = n * zeta**2
    G = np.asarray(G, dtype=float)
    per_problem = G.ndim == 3
    rows = np.arange(P)
    if per_problem:
        diagG = np.einsum("pkk->pk", G).copy()
        Gx = np.einsum("pk,pkj->pj", X, G)
    else:
        diagG = np.diag(G).copy()
        Gx = X @ G
    xx = np.einsum("pk,pk->p", X, X)
    cx = np.einsum("pk,pk->p", C, X)
    xGx = np.einsum("pk,pk->p", X, Gx)
    penalty = None if allowed is None else np.where(allowed, 0.0, np.inf)
    tol = min_decrease**2
    prev = np.full(P, np.inf)
    active = np.ones(P, dtype=bool)
    for t in range(max_iter):
        grad = Gx - C + eta * X
        i = np.argmin(grad if penalty is None else grad + penalty, axis=1)
        gi = grad[rows, i]
        xi = X[rows, i]
        gd = gi - np.einsum("pk,pk->p", grad, X)
        d2 = 1.0 - 2.0 * xi + xx
        gii = diagG[rows, i] if per_problem else diagG[i]
        denom = gii - 2.0 * Gx[rows, i] + xGx + eta * d2
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where((d2 > 0) & (denom > 0), np.clip(-gd / denom, 0.0, 1.0), 0.0)
        step = np.where(active, step, 0.0)
        s1 = 1.0 - step
        xGx = s1 * s1 * xGx + 2.0 * step * s1 * Gx[rows, i] + step * step * gii
        xx = s1 * s1 * xx + 2.0 * step * s1 * xi + step * step
        cx = s1 * cx + step * C[rows, i]
        Gx = s1[:, None] * Gx + step[:, None] * (G[rows, i] if per_problem else G[i])
        X *= s1[:, None]
        X[rows, i] += step
        val = zeta**2 * xx + (xGx - 2.0 * cx + bb) / n
        if t >= 1:
            active &= (prev - val) > tol
            if not active.any():
                break
        prev = np.where(active, val, prev)
    return X
