"""Simulation-based power curve on synthetic England: 10 effect sizes x 200 replications.

Placebo adoption (``evaluate.power.simulate_power``): ``--treated`` never-treated schools
drawn at random become treated from 2023/24, an effect of size d is added to their overall
absence rate from then on, TWFE clustered by school estimates it; repeated ``--reps`` times
per d. Prints the curve, the analytic power (``power_did``) beside it and the wall time.

Usage: .venv/bin/python benchmarks/power_curve.py [--panel output/panel/panel_year.parquet]
       [--treated 500] [--reps 200] [--points 10]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from evaluate.power import estimate_variance_components, mde_did, power_did, simulate_power


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--panel", default="output/panel/panel_year.parquet")
    ap.add_argument("--treated", type=int, default=500)
    ap.add_argument("--reps", type=int, default=200)
    ap.add_argument("--points", type=int, default=10)
    ap.add_argument("--seed", type=int, default=20240905)
    args = ap.parse_args()
    panel = pd.read_parquet(args.panel, columns=["school_id", "year", "hub_cohort", "overall_absence_rate"])
    panel = panel[panel["hub_cohort"] == 0].dropna(subset=["overall_absence_rate"])
    first = 2023
    years = sorted(panel["year"].unique())
    pre, post = sum(y < first for y in years), sum(y >= first for y in years)
    vc = estimate_variance_components(panel, outcome="overall_absence_rate", unit="school_id", time="year")
    n_c = panel["school_id"].nunique() - args.treated
    kw = dict(n_treated=args.treated, n_control=n_c, pre=pre, post=post, sigma2=vc["sigma2"], rho=vc["rho"])
    mde = mde_did(**kw)
    effects = np.linspace(0, 2 * mde, args.points)
    print(f"{panel['school_id'].nunique():,} never-treated schools, {args.treated} placebo-treated from {first}; "
          f"sigma2 {vc['sigma2']:.3f}, rho {vc['rho']:.3f}; analytic MDE {mde:.4f} pp; {args.reps} reps per point")
    print("| effect (pp) | simulated power | MC SE | analytic power |")
    print("|---|---|---|---|")
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, d in enumerate(effects):
            r = simulate_power(panel, outcome="overall_absence_rate", unit="school_id", time="year",
                               n_treated=args.treated, effect=float(d), first_year=first, reps=args.reps,
                               seed=args.seed + i)
            print(f"| {d:.4f} | {r['power']:.3f} | {r['mc_se']:.3f} | {power_did(float(d), **kw):.3f} |", flush=True)
    print(f"wall time: {time.perf_counter() - start:.1f} s for {args.points * args.reps} replications")


if __name__ == "__main__":
    main()
