"""Pupils to sessions: per-pupil draws aggregated to exact school counts.

Every pupil of every open school is drawn, every published year:

- a propensity ``p`` to miss a session: logit-normal around the school's effect (with a
  small severe-absence component, see :class:`evaluate.synthetic.calibration.PupilParams`);
- possible sessions per term (fewer for the ~7% of pupils enrolled part of the year);
- absent sessions per term, ``Binomial(possible, p)`` (the untreated outcome ``x0``).

Programme effects lower a pupil's logit propensity by ``delta`` in exposed terms. The
treated outcome is drawn from the untreated one by binomial thinning,
``x1 ~ Binomial(x0, p1 / p0)``, which has exactly the ``Binomial(possible, p1)``
distribution and shares its random numbers with ``x0`` (common random numbers), so the
truth is known school by school. Mentoring acts first (``x0 -> xm``), hubs on top
(``xm -> x1``).

Counts are consistent by construction: school sums of pupils' sessions; a pupil is a
persistent absentee in a term when absent for 10%+ of its possible sessions in that term,
and in the year when absent for 10%+ of the whole year's possible sessions (the sum of
its terms, not the sum of term counts). The authorised/unauthorised split is drawn per
school and term, ``unauthorised ~ Binomial(overall, q_school)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import expit

from evaluate.synthetic import calibration as cal
from evaluate.synthetic.england import FIRST_YEAR, PHASES, Country
from evaluate.synthetic.programmes import MENTOR_ELIGIBLE_P, Programmes

#: Years with published absence and the number of terms each has (2019/20: none;
#: 2020/21: autumn and spring only).
PUBLISHED_YEARS: dict[int, int] = {2016: 3, 2017: 3, 2018: 3, 2020: 2, 2021: 3, 2022: 3, 2023: 3, 2024: 3}
MEASURES = ("enrolments", "sess_possible", "sess_overall", "sess_authorised", "sess_unauthorised",
            "enrolments_pa_10_exact", "enrolments_pa_50_exact")


@dataclass
class YearResult:
    """School counts of one year; arrays have shape (n_open_schools, n_terms + 1).

    Column ``k < n_terms`` is term ``k``; the last column is the academic year.
    ``untreated`` holds (overall, pa10, pa50) without any programme, ``mentor_only``
    with mentoring but without hubs; both are filled for treated schools only.
    """

    year: int
    sites: np.ndarray
    counts: dict[str, np.ndarray]
    untreated: dict[str, np.ndarray]
    mentor_only: dict[str, np.ndarray]


def pupil_params(country: Country, year: int) -> dict[str, cal.PupilParams]:
    """Solve the calibration for each phase of ``year`` from the schools' effects."""
    t = year - FIRST_YEAR
    enrol = country.enrol[:, t].astype(float)
    phase = country.sites["phase"].to_numpy()
    total = enrol.sum()
    share = {p: enrol[phase == p].sum() / total for p in PHASES}
    weights = {"overall": share, "pa": share, "severe": share}
    targets = cal.phase_targets(year, weights)
    out = {}
    for p in PHASES:
        m = phase == p
        w = enrol[m]
        s = country.s[m, t]
        mean = float(np.average(s, weights=w))
        var = float(np.average((s - mean) ** 2, weights=w))
        out[p] = cal.solve(targets["overall"][p], targets["pa"][p], targets["severe"][p], mean, var)
    return out


def _sum(school: np.ndarray, values: np.ndarray, m: int) -> np.ndarray:
    return np.bincount(school, weights=values, minlength=m).round().astype(np.int64)


def _tally(school: np.ndarray, x: list[np.ndarray], n: list[np.ndarray], m: int) -> dict[str, np.ndarray]:
    """Overall sessions, PA and severe counts per school: terms then year."""
    cols_o, cols_10, cols_50 = [], [], []
    for xk, nk in [*zip(x, n, strict=True), (sum(x), sum(n))]:
        cols_o.append(_sum(school, xk, m))
        cols_10.append(np.bincount(school, weights=(10 * xk >= nk), minlength=m).round().astype(np.int64))
        cols_50.append(np.bincount(school, weights=(2 * xk >= nk), minlength=m).round().astype(np.int64))
    return {"sess_overall": np.stack(cols_o, 1), "enrolments_pa_10_exact": np.stack(cols_10, 1),
            "enrolments_pa_50_exact": np.stack(cols_50, 1)}


