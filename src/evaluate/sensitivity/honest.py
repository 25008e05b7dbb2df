"""Rambachan and Roth (2023) "HonestDiD" sensitivity analysis for event studies.

How far may parallel trends fail before the conclusion changes? For event-study estimates
``betahat`` (pre-periods then post-periods, the reference period left out) with covariance
``sigma`` and a target ``theta = l' tau_post`` (by default the average over post-periods),
:func:`honest_did` returns robust confidence intervals under

- relative magnitudes, ``Delta^RM(Mbar)``: no post-period change in the trend violation is
  larger than ``Mbar`` times the largest pre-period change; conditional-least-favourable
  hybrid (``"C-LF"``, the R default) or conditional (``"conditional"``) ARP intervals
  (``_honest_rm.py``);
- smoothness, ``Delta^SD(M)``: the slope of the violation changes by at most ``M`` between
  consecutive periods (``M = 0``: linear extrapolation of the pre-trend); the optimal
  fixed-length interval (``"FLCI"``, ``_honest_sd.py``);

over a grid of ``M``, with the breakdown value (the largest ``M`` at which the interval
still excludes zero) and the original interval. :func:`honest_inputs` builds ``betahat``,
``sigma`` and ``l`` from a :func:`evaluate.did.callaway_santanna` fit (dynamic
aggregation, universal base period); :func:`honest_did_cs` does both.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from evaluate.did.results import finish_plot
from evaluate.errors import InputError
from evaluate.numbers import jsonable
from evaluate.sensitivity._honest_rm import rm_ci
from evaluate.sensitivity._honest_sd import flci

if TYPE_CHECKING:
    from evaluate.did.att_gt import ATTgtResult

__all__ = ["HonestInputs", "HonestResult", "honest_did", "honest_did_cs", "honest_inputs",
           "original_ci"]

#: Columns of :meth:`HonestResult.to_frame`.
HONEST_COLUMNS: tuple[str, ...] = ("restriction", "m", "ci_low", "ci_high", "method")
_RESTRICTIONS = {"relative_magnitude": ("C-LF", "conditional"), "smoothness": ("FLCI",)}


@dataclass(frozen=True)
class HonestInputs:
    """Event-study estimates ready for :func:`honest_did`.

    Attributes
    ----------
    betahat
        Estimates, pre-periods then post-periods (reference period left out).
    sigma
        Their covariance.
    num_pre
        Number of pre-periods.
    l_vec
        Target weights over the post-periods.
    event_times
        Event time of each estimate.
    target
        How ``l_vec`` was chosen (``"dynamic"``, ``"simple"``, ``"first"`` or ``"custom"``).
    note
        Anything the reader should know about the choice (empty if nothing).
    """

    betahat: np.ndarray
    sigma: np.ndarray
    num_pre: int
    l_vec: np.ndarray
    event_times: tuple[int, ...]
    target: str = "dynamic"
    note: str = ""


@dataclass(frozen=True)
class HonestResult:
    """Robust confidence intervals over a grid of ``M`` (or ``Mbar``), read-only.

    Attributes
    ----------
    restriction
        ``"relative_magnitude"`` or ``"smoothness"``.
    table
        One row per ``M``: ``restriction, m, ci_low, ci_high, method``.
    original
        The interval under exact parallel trends: ``estimate, se, ci_low, ci_high``.
    breakdown
        Largest ``M`` for which the robust interval excludes zero (NaN if it includes zero
        at the smallest ``M``; the largest ``M`` tried if it never includes zero, see
        ``breakdown_censored``).
    breakdown_censored
        ``True`` when the interval still excludes zero at the largest ``M`` tried.
    settings
        Everything that produced the result (alpha, l, grid points, seed, ...).

    Examples
    --------
    >>> from evaluate.did import callaway_santanna, example_panel
    >>> from evaluate.sensitivity import honest_did_cs
    >>> res = callaway_santanna(example_panel(), outcome="y", unit="id", time="period",
    ...                         cohort="cohort", base_period="universal")
    >>> honest = honest_did_cs(res, m=[0, 0.5, 1])
    >>> honest.restriction, honest.breakdown
    ('relative_magnitude', 1.0)
    >>> round(honest.original["estimate"], 2)
    1.85
    """

    restriction: str
    table: pd.DataFrame
    original: dict[str, float]
    breakdown: float
    breakdown_censored: bool
    settings: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "table", self.table.loc[:, list(HONEST_COLUMNS)].reset_index(drop=True).copy())
        object.__setattr__(self, "original", MappingProxyType(dict(self.original)))
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))

    @property
    def m_label(self) -> str:
        """``"Mbar"`` for relative magnitudes, ``"M"`` for smoothness."""
        return "Mbar" if self.restriction == "relative_magnitude" else "M"

    def to_frame(self) -> pd.DataFrame:
        """A copy of the table (``restriction, m, ci_low, ci_high, method``)."""
        return self.table.copy()

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable: restriction, table, original interval, breakdown and settings."""
        return jsonable({"restriction": self.restriction, "table": self.table,
                          "original": dict(self.original), "breakdown": self.breakdown,
                          "breakdown_censored": self.breakdown_censored,
                          "settings": dict(self.settings)})

    def summary(self, digits: int = 4) -> str:
        """A fixed-width text summary."""
        o = self.original
        name = "relative magnitudes (Delta^RM)" if self.restriction == "relative_magnitude" else "smoothness (Delta^SD)"
        lines = [f"HonestDiD sensitivity analysis: {name}",
                 f"  target: {self.settings.get('target', 'custom')}, l = "
                 + ", ".join(f"{w:.3g}" for w in self.settings["l_vec"]),
                 f"  original estimate {o['estimate']:.{digits}f} (se {o['se']:.{digits}f}), "
                 f"{100 * (1 - self.settings['alpha']):.0f}% CI [{o['ci_low']:.{digits}f}, {o['ci_high']:.{digits}f}]"]
        if self.settings.get("note"):
            lines.append(f"  note: {self.settings['note']}")
        if math.isnan(self.breakdown):
            lines.append(f"  breakdown {self.m_label}: none (the interval includes zero at the smallest {self.m_label})")
        else:
            at_least = "at least " if self.breakdown_censored else ""
            lines.append(f"  breakdown {self.m_label}: {at_least}{self.breakdown:.{digits}g}")
        body = self.table.to_string(index=False, float_format=lambda x: f"{x:.{digits}f}")
        return "\n".join(lines) + "\n" + body

    def __str__(self) -> str:
        return self.summary()

    def plot(self, *, title: str | None = None, ylabel: str = "Effect"):
        """Robust intervals against ``M`` beside the original interval (a matplotlib Figure)."""
        import matplotlib.pyplot as plt

        from evaluate.style import apply_style, palette

        apply_style()
        t = self.table
        blue, teal = palette(2)
        fig, ax = plt.subplots(figsize=(7, 3.6))
        m = t["m"].to_numpy(dtype=float)
        step = float(np.min(np.diff(m))) if len(m) > 1 else 1.0
        x0 = m.min() - step
        o = self.original
        ax.errorbar([x0], [o["estimate"]], yerr=[[o["estimate"] - o["ci_low"]], [o["ci_high"] - o["estimate"]]],
                    fmt="o", color=blue, capsize=3, label="Original")
        mid = (t["ci_low"] + t["ci_high"]) / 2
        ax.errorbar(m, mid, yerr=[mid - t["ci_low"], t["ci_high"] - mid], fmt="none", color=teal,
                    capsize=3, label=f"Robust ({', '.join(sorted(set(t['method'])))})")
        ax.axhline(0, color="#3D3D3D", linewidth=0.8)
        if not (math.isnan(self.breakdown) or self.breakdown_censored):
            ax.axvline(self.breakdown, color="#3D3D3D", linewidth=0.8, linestyle=":")
        ax.set_xticks([x0] + list(m), ["Original"] + [f"{v:.3g}" for v in m],
                      rotation=0 if len(m) < 10 else 90)
        default = "Sensitivity to violations of parallel trends"
        return finish_plot(fig, ax, title=title or default, xlabel=self.m_label, ylabel=ylabel, legend=True)


