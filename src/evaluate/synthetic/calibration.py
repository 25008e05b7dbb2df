"""National targets the synthetic country is calibrated to, and the solver that hits them.

``TARGETS`` holds DfE's published national figures ("Pupil absence in schools in England",
explore-education-statistics.service.gov.uk): the session-weighted overall absence rate
(``100 * sum sess_overall / sum sess_possible``) and the persistent-absence rate
(``100 * sum enrolments_pa_10_exact / sum enrolments``), academic-year rows, all
state-funded schools. The data-quality report compares the generated country against them.

``ASSUMED`` holds values that are *not* published targets but choices made for the
synthetic country (2020/21, 2024/25 overall, the severe-absence rates, and the rates of
alternative-provision schools); they are marked so nobody mistakes them for DfE figures.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special, stats

from evaluate.data.published import NATIONAL

# DfE's published national figures (percentages), kept in one place: evaluate.data.published.
TARGETS: dict[int, dict[str, float]] = NATIONAL

# Choices for the synthetic country, NOT published targets (see module docstring).
# 2020/21: autumn and spring terms only (in-person attendance); severe = 50%+ missed.
ASSUMED: dict[int, dict[str, float]] = {
    2016: {"severe": 0.8},
    2017: {"severe": 0.8},
    2018: {"severe": 0.9},
    2020: {"overall": 4.6, "pa": 12.0, "severe": 1.1},
    2021: {"severe": 1.7},
    2022: {"severe": 2.0},
    2023: {"severe": 2.1},
    2024: {"overall": 6.9, "severe": 2.2},
}

#: The solver treats school effects as normal and ignores programme effects; measured on
#: the full country (benchmarks/synth_full.py) the generated PA rate then comes out a
#: little low in the post-pandemic years, so the solver aims at the target times this.
PA_AIM: dict[int, float] = {2021: 1.018, 2022: 1.035, 2023: 1.045, 2024: 1.032}
#: Per-phase aims where a year has published phase targets (2022/23).
PA_AIM_PHASE: dict[int, dict[str, float]] = {
    2022: {"primary": 1.025, "secondary": 1.042, "special": 1.005, "ap": 1.0}}

#: Tolerance (percentage points) the national figures must meet.
TOLERANCE_PP = 0.3

# Phase profile in 2022/23 (published for primary, secondary, special; AP and all severe
# rates assumed). Other years scale these by the national figure of the year.
PHASE_PROFILE_2022: dict[str, dict[str, float]] = {
    "overall": {"primary": 5.9, "secondary": 9.0, "special": 13.0, "ap": 36.0},
    "pa": {"primary": 17.2, "secondary": 28.3, "special": 38.7, "ap": 78.0},
    "severe": {"primary": 0.85, "secondary": 3.4, "special": 5.5, "ap": 35.0},
}

#: Sessions per pupil in each term of a full year (autumn, spring, summer).
TERM_SESSIONS: tuple[int, int, int] = (142, 122, 116)
#: Share of pupils enrolled for only part of the year (their possible sessions are fewer).
MOBILE_SHARE = 0.07
MOBILE_RANGE = (0.25, 1.0)
#: The severe-absence pupil component: logit propensity ~ N(SEVERE_MEAN, SEVERE_SD**2).
SEVERE_MEAN = 0.3
SEVERE_SD = 0.7
#: How strongly the share of severe-component pupils follows the school's propensity.
SEVERE_KAPPA = 1.0


def national(year: int, measure: str) -> float:
    """The national figure for ``measure`` in ``year``: published target, else assumed."""
    if measure in TARGETS.get(year, {}):
        return TARGETS[year][measure]
    return ASSUMED[year][measure]


def phase_targets(year: int, weights: dict[str, dict[str, float]]) -> dict[str, dict[str, float]]:
    """Per-phase targets for ``year`` whose weighted sum is the national figure.

    Parameters
    ----------
    year
        Academic year (start year).
    weights
        ``weights[measure][phase]``: each phase's share of the national denominator
        (sessions for "overall", enrolments for "pa" and "severe").

    Returns
    -------
    dict
        ``targets[measure][phase]`` in percent.
    """
    out: dict[str, dict[str, float]] = {}
    for measure, profile in PHASE_PROFILE_2022.items():
        nat = national(year, measure)
        scale = nat / national(2022, measure)
        raw = {p: v * scale for p, v in profile.items()}
        w = weights[measure]
        k = nat / sum(w[p] * raw[p] for p in raw)
        aim = {p: 1.0 for p in raw}
        if measure == "pa":
            aim = PA_AIM_PHASE.get(year, {p: PA_AIM.get(year, 1.0) for p in raw})
        out[measure] = {p: min(v * k * aim[p], 95.0) for p, v in raw.items()}
    return out


def _binom_sf(k: int, n: int, p: np.ndarray) -> np.ndarray:
    """``scipy.stats.binom.sf(k, n, p)`` for whole ``k`` and ``n``: the same Boost routine it calls,
    without the distribution's argument checks (about 13x faster; equal to it bit for bit, as a
    test checks). The calibration solver calls it thousands of times."""
    return _BINOM_SF(k, n, p)


try:
    from scipy.special._ufuncs import _binom_sf as _BINOM_SF
except ImportError:  # pragma: no cover - another scipy layout: the public (slower) route
    def _BINOM_SF(k, n, p):  # noqa: N802
        return stats.binom.sf(k, n, p)


_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(48)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def _moments(mean: float, sd: float) -> tuple[float, float, float]:
    """Overall rate, PA share and severe share for logit propensity ~ N(mean, sd**2)."""
    p = special.expit(mean + sd * _NODES)
    n_full = sum(TERM_SESSIONS)
    n_mob = int(round(n_full * sum(MOBILE_RANGE) / 2))
    pa = sev = 0.0
    for n, share in ((n_full, 1 - MOBILE_SHARE), (n_mob, MOBILE_SHARE)):
        k10 = int(np.ceil(0.1 * n))
        k50 = int(np.ceil(0.5 * n))
        pa += share * _binom_sf(k10 - 1, n, p)
        sev += share * _binom_sf(k50 - 1, n, p)
    return float(_WEIGHTS @ p), float(_WEIGHTS @ pa), float(_WEIGHTS @ sev)


@dataclass(frozen=True)
class PupilParams:
    """Pupil-propensity parameters for one phase and year.

    A pupil's logit propensity to miss a session is ``intercept + s_school + sd * z``
    (``z`` standard normal) with probability ``1 - pi_j``, or
    ``SEVERE_MEAN + SEVERE_SD * z`` (the severe component) with probability ``pi_j``,
    where ``pi_j = severe_share * exp(SEVERE_KAPPA * (s_school - s_mean)) / norm``.
    """

    intercept: float
    sd: float
    severe_share: float
    s_mean: float
    s_var: float


def solve(rate: float, pa: float, severe: float, s_mean: float, s_var: float) -> PupilParams:
    """Find pupil parameters whose expected national moments are the targets (in %).

    ``s_mean`` and ``s_var`` are the enrolment-weighted mean and variance of the school
    logit effects; the school effects are treated as normal (an approximation checked
    by the calibration tests on the generated files).
    """
    rate, pa, severe = rate / 100, pa / 100, severe / 100
    a_total, total_sd, pi = _solve_total(round(rate, 6), round(pa, 6), round(severe, 6))
    sd = float(np.sqrt(max(total_sd**2 - s_var, 0.05**2)))
    return PupilParams(intercept=a_total - s_mean, sd=sd, severe_share=pi, s_mean=s_mean, s_var=s_var)


@functools.lru_cache(maxsize=256)
def _solve_total(rate: float, pa: float, severe: float) -> tuple[float, float, float]:
    """(mean, sd, severe share) of the total logit propensity hitting the three shares.

    Least squares on relative errors (overall rate weighted 10x, PA 5x, severe 0.5x); when
    the three cannot all be met, overall absence wins, then PA.
    """
    r_s, pa_s, sev_s = _moments(SEVERE_MEAN, SEVERE_SD)

    def resid(x: np.ndarray) -> np.ndarray:
        a, sd, pi = x
        r_m, pa_m, sev_m = _moments(a, sd)
        return np.array([
            10 * ((1 - pi) * r_m + pi * r_s - rate) / rate,
            5 * ((1 - pi) * pa_m + pi * pa_s - pa) / pa,
            0.5 * ((1 - pi) * sev_m + pi * sev_s - severe) / severe,
        ])

    pi0 = min(severe / sev_s * 0.8, 0.9)
    a0 = float(special.logit(max(rate - pi0 * r_s, 1e-3) / (1 - pi0))) - 0.4
    fit = optimize.least_squares(resid, x0=[a0, 0.9, pi0], bounds=([-12, 0.05, 0], [3, 2.0, 0.95]),
                                 xtol=1e-10, ftol=1e-10)
    a, sd, pi = fit.x
    return float(a), float(sd), float(pi)
