"""Multiplier bootstrap of influence functions (as R ``did``'s ``mboot``).

Each draw multiplies every unit's (or cluster's) influence function by an independent
mean-zero, unit-variance weight and averages; the bootstrap standard error is the
interquartile range of the draws divided by that of the standard normal, and the sup-t
critical value (for uniform confidence bands) is a quantile of the largest studentised
draw across estimates. Randomness comes only from the ``numpy.random.Generator`` passed in.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["multiplier_bootstrap", "multiplier_weights"]

_CHUNK = 64  # draws per matrix product (bounded memory: chunk x units multipliers)
_SQ5 = np.sqrt(5.0)


def multiplier_weights(kind: str, size: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Draw multiplier weights: ``"rademacher"``, ``"mammen"`` or ``"webb"`` (six-point)."""
    if kind == "rademacher":
        return rng.integers(0, 2, size=size).astype(float) * 2.0 - 1.0
    if kind == "mammen":
        lo, hi = (1 - _SQ5) / 2, (1 + _SQ5) / 2
        p_lo = (_SQ5 + 1) / (2 * _SQ5)
        return np.where(rng.random(size) < p_lo, lo, hi)
    if kind == "webb":
        pts = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
        return pts[rng.integers(0, 6, size=size)]
    raise ValueError(f"unknown bootstrap weights {kind!r} (use 'rademacher', 'mammen' or 'webb')")


def _quantile_type1(x: np.ndarray, q: float, axis: int = 0) -> np.ndarray:
    """R's ``quantile(type=1)``: the inverse of the empirical distribution function."""
    return np.quantile(x, q, axis=axis, method="inverted_cdf")


def multiplier_bootstrap(inf: np.ndarray, *, cluster: np.ndarray | None = None, draws: int = 999,
                         weights: str = "rademacher", rng: np.random.Generator | None = None,
                         level: float = 0.95) -> tuple[np.ndarray, float, np.ndarray]:
    """Multiplier bootstrap of an influence-function matrix.

    Parameters
    ----------
    inf
        ``n_units x k`` influence functions (scaled as R ``did``: the estimate's standard error
        is ``sqrt(mean(inf**2) / n)``).
    cluster
        Cluster id per unit; the bootstrap then draws one weight per cluster applied to the
        cluster's sum of influence functions (consistent with the analytic clustered standard
        error of R ``did`` 2.5).
    draws
        Number of bootstrap draws.
    weights
        ``"rademacher"``, ``"mammen"`` or ``"webb"``.
    rng
        A ``numpy.random.Generator`` (the only source of randomness).
    level
        Coverage of the uniform band whose sup-t critical value is returned.

    Returns
    -------
    se, crit_uniform, draws
        Bootstrap standard errors (``k``; NaN for estimates without variation), the sup-t
        critical value, and the ``draws x k`` matrix of ``sqrt(n) * (mean of weighted inf)``.
    """
    if rng is None:
        rng = np.random.default_rng()
    inf = np.asarray(inf, dtype=float)
    if inf.ndim == 1:
        inf = inf[:, None]
    n, k = inf.shape
    if cluster is not None:
        codes, _ = _codes(cluster)
        n_cl = int(codes.max()) + 1
        sums = np.zeros((n_cl, k))
        np.add.at(sums, codes, inf)
        base = sums
    else:
        n_cl = n
        base = inf
    out = np.empty((draws, k))
    for start in range(0, draws, _CHUNK):
        stop = min(draws, start + _CHUNK)
        v = multiplier_weights(weights, (stop - start, n_cl), rng)
        out[start:stop] = v @ base
    out /= np.sqrt(n)
    q75 = _quantile_type1(out, 0.75)
    q25 = _quantile_type1(out, 0.25)
    sigma = (q75 - q25) / (stats.norm.ppf(0.75) - stats.norm.ppf(0.25))
    ok = sigma > np.sqrt(np.finfo(float).eps) * 10
    se = np.where(ok, sigma / np.sqrt(n), np.nan)
    if ok.any():
        t_max = np.max(np.abs(out[:, ok] / sigma[ok]), axis=1)
        crit = float(_quantile_type1(t_max, level))
    else:
        crit = float("nan")
    return se, crit, out


def _codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    uniq, codes = np.unique(np.asarray(values).astype(str), return_inverse=True)
    return codes.ravel(), uniq
