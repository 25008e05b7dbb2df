"""Synthetic control and synthetic difference in differences on a long panel, per cohort.

:func:`synthetic_control` and :func:`synthetic_did` take a long panel (one row per unit and
period), build one units x periods matrix per treatment cohort (the cohort's treated units
and the never-treated donors, cohort 0), fit it (:mod:`evaluate.synthcontrol.core`) and
refit it with every donor in turn as a placebo (:mod:`evaluate.synthcontrol.refits`).

Staggered adoption is handled cohort by cohort (donors are never-treated units only, so no
donor is ever treated in a cohort's window) and the cohort estimates are averaged with
weights ``N1_g * T1_g`` (treated units times post periods, the number of treated cells, as
Arkhangelsky et al. 2021, section 8). The standard error of that average treats the cohort
estimates as independent, which is approximate: the cohorts share donors.

The methods need a complete units x periods matrix: :func:`balance` removes the period or
unit with the largest share of missing outcomes, one at a time, until none is missing (all
counted in ``dropped_*``); a cohort with fewer than two pre-treatment periods, no post
period or fewer than two donors is reported as not estimable with the reason, never dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from evaluate.errors import InputError
from evaluate.synthcontrol.core import Fit, did_fit, sc_fit, sdid_fit
from evaluate.synthcontrol.refits import jackknife_se, placebo_fits, placebo_se
from evaluate.synthcontrol.results import SynthResult

__all__ = ["synthetic_control", "synthetic_did"]

#: Pre-treatment periods a cohort needs (SDID's noise level needs first differences).
MIN_PRE = 2


@dataclass
class Design:
    """One cohort's matrix: donors first, then treated units; pre periods first."""

    cohort: Any
    Y: np.ndarray | None
    N0: int
    T0: int
    donors: list
    treated: list
    times: list
    reason: str | None = None


