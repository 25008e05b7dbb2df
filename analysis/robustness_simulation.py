"""Simulation: placebo adoption dates are centred on zero, and leave-one-hub-out behaves.

Run by hand (not part of the unit tests)::

    .venv/bin/python analysis/robustness_simulation.py               # 200 replications
    .venv/bin/python analysis/robustness_simulation.py --reps 20 --schools 2000

Design
    A panel of ``--schools`` schools observed in 2016, 2017, 2018, 2021, 2022, 2023 and
    2024 (the real panel's years). Cohorts 2022, 2023 and 2024 (about 5%, 7% and 8% of
    schools, drawn at random: no selection) and 0 = never treated. Each cohort's schools
    belong to 10 hubs (30 in all), drawn at random. Untreated absence of school ``i`` in
    year ``t``::

        Y0_it = a_i + lambda_t + slope * (t - 2016) * treated_i + e_it

    with ``a_i ~ N(5, 1)``, common year effects ``lambda_t`` (the post-pandemic rise) and
    ``e_it ~ N(0, 0.8^2)``. The effect of joining is ``-0.5 + h_hub`` in every year from
    the cohort's first year on, with hub deviations ``h_hub ~ N(0, 0.2^2)`` drawn in each
    replication (so the population effect is -0.5 and the hubs differ).

Scenarios
    ``parallel`` (``slope = 0``): parallel trends hold. ``pretrend`` (``slope = 0.1``
    points a year for the schools that will join): a violation the placebo should detect.

Each replication
    - :func:`evaluate.sensitivity.placebo.placebo_timing` with shifts 1 and 2 (observed
      periods; 2022 -> 2021 and 2018, 2023 -> 2022 and 2021, 2024 -> 2023 and 2022),
      Callaway-Sant'Anna, never-treated comparison, doubly robust, analytic SEs. The
      true placebo effect is 0 under ``parallel``; under ``pretrend`` it is the slope times
      each cell's gap between compared years, averaged with the cohort-size weights
      (reported as ``expected``).
    - ``parallel`` only: the full-sample simple ATT and
      :func:`evaluate.sensitivity.leave_one_out.leave_one_out` over the 30 hubs. Reported:
      the mean leave-one-out range (max - min), the share of replications in which every
      leave-one-out estimate lies inside the full-sample 95% interval, and the
      leave-one-hub-out jackknife SE ``sqrt((G - 1) / G * sum (theta_(g) - mean)^2)`` next
      to the analytic (school-level) SE and the empirical SD of the full-sample estimate.

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
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from evaluate.sensitivity.leave_one_out import leave_one_out
from evaluate.sensitivity.placebo import placebo_timing

__all__ = ["SCENARIOS", "main", "run", "simulate_panel", "summarise"]

YEARS = (2016, 2017, 2018, 2021, 2022, 2023, 2024)
COHORTS = (2022, 2023, 2024)
SHARES = (0.05, 0.07, 0.08)
LAMBDA = (0.0, 0.1, 0.2, 2.4, 2.2, 1.8, 1.5)
HUBS_PER_COHORT = 10
TRUE_ATT = -0.5
HUB_SD = 0.2
DEFAULT_REPS = 200
DEFAULT_SEED = 20250612
DEFAULT_SCHOOLS = 3000
SHIFTS = (1, 2)
#: scenario -> differential yearly trend of the schools that join
SCENARIOS: dict[str, float] = {"parallel": 0.0, "pretrend": 0.1}
COLS = dict(outcome="overall_absence_rate", unit="school_id", time="year", cohort="hub_cohort")


def simulate_panel(n_schools: int, rng: np.random.Generator, *, slope: float = 0.0) -> pd.DataFrame:
    """One simulated school x year panel (see the module docstring)."""
    n = int(n_schools)
    cohort = rng.choice((0, *COHORTS), size=n, p=(1 - sum(SHARES), *SHARES))
    hub_no = rng.integers(0, HUBS_PER_COHORT, n)
    hub = np.array([f"H{COHORTS.index(g) * HUBS_PER_COHORT + h:02d}" if g else None
                    for g, h in zip(cohort, hub_no, strict=True)], dtype=object)
    hub_dev = rng.normal(0, HUB_SD, len(COHORTS) * HUBS_PER_COHORT)
    eff = np.where(cohort > 0, TRUE_ATT + hub_dev[np.array([COHORTS.index(g) if g else 0 for g in cohort])
                                                     * HUBS_PER_COHORT + hub_no], 0.0)
    years = np.array(YEARS)
    treated_now = (cohort[:, None] > 0) & (years[None, :] >= cohort[:, None])
    y = (rng.normal(5, 1, n)[:, None] + np.array(LAMBDA)[None, :] + eff[:, None] * treated_now
         + slope * (years[None, :] - 2016) * (cohort[:, None] > 0) + rng.normal(0, 0.8, (n, len(years))))
    k = len(years)
    return pd.DataFrame({"school_id": np.repeat(np.arange(n), k), "year": np.tile(years, n),
                         "hub_cohort": np.repeat(cohort, k), "hub_id": np.repeat(hub, k),
                         "overall_absence_rate": y.ravel()})


def expected_placebo(panel: pd.DataFrame, shift: int, slope: float) -> float:
    """The placebo effect a linear pre-trend implies: slope x the compared years' gap, cohort-size weighted."""
    if slope == 0:
        return 0.0
    years = list(YEARS)
    sizes = panel.drop_duplicates("school_id")["hub_cohort"].value_counts()
    num = den = 0.0
    for g in COHORTS:
        gp = years[years.index(g) - shift]
        base = years[years.index(gp) - 1]
        for t in years[years.index(gp):years.index(g)]:  # cells g' <= t < g, base = year before g'
            num += sizes.get(g, 0) * slope * (t - base)
            den += sizes.get(g, 0)
    return num / den


