"""Shared plumbing of the sensitivity analyses: column checks, one simple-ATT fit, the result base, plots.

Every analysis in :mod:`evaluate.sensitivity` re-estimates the Callaway-Sant'Anna simple
ATT (:func:`evaluate.did.callaway_santanna`, then ``.aggregate("simple")``) on a changed
sample or with changed treatment dates. :func:`fit_simple` does that once and keeps what
the analyses need: the estimate, its standard error and interval, the number of treated
units, and the simple ATT's influence function by unit (so that two fits on overlapping
samples can be given a joint covariance, :func:`joint_covariance`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evaluate.did.att_gt import ATTgtResult, callaway_santanna
from evaluate.did.results import DiDResult, finish_plot
from evaluate.errors import InputError

#: Column names of ``work/output/panel/panel_year.parquet`` (the defaults of every analysis).
DEFAULT_COLUMNS: dict[str, str] = {"outcome": "overall_absence_rate", "unit": "school_id", "time": "year",
                                   "cohort": "hub_cohort"}


#: The settings a design or a fitted result supplies to every re-estimation.
CS_KEYS = ("outcome", "unit", "time", "cohort", "covariates", "control", "estimator", "weights", "cluster",
           "anticipation", "base_period")


def settings_of(design: Any, *, outcome: str | None = None, data: pd.DataFrame | None = None) -> dict[str, Any]:
    """The Callaway-Sant'Anna settings of a :class:`evaluate.design.Design` or of a fitted result.

    A fitted :class:`evaluate.did.ATTgtResult` gives the settings it was estimated with (a
    fit on stacked sub-experiments cannot be re-estimated on the panel: pass its design).
    """
    from evaluate.did.att_gt import ATTgtResult

    if isinstance(design, ATTgtResult):
        st = dict(design.settings)
        if st.get("subexperiment"):
            raise InputError("this fit is on stacked sub-experiments (a matched design): pass its Design "
                             "(evaluate.design.Design) to re-estimate it on the panel")
        out = {k: st[k] for k in CS_KEYS if k in st}
        if outcome is not None:
            out["outcome"] = outcome
        return out
    if hasattr(design, "cs_settings"):
        return design.cs_settings(outcome or DEFAULT_COLUMNS["outcome"], data=data)
    raise InputError(f"design must be a Design or a fitted Callaway-Sant'Anna result, not {type(design).__name__}")


def accepts_design(fn):
    """Let a sensitivity analysis take ``design=`` (a Design or a fitted result) for its estimator settings.

    The design's settings replace the keyword defaults (the hub panel's column names);
    keywords passed explicitly besides ``design`` are an error, so nothing is set twice.
    """
    import functools
    import inspect

    params = inspect.signature(fn).parameters

    @functools.wraps(fn)
    def wrapper(data, *args, design=None, **kwargs):
        if design is not None:
            clash = sorted(k for k in kwargs if k in CS_KEYS and k != "outcome")
            if clash:
                raise InputError(f"{', '.join(clash)} given twice: by the design and as keywords")
            st = settings_of(design, outcome=kwargs.get("outcome"), data=data)
            kwargs.update({k: v for k, v in st.items() if k in params})
        return fn(data, *args, **kwargs)

    wrapper.__doc__ = (fn.__doc__ or "") + (
        "\n    A :class:`evaluate.design.Design` (or a fitted result) passed as ``design=`` supplies the\n"
        "    estimator settings (columns, control, estimator, anticipation, cluster) instead of the keywords.\n")
    return wrapper


def check_columns(data: pd.DataFrame, columns: Mapping[str, str | None]) -> None:
    """Raise :class:`InputError` naming the first column (by role) that ``data`` lacks."""
    if not isinstance(data, pd.DataFrame):
        raise InputError("data must be a pandas DataFrame")
    for role, col in columns.items():
        if col is not None and col not in data.columns:
            raise InputError(f"{role} column '{col}' not found in the data "
                             f"(columns: {', '.join(map(str, data.columns))})", column=col)


def cs_settings(*, outcome: str, unit: str, time: str, cohort: str, covariates: Sequence[str] = (),
                control: str = "never", estimator: str = "dr", weights: str | None = None,
                cluster: str | None = None, anticipation: int = 0, base_period: str = "varying",
                level: float = 0.95) -> dict[str, Any]:
    """The keyword arguments of :func:`callaway_santanna` shared by every re-estimation."""
    return dict(outcome=outcome, unit=unit, time=time, cohort=cohort, covariates=tuple(covariates or ()),
                control=control, estimator=estimator, weights=weights, cluster=cluster,
                anticipation=int(anticipation), base_period=base_period, level=level)


def check_settings(data: pd.DataFrame, settings: Mapping[str, Any]) -> None:
    """Check that every column the estimator reads exists."""
    cols: dict[str, str | None] = {r: settings[r] for r in ("outcome", "unit", "time", "cohort", "weights", "cluster")}
    cols.update({f"covariate {c}": c for c in settings.get("covariates", ())})
    check_columns(data, cols)


def unit_values(data: pd.DataFrame, *, unit: str, column: str, what: str) -> pd.Series:
    """One value of ``column`` per unit (its first non-missing value); it must not change within a unit."""
    g = data.groupby(unit, sort=True)[column]
    varies = g.nunique(dropna=True) > 1
    if varies.any():
        u = varies.index[np.flatnonzero(varies.to_numpy())[0]]
        raise InputError(f"{what} '{column}' changes within unit '{u}'; it must be constant within a unit",
                         column=column)
    return g.first()


def unit_cohorts(data: pd.DataFrame, *, unit: str, cohort: str, time: str | None = None) -> pd.Series:
    """Each unit's cohort (0 = never treated), indexed by unit.

    With ``time``, a cohort first treated after the last period is never treated within the
    data (0), as :func:`evaluate.did.callaway_santanna` counts it.
    """
    c = pd.to_numeric(data[cohort], errors="coerce").fillna(0)
    if time is not None:
        c = c.where(c <= pd.to_numeric(data[time], errors="coerce").max(), 0)
    return c.groupby(data[unit], sort=True).first().astype(np.int64)


@dataclass(frozen=True, eq=False)
class SimpleFit:
    """One Callaway-Sant'Anna simple ATT and what the analyses need from it.

    Attributes
    ----------
    estimate, se, ci_low, ci_high, p_value
        The simple ATT and its inference (as ``aggregate("simple")``).
    n_treated, n_units
        Treated units and all units in the fit.
    units
        Unit ids in the fit's order (sorted), or ``None`` when they could not be identified.
    phi
        The simple ATT's influence function scaled so that its variance is the sum of
        squares of its unit (or cluster) sums, aligned with ``units``; ``None`` with ``units``.
    cluster
        The cluster of each unit (aligned with ``units``), or ``None`` (clusters = units).
    result
        The ATT(g, t) fit.
    """

    estimate: float
    se: float
    ci_low: float
    ci_high: float
    p_value: float
    n_treated: int
    n_units: int
    units: np.ndarray | None
    phi: np.ndarray | None
    cluster: np.ndarray | None
    result: ATTgtResult

    def row(self) -> dict[str, float]:
        """The tidy columns of this fit."""
        return {"estimate": self.estimate, "se": self.se, "ci_low": self.ci_low, "ci_high": self.ci_high,
                "p_value": self.p_value, "n": float(self.n_treated)}


def _expected_units(data: pd.DataFrame, settings: Mapping[str, Any]) -> np.ndarray:
    """The units :func:`callaway_santanna` keeps (complete in every period, not treated in the first)."""
    unit, time, cohort = settings["unit"], settings["time"], settings["cohort"]
    need = [settings["outcome"], *settings.get("covariates", ())]
    if settings.get("weights"):
        need.append(settings["weights"])
    ok = data[need].notna().all(axis=1)
    if settings.get("cluster"):
        ok &= data[settings["cluster"]].notna()
    d = data.loc[ok, [unit, time, cohort]]
    periods = d[time].nunique()
    counts = d.groupby(unit, sort=True)[time].nunique()
    first = d[time].min()
    coh = pd.to_numeric(d[cohort], errors="coerce").fillna(0).groupby(d[unit], sort=True).first()
    keep = (counts == periods) & ~((coh > 0) & (coh <= first))
    return np.asarray(keep.index[keep.to_numpy()])


def fit_simple(data: pd.DataFrame, settings: Mapping[str, Any], *, keep_influence: bool = False) -> SimpleFit:
    """Estimate Callaway-Sant'Anna on ``data`` with ``settings`` and aggregate to the simple ATT."""
    res = callaway_santanna(data, **dict(settings))
    agg = res.aggregate("simple")
    row = agg.table.loc[agg.table["term"] == "overall"].iloc[0]
    n_treated = int(np.sum(np.asarray(res.extra["unit_cohort"]) > 0))
    units = phi = cl = None
    if keep_influence:
        exp = _expected_units(data, settings)
        inf = np.asarray(agg.extra["influence"])[:, -1]
        if len(exp) == len(inf):
            units = exp
            phi = inf / len(inf)
            cl_raw = res.extra["unit_cluster"]
            cl = None if cl_raw is None else np.asarray(cl_raw)
    return SimpleFit(float(row["estimate"]), float(row["se"]), float(row["ci_low"]), float(row["ci_high"]),
                     float(row["p_value"]), n_treated, int(res.n_units), units, phi, cl, res)


