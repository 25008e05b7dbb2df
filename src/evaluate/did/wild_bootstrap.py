"""Wild cluster bootstrap for one coefficient of a fixed-effects regression.

The restricted wild cluster bootstrap (WCR; Cameron, Gelbach and Miller 2008; MacKinnon
and Webb 2017, 2018) imposes the null hypothesis, flips the signs (or scales) of the
restricted residuals cluster by cluster and recomputes the cluster-robust t statistic.
It is the recommended test when there are few clusters (here 4 to 18 areas or hubs),
where the analytic CR1 t test over-rejects.

The work is done on the already demeaned design (fixed effects absorbed by the within
transformation, which commutes with the bootstrap because the bootstrap outcome is built
from fitted values and residuals of the demeaned regression). Everything is reduced to
cluster-level sums once, so each draw costs ``O(G^2)`` and all draws of a chunk are one
matrix product: there is no loop over units or clusters (MacKinnon 2023, "Fast cluster
bootstrap methods for linear regression models").

Functions
---------
- :func:`wcr_pvalue`: the core, on demeaned ``X``, ``y`` and cluster codes.
- :func:`wild_cluster_bootstrap`: the front, from a panel (or a result that carries its
  demeaned design in ``extra["design"]``, a :class:`FEDesign`).
- :func:`cluster_multiplier_bootstrap`: a multiplier bootstrap of influence functions
  summed within clusters (for aggregated effects).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from evaluate.errors import InputError

__all__ = ["FEDesign", "wcr_pvalue", "wild_cluster_bootstrap", "cluster_multiplier_bootstrap",
           "draw_weights", "WEIGHT_TYPES"]

#: Bootstrap weight distributions (all mean 0, variance 1).
WEIGHT_TYPES: tuple[str, ...] = ("rademacher", "webb", "mammen")

_WEBB = np.array([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)])
_SQRT5 = np.sqrt(5.0)
_MAMMEN_LOW = -(_SQRT5 - 1) / 2
_MAMMEN_HIGH = (_SQRT5 + 1) / 2
_MAMMEN_P_LOW = (_SQRT5 + 1) / (2 * _SQRT5)


@dataclass(frozen=True)
class FEDesign:
    """A regression with fixed effects already absorbed, ready for the bootstrap.

    Attributes
    ----------
    X_dm
        Demeaned regressors (n x K), already multiplied by ``sqrt(weights)`` if weighted.
    y_dm
        Demeaned outcome (n), likewise.
    cluster
        Cluster codes 0..G-1 (n).
    names
        Coefficient names (K).
    restrictions
        Optional named linear combinations ``r'beta`` (each a length-K vector), e.g. an
        aggregated event-time effect; :func:`wild_cluster_bootstrap` accepts their names
        as ``param``.
    """

    X_dm: np.ndarray
    y_dm: np.ndarray
    cluster: np.ndarray
    names: tuple[str, ...]
    restrictions: dict[str, np.ndarray] = field(default_factory=dict)


def draw_weights(kind: str, size: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Draw bootstrap weights of one kind.

    Parameters
    ----------
    kind
        ``"rademacher"`` (+-1 with probability 1/2), ``"webb"`` (six points
        +-sqrt(3/2), +-1, +-sqrt(1/2), each with probability 1/6) or ``"mammen"`` (the
        two-point distribution with third moment 1).
    size
        Output shape.
    rng
        A :class:`numpy.random.Generator`.

    Returns
    -------
    numpy.ndarray
        Weights with mean 0 and variance 1.
    """
    if kind == "rademacher":
        return rng.integers(0, 2, size=size).astype(float) * 2.0 - 1.0
    if kind == "webb":
        return _WEBB[rng.integers(0, 6, size=size)]
    if kind == "mammen":
        return np.where(rng.random(size) < _MAMMEN_P_LOW, _MAMMEN_LOW, _MAMMEN_HIGH)
    raise InputError(f"unknown bootstrap weights {kind!r} (use one of {', '.join(WEIGHT_TYPES)})")


def _cluster_codes(cluster) -> tuple[np.ndarray, int]:
    _, codes = np.unique(np.asarray(cluster), return_inverse=True)
    codes = codes.ravel()
    return codes, int(codes.max()) + 1 if codes.size else 0


