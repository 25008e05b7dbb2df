"""Relative magnitudes, Delta^RM(Mbar): conditional and hybrid (ARP) confidence sets.

Rambachan and Roth (2023), section 2.4 and 3: ``Delta^RM(Mbar)`` bounds every post-period
first difference of the trend violation ``delta`` by ``Mbar`` times the largest pre-period
first difference (``delta_0 = 0`` at the reference period). It is the union over the
location ``s`` and sign of that largest difference of polyhedra ``{A delta <= 0}``
(as R ``HonestDiD::.create_A_RM``), and a confidence set for the union is the union of the
confidence sets for each polyhedron (their Lemma 2.2).

For each polyhedron, ``H0: theta = l' tau_post`` is tested with the moment inequalities
``E[A betahat - A_post tau_post] <= 0`` with a linear nuisance parameter, by the
conditional test of Andrews, Roth and Pakes (ARP; ``method="conditional"``) or its hybrid
with a least-favourable first stage of size ``kappa = alpha / 10``
(``method="C-LF"``, the R default). As R, only the moments that involve a post-period
coefficient are used when there are several post periods, every moment otherwise; the
confidence set is the set of accepted points of a grid of ``grid_points`` values (1,000 by
default) centred on ``l' betahat_post`` with half-width
``Mbar * sum_t t |l_t| * max_pre + 20 * sd(l' betahat_post)`` as R.

Computation. The test statistic is the value of the linear programme
``eta = min {eta : Y - X d <= eta * sd}``; by duality it is the largest ``g' Y`` over the
vertices ``g`` of ``{g >= 0, g' X = 0, g' sd = 1}``, a set that does not depend on the
tested value. The vertices are enumerated once per polyhedron (exact for the few moments
an event study has), which gives the statistic, the binding vertex and the truncation
points ``vlo, vup`` of the conditional test in closed form for every grid point at once
(the values R obtains by bisection over linear programmes in the degenerate case and by
the primal formula otherwise: the range of ``c`` over which the binding vertex stays
optimal).
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
from scipy import stats

__all__ = ["arp_accept", "rm_ci", "rm_constraints", "rm_grid"]

_TOL = 1e-10
_MAX_SUBSETS = 300_000


def rm_constraints(num_pre: int, num_post: int, mbar: float, s: int, positive: bool) -> np.ndarray:
    """Matrix ``A`` with ``Delta^RM_{s,sign}(Mbar) = {delta : A delta <= 0}`` (R ``.create_A_RM``).

    Columns are ``delta_{-T}, ..., delta_{-1}, delta_1, ..., delta_Tbar`` (``delta_0 = 0``
    dropped). ``s`` in ``-(T-1), ..., 0`` picks the first difference ``delta_s - delta_{s-1}``
    that is the largest pre-period difference, with sign ``+`` (``positive``) or ``-``.
    """
    n = num_pre + num_post
    diffs = np.zeros((n, n + 1))
    for r in range(n):
        diffs[r, r:r + 2] = (-1.0, 1.0)
    vmax = np.zeros(n + 1)
    vmax[num_pre + s - 1:num_pre + s + 1] = (-1.0, 1.0)
    if not positive:
        vmax = -vmax
    bound = np.vstack([np.tile(vmax, (num_pre, 1)), np.tile(mbar * vmax, (num_post, 1))])
    a = np.vstack([diffs - bound, -diffs - bound])
    a = a[np.sum(a * a, axis=1) > _TOL]
    return np.delete(a, num_pre, axis=1)


def _dual_vertices(x: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """Vertices of ``{g >= 0, g' x = 0, g' sd = 1}`` (rows), deduplicated."""
    m = len(sd)
    if x.size:
        u, sv, _ = np.linalg.svd(x, full_matrices=False)
        x = u[:, sv > 1e-10 * max(1.0, sv.max(initial=0.0))]
    k = x.shape[1] if x.size else 0
    if k == 0:
        return np.diag(1.0 / sd)
    if k + 1 > m:
        return np.zeros((0, m))
    n_sub = math.comb(m, k + 1)
    if n_sub > _MAX_SUBSETS:
        raise ValueError(f"too many moments for exact vertex enumeration ({n_sub:,} subsets); "
                         "use fewer post-periods")
    subsets = np.array(list(itertools.combinations(range(m), k + 1)))
    mats = np.concatenate([np.transpose(x[subsets], (0, 2, 1)), sd[subsets][:, None, :]], axis=1)
    rhs = np.zeros(k + 1)
    rhs[-1] = 1.0
    dets = np.linalg.det(mats)
    ok = np.abs(dets) > 1e-12 * np.prod(np.linalg.norm(mats, axis=2), axis=1)
    subsets, mats = subsets[ok], mats[ok]
    if len(mats) == 0:
        return np.zeros((0, m))
    sol = np.linalg.solve(mats, np.broadcast_to(rhs, (len(mats), k + 1))[..., None])[..., 0]
    feasible = np.all(sol >= -1e-9, axis=1)
    verts = np.zeros((int(feasible.sum()), m))
    rows = np.repeat(np.arange(len(verts)), k + 1)
    verts[rows, subsets[feasible].ravel()] = np.clip(sol[feasible], 0.0, None).ravel()
    if len(verts) == 0:
        return verts
    scale = np.abs(verts).max()
    _, keep = np.unique(np.round(verts / scale, 9), axis=0, return_index=True)
    return verts[np.sort(keep)]


def _psd_root(sigma: np.ndarray) -> np.ndarray:
    w, u = np.linalg.eigh((sigma + sigma.T) / 2)
    return u * np.sqrt(np.clip(w, 0.0, None))


def _trunc_quantile(p: float, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Quantile ``p`` of the standard normal truncated to ``[lo, hi]`` (stable in both tails)."""
    lo = np.asarray(lo, dtype=float)
    hi = np.asarray(hi, dtype=float)
    out = np.empty(np.broadcast(lo, hi).shape)
    upper = lo > 0  # work with survival functions in the upper tail
    with np.errstate(invalid="ignore", divide="ignore"):
        fl, fh = stats.norm.cdf(lo), stats.norm.cdf(hi)
        q_low = stats.norm.ppf(fl + p * (fh - fl))
        sl, sh = stats.norm.sf(lo), stats.norm.sf(hi)
        q_up = stats.norm.isf(sl - p * (sl - sh))
    out[:] = np.where(upper, q_up, q_low)
    return np.clip(out, lo, hi)


