"""Speed and memory of nearest-neighbour matching, balance tables and cohort matching.

The issue's target: "2,000 treated among 19,500 candidates with exact phase blocks in a
couple of seconds". Every configuration runs in a fresh interpreter (this file started
again with ``--worker``), best of ``--repeats`` (3); the peak resident memory is the
worker's ``VmHWM`` (whole process: interpreter, pandas, statsmodels and the data).

Data (``--worker`` builds it, deterministic, seed 20240903, timed apart): a cross-section
of 21,500 schools, 2,000 treated and 19,500 candidates, with the covariates of the real
use: absence level and trend, persistent-absence level and trend, ``fsm_pct``, ``size``
(continuous), ``priority_area`` (binary), ``ofsted`` (4 levels), ``region`` (9 levels) and
``phase`` (Primary / Secondary / Special / Alternative provision, about 75 / 16 / 5 / 4 %),
the exact block. Treatment is selected on the covariates (a logit with phase, priority
area, absence and FSM effects; exactly 2,000 treated), so the score and the caliper bite.

Configurations (``--configs``; all on the cross-section unless said):

- ``logit``: ``nearest_neighbour(distance="logit", exact=["phase"], caliper=0.2)``, 1:1,
  without replacement;
- ``logit_replace3``: the same with ``replace=True, ratio=3``;
- ``mahalanobis``: ``distance="mahalanobis"`` (same covariates, exact phase, caliper 0.2
  on the logit score), 1:1 without replacement;
- ``balance``: ``balance_table`` (before and after) on the result of ``logit`` (the match
  itself is done first and not timed);
- ``propensity``: ``propensity_score`` alone (the logit fit every score-based match makes);
- ``cohorts``: ``match_cohorts(panel, unit="school_id", time="year", cohort="hub_cohort")``
  with its defaults on ``output/panel/panel_year.parquet`` (written by ``make report``);
  skipped with a message when the file is absent.

Inside each timed call the time spent in ``propensity_score`` (and, for ``cohorts``, in
``pre_period_features``, ``nearest_neighbour`` and ``balance_table``) is accumulated by thin
wrappers, so the table splits the score fit from the matching.

Usage::

    .venv/bin/python benchmarks/matching_speed.py                       # all, best of 3
    .venv/bin/python benchmarks/matching_speed.py --configs logit cohorts --repeats 5
    .venv/bin/python benchmarks/matching_speed.py --blas-threads 1         # one BLAS thread
    .venv/bin/python benchmarks/matching_speed.py --worker logit --profile /tmp/logit.prof
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

SEED = 20240903
N_TREATED = 2_000
N_CANDIDATES = 19_500
PANEL = Path("output/panel/panel_year.parquet")
CONFIGS = ("propensity", "logit", "logit_replace3", "mahalanobis", "balance", "cohorts")
COVARIATES = ["absence_level", "absence_trend", "pa_level", "pa_trend", "fsm_pct", "size",
              "priority_area", "ofsted", "region", "phase"]
PHASES = ("Primary", "Secondary", "Special", "Alternative provision")
PHASE_SHARES = (0.75, 0.16, 0.05, 0.04)
OFSTED = ("Outstanding", "Good", "Requires improvement", "Inadequate")
REGIONS = ("North East", "North West", "Yorkshire and The Humber", "East Midlands", "West Midlands",
           "East of England", "London", "South East", "South West")


def cross_section(seed: int = SEED) -> pd.DataFrame:
    """21,500 schools, 2,000 of them treated (selected on the covariates), one row each."""
    rng = np.random.default_rng(seed)
    n = N_TREATED + N_CANDIDATES
    phase = rng.choice(len(PHASES), size=n, p=PHASE_SHARES)
    base = np.array([5.5, 8.5, 12.5, 25.0])[phase]  # overall absence by phase, %
    fsm = np.clip(rng.beta(2.0, 6.0, n) * 100, 0, 100)
    priority = rng.random(n) < 0.12 + 0.004 * fsm
    absence = base + 0.05 * fsm + rng.normal(0, 1.2, n) * (1 + phase)
    trend = rng.normal(0.25, 0.35, n)
    pa = 2.6 * absence + rng.normal(0, 3, n)
    pa_trend = 2.4 * trend + rng.normal(0, 0.6, n)
    size = np.round(np.exp(rng.normal(np.log([280, 1000, 120, 60])[phase], 0.45)))
    ofsted = rng.choice(len(OFSTED), size=n, p=(0.18, 0.68, 0.11, 0.03))
    region = rng.choice(len(REGIONS), size=n, p=(0.06, 0.15, 0.10, 0.09, 0.11, 0.11, 0.13, 0.15, 0.10))
    # selection: more priority areas, higher absence and FSM, more secondaries, fewer specials
    lin = (-2.6 + 1.1 * priority + 0.12 * (absence - base) + 0.015 * fsm + 0.4 * trend
           + np.array([0.0, 0.5, -0.6, 0.2])[phase] + 0.15 * (ofsted >= 2))
    key = lin + rng.logistic(size=n)
    treated = np.zeros(n, dtype=int)
    treated[np.argsort(-key, kind="stable")[:N_TREATED]] = 1
    return pd.DataFrame({
        "school_id": np.arange(100_000, 100_000 + n), "treated": treated,
        "absence_level": absence, "absence_trend": trend, "pa_level": pa, "pa_trend": pa_trend,
        "fsm_pct": fsm, "size": size, "priority_area": priority,
        "ofsted": np.array(OFSTED, dtype=object)[ofsted], "region": np.array(REGIONS, dtype=object)[region],
        "phase": np.array(PHASES, dtype=object)[phase],
    })


def _peak_rss_mib() -> float:
    """Peak resident memory of this process (``VmHWM``; see ``did_worker.py`` on ``ru_maxrss``)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class _Timers:
    """Accumulated time in named functions, by wrapping them where the caller looks them up."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def wrap(self, module: Any, name: str, label: str) -> None:
        fn = getattr(module, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - t

        setattr(module, name, timed)


def _nn_kwargs(config: str) -> dict[str, Any]:
    base = dict(treatment="treated", unit="school_id", covariates=COVARIATES, distance="logit",
                exact=["phase"], caliper=0.2)
    if config == "logit_replace3":
        base.update(replace=True, ratio=3)
    elif config == "mahalanobis":
        base.update(distance="mahalanobis")
    return base


def worker(config: str, profile: str | None) -> dict[str, Any]:
    """Run one configuration once in this process; return times, counts and peak memory."""
    t0 = time.perf_counter()
    import evaluate.matching as em
    from evaluate.matching import cohorts as em_cohorts
    from evaluate.matching import nearest as em_nearest
    import_s = time.perf_counter() - t0

    timers = _Timers()
    timers.wrap(em_nearest, "propensity_score", "propensity_score")
    if config == "cohorts":
        if not PANEL.exists():
            return {"config": config, "skipped": f"{PANEL} not found (run `make report` first)"}
        t = time.perf_counter()
        data = pd.read_parquet(PANEL, columns=["school_id", "year", "hub_cohort", "overall_absence_rate",
                                               "pa_rate", "ofsted", "priority_area", "phase", "fsm_pct",
                                               "size", "region"])
        data_s = time.perf_counter() - t
        for mod, name in ((em_cohorts, "pre_period_features"), (em_cohorts, "nearest_neighbour"),
                          (em_cohorts, "balance_table")):
            timers.wrap(mod, name, name)

        def call() -> Any:
            return em_cohorts.match_cohorts(data, unit="school_id", time="year", cohort="hub_cohort")
    else:
        t = time.perf_counter()
        data = cross_section()
        data_s = time.perf_counter() - t
        if config == "propensity":
            def call() -> Any:
                return em.propensity_score(data, treatment="treated", covariates=COVARIATES)
        elif config == "balance":
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                m = em.nearest_neighbour(data, **_nn_kwargs("logit"))
            timers.seconds.clear()
            w = m.units["weight"].to_numpy()

            def call() -> Any:
                return em.balance_table(data, treatment="treated", covariates=COVARIATES, weights=w)
        else:
            kw = _nn_kwargs(config)

            def call() -> Any:
                return em.nearest_neighbour(data, **kw)

    rss_loaded = _peak_rss_mib()
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t, c = time.perf_counter(), time.process_time()
        if prof is not None:
            prof.enable()
        result = call()
        if prof is not None:
            prof.disable()
        wall, cpu = time.perf_counter() - t, time.process_time() - c
    if prof is not None:
        prof.dump_stats(profile)
    out: dict[str, Any] = {"config": config, "wall_s": wall, "cpu_s": cpu, "import_s": import_s, "data_s": data_s,
                           "rows": len(data), "parts_s": dict(timers.seconds),
                           "peak_rss_mib": _peak_rss_mib(), "rss_after_load_mib": rss_loaded}
    if isinstance(result, em.MatchResult):
        out["counts"] = result.counts()
    elif isinstance(result, em.CohortMatching):
        out["counts"] = result.counts().to_dict(orient="records")
    elif isinstance(result, em.BalanceResult):
        out["counts"] = {"rows": len(result.table)}
    else:
        out["counts"] = {"converged": bool(result.converged), "params": len(result.params)}
    return out


def _git_commit() -> str:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _fmt_parts(parts: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f} s" for k, v in parts.items())


def driver(configs: list[str], repeats: int, blas_threads: int | None = None) -> None:
    """Start one fresh worker per configuration and repetition; print a Markdown table.

    ``blas_threads`` sets ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS``
    for the workers (``None``: inherit, i.e. OpenBLAS uses every core).
    """
    env = dict(os.environ)
    if blas_threads is not None:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(blas_threads)
    print(f"# {time.strftime('%Y-%m-%d %H:%M %Z')}, commit {_git_commit()}, {os.cpu_count()} cores, "
          f"{platform.system()} {platform.machine()}, Python {platform.python_version()}, "
          f"numpy {np.__version__}, pandas {pd.__version__}; BLAS threads {blas_threads or 'default'}; "
          f"load {os.getloadavg()[0]:.2f}")
    rows = []
    for cfg in configs:
        runs = []
        for _ in range(repeats):
            cmd = [sys.executable, __file__, "--worker", cfg]
            prefix = [f"OPENBLAS_NUM_THREADS={blas_threads}"] if blas_threads is not None else []
            print("$", " ".join([*prefix, ".venv/bin/python", "benchmarks/matching_speed.py", "--worker", cfg]),
                  file=sys.stderr)
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
            runs.append(json.loads(proc.stdout.strip().splitlines()[-1]))
            if "skipped" in runs[-1]:
                break
        if "skipped" in runs[0]:
            print(f"{cfg}: skipped: {runs[0]['skipped']}")
            continue
        best = min(runs, key=lambda r: r["wall_s"])
        walls = sorted(r["wall_s"] for r in runs)
        rows.append((cfg, best, walls, max(r["peak_rss_mib"] for r in runs)))
        print(f"{cfg}: best {best['wall_s']:.3f} s, CPU {best['cpu_s']:.3f} s (runs {', '.join(f'{w:.3f}' for w in walls)}); "
              f"{_fmt_parts(best['parts_s'])}; peak RSS {max(r['peak_rss_mib'] for r in runs):.0f} MiB; "
              f"import {best['import_s']:.2f} s, data {best['data_s']:.2f} s; load {os.getloadavg()[0]:.2f}; "
              f"counts {best['counts']}", flush=True)
    print("\n| configuration | wall (best) | runs | CPU (best run) | propensity score | rest | peak RSS |")
    print("|---|---|---|---|---|---|---|")
    for cfg, best, walls, rss in rows:
        ps = best["wall_s"] if cfg == "propensity" else best["parts_s"].get("propensity_score", 0.0)
        print(f"| {cfg} | {best['wall_s']:.2f} s | {', '.join(f'{w:.2f}' for w in walls)} | "
              f"{best['cpu_s']:.2f} s | {ps:.2f} s | {best['wall_s'] - ps:.2f} s | {rss / 1024:.2f} GiB |")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", choices=CONFIGS, default=list(CONFIGS))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--worker", choices=CONFIGS, help="run one configuration in this process (JSON on stdout)")
    ap.add_argument("--profile", help="with --worker: write cProfile stats of the timed call here")
    ap.add_argument("--blas-threads", type=int, help="BLAS threads in the workers (default: OpenBLAS's own)")
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.profile)))
    else:
        driver(args.configs, args.repeats, args.blas_threads)


if __name__ == "__main__":
    main()
