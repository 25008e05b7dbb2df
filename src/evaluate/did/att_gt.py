"""Callaway and Sant'Anna (2021) group-time average treatment effects, as R ``did`` 2.5.

:func:`callaway_santanna` estimates ATT(g, t) for every treatment cohort ``g`` and period
``t`` with the 2x2 estimators of :mod:`evaluate.did.drdid` (doubly robust, IPW or outcome
regression), keeps the influence functions (one row per unit, one column per cell) and
returns an :class:`ATTgtResult`, which aggregates (:meth:`ATTgtResult.aggregate`) and tests
parallel pre-trends (:meth:`ATTgtResult.pretest`).

Conventions follow R ``did``: never treated is cohort 0; cohorts first treated after the
last period count as never treated; units first treated in the first period are dropped
(counted in ``extra["dropped_treated_first_period"]``); with ``base_period="varying"``
pre-treatment cells compare ``t`` with ``t - 1`` and post-treatment cells compare ``t``
with ``g - anticipation - 1``; with ``"universal"`` every cell uses ``g - anticipation - 1``.
Covariates and weights are read at the cell's base period.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

import evaluate.did.drdid as drdid
from evaluate.did._validate import prepare
from evaluate.did.inference import StoredDraws, bootstrap_draws, summarise_draws
from evaluate.did.inference import influence_se as _se
from evaluate.did.results import DiDResult, tidy_table
from evaluate.errors import InputError

__all__ = ["ATTgtResult", "callaway_santanna"]

_PANEL_ESTIMATORS = {"dr": drdid.dr_panel, "dr_imp": drdid.dr_imp_panel, "ipw": drdid.ipw_panel,
                     "reg": drdid.reg_panel}
_RC_ESTIMATORS = {"dr": drdid.dr_rc, "ipw": drdid.ipw_rc, "reg": drdid.reg_rc}


@dataclass(frozen=True)
class ATTgtResult(DiDResult):
    """Group-time average treatment effects (one tidy row per cohort ``g`` and period ``t``).

    Extra table columns: ``group``, ``time``, ``event_time`` (``t - g``), ``post``.
    ``extra`` holds the influence functions (``"influence"``, units x cells, read-only), the
    unit cohorts and weights used by aggregation, cohort sizes and probabilities, the
    pre-test and the counts of dropped units.

    Examples
    --------
    >>> from evaluate.did import callaway_santanna, example_panel
    >>> res = callaway_santanna(example_panel(), outcome="y", unit="id", time="period",
    ...                         cohort="cohort")
    >>> res.table[["group", "time", "event_time"]].head(3)
       group  time  event_time
    0      3     2          -1
    1      3     3           0
    2      3     4           1
    >>> res.pretest()["p_value"] > 0.05
    True
    >>> res.influence.shape
    (200, 15)
    """

    def aggregate(self, type: str = "simple", *, min_e: float = -math.inf, max_e: float = math.inf,
                  balance_e: int | None = None, bootstrap: int | None = None,
                  seed: int | None = None):
        """Aggregate ATT(g, t) as R ``did::aggte``.

        Parameters
        ----------
        type
            ``"simple"``, ``"group"``, ``"dynamic"`` or ``"calendar"``.
        min_e, max_e
            Event times kept (dynamic), or the last event time kept (simple and group).
        balance_e
            Dynamic only: keep cohorts observed for at least ``balance_e`` periods after
            treatment.
        bootstrap
            Multiplier-bootstrap draws (default: as the ATT(g, t) fit; 0 = analytic SEs).
        seed
            Seed of the bootstrap (default: as the ATT(g, t) fit).

        Returns
        -------
        AggregateResult
        """
        from evaluate.did.aggregate import aggregate

        return aggregate(self, type, min_e=min_e, max_e=max_e, balance_e=balance_e,
                         bootstrap=bootstrap, seed=seed)

    def pretest(self, *, exclude_anticipation: bool = False) -> dict[str, float]:
        """Wald pre-test that every pre-treatment ATT(g, t) is zero (R ``did``'s ``W``, ``Wpval``).

        Parameters
        ----------
        exclude_anticipation
            Leave out the cells of the anticipation window (``g - anticipation <= t < g``),
            which may carry part of the effect (for example partly exposed years): the test
            is then on the years that should show no effect. R ``did`` tests every
            pre-treatment cell (the default here, for parity).

        Returns
        -------
        dict
            ``statistic``, ``df`` and ``p_value`` (NaN when there is nothing to test).
        """
        a = int(self.settings.get("anticipation", 0))
        if not exclude_anticipation or a == 0:
            return dict(self.extra["pretest"])
        t = self.table
        inf = np.asarray(self.extra["influence"])
        n = inf.shape[0]
        att = t["estimate"].to_numpy(dtype=float)
        pre = np.flatnonzero((t["time"].to_numpy() < t["group"].to_numpy() - a) & np.isfinite(t["se"].to_numpy()))
        out = {"statistic": math.nan, "df": float(len(pre)), "p_value": math.nan}
        if len(pre):
            pv = inf[:, pre].T @ inf[:, pre] / n
            if np.linalg.det(pv) != 0:
                w = float(n * att[pre] @ np.linalg.solve(pv, att[pre]))
                out = {"statistic": w, "df": float(len(pre)), "p_value": float(stats.chi2.sf(w, len(pre)))}
        return out

    @property
    def influence(self) -> np.ndarray:
        """The influence-function matrix (units x ATT(g, t) cells), read-only."""
        return self.extra["influence"]


def _encode_categoricals(data: pd.DataFrame, covariates: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """One-hot encode non-numeric covariates (dropping the first level, as R's ``model.matrix``)."""
    out_cols: list[str] = []
    new: dict[str, np.ndarray] = {}
    for c in covariates:
        if c not in data.columns:
            out_cols.append(c)  # prepare() reports the missing column
            continue
        s = data[c]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
            out_cols.append(c)
            continue
        levels = sorted(pd.Series(s.dropna().unique()).astype(str).tolist())
        as_str = s.astype("string")
        for lev in levels[1:]:
            name = f"{c}[{lev}]"
            new[name] = np.where(s.isna(), np.nan, (as_str == lev).fillna(False).to_numpy(dtype=bool).astype(float))
            out_cols.append(name)
    if not new:
        return data, out_cols
    return data.assign(**new), out_cols


def _sorted_codes(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(values, return_inverse=True)``, by hashing (``pandas.factorize``) when it can."""
    try:
        codes, uniq = pd.factorize(values, sort=True)
    except TypeError:
        return np.unique(values, return_inverse=True)
    return np.asarray(uniq), codes


def _first_equal(columns: list[np.ndarray]) -> list[int]:
    """For each array, the index of the first array in ``columns`` equal to it (NaNs equal)."""
    out: list[int] = []
    for i, c in enumerate(columns):
        # the first rows tell most different columns apart without a full comparison
        out.append(next((k for k in range(i) if out[k] == k
                         and np.array_equal(columns[k][:64], c[:64], equal_nan=True)
                         and np.array_equal(columns[k], c, equal_nan=True)), i))
    return out


def callaway_santanna(data: pd.DataFrame, *, outcome: str, unit: str, time: str, cohort: str,
                      covariates: Sequence[str] = (), control: str = "never", estimator: str = "dr",
                      anticipation: int = 0, base_period: str = "varying", weights: str | None = None,
                      cluster: str | None = None, panel: bool = True, bootstrap: int = 0,
                      bootstrap_weights: str = "rademacher", seed: int | None = None,
                      level: float = 0.95, uniform: bool = True, fix_weights: str = "none",
                      subexperiment: str | None = None, solver: str = "fast") -> ATTgtResult:
    """Callaway and Sant'Anna (2021) group-time average treatment effects.

    Parameters
    ----------
    data
        Long panel: one row per unit and period.
    outcome, unit, time, cohort
        Column names; ``cohort`` is the first treated period, 0 (or empty) = never treated.
    covariates
        Covariates (read at the base period); non-numeric columns are one-hot encoded.
    control
        ``"never"`` (never-treated units) or ``"not_yet"`` (also units not yet treated by
        ``max(t, base) + anticipation``).
    estimator
        ``"dr"`` (``DRDID::drdid_panel``), ``"dr_imp"`` (``drdid_imp_panel``: improved
        doubly robust, propensity score by inverse probability tilting; panel only),
        ``"ipw"`` (``std_ipw_did_panel``) or ``"reg"`` (``reg_did_panel``); with
        ``panel=False`` the repeated cross-section versions of ``dr``, ``ipw`` and ``reg``
        (``drdid_rc``, ``std_ipw_did_rc``, ``reg_did_rc``). With ``"dr_imp"``,
        ``extra["ps_flag"]`` holds DRDID's propensity-score flag of every cell (0 calibrated,
        1 extrapolated IPT, 2 logit fallback) and a warning is issued if any cell fell back.
    anticipation
        Periods of anticipation.
    base_period
        ``"varying"`` or ``"universal"``.
    weights
        Sampling-weight column (read at the base period of each cell, see ``fix_weights``; at
        the first period for aggregation weights).
    cluster
        Column of clusters above the unit; standard errors then use cluster means of the
        influence functions.
    panel
        ``False`` treats the rows as repeated cross-sections.
    bootstrap
        Multiplier-bootstrap draws (0 = analytic standard errors).
    bootstrap_weights
        ``"rademacher"``, ``"mammen"`` or ``"webb"``.
    seed
        Seed of ``numpy.random.default_rng`` for the bootstrap.
    level
        Confidence level.
    uniform
        With the bootstrap, report sup-t uniform confidence bands.
    fix_weights
        Which period's weights a cell uses when they vary over time: ``"none"`` (the cell's
        own base period), ``"base_period"`` (the cohort's base period ``g - anticipation - 1``)
        ``"first_period"`` (the first period of the data), or ``"varying"`` (each unit-period
        keeps its own weight: the repeated cross-section regression estimator on the two
        periods, influence function summed within unit; ``estimator="reg"`` only). Irrelevant
        for unit-level weights.
    subexperiment
        For a stacked (for example matched) design: a column naming, for every unit, the
        cohort whose sub-experiment the unit belongs to. Cohort ``g``'s treated units are
        then the units of cohort ``g`` in sub-experiment ``g`` and its comparison units only
        those of sub-experiment ``g`` (never treated, or with ``control="not_yet"`` also
        units of later cohorts not yet treated). Unit ids must be unique across
        sub-experiments (a school matched to two cohorts appears twice, under two ids);
        cluster on the original school (``cluster=``) to account for the reuse.
    solver
        How the nuisance models (logit propensity score, least-squares outcome regressions)
        are fitted: ``"fast"`` (numpy; the default) or ``"statsmodels"`` (the reference the
        fast solver is tested against to 1e-10; see :func:`evaluate.did.drdid.use_solver`).
        The results are the same either way.

    Returns
    -------
    ATTgtResult

    Raises
    ------
    InputError
        Invalid settings or data, or a cohort without comparison units.

    Examples
    --------
    Group-time ATTs on a simulated staggered panel (true effect ``1 + 0.5 e`` at event
    time ``e``), then the aggregations of R ``did::aggte``:

    >>> from evaluate.did import callaway_santanna, example_panel
    >>> panel = example_panel(n_units=200, seed=0)
    >>> res = callaway_santanna(panel, outcome="y", unit="id", time="period",
    ...                         cohort="cohort", control="never", estimator="dr")
    >>> res.table.shape[0]
    15
    >>> simple = res.aggregate("simple")
    >>> round(float(simple.estimates["overall"]), 2)
    1.66
    >>> dynamic = res.aggregate("dynamic")
    >>> dynamic.table["term"].tolist()
    ['e=-3', 'e=-2', 'e=-1', 'e=0', 'e=1', 'e=2', 'e=3', 'overall']
    """
    if control not in ("never", "not_yet"):
        raise InputError(f"control must be 'never' or 'not_yet', not {control!r}")
    if estimator not in _PANEL_ESTIMATORS:
        raise InputError(f"estimator must be 'dr', 'dr_imp', 'ipw' or 'reg', not {estimator!r}")
    if estimator not in _RC_ESTIMATORS and not panel:
        raise InputError(f"estimator={estimator!r} is implemented for panel data only (panel=True)")
    if base_period not in ("varying", "universal"):
        raise InputError(f"base_period must be 'varying' or 'universal', not {base_period!r}")
    if not isinstance(anticipation, (int, np.integer)) or anticipation < 0:
        raise InputError(f"anticipation must be a non-negative whole number, not {anticipation!r}")
    if not isinstance(bootstrap, (int, np.integer)) or bootstrap < 0:
        raise InputError(f"bootstrap must be a non-negative whole number of draws, not {bootstrap!r}")
    if bootstrap_weights not in ("rademacher", "mammen", "webb"):
        raise InputError(f"bootstrap_weights must be 'rademacher', 'mammen' or 'webb', not {bootstrap_weights!r}")
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1, not {level!r}")
    if fix_weights not in ("none", "base_period", "first_period", "varying"):
        raise InputError("fix_weights must be 'none', 'base_period', 'first_period' or 'varying', "
                         f"not {fix_weights!r}")
    if solver not in drdid.SOLVERS:
        raise InputError(f"solver must be 'fast' or 'statsmodels', not {solver!r}")
    if fix_weights == "varying" and estimator != "reg":
        raise InputError("fix_weights='varying' is implemented for estimator='reg' only")
    covariates = tuple(covariates or ())
    settings: dict[str, Any] = dict(outcome=outcome, unit=unit, time=time, cohort=cohort,
                                    covariates=list(covariates), control=control, estimator=estimator,
                                    anticipation=int(anticipation), base_period=base_period,
                                    weights=weights, cluster=cluster, panel=bool(panel),
                                    bootstrap=int(bootstrap), bootstrap_weights=bootstrap_weights,
                                    seed=seed, level=level, uniform=bool(uniform),
                                    fix_weights=fix_weights, subexperiment=subexperiment)
    if isinstance(data, pd.DataFrame):
        data, cov_cols = _encode_categoricals(data, covariates)
    else:
        cov_cols = list(covariates)
    if subexperiment is not None:
        if subexperiment not in data.columns:
            raise InputError(f"subexperiment column '{subexperiment}' not found", column=subexperiment)
        stack_raw = pd.to_numeric(data[subexperiment], errors="coerce")
        if stack_raw.isna().any():
            row = int(np.flatnonzero(stack_raw.isna().to_numpy())[0])
            raise InputError("the sub-experiment must be a cohort (a whole number) for every row",
                             column=subexperiment, row=row + 1)
    prep = prepare(data, outcome=outcome, unit=unit, time=time, cohort=cohort, covariates=cov_cols,
                   weights=weights, cluster=cluster,
                   extra_columns=[subexperiment] if subexperiment is not None else None)
    df = prep.data
    tlist = np.sort(df[time].unique())
    # cohorts first treated after the last period are never treated within the data
    df.loc[df[cohort] > tlist[-1], cohort] = 0
    first = tlist[0]
    early = (df[cohort] > 0) & (df[cohort] <= first)
    dropped_first = int(df.loc[early, unit].nunique())
    df = df.loc[~early].reset_index(drop=True)
    dropped_unbalanced = 0
    if panel:
        counts = df.groupby(unit, sort=False)[time].transform("size")
        unbalanced = counts < len(tlist)
        dropped_unbalanced = int(df.loc[unbalanced, unit].nunique())
        df = df.loc[~unbalanced].reset_index(drop=True)
    if len(df) == 0:
        raise InputError("no units left after dropping units treated in the first period "
                         "and units not observed in every period", column=cohort)
    if control == "never" and not (df[cohort] == 0).any():
        raise InputError("no never-treated units (cohort 0) to compare with; use control='not_yet'",
                         column=cohort)
    if control == "not_yet" and not (df[cohort] == 0).any():
        # as R did: the last cohort becomes the comparison group, periods from its treatment on are dropped
        gmax = int(df[cohort].max())
        df = df.loc[df[time] < gmax - anticipation].reset_index(drop=True)
        df.loc[df[cohort] == gmax, cohort] = 0
        tlist = np.sort(df[time].unique())
    glist = np.sort(df.loc[df[cohort] > 0, cohort].unique())
    if len(glist) == 0:
        raise InputError("no treated cohort (every unit has cohort 0)", column=cohort)
    est_fn = _PANEL_ESTIMATORS[estimator]
    rc_fn = _RC_ESTIMATORS.get(estimator)
    ps_flags: dict[str, int] = {}

    if panel:
        units, ucode = _sorted_codes(df[unit].to_numpy())
        tcode = np.searchsorted(tlist, df[time].to_numpy())
        n = len(units)
        n_t = len(tlist)
        # unit x period matrices, column-major: a cell gathers whole period columns
        ymat = np.full((n, n_t), np.nan, order="F")
        ymat[ucode, tcode] = df[outcome].to_numpy(dtype=float)
        xmat = np.full((n_t, n, len(cov_cols)), np.nan)  # period, unit, covariate
        for j, c in enumerate(cov_cols):
            xmat[tcode, ucode, j] = df[c].to_numpy(dtype=float)
        wmat = np.ones((n, n_t), order="F")
        if weights:
            wmat[ucode, tcode] = df[weights].to_numpy(dtype=float)
        g_unit = np.zeros(n, dtype=np.int64)
        g_unit[ucode] = df[cohort].to_numpy()
        stack_unit = None
        if subexperiment is not None:
            stack_unit = np.zeros(n, dtype=np.int64)
            stack_unit[ucode] = df[subexperiment].to_numpy().astype(np.int64)
        cl_unit = None
        if cluster:
            cl_unit = np.empty(n, dtype=object)
            cl_unit[ucode] = df[cluster].to_numpy()
        w_agg = wmat[:, 0].copy()
        # periods whose covariates (weights) equal an earlier period's for every unit share
        # that period's propensity-score fits (see drdid.cell_keys)
        x_same = _first_equal([xmat[b] for b in range(n_t)]) if cov_cols else [0] * n_t
        w_same = _first_equal([wmat[:, b] for b in range(n_t)]) if weights else [0] * n_t
    else:
        n = len(df)
        t_obs = df[time].to_numpy()
        y_obs = df[outcome].to_numpy(dtype=float)
        x_obs = df[list(cov_cols)].to_numpy(dtype=float) if cov_cols else None
        w_obs = df[weights].to_numpy(dtype=float) if weights else np.ones(n)
        g_unit = df[cohort].to_numpy().astype(np.int64)
        stack_unit = df[subexperiment].to_numpy().astype(np.int64) if subexperiment is not None else None
        cl_unit = df[cluster].to_numpy() if cluster else None
        w_agg = w_obs.copy()

    # g_own: the cohort a unit is treated in within its own sub-experiment (0 for comparison
    # units); without sub-experiments, the cohort itself
    g_own = g_unit if stack_unit is None else np.where(stack_unit == g_unit, g_unit, 0)
    if stack_unit is not None:
        glist = np.sort(np.unique(g_own[g_own > 0]))
    g_values = np.unique(g_unit)
    tfac = 0 if base_period == "universal" else 1
    # the cells: cohort, period index, base period index, post, the cohort's base period index
    specs: list[tuple[int, int, int, bool, int]] = []
    for g in glist:
        pre_idx = np.flatnonzero(tlist + anticipation < g)
        if len(pre_idx) == 0:
            continue  # as R: no pre-treatment period for this cohort
        gbase = int(pre_idx[-1])
        for ti in range(tfac, len(tlist)):
            post = bool(g <= int(tlist[ti]))
            bi = gbase if base_period == "universal" or post else ti - 1
            specs.append((int(g), ti, bi, post, gbase))
    cells: list[dict[str, Any]] = []
    inf = np.zeros((n, len(specs)), order="F")
    sel_cache: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
    with drdid.shared_fits(), drdid.use_solver(solver):  # identical propensity-score fits are computed once
        for j, (g, ti, bi, post, gbase) in enumerate(specs):
            tcur = int(tlist[ti])
            tbase = int(tlist[bi])
            if tcur == tbase:  # universal base period: normalised to zero
                cells.append(dict(group=g, time=tcur, att=0.0, n=0, post=post))
                continue
            last = max(tcur, tbase)
            treated = g_own == g
            if control == "never":
                ctrl_g = (0,)
                ctrl = g_unit == 0
            else:
                ctrl_g = (0, *(int(c) for c in g_values if c > last + anticipation and c != g))
                ctrl = (g_unit == 0) | ((g_unit > last + anticipation) & (g_unit != g))
            if stack_unit is not None:
                ctrl = ctrl & (stack_unit == g)
            # the units (and treatment indicator) of the cell are fixed by the cohort and the
            # cohorts of its comparison units
            units_key = repr((g, ctrl_g)).encode()
            if panel:
                if not ctrl.any():
                    raise InputError(f"cohort {g}: no comparison units for period {tcur}", column=cohort)
                if units_key not in sel_cache:
                    idx = np.flatnonzero(treated | ctrl)
                    sel_cache[units_key] = (idx, treated[idx].astype(float))
                idx, dd = sel_cache[units_key]
                # the change is always Y(t) - Y(base), also for pre-periods after a universal base
                xs = xmat[bi][idx] if cov_cols else None
                n1 = len(idx)
                if fix_weights == "varying" and weights:
                    # as R did 2.5: each unit-period keeps its own weight; the repeated
                    # cross-section regression estimator on the stacked pair, with the
                    # influence function summed within unit
                    xs2 = np.concatenate([xmat[ti][idx], xs]) if cov_cols else None
                    att, inf_o = drdid.reg_rc(np.concatenate([ymat[idx, ti], ymat[idx, bi]]),
                                              np.r_[np.ones(n1), np.zeros(n1)], np.r_[dd, dd], xs2,
                                              np.concatenate([wmat[idx, ti], wmat[idx, bi]]))
                    inf_c = (inf_o[:n1] + inf_o[n1:]) / 2
                else:
                    wi = {"none": bi, "first_period": 0, "base_period": gbase, "varying": bi}[fix_weights]
                    wcell = wmat[idx, wi] if weights else None
                    fit_info: dict[str, Any] = {}
                    kw = {"info": fit_info} if estimator == "dr_imp" else {}
                    fit_key = units_key + repr((x_same[bi], w_same[wi])).encode()
                    with drdid.cell_keys(fit_key, units_key):
                        att, inf_c = est_fn(ymat[idx, ti], ymat[idx, bi], dd, xs, wcell, **kw)
                    if "ps_flag" in fit_info:
                        ps_flags[f"g{g}_t{tcur}"] = int(fit_info["ps_flag"])
            else:
                in_t = (t_obs == tcur) | (t_obs == tbase)
                sel = in_t & (treated | ctrl)
                if not (in_t & ctrl).any():
                    raise InputError(f"cohort {g}: no comparison units for period {tcur}", column=cohort)
                idx = np.flatnonzero(sel)
                post_obs = (t_obs[idx] == tcur).astype(float)
                obs_key = units_key + repr((tcur, tbase)).encode()
                with drdid.cell_keys(obs_key, obs_key):
                    att, inf_c = rc_fn(y_obs[idx], post_obs, treated[idx].astype(float),
                                       x_obs[idx] if x_obs is not None else None,
                                       w_obs[idx] if weights else None)
                n1 = len(idx)
            inf[idx, j] = (n / n1) * inf_c
            cells.append(dict(group=g, time=tcur, att=att, n=n1, post=post))
    if any(ps_flags.values()):
        bad = sorted(k for k, v in ps_flags.items() if v)
        warnings.warn("inverse probability tilting did not converge for cells "
                      f"{', '.join(bad)}; see extra['ps_flag'] (2 = logit fallback, as DRDID)",
                      RuntimeWarning, stacklevel=2)
    if not cells:
        raise InputError("no group-time cell can be estimated (no cohort has a pre-treatment period)",
                         column=cohort)
    att = np.array([c["att"] for c in cells])
    group = np.array([c["group"] for c in cells])
    tt = np.array([c["time"] for c in cells])
    se = _se(inf, cl_unit)

    # Wald pre-test (analytic variance, as R)
    vmat = inf.T @ inf / n
    pre = np.flatnonzero((group > tt) & np.isfinite(se))
    pretest = {"statistic": math.nan, "df": float(len(pre)), "p_value": math.nan}
    if len(pre):
        pv = vmat[np.ix_(pre, pre)]
        if np.linalg.det(pv) != 0:
            w_stat = float(n * att[pre] @ np.linalg.solve(pv, att[pre]))
            pretest = {"statistic": w_stat, "df": float(len(pre)),
                       "p_value": float(stats.chi2.sf(w_stat, len(pre)))}

    ci_low = ci_high = None
    crit = None
    stored = None
    if bootstrap > 0:
        # the weights are drawn once, for a basis that spans every aggregation's influence
        # function: the cells' influence functions, each cohort's weighted indicator and the
        # constant (the terms of the estimated aggregation weights); aggregations reuse them
        basis = np.column_stack([inf] + [w_agg * (g_own == g) for g in np.unique(group)] + [np.ones(n)])
        draws_ = bootstrap_draws(basis, cluster=cl_unit, draws=int(bootstrap), weights=bootstrap_weights,
                                 rng=np.random.default_rng(seed))
        draws_.setflags(write=False)
        stored = StoredDraws(draws_, n, bootstrap_weights, seed, int(bootstrap))
        bse, crit = summarise_draws(draws_[:, :inf.shape[1]], n, level)
        se = np.where(np.isfinite(se), bse, np.nan)
        if uniform and np.isfinite(crit):
            ci_low, ci_high = att - crit * se, att + crit * se
    table = tidy_table([f"g{g}_t{t}" for g, t in zip(group, tt, strict=True)], att, se,
                       n=[c["n"] for c in cells], level=level, ci_low=ci_low, ci_high=ci_high)
    table["group"] = group
    table["time"] = tt
    table["event_time"] = tt - group
    table["post"] = np.array([c["post"] for c in cells], dtype=bool)

    sizes = {int(g): int(np.sum(g_own == g)) for g in glist}
    probs = {int(g): float(np.mean(w_agg * (g_own == g))) for g in glist}
    g_own = np.array(g_own, copy=True)
    inf.setflags(write=False)
    for arr in (g_own, w_agg):
        arr.setflags(write=False)
    unit_ids = np.asarray(units if panel else df[unit].to_numpy(), dtype=object)
    unit_ids.setflags(write=False)
    extra = {
        "influence": inf,
        "unit_ids": unit_ids,
        "unit_cohort": g_own,
        "unit_weights": w_agg,
        "unit_cluster": cl_unit,
        "group_sizes": sizes,
        "group_probabilities": probs,
        "periods": [int(t) for t in tlist],
        "pretest": pretest,
        "crit_value": crit if crit is not None else float(stats.norm.ppf(0.5 + level / 2)),
        "dropped_treated_first_period": dropped_first,
        "dropped_unbalanced": dropped_unbalanced,
        "dropped_missing": prep.dropped_missing,
        "covariate_columns": list(cov_cols),
        "ps_flag": ps_flags if estimator == "dr_imp" else None,
        "_bootstrap_draws": stored,
    }
    n_units = n if panel else len(pd.unique(df[unit].to_numpy()))
    return ATTgtResult("callaway_santanna", table, settings, n_units=int(n_units),
                       n_obs=int(len(df)), extra=extra)