def _check(betahat: Any, sigma: Any, num_pre: int, l_vec: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    b = np.asarray(betahat, dtype=float).ravel()
    s = np.asarray(sigma, dtype=float)
    if not isinstance(num_pre, (int, np.integer)) or num_pre < 1:
        raise InputError(f"num_pre must be a whole number of pre-periods of at least 1, not {num_pre!r}")
    num_post = len(b) - int(num_pre)
    if num_post < 1:
        raise InputError(f"betahat has {len(b)} estimates: none left for post-periods after {num_pre} pre-periods")
    if s.shape != (len(b), len(b)):
        raise InputError(f"sigma must be {len(b)} x {len(b)} to match betahat, not {s.shape}")
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(s))):
        raise InputError("betahat and sigma must be finite")
    if not np.allclose(s, s.T, rtol=1e-8, atol=1e-12 * max(1.0, np.abs(s).max())):
        raise InputError("sigma must be symmetric")
    if np.linalg.eigvalsh((s + s.T) / 2).min() < -1e-10 * max(1.0, np.abs(s).max()):
        raise InputError("sigma must be positive semi-definite")
    lv = np.full(num_post, 1.0 / num_post) if l_vec is None else np.asarray(l_vec, dtype=float).ravel()
    if len(lv) != num_post:
        raise InputError(f"l_vec must have one weight per post-period ({num_post}), not {len(lv)}")
    if not np.any(lv != 0):
        raise InputError("l_vec must have a non-zero weight")
    return b, (s + s.T) / 2, lv


