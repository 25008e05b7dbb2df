"""Aggregations of ATT(g, t) (R ``did::aggte``): simple, group, dynamic (event study), calendar.

Cells are weighted by cohort size (weighted by the sampling weights), and the influence
function of each aggregate includes the term for the estimated weights (R's ``wif``) for the
simple, dynamic and calendar components and for the overall group effect.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats

from evaluate.did.inference import bootstrap_draws, summarise_draws
from evaluate.did.inference import influence_se as _se
from evaluate.did.results import DiDResult, tidy_table
from evaluate.errors import InputError

if TYPE_CHECKING:
    from evaluate.did.att_gt import ATTgtResult

__all__ = ["AggregateResult", "aggregate"]

_PREFIX = {"group": "g", "dynamic": "e", "calendar": "t"}


@dataclass(frozen=True)
class AggregateResult(DiDResult):
    """An aggregation of ATT(g, t): one tidy row per component and an ``"overall"`` row.

    Terms are ``"e=-2"`` (dynamic), ``"g=2004"`` (group), ``"t=2006"`` (calendar); the
    extra column ``component`` holds the event time, cohort or period (NaN for overall).
    """

    @property
    def overall_att(self) -> float:
        """The overall aggregate effect."""
        return float(self.table.loc[self.table["term"] == "overall", "estimate"].iloc[0])

    @property
    def overall_se(self) -> float:
        """Standard error of the overall aggregate effect."""
        return float(self.table.loc[self.table["term"] == "overall", "se"].iloc[0])


def _wif(keepers: np.ndarray, pg: np.ndarray, w: np.ndarray, g_unit: np.ndarray,
         group: np.ndarray) -> np.ndarray:
    """Influence function of the estimated aggregation weights (R did's ``wif``), units x keepers."""
    ind = w[:, None] * (g_unit[:, None] == group[keepers][None, :]) - pg[keepers][None, :]
    total = pg[keepers].sum()
    if1 = ind / total
    if2 = ind.sum(axis=1)[:, None] * (pg[keepers] / total**2)[None, :]
    return if1 - if2


def _wif_times(keepers: np.ndarray, pg: np.ndarray, w: np.ndarray, unit_pos: np.ndarray,
               cohorts: np.ndarray, group: np.ndarray, a: np.ndarray) -> np.ndarray:
    """``_wif(keepers, pg, w, g_unit, group) @ a`` without the units x keepers matrix.

    ``unit_pos`` is each unit's position in the sorted ``cohorts`` (``len(cohorts)`` for a
    unit of none of them, see :func:`_unit_positions`). With ``T = sum(pg[keepers])`` and
    ``pa = pg[keepers] @ a``, column ``k`` of ``_wif`` is ``(w 1[g_unit = g_k] - pg_k) / T
    - (w C(g_unit) - T) pg_k / T**2`` (``C(g)``: the number of keepers of cohort ``g``), so
    ``_wif @ a = w * h(g_unit)`` with ``h(g) = S(g) / T - C(g) pa / T**2`` (``S(g)``: the
    sum of ``a`` over the keepers of cohort ``g``; 0 for other units): the constant terms
    cancel.
    """
    pk = pg[keepers]
    total = pk.sum()
    pa = float(pk @ a)
    h = np.zeros(len(cohorts) + 1)
    np.add.at(h, np.searchsorted(cohorts, group[keepers]), np.asarray(a, dtype=float) / total - pa / total**2)
    return w * h[unit_pos]


def _unit_positions(g_unit: np.ndarray, cohorts: np.ndarray) -> np.ndarray:
    """Each unit's position in the sorted ``cohorts``, ``len(cohorts)`` if its cohort is not one."""
    pos = np.searchsorted(cohorts, g_unit)
    clipped = np.minimum(pos, len(cohorts) - 1)
    return np.where(cohorts[clipped] == g_unit, clipped, len(cohorts))


def _wif_coef(keepers: np.ndarray, pg: np.ndarray, group: np.ndarray, cohorts: np.ndarray,
              n_basis: int) -> np.ndarray:
    """:func:`_wif` as coefficients on the fit's bootstrap basis (basis x keepers).

    The basis is the cells' influence functions, then ``w * (g_unit == g)`` for each cohort
    in ``cohorts`` (sorted), then the constant (last column).
    """
    k0 = n_basis - len(cohorts) - 1
    ind = np.zeros((n_basis, len(keepers)))
    ind[k0 + np.searchsorted(cohorts, group[keepers]), np.arange(len(keepers))] = 1.0
    ind[-1] = -pg[keepers]
    total = pg[keepers].sum()
    return ind / total - ind.sum(axis=1)[:, None] * (pg[keepers] / total**2)[None, :]


def _cell_coef(cols: np.ndarray, weights: np.ndarray, n_basis: int) -> np.ndarray:
    """``inf[:, cols] @ weights`` as coefficients on the bootstrap basis."""
    c = np.zeros(n_basis)
    c[cols] = weights
    return c


def aggregate(res: ATTgtResult, type: str = "simple", *, min_e: float = -math.inf,
              max_e: float = math.inf, balance_e: int | None = None, bootstrap: int | None = None,
              seed: int | None = None) -> AggregateResult:
    """Aggregate group-time effects (see :meth:`ATTgtResult.aggregate`).

    Parameters
    ----------
    res
        The ATT(g, t) fit.
    type
        ``"simple"``, ``"group"``, ``"dynamic"`` or ``"calendar"``.
    min_e, max_e, balance_e
        Event-time window and balancing, as R ``aggte``.
    bootstrap, seed
        Multiplier-bootstrap draws and seed (default: those of the fit).

    Returns
    -------
    AggregateResult
    """
    if type not in ("simple", "group", "dynamic", "calendar"):
        raise InputError(f"aggregation type must be 'simple', 'group', 'dynamic' or 'calendar', not {type!r}")
    if balance_e is not None and type != "dynamic":
        raise InputError("balance_e applies only to type='dynamic'")
    t = res.table
    att = t["estimate"].to_numpy(dtype=float)
    group = t["group"].to_numpy()
    tt = t["time"].to_numpy()
    inf = np.asarray(res.extra["influence"])
    g_unit = np.asarray(res.extra["unit_cohort"])
    w = np.asarray(res.extra["unit_weights"], dtype=float)
    cl = res.extra["unit_cluster"]
    pg_group = {g: float(np.mean(w * (g_unit == g))) for g in np.unique(group)}
    pg = np.array([pg_group[g] for g in group])
    sizes = res.extra["group_sizes"]
    # coefficients of each influence function on the fit's bootstrap basis (see att_gt)
    cohorts = np.unique(group)
    unit_pos = _unit_positions(g_unit, cohorts)
    nb = inf.shape[1] + len(cohorts) + 1
    comp_coef: list[np.ndarray] = []

    comp_val: list[float] = []
    comp_att: list[float] = []
    comp_inf: list[np.ndarray] = []
    comp_n: list[int] = []

    def add_weighted(value: float, cells: np.ndarray) -> None:
        """One component of a dynamic or calendar aggregation: the cells weighted by group
        probability, with the influence of the estimated weights (``_wif``)."""
        pw = pg[cells] / pg[cells].sum()
        comp_val.append(value)
        comp_att.append(float(att[cells] @ pw))
        comp_inf.append(inf[:, cells] @ pw + _wif_times(cells, pg, w, unit_pos, cohorts, group, att[cells]))
        comp_coef.append(_cell_coef(cells, pw, nb) + _wif_coef(cells, pg, group, cohorts, nb) @ att[cells])
        comp_n.append(int(sum(sizes[int(g)] for g in np.unique(group[cells]))))

    if type == "simple":
        keep = np.flatnonzero((group <= tt) & (tt <= group + max_e))
        wk = pg[keep] / pg[keep].sum()
        overall = float(att[keep] @ wk)
        overall_inf = inf[:, keep] @ wk + _wif_times(keep, pg, w, unit_pos, cohorts, group, att[keep])
        overall_coef = _cell_coef(keep, wk, nb) + _wif_coef(keep, pg, group, cohorts, nb) @ att[keep]
        overall_n = int(sum(sizes[int(g)] for g in np.unique(group[keep])))
    elif type == "group":
        glist = np.unique(group)
        gl_used = []
        for g in glist:
            wg = np.flatnonzero((group == g) & (g <= tt) & (tt <= group + max_e))
            if len(wg) == 0:
                continue
            gl_used.append(g)
            comp_val.append(float(g))
            comp_att.append(float(att[wg].mean()))
            comp_inf.append(inf[:, wg] @ (pg[wg] / pg[wg].sum()))
            comp_coef.append(_cell_coef(wg, pg[wg] / pg[wg].sum(), nb))
            comp_n.append(sizes[int(g)])
        gl = np.array(gl_used)
        pgg = np.array([pg_group[g] for g in gl])
        ca = np.array(comp_att)
        overall = float(ca @ pgg / pgg.sum())
        overall_inf = (np.column_stack(comp_inf) @ (pgg / pgg.sum())
                       + _wif_times(np.arange(len(gl)), pgg, w, unit_pos, cohorts, gl, ca))
        overall_coef = (np.column_stack(comp_coef) @ (pgg / pgg.sum())
                        + _wif_coef(np.arange(len(gl)), pgg, gl, cohorts, nb) @ ca)
        overall_n = int(sum(comp_n))
    elif type == "dynamic":
        e_all = tt - group
        include = np.ones(len(att), dtype=bool)
        eseq = np.unique(e_all)
        if balance_e is not None:
            tmax, tmin = max(res.extra["periods"]), min(res.extra["periods"])
            include = (tmax - group) >= balance_e
            eseq = np.unique(e_all[include])
            eseq = eseq[(eseq <= balance_e) & (eseq >= balance_e - tmax + tmin)]
        eseq = eseq[(eseq >= min_e) & (eseq <= max_e)]
        for e in eseq:
            add_weighted(float(e), np.flatnonzero((e_all == e) & include))
        epos = np.flatnonzero(eseq >= 0)
        if len(epos) == 0:
            raise InputError("no post-treatment event time in the window (min_e, max_e)")
        overall = float(np.mean(np.array(comp_att)[epos]))
        overall_inf = np.column_stack([comp_inf[i] for i in epos]).mean(axis=1)
        overall_coef = np.column_stack([comp_coef[i] for i in epos]).mean(axis=1)
        overall_n = int(np.sum(g_unit > 0))
    else:  # calendar
        periods = np.array(res.extra["periods"])
        for t1 in periods[periods >= group.min()]:
            wt = np.flatnonzero((tt == t1) & (group <= tt))
            if len(wt) == 0:
                continue
            add_weighted(float(t1), wt)
        overall = float(np.mean(comp_att))
        overall_inf = np.column_stack(comp_inf).mean(axis=1)
        overall_coef = np.column_stack(comp_coef).mean(axis=1)
        overall_n = int(np.sum(g_unit > 0))

    settings = dict(res.settings)
    level = float(settings.get("level", 0.95))
    draws = settings.get("bootstrap", 0) if bootstrap is None else int(bootstrap)
    seed_ = settings.get("seed") if seed is None else seed
    all_inf = np.column_stack(comp_inf + [overall_inf])
    ests = np.array(comp_att + [overall])
    se = _se(all_inf, cl)
    ci_low = ci_high = None
    crit = float(stats.norm.ppf(0.5 + level / 2))
    if draws and draws > 0:
        kind = settings.get("bootstrap_weights", "rademacher")
        stored = res.extra.get("_bootstrap_draws")
        if (stored is not None and stored.n_draws == int(draws) and stored.weights == kind
                and (seed is None or seed == stored.seed) and stored.draws.shape[1] == nb):
            # the fit's draws (drawn once, shared by every aggregation)
            boot = stored.combine(np.column_stack(comp_coef + [overall_coef]))
        else:
            boot = bootstrap_draws(all_inf, cluster=cl, draws=int(draws), weights=kind,
                                   rng=np.random.default_rng(seed_))
        bse, _ = summarise_draws(boot, all_inf.shape[0], level)
        se = np.where(np.isfinite(se), bse, np.nan)
        if comp_inf and settings.get("uniform", True):
            # sup-t band over the components (as R aggte's cband), same draws; overall stays pointwise
            _, ccrit = summarise_draws(boot[:, :len(comp_inf)], all_inf.shape[0], level)
            if np.isfinite(ccrit):
                crit = float(ccrit)
                z = float(stats.norm.ppf(0.5 + level / 2))
                mult = np.array([crit] * len(comp_att) + [z])
                ci_low, ci_high = ests - mult * se, ests + mult * se
    terms = [f"{_PREFIX[type]}={int(v)}" for v in comp_val] + ["overall"] if type != "simple" else ["overall"]
    table = tidy_table(terms, ests, se, n=comp_n + [overall_n], level=level, ci_low=ci_low, ci_high=ci_high)
    table["component"] = np.array(comp_val + [np.nan], dtype=float)
    settings.update(aggregation=type, min_e=min_e, max_e=max_e, balance_e=balance_e,
                    bootstrap=int(draws or 0), seed=seed_)
    all_inf.setflags(write=False)
    extra = {"influence": all_inf, "crit_value": crit, "type": type}
    return AggregateResult(f"callaway_santanna_{type}", table, settings, n_units=res.n_units,
                           n_obs=res.n_obs, extra=extra)
