"""Entropy balancing (Hainmueller, 2012): comparison weights that balance by construction.

Within each exact-matching block, the comparison units get weights ``w_j`` as close as
possible to equal (in Kullback-Leibler divergence from the base weights ``q_j``) subject to
the weighted comparison means of every balancing column equalling the treated means
exactly. The solution has the form ``w_j ~ q_j exp(lambda' c_j)``; ``lambda`` minimises the
convex dual ``log sum_j q_j exp(lambda' (c_j - m))``, solved here by Newton's method with
backtracking on standardised columns. Treated units weigh 1 and the comparison weights of
a block sum to its number of treated units, as the matching weights of
:func:`evaluate.matching.nearest_neighbour`, so the result is a :class:`MatchResult` that
the matched DiD reads unchanged.

When the treated means lie outside what any weighting of the comparison units can reach
(the target is outside their convex hull) the dual has no minimum: the solver stops after
``max_iter`` steps, the result records ``converged = False`` and the balance tables show
the remaining imbalance. The implementation is checked against Google's
``empirical_calibration`` (entropy objective) in the tests.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from evaluate.errors import InputError
from evaluate.matching.nearest import REASONS, MatchResult, block_labels

__all__ = ["entropy_weights", "entropy_balance", "balancing_matrix", "UNBALANCED"]

#: Why a treated unit is left out when its block cannot be balanced.
UNBALANCED = "its exact block cannot be balanced"


def entropy_weights(x: np.ndarray, target: np.ndarray, *, base: np.ndarray | None = None, tol: float = 1e-10,
                    max_iter: int = 200) -> tuple[np.ndarray, dict[str, Any]]:
    """Weights (summing to 1) whose weighted means of the columns of ``x`` equal ``target``.

    Parameters
    ----------
    x
        Comparison units x balancing columns.
    target
        The means to reach (the treated units' means).
    base
        Base weights (default equal).
    tol
        Convergence when the largest absolute gap between weighted and target means, in
        standard deviations of the column, is below ``tol``.
    max_iter
        Newton steps at most.

    Returns
    -------
    weights, info
        ``info``: ``converged``, ``iterations``, ``max_gap`` (standardised), ``lambda``.

    Examples
    --------
    >>> import numpy as np
    >>> from evaluate.matching.entropy import entropy_weights
    >>> x = np.array([[0.0], [1.0], [2.0], [3.0]])
    >>> w, info = entropy_weights(x, np.array([2.0]))
    >>> round(float(w @ x[:, 0]), 10), info["converged"]
    (2.0, True)
    """
    x = np.asarray(x, dtype=float)
    target = np.asarray(target, dtype=float)
    n, k = x.shape
    q = np.full(n, 1.0 / n) if base is None else np.asarray(base, dtype=float) / np.sum(base)
    if k == 0:
        return q, {"converged": True, "iterations": 0, "max_gap": 0.0, "lambda": []}
    sd = x.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    c = (x - target) / sd
    lam = np.zeros(k)
    logq = np.log(q)

    def dual(lam_: np.ndarray) -> tuple[float, np.ndarray]:
        z = logq + c @ lam_
        zmax = z.max()
        e = np.exp(z - zmax)
        s = e.sum()
        return float(np.log(s) + zmax), e / s

    f, w = dual(lam)
    converged = False
    it = 0
    gap = np.inf
    for it in range(1, max_iter + 1):  # noqa: B007 - it is reported
        grad = w @ c
        gap = float(np.max(np.abs(grad)))
        if gap < tol:
            converged = True
            break
        cw = c - grad
        hess = (cw * w[:, None]).T @ cw
        try:
            step = np.linalg.solve(hess + 1e-12 * np.eye(k), grad)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(hess, grad, rcond=None)[0]
        t = 1.0
        while True:
            f_new, w_new = dual(lam - t * step)
            if f_new <= f - 1e-4 * t * float(grad @ step) or t < 1e-10:
                break
            t /= 2
        lam, f, w = lam - t * step, f_new, w_new
    else:
        gap = float(np.max(np.abs(w @ c)))
        converged = gap < tol
    return w, {"converged": bool(converged), "iterations": int(it), "max_gap": gap, "lambda": (lam / sd).tolist()}


def balancing_matrix(frame: pd.DataFrame, columns: Sequence[str]) -> tuple[np.ndarray, list[str]]:
    """Numeric balancing columns: numbers as they are, text and booleans as indicators of each level
    but the first. Returns the matrix and the column names."""
    parts, names = [], []
    for col in columns:
        s = frame[col]
        if pd.api.types.is_bool_dtype(s):
            parts.append(s.to_numpy(dtype=float)[:, None])
            names.append(col)
        elif pd.api.types.is_numeric_dtype(s):
            parts.append(s.to_numpy(dtype=float)[:, None])
            names.append(col)
        else:
            levels = sorted(pd.Series(s.dropna().unique()).astype(str))
            as_str = s.astype(str).to_numpy()
            for lev in levels[1:]:
                parts.append((as_str == lev).astype(float)[:, None])
                names.append(f"{col}[{lev}]")
    if not parts:
        return np.empty((len(frame), 0)), []
    return np.hstack(parts), names


def _independent(x: np.ndarray, names: list[str]) -> tuple[np.ndarray, list[str]]:
    """Drop constant and linearly dependent columns (they add no constraint)."""
    keep = [j for j in range(x.shape[1]) if np.ptp(x[:, j]) > 0]
    x, names = x[:, keep], [names[j] for j in keep]
    if x.shape[1] == 0:
        return x, names
    xc = (x - x.mean(0)) / x.std(0)
    _, r = np.linalg.qr(xc)
    d = np.abs(np.diag(r))
    ok = np.zeros(x.shape[1], dtype=bool)  # more columns than units: the rest are dependent
    ok[: len(d)] = d > 1e-8 * max(d.max(), 1.0)
    return x[:, ok], [n for n, o in zip(names, ok, strict=True) if o]


def entropy_balance(frame: pd.DataFrame, *, treatment: str, unit: str, covariates: Sequence[str],
                    exact: Sequence[str] = (), relax: Sequence[str] = (), tol: float = 1e-8, max_iter: int = 200,
                    drop_unbalanced: bool = False, source: str | None = None) -> MatchResult:
    """Entropy-balancing weights for the comparison units of ``frame``, block by block.

    Parameters
    ----------
    frame
        One row per unit: ``treatment`` (0/1), ``unit``, the covariates and exact columns.
    covariates
        Balanced on their means (text columns: the share of each level).
    exact
        Columns defining blocks balanced separately (e.g. phase): each block's comparison
        weights sum to its number of treated units.
    relax
        Covariates given up, in this order, when no weighting balances them all (the
        treated means lie outside what the comparison units can reach, as happens for a
        handful of strongly selected schools): each is dropped from the constraints in
        turn until the rest balance exactly; those dropped are recorded per block
        (``not_balanced``) and the balance tables show what remains.
    tol, max_iter
        As :func:`entropy_weights`.
    drop_unbalanced
        Leave out a block that cannot be balanced even after relaxing (its treated units
        get weight 0 and the reason :data:`UNBALANCED`) instead of keeping its best, not
        balanced, weights.

    Returns
    -------
    MatchResult
        ``units`` with ``weight`` (1 for treated units, the balancing weight for comparison
        units, 0 for units in blocks without treated units) and ``reason``; ``extra`` holds
        per block ``converged``, ``iterations``, ``max_gap`` and the effective number of
        comparison units (Kish).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from evaluate.matching.entropy import entropy_balance
    >>> rng = np.random.default_rng(1)
    >>> df = pd.DataFrame({"id": range(300), "x": rng.normal(size=300)})
    >>> df["treated"] = (rng.random(300) < 1 / (1 + np.exp(-df["x"]))).astype(int)
    >>> m = entropy_balance(df, treatment="treated", unit="id", covariates=["x"])
    >>> u = m.units.merge(df, left_on="unit", right_on="id")
    >>> t, c = u[u["treated_x"]], u[~u["treated_x"]]
    >>> abs(float(np.average(c["x"], weights=c["weight"]) - t["x"].mean())) < 1e-6
    True
    """
    for c in [treatment, unit, *covariates, *exact]:
        if c not in frame.columns:
            raise InputError("column not found", file=source, column=c)
    f = frame.reset_index(drop=True)
    treated = f[treatment].to_numpy().astype(int) == 1
    labels = block_labels(f, exact) if exact else np.full(len(f), "all", dtype=object)
    weight = np.zeros(len(f))
    weight[treated] = 1.0
    reason = np.where(treated, "", "").astype(object)
    blocks: dict[str, dict[str, Any]] = {}
    for b in pd.unique(labels):
        in_b = labels == b
        t_idx = np.flatnonzero(in_b & treated)
        c_idx = np.flatnonzero(in_b & ~treated)
        if len(t_idx) == 0:
            reason[c_idx] = REASONS["unused"]
            continue
        if len(c_idx) == 0:
            raise InputError(f"no comparison units in exact block {b}", file=source, column=",".join(exact))
        x, names = balancing_matrix(f.iloc[np.r_[t_idx, c_idx]], covariates)
        # levels no treated unit has (or every treated unit has) can only be balanced by
        # leaving out the comparison units that have (or lack) them: outside common support
        is_dummy = np.array([np.isin(x[:, j], (0.0, 1.0)).all() for j in range(x.shape[1])], dtype=bool)
        xt0 = x[: len(t_idx)]
        out_c = np.zeros(len(c_idx), dtype=bool)
        for j in np.flatnonzero(is_dummy):
            share = xt0[:, j].mean()
            if share == 0:
                out_c |= x[len(t_idx):, j] == 1
            elif share == 1:
                out_c |= x[len(t_idx):, j] == 0
        if out_c.all():
            raise InputError(f"no comparison unit in exact block {b} shares the treated units' categories",
                             file=source, column=",".join(covariates))
        reason[c_idx[out_c]] = REASONS["support"]
        keep = np.r_[np.ones(len(t_idx), dtype=bool), ~out_c]
        x = x[keep]
        c_idx = c_idx[~out_c]
        x, names = _independent(x, names)
        dropped: list[str] = []
        pending = [r for r in relax if r in covariates]
        while True:
            xt, xc = x[: len(t_idx)], x[len(t_idx):]
            w, info = entropy_weights(xc, xt.mean(axis=0), tol=tol, max_iter=max_iter)
            if info["converged"] or not pending:
                break
            gone = pending.pop(0)
            cols = [j for j, nm in enumerate(names) if nm != gone and not nm.startswith(f"{gone}[")]
            if len(cols) < len(names):
                dropped.append(gone)
            x, names = x[:, cols], [names[j] for j in cols]
        if info["converged"] or not drop_unbalanced:
            weight[c_idx] = w * len(t_idx)
        else:  # this block cannot be balanced: its units are left out, with the reason
            weight[t_idx] = 0.0
            reason[t_idx] = UNBALANCED
            reason[c_idx] = REASONS["unused"]
        info["n_treated"] = int(len(t_idx))
        info["n_comparison"] = int(len(c_idx))
        info["outside_support"] = int(out_c.sum())
        info["effective_comparison"] = float(1.0 / np.sum(w**2))
        info["columns"] = names
        info["not_balanced"] = dropped
        info.pop("lambda", None)
        blocks[str(b)] = info
    units = pd.DataFrame({"unit": f[unit].to_numpy(), "treated": treated, "block": labels,
                          "score": np.nan, "distance": np.nan, "weight": weight,
                          "subclass": np.nan, "reason": reason})
    settings = {"method": "entropy", "covariates": list(covariates), "exact": list(exact), "relax": list(relax),
                "tol": tol,
                "max_iter": max_iter}
    extra = {"blocks": blocks, "converged": any(v["converged"] for v in blocks.values()) if drop_unbalanced
             else all(v["converged"] for v in blocks.values()),
             "effective_comparison": float(sum(v["effective_comparison"] for v in blocks.values()))}
    return MatchResult(units=units, pairs=pd.DataFrame(columns=["subclass", "treated_unit", "control_unit", "gap"]),
                       settings=settings, extra=extra)
