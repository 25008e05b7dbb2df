"""Placebo refits on one matrix: every donor in turn, random placebo draws, the jackknife.

All refits follow R ``synthdid``'s ``placebo_se``: the ridge penalties and the stopping
rule of the original fit are kept, the starting unit weights are the original ones restricted
to the remaining donors and renormalised, and both weight vectors are re-estimated. The unit
weights of all placebos are solved together (:func:`~evaluate.synthcontrol.weights.fw_weights_batch`).
"""

from __future__ import annotations

import numpy as np

from evaluate.synthcontrol.core import Fit, noise_level, sc_fit
from evaluate.synthcontrol.weights import fw_weights_batch, sparsify

__all__ = ["jackknife_se", "placebo_fits", "placebo_se"]


def _normalise(v: np.ndarray) -> np.ndarray:
    s = v.sum()
    return v / s if s > 0 else np.full(v.size, 1.0 / v.size)


def _sdid_refits(Y: np.ndarray, N0: int, T0: int, fit: Fit, pseudo: np.ndarray) -> np.ndarray:
    """SDID refits, one per row of ``pseudo`` (P x m indices of donors used as treated).

    Both the unit weights and the time weights are re-estimated as R does, each set for all
    placebos together (:func:`~evaluate.synthcontrol.weights.fw_weights_batch`).

    Returns the P x T gaps (pseudo-treated mean minus synthetic, the synthetic shifted by the
    lambda-weighted pre-period gap) and the P estimates.
    """
    P = pseudo.shape[0]
    Y0 = Y[:N0]
    noise = noise_level(Y, N0, T0)
    min_dec = 1e-5 * noise if noise > 0 else 1e-10
    # unit weights: columns = donors, rows = pre periods, centred over periods
    A = Y0[:, :T0].T
    A = A - A.mean(axis=0)
    G = A.T @ A
    M = np.zeros((P, N0))
    np.put_along_axis(M, pseudo, 1.0 / pseudo.shape[1], axis=1)
    C = M @ G
    bb = np.einsum("pk,pk->p", C, M)
    allowed = M == 0
    X0 = np.where(allowed, fit.omega[None, :], 0.0)
    X0 = np.array([_normalise(r) if r.sum() > 0 else np.where(a, 1.0 / a.sum(), 0.0)
                   for r, a in zip(X0, allowed, strict=True)])
    kw = dict(n=T0, zeta=fit.zeta_omega, allowed=allowed, min_decrease=min_dec)
    X = fw_weights_batch(G, C, bb, X0=X0, max_iter=100, **kw)
    X = np.array([sparsify(r) for r in X])
    X = fw_weights_batch(G, C, bb, X0=X, max_iter=10_000, **kw)
    if N0 - pseudo.shape[1] < 2:
        lam = np.tile(fit.lam, (P, 1))
    else:
        lam = _time_weights_batch(Y0, T0, fit, pseudo, min_dec)
    gaps = (M - X) @ Y0  # pseudo-treated mean minus synthetic, P x T
    shift = np.einsum("pt,pt->p", lam, gaps[:, :T0])
    taus = gaps[:, T0:].mean(axis=1) - shift
    gaps = gaps - shift[:, None]
    return gaps, taus


def _time_weights_batch(Y0: np.ndarray, T0: int, fit: Fit, pseudo: np.ndarray, min_dec: float) -> np.ndarray:
    """The time weights of every placebo, solved together (each with its own donor rows).

    Problem ``p`` is R's: rows are the donors left after removing ``pseudo[p]``, columns the
    pre periods, target the donors' post-period mean, all centred over those rows.
    """
    P, m = pseudo.shape
    N0 = Y0.shape[0]
    A = Y0[:, :T0]
    b = Y0[:, T0:].mean(axis=1)
    n = N0 - m
    Ar, br = A[pseudo], b[pseudo]  # P x m x T0, P x m
    mA = (A.sum(axis=0)[None, :] - Ar.sum(axis=1)) / n
    mb = (b.sum() - br.sum(axis=1)) / n
    G = (A.T @ A)[None] - np.einsum("pmk,pmj->pkj", Ar, Ar) - n * np.einsum("pk,pj->pkj", mA, mA)
    C = (A.T @ b)[None] - np.einsum("pmk,pm->pk", Ar, br) - n * mA * mb[:, None]
    bb = float(b @ b) - np.einsum("pm,pm->p", br, br) - n * mb**2
    X0 = np.tile(fit.lam, (P, 1))
    kw = dict(n=n, zeta=fit.zeta_lambda, min_decrease=min_dec)
    X = fw_weights_batch(G, C, bb, X0=X0, max_iter=100, **kw)
    X = np.array([sparsify(r) for r in X])
    return fw_weights_batch(G, C, bb, X0=X, max_iter=10_000, **kw)