def _cluster_sum(M: np.ndarray, codes: np.ndarray, G: int) -> np.ndarray:
    """Sum the rows of ``M`` (n x m, or n) within clusters: G x m (or G)."""
    C = sparse.csr_matrix((np.ones(codes.size), (codes, np.arange(codes.size))), shape=(G, codes.size))
    return np.asarray(C @ M)


def _reparametrise(X: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Regressors whose first coefficient is ``r'beta`` (same column space as ``X``)."""
    r = np.asarray(r, dtype=float)
    # T = [r'; N'] with N an orthonormal basis of the complement of r: invertible.
    _, _, vt = np.linalg.svd(r[None, :])
    T = np.vstack([r[None, :], vt[1:]])
    return X @ np.linalg.inv(T)


class _WCRParts:
    """Cluster-level pieces of the bootstrap t statistic for H0: beta_k = b (linear in b)."""

    def __init__(self, X: np.ndarray, y: np.ndarray, codes: np.ndarray, G: int, k: int,
                 impose_null: bool) -> None:
        n, K = X.shape
        XtX_inv = np.linalg.pinv(X.T @ X)
        beta = XtX_inv @ (X.T @ y)
        resid = y - X @ beta
        a = X @ XtX_inv[:, k]                     # beta_k = a'y
        self.beta_k = float(beta[k])
        self.score = _cluster_sum(a * resid, codes, G)       # observed: se^2 ~ sum score^2
        A = _cluster_sum(X * a[:, None], codes, G)           # G x K
        AP = A @ XtX_inv                                       # G x K
        if impose_null:
            X_r = np.delete(X, k, axis=1)
            if X_r.shape[1]:
                P_r = np.linalg.pinv(X_r.T @ X_r)
                u0 = y - X_r @ (P_r @ (X_r.T @ y))            # restricted residuals at b = 0
                m = X[:, k] - X_r @ (P_r @ (X_r.T @ X[:, k]))  # d u_r / d b = -m
            else:
                u0, m = y.copy(), X[:, k].copy()
            self.c0, self.c1 = _cluster_sum(a * u0, codes, G), _cluster_sum(a * m, codes, G)
            S0, S1 = _cluster_sum(X * u0[:, None], codes, G), _cluster_sum(X * m[:, None], codes, G)
            self.F0 = np.diag(self.c0) - AP @ S0.T
            self.F1 = np.diag(self.c1) - AP @ S1.T
        else:
            self.c0 = _cluster_sum(a * resid, codes, G)
            self.c1 = np.zeros(G)
            S = _cluster_sum(X * resid[:, None], codes, G)
            self.F0 = np.diag(self.c0) - AP @ S.T
            self.F1 = np.zeros((G, G))
        self.impose_null = impose_null
        self.se_unscaled = float(np.sqrt(np.sum(self.score ** 2)))

    def t_obs(self, b: float) -> float:
        return (self.beta_k - b) / self.se_unscaled

    def t_star(self, V: np.ndarray, b: float) -> tuple[np.ndarray, np.ndarray]:
        """Bootstrap t statistics and coefficient deviations for draws V (G x B)."""
        c = self.c0 - b * self.c1
        num = c @ V
        den = np.sqrt(np.sum(((self.F0 - b * self.F1) @ V) ** 2, axis=0))
        with np.errstate(divide="ignore", invalid="ignore"):
            t = num / den
        return t, num


def _all_signs(G: int) -> np.ndarray:
    """All 2^G Rademacher sign vectors as a G x 2^G matrix."""
    idx = np.arange(2 ** G)
    return ((idx[None, :] >> np.arange(G)[:, None]) & 1) * 2.0 - 1.0


def _pvalue(parts: _WCRParts, Vs: list[np.ndarray], b: float) -> float:
    t0 = abs(parts.t_obs(b))
    hits = total = 0
    for V in Vs:
        t, _ = parts.t_star(V, b)
        t = np.abs(np.nan_to_num(t, nan=0.0))
        hits += int(np.sum(t >= t0 * (1 - 1e-12)))
        total += V.shape[1]
    return hits / total


def wcr_pvalue(X_dm: np.ndarray, y_dm: np.ndarray, cluster, coef_index: int | np.ndarray,
               draws: int = 999, weights: str = "rademacher", rng: np.random.Generator | None = None,
               *, impose_null: bool = True, enumerate_all: bool | None = None, level: float | None = 0.95,
               chunk: int = 2000) -> dict[str, Any]:
    """Wild cluster bootstrap p-value (and interval) for one coefficient or combination.

    Parameters
    ----------
    X_dm, y_dm
        Demeaned regressors (n x K) and outcome (n); multiply both by ``sqrt(w)`` first
        for weighted least squares.
    cluster
        Cluster labels or codes (n).
    coef_index
        Column of ``X_dm`` to test (H0: beta_k = 0), or a length-K vector ``r`` to test
        H0: ``r'beta = 0``.
    draws
        Bootstrap draws (ignored under full enumeration).
    weights
        ``"rademacher"``, ``"webb"`` or ``"mammen"``.
    rng
        ``numpy.random.default_rng(seed)``; required unless enumerating.
    impose_null
        True: WCR (residuals of the regression with the null imposed). False: WCU
        (unrestricted residuals, bootstrap t centred at the estimate).
    enumerate_all
        Use all ``2^G`` Rademacher sign vectors (an exact bootstrap p-value). ``None``:
        enumerate when the weights are Rademacher and ``2^G <= draws``.
    level
        Confidence level of the interval, by inverting the bootstrap test (WCR) or the
        bootstrap-t percentiles (WCU); ``None`` for no interval.
    chunk
        Draws per matrix product (memory bound only).

    Returns
    -------
    dict
        ``p_value`` (symmetric: share of ``|t*| >= |t|``), ``t_stat`` (unscaled CR0; the
        small-sample factor cancels in the bootstrap), ``estimate``, ``se`` (standard
        deviation of the bootstrap coefficient draws), ``ci_low``, ``ci_high``,
        ``draws`` (number used), ``enumerated``, ``n_clusters``.

    Notes
    -----
    Ties (frequent with few clusters and Rademacher weights) count as at least as
    extreme, which makes the test conservative rather than liberal.
    """
    X = np.asarray(X_dm, dtype=float)
    y = np.asarray(y_dm, dtype=float).ravel()
    if X.ndim == 1:
        X = X[:, None]
    codes, G = _cluster_codes(cluster)
    if G < 2:
        raise InputError("the wild cluster bootstrap needs at least 2 clusters")
    if np.ndim(coef_index) == 0:
        k = int(coef_index)
    else:
        X = _reparametrise(X, np.asarray(coef_index, dtype=float))
        k = 0
    if enumerate_all is None:
        enumerate_all = weights == "rademacher" and G <= 20 and 2 ** G <= draws
    if enumerate_all:
        if weights != "rademacher":
            raise InputError("full enumeration is for Rademacher weights only")
        if G > 20:
            raise InputError(f"full enumeration of 2^{G} sign vectors is too many (G <= 20)")
        Vs = [_all_signs(G)]
    else:
        if rng is None:
            raise InputError("a random generator (rng) is needed unless enumerating")
        Vs, left = [], int(draws)
        while left > 0:
            b = min(chunk, left)
            Vs.append(draw_weights(weights, (G, b), rng))
            left -= b
    parts = _WCRParts(X, y, codes, G, k, impose_null)
    n_draws = sum(V.shape[1] for V in Vs)
    nums = np.concatenate([parts.t_star(V, 0.0)[1] for V in Vs])
    out: dict[str, Any] = {"estimate": parts.beta_k, "t_stat": parts.t_obs(0.0), "se": float(np.std(nums)),
                           "draws": n_draws, "enumerated": bool(enumerate_all), "n_clusters": G,
                           "ci_low": None, "ci_high": None}
    if impose_null:
        out["p_value"] = _pvalue(parts, Vs, 0.0)
    else:
        ts = np.abs(np.concatenate([parts.t_star(V, 0.0)[0] for V in Vs]))
        out["p_value"] = float(np.mean(ts >= abs(out["t_stat"]) * (1 - 1e-12)))
    if level is not None:
        alpha = 1 - level
        if impose_null:
            out["ci_low"], out["ci_high"] = _invert(parts, Vs, alpha)
        else:
            q = float(np.quantile(ts, level))
            out["ci_low"] = parts.beta_k - q * parts.se_unscaled
            out["ci_high"] = parts.beta_k + q * parts.se_unscaled
    return out


def _invert(parts: _WCRParts, Vs: list[np.ndarray], alpha: float) -> tuple[float | None, float | None]:
    """Interval {b : p(b) > alpha} by bisection on each side of the estimate."""
    est, scale = parts.beta_k, parts.se_unscaled
    if not np.isfinite(scale) or scale == 0:
        return None, None
    bounds = []
    for sign in (-1.0, 1.0):
        inner, outer = est, None
        step = scale
        for _ in range(60):
            cand = est + sign * step
            if _pvalue(parts, Vs, cand) <= alpha:
                outer = cand
                break
            inner = cand
            step *= 2.0
        if outer is None:
            bounds.append(None)
            continue
        for _ in range(50):
            mid = (inner + outer) / 2
            if _pvalue(parts, Vs, mid) > alpha:
                inner = mid
            else:
                outer = mid
            if abs(outer - inner) <= 1e-8 * max(scale, abs(est)):
                break
        bounds.append(float((inner + outer) / 2))
    return bounds[0], bounds[1]


def _demean_cols(M: np.ndarray, fe: list[np.ndarray], w: np.ndarray | None) -> np.ndarray:
    from evaluate.did.within import demean

    return np.asarray(demean(M, fe, weights=w))


def wild_cluster_bootstrap(result_or_data, *, param: str, cluster: str | None = None, draws: int = 999,
                           weights: str = "rademacher", impose_null: bool = True, seed: int | None = None,
                           outcome: str | None = None, regressors: Sequence[str] = (),
                           fixed_effects: Sequence[str] = (), obs_weights: str | None = None,
                           enumerate_all: bool | None = None, level: float | None = 0.95) -> dict[str, Any]:
    """Wild cluster bootstrap test of one coefficient of a fixed-effects regression.

    Parameters
    ----------
    result_or_data
        A panel (:class:`pandas.DataFrame`) with the columns named below, or an estimator
        result whose ``extra["design"]`` is a :class:`FEDesign` (e.g. from
        :func:`evaluate.did.sun_abraham`).
    param
        The coefficient to test (H0: it is 0): a regressor name, or a name in the
        design's ``names``/``restrictions`` (e.g. ``"e=0"``).
    cluster
        Cluster column (data path). For a result, the design's clusters are used.
    draws, weights, impose_null, enumerate_all, level
        As in :func:`wcr_pvalue`.
    seed
        Seed for :func:`numpy.random.default_rng`.
    outcome, regressors, fixed_effects, obs_weights
        Data path: outcome column, regressor columns, fixed-effect columns (absorbed by
        :func:`evaluate.did.within.demean`) and an optional weights column.

    Returns
    -------
    dict
        As :func:`wcr_pvalue`, plus ``param`` and ``settings`` (every choice).

    Examples
    --------
    The wild cluster bootstrap p-value of a TWFE coefficient, from the data (units are
    the clusters here):

    >>> from evaluate.did import example_panel, wild_cluster_bootstrap
    >>> panel = example_panel(n_units=60, seed=0)
    >>> panel["treated"] = ((panel["cohort"] > 0) & (panel["period"] >= panel["cohort"])).astype(float)
    >>> out = wild_cluster_bootstrap(panel, param="treated", cluster="id", draws=199, seed=1,
    ...                              outcome="y", regressors=["treated"],
    ...                              fixed_effects=["id", "period"])
    >>> out["param"], out["p_value"] < 0.05
    ('treated', True)
    """
    settings: dict[str, Any] = {"param": param, "draws": draws, "weights": weights,
                                "impose_null": impose_null, "seed": seed, "level": level,
                                "method": "WCR" if impose_null else "WCU"}
    if weights not in WEIGHT_TYPES:
        raise InputError(f"unknown bootstrap weights {weights!r} (use one of {', '.join(WEIGHT_TYPES)})")
    if isinstance(result_or_data, pd.DataFrame):
        df = result_or_data
        if outcome is None or not regressors or cluster is None:
            raise InputError("with data, give outcome, regressors and cluster")
        regressors = list(regressors)
        if param not in regressors:
            raise InputError(f"param {param!r} is not one of the regressors {regressors}")
        cols = [outcome, *regressors, *fixed_effects, cluster] + ([obs_weights] if obs_weights else [])
        for c in cols:
            if c not in df.columns:
                raise InputError("column not found", column=c)
        d = df.loc[:, list(dict.fromkeys(cols))].dropna()
        w = d[obs_weights].to_numpy(float) if obs_weights else None
        M = d[[outcome, *regressors]].to_numpy(float)
        fe = [pd.factorize(d[f])[0] for f in fixed_effects]
        M = _demean_cols(M, fe, w) if fe else M
        if w is not None:
            M = M * np.sqrt(w)[:, None]
        y_dm, X_dm = M[:, 0], M[:, 1:]
        cl = d[cluster].to_numpy()
        target: int | np.ndarray = regressors.index(param)
        settings.update(outcome=outcome, regressors=regressors, fixed_effects=list(fixed_effects),
                        cluster=cluster, obs_weights=obs_weights)
    else:
        design = getattr(result_or_data, "extra", {}).get("design")
        if not isinstance(design, FEDesign):
            raise InputError("this result carries no demeaned design (extra['design']); pass the data")
        X_dm, y_dm, cl = design.X_dm, design.y_dm, design.cluster
        if param in design.restrictions:
            target = np.asarray(design.restrictions[param], dtype=float)
        elif param in design.names:
            target = design.names.index(param)
        else:
            raise InputError(f"param {param!r} is not in the result ({', '.join(design.restrictions or design.names)})")
        settings.update({k: v for k, v in getattr(result_or_data, "settings", {}).items() if k not in settings})
    rng = np.random.default_rng(seed)
    out = wcr_pvalue(X_dm, y_dm, cl, target, draws=draws, weights=weights, rng=rng,
                     impose_null=impose_null, enumerate_all=enumerate_all, level=level)
    settings["enumerated"] = out["enumerated"]
    out["param"] = param
    out["settings"] = settings
    return out


def cluster_multiplier_bootstrap(inf_func: np.ndarray, cluster, draws: int = 999,
                                 weights: str = "rademacher", rng: np.random.Generator | None = None,
                                 *, level: float = 0.95) -> dict[str, Any]:
    """Multiplier bootstrap of influence functions, one weight per cluster.

    Parameters
    ----------
    inf_func
        n x K influence functions, scaled so that ``estimate - truth ~ inf_func.sum(0)``.
    cluster
        Cluster labels (n): the influence functions are summed within clusters, then each
        cluster sum is multiplied by one bootstrap weight.
    draws, weights, rng
        Number of draws, weight distribution (:data:`WEIGHT_TYPES`), random generator.
    level
        Level of the simultaneous (sup-t) critical value.

    Returns
    -------
    dict
        ``draws`` (B x K bootstrap deviations), ``se`` (K), ``crit_value`` (sup-t over
        the K estimates), ``n_clusters``. Computed by
        :func:`evaluate.did.inference.multiplier_bootstrap` (one implementation).
    """
    from evaluate.did.inference import multiplier_bootstrap

    psi = np.asarray(inf_func, dtype=float)
    if psi.ndim == 1:
        psi = psi[:, None]
    if rng is None:
        raise InputError("a random generator (rng) is needed")
    n = psi.shape[0]
    # inference.multiplier_bootstrap (shared with Callaway-Sant'Anna) scales influence
    # functions as R did: se = sqrt(mean(inf^2) / n), i.e. inf = n * psi here.
    se, crit, boot = multiplier_bootstrap(n * psi, cluster=np.asarray(cluster), draws=draws,
                                          weights=weights, rng=rng, level=level)
    return {"draws": np.asarray(boot) / np.sqrt(n), "se": np.asarray(se), "crit_value": float(crit),
            "n_clusters": _cluster_codes(cluster)[1]}
