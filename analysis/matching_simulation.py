"""Simulation: selection on prior absence biases the unmatched DiD; the matched DiD is not biased.

Run by hand (not part of the unit tests)::

    .venv/bin/python analysis/matching_simulation.py                 # 200 replications
    .venv/bin/python analysis/matching_simulation.py --reps 20 --schools 2000

Design
    A panel of ``--schools`` schools observed in 2016, 2017, 2018, 2021, 2022, 2023 and
    2024 (no 2019/20 or 2020/21 full-year absence, as the real panel), with the columns
    :func:`evaluate.matching.match_cohorts` matches on by default: ``overall_absence_rate``
    and ``pa_rate`` (levels and trends before each cohort), ``ofsted``, ``priority_area``,
    ``phase`` (Primary/Secondary, matched exactly), ``fsm_pct``, ``size`` and ``region``.
    Cohorts 2022, 2023, 2024 (first treated year) and 0 = never treated.

    Untreated absence (percentage points) of school ``i`` in calendar year ``t``::

        Y0_it = m(X_i) + v_i + lambda_t + gamma * (a_i - mean a) * (t - 2018) + u_it + e_it

    ``m(X_i)`` is the part of the school's latent level explained by its characteristics
    (phase, FSM share, Ofsted, priority area, region), ``v_i`` an unobserved permanent
    part, ``a_i = m(X_i) + v_i`` the latent level, ``lambda_t`` common year effects (the
    post-pandemic rise), ``u_it`` a stationary AR(1) deviation simulated for every calendar
    year 2014-2024 (``u_it = rho u_i,t-1 + innovation``: a school whose absence is above its
    own level drifts back towards it, so the *trend* depends on prior absence) and ``e_it``
    independent year-to-year noise. ``gamma`` makes high-latent-level schools' absence rise
    faster (a second way the trend depends on prior absence). The persistent-absence rate is
    ``pa_rate = max(0, 3.2 * overall + N(0, 1.5^2))`` (so it carries the effect too).

    Joining: every school's cohort is drawn once, before the rollout, from a multinomial
    logit (cohort 2022, 2023, 2024 or never) whose index rises with *prior absence* ``S_i``
    (standardised) and with priority-area status, FSM share, a weaker Ofsted rating and
    secondary phase. Treatment effect: ``tau = -0.5`` points on ``overall_absence_rate`` in
    every treated year (``t >= g``), none before, so the true simple ATT is exactly -0.5
    whatever the weights.

Scenarios
    ``observed`` (the main one). Prior absence is the published rate in 2021, the last year
    before the rollout (``S_i = Y_i,2021``), and the between-school differences beyond the
    characteristics are mostly transitory (an AR(1) with ``rho = 0.6`` per year, a small
    unobserved permanent part and small noise). Schools join because their absence was high,
    it then falls back on its own (regression to the mean), and the unmatched DiD, which
    compares them with all never-treated schools, credits that fall to the programme.
    Matching each cohort on its pre-period absence level and trend (and the
    characteristics) compares joiners with schools that had the same prior absence, which
    fall back just as much.

    ``latent`` (the limitation; Daw and Hatfield 2018). Joining depends on the school's
    *latent* level ``a_i`` (not observed), high-level schools' absence rises faster
    (``gamma > 0``), and observed absence is that level plus sizeable year-to-year noise.
    Matching on the noisy pre-period level only partly balances the latent level (the
    matched comparison schools' high observed absence is partly noise), so part of the
    trend difference, and of the bias, remains; and because the matched comparison schools
    were picked for a high *observed* level, part of which is noise that does not persist,
    their absence falls back after the matching year while the joiners' does not (regression
    to the mean), which biases the matched DiD in the same direction.

    ``latent_parallel``. As ``latent`` but with parallel trends (``gamma = 0``): the
    unmatched DiD is unbiased, and matching on the noisy pre-period level *creates* the
    regression-to-the-mean bias (Daw and Hatfield's central example).

Estimators (each replication)
    ``unmatched``: :func:`evaluate.did.callaway_santanna` on the whole panel, never-treated
    comparison, no covariates, doubly robust (the default), analytic SEs; the ``simple``
    aggregation. ``matched``: :func:`evaluate.matching.matched_did` with the default matching
    (``match_options={}``: each cohort matched 1:1 without replacement on the logit
    propensity score of the pre-period levels and trends of ``overall_absence_rate`` and
    ``pa_rate`` and the characteristics, exactly on phase, caliper 0.2 SD), Callaway-Sant'Anna
    on the stacked matched sub-experiments, SEs clustered on the school; ``simple``
    aggregation. Coverage = share of replications whose 95% normal interval
    (estimate +- 1.96 SE) contains -0.5. ``matched share`` = matched treated schools /
    treated schools (all cohorts).

Each replication draws a new panel from ``numpy.random.default_rng([seed, scenario, rep])``,
so the results depend only on ``--seed``, ``--schools`` and ``--reps``.
"""