def _sc_refits(Y: np.ndarray, N0: int, T0: int, pseudo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    Y0 = Y[:N0]
    gaps = np.empty((pseudo.shape[0], Y.shape[1]))
    for p, idx in enumerate(pseudo):
        keep = np.setdiff1d(np.arange(N0), idx)
        f = sc_fit(np.vstack([Y0[keep], Y0[idx]]), keep.size, T0)
        gaps[p] = f.gap
    return gaps, gaps[:, T0:].mean(axis=1)


def placebo_fits(Y: np.ndarray, N0: int, T0: int, fit: Fit, method: str) -> dict[str, np.ndarray]:
    """Every donor in turn as the (single) pseudo-treated unit; the actual treated are left out.

    Returns ``gap`` (N0 x T), ``tau`` (N0), ``pre_rmspe`` and ``post_rmspe`` (N0).
    """
    pseudo = np.arange(N0)[:, None]
    gaps, taus = (_sdid_refits if method == "sdid" else _sc_refits_wrap)(Y[:N0], N0, T0, fit, pseudo)
    return {"gap": gaps, "tau": taus, "pre_rmspe": np.sqrt(np.mean(gaps[:, :T0] ** 2, axis=1)),
            "post_rmspe": np.sqrt(np.mean(gaps[:, T0:] ** 2, axis=1))}


def _sc_refits_wrap(Y, N0, T0, fit, pseudo):
    return _sc_refits(Y, N0, T0, pseudo)


def placebo_se(Y: np.ndarray, N0: int, T0: int, fit: Fit, method: str, *, replications: int,
               rng: np.random.Generator) -> float:
    """R ``synthdid::vcov(method = "placebo")``: ``sqrt((r-1)/r) sd`` of ``r`` placebo estimates.

    Each replication draws ``N1`` donors at random as the pseudo-treated (the rest are donors).
    """
    N1 = Y.shape[0] - N0
    if N0 <= N1:
        return float("nan")
    pseudo = np.array([rng.permutation(N0)[N0 - N1:] for _ in range(replications)])
    fn = _sdid_refits if method == "sdid" else _sc_refits_wrap
    _, taus = fn(Y[:N0], N0, T0, fit, pseudo)
    r = taus.size
    return float(np.sqrt((r - 1) / r) * np.std(taus, ddof=1))


def jackknife_se(Y: np.ndarray, N0: int, T0: int, fit: Fit) -> float:
    """R ``synthdid::vcov(method = "jackknife")`` with the weights held fixed (NaN with one treated unit)."""
    N = Y.shape[0]
    N1 = N - N0
    if N1 < 2:
        return float("nan")
    u = np.empty(N)
    lam = fit.lam
    for i in range(N):
        keep = np.arange(N) != i
        n0 = N0 - (i < N0)
        om = _normalise(fit.omega[np.arange(N0) != i]) if i < N0 else fit.omega
        Yk = Y[keep]
        gap = Yk[n0:].mean(axis=0) - om @ Yk[:n0]
        u[i] = gap[T0:].mean() - (lam @ gap[:T0] if lam.size and lam.sum() > 0 else 0.0)
    return float(np.sqrt((N - 1) / N * np.sum((u - u.mean()) ** 2)))