def joint_covariance(fits: Sequence[SimpleFit]) -> np.ndarray | None:
    """Covariance of several fits' simple ATTs from their influence functions.

    The influence functions are put on the union of the fits' units (zero where a unit is
    not in a fit); with clusters, summed within cluster. The correlation this implies is
    then scaled by each fit's own standard error, so the diagonal is exactly the reported
    variances. Fits on disjoint units (and disjoint clusters) get zero covariance: they are
    independent. Returns ``None`` when a fit's units could not be identified.
    """
    if any(f.units is None or f.phi is None for f in fits):
        return None
    all_units = np.unique(np.concatenate([f.units for f in fits]))
    k = len(fits)
    mat = np.zeros((len(all_units), k))
    clusters = np.empty(len(all_units), dtype=object)
    use_cluster = all(f.cluster is not None for f in fits)
    for j, f in enumerate(fits):
        pos = np.searchsorted(all_units, f.units)
        mat[pos, j] = f.phi
        if use_cluster:
            clusters[pos] = f.cluster
    if use_cluster:
        _, codes = np.unique(clusters.astype(str), return_inverse=True)
        sums = np.zeros((int(codes.max()) + 1, k))
        np.add.at(sums, codes, mat)
        mat = sums
    v = mat.T @ mat
    d = np.sqrt(np.diag(v))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = v / np.outer(d, d)
    corr = np.where(np.isfinite(corr), corr, 0.0)
    np.fill_diagonal(corr, 1.0)
    se = np.array([f.se for f in fits])
    return corr * np.outer(se, se)


