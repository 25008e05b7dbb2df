"""A pupil panel in attendance-mentor areas: who is mentored, and what would have happened.

Synthetic England (:mod:`evaluate.synthetic.absence`) redraws every pupil each year, so it
has no pupil followed over time. Regression to the mean needs one: a pupil chosen for
mentoring because last year's absence was high would, on average, have improved anyway.
:func:`mentoring_pupils` draws such a panel, separately from (and without changing) the
synthetic country's files, with the same calibrated propensities and programme constants.

The model
    Pupils sit in schools, schools in local authorities ("areas"): ``n_areas`` mentor
    areas (deprived LAs: absence a little higher) and ``n_comparison_areas`` areas without
    mentors. Pupil ``i`` of phase ``f`` in school ``j`` misses a session in academic year
    ``t`` with logit propensity::

        logit p_it = a_ft + s_j + e_jt + b * fsm_i + sd_ft * (sqrt(r) * z_i + sqrt(1 - r) * u_it)

    ``a_ft`` and ``sd_ft`` are the calibrated pupil parameters of the phase and year
    (:func:`evaluate.synthetic.calibration.solve` hitting DfE's national overall,
    persistent- and severe-absence rates), ``s_j`` the school's effect (SD
    :data:`~evaluate.synthetic.england.SCHOOL_SD`, shifted by the area's effect),
    ``e_jt`` a school-year shock (AR(1), :data:`~evaluate.synthetic.england.SHOCK_SD`,
    :data:`~evaluate.synthetic.england.SHOCK_RHO`), ``z_i`` the pupil's **stable latent
    propensity** (standard normal, fixed over years), ``u_it`` **transitory noise**
    (standardised AR(1) over years with correlation ``rho``) and ``r = persistence`` the
    stable share of the pupil variance. A share of pupils (the calibrated severe share)
    belongs to the severe component, ``SEVERE_MEAN + SEVERE_SD * (...)``, for good.
    Sessions per term and the part-year pupils follow :mod:`~evaluate.synthetic.absence`;
    absent sessions per term are ``Binomial(possible, p)``.

Selection (regression to the mean by construction)
    In the year before mentoring starts (``pre_year``), a pupil of a mentor area is
    *eligible* when observed absence is 10% or more (a persistent absentee, the DfE
    definition). Eligible pupils are referred with probability
    ``expit(c + observed_selection * zr_i + latent_selection * zl_i)``, where ``zr`` is the
    standardised observed prior-year rate and ``zl`` the standardised stable propensity
    (schools know which pupils are chronically absent), and ``c`` makes the share referred
    :data:`~evaluate.synthetic.programmes.MENTOR_SHARE` on average.

Effect (the truth)
    Mentored pupils' logit propensity falls by ``effect_scale * MENTOR_BASE[start] *
    MENTOR_PHASE_MULT[phase] * growth * exposure`` in each term from the start date on
    (:func:`~evaluate.synthetic.programmes.exposure` and
    :func:`~evaluate.synthetic.programmes.effect_path`, as for the synthetic country). The
    mentored outcome is drawn from the untreated one by binomial thinning (common random
    numbers), so each mentored pupil's untreated absence is known: the truth holds the
    realised average effect on the mentored (percentage points), the share of mentored
    pupils whose absence fell and the share whose absence *would have fallen without
    mentoring*.

Fully vectorised numpy; deterministic given ``seed``; about 1 s for 100,000 pupils.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from evaluate.synthetic import calibration as cal
from evaluate.synthetic.absence import PUBLISHED_YEARS
from evaluate.synthetic.england import (
    _SIZE,
    FULL_COUNTS,
    PANEL_YEARS,
    SCHOOL_SD,
    SHOCK_RHO,
    SHOCK_SD,
)
from evaluate.synthetic.programmes import (
    MENTOR_BASE,
    MENTOR_PHASE_MULT,
    MENTOR_SHARE,
    cohort_of,
    effect_path,
    exposure,
)

__all__ = ["MentoringPupils", "mentoring_pupils"]

#: Pupil phases of the panel and the share of pupils in each (synthetic England's enrolment
#: mix of the two phases, FULL_COUNTS times mean school size, rounded).
PUPIL_PHASES: dict[str, float] = {"primary": 0.59, "secondary": 0.41}
#: Mean pupils per school by phase (synthetic England's school sizes).
SCHOOL_SIZE: dict[str, int] = {p: _SIZE[p][0] for p in PUPIL_PHASES}
#: Logit shift of a pupil eligible for free school meals (before centring).
FSM_EFFECT = 0.35
#: Mean share of FSM pupils in mentor areas and in comparison areas.
FSM_SHARE = {"mentor": 0.30, "comparison": 0.22}
#: Mean logit shift of the mentor areas and of the comparison areas; SD of area effects.
AREA_EFFECT = {"mentor": 0.15, "comparison": 0.0}
AREA_SD = 0.08
#: Persistent absence: absent for at least this share of possible sessions.
PA_THRESHOLD = 0.10


@dataclass(frozen=True, eq=False)
class MentoringPupils:
    """The pupil panel drawn by :func:`mentoring_pupils`, and its truth.

    Attributes
    ----------
    panel
        One row per pupil and year (pupil-level, **never** to be written to results):
        ``pupil_id`` (int), ``school_id``, ``area`` (categorical), ``mentor_area`` (bool),
        ``phase`` (categorical: primary, secondary),
        ``fsm`` (0/1), ``mentored`` (0/1, fixed per pupil), ``year``, ``sess_possible``,
        ``sess_overall`` (observed absent sessions) and ``absence_rate`` (percent).
    hidden
        What a real evaluation never sees, one row per pupil and year: ``pupil_id``,
        ``year``, ``latent`` (the stable part of the pupil's logit propensity: phase mean,
        school, FSM and ``z_i`` terms) and ``sess_overall_untreated`` (absent sessions without mentoring).
    truth
        Aggregates of the truth (JSON-ready): the true effect on the mentored by year in
        percentage points (``att_pp``, realised; ``att_expected_pp``, expected given the
        propensities), shares improved with and without mentoring, counts.
    settings
        Every parameter of the draw.

    Examples
    --------
    >>> from evaluate.synthetic.pupils import mentoring_pupils
    >>> mp = mentoring_pupils(seed=1, n_pupils=4000)
    >>> mp.panel["year"].unique().tolist()
    [2021, 2022, 2023, 2024]
    >>> mp.truth["pre_year"], mp.truth["post_year"]
    (2022, 2023)
    >>> bool(mp.truth["att_pp"]["2023"] < 0)
    True
    """

    panel: pd.DataFrame
    hidden: pd.DataFrame
    truth: Mapping[str, Any]
    settings: Mapping[str, Any]
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "truth", MappingProxyType(dict(self.truth)))
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    def wide(self, column: str = "absence_rate") -> pd.DataFrame:
        """One row per pupil, one column per year of ``column`` (a convenience view).

        Examples
        --------
        >>> from evaluate.synthetic.pupils import mentoring_pupils
        >>> w = mentoring_pupils(seed=1, n_pupils=2000).wide()
        >>> w.shape
        (2000, 4)
        """
        return self.panel.pivot(index="pupil_id", columns="year", values=column)


def _phase_params(years: list[int]) -> dict[tuple[str, int], cal.PupilParams]:
    """Calibrated pupil parameters by (phase, year), school effects as in synthetic England."""
    enrol = {p: FULL_COUNTS[p] * _SIZE[p][0] for p in FULL_COUNTS}
    total = sum(enrol.values())
    share = {p: v / total for p, v in enrol.items()}
    weights = {"overall": share, "pa": share, "severe": share}
    out = {}
    for y in years:
        targets = cal.phase_targets(y, weights)
        for p in PUPIL_PHASES:
            out[p, y] = cal.solve(targets["overall"][p], targets["pa"][p], targets["severe"][p],
                                  0.0, SCHOOL_SD**2 + SHOCK_SD**2)
    return out


def _ar1(rng: np.random.Generator, shape: tuple[int, int], rho: float) -> np.ndarray:
    """Standardised stationary AR(1) series along axis 1 (float64)."""
    e = rng.standard_normal(shape)
    out = np.empty(shape)
    out[:, 0] = e[:, 0]
    s = np.sqrt(1 - rho**2)
    for t in range(1, shape[1]):
        out[:, t] = rho * out[:, t - 1] + s * e[:, t]
    return out


def _calibrate_intercept(score: np.ndarray, target: float) -> float:
    """``c`` with ``mean(expit(c + score)) = target`` (bisection; score may be empty)."""
    if score.size == 0:
        return float(logit(target))
    lo, hi = -30.0, 30.0
    for _ in range(60):
        mid = (lo + hi) / 2
        if expit(mid + score).mean() < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def mentoring_pupils(seed: int = 20240901, *, n_pupils: int = 100_000, n_areas: int = 5,
                     n_comparison_areas: int = 5, start: str = "2023-09-01",
                     effect_scale: float = 1.0, base_effect: float | None = None,
                     persistence: float = 0.6, rho: float = 0.3,
                     observed_selection: float = 0.5, latent_selection: float = 0.5,
                     mentor_share: float = MENTOR_SHARE, n_follow_up: int = 1) -> MentoringPupils:
    """Draw a pupil panel in mentor and comparison areas with known mentoring effects.

    Parameters
    ----------
    seed
        Seed of every random draw (same arguments, same panel).
    n_pupils
        Pupils in all areas together (split equally between areas).
    n_areas, n_comparison_areas
        Mentor areas and areas without mentors (at least 1 and 0).
    start
        Start date of mentoring (ISO); the *post* year is its first exposed academic year,
        the *pre* year the one before, and the panel starts one year earlier still (the
        pre-pre year). Default ``"2023-09-01"``: Barnardo's second wave.
    effect_scale
        Multiplies the logit effect; 0 gives the null scenario (mentoring does nothing).
    base_effect
        Logit reduction of a mentored secondary pupil's propensity in the first year;
        ``None`` takes :data:`~evaluate.synthetic.programmes.MENTOR_BASE` of ``start``.
    persistence
        Share of a pupil's logit variance that is stable over years (0-1); the rest is
        transitory, which is what regresses to the mean.
    rho
        Year-to-year correlation of the transitory part.
    observed_selection, latent_selection
        Log-odds of referral per SD of the observed prior-year rate and of the stable
        latent propensity, among eligible pupils (0 and 0: referral at random among
        persistent absentees).
    mentor_share
        Average share of eligible pupils mentored.
    n_follow_up
        Years observed after the post year (0 or 1; the panel ends in 2024/25).

    Returns
    -------
    MentoringPupils

    Raises
    ------
    ValueError
        A parameter out of range, or a start date whose panel years are not all published
        absence years (no 2019/20).

    Examples
    --------
    Pupils selected on high prior absence improve even when mentoring does nothing:

    >>> from evaluate.synthetic.pupils import mentoring_pupils
    >>> mp = mentoring_pupils(seed=3, n_pupils=20000, effect_scale=0.0)
    >>> mp.truth["att_pp"]["2023"]
    0.0
    >>> mp.truth["share_improved_mentored"] > 0.6
    True
    """
    if n_pupils < 100:
        raise ValueError(f"n_pupils must be at least 100, not {n_pupils}")
    if n_areas < 1 or n_comparison_areas < 0:
        raise ValueError("need at least one mentor area and no negative number of comparison areas")
    if not 0 <= persistence <= 1 or not -1 < rho < 1:
        raise ValueError("persistence must be in [0, 1] and rho in (-1, 1)")
    if not 0 < mentor_share < 1:
        raise ValueError(f"mentor_share must be between 0 and 1, not {mentor_share}")
    if n_follow_up not in (0, 1):
        raise ValueError(f"n_follow_up must be 0 or 1, not {n_follow_up}")
    start_date = dt.date.fromisoformat(start)
    post_year, _cohort = cohort_of(start_date)
    pre_year = post_year - 1
    years = [pre_year - 1, pre_year, post_year] + ([post_year + 1] if n_follow_up else [])
    bad = [y for y in years if y not in PUBLISHED_YEARS]
    if bad:
        raise ValueError(f"start {start} needs absence for {years}; no published absence for {bad}")
    if base_effect is None:
        if start not in MENTOR_BASE:
            raise ValueError(f"no MENTOR_BASE for start {start}; pass base_effect")
        base_effect = MENTOR_BASE[start]
    ny = len(years)
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    params = _phase_params(years)

    # --- areas, schools, pupils ---------------------------------------------------------
    n_all = n_areas + n_comparison_areas
    is_mentor_area = np.arange(n_all) < n_areas
    area_eff = np.where(is_mentor_area, AREA_EFFECT["mentor"], AREA_EFFECT["comparison"])
    area_eff = area_eff + rng.normal(0, AREA_SD, n_all)
    per_area = np.full(n_all, n_pupils // n_all)
    per_area[: n_pupils - per_area.sum()] += 1
    phase_names = list(PUPIL_PHASES)
    # schools: per area and phase, enough for the area's pupils at the usual size
    sch_area, sch_phase = [], []
    for a in range(n_all):
        for k, p in enumerate(phase_names):
            n_s = max(1, int(round(per_area[a] * PUPIL_PHASES[p] / SCHOOL_SIZE[p])))
            sch_area.append(np.full(n_s, a))
            sch_phase.append(np.full(n_s, k))
    s_area = np.concatenate(sch_area)
    s_phase = np.concatenate(sch_phase)
    n_sch = s_area.size
    s_size = rng.lognormal(0, 0.4, n_sch)
    s_eff = area_eff[s_area] + rng.normal(0, SCHOOL_SD, n_sch)
    mentor_kind = np.where(is_mentor_area[s_area], FSM_SHARE["mentor"], FSM_SHARE["comparison"])
    s_fsm = np.clip(mentor_kind + rng.normal(0, 0.08, n_sch), 0.02, 0.8)
    s_shock = SHOCK_SD * _ar1(rng, (n_sch, ny), SHOCK_RHO)

    p_area = np.repeat(np.arange(n_all), per_area)
    p_phase = (rng.random(n_pupils) < PUPIL_PHASES["secondary"]).astype(np.int64)
    # school of each pupil: within (area, phase), chosen with probability proportional to size
    cell = s_area * len(phase_names) + s_phase
    order = np.argsort(cell, kind="stable")
    w = s_size[order]
    cell_sorted = cell[order]
    cum = np.cumsum(w)
    starts = np.searchsorted(cell_sorted, np.arange(n_all * len(phase_names)), side="left")
    ends = np.searchsorted(cell_sorted, np.arange(n_all * len(phase_names)), side="right")
    before = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0.0)
    p_cell = p_area * len(phase_names) + p_phase
    lo, hi = before[p_cell], cum[ends[p_cell] - 1]
    pos = np.searchsorted(cum, lo + rng.random(n_pupils) * (hi - lo), side="right")
    p_school = order[np.minimum(pos, ends[p_cell] - 1)]
    fsm = (rng.random(n_pupils) < s_fsm[p_school]).astype(np.int64)

    # --- propensities -------------------------------------------------------------------
    z = rng.standard_normal(n_pupils)
    u = _ar1(rng, (n_pupils, ny), rho)
    severe_share = np.array([np.mean([params[p, y].severe_share for y in years]) for p in phase_names])
    severe = rng.random(n_pupils) < severe_share[p_phase]
    a_ft = np.array([[params[p, y].intercept for y in years] for p in phase_names])
    sd_ft = np.array([[params[p, y].sd for y in years] for p in phase_names])
    fsm_shift = FSM_EFFECT * (fsm - fsm.mean())
    mix = np.sqrt(persistence) * z[:, None] + np.sqrt(1 - persistence) * u
    normal_logit = (a_ft[p_phase] + s_eff[p_school][:, None] + s_shock[p_school]
                    + fsm_shift[:, None] + sd_ft[p_phase] * mix)
    severe_logit = cal.SEVERE_MEAN + cal.SEVERE_SD * mix
    lg = np.where(severe[:, None], severe_logit, normal_logit)
    latent = np.where(severe, cal.SEVERE_MEAN + cal.SEVERE_SD * np.sqrt(persistence) * z,
                      a_ft[p_phase].mean(1) + s_eff[p_school] + fsm_shift
                      + sd_ft[p_phase].mean(1) * np.sqrt(persistence) * z)
    p0 = expit(lg)

    # --- sessions -----------------------------------------------------------------------
    max_terms = 3
    n_terms = np.array([PUBLISHED_YEARS[y] for y in years])
    term_len = np.array(cal.TERM_SESSIONS, dtype=float)
    frac = np.ones((n_pupils, ny))
    mobile = rng.random((n_pupils, ny)) < cal.MOBILE_SHARE
    frac[mobile] = rng.uniform(*cal.MOBILE_RANGE, int(mobile.sum()))
    n_k = np.rint(frac[:, :, None] * term_len[None, None, :]).astype(np.int64)
    n_k *= (np.arange(max_terms)[None, :] < n_terms[:, None])[None, :, :]
    x0_k = rng.binomial(n_k, p0[:, :, None])
    possible = n_k.sum(2)
    x0 = x0_k.sum(2)

    # --- selection on the pre year ------------------------------------------------------
    t_pre = years.index(pre_year)
    rate_pre = x0[:, t_pre] / np.maximum(possible[:, t_pre], 1)
    eligible = is_mentor_area[p_area] & (rate_pre >= PA_THRESHOLD) & (possible[:, t_pre] > 0)
    e_idx = np.flatnonzero(eligible)

    def _std(v: np.ndarray) -> np.ndarray:
        sd = v.std()
        return (v - v.mean()) / (sd if sd > 0 else 1.0)

    score = (observed_selection * _std(rate_pre[e_idx]) + latent_selection * _std(latent[e_idx])
             if e_idx.size else np.empty(0))
    c = _calibrate_intercept(score, mentor_share)
    mentored = np.zeros(n_pupils, dtype=bool)
    mentored[e_idx] = rng.random(e_idx.size) < expit(c + score)

    # --- effects (binomial thinning: common random numbers) -----------------------------
    share = exposure(start_date)
    path = effect_path(share) * share * base_effect * effect_scale  # (panel years, 3)
    t_idx = np.array([PANEL_YEARS.index(y) for y in years])
    mult = np.array([MENTOR_PHASE_MULT[p] for p in phase_names])
    delta = mult[p_phase][:, None, None] * path[t_idx][None, :, :] * mentored[:, None, None]
    p1 = expit(lg[:, :, None] - delta)
    thin = np.where(delta > 0, np.minimum(p1 / np.maximum(p0[:, :, None], 1e-12), 1.0), 1.0)
    x1_k = np.where(delta > 0, rng.binomial(x0_k, thin), x0_k)
    x1 = x1_k.sum(2)

    # --- frames -------------------------------------------------------------------------
    pid = np.arange(1, n_pupils + 1)
    school_id = 100_000 + p_school
    area_names = np.array([f"mentor area {a + 1}" if is_mentor_area[a] else
                           f"comparison area {a - n_areas + 1}" for a in range(n_all)])
    rate = np.where(possible > 0, 100 * x1 / np.maximum(possible, 1), np.nan)
    panel = pd.DataFrame({
        "pupil_id": np.repeat(pid, ny), "school_id": np.repeat(school_id, ny),
        "area": pd.Categorical.from_codes(np.repeat(p_area, ny), categories=area_names),
        "mentor_area": np.repeat(is_mentor_area[p_area], ny),
        "phase": pd.Categorical.from_codes(np.repeat(p_phase, ny), categories=phase_names),
        "fsm": np.repeat(fsm, ny),
        "mentored": np.repeat(mentored.astype(np.int64), ny), "year": np.tile(years, n_pupils),
        "sess_possible": possible.reshape(-1), "sess_overall": x1.reshape(-1),
        "absence_rate": rate.reshape(-1)})
    hidden = pd.DataFrame({"pupil_id": np.repeat(pid, ny), "year": np.tile(years, n_pupils),
                           "latent": np.repeat(latent, ny), "sess_overall_untreated": x0.reshape(-1)})

    # --- truth (aggregates only) --------------------------------------------------------
    m = mentored
    rate0 = np.where(possible > 0, 100 * x0 / np.maximum(possible, 1), np.nan)
    exp_eff = 100 * ((p1 - p0[:, :, None]) * n_k).sum(2) / np.maximum(possible, 1)
    t_post = years.index(post_year)
    att = {str(y): float(np.mean(rate[m, t] - rate0[m, t])) if m.any() else float("nan")
           for t, y in enumerate(years)}
    att_exp = {str(y): float(np.mean(exp_eff[m, t])) if m.any() else float("nan")
               for t, y in enumerate(years)}
    improved = rate[:, t_post] < rate[:, t_pre]
    improved0 = rate0[:, t_post] < rate[:, t_pre]
    truth = {
        "pre_year": pre_year, "post_year": post_year, "years": years,
        "att_pp": att, "att_expected_pp": att_exp,
        "logit_effect_secondary": {str(y): float(path[PANEL_YEARS.index(y)].mean()) for y in years},
        "share_improved_mentored": float(improved[m].mean()) if m.any() else float("nan"),
        "share_improved_without_mentoring": float(improved0[m].mean()) if m.any() else float("nan"),
        "n_pupils": int(n_pupils), "n_mentored": int(m.sum()), "n_eligible": int(eligible.sum()),
        "n_schools": int(n_sch), "mentor_share_of_eligible": float(m.sum() / max(e_idx.size, 1)),
        "mean_rate_mentored": {str(y): float(np.mean(rate[m, t])) for t, y in enumerate(years)},
        "mean_rate_mentored_untreated": {str(y): float(np.mean(rate0[m, t])) for t, y in enumerate(years)},
    }
    settings = dict(seed=seed, n_pupils=n_pupils, n_areas=n_areas, n_comparison_areas=n_comparison_areas,
                    start=start, effect_scale=effect_scale, base_effect=base_effect,
                    persistence=persistence, rho=rho, observed_selection=observed_selection,
                    latent_selection=latent_selection, mentor_share=mentor_share,
                    n_follow_up=n_follow_up)
    return MentoringPupils(panel=panel, hidden=hidden, truth=truth, settings=settings,
                           extra={"selection_intercept": c})