def trend_shift(slope_pp: np.ndarray, year: int, centre: np.ndarray, sd: np.ndarray,
                pi: np.ndarray) -> np.ndarray:
    """Logit shifts that move each school's expected absence rate by ``slope_pp`` points a year.

    The change is zero in :data:`evaluate.synthetic.scenario.TREND_CENTRE` and linear in the
    year on the rate scale: the shift ``d`` solves ``R(centre + d) - R(centre) = -slope *
    (year - TREND_CENTRE) / 100``, where ``R(c) = (1 - pi) E[expit(c + sd z)]`` is the part
    of the school's expected rate that moves with its logit centre (severe-component pupils
    do not), by Newton's method on 32-point Gauss-Hermite quadrature.
    """
    from evaluate.synthetic.scenario import TREND_CENTRE

    slope = np.asarray(slope_pp, dtype=float)
    nodes, weights = np.polynomial.hermite_e.hermegauss(32)
    weights = weights / weights.sum()

    def rate(c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = expit(c[:, None] + sd[:, None] * nodes[None, :])
        return (1 - pi) * (p @ weights), (1 - pi) * ((p * (1 - p)) @ weights)

    r0, _ = rate(centre)
    target = np.clip(r0 - slope / 100.0 * (year - TREND_CENTRE), 1e-6, None)
    shift = np.zeros_like(centre, dtype=float)
    for _ in range(20):
        r, deriv = rate(centre + shift)
        step = (target - r) / np.maximum(deriv, 1e-9)
        shift = np.clip(shift + step, -10, 10)
        if np.max(np.abs(step)) < 1e-10:
            break
    return np.where(slope != 0, shift, 0.0)


def simulate_year(country: Country, progs: Programmes, year: int, params: dict[str, cal.PupilParams],
                  rng: np.random.Generator) -> YearResult:
    """Draw every pupil of ``year`` and return school counts (actual and potential)."""
    t = year - FIRST_YEAR
    n_terms = PUBLISHED_YEARS[year]
    sites = np.flatnonzero(country.enrol[:, t] > 0)
    m = len(sites)
    n_j = country.enrol[sites, t]
    phase = country.sites["phase"].to_numpy()[sites]
    s_j = country.s[sites, t]
    a_j = np.empty(m)
    sd_j = np.empty(m)
    pi_j = np.empty(m)
    for p, prm in params.items():
        k = phase == p
        a_j[k] = prm.intercept
        sd_j[k] = prm.sd
        norm = np.exp(cal.SEVERE_KAPPA**2 * prm.s_var / 2)
        pi_j[k] = prm.severe_share * np.exp(cal.SEVERE_KAPPA * (s_j[k] - prm.s_mean)) / norm
    pi_j = np.clip(pi_j, 0, 0.95)
    shift_j = None
    if progs.trend is not None:
        shift_j = trend_shift(progs.trend[sites], year, a_j + s_j, sd_j, pi_j)

    school = np.repeat(np.arange(m, dtype=np.int32), n_j)
    N = school.size  # noqa: N806
    z = rng.standard_normal(N, dtype=np.float32)
    severe = rng.random(N, dtype=np.float32) < pi_j[school]
    centre_j = a_j + s_j if shift_j is None else a_j + s_j + shift_j
    logit = np.where(severe, np.float32(cal.SEVERE_MEAN) + np.float32(cal.SEVERE_SD) * z,
                     centre_j[school].astype(np.float32) + sd_j[school].astype(np.float32) * z)
    del z, severe
    p0 = expit(logit)
    frac = np.ones(N, dtype=np.float32)
    mobile = np.flatnonzero(rng.random(N, dtype=np.float32) < cal.MOBILE_SHARE)
    frac[mobile] = rng.uniform(*cal.MOBILE_RANGE, mobile.size).astype(np.float32)
    n = [np.rint(L * frac).astype(np.int16) for L in cal.TERM_SESSIONS[:n_terms]]
    x0 = [rng.binomial(nk, p0).astype(np.int16) for nk in n]

    # programme effects on the pupils of treated schools (binomial thinning)
    hub_d = progs.hub_delta[sites, t, :n_terms]
    men_d = progs.mentor_delta[sites, t, :n_terms]
    treated_j = (hub_d > 0).any(1) | (men_d > 0).any(1)
    idx = np.flatnonzero(treated_j[school])
    x1 = x0
    xm_sub: list[np.ndarray] = []
    if idx.size:
        x1 = [xk.copy() for xk in x0]
        sch = school[idx]
        lg = logit[idx]
        p_0 = p0[idx]
        # mentored: eligible pupils (high propensity), as many as the area's programme reached
        eligible = p_0 >= MENTOR_ELIGIBLE_P
        n_elig = np.bincount(sch, weights=eligible, minlength=m)
        share = progs.mentored_share[sites] if progs.mentored_share is not None else np.zeros(m)
        q = np.minimum(1.0, share * n_j / np.maximum(n_elig, 1.0))
        mentored = eligible & (rng.random(idx.size) < q[sch])
        for k in range(n_terms):
            dm = men_d[sch, k] * mentored
            dh = hub_d[sch, k]
            p_m = expit(lg - dm)
            p_1 = expit(lg - dm - dh)
            xm_k = rng.binomial(x0[k][idx], np.minimum(p_m / p_0, 1.0))
            x1_k = rng.binomial(xm_k, np.minimum(p_1 / np.maximum(p_m, 1e-12), 1.0))
            xm_sub.append(xm_k)
            x1[k][idx] = x1_k

    counts = _tally(school, x1, n, m)
    counts["enrolments"] = np.repeat(n_j[:, None], n_terms + 1, 1).astype(np.int64)
    poss = [_sum(school, nk, m) for nk in n]
    counts["sess_possible"] = np.stack([*poss, sum(poss)], 1)
    # authorised / unauthorised split per school and term
    fsm = country.sites["fsm"].to_numpy()[sites]
    q = 0.27 + 0.004 * (fsm - 22) + np.select([phase == "ap", phase == "special"], [0.15, -0.05], 0.0)
    q = np.clip(q + rng.normal(0, 0.05, m), 0.02, 0.9)
    unauth = [rng.binomial(counts["sess_overall"][:, k], q) for k in range(n_terms)]
    counts["sess_unauthorised"] = np.stack([*unauth, sum(unauth)], 1)
    counts["sess_authorised"] = counts["sess_overall"] - counts["sess_unauthorised"]

    if idx.size:  # potential outcomes, tallied over treated schools only
        n_sub = [nk[idx] for nk in n]
        untreated = _tally(sch, [xk[idx] for xk in x0], n_sub, m)
        mentor_only = _tally(sch, xm_sub, n_sub, m)
    else:
        untreated = {k: counts[k] for k in ("sess_overall", "enrolments_pa_10_exact", "enrolments_pa_50_exact")}
        mentor_only = untreated
    return YearResult(year=year, sites=sites, counts=counts, untreated=untreated, mentor_only=mentor_only)