def original_ci(betahat: Any, sigma: Any, *, num_pre: int, l_vec: Any = None,
                alpha: float = 0.05) -> dict[str, float]:
    """The interval for ``l' beta_post`` under exact parallel trends (R ``constructOriginalCS``).

    Returns
    -------
    dict
        ``estimate, se, ci_low, ci_high``.
    """
    b, s, lv = _check(betahat, sigma, num_pre, l_vec)
    est = float(lv @ b[num_pre:])
    se = float(np.sqrt(lv @ s[num_pre:, num_pre:] @ lv))
    z = float(stats.norm.ppf(1 - alpha / 2))
    return {"estimate": est, "se": se, "ci_low": est - z * se, "ci_high": est + z * se}


def _default_grid(restriction: str, b: np.ndarray, s: np.ndarray, num_pre: int, alpha: float) -> np.ndarray:
    if restriction == "relative_magnitude":
        return np.linspace(0.0, 2.0, 9)
    # as R createSensitivityResults: up to the upper confidence bound of the largest
    # pre-period second difference (one-sided, level 1 - alpha)
    if num_pre < 2:
        sd_last = float(np.sqrt(s[num_pre, num_pre]))
        return np.linspace(0.0, sd_last, 10)
    pre = np.append(b[:num_pre], 0.0)
    d = np.zeros((num_pre - 1, num_pre + 1))
    for r in range(num_pre - 1):
        d[r, r:r + 3] = (1.0, -2.0, 1.0)
    d = d[:, :num_pre]
    se = np.sqrt(np.diag(d @ s[:num_pre, :num_pre] @ d.T))
    ub = float(np.max(np.abs(d @ pre[:num_pre]) + stats.norm.ppf(1 - alpha) * se))
    return np.linspace(0.0, ub, 10)


def _interval(restriction: str, method: str, b, s, num_pre, lv, m, alpha, grid_points, seed):
    if restriction == "smoothness":
        return flci(b, s, num_pre, lv, float(m), alpha=alpha)
    return rm_ci(b, s, num_pre, lv, float(m), alpha=alpha, method=method, grid_points=grid_points, seed=seed)