def run(reps: int, seed: int, n_schools: int, scenario: str, *, progress: bool = False) -> pd.DataFrame:
    """``reps`` replications of one scenario: one row per replication and estimate."""
    idx = list(SCENARIOS).index(scenario)
    slope = SCENARIOS[scenario]
    rows = []
    t0 = time.perf_counter()
    for r in range(reps):
        panel = simulate_panel(n_schools, np.random.default_rng([seed, idx, r]), slope=slope)
        pt = placebo_timing(panel, shift=list(SHIFTS), **COLS).to_frame()
        for row in pt.itertuples():
            rows.append({"scenario": scenario, "rep": r, "analysis": f"placebo shift {row.shift}",
                         "estimate": row.estimate, "se": row.se, "ci_low": row.ci_low, "ci_high": row.ci_high,
                         "expected": expected_placebo(panel, int(row.shift), slope)})
        if slope == 0:
            loo = leave_one_out(panel, group="hub_id", **COLS)
            e = loo.extra
            est = loo.to_frame()["estimate"].to_numpy()
            g = len(est)
            jk = math.sqrt((g - 1) / g * np.sum((est - est.mean()) ** 2))
            rows.append({"scenario": scenario, "rep": r, "analysis": "full sample", "estimate": e["full_estimate"],
                         "se": e["full_se"], "ci_low": e["full_ci_low"], "ci_high": e["full_ci_high"],
                         "expected": TRUE_ATT, "loo_range": e["range"], "jackknife_se": jk,
                         "loo_inside_ci": bool(np.all((est >= e["full_ci_low"]) & (est <= e["full_ci_high"]))),
                         "n_groups": g})
        if progress and (r + 1) % max(1, reps // 10) == 0:
            print(f"  {scenario}: {r + 1}/{reps} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return pd.DataFrame(rows)


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and analysis: mean, SD, mean SE, coverage of the expected value and of zero."""
    out = []
    for (sc, an), d in results.groupby(["scenario", "analysis"], sort=False):
        e = d["estimate"].to_numpy()
        lo, hi = d["ci_low"].to_numpy(), d["ci_high"].to_numpy()
        ex = d["expected"].to_numpy()
        out.append({"scenario": sc, "analysis": an, "reps": len(d), "mean_expected": float(ex.mean()),
                    "mean_estimate": float(e.mean()), "mcse": float(e.std(ddof=1) / math.sqrt(len(e))),
                    "empirical_sd": float(e.std(ddof=1)), "mean_se": float(d["se"].mean()),
                    "covers_expected": float(np.mean((lo <= ex) & (hi >= ex))),
                    "covers_zero": float(np.mean((lo <= 0) & (hi >= 0)))})
    return pd.DataFrame(out)


def to_markdown(summary: pd.DataFrame) -> str:
    lines = ["| scenario | analysis | reps | expected | mean estimate (MCSE) | empirical SD | mean SE "
             "| 95% CI covers expected | 95% CI covers 0 |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in summary.itertuples():
        lines.append(f"| {r.scenario} | {r.analysis} | {r.reps} | {r.mean_expected:+.4f} | {r.mean_estimate:+.4f} "
                     f"({r.mcse:.4f}) | {r.empirical_sd:.4f} | {r.mean_se:.4f} | {100 * r.covers_expected:.1f}% "
                     f"| {100 * r.covers_zero:.1f}% |")
    return "\n".join(lines)


def loo_markdown(results: pd.DataFrame) -> str:
    d = results.loc[results["analysis"] == "full sample"]
    if d.empty:
        return ""
    return "\n".join([
        "| hubs | mean LOO range | all LOO estimates inside the full 95% CI | mean jackknife SE (hubs) "
        "| mean analytic SE | empirical SD of the full estimate |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {d['n_groups'].mean():.0f} | {d['loo_range'].mean():.4f} | {100 * d['loo_inside_ci'].mean():.1f}% "
        f"| {d['jackknife_se'].mean():.4f} | {d['se'].mean():.4f} | {d['estimate'].std(ddof=1):.4f} |"])


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the scenarios and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=DEFAULT_REPS, help="replications per scenario (default %(default)s)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed (default %(default)s)")
    ap.add_argument("--schools", type=int, default=DEFAULT_SCHOOLS, help="schools per panel (default %(default)s)")
    ap.add_argument("--raw", default=None, help="optional CSV of every replication's estimates")
    a = ap.parse_args(argv)
    code = _git_state()
    t0 = time.perf_counter()
    results = pd.concat([run(a.reps, a.seed, a.schools, s, progress=True) for s in SCENARIOS], ignore_index=True)
    runtime = time.perf_counter() - t0
    print(f"Robustness simulation: {a.reps} replications per scenario, {a.schools} schools, seed {a.seed}; "
          f"true ATT {TRUE_ATT} (hub SD {HUB_SD})")
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}; Python {platform.python_version()}, numpy {np.__version__}, "
          f"pandas {pd.__version__}; runtime {runtime:.0f} s")
    print(f"code: {code}")
    print()
    print(to_markdown(summarise(results)))
    print()
    print(loo_markdown(results))
    if a.raw:
        results.to_csv(a.raw, index=False)
    return 0


#: The code this script runs (checked for uncommitted changes).
_CODE = ("src/evaluate/did", "src/evaluate/sensitivity/_common.py", "src/evaluate/sensitivity/placebo.py",
         "src/evaluate/sensitivity/leave_one_out.py")


def _git_state() -> str:
    """The commit checked out, and whether the code this script runs, or the script, differ from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", *_CODE, __file__], capture_output=True,
                               text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"commit {head}" + (f" with uncommitted changes: {' '.join(dirty.split())}" if dirty else "")


if __name__ == "__main__":
    sys.exit(main())