def balance(observed: np.ndarray, *, treated: np.ndarray | None = None,
            treated_factor: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Units and periods to keep for a complete matrix, removing the emptiest line first.

    Repeatedly removes the period or the unit with the largest share of missing cells
    (a treated unit's share counts ``treated_factor`` times, so a missing treated cell
    tends to remove the period rather than the treated unit) until no cell is missing.

    Examples
    --------
    >>> import numpy as np
    >>> from evaluate.synthcontrol.model import balance
    >>> obs = np.array([[1, 1, 0, 1], [1, 1, 0, 1], [1, 1, 0, 1], [1, 0, 0, 0]], dtype=bool)
    >>> [a.tolist() for a in balance(obs)]
    [[True, True, True, False], [True, True, False, True]]
    """
    obs = np.asarray(observed, dtype=bool)
    keep_u = np.ones(obs.shape[0], dtype=bool)
    keep_t = np.ones(obs.shape[1], dtype=bool)
    w = np.where(treated, treated_factor, 1.0) if treated is not None else np.ones(obs.shape[0])
    while keep_u.any() and keep_t.any():
        sub = obs[np.ix_(keep_u, keep_t)]
        if sub.all():
            break
        miss_u = (1 - sub.mean(axis=1)) * w[keep_u]
        miss_t = 1 - sub.mean(axis=0)
        if miss_t.max() >= miss_u.max():
            keep_t[np.flatnonzero(keep_t)[int(np.argmax(miss_t))]] = False
        else:
            keep_u[np.flatnonzero(keep_u)[int(np.argmax(miss_u))]] = False
    return keep_u, keep_t


def designs(data: pd.DataFrame, *, outcome: str, unit: str, time: str, treated_units=None,
            cohort: str | None = None, treat_time=None) -> tuple[list[Design], dict[str, int]]:
    """Check the panel and build one :class:`Design` per cohort; count what was left out."""
    for c in [outcome, unit, time] + ([cohort] if cohort else []):
        if c not in data.columns:
            raise InputError("column not found", column=c)
    if (cohort is None) == (treated_units is None):
        raise InputError("give either cohort= (a column) or treated_units= with treat_time=")
    if treated_units is not None and treat_time is None:
        raise InputError("treated_units needs treat_time (the first treated period)")
    y = pd.to_numeric(data[outcome], errors="coerce")
    bad = y.isna() & data[outcome].notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 1
        raise InputError(f"not a number: {data[outcome][bad].iloc[0]!r}", column=outcome, row=row)
    d = pd.DataFrame({"u": data[unit].to_numpy(), "t": data[time].to_numpy(), "y": y.to_numpy()})
    if d.duplicated(["u", "t"]).any():
        row = int(np.flatnonzero(d.duplicated(["u", "t"]).to_numpy())[0]) + 1
        raise InputError(f"more than one row for a {unit} and {time}", column=time, row=row)
    if cohort is not None:
        g = data[cohort].to_numpy()
        d["g"] = g
        per = d.groupby("u")["g"].nunique(dropna=False)
        if (per > 1).any():
            raise InputError(f"cohort varies within {unit} {per.index[per > 1][0]!r}", column=cohort)
    else:
        tu = set(np.atleast_1d(np.asarray(treated_units, dtype=object)).tolist())
        missing = tu - set(d["u"].tolist())
        if missing:
            raise InputError(f"treated units not in the data: {sorted(map(str, missing))[:5]}", column=unit)
        d["g"] = np.where(d["u"].isin(tu), treat_time, 0)
    dropped = {"dropped_rows_missing_outcome": int(d["y"].isna().sum())}
    d = d[d["y"].notna()]
    wide = d.pivot(index="u", columns="t", values="y").sort_index()
    ucoh = d.groupby("u")["g"].first().reindex(wide.index)
    keep_u, keep_t = balance(wide.notna().to_numpy(), treated=(ucoh.to_numpy() != 0))
    dropped["dropped_units_incomplete"] = int((~keep_u).sum())
    dropped["dropped_periods_incomplete"] = int((~keep_t).sum())
    kept = wide.iloc[keep_u, keep_t]
    dropped["dropped_rows_incomplete"] = int(wide.notna().to_numpy().sum() - kept.size)
    wide = kept
    ucoh = ucoh[keep_u]
    times = wide.columns.tolist()
    donors = wide.index[ucoh.to_numpy() == 0].tolist()
    out = []
    cohorts = sorted(set(pd.unique(data[cohort] if cohort else pd.Series([treat_time]))) - {0})
    for gval in cohorts:
        treated = wide.index[ucoh.to_numpy() == gval].tolist()
        pre = [t for t in times if t < gval]
        post = [t for t in times if t >= gval]
        reason = None
        if not treated:
            reason = "not estimable: no treated unit left with complete outcomes"
        elif len(pre) < MIN_PRE:
            reason = (f"not estimable: {len(pre)} pre-treatment period(s) observed before {gval} "
                      f"(needs {MIN_PRE})")
        elif not post:
            reason = f"not estimable: no period observed at or after {gval}"
        elif len(donors) < 2:
            reason = "not estimable: fewer than 2 never-treated donors with complete outcomes"
        Y = None
        if reason is None:
            Y = np.vstack([wide.loc[donors, pre + post].to_numpy(), wide.loc[treated, pre + post].to_numpy()])
        out.append(Design(gval, Y, len(donors), len(pre), donors, treated, pre + post, reason))
    return out, dropped


def _estimate(method: str, data: pd.DataFrame, *, outcome: str, unit: str, time: str, treated_units,
              cohort, treat_time, vcov: str, replications: int, placebo: bool, seed: int | None,
              level: float) -> SynthResult:
    ds, dropped = designs(data, outcome=outcome, unit=unit, time=time, treated_units=treated_units,
                          cohort=cohort, treat_time=treat_time)
    rng = np.random.default_rng(seed)
    q = stats.norm.ppf(0.5 + level / 2)
    rows, paths = [], {}
    for dz in ds:
        row: dict[str, Any] = {"term": f"g={dz.cohort}", "cohort": dz.cohort, "n_treated": len(dz.treated),
                               "n_donors": dz.N0, "n_pre": dz.T0,
                               "n_post": len(dz.times) - dz.T0 if dz.Y is not None else np.nan,
                               "estimable": dz.reason is None, "reason": dz.reason or ""}
        if dz.Y is None:
            row.update(estimate=np.nan, se=np.nan, pre_rmspe=np.nan, post_rmspe=np.nan,
                       rmspe_ratio=np.nan, p_placebo=np.nan, n_post=np.nan)
            rows.append(row)
            continue
        Y, N0, T0 = dz.Y, dz.N0, dz.T0
        fit: Fit = {"sdid": sdid_fit, "sc": sc_fit, "did": did_fit}[method](Y, N0, T0)
        gap = fit.gap
        pre_r = float(np.sqrt(np.mean(gap[:T0] ** 2)))
        post_r = float(np.sqrt(np.mean(gap[T0:] ** 2)))
        row.update(estimate=fit.tau, pre_rmspe=pre_r, post_rmspe=post_r,
                   rmspe_ratio=post_r / pre_r if pre_r > 0 else np.inf)
        pl = placebo_fits(Y, N0, T0, fit, "sc" if method == "sc" else "sdid") if placebo and method != "did" else None
        p_pl = np.nan
        if pl is not None:
            if method == "sc":
                ratio = pl["post_rmspe"] / np.where(pl["pre_rmspe"] > 0, pl["pre_rmspe"], np.nan)
                p_pl = (1 + np.sum(ratio >= row["rmspe_ratio"] * (1 - 1e-12))) / (N0 + 1)
            else:
                p_pl = (1 + np.sum(np.abs(pl["tau"]) >= abs(fit.tau) * (1 - 1e-12))) / (N0 + 1)
        row["p_placebo"] = float(p_pl)
        N1 = Y.shape[0] - N0
        if vcov == "placebo":
            if pl is not None and N1 == 1:  # every donor once: the exact placebo variance
                r = pl["tau"].size
                se = float(np.sqrt((r - 1) / r) * np.std(pl["tau"], ddof=1))
            else:
                se = placebo_se(Y, N0, T0, fit, "sc" if method == "sc" else "sdid",
                                replications=replications, rng=rng)
        elif vcov == "jackknife":
            se = jackknife_se(Y, N0, T0, fit)
        else:
            se = np.nan
        row["se"] = se
        rows.append(row)
        paths[str(dz.cohort)] = {
            "times": list(dz.times), "treat_time": dz.cohort, "treated": fit.treated_path.tolist(),
            "synthetic": fit.synthetic_path.tolist(),
            "placebo_gaps": pl["gap"].tolist() if pl is not None else [],
            "unit_weights": {str(u): float(w) for u, w in zip(dz.donors, fit.omega, strict=True) if w > 1e-10},
            "time_weights": {str(t): float(w) for t, w in zip(dz.times[:T0], fit.lam, strict=False) if w > 1e-10},
            "zeta_omega": fit.zeta_omega, "zeta_lambda": fit.zeta_lambda,
        }
    table = pd.DataFrame(rows, columns=["term", "cohort", "n_treated", "n_donors", "n_pre", "n_post",
                                        "estimable", "reason", "estimate", "se", "pre_rmspe", "post_rmspe",
                                        "rmspe_ratio", "p_placebo"])
    table["estimable"] = table["estimable"].astype(bool)
    ok = table[table["estimable"]]
    if len(ok):
        w = ok["n_treated"].to_numpy(float) * ok["n_post"].to_numpy(float)
        w = w / w.sum()
        est = float(w @ ok["estimate"].to_numpy(float))
        se = float(np.sqrt(np.sum(w**2 * ok["se"].to_numpy(float) ** 2)))
    else:
        est = se = np.nan
    overall = {"term": "overall", "cohort": np.nan, "estimate": est, "se": se,
               "n_treated": int(ok["n_treated"].sum()), "n_donors": int(table["n_donors"].max()) if len(table) else 0,
               "estimable": bool(len(ok)),
               "reason": "" if len(ok) else ("no cohort is estimable" if len(table) else "no treated unit in the data"),
               "p_placebo": float(ok["p_placebo"].iloc[0]) if len(ok) == 1 else np.nan}
    table = pd.concat([table, pd.DataFrame([overall])], ignore_index=True)
    for c in ("estimate", "se", "n_treated", "n_donors", "n_pre", "n_post", "pre_rmspe", "post_rmspe",
              "rmspe_ratio", "p_placebo"):
        table[c] = pd.to_numeric(table[c], errors="coerce").astype(float)
    table["estimable"] = table["estimable"].astype(bool)
    z = table["estimate"] / table["se"]
    table["ci_low"] = table["estimate"] - q * table["se"]
    table["ci_high"] = table["estimate"] + q * table["se"]
    table["p_value"] = 2 * stats.norm.sf(np.abs(z))
    table["n"] = table["n_treated"]
    settings = {"method": method, "outcome": outcome, "unit": unit, "time": time, "cohort": cohort,
                "treat_time": treat_time, "vcov": vcov, "replications": replications, "seed": seed,
                "level": level, "aggregation": "cohorts weighted by treated units x post periods",
                "donors": "never treated (cohort 0)"}
    n_units = len(set().union(*[set(dz.donors) | set(dz.treated) for dz in ds])) if ds else 0
    n_obs = n_units * (len(ds[0].times) if ds and ds[0].Y is not None else 0)
    names = {"sdid": "synthetic_did", "sc": "synthetic_control", "did": "did_means"}
    return SynthResult(names[method], table, settings, n_units, n_obs, extra={**dropped, "paths": paths})


def synthetic_control(data: pd.DataFrame, *, outcome: str, unit: str, time: str,
                      treated_units: Sequence | None = None, cohort: str | None = None,
                      treat_time=None, placebo: bool = True, vcov: str = "placebo",
                      replications: int = 200, seed: int | None = None,
                      level: float = 0.95) -> SynthResult:
    """Synthetic control (Abadie, Diamond and Hainmueller 2010) per treatment cohort.

    The weights are non-negative and sum to one and minimise the squared distance between
    the treated units' mean pre-period path and the weighted donors' (identity ``V``, no
    intercept), solved exactly (:func:`~evaluate.synthcontrol.weights.simplex_least_squares`).
    The estimate is the mean post-period gap.

    Parameters
    ----------
    data
        Long panel: one row per unit and period.
    outcome, unit, time
        Column names (``time`` sortable; periods are compared with the cohort).
    treated_units, treat_time
        The treated units and their first treated period (one cohort) ...
    cohort
        ... or a column with each unit's first treated period (0 = never treated).
    placebo
        Refit with every donor in turn as the treated unit: the placebo-in-space p-value is
        the rank of the treated post/pre RMSPE ratio among all, ``(1 + #{ratio_j >=
        ratio}) / (N0 + 1)``, in ``p_placebo``.
    vcov
        ``"placebo"`` (the standard deviation of placebo estimates: every donor once when
        there is one treated unit, else ``replications`` random draws of ``N1`` donors),
        ``"jackknife"`` (fixed weights; needs two or more treated units) or ``"none"``.
    replications, seed
        Placebo draws and their seed.
    level
        Confidence level of the (normal) intervals.

    Returns
    -------
    SynthResult
        One row per cohort (``g=<cohort>``) and an ``overall`` row.

    Examples
    --------
    >>> from evaluate.synthcontrol import example_la_panel, synthetic_control
    >>> panel = example_la_panel(n_las=30, n_periods=12, effect=-5.0, seed=1)
    >>> res = synthetic_control(panel, outcome="y", unit="la_code", time="t", cohort="cohort")
    >>> res.to_frame()["term"].tolist()
    ['g=9', 'overall']
    >>> round(res.overall)
    -5
    >>> bool(res.to_frame()["p_placebo"].iloc[0] <= 0.1)
    True
    """
    return _estimate("sc", data, outcome=outcome, unit=unit, time=time, treated_units=treated_units,
                     cohort=cohort, treat_time=treat_time, vcov=vcov, replications=replications,
                     placebo=placebo, seed=seed, level=level)


def synthetic_did(data: pd.DataFrame, *, outcome: str, unit: str, time: str,
                  treated_units: Sequence | None = None, cohort: str | None = None, treat_time=None,
                  placebo: bool = True, vcov: str = "placebo", replications: int = 200,
                  seed: int | None = None, level: float = 0.95) -> SynthResult:
    """Synthetic difference in differences (Arkhangelsky et al. 2021) per treatment cohort.

    As R ``synthdid::synthdid_estimate`` without covariates: unit weights with an intercept
    and ridge ``zeta = (N1 T1)^(1/4) sd(first differences of donors' pre-period outcomes)``,
    time weights with an intercept and ridge ``1e-6 sd(...)``, both by Frank-Wolfe (100
    steps, sparsify, then to convergence), then the weighted difference in differences.

    Parameters
    ----------
    data, outcome, unit, time, treated_units, treat_time, cohort, replications, seed, level
        As :func:`synthetic_control`.
    placebo
        Refit with every donor in turn as the treated unit (same penalties, warm starts):
        the placebo-in-space p-value is the rank of ``|tau|``, ``(1 + #{|tau_j| >= |tau|}) /
        (N0 + 1)``, in ``p_placebo``. Each placebo is one donor; with several treated units
        the treated estimate is an average over them, less noisy than one donor's, so the
        p-value is conservative then.
    vcov
        ``"placebo"`` (R ``vcov(method = "placebo")``; with one treated unit every donor
        once instead of random draws), ``"jackknife"`` (R's, fixed weights; NaN with one
        treated unit) or ``"none"``.

    Returns
    -------
    SynthResult

    Examples
    --------
    >>> from evaluate.synthcontrol import example_la_panel, synthetic_did
    >>> panel = example_la_panel(n_las=30, n_periods=12, effect=-1.0, seed=1)
    >>> res = synthetic_did(panel, outcome="y", unit="la_code", time="t", cohort="cohort", seed=0)
    >>> round(res.overall)
    -1
    """
    return _estimate("sdid", data, outcome=outcome, unit=unit, time=time, treated_units=treated_units,
                     cohort=cohort, treat_time=treat_time, vcov=vcov, replications=replications,
                     placebo=placebo, seed=seed, level=level)