from __future__ import annotations

import argparse
import math
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from evaluate.did import callaway_santanna
from evaluate.matching import matched_did

__all__ = ["SCENARIOS", "Scenario", "estimate", "main", "run", "simulate_panel", "summarise"]

YEARS = (2016, 2017, 2018, 2021, 2022, 2023, 2024)
COHORTS = (2022, 2023, 2024)
TRUE_ATT = -0.5
OUTCOME = "overall_absence_rate"
UNIT, TIME, COHORT = "urn", "year", "cohort"
DEFAULT_REPS = 200
DEFAULT_SEED = 20250611
DEFAULT_SCHOOLS = 4000

#: Common year effects (points added to every school's absence), calendar years 2014-2024.
LAMBDA = {2014: 0.0, 2015: 0.0, 2016: 0.0, 2017: 0.1, 2018: 0.2, 2019: 0.3, 2020: 1.0, 2021: 2.4,
          2022: 2.2, 2023: 1.8, 2024: 1.5}
REGIONS = ("East Midlands", "East of England", "London", "North East", "North West", "South East",
           "South West", "West Midlands", "Yorkshire and the Humber")
REGION_P = (0.09, 0.11, 0.12, 0.05, 0.14, 0.16, 0.10, 0.11, 0.12)
REGION_EFFECT = (0.1, 0.0, -0.2, 0.3, 0.2, -0.1, 0.0, 0.1, 0.2)
OFSTED = ("Good", "Inadequate", "Outstanding", "Requires improvement")
OFSTED_P = (0.65, 0.04, 0.16, 0.15)
OFSTED_EFFECT = (0.0, 0.6, -0.3, 0.3)


@dataclass(frozen=True)
class Scenario:
    """One data-generating process (see the module docstring).

    Attributes
    ----------
    name, description
        Label and one-line description.
    selection
        ``"observed"``: joining depends on the observed 2021 absence; ``"latent"``: on the
        latent level ``a_i``.
    sd_v
        SD of the unobserved permanent level ``v_i``.
    sd_u, rho
        Stationary SD and yearly autocorrelation of the AR(1) deviation ``u_it``.
    sd_e
        SD of the independent noise ``e_it``.
    gamma
        Extra yearly rise per point of latent level above the mean.
    beta
        Multinomial-logit coefficient of standardised prior absence.
    """

    name: str
    description: str
    selection: str
    sd_v: float
    sd_u: float
    rho: float
    sd_e: float
    gamma: float
    beta: float = 1.0


