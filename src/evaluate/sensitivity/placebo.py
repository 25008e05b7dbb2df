"""Placebo tests: fake adoption dates, an outcome the programme cannot move, fake treated groups.

- :func:`placebo_timing`: every cohort's adoption moved ``shift`` observed periods earlier
  and the effect of that fake adoption estimated on the periods before the real one only.
  With parallel pre-trends (and no anticipation) it is zero; a pre-trend shows as an
  effect.
- :func:`placebo_outcome`: the same estimator on an outcome the programme cannot affect
  (the caller names the column); the effect should be zero.
- :func:`placebo_groups`: never-treated units given fake cohorts at random, with the real
  cohorts' sizes, ``reps`` times; the distribution of those placebo effects is where the
  real effect would fall if the programme did nothing (a permutation-style p-value).

Every function re-estimates the Callaway-Sant'Anna simple ATT
(:func:`evaluate.did.callaway_santanna`, ``.aggregate("simple")``) with the given
settings and returns a frozen result with ``summary()``, ``to_frame()``, ``to_dict()`` and
``plot()``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from evaluate.did.aggregate import _wif
from evaluate.did.att_gt import callaway_santanna
from evaluate.did.inference import influence_se as _se
from evaluate.did.results import finish_plot, tidy_table
from evaluate.errors import InputError
from evaluate.sensitivity._common import (
    DEFAULT_COLUMNS,
    SensitivityResult,
    accepts_design,
    check_settings,
    cs_settings,
    dot_chart,
    fit_simple,
    unit_cohorts,
)

__all__ = ["PlaceboGroupsResult", "PlaceboOutcomeResult", "PlaceboTimingResult", "placebo_groups",
           "placebo_outcome", "placebo_timing"]

_PLACEBO_COHORT = "_placebo_cohort"


# --------------------------------------------------------------------------------------
# placebo adoption dates
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlaceboTimingResult(SensitivityResult):
    """Placebo adoption dates: one row per shift (term ``"shift=k"``).

    Extra table columns: ``shift``, ``cohorts`` (real -> placebo cohort, e.g.
    ``"2023->2022"``), ``cells`` (ATT(g, t) cells averaged), ``dropped_units`` (treated
    units of cohorts that cannot be moved that far back, left out).
    """

    def headline(self) -> list[str]:
        lines = ["Placebo adoption dates: every cohort moved earlier by `shift` observed periods, "
                 "estimated on the periods before the real adoption only (zero expected)."]
        for r in self.table.itertuples():
            lines.append(f"  shift {int(r.shift)}: {r.estimate:+.4f} (95% CI {r.ci_low:+.4f} to {r.ci_high:+.4f}), "
                         f"cohorts {r.cohorts}")
        return lines

    def plot(self, *, title: str | None = None, xlabel: str = "Placebo adoption (periods earlier)",
             ylabel: str = "Placebo effect"):
        """Placebo effects with 95% intervals by shift, and zero."""
        return super().plot(title=title or "Placebo adoption dates", xlabel=xlabel, ylabel=ylabel)


def _shifted_cohorts(ucoh: pd.Series, periods: np.ndarray, shift: int,
                     anticipation: int) -> tuple[dict[int, int], list[int]]:
    """Real cohort -> placebo cohort (``shift`` observed periods earlier), and the cohorts that cannot move."""
    mapping: dict[int, int] = {}
    dropped: list[int] = []
    last = periods[-1]
    for g in sorted(int(g) for g in ucoh.unique() if 0 < g <= last):
        p = int(np.searchsorted(periods, g))  # the first observed period at or after g
        q = p - shift
        # the placebo cohort needs a period before it (its base) and a period after it that is
        # still before the real adoption (less anticipation)
        if q < 1 or periods[q] >= g - anticipation:
            dropped.append(g)
        else:
            mapping[g] = int(periods[q])
    return mapping, dropped


@accepts_design
def placebo_timing(data: pd.DataFrame, *, shift: int | Sequence[int] = 1,
                   outcome: str = DEFAULT_COLUMNS["outcome"], unit: str = DEFAULT_COLUMNS["unit"],
                   time: str = DEFAULT_COLUMNS["time"], cohort: str = DEFAULT_COLUMNS["cohort"],
                   covariates: Sequence[str] = (), control: str = "never", estimator: str = "dr",
                   weights: str | None = None, cluster: str | None = None, anticipation: int = 0,
                   base_period: str = "varying", level: float = 0.95) -> PlaceboTimingResult:
    """Placebo adoption dates: each cohort's adoption moved ``shift`` periods earlier.

    Each real cohort ``g`` gets the placebo cohort ``g'``, the observed period ``shift``
    places before ``g`` in the sorted periods of the data (``shift`` counts *observed*
    periods, not calendar years: with the years 2016, 2017, 2018, 2021, 2022, ... a shift of
    1 moves 2022 to 2021 and a shift of 2 moves it to 2018). Callaway-Sant'Anna is
    estimated with the placebo cohorts, and the simple ATT averages only the cells
    ATT(g', t) with ``g' <= t < g - anticipation``: periods after the placebo adoption but
    before the real one. Every such cell compares period ``t`` with the period before
    ``g'``, so it uses only pre-treatment outcomes of the treated units; this is exactly the
    estimate on a panel truncated before each cohort's real adoption (the comparison units
    are never treated or, with ``control="not_yet"``, not yet placebo-treated, hence not yet
    treated). With parallel trends and no anticipation the placebo effect is zero.

    Cohorts that cannot be moved ``shift`` periods back (the placebo date would be the
    first period or earlier, or not before the real adoption less ``anticipation``) are left
    out, their units counted in ``dropped_units``.

    Parameters
    ----------
    data
        Long panel, one row per unit and period.
    shift
        Observed periods to move adoption back (1 or more), or several shifts (one row each).
    outcome, unit, time, cohort
        Columns (cohort = first treated period, 0 = never treated); defaults are those of
        ``work/output/panel/panel_year.parquet`` (hub cohorts).
    covariates, control, estimator, weights, cluster, anticipation, base_period, level
        As :func:`evaluate.did.callaway_santanna` (analytic standard errors).

    Returns
    -------
    PlaceboTimingResult

    Raises
    ------
    InputError
        A column is missing, a shift is not a whole number of at least 1, or no cohort can
        be moved back that far.

    Examples
    --------
    Pretend each cohort started a period earlier, on its pre-treatment data only:

    >>> from evaluate.did import example_panel
    >>> from evaluate.sensitivity import placebo_timing
    >>> res = placebo_timing(example_panel(), shift=1, outcome="y", unit="id", time="period",
    ...                      cohort="cohort")
    >>> res.table[["term", "cohorts"]]
          term           cohorts
    0  shift=1  3->2, 4->3, 5->4
    >>> bool(res.table["p_value"].item() > 0.05)
    True
    """
    settings = cs_settings(outcome=outcome, unit=unit, time=time, cohort=cohort, covariates=covariates,
                           control=control, estimator=estimator, weights=weights, cluster=cluster,
                           anticipation=anticipation, base_period=base_period, level=level)
    check_settings(data, settings)
    shifts = [shift] if isinstance(shift, (int, np.integer)) else list(shift)
    if not shifts or any(not isinstance(s, (int, np.integer)) or isinstance(s, bool) or s < 1 for s in shifts):
        raise InputError(f"shift must be a whole number of periods, 1 or more (or a list of them), not {shift!r}")
    periods = np.sort(pd.to_numeric(data[time], errors="coerce").dropna().unique())
    ucoh = unit_cohorts(data, unit=unit, cohort=cohort, time=time)
    rows = []
    cells_used: dict[str, list[str]] = {}
    for s in shifts:
        mapping, dropped = _shifted_cohorts(ucoh, periods, int(s), int(anticipation))
        if not mapping:
            raise InputError(f"no cohort can be moved {s} period(s) back: every placebo date would be at or "
                             "before the first period (or not before the real adoption)", column=cohort)
        drop_units = ucoh.index[ucoh.isin(dropped).to_numpy()]
        d = data.loc[~data[unit].isin(drop_units)]
        real = pd.to_numeric(d[cohort], errors="coerce").fillna(0).astype(np.int64)
        fake = real.map(mapping).fillna(real).astype(np.int64)  # unmapped: never treated (0 or after the panel)
        d = d.assign(**{_PLACEBO_COHORT: fake.to_numpy()})
        res = callaway_santanna(d, **{**settings, "cohort": _PLACEBO_COHORT})
        est, se, n_tr, used = _placebo_simple(res, {v: k for k, v in mapping.items()}, int(anticipation))
        cells_used[f"shift={s}"] = used
        rows.append(dict(term=f"shift={s}", estimate=est, se=se, n=n_tr, shift=int(s),
                         cohorts=", ".join(f"{g}->{gp}" for g, gp in mapping.items()), cells=len(used),
                         dropped_units=int(len(drop_units))))
    tab = tidy_table([r["term"] for r in rows], [r["estimate"] for r in rows], [r["se"] for r in rows],
                     n=[r["n"] for r in rows], level=level)
    for c in ("shift", "cohorts", "cells", "dropped_units"):
        tab[c] = [r[c] for r in rows]
    return PlaceboTimingResult("placebo_timing", tab, {**settings, "covariates": list(settings["covariates"]),
                                                       "shift": [int(s) for s in shifts]},
                               n_units=int(ucoh.size), n_obs=int(len(data)), extra={"cells": cells_used})


def _placebo_simple(res, real_of: dict[int, int], anticipation: int) -> tuple[float, float, int, list[str]]:
    """The simple ATT over the cells between each placebo and real adoption (R ``aggte`` weights)."""
    t = res.table
    att = t["estimate"].to_numpy(dtype=float)
    group = t["group"].to_numpy()
    tt = t["time"].to_numpy()
    real = np.array([real_of.get(int(g), np.inf) for g in group], dtype=float)
    keep = np.flatnonzero((group <= tt) & (tt < real - anticipation))
    if len(keep) == 0:
        raise InputError("no period between the placebo and the real adoption dates")
    inf = np.asarray(res.extra["influence"])
    g_unit = np.asarray(res.extra["unit_cohort"])
    w = np.asarray(res.extra["unit_weights"], dtype=float)
    pg_group = {g: float(np.mean(w * (g_unit == g))) for g in np.unique(group)}
    pg = np.array([pg_group[g] for g in group])
    wk = pg[keep] / pg[keep].sum()
    est = float(att[keep] @ wk)
    inf_o = inf[:, keep] @ wk + _wif(keep, pg, w, g_unit, group) @ att[keep]
    se = float(_se(inf_o[:, None], res.extra["unit_cluster"])[0])
    n_tr = int(sum(res.extra["group_sizes"][int(g)] for g in np.unique(group[keep])))
    return est, se, n_tr, [str(x) for x in t["term"].to_numpy()[keep]]


# --------------------------------------------------------------------------------------
# placebo outcome
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlaceboOutcomeResult(SensitivityResult):
    """Placebo outcomes: one row per outcome column (term = the column); zero expected."""

    def headline(self) -> list[str]:
        lines = ["Placebo outcomes (the programme cannot affect them; zero expected):"]
        for r in self.table.itertuples():
            lines.append(f"  {r.term}: {r.estimate:+.4f} (95% CI {r.ci_low:+.4f} to {r.ci_high:+.4f}, "
                         f"p = {r.p_value:.3f})")
        return lines

    def plot(self, *, title: str | None = None, xlabel: str = "Placebo effect"):
        """Placebo effects with intervals by outcome, and zero."""
        t = self.table
        return dot_chart(t["term"].tolist(), t["estimate"].to_numpy(), t["ci_low"].to_numpy(),
                         t["ci_high"].to_numpy(), reference=None, reference_label="",
                         title=title or "Placebo outcomes", xlabel=xlabel)


@accepts_design
def placebo_outcome(data: pd.DataFrame, *, outcome: str | Sequence[str], unit: str = DEFAULT_COLUMNS["unit"],
                    time: str = DEFAULT_COLUMNS["time"], cohort: str = DEFAULT_COLUMNS["cohort"],
                    covariates: Sequence[str] = (), control: str = "never", estimator: str = "dr",
                    weights: str | None = None, cluster: str | None = None, anticipation: int = 0,
                    base_period: str = "varying", level: float = 0.95) -> PlaceboOutcomeResult:
    """The simple ATT on outcomes the programme cannot affect (named by the caller).

    Parameters
    ----------
    data
        Long panel, one row per unit and period.
    outcome
        The placebo outcome column, or several (one row each). Choose columns the programme
        cannot move (for example a characteristic measured before it, or an outcome of a
        group of pupils it does not reach); a non-zero effect then points to differential
        trends or composition changes, not to the programme.
    unit, time, cohort, covariates, control, estimator, weights, cluster, anticipation, base_period, level
        As :func:`evaluate.did.callaway_santanna`.

    Returns
    -------
    PlaceboOutcomeResult

    Raises
    ------
    InputError
        A column is missing, or no outcome is named.

    Examples
    --------
    An outcome the programme cannot have moved should show no effect (here the
    covariate ``x``):

    >>> from evaluate.did import example_panel
    >>> from evaluate.sensitivity import placebo_outcome
    >>> res = placebo_outcome(example_panel(), outcome="x", unit="id", time="period",
    ...                       cohort="cohort")
    >>> res.table[["term", "estimate", "p_value"]].round(2)
      term  estimate  p_value
    0    x      0.04     0.75
    """
    outcomes = [outcome] if isinstance(outcome, str) else list(outcome)
    if not outcomes:
        raise InputError("name at least one placebo outcome column")
    rows = []
    for y in outcomes:
        s = cs_settings(outcome=y, unit=unit, time=time, cohort=cohort, covariates=covariates, control=control,
                        estimator=estimator, weights=weights, cluster=cluster, anticipation=anticipation,
                        base_period=base_period, level=level)
        check_settings(data, s)
        f = fit_simple(data, s)
        rows.append({"term": y, **f.row()})
    tab = pd.DataFrame(rows)
    settings = cs_settings(outcome=outcomes[0], unit=unit, time=time, cohort=cohort, covariates=covariates,
                           control=control, estimator=estimator, weights=weights, cluster=cluster,
                           anticipation=anticipation, base_period=base_period, level=level)
    settings.update(outcome=outcomes, covariates=list(settings["covariates"]))
    return PlaceboOutcomeResult("placebo_outcome", tab, settings, n_units=int(data[unit].nunique()),
                                n_obs=int(len(data)))


# --------------------------------------------------------------------------------------
# placebo groups (permutation)
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PlaceboGroupsResult(SensitivityResult):
    """Fake treated groups drawn from the never-treated units: the real effect among placebo effects.

    The table's first row (term ``"actual"``) is the real estimate; the others
    (``"placebo 1"``, ...) the placebo estimates, with the column ``kind``
    (``"actual"``/``"placebo"``). ``extra`` holds the permutation p-value
    (``p_value_permutation``: two-sided, ``(1 + #{|placebo| >= |actual|}) / (reps + 1)``),
    ``percentile`` (share of placebo effects at or below the actual one), the placebo
    effects' ``placebo_mean`` and ``placebo_sd``, ``placebo_coverage`` (share of placebo 95%
    intervals that contain zero) and the ``placebo_sizes`` drawn per cohort.
    """

    @property
    def actual(self) -> float:
        """The real simple ATT."""
        return float(self.table["estimate"].iloc[0])

    @property
    def placebo_estimates(self) -> np.ndarray:
        """The placebo simple ATTs, one per repetition."""
        return self.table.loc[self.table["kind"] == "placebo", "estimate"].to_numpy(dtype=float)

    @property
    def p_value(self) -> float:
        """The permutation-style two-sided p-value of the real effect."""
        return float(self.extra["p_value_permutation"])

    def headline(self) -> list[str]:
        e = self.extra
        return [f"Placebo groups: {e['reps']} draws of fake cohorts among never-treated units "
                f"(sizes {e['placebo_sizes']})",
                f"  actual effect {self.actual:+.4f}; placebo effects mean {e['placebo_mean']:+.4f}, "
                f"SD {e['placebo_sd']:.4f}; 95% of them within [{e['placebo_q025']:+.4f}, {e['placebo_q975']:+.4f}]",
                f"  the actual effect is at the {100 * e['percentile']:.1f}th percentile; "
                f"permutation p = {e['p_value_permutation']:.4f}"]

    def plot(self, *, title: str | None = None, xlabel: str = "Effect"):
        """Histogram of the placebo effects with the actual effect marked."""
        import matplotlib.pyplot as plt

        from evaluate.style import apply_style, palette

        apply_style()
        c = palette(2)
        fig, ax = plt.subplots(figsize=(7, 3.6))
        pl = self.placebo_estimates
        ax.hist(pl, bins=min(40, max(10, len(pl) // 5)), color=c[0], alpha=0.85, label="Placebo groups")
        ax.axvline(self.actual, color=c[1], linewidth=2, label=f"Actual ({self.actual:+.3f})")
        ax.axvline(0, color="#3D3D3D", linewidth=0.8)
        return finish_plot(fig, ax, title=title or "Placebo groups: where the actual effect falls",
                           xlabel=xlabel, ylabel="Draws", legend=True)


@accepts_design
def placebo_groups(data: pd.DataFrame, *, reps: int = 200, seed: int | None = None, sizes: str = "count",
                   outcome: str = DEFAULT_COLUMNS["outcome"], unit: str = DEFAULT_COLUMNS["unit"],
                   time: str = DEFAULT_COLUMNS["time"], cohort: str = DEFAULT_COLUMNS["cohort"],
                   covariates: Sequence[str] = (), control: str = "never", estimator: str = "dr",
                   weights: str | None = None, cluster: str | None = None, anticipation: int = 0,
                   base_period: str = "varying", level: float = 0.95) -> PlaceboGroupsResult:
    """Fake cohorts among never-treated units, ``reps`` times: the distribution of placebo effects.

    Only the never-treated units are kept (cohort 0, or first treated after the last
    period). In each repetition, units are drawn at random without replacement and given
    the real cohorts: with ``sizes="count"`` as many units per cohort as the real cohort
    has, with ``sizes="share"`` the same *share* of units per cohort as in the real data
    (at least one; use it when there are too few never-treated units for the real counts).
    The rest stay never treated. The simple ATT of each draw is a placebo effect; as no
    placebo unit is treated, they are centred on zero, and their spread shows how large an
    effect chance alone produces in this panel. The real effect (same settings, the real
    cohorts) is compared with them.

    Parameters
    ----------
    data
        Long panel, one row per unit and period.
    reps
        Repetitions (fake assignments).
    seed
        Seed of ``numpy.random.default_rng``.
    sizes
        ``"count"`` or ``"share"`` (see above).
    outcome, unit, time, cohort, covariates, control, estimator, weights, cluster, anticipation, base_period, level
        As :func:`evaluate.did.callaway_santanna`.

    Returns
    -------
    PlaceboGroupsResult

    Raises
    ------
    InputError
        A column is missing, ``reps`` is not positive, there are no treated or too few
        never-treated units.

    Examples
    --------
    Assign the treatment to random never-treated units (``reps`` times) and compare the
    actual estimate with the placebo distribution:

    >>> from evaluate.did import example_panel
    >>> from evaluate.sensitivity import placebo_groups
    >>> res = placebo_groups(example_panel(), reps=20, seed=0, sizes="share", outcome="y",
    ...                      unit="id", time="period", cohort="cohort")
    >>> res.table["kind"].value_counts().to_dict()
    {'placebo': 20, 'actual': 1}
    >>> round(res.p_value, 3)
    0.048
    """
    settings = cs_settings(outcome=outcome, unit=unit, time=time, cohort=cohort, covariates=covariates,
                           control=control, estimator=estimator, weights=weights, cluster=cluster,
                           anticipation=anticipation, base_period=base_period, level=level)
    check_settings(data, settings)
    if not isinstance(reps, (int, np.integer)) or reps < 1:
        raise InputError(f"reps must be a whole number of at least 1, not {reps!r}")
    if sizes not in ("count", "share"):
        raise InputError(f"sizes must be 'count' or 'share', not {sizes!r}")
    periods = np.sort(pd.to_numeric(data[time], errors="coerce").dropna().unique())
    ucoh = unit_cohorts(data, unit=unit, cohort=cohort, time=time)
    treated = ucoh[(ucoh > periods[0]) & (ucoh <= periods[-1])]
    if treated.empty:
        raise InputError("no treated units (every unit is never treated or treated in the first period)",
                         column=cohort)
    never = ucoh.index[((ucoh == 0) | (ucoh > periods[-1])).to_numpy()]
    real_sizes = treated.value_counts().sort_index()
    if sizes == "count":
        counts = real_sizes.astype(int)
        if counts.sum() >= len(never):
            raise InputError(f"only {len(never)} never-treated units for {int(counts.sum())} placebo-treated ones; "
                             "use sizes='share'", column=cohort)
    else:
        counts = np.maximum(1, np.round(len(never) * real_sizes / len(ucoh))).astype(int)
        if counts.sum() >= len(never):
            raise InputError(f"too few never-treated units ({len(never)}) to draw placebo cohorts", column=cohort)
    real = fit_simple(data, settings)
    d = data.loc[data[unit].isin(never)].reset_index(drop=True)
    codes, uniq = pd.factorize(d[unit], sort=True)
    labels = np.repeat(np.array(counts.index, dtype=np.int64), counts.to_numpy())
    rng = np.random.default_rng(seed)
    fits = []
    s = {**settings, "cohort": _PLACEBO_COHORT}
    for _ in range(int(reps)):
        fake = np.zeros(len(uniq), dtype=np.int64)
        fake[rng.choice(len(uniq), size=len(labels), replace=False)] = labels
        fits.append(fit_simple(d.assign(**{_PLACEBO_COHORT: fake[codes]}), s))
    est = np.array([real.estimate] + [f.estimate for f in fits])
    tab = tidy_table(["actual"] + [f"placebo {r + 1}" for r in range(int(reps))], est,
                     [real.se] + [f.se for f in fits], n=[real.n_treated] + [f.n_treated for f in fits],
                     level=level)
    tab["kind"] = ["actual"] + ["placebo"] * int(reps)
    pl = est[1:]
    lo, hi = tab["ci_low"].to_numpy()[1:], tab["ci_high"].to_numpy()[1:]
    extra = {"reps": int(reps), "seed": seed, "sizes": sizes,
             "placebo_sizes": {int(g): int(n) for g, n in counts.items()},
             "real_sizes": {int(g): int(n) for g, n in real_sizes.items()},
             "p_value_permutation": float((1 + np.sum(np.abs(pl) >= abs(real.estimate))) / (len(pl) + 1)),
             "percentile": float(np.mean(pl <= real.estimate)),
             "placebo_mean": float(pl.mean()), "placebo_sd": float(pl.std(ddof=1)) if len(pl) > 1 else math.nan,
             "placebo_q025": float(np.quantile(pl, 0.025)), "placebo_q975": float(np.quantile(pl, 0.975)),
             "placebo_coverage": float(np.mean((lo <= 0) & (hi >= 0))),
             "z_vs_placebo": float((real.estimate - pl.mean()) / pl.std(ddof=1)) if len(pl) > 1 else math.nan,
             "normal_p_value_vs_placebo": (float(2 * stats.norm.sf(abs(real.estimate - pl.mean()) / pl.std(ddof=1)))
                                           if len(pl) > 1 else math.nan)}
    st = {**settings, "covariates": list(settings["covariates"]), "reps": int(reps), "seed": seed, "sizes": sizes}
    return PlaceboGroupsResult("placebo_groups", tab, st, n_units=int(ucoh.size), n_obs=int(len(data)), extra=extra)