def honest_did(betahat: Any, sigma: Any, *, num_pre: int, l_vec: Any = None,
               restriction: str = "relative_magnitude", m: Sequence[float] | None = None,
               method: str | None = None, alpha: float = 0.05, grid_points: int = 1000,
               seed: int = 0, breakdown_tol: float = 1e-3, target: str = "custom",
               note: str = "") -> HonestResult:
    """Robust confidence intervals under relaxed parallel trends (Rambachan and Roth 2023).

    Parameters
    ----------
    betahat
        Event-study estimates: ``num_pre`` pre-periods (earliest first), then the
        post-periods; the reference period (normalised to zero) left out.
    sigma
        Their covariance matrix.
    num_pre
        Number of pre-periods in ``betahat``.
    l_vec
        Weights of the target ``l' tau_post`` over post-periods (default: the average).
    restriction
        ``"relative_magnitude"`` (``Delta^RM(Mbar)``) or ``"smoothness"`` (``Delta^SD(M)``).
    m
        Values of ``Mbar`` or ``M`` (default: 0 to 2 by 0.25 for relative magnitudes; ten
        values from 0 to the upper confidence bound of the largest pre-period second
        difference for smoothness, as R).
    method
        ``"C-LF"`` (default) or ``"conditional"`` for relative magnitudes, ``"FLCI"`` for
        smoothness.
    alpha
        One minus the coverage.
    grid_points
        Grid of tested values of the target (relative magnitudes; R: 1,000).
    seed
        Seed of the least-favourable critical value (hybrid only).
    breakdown_tol
        The breakdown value is refined by bisection to this absolute tolerance.
    target, note
        Recorded in the settings (how ``l_vec`` was chosen).

    Returns
    -------
    HonestResult

    Raises
    ------
    InputError
        Non-conformable or invalid input.

    Examples
    --------
    From an event-study vector and its covariance (three pre-periods, four post-periods),
    under the smoothness restriction:

    >>> from evaluate.did import callaway_santanna, example_panel
    >>> from evaluate.sensitivity import honest_did, honest_inputs
    >>> res = callaway_santanna(example_panel(), outcome="y", unit="id", time="period",
    ...                         cohort="cohort", base_period="universal")
    >>> hi = honest_inputs(res)
    >>> honest = honest_did(hi.betahat, hi.sigma, num_pre=hi.num_pre, l_vec=hi.l_vec,
    ...                     restriction="smoothness", m=[0, 0.1])
    >>> honest.table[["m", "ci_low", "ci_high", "method"]].round(2)
         m  ci_low  ci_high method
    0  0.0    1.69     2.40   FLCI
    1  0.1    1.18     3.08   FLCI
    """
    b, s, lv = _check(betahat, sigma, num_pre, l_vec)
    if restriction not in _RESTRICTIONS:
        raise InputError(f"restriction must be 'relative_magnitude' or 'smoothness', not {restriction!r}")
    method = method or _RESTRICTIONS[restriction][0]
    if method not in _RESTRICTIONS[restriction]:
        raise InputError(f"method for {restriction} must be one of {_RESTRICTIONS[restriction]}, not {method!r}")
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be between 0 and 1, not {alpha!r}")
    grid = _default_grid(restriction, b, s, num_pre, alpha) if m is None else np.asarray(m, dtype=float).ravel()
    if len(grid) == 0 or np.any(~np.isfinite(grid)) or np.any(grid < 0):
        raise InputError("m must be non-negative finite values")
    grid = np.unique(grid)

    def ci(mv: float) -> tuple[float, float]:
        return _interval(restriction, method, b, s, num_pre, lv, mv, alpha, grid_points, seed)

    rows = [ci(mv) for mv in grid]
    table = pd.DataFrame({"restriction": restriction, "m": grid, "ci_low": [r[0] for r in rows],
                          "ci_high": [r[1] for r in rows], "method": method})
    breakdown, censored = _breakdown(grid, rows, ci, breakdown_tol)
    settings = {"alpha": alpha, "l_vec": lv.tolist(), "num_pre": int(num_pre), "num_post": len(lv),
                "method": method, "grid_points": grid_points, "seed": seed, "target": target,
                "note": note, "breakdown_tol": breakdown_tol}
    return HonestResult(restriction, table, original_ci(b, s, num_pre=num_pre, l_vec=lv, alpha=alpha),
                        breakdown, censored, settings)


def _excludes_zero(r: tuple[float, float]) -> bool:
    return bool(np.isfinite(r[0]) and (r[0] > 0 or r[1] < 0))