def arp_accept(y0: np.ndarray, a1: np.ndarray, x: np.ndarray, sigma_y: np.ndarray,
               theta: np.ndarray, *, alpha: float, hybrid: bool, kappa: float,
               sims: int = 1000, seed: int = 0) -> np.ndarray:
    """ARP conditional (or conditional-LF hybrid) test of ``E[y0 - a1 theta - x d] <= 0``.

    Parameters
    ----------
    y0, a1
        Moments at ``theta = 0`` and their slope in ``theta`` (length ``m``).
    x
        Nuisance directions (``m x k``; ``k = 0`` allowed).
    sigma_y
        Covariance of the moments (``m x m``).
    theta
        Values tested.
    alpha, hybrid, kappa
        Size; whether to use the least-favourable hybrid with first-stage size ``kappa``.
    sims, seed
        Draws and seed of the least-favourable critical value (R: 1,000 draws).

    Returns
    -------
    numpy.ndarray
        Boolean, ``True`` where the value is not rejected.
    """
    sd = np.sqrt(np.clip(np.diag(sigma_y), 0.0, None))
    if np.any(sd <= _TOL):
        raise ValueError("a moment has zero variance")
    verts = _dual_vertices(x, sd)
    theta = np.asarray(theta, dtype=float)
    if len(verts) == 0:  # the linear programme is unbounded below: nothing is rejected
        return np.ones(theta.shape, dtype=bool)
    y = y0[None, :] - theta[:, None] * a1[None, :]  # grid x m
    vy = y @ verts.T  # grid x vertices
    best = np.argmax(vy, axis=1)
    eta = vy[np.arange(len(theta)), best]
    gstar = verts[best]  # grid x m
    sg = gstar @ sigma_y
    var_b = np.einsum("ij,ij->i", sg, gstar)
    degenerate = var_b <= np.finfo(float).eps
    var_b = np.where(degenerate, 1.0, var_b)
    b = sg / var_b[:, None]
    s = y - b * eta[:, None]
    num = s @ verts.T
    den = 1.0 - b @ verts.T
    tol = 1e-9
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = num / den
    vlo = np.max(np.where(den > tol, ratio, -np.inf), axis=1)
    vup = np.min(np.where(den < -tol, ratio, np.inf), axis=1)
    sigma_b = np.sqrt(var_b)
    size = alpha
    if hybrid:
        root = _psd_root(sigma_y)
        draws = np.random.default_rng(seed).standard_normal((sims, len(sd))) @ root.T
        lf_cv = float(np.quantile(np.max(draws @ verts.T, axis=1), 1 - kappa))
        vup = np.minimum(vup, lf_cv)
        size = (alpha - kappa) / (1 - kappa)
    zlo, zup = vlo / sigma_b, vup / sigma_b
    stat = eta / sigma_b
    cval = np.maximum(0.0, _trunc_quantile(1 - size, zlo, np.maximum(zup, zlo)))
    reject = (stat > cval) & (zlo <= stat) & (stat <= zup)
    if hybrid:
        reject |= eta > lf_cv
    reject = np.where(degenerate, eta > 0, reject)
    return ~reject