SCENARIOS: dict[str, Scenario] = {
    "observed": Scenario("observed", "joining on observed 2021 absence, which mean-reverts",
                         selection="observed", sd_v=0.3, sd_u=1.2, rho=0.6, sd_e=0.2, gamma=0.0),
    "latent": Scenario("latent", "joining on the latent level, which trends up; noisy observed absence",
                       selection="latent", sd_v=1.0, sd_u=0.0, rho=0.0, sd_e=0.8, gamma=0.08),
    "latent_parallel": Scenario("latent_parallel", "as latent, but parallel trends (gamma = 0)",
                                selection="latent", sd_v=1.0, sd_u=0.0, rho=0.0, sd_e=0.8, gamma=0.0),
}


def simulate_panel(n_schools: int, rng: np.random.Generator, scenario: Scenario,
                   effect: float = TRUE_ATT) -> pd.DataFrame:
    """One simulated school x year panel (long, balanced, ``len(YEARS)`` rows per school).

    Parameters
    ----------
    n_schools
        Number of schools.
    rng
        Random generator (the only source of randomness).
    scenario
        The data-generating process.
    effect
        Treatment effect on ``overall_absence_rate`` in every treated year.

    Returns
    -------
    pandas.DataFrame
        Columns ``urn, year, cohort, overall_absence_rate, pa_rate, ofsted, priority_area,
        phase, fsm_pct, size, region`` (``cohort`` 0 = never treated).
    """
    n = int(n_schools)
    secondary = rng.random(n) < 0.2
    region = rng.choice(len(REGIONS), size=n, p=REGION_P)
    priority = rng.random(n) < np.where(np.isin(region, (3, 4, 8)), 0.35, 0.15)
    fsm = np.clip(100 * rng.beta(2.0, 7.0, n) + 5 * priority, 0, 100)
    ofsted = rng.choice(len(OFSTED), size=n, p=OFSTED_P)
    size = np.round(np.where(secondary, rng.lognormal(np.log(950), 0.35, n), rng.lognormal(np.log(300), 0.4, n)))
    m = (np.where(secondary, 5.5, 4.3) + 0.04 * (fsm - 22) + np.take(OFSTED_EFFECT, ofsted)
         + np.take(REGION_EFFECT, region) + 0.2 * priority)
    v = rng.normal(0, scenario.sd_v, n)
    a = m + v
    # AR(1) deviation for every calendar year 2014..2024, stationary from the start
    cal = np.arange(2014, 2025)
    u = np.zeros((n, len(cal)))
    if scenario.sd_u > 0:
        u[:, 0] = rng.normal(0, scenario.sd_u, n)
        sd_innov = scenario.sd_u * math.sqrt(1 - scenario.rho**2)
        for k in range(1, len(cal)):
            u[:, k] = scenario.rho * u[:, k - 1] + rng.normal(0, sd_innov, n)
    lam = np.array([LAMBDA[int(t)] for t in cal])
    y0 = (a[:, None] + lam[None, :] + scenario.gamma * (a - a.mean())[:, None] * (cal - 2018)[None, :]
          + u + rng.normal(0, scenario.sd_e, (n, len(cal))))
    # cohort: multinomial logit on prior absence and characteristics, drawn once before the rollout
    prior = y0[:, list(cal).index(2021)] if scenario.selection == "observed" else a
    z = (prior - prior.mean()) / prior.std()
    index = (scenario.beta * z + 0.6 * priority + 0.02 * (fsm - 22) + 0.3 * np.isin(ofsted, (1, 3))
             + 0.3 * secondary)
    base = np.log(np.array([0.05, 0.07, 0.08]) / 0.80)  # about 5%, 7%, 8% join in 2022, 2023, 2024
    eta = np.column_stack([np.zeros(n)] + [b + index for b in base])
    p = np.exp(eta - eta.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    pick = (rng.random(n)[:, None] > np.cumsum(p, axis=1)).sum(axis=1)
    cohort = np.array((0,) + COHORTS)[np.minimum(pick, len(COHORTS))]
    keep = [list(cal).index(t) for t in YEARS]
    y = y0[:, keep] + effect * ((cohort[:, None] > 0) & (np.array(YEARS)[None, :] >= cohort[:, None]))
    pa = np.maximum(3.2 * y + rng.normal(0, 1.5, y.shape), 0.0)
    n_t = len(YEARS)
    return pd.DataFrame({
        UNIT: np.repeat(np.arange(100001, 100001 + n), n_t),
        TIME: np.tile(np.array(YEARS), n),
        COHORT: np.repeat(cohort, n_t),
        OUTCOME: y.ravel(),
        "pa_rate": pa.ravel(),
        "ofsted": np.repeat(np.take(OFSTED, ofsted), n_t),
        "priority_area": np.repeat(priority, n_t),
        "phase": np.repeat(np.where(secondary, "Secondary", "Primary"), n_t),
        "fsm_pct": np.repeat(fsm, n_t),
        "size": np.repeat(size, n_t),
        "region": np.repeat(np.take(REGIONS, region), n_t),
    })


def estimate(panel: pd.DataFrame) -> list[dict]:
    """The unmatched and matched Callaway-Sant'Anna simple ATT of one panel.

    Returns
    -------
    list of dict
        One per estimator: ``estimator``, ``estimate``, ``se``, ``matched_share`` (NaN for
        the unmatched estimator) and ``att_<cohort>`` (the cohort's ``group`` aggregation).
    """
    out = []
    um = callaway_santanna(panel, outcome=OUTCOME, unit=UNIT, time=TIME, cohort=COHORT, control="never")
    s = um.aggregate("simple")
    grp = um.aggregate("group").table
    out.append({"estimator": "unmatched", "estimate": s.overall_att, "se": s.overall_se,
                "matched_share": math.nan, **_by_cohort(grp)})
    md = matched_did(panel, outcome=OUTCOME, unit=UNIT, time=TIME, cohort=COHORT, match_options={},
                     compare_unmatched=False)
    s = md.aggregate("simple")
    grp = md.did.aggregate("group").table
    c = md.matching.counts()
    out.append({"estimator": "matched", "estimate": s.overall_att, "se": s.overall_se,
                "matched_share": float(c["treated_matched"].sum() / c["treated"].sum()), **_by_cohort(grp)})
    return out


def _by_cohort(table: pd.DataFrame) -> dict[str, float]:
    rows = table.loc[table["term"].astype(str).str.fullmatch(r"g=\d{4}")]
    return {f"att_{term[2:]}": float(est) for term, est in zip(rows["term"].astype(str), rows["estimate"], strict=True)}


def run(reps: int, seed: int, n_schools: int, scenario: Scenario, *, progress: bool = False) -> pd.DataFrame:
    """``reps`` replications of one scenario: one row per replication and estimator."""
    idx = list(SCENARIOS).index(scenario.name) if scenario.name in SCENARIOS else 99
    rows = []
    t0 = time.perf_counter()
    for r in range(reps):
        panel = simulate_panel(n_schools, np.random.default_rng([seed, idx, r]), scenario)
        n_treated = int((panel.loc[panel[TIME] == YEARS[0], COHORT] > 0).sum())
        for row in estimate(panel):
            rows.append({"scenario": scenario.name, "rep": r, "n_treated": n_treated, **row})
        if progress and (r + 1) % max(1, reps // 10) == 0:
            print(f"  {scenario.name}: {r + 1}/{reps} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return pd.DataFrame(rows)


def summarise(results: pd.DataFrame, truth: float = TRUE_ATT) -> pd.DataFrame:
    """Mean estimate, bias (with its Monte Carlo SE), RMSE, mean SE, empirical SD, coverage, matched share."""
    rows = []
    for (sc, est), d in results.groupby(["scenario", "estimator"], sort=False):
        e, se = d["estimate"].to_numpy(), d["se"].to_numpy()
        r = len(d)
        cover = np.abs(e - truth) <= 1.959964 * se
        sd = float(np.std(e, ddof=1)) if r > 1 else math.nan
        rows.append({"scenario": sc, "estimator": est, "reps": r, "mean_estimate": float(e.mean()),
                     "bias": float(e.mean() - truth), "bias_mcse": sd / math.sqrt(r),
                     "rmse": float(np.sqrt(np.mean((e - truth) ** 2))), "mean_se": float(se.mean()),
                     "empirical_sd": sd, "bias_over_se": float((e.mean() - truth) / se.mean()),
                     "coverage": float(cover.mean()), "matched_share": float(d["matched_share"].mean())})
    return pd.DataFrame(rows)


def to_markdown(summary: pd.DataFrame) -> str:
    lines = ["| scenario | estimator | mean est. | bias (MCSE) | bias / mean SE | RMSE | mean SE | emp. SD "
             "| 95% coverage | treated matched |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in summary.itertuples():
        share = "-" if math.isnan(r.matched_share) else f"{100 * r.matched_share:.1f}%"
        lines.append(f"| {r.scenario} | {r.estimator} | {r.mean_estimate:.4f} | {r.bias:+.4f} ({r.bias_mcse:.4f}) "
                     f"| {r.bias_over_se:+.1f} | {r.rmse:.4f} | {r.mean_se:.4f} | {r.empirical_sd:.4f} "
                     f"| {100 * r.coverage:.1f}% | {share} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the scenarios and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=DEFAULT_REPS, help="replications per scenario (default %(default)s)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed (default %(default)s)")
    ap.add_argument("--schools", type=int, default=DEFAULT_SCHOOLS, help="schools per panel (default %(default)s)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS),
                    help="comma-separated scenarios (default %(default)s)")
    ap.add_argument("--raw", default=None, help="optional CSV of every replication's estimates")
    a = ap.parse_args(argv)
    names = [s.strip() for s in a.scenarios.split(",") if s.strip()]
    unknown = [s for s in names if s not in SCENARIOS]
    if unknown:
        ap.error(f"unknown scenario(s): {', '.join(unknown)} (known: {', '.join(SCENARIOS)})")
    code = _git_state()  # before the run: the code that is imported and run
    t0 = time.perf_counter()
    results = pd.concat([run(a.reps, a.seed, a.schools, SCENARIOS[s], progress=True) for s in names],
                        ignore_index=True)
    runtime = time.perf_counter() - t0
    summary = summarise(results)
    print(f"Matching simulation: {a.reps} replications per scenario, {a.schools} schools, seed {a.seed}; "
          f"true ATT {TRUE_ATT}")
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}; Python {platform.python_version()}, numpy {np.__version__}, "
          f"pandas {pd.__version__}; runtime {runtime:.0f} s ({runtime / max(1, a.reps * len(names)):.2f} s "
          f"per replication)")
    print(f"code: {code}")
    for s in names:
        print(f"  {s}: {SCENARIOS[s].description}")
    n_tr = results.groupby("scenario", sort=False)["n_treated"].mean()
    print("  mean treated schools per panel: " + ", ".join(f"{k} {v:.0f}" for k, v in n_tr.items()))
    print()
    print(to_markdown(summary))
    cols = [c for c in results.columns if c.startswith("att_")]
    if cols:
        print()
        print("Bias by cohort (mean of the cohort's `group` aggregation minus -0.5):")
        by = results.groupby(["scenario", "estimator"], sort=False)[cols].mean() - TRUE_ATT
        print(by.rename(columns=lambda c: c.replace("att_", "cohort ")).round(4).to_markdown()
              if _has_tabulate() else by.round(4).to_string())
    if a.raw:
        results.to_csv(a.raw, index=False)
    return 0


def _git_state() -> str:
    """The commit checked out, and whether the estimator code or this script differ from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src", __file__], capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"commit {head}" + (f" with uncommitted changes: {' '.join(dirty.split())}" if dirty else "")


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
