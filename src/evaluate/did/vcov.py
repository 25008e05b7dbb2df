"""Cluster-robust and heteroskedasticity-robust variance of least squares on demeaned data.

The small-sample adjustments are those of fixest and pyfixest by default
(``ssc(k_adj=True, k_fixef="nonnested", G_adj=True)``):

- ``CR1``: ``V = G/(G-1) * (n-1)/(n-K) * B M B`` with ``M`` the sum over clusters of the
  outer products of score sums and ``B`` the bread ``(X'WX)^{-1}``. ``K`` is the number of
  slopes plus the absorbed fixed-effect parameters (levels summed, minus one per extra
  fixed effect), except that a fixed effect nested in the cluster (e.g. the unit effect
  when clustering by unit) is dropped from ``K`` and counted as one parameter.
  Inference uses Student t with ``G - 1`` degrees of freedom.
- ``CR3``: the leave-one-cluster-out jackknife ``sum_g (b_{-g} - b)(b_{-g} - b)'`` times
  the same adjustment as CR1 (as pyfixest's ``CRV3``), where ``b_{-g}`` re-estimates the
  whole model, fixed effects included, without cluster ``g``. It is computed exactly
  without refitting (see :func:`_jackknife_deltas`).
- ``HC1``: ``n/(n-K) * B (sum_i s_i s_i') B`` with ``K`` counting every absorbed
  parameter; t with ``n - K`` degrees of freedom.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from evaluate.did.within import demean, factorize

__all__ = ["cluster_vcov", "vcov_info", "VcovInfo", "nested_in"]

_KINDS = ("CR1", "CR3", "HC1")


@dataclass(frozen=True)
class VcovInfo:
    """A variance matrix and the numbers behind its small-sample adjustment.

    Attributes
    ----------
    vcov
        ``k x k`` variance matrix of the slopes.
    kind
        ``"CR1"``, ``"CR3"`` or ``"HC1"``.
    ssc
        The scalar small-sample factor applied.
    df_k
        Parameters counted in ``n - K``.
    df_t
        Degrees of freedom for t-based inference (``G - 1`` clustered, ``n - K`` HC1).
    n_clusters
        Number of clusters (``n`` for HC1).
    """

    vcov: np.ndarray
    kind: str
    ssc: float
    df_k: int
    df_t: int
    n_clusters: int


def _int_codes(values: np.ndarray) -> tuple[np.ndarray, int]:
    """Non-negative integer codes (used as they are when already so) and the number of slots."""
    v = np.asarray(values).reshape(-1)
    if np.issubdtype(v.dtype, np.integer) and (v.size == 0 or v.min() >= 0):
        return v, int(v.max()) + 1 if v.size else 0
    return factorize(v)


def _n_levels(f: np.ndarray) -> int:
    """Number of distinct values of ``f`` (``np.unique(f).size``, without sorting integer codes)."""
    codes, slots = _int_codes(f)
    return int(np.count_nonzero(np.bincount(codes, minlength=slots)))


def nested_in(f: np.ndarray, cluster: np.ndarray) -> bool:
    """Whether every level of the fixed effect ``f`` lies within a single cluster.

    Linear time: each level's smallest and largest cluster code must coincide.
    """
    fc, n_f = _int_codes(f)
    cc, n_c = _int_codes(cluster)
    if fc.shape[0] != cc.shape[0]:
        raise ValueError(f"fixed effect has {fc.shape[0]} rows, cluster has {cc.shape[0]}")
    if fc.size == 0:
        return True
    lo = np.full(n_f, n_c, dtype=np.int64)
    hi = np.full(n_f, -1, dtype=np.int64)
    np.minimum.at(lo, fc, cc)
    np.maximum.at(hi, fc, cc)
    return bool(np.all((lo == hi) | (lo > hi)))  # lo > hi: a code with no rows


def _group_sum(codes: np.ndarray, n_groups: int, values: np.ndarray) -> np.ndarray:
    """Sum rows of ``values`` (n x ...) by group: returns ``n_groups x ...``."""
    flat = values.reshape(values.shape[0], -1)
    out = np.empty((n_groups, flat.shape[1]))
    for j in range(flat.shape[1]):
        out[:, j] = np.bincount(codes, weights=flat[:, j], minlength=n_groups)
    return out.reshape((n_groups,) + values.shape[1:])


def _jackknife_deltas(Xs: np.ndarray, es: np.ndarray, cl: np.ndarray, G: int,
                      fe: Sequence[np.ndarray], w: np.ndarray | None, XtX: np.ndarray) -> np.ndarray:
    """``b_{-g} - b`` for every cluster, exactly, from one fit (no refits).

    Dropping cluster ``g`` is the same as adding a dummy for each of its rows. By
    Frisch-Waugh-Lovell, with ``X~ = M_D X`` and ``e`` the residuals (both already
    multiplied by the square root of the weights) and ``C_g = (M_D)_{gg}``,
    ``b_{-g} - b = -(X~'X~ - X~_g' C_g^+ X~_g)^{-1} X~_g' C_g^+ e_g``.

    Split the fixed effects into one nested in the cluster (``N``; its within-group
    centring is block diagonal by cluster) and the others (dummies ``O``, few levels).
    With ``R = M_N O`` and ``A = R'R = V L V'``, ``Rt = R V L^{-1/2}``,
    ``C_g + P_g = I - Rt_g Rt_g'`` where ``P_g`` projects on the nested groups'
    (weighted) constants, to which ``X~_g`` and ``e_g`` are orthogonal. Woodbury then
    gives ``X~_g' C_g^+ Z_g = X~_g'Z_g + (X~_g'Rt_g)(I - Rt_g'Rt_g)^{-1}(Rt_g'Z_g)``:
    only per-cluster cross products, computed with bincount.
    """
    n, k = Xs.shape
    sw = np.ones(n) if w is None else np.sqrt(w)
    nested = [f for f in fe if nested_in(f, cl)]
    others = [f for f in fe if not any(f is g for g in nested)]
    if nested:
        main = max(nested, key=lambda f: np.unique(f).size)
        others += [f for f in nested if f is not main]
        nested_fe = [main]
    else:
        nested_fe = []
    if others:
        blocks = []
        for f in others:
            codes, n_levels = factorize(f)
            if n * n_levels > 50_000_000:
                raise ValueError("CR3 with many fixed-effect levels not nested in the cluster is not "
                                 "supported (cluster by a variable that nests the unit, or use CR1)")
            d = np.zeros((n, n_levels))
            d[np.arange(n), codes] = 1.0
            blocks.append(d)
        dummies = np.hstack(blocks)
        R = (demean(dummies, nested_fe, weights=w) if nested_fe else dummies) * sw[:, None]
        lam, V = np.linalg.eigh(R.T @ R)
        keep = lam > 1e-10 * max(1.0, float(lam.max()))
        Rt = R @ (V[:, keep] / np.sqrt(lam[keep]))
    else:
        Rt = np.zeros((n, 0))
    r = Rt.shape[1]
    XX_g = _group_sum(cl, G, Xs[:, :, None] * Xs[:, None, :])          # G x k x k
    Xe_g = _group_sum(cl, G, Xs * es[:, None])                          # G x k
    if r:
        XR_g = _group_sum(cl, G, Xs[:, :, None] * Rt[:, None, :])      # G x k x r
        RR_g = _group_sum(cl, G, Rt[:, :, None] * Rt[:, None, :])      # G x r x r
        Re_g = _group_sum(cl, G, Rt * es[:, None])                      # G x r
        core = np.eye(r)[None] - RR_g
        try:
            sol_X = np.linalg.solve(core, np.transpose(XR_g, (0, 2, 1)))   # G x r x k
            sol_e = np.linalg.solve(core, Re_g[:, :, None])[:, :, 0]       # G x r
        except np.linalg.LinAlgError:
            pinv = np.linalg.pinv(core, hermitian=True)
            sol_X = pinv @ np.transpose(XR_g, (0, 2, 1))
            sol_e = (pinv @ Re_g[:, :, None])[:, :, 0]
        A_g = XX_g + XR_g @ sol_X
        b_g = Xe_g + (XR_g @ sol_e[:, :, None])[:, :, 0]
    else:
        A_g, b_g = XX_g, Xe_g
    lhs = XtX[None] - A_g
    try:
        delta = -np.linalg.solve(lhs, b_g[:, :, None])[:, :, 0]
    except np.linalg.LinAlgError:
        delta = -(np.linalg.pinv(lhs) @ b_g[:, :, None])[:, :, 0]
    return delta


def vcov_info(X_dm: np.ndarray, resid: np.ndarray, *, cluster: np.ndarray | None = None,
              weights: np.ndarray | None = None, kind: str = "CR1", n_absorbed: int,
              bread: np.ndarray | None = None, fe: Sequence[np.ndarray] | None = None) -> VcovInfo:
    """Variance of least-squares slopes on demeaned data, with its degrees of freedom.

    Parameters
    ----------
    X_dm
        ``n x k`` regressors after the within transformation (not multiplied by weights).
    resid
        Length-``n`` residuals of the fit on demeaned data.
    cluster
        Length-``n`` cluster ids (required for CR1 and CR3; ignored for HC1).
    weights
        Optional positive regression weights (weighted least squares).
    kind
        ``"CR1"``, ``"CR3"`` or ``"HC1"``.
    n_absorbed
        Absorbed fixed-effect parameters, counted as fixest does
        (:func:`evaluate.did.within.absorbed_parameters`); 0 without fixed effects.
    bread
        ``(X'WX)^{-1}`` if already computed.
    fe
        The absorbed fixed effects (integer codes). Used to drop fixed effects nested in
        the cluster from ``K`` (fixest's ``"nonnested"``) and, for CR3, to re-estimate
        them when a cluster is left out. Without it no nesting is assumed and CR3 treats
        the model as having no fixed effects.

    Returns
    -------
    VcovInfo
    """
    if kind not in _KINDS:
        raise ValueError(f"kind must be one of {_KINDS}, not {kind!r}")
    X = np.asarray(X_dm, dtype=np.float64)
    if X.ndim == 1:
        X = X.reshape(-1, 1)
    e = np.asarray(resid, dtype=np.float64).reshape(-1)
    n, k = X.shape
    w = None if weights is None else np.asarray(weights, dtype=np.float64).reshape(-1)
    Xw = X if w is None else X * w[:, None]
    XtX = X.T @ Xw
    B = np.linalg.inv(XtX) if bread is None else np.asarray(bread, dtype=np.float64)
    scores = Xw * e[:, None]
    fe = list(fe or [])
    if kind == "HC1":
        df_k = k + int(n_absorbed)
        ssc = n / (n - df_k)
        V = ssc * (B @ (scores.T @ scores) @ B)
        return VcovInfo(V, kind, float(ssc), df_k, n - df_k, n)
    if cluster is None:
        raise ValueError(f"{kind} needs cluster ids")
    cl, G = factorize(np.asarray(cluster).reshape(-1))
    if cl.shape[0] != n:
        raise ValueError(f"cluster has {cl.shape[0]} rows, X has {n}")
    if G < 2:
        raise ValueError("clustered variance needs at least two clusters")
    df_k = k + int(n_absorbed)
    nested = [f for f in fe if nested_in(f, cl)]
    if nested:
        df_k += -sum(_n_levels(f) for f in nested) + len(nested)
    ssc = (n - 1) / (n - df_k) * G / (G - 1)
    if kind == "CR1":
        S = _group_sum(cl, G, scores)
        V = ssc * (B @ (S.T @ S) @ B)
    else:
        sw = np.ones(n) if w is None else np.sqrt(w)
        delta = _jackknife_deltas(X * sw[:, None], e * sw, cl, G, fe, w, XtX)
        V = ssc * (delta.T @ delta)
    return VcovInfo(V, kind, float(ssc), int(df_k), G - 1, G)


def cluster_vcov(X_dm: np.ndarray, resid: np.ndarray, *, cluster: np.ndarray | None = None,
                 weights: np.ndarray | None = None, kind: str = "CR1", n_absorbed: int,
                 bread: np.ndarray | None = None, fe: Sequence[np.ndarray] | None = None) -> np.ndarray:
    """Cluster-robust (CR1, CR3) or heteroskedasticity-robust (HC1) variance matrix.

    The same as :func:`vcov_info` but returns only the ``k x k`` matrix; see there and the
    module docstring for the adjustments (pyfixest's defaults).
    """
    return vcov_info(X_dm, resid, cluster=cluster, weights=weights, kind=kind,
                     n_absorbed=n_absorbed, bread=bread, fe=fe).vcov
