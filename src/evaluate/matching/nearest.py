"""Nearest-neighbour matching: k:1, with or without replacement, caliper, exact blocks.

Greedy matching without replacement is sequential by nature (each match removes a
control), so it loops over the *treated* units in matching order; every search inside
the loop is logarithmic (a sorted array of control scores with "next available" pointers)
or one vectorised distance computation, never a loop over controls. Matching with
replacement is fully vectorised.

The rules follow R's ``MatchIt`` (``method = "nearest"``), as documented in
``tests/matching/against_r/README.md`` and tested against its output there.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from evaluate.errors import InputError
from evaluate.matching.propensity import design_matrix, propensity_score, treatment_indicator

__all__ = ["MatchResult", "nearest_neighbour", "block_labels", "REASONS"]

#: Why a unit is not in the matched sample (the values of ``MatchResult.units["reason"]``).
REASONS = {
    "support": "outside common support",
    "caliper": "no comparison unit within the caliper",
    "block": "no comparison unit left in its exact block",
    "unused": "comparison unit not chosen",
    "unbalanced": "its exact block cannot be balanced",
}

_DISTANCES = ("propensity", "logit", "mahalanobis")
_ORDERS = ("largest", "smallest", "data", "random")


@dataclass(frozen=True, eq=False)
class MatchResult:
    """The result of :func:`nearest_neighbour`.

    Attributes
    ----------
    units
        One row per input unit: ``unit``, ``treated``, ``block`` (exact-matching block),
        ``score`` (propensity score, if fitted), ``distance`` (the matching distance measure
        for score-based matching), ``weight`` (matching weight; 0 = not in the matched
        sample), ``subclass`` (the treated unit's match id), ``reason`` (why a unit is not
        matched, one of :data:`REASONS`' values, empty when matched).
    pairs
        One row per treated-control match: ``subclass``, ``treated_unit``, ``control_unit``,
        ``gap`` (the distance between them).
    settings
        Every choice that produced the match.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluate.matching import nearest_neighbour
    >>> df = pd.DataFrame({"id": range(8), "treated": [1, 1, 0, 0, 0, 0, 0, 0],
    ...                    "x": [5.0, 3.0, 4.9, 1.0, 3.1, 0.0, 2.0, 0.5]})
    >>> m = nearest_neighbour(df, treatment="treated", unit="id", covariates=["x"])
    >>> m.counts()["comparison_matched"]
    2
    >>> int(m.weights.sum())
    4
    """

    units: pd.DataFrame
    pairs: pd.DataFrame
    settings: Mapping[str, Any]
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    @property
    def weights(self) -> pd.Series:
        """Matching weights indexed by unit (0 for units left out)."""
        return self.units.set_index("unit")["weight"]

    @property
    def matched(self) -> pd.DataFrame:
        """The matched sample: units with a positive weight."""
        return self.units.loc[self.units["weight"] > 0].reset_index(drop=True)

    def counts(self) -> dict[str, int]:
        """Units in, matched and left out (by reason), for treated and comparison units."""
        u = self.units
        out = {"treated": int(u["treated"].sum()), "comparison": int((~u["treated"]).sum()),
               "treated_matched": int((u["treated"] & (u["weight"] > 0)).sum()),
               "comparison_matched": int((~u["treated"] & (u["weight"] > 0)).sum())}
        for key, text in REASONS.items():
            for role, mask in (("treated", u["treated"]), ("comparison", ~u["treated"])):
                n = int((mask & (u["reason"] == text)).sum())
                if n:
                    out[f"{role}_dropped_{key}"] = n
        return out

    def to_frame(self) -> pd.DataFrame:
        """A copy of the per-unit table."""
        return self.units.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: settings and counts (the per-unit table is written separately)."""
        from evaluate.numbers import jsonable

        return jsonable({"settings": dict(self.settings), "counts": self.counts(),
                          "extra": {k: v for k, v in self.extra.items() if not isinstance(v, np.ndarray)}})

    def summary(self) -> str:
        """Counts and settings as text."""
        c = self.counts()
        lines = [f"nearest-neighbour matching ({self.settings['ratio']}:1, "
                 f"{'with' if self.settings['replace'] else 'without'} replacement, "
                 f"distance {self.settings['distance']})",
                 f"  treated: {c['treated']:,}, matched {c['treated_matched']:,}",
                 f"  comparison: {c['comparison']:,}, used {c['comparison_matched']:,}"]
        for k, v in c.items():
            if "_dropped_" in k:
                role, key = k.split("_dropped_")
                lines.append(f"  {role} left out, {REASONS[key]}: {v:,}")
        for k, v in self.settings.items():
            lines.append(f"  {k}: {v}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, *, title: str = "Propensity score overlap", caption: str | None = None):
        """Distribution of the propensity score by group, before and after matching (a Figure)."""
        from evaluate.matching.plots import overlap_plot

        return overlap_plot(self.units, title=title, caption=caption)


def block_labels(data: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """The exact-matching block of every row: the columns' values joined by " / " (vectorised)."""
    out = data[columns[0]].astype(str)
    for c in columns[1:]:
        out = out.str.cat(data[c].astype(str), sep=" / ")
    return out.to_numpy(dtype=object)


def _caliper_width(caliper: float | None, measure: np.ndarray, keep: np.ndarray) -> float | None:
    """The caliper on the scale of the measure: ``caliper`` standard deviations of it.

    The standard deviation is the sample SD of the distance measure over all units not
    discarded for common support (as ``MatchIt`` with ``std.caliper = TRUE``).
    """
    if caliper is None:
        return None
    return float(caliper) * float(np.std(measure[keep], ddof=1))


class _Available:
    """Controls sorted by value with O(log n) "nearest available on either side" lookups."""

    def __init__(self, values: np.ndarray, order: np.ndarray) -> None:
        self.values = values  # sorted
        self.order = order  # original positions of the sorted values
        n = len(values)
        self.right = np.arange(n + 1)  # next available at or after i (n = none)
        self.left = np.arange(-1, n) + 1  # shifted by one: left[i + 1] = prev available at or before i

    def _find(self, parent: np.ndarray, i: int) -> int:
        root = i
        while parent[root] != root:
            root = parent[root]
        while parent[i] != root:
            parent[i], i = root, parent[i]
        return root

    def next_at_or_after(self, i: int) -> int:
        return self._find(self.right, i)

    def prev_at_or_before(self, i: int) -> int:
        return self._find(self.left, i + 1) - 1

    def remove(self, i: int) -> None:
        self.right[i] = i + 1
        self.left[i + 1] = i

    def nearest(self, v: float) -> int:
        """Sorted index of the nearest available value; ties go to the earliest original position."""
        n = len(self.values)
        pos = int(np.searchsorted(self.values, v, side="left"))
        r = self.next_at_or_after(pos) if pos < n else n
        lft = self.prev_at_or_before(pos - 1) if pos > 0 else -1
        if lft >= 0:
            # among equal values, sorted by original position: take the first available of the run
            start = int(np.searchsorted(self.values, self.values[lft], side="left"))
            lft = self.next_at_or_after(start)
        if r >= n and lft < 0:
            return -1
        if r >= n:
            return lft
        if lft < 0:
            return r
        dl, dr = v - self.values[lft], self.values[r] - v
        if dl < dr or (dl == dr and self.order[lft] < self.order[r]):
            return lft
        return r


def _greedy_1d(t_val: np.ndarray, c_val: np.ndarray, ratio: int, width: float | None
               ) -> tuple[list[list[int]], np.ndarray]:
    """Greedy matching without replacement on one dimension, treated in the given order.

    Returns, per treated unit, the positions of its controls in ``c_val`` (in match order),
    and a flag per treated unit that is True when the caliper (not exhaustion) stopped it.
    """
    order = np.lexsort((np.arange(len(c_val)), c_val))
    avail = _Available(c_val[order], order)
    matches: list[list[int]] = [[] for _ in range(len(t_val))]
    by_caliper = np.zeros(len(t_val), dtype=bool)
    remaining = len(c_val)
    for _round in range(ratio):  # MatchIt: every treated unit gets its first match, then its second ...
        for i, v in enumerate(t_val):
            if _round > 0 and len(matches[i]) < _round:
                continue  # unmatched in an earlier round
            if remaining == 0:
                break
            j = avail.nearest(float(v))
            if j < 0:
                break
            if width is not None and abs(avail.values[j] - v) > width:
                if _round == 0:
                    by_caliper[i] = True
                continue
            matches[i].append(int(order[j]))
            avail.remove(j)
            remaining -= 1
    return matches, by_caliper


def _greedy_md(t_x: np.ndarray, c_x: np.ndarray, ratio: int, t_ps: np.ndarray | None,
               c_ps: np.ndarray | None, width: float | None) -> tuple[list[list[int]], np.ndarray]:
    """Greedy Mahalanobis matching (rows already whitened) without replacement."""
    used = np.zeros(len(c_x), dtype=bool)
    matches: list[list[int]] = [[] for _ in range(len(t_x))]
    by_caliper = np.zeros(len(t_x), dtype=bool)
    c_norm = np.einsum("ij,ij->i", c_x, c_x)
    for _round in range(ratio):
        for i in range(len(t_x)):
            if _round > 0 and len(matches[i]) < _round:
                continue
            # |c - t|^2 = |c|^2 - 2 c.t + |t|^2: one matrix-vector product per treated unit
            d2 = c_norm - 2.0 * (c_x @ t_x[i]) + float(t_x[i] @ t_x[i])
            d2[used] = np.inf
            if width is not None and t_ps is not None and c_ps is not None:
                outside = np.abs(c_ps - t_ps[i]) > width
                if _round == 0 and np.all(outside | used):
                    by_caliper[i] = bool(np.any(~used))
                d2[outside] = np.inf
            j = int(np.argmin(d2))  # first minimum: ties go to the earliest control
            if not np.isfinite(d2[j]):
                continue
            matches[i].append(j)
            used[j] = True
    return matches, by_caliper


def _with_replacement(t_x: np.ndarray, c_x: np.ndarray, ratio: int, t_ps: np.ndarray | None,
                      c_ps: np.ndarray | None, width: float | None) -> tuple[list[list[int]], np.ndarray]:
    """Each treated unit's ``ratio`` nearest controls (controls reusable), vectorised in chunks."""
    n_t = len(t_x)
    matches: list[list[int]] = [[] for _ in range(n_t)]
    by_caliper = np.zeros(n_t, dtype=bool)
    n_c = len(c_x)
    chunk = max(1, int(2_000_000 // max(1, n_c)))
    k = min(ratio, n_c)
    kk = min(n_c, k + 16)  # candidates kept per row: k plus slack for ties at the k-th distance
    one_d = c_x.shape[1] == 1
    c_norm = np.einsum("ij,ij->i", c_x, c_x)
    for s in range(0, n_t, chunk):
        tx = t_x[s:s + chunk]
        if one_d:
            d = np.abs(tx[:, :1] - c_x[:, 0][None, :])  # exact differences on a score
        else:
            d = np.einsum("ij,ij->i", tx, tx)[:, None] + c_norm[None, :] - 2.0 * (tx @ c_x.T)
            np.maximum(d, 0.0, out=d)
        if width is not None and t_ps is not None and c_ps is not None:
            d[np.abs(t_ps[s:s + chunk, None] - c_ps[None, :]) > width] = np.inf
        part = np.argpartition(d, kk - 1, axis=1)[:, :kk] if kk < n_c else np.broadcast_to(np.arange(n_c), d.shape)
        sub = np.take_along_axis(d, part, axis=1)
        # stable order by (distance, control position): ties go to the earliest control
        order = np.lexsort((part, sub), axis=1)[:, :k]
        chosen = np.take_along_axis(part, order, axis=1)
        ok_mask = np.isfinite(np.take_along_axis(sub, order, axis=1))
        for r in range(len(tx)):
            ok = [int(j) for j, good in zip(chosen[r], ok_mask[r], strict=True) if good]
            matches[s + r] = ok
            by_caliper[s + r] = not ok
    return matches, by_caliper


def nearest_neighbour(data: pd.DataFrame, *, treatment: str, unit: str, covariates: Sequence[str] = (),
                      distance: str = "logit", exact: Sequence[str] = (), ratio: int = 1,
                      replace: bool = False, caliper: float | None = None, order: str = "largest",
                      discard: str = "none", seed: int | None = None, source: str | None = None) -> MatchResult:
    """Nearest-neighbour matching of treated to comparison units.

    Parameters
    ----------
    data
        One row per unit.
    treatment
        0/1 column (1 = treated).
    unit
        Unit id column (unique).
    covariates
        Columns of the propensity score (and of the Mahalanobis distance); text columns
        become level indicators.
    distance
        ``"logit"`` (the linear predictor of the logit propensity score, MatchIt
        ``link = "linear.logit"``), ``"propensity"`` (the fitted probability, MatchIt's
        default) or ``"mahalanobis"`` (on the covariates, pooled within-group covariance).
    exact
        Columns to match exactly on (blocks): a treated unit is matched only within its block.
    ratio
        Comparison units per treated unit (k in k:1).
    replace
        Whether a comparison unit may be matched to several treated units.
    caliper
        Largest allowed distance, in standard deviations of the propensity-score measure
        (of ``distance`` for ``"logit"``/``"propensity"``, of the logit score for
        ``"mahalanobis"``); ``None`` = no caliper.
    order
        Order in which treated units are matched without replacement: ``"largest"`` distance
        first (MatchIt's default), ``"smallest"``, ``"data"`` or ``"random"`` (with ``seed``).
    discard
        Common support on the propensity score: ``"none"``, ``"treated"`` (drop treated units
        outside the comparison units' range), ``"control"`` or ``"both"``.
    seed
        Seed for ``order="random"``.

    Returns
    -------
    MatchResult

    Raises
    ------
    InputError
        Unknown column or setting, a duplicated unit, no comparison units, or a
        specification that leaves no treated unit matched (the message gives the counts).

    Examples
    --------
    1:1 nearest-neighbour matching on the logit propensity score, with a caliper of 0.2
    standard deviations:

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"id": range(200), "age": rng.normal(40, 10, 200),
    ...                    "urban": rng.integers(0, 2, 200)})
    >>> df["treated"] = (rng.random(200) < 1 / (1 + np.exp(-(df["age"] - 45) / 5))).astype(int)
    >>> from evaluate.matching import nearest_neighbour
    >>> m = nearest_neighbour(df, treatment="treated", unit="id", covariates=["age", "urban"],
    ...                       caliper=0.2, seed=0)
    >>> m.counts()["treated"], m.counts()["treated_matched"], m.counts()["treated_dropped_caliper"]
    (60, 31, 29)
    >>> m.pairs.columns.tolist()
    ['subclass', 'treated_unit', 'control_unit', 'gap']
    >>> m.matched.shape[0]
    62
    """
    if distance not in _DISTANCES:
        raise InputError(f"distance must be one of {', '.join(_DISTANCES)}, not {distance!r}")
    if order not in _ORDERS:
        raise InputError(f"order must be one of {', '.join(_ORDERS)}, not {order!r}")
    if discard not in ("none", "treated", "control", "both"):
        raise InputError(f"discard must be 'none', 'treated', 'control' or 'both', not {discard!r}")
    if not isinstance(ratio, (int, np.integer)) or ratio < 1:
        raise InputError(f"ratio must be a whole number of at least 1, not {ratio!r}")
    if caliper is not None and not (np.isfinite(caliper) and caliper > 0):
        raise InputError(f"caliper must be a positive number of standard deviations, not {caliper!r}")
    covariates = list(covariates)
    exact = list(exact)
    if unit not in data.columns:
        raise InputError("unit column not found", file=source, column=unit)
    dup = data[unit].duplicated()
    if dup.any():
        row = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(f"unit '{data[unit].iloc[row]}' appears twice (one row per unit)", file=source,
                         column=unit, row=row + 1)
    for c in exact:
        if c not in data.columns:
            raise InputError("exact-matching column not found", file=source, column=c)
    d = treatment_indicator(data, treatment, source=source)
    if not d.any():
        raise InputError("no treated units to match", file=source, column=treatment)
    if d.all():
        raise InputError("no comparison units to match with", file=source, column=treatment)
    if not covariates and (distance != "mahalanobis" or caliper is not None or discard != "none"):
        raise InputError("matching on a propensity score needs covariates", column="covariates")
    n = len(data)
    score = linear = None
    if covariates and (distance in ("logit", "propensity") or caliper is not None or discard != "none"):
        ps = propensity_score(data, treatment=treatment, covariates=covariates, source=source)
        score, linear = ps.score, ps.linear
    measure = None if distance == "mahalanobis" else (linear if distance == "logit" else score)
    ps_measure = measure if measure is not None else linear  # what caliper and order use

    keep = np.ones(n, dtype=bool)
    if discard != "none":
        lo_t, hi_t = score[d].min(), score[d].max()
        lo_c, hi_c = score[~d].min(), score[~d].max()
        if discard in ("treated", "both"):
            keep &= ~(d & ((score < lo_c) | (score > hi_c)))
        if discard in ("control", "both"):
            keep &= ~(~d & ((score < lo_t) | (score > hi_t)))
    width = _caliper_width(caliper, ps_measure, keep) if ps_measure is not None else None

    if exact:
        block = block_labels(data, exact)
    else:
        block = np.full(n, "all", dtype=object)

    whitened = None
    if distance == "mahalanobis":
        x = design_matrix(data, covariates, source=source).to_numpy(dtype=float)
        x = x[:, x[keep].std(axis=0) > 0]
        # pooled within-group covariance
        xc = np.vstack([x[keep & d] - x[keep & d].mean(axis=0), x[keep & ~d] - x[keep & ~d].mean(axis=0)])
        cov = xc.T @ xc / max(1, len(xc) - 2)
        vals, vecs = np.linalg.eigh(cov)
        ok = vals > 1e-12 * vals.max()
        whitened = x @ (vecs[:, ok] / np.sqrt(vals[ok]))

    # matching order of the treated units
    if order == "data" or (ps_measure is None and order in ("largest", "smallest")):
        t_order = np.arange(n)
    elif order == "random":
        t_order = np.random.default_rng(seed).permutation(n)
    else:
        key = -ps_measure if order == "largest" else ps_measure
        t_order = np.lexsort((np.arange(n), key))  # stable: ties in data order

    reason = np.full(n, "", dtype=object)
    reason[~keep] = REASONS["support"]
    ctrl_of: dict[int, list[int]] = {}
    gap_of: dict[int, list[float]] = {}
    for b in pd.unique(block):
        in_b = block == b
        t_pos = t_order[(in_b & d & keep)[t_order]]
        c_pos = np.flatnonzero(in_b & ~d & keep)
        if len(t_pos) == 0:
            continue
        if len(c_pos) == 0:
            reason[t_pos] = REASONS["block"]
            continue
        if distance == "mahalanobis":
            tx, cx = whitened[t_pos], whitened[c_pos]
        else:
            tx, cx = measure[t_pos][:, None], measure[c_pos][:, None]
        t_ps = ps_measure[t_pos] if ps_measure is not None else None
        c_ps = ps_measure[c_pos] if ps_measure is not None else None
        if replace:
            m, by_cal = _with_replacement(tx, cx, int(ratio), t_ps, c_ps, width)
        elif distance == "mahalanobis":
            m, by_cal = _greedy_md(tx, cx, int(ratio), t_ps, c_ps, width)
        else:
            m, by_cal = _greedy_1d(tx[:, 0], cx[:, 0], int(ratio), width)
        for i, tp in enumerate(t_pos):
            if m[i]:
                ctrl_of[int(tp)] = [int(c_pos[j]) for j in m[i]]
                gap_of[int(tp)] = [float(np.sqrt(((tx[i] - cx[j]) ** 2).sum())) for j in m[i]]
            else:
                reason[tp] = REASONS["caliper"] if by_cal[i] else REASONS["block"]

    weights = np.zeros(n)
    subclass = np.full(n, np.nan)
    rows = []
    ids = data[unit].to_numpy()
    for s_id, tp in enumerate(sorted(ctrl_of), start=1):
        cs = ctrl_of[tp]
        weights[tp] = 1.0
        subclass[tp] = s_id
        for c, g in zip(cs, gap_of[tp], strict=True):
            weights[c] += 1.0 / len(cs)
            if not replace:
                subclass[c] = s_id
            rows.append((s_id, ids[tp], ids[c], g))
    used_c = ~d & (weights > 0)
    if used_c.any():
        # MatchIt: comparison weights scaled to sum to the number of comparison units used
        weights[used_c] *= used_c.sum() / weights[used_c].sum()
    reason[~d & keep & ~used_c] = REASONS["unused"]
    n_matched = int((d & (weights > 0)).sum())
    if n_matched == 0:
        raise InputError(f"no treated unit was matched: {int(d.sum()):,} treated, {int((~d).sum()):,} comparison; "
                         f"{int((d & (reason == REASONS['support'])).sum()):,} outside common support, "
                         f"{int((d & (reason == REASONS['caliper'])).sum()):,} with no comparison unit within the "
                         f"caliper, {int((d & (reason == REASONS['block'])).sum()):,} with none in their exact block",
                         column="caliper" if caliper is not None else treatment)
    units = pd.DataFrame({
        "unit": data[unit].to_numpy(), "treated": d, "block": block,
        "score": score if score is not None else np.full(n, np.nan),
        "distance": measure if measure is not None else np.full(n, np.nan),
        "weight": weights, "subclass": subclass, "reason": reason,
    })
    pairs = pd.DataFrame(rows, columns=["subclass", "treated_unit", "control_unit", "gap"])
    settings = dict(treatment=treatment, unit=unit, covariates=covariates, distance=distance, exact=exact,
                    ratio=int(ratio), replace=bool(replace), caliper=caliper, order=order, discard=discard,
                    seed=seed)
    return MatchResult(units, pairs, settings, extra={"caliper_width": width})