def _breakdown(grid: np.ndarray, rows: list[tuple[float, float]], ci, tol: float) -> tuple[float, bool]:
    """Largest ``M`` with an interval excluding zero: the grid's first crossing, bisected."""
    excl = [_excludes_zero(r) for r in rows]
    if not excl[0]:
        return math.nan, False
    if all(excl):
        return float(grid[-1]), True
    j = excl.index(False)
    lo, hi = float(grid[j - 1]), float(grid[j])
    while hi - lo > tol:
        mid = (lo + hi) / 2
        if _excludes_zero(ci(mid)):
            lo = mid
        else:
            hi = mid
    return lo, False


def _vcov(inf: np.ndarray, cluster: np.ndarray | None) -> np.ndarray:
    """Covariance of estimates from influence functions, as ``_se`` in ``att_gt`` (by unit or cluster)."""
    n = inf.shape[0]
    if cluster is None:
        return inf.T @ inf / n**2
    _, codes = np.unique(np.asarray(cluster).astype(str), return_inverse=True)
    sums = np.zeros((int(codes.max()) + 1, inf.shape[1]))
    np.add.at(sums, codes.ravel(), inf)
    sums -= sums.mean(axis=0)
    return sums.T @ sums / n**2


def honest_inputs(res: ATTgtResult, *, target: str | Sequence[float] = "dynamic",
                  min_e: float = -math.inf, max_e: float = math.inf) -> HonestInputs:
    """Event-time estimates, covariance and target weights from a Callaway-Sant'Anna fit.

    The estimates are those of the dynamic aggregation (``res.aggregate("dynamic")``) and
    their covariance comes from its influence functions, by unit or by the fit's cluster
    (as the standard errors). The fit must use ``base_period="universal"`` (as R
    ``HonestDiD``): the reference event time ``-1 - anticipation`` is left out and the
    earlier event times are the pre-periods.

    Parameters
    ----------
    res
        A :func:`evaluate.did.callaway_santanna` result.
    target
        ``"dynamic"``: the average over event times ``e >= 0`` (the dynamic aggregate's
        overall effect); ``"simple"``: the simple aggregate, whose cell weights are the
        dynamic weights within each event time, so that it is ``sum_e w_e theta_e`` with
        ``w_e`` the share of the cohort weight at ``e``; ``"first"``: ``e = 0`` (R's
        default); ``"group"`` or ``"calendar"``: not a combination of event-time effects,
        so the dynamic average is used and a note says so; or explicit weights over the
        post event times. The weights are treated as known: for ``"simple"`` the interval
        under exact parallel trends therefore differs slightly from the simple aggregate's
        own (which also carries the estimation of the cohort shares; about 1e-4 of the SE
        in ``analysis/HONEST_SIMULATION.md``); ``"dynamic"`` matches exactly.
    min_e, max_e
        Event-time window of the dynamic aggregation (and, for ``"simple"``, the last
        event time kept).

    Returns
    -------
    HonestInputs

    Examples
    --------
    >>> from evaluate.did import callaway_santanna, example_panel
    >>> from evaluate.sensitivity import honest_inputs
    >>> res = callaway_santanna(example_panel(), outcome="y", unit="id", time="period",
    ...                         cohort="cohort", base_period="universal")
    >>> hi = honest_inputs(res)
    >>> hi.event_times, hi.num_pre
    ((-4, -3, -2, 0, 1, 2, 3), 3)
    >>> hi.l_vec.tolist()
    [0.25, 0.25, 0.25, 0.25]
    """
    if res.settings.get("base_period") != "universal":
        raise InputError("HonestDiD needs a universal base period: fit callaway_santanna with "
                         "base_period='universal' (pre-period estimates are then relative to "
                         "the reference period)")
    ant = int(res.settings.get("anticipation", 0))
    ref = -1 - ant
    agg = res.aggregate("dynamic", min_e=min_e, max_e=max_e, bootstrap=0)
    t = agg.table
    comp = t["component"].to_numpy()
    rows = np.flatnonzero(np.isfinite(comp))
    e_all = comp[rows].astype(int)
    inf = np.asarray(agg.extra["influence"])[:, rows]
    keep = e_all != ref
    e = e_all[keep]
    if not np.all(np.diff(e_all) == 1):
        raise InputError("event times must be consecutive for HonestDiD (found "
                         f"{e_all.tolist()}); use a consecutive period index")
    betahat = t["estimate"].to_numpy(dtype=float)[rows][keep]
    sigma = _vcov(inf[:, keep], res.extra.get("unit_cluster"))
    num_pre = int(np.sum(e < ref))
    post_e = e[e > ref]
    if num_pre < 1 or len(post_e) == 0:
        raise InputError(f"need at least one pre-period before the reference event time {ref} "
                         "and one post-period after it")
    note = ""
    w = np.zeros(len(post_e))
    if isinstance(target, str):
        name = target
        if target in ("group", "calendar"):
            note = (f"the {target} aggregate is not a fixed combination of event-time effects; "
                    "the target is the average over event times e >= 0")
            warnings.warn(note, UserWarning, stacklevel=2)
            target = "dynamic"
        if target == "dynamic":
            w[post_e >= 0] = 1.0
        elif target == "first":
            w[post_e == 0] = 1.0
        elif target == "simple":
            tab = res.table
            grp, tt = tab["group"].to_numpy(), tab["time"].to_numpy()
            g_unit = np.asarray(res.extra["unit_cohort"])
            wu = np.asarray(res.extra["unit_weights"], dtype=float)
            pg = np.array([np.mean(wu * (g_unit == g)) for g in grp])
            cell_e = tt - grp
            simple_cells = (grp <= tt) & (tt <= grp + max_e)
            dyn_cells = (cell_e >= max(min_e, 0)) & (cell_e <= max_e)
            if not np.array_equal(simple_cells, dyn_cells & (cell_e >= 0)):
                raise InputError("min_e excludes post-treatment cells that the simple aggregate uses")
            for i, ev in enumerate(post_e):
                w[i] = pg[simple_cells & (cell_e == ev)].sum()
        else:
            raise InputError(f"target must be 'dynamic', 'simple', 'first', 'group', 'calendar' or "
                             f"weights, not {target!r}")
        if w.sum() == 0:
            raise InputError("no post-treatment event time (e >= 0) to target")
        w = w / w.sum()
    else:
        name = "custom"
        w = np.asarray(target, dtype=float).ravel()
        if len(w) != len(post_e):
            raise InputError(f"target weights must have one value per post event time {post_e.tolist()}")
    return HonestInputs(betahat, sigma, num_pre, w, tuple(int(v) for v in e), name, note)


