"""Smoothness, Delta^SD(M): the optimal fixed-length confidence interval (FLCI).

Rambachan and Roth (2023), section 4.1, as R ``HonestDiD::findOptimalFLCI``. ``Delta^SD(M)``
bounds every second difference of the trend violation ``delta`` (with ``delta_0 = 0`` at
the reference period, over pre and post periods) by ``M``. The FLCI is
``v' betahat +- chi`` for the affine estimator ``v' betahat`` (``v_post = l``) and half-length

    chi = min_h  h * cv_alpha(M * b(h) / h),

where ``cv_alpha(t)`` is the ``1 - alpha`` quantile of ``|N(t, 1)|`` and ``b(h)`` the smallest
worst-case bias (per unit of ``M``) of an estimator with standard deviation at most ``h``.

Computation. The worst-case bias of ``v`` over ``Delta^SD(1) = {|D delta| <= 1}`` is the
support function ``max v' delta``; it is finite only if ``v`` is orthogonal to linear trends
(``sum_t t v_t = 0``), and then equals ``||pinv(D)' v||_1`` (``D`` has full row rank, so the
dual solution is unique). With ``v_pre`` on that affine set, ``b(h)`` is a convex problem
(an L1 objective under one quadratic constraint), solved by SLSQP from a feasible start.
``h`` runs between the smallest standard deviation and that of R's minimum-bias estimator
(all weight on the last pre-period); the outer minimisation is a grid over that range
refined by a bounded Brent search, as R's bisection on the derivative. ``cv_alpha`` is
computed exactly by root-finding (R simulates it with 10^6 draws).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import linalg, optimize, stats

__all__ = ["flci", "folded_normal_quantile"]


def folded_normal_quantile(t: float, alpha: float) -> float:
    """``1 - alpha`` quantile of ``|N(t, 1)|``."""
    t = abs(float(t))
    target = 1 - alpha

    def f(x: float) -> float:
        return stats.norm.cdf(x - t) - stats.norm.cdf(-x - t) - target

    hi = t + stats.norm.ppf(1 - alpha / 2) + 1.0
    return float(optimize.brentq(f, 0.0, hi, xtol=1e-14, rtol=1e-14))


def _second_differences(num_pre: int, num_post: int) -> np.ndarray:
    """Second differences over ``-T..Tbar`` with the ``t = 0`` column (``delta_0 = 0``) dropped."""
    n = num_pre + num_post
    d = np.zeros((n - 1, n + 1))
    for r in range(n - 1):
        d[r, r:r + 3] = (1.0, -2.0, 1.0)
    return np.delete(d, num_pre, axis=1)


class _Problem:
    """The FLCI problem in the free coordinates ``z`` of ``v_pre = v0 + N z``."""

    def __init__(self, sigma: np.ndarray, num_pre: int, l_vec: np.ndarray) -> None:
        num_post = len(l_vec)
        t_pre = np.arange(-num_pre, 0, dtype=float)
        t_post = np.arange(1, num_post + 1, dtype=float)
        target = -float(t_post @ l_vec)  # sum_t t v_t = 0
        self.v0 = t_pre * target / float(t_pre @ t_pre)
        self.N = linalg.null_space(t_pre[None, :])  # num_pre x (num_pre - 1)
        q = np.linalg.pinv(_second_differences(num_pre, num_post)).T
        self.a = q[:, :num_pre] @ self.v0 + q[:, num_pre:] @ l_vec
        self.G = q[:, :num_pre] @ self.N
        spp = sigma[:num_pre, :num_pre]
        spq = sigma[:num_pre, num_pre:]
        self.H = self.N.T @ spp @ self.N
        self.g = self.N.T @ (spp @ self.v0 + spq @ l_vec)
        self.c = float(self.v0 @ spp @ self.v0 + 2 * self.v0 @ spq @ l_vec + l_vec @ sigma[num_pre:, num_pre:] @ l_vec)
        self.l_vec = l_vec
        self.num_pre = num_pre
        self.k = self.N.shape[1]

    def var(self, z: np.ndarray) -> float:
        return float(z @ self.H @ z + 2 * self.g @ z + self.c)

    def bias(self, z: np.ndarray) -> float:
        return float(np.abs(self.a + self.G @ z).sum())

    def v(self, z: np.ndarray) -> np.ndarray:
        return np.concatenate([self.v0 + self.N @ z, self.l_vec])

    def z_min_var(self) -> np.ndarray:
        if self.k == 0:
            return np.zeros(0)
        return np.linalg.lstsq(self.H, -self.g, rcond=None)[0]

    def z_last_pre(self) -> np.ndarray:
        """R's minimum-bias estimator: all weight on the last pre-period."""
        if self.k == 0:
            return np.zeros(0)
        w = np.zeros(self.num_pre)
        w[-1] = self.v0 @ np.arange(-self.num_pre, 0) / -1.0
        return self.N.T @ (w - self.v0)

    def min_bias(self, h: float, start: np.ndarray) -> np.ndarray:
        """``argmin_z ||a + G z||_1`` subject to ``var(z) <= h^2`` (SLSQP from a feasible start)."""
        k, m = self.k, len(self.a)
        if k == 0:
            return np.zeros(0)
        x0 = np.concatenate([start, np.abs(self.a + self.G @ start) + 1e-12])
        cost = np.concatenate([np.zeros(k), np.ones(m)])
        eye = np.eye(m)
        cons = [
            {"type": "ineq", "fun": lambda x: x[k:] - self.a - self.G @ x[:k],
             "jac": lambda x: np.hstack([-self.G, eye])},
            {"type": "ineq", "fun": lambda x: x[k:] + self.a + self.G @ x[:k],
             "jac": lambda x: np.hstack([self.G, eye])},
            {"type": "ineq", "fun": lambda x: h * h - self.var(x[:k]),
             "jac": lambda x: np.concatenate([-2 * (self.H @ x[:k] + self.g), np.zeros(m)])},
        ]
        res = optimize.minimize(lambda x: float(cost @ x), x0, jac=lambda x: cost, method="SLSQP",
                                constraints=cons, options={"ftol": 1e-15, "maxiter": 1000})
        z = res.x[:k]
        if self.var(z) > h * h * (1 + 1e-9) or self.bias(z) > self.bias(start):
            return start  # keep the (feasible) start when SLSQP does not improve on it
        return z