@dataclass(frozen=True)
class SensitivityResult(DiDResult):
    """A sensitivity analysis: a tidy table (one row per re-estimate) and its settings.

    ``summary()``, ``to_frame()`` and ``to_dict()`` are those of
    :class:`evaluate.did.DiDResult`; subclasses add a headline (:meth:`headline`) and
    their own ``plot()``.
    """

    def headline(self) -> list[str]:
        """Lines printed above the table by :meth:`summary`."""
        return []

    def summary(self, digits: int = 4) -> str:
        """The headline, then the settings and the tidy table."""
        head = self.headline()
        body = super().summary(digits)
        return "\n".join(head + [body]) if head else body


def dot_chart(labels: Sequence[str], est: np.ndarray, lo: np.ndarray, hi: np.ndarray, *,
              reference: float | None, reference_label: str, title: str, xlabel: str,
              band: tuple[float, float] | None = None):
    """A horizontal dot chart with intervals (one row per label, top to bottom), a reference line."""
    import matplotlib.pyplot as plt

    from evaluate.style import apply_style, palette

    apply_style()
    colours = palette(4)
    n = len(labels)
    fig, ax = plt.subplots(figsize=(7, max(2.4, 0.26 * n + 1.2)))
    y = np.arange(n)[::-1]
    est = np.asarray(est, dtype=float)
    ax.errorbar(est, y, xerr=[est - np.asarray(lo, float), np.asarray(hi, float) - est], fmt="o",
                color=colours[0], ecolor=colours[0], capsize=2, markersize=4, label="Estimate (95% CI)")
    if band is not None and all(math.isfinite(b) for b in band):
        ax.axvspan(band[0], band[1], color=colours[1], alpha=0.15, linewidth=0)
    if reference is not None and math.isfinite(reference):
        ax.axvline(reference, color=colours[1], linewidth=1.4, label=reference_label)
    ax.axvline(0, color="#3D3D3D", linewidth=0.8)
    ax.set_yticks(y, [str(s) for s in labels])
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", visible=True)
    return finish_plot(fig, ax, title=title, xlabel=xlabel, ylabel="", legend=reference is not None)