def _gamma(l_vec: np.ndarray) -> np.ndarray:
    """Invertible matrix with first row ``l`` (the other rows unit vectors)."""
    n = len(l_vec)
    drop = int(np.argmax(np.abs(l_vec)))
    rows = [l_vec] + [np.eye(n)[i] for i in range(n) if i != drop]
    return np.vstack(rows)


def rm_grid(betahat: np.ndarray, sigma: np.ndarray, num_pre: int, l_vec: np.ndarray,
            mbar: float, grid_points: int) -> np.ndarray:
    """The grid of R ``computeConditionalCS_DeltaRM``."""
    post = betahat[num_pre:]
    sd_theta = float(np.sqrt(l_vec @ sigma[num_pre:, num_pre:] @ l_vec))
    pre = np.append(betahat[:num_pre], 0.0)
    maxpre = float(np.max(np.abs(np.diff(pre)))) if num_pre > 1 else abs(float(betahat[0]))
    off = float(post @ l_vec)
    half = mbar * float(np.arange(1, len(l_vec) + 1) @ np.abs(l_vec)) * maxpre + 20 * sd_theta
    return np.linspace(off - half, off + half, grid_points)


def rm_ci(betahat: np.ndarray, sigma: np.ndarray, num_pre: int, l_vec: np.ndarray, mbar: float, *,
          alpha: float = 0.05, method: str = "C-LF", grid_points: int = 1000,
          seed: int = 0) -> tuple[float, float]:
    """Confidence interval for ``l' tau_post`` under ``Delta^RM(mbar)``.

    Returns
    -------
    tuple
        ``(ci_low, ci_high)``: the smallest and largest accepted grid values (NaN if none).
    """
    num_post = len(betahat) - num_pre
    grid = rm_grid(betahat, sigma, num_pre, l_vec, mbar, grid_points)
    gamma_inv = np.linalg.inv(_gamma(l_vec))
    accept = np.zeros(grid_points, dtype=bool)
    for s in range(-(num_pre - 1), 1):
        for positive in (True, False):
            a = rm_constraints(num_pre, num_post, mbar, s, positive)
            ag = a[:, num_pre:] @ gamma_inv
            if num_post > 1:
                rows = np.flatnonzero(np.any(a[:, num_pre:] != 0, axis=1))
            else:
                rows = np.arange(a.shape[0])
            y0 = (a @ betahat)[rows]
            sig_y = (a @ sigma @ a.T)[np.ix_(rows, rows)]
            accept |= arp_accept(y0, ag[rows, 0], ag[rows, 1:], sig_y, grid, alpha=alpha,
                                 hybrid=(method == "C-LF"), kappa=alpha / 10, seed=seed)
    if not accept.any():
        return math.nan, math.nan
    if accept[0] or accept[-1]:
        warnings.warn("the relative-magnitudes confidence set reaches the end of the grid; "
                      "its bounds may be understated", RuntimeWarning, stacklevel=3)
    return float(grid[accept].min()), float(grid[accept].max())