def _feasible_start(p: _Problem, z_lo: np.ndarray, z_hi: np.ndarray, h: float) -> np.ndarray:
    """The point of the segment ``z_lo -> z_hi`` closest to ``z_hi`` with variance ``<= h^2``."""
    if p.var(z_hi) <= h * h:
        return z_hi
    lo, hi = 0.0, 1.0
    for _ in range(80):
        mid = (lo + hi) / 2
        if p.var(z_lo + mid * (z_hi - z_lo)) <= h * h:
            lo = mid
        else:
            hi = mid
    return z_lo + lo * (z_hi - z_lo)


def flci(betahat: np.ndarray, sigma: np.ndarray, num_pre: int, l_vec: np.ndarray, m: float, *,
         alpha: float = 0.05, grid: int = 25) -> tuple[float, float]:
    """Optimal FLCI for ``l' tau_post`` under ``Delta^SD(m)``.

    Parameters
    ----------
    betahat, sigma
        Event-study estimates (pre then post, reference period excluded) and covariance.
    num_pre
        Number of pre-periods.
    l_vec
        Target weights over the post-periods.
    m
        Bound on the second differences.
    alpha
        One minus the coverage.
    grid
        Points of the coarse search over the estimator's standard deviation.

    Returns
    -------
    tuple
        ``(ci_low, ci_high)``.
    """
    p = _Problem(sigma, num_pre, l_vec)
    z_min = p.z_min_var()
    h_min = math.sqrt(max(p.var(z_min), 0.0))
    if m == 0 or p.k == 0:
        z_best = z_min
        h = h_min
        chi = h * folded_normal_quantile(m * p.bias(z_best) / h, alpha)
    else:
        z_hi = p.z_last_pre()
        h0 = math.sqrt(max(p.var(z_hi), 0.0))
        cache: dict[float, tuple[float, np.ndarray]] = {}

        def half_length(h: float) -> float:
            if h not in cache:
                z = p.min_bias(h, _feasible_start(p, z_min, z_hi, h))
                hz = math.sqrt(max(p.var(z), 0.0))
                cache[h] = (hz * folded_normal_quantile(m * p.bias(z) / hz, alpha), z)
            return cache[h][0]

        if h0 <= h_min * (1 + 1e-12):
            hs = np.array([h_min])
        else:
            hs = np.linspace(h_min * (1 + 1e-9), h0, grid)
        vals = np.array([half_length(float(h)) for h in hs])
        i = int(np.argmin(vals))
        if len(hs) > 1:
            lo, hi = hs[max(i - 1, 0)], hs[min(i + 1, len(hs) - 1)]
            opt = optimize.minimize_scalar(half_length, bounds=(lo, hi), method="bounded",
                                           options={"xatol": 1e-12 * h0})
            cand = [float(opt.x), float(hs[i])]
            h = min(cand, key=half_length)
        else:
            h = float(hs[0])
        chi, z_best = cache[h]
    centre = float(p.v(z_best) @ betahat)
    return centre - chi, centre + chi