def honest_did_cs(res: ATTgtResult, *, target: str | Sequence[float] = "dynamic",
                  min_e: float = -math.inf, max_e: float = math.inf, **kwargs: Any) -> HonestResult:
    """:func:`honest_inputs` then :func:`honest_did` (keyword arguments passed on).

    Examples
    --------
    Robust intervals for the average post-period effect of a Callaway-Sant'Anna fit, when
    post-period violations of parallel trends may be up to ``M`` times the largest
    pre-period one:

    >>> from evaluate.did import callaway_santanna, example_panel
    >>> from evaluate.sensitivity import honest_did_cs
    >>> res = callaway_santanna(example_panel(), outcome="y", unit="id", time="period",
    ...                         cohort="cohort", base_period="universal")
    >>> honest = honest_did_cs(res, m=[0, 0.5, 1])
    >>> honest.table[["m", "ci_low", "ci_high"]].round(2)
         m  ci_low  ci_high
    0  0.0    1.64     2.06
    1  0.5    1.39     2.33
    2  1.0    1.05     2.66
    """
    inp = honest_inputs(res, target=target, min_e=min_e, max_e=max_e)
    out = honest_did(inp.betahat, inp.sigma, num_pre=inp.num_pre, l_vec=inp.l_vec,
                     target=inp.target, note=inp.note, **kwargs)
    settings = dict(out.settings, event_times=list(inp.event_times))
    return HonestResult(out.restriction, out.table, dict(out.original), out.breakdown,
                        out.breakdown_censored, settings)
