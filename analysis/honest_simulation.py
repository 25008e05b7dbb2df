"""Simulation: HonestDiD intervals cover the truth under the right restriction; the plain DiD interval does not.

Run by hand (not part of the unit tests)::

    .venv/bin/python analysis/honest_simulation.py                 # 200 replications
    .venv/bin/python analysis/honest_simulation.py --reps 20 --units 2000

Design
    A balanced panel of ``--units`` units observed in consecutive periods 1 to 8. Cohorts
    5, 6 and 7 (first treated period; 10% of units each, drawn at random) and 0 = never
    treated. Untreated outcome of unit ``i`` in period ``t``::

        Y0_it = a_i + 0.1 * t + dev(t - g_i) * treated_i + e_it

    with ``a_i ~ N(5, 1)`` and ``e_it ~ N(0, 0.8^2)``. ``dev(e)`` is the planted violation
    of parallel trends: the treated units' untreated outcome drifts away from the never
    treated as a function of *event time* ``e = t - g`` (the same path in every cohort, so
    that the event-study violation ``delta_e = dev(e) - dev(-1)`` does not depend on the
    cohort mix at each event time). The effect of treatment is ``-0.5`` in every treated
    period (``e >= 0``) of every cohort, so every aggregate (simple, dynamic, first) has the
    true value -0.5.

Scenarios (``dev(e)``; ``c = 0.1``)
    ``parallel``: ``0``. Parallel trends hold (the control scenario).

    ``linear``: ``c * (e + 1)``. The treated units trend ``c`` a period faster, before and
    after treatment (the usual differential pre-trend, continuing). Smoothness holds with
    ``M = 0`` (no second difference). Relative magnitudes hold from ``Mbar = 1`` (each
    post-period change ``c`` equals the largest pre-period change ``c``), and the truth then
    lies on the edge of the identified set (the continuing linear trend is the worst case
    of ``Delta^RM(1)``), so ``Mbar = 1`` is a sharp test and ``Mbar < 1`` should fail.

    ``jump``: ``-c`` for ``e <= -2``, ``0`` at ``e = -1``, ``c * (e + 1)`` for ``e >= 0``.
    Flat before a one-off shift of ``c`` between the last two pre-periods, then a drift of
    ``c`` a period from treatment on. Relative magnitudes hold from ``Mbar = 1`` (largest
    pre-period change ``c``, every post-period change ``c``), again with the truth on the
    edge of the identified set. Smoothness needs ``M >= c`` (the kink at ``e = -2``): the
    linear extrapolation of the pre-period (``M = 0``) is wrong.

    ``linear`` and ``jump`` have the same post-period violation, so the same bias of the
    plain DiD. The ``Mbar`` and ``M`` at which each restriction starts to hold (``Mbar
    true``, ``M true``) are computed from ``dev`` over event times -6 to 3 (the ones the
    panel identifies) and printed.

Each replication
    :func:`evaluate.did.callaway_santanna` (never-treated comparison, doubly robust,
    ``base_period="universal"``, analytic SEs); :func:`evaluate.sensitivity.honest.honest_inputs`
    with ``target="simple"`` (the simple ATT as a weighted sum of event-time effects
    ``e = 0..3``; 5 pre-periods ``e = -6..-2``, reference ``e = -1``);
    :func:`evaluate.sensitivity.honest.honest_did` with relative magnitudes (C-LF, the
    default) at ``Mbar`` in 0, 0.5, 1, 1.5 and smoothness (FLCI) at ``M`` in 0, 0.05, 0.1.
    The plain interval is the simple aggregate's own 95% interval
    (``res.aggregate("simple")``); HonestDiD's "original" interval, rebuilt from its
    inputs, should be the same (the largest difference is printed). Reported per interval: coverage of the true -0.5, mean length and the share of
    replications whose interval excludes zero (the truth is -0.5, so this is power).
    ``honest_did`` is called with ``breakdown_tol`` larger than the grid steps, so it does
    not refine the breakdown value (not used here; the bisection would triple the run time).
    The FLCI (about 0.1 s per ``M > 0``) runs in the first ``--flci-reps`` replications
    (default: all).

Each replication draws a new panel from ``numpy.random.default_rng([seed, scenario, rep])``,
so the results depend only on ``--seed``, ``--units`` and ``--reps``.
"""

from __future__ import annotations

import argparse
import math
import platform
import subprocess
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from evaluate.did import callaway_santanna
from evaluate.sensitivity.honest import honest_did, honest_inputs

__all__ = ["SCENARIOS", "fit_intervals", "main", "run", "simulate_panel", "summarise", "true_bounds"]

PERIODS = tuple(range(1, 9))
COHORTS = (5, 6, 7)
SHARES = (0.10, 0.10, 0.10)
TRUE_EFFECT = -0.5
C = 0.1
MBAR = (0.0, 0.5, 1.0, 1.5)
M_SD = (0.0, 0.05, 0.1)
TARGET = "simple"
DEFAULT_REPS = 200
DEFAULT_SEED = 20250613
DEFAULT_UNITS = 3000
COLS = dict(outcome="y", unit="unit", time="period", cohort="cohort")
#: event times the panel identifies (cohort 7 at period 1 to cohort 5 at period 8)
EVENT_TIMES = np.arange(min(PERIODS) - max(COHORTS), max(PERIODS) - min(COHORTS) + 1)


def _parallel(e: np.ndarray) -> np.ndarray:
    return np.zeros_like(e, dtype=float)


def _linear(e: np.ndarray) -> np.ndarray:
    return C * (e + 1.0)


def _jump(e: np.ndarray) -> np.ndarray:
    return np.where(e <= -2, -C, np.where(e == -1, 0.0, C * (e + 1.0)))


#: scenario -> (violation dev(e) by event time, description)
SCENARIOS: dict[str, tuple[Callable[[np.ndarray], np.ndarray], str]] = {
    "parallel": (_parallel, "parallel trends"),
    "linear": (_linear, f"treated trend {C} a period faster, before and after treatment"),
    "jump": (_jump, f"flat, a shift of {C} between e = -2 and e = -1, then a drift of {C} a period"),
}


def true_bounds(scenario: str) -> dict[str, float]:
    """The planted violation's ``Mbar`` (relative magnitudes) and ``M`` (smoothness).

    ``delta_e = dev(e) - dev(-1)`` over the identified event times; ``Mbar true`` = largest
    post-period first difference (from ``e = -1`` on) / largest pre-period first difference
    (up to ``e = -1``); ``M true`` = largest absolute second difference.
    """
    e = EVENT_TIMES
    d = SCENARIOS[scenario][0](e) - SCENARIOS[scenario][0](np.array([-1]))[0]
    diff = np.diff(d)  # diff[k] = d[k+1] - d[k], ending at event time e[k+1]
    end = e[1:]
    pre, post = np.abs(diff[end <= -1]).max(), np.abs(diff[end >= 0]).max()
    mbar = 0.0 if post == 0 else (math.inf if pre == 0 else float(post / pre))
    return {"mbar_true": round(mbar, 12), "m_true": round(float(np.abs(np.diff(d, 2)).max()), 12)}


def simulate_panel(n_units: int, rng: np.random.Generator, scenario: str = "parallel") -> pd.DataFrame:
    """One simulated unit x period panel (see the module docstring)."""
    n = int(n_units)
    dev = SCENARIOS[scenario][0]
    cohort = rng.choice((0, *COHORTS), size=n, p=(1 - sum(SHARES), *SHARES))
    periods = np.array(PERIODS)
    e = periods[None, :] - cohort[:, None]
    treated = (cohort > 0)[:, None]
    y = (rng.normal(5, 1, n)[:, None] + 0.1 * periods[None, :]
         + np.where(treated, dev(e) + TRUE_EFFECT * (e >= 0), 0.0)
         + rng.normal(0, 0.8, (n, len(periods))))
    k = len(periods)
    return pd.DataFrame({"unit": np.repeat(np.arange(n), k), "period": np.tile(periods, n),
                         "cohort": np.repeat(cohort, k), "y": y.ravel()})


def fit_intervals(panel: pd.DataFrame, *, flci: bool = True) -> list[dict[str, float | str]]:
    """Plain and HonestDiD intervals of the simple ATT: one row per interval.

    Rows: ``interval`` (``"plain"``: the Callaway-Sant'Anna simple aggregate's 95% interval;
    ``"RM Mbar=..."``, ``"SD M=..."``), ``restriction``, ``m``, ``estimate`` (plain row
    only), ``ci_low``, ``ci_high``, ``original_gap`` (plain row: largest difference from
    HonestDiD's original interval, which should be nil), ``grid_end_warnings``, ``l_vec``.
    """
    res = callaway_santanna(panel, **COLS, base_period="universal")
    inp = honest_inputs(res, target=TARGET)
    kw = dict(num_pre=inp.num_pre, l_vec=inp.l_vec, target=inp.target, breakdown_tol=10.0)
    rows: list[dict[str, float | str]] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rm = honest_did(inp.betahat, inp.sigma, restriction="relative_magnitude", m=MBAR, **kw)
        sd = honest_did(inp.betahat, inp.sigma, restriction="smoothness", m=M_SD, **kw) if flci else None
    plain = res.aggregate(TARGET, bootstrap=0).table.iloc[-1]
    o = rm.original  # the same interval rebuilt from the HonestDiD inputs
    gap = max(abs(o["estimate"] - plain["estimate"]), abs(o["ci_low"] - plain["ci_low"]),
              abs(o["ci_high"] - plain["ci_high"]))
    rows.append({"interval": "plain", "restriction": "none", "m": math.nan, "estimate": float(plain["estimate"]),
                 "ci_low": float(plain["ci_low"]), "ci_high": float(plain["ci_high"]), "original_gap": gap})
    for h, label in ((rm, "RM Mbar"), (sd, "SD M")):
        if h is None:
            continue
        for r in h.table.itertuples():
            rows.append({"interval": f"{label}={r.m:g}", "restriction": h.restriction, "m": float(r.m),
                         "estimate": math.nan, "ci_low": float(r.ci_low), "ci_high": float(r.ci_high)})
    n_warn = sum(1 for w in caught if "end of the grid" in str(w.message))
    weights = dict(zip(inp.event_times[inp.num_pre:], inp.l_vec, strict=True))
    for r in rows:
        r["grid_end_warnings"] = n_warn
        r["l_vec"] = weights
    return rows


def run(reps: int, seed: int, n_units: int, scenario: str, *, flci_reps: int | None = None,
        progress: bool = False) -> pd.DataFrame:
    """``reps`` replications of one scenario: one row per replication and interval."""
    idx = list(SCENARIOS).index(scenario)
    dev = SCENARIOS[scenario][0]
    flci_reps = reps if flci_reps is None else flci_reps
    out = []
    t0 = time.perf_counter()
    for r in range(reps):
        panel = simulate_panel(n_units, np.random.default_rng([seed, idx, r]), scenario)
        rows = fit_intervals(panel, flci=r < flci_reps)
        w = rows[0]["l_vec"]
        # the plain estimate's expected value: the truth plus l' delta_post
        bias = float(sum(wt * (dev(np.array([e]))[0] - dev(np.array([-1]))[0]) for e, wt in w.items()))
        for row in rows:
            row.pop("l_vec")
            out.append({"scenario": scenario, "rep": r, **row, "plain_bias": bias})
        if progress and (r + 1) % max(1, reps // 10) == 0:
            print(f"  {scenario}: {r + 1}/{reps} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return pd.DataFrame(out)


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Per scenario and interval: coverage of the truth, mean length, share excluding zero."""
    out = []
    for (sc, iv), d in results.groupby(["scenario", "interval"], sort=False):
        lo, hi = d["ci_low"].to_numpy(), d["ci_high"].to_numpy()
        ok = np.isfinite(lo) & np.isfinite(hi)
        tb = true_bounds(sc)
        restr = d["restriction"].iloc[0]
        m = float(d["m"].iloc[0])
        if restr == "none":
            holds = tb["mbar_true"] == 0
        elif restr == "relative_magnitude":
            holds = m >= tb["mbar_true"] - 1e-12
        else:
            holds = m >= tb["m_true"] - 1e-12
        out.append({"scenario": sc, "interval": iv, "holds": holds, "reps": len(d),
                    "covers_truth": float(np.mean(ok & (lo <= TRUE_EFFECT) & (hi >= TRUE_EFFECT))),
                    "mean_length": float(np.mean(hi[ok] - lo[ok])) if ok.any() else math.nan,
                    "excludes_zero": float(np.mean(ok & ((lo > 0) | (hi < 0)))),
                    "empty": int(np.sum(~ok))})
    return pd.DataFrame(out)


def to_markdown(summary: pd.DataFrame) -> str:
    lines = ["| scenario | interval | restriction holds | reps | covers -0.5 | mean length | excludes 0 |",
             "|---|---|:---:|---:|---:|---:|---:|"]
    for r in summary.itertuples():
        empty = f" ({r.empty} empty)" if r.empty else ""
        lines.append(f"| {r.scenario} | {r.interval} | {'yes' if r.holds else 'no'} | {r.reps}{empty} "
                     f"| {100 * r.covers_truth:.1f}% | {r.mean_length:.3f} | {100 * r.excludes_zero:.1f}% |")
    return "\n".join(lines)


def scenario_lines(results: pd.DataFrame) -> list[str]:
    lines = []
    for sc, d in results.groupby("scenario", sort=False):
        p = d.loc[d["interval"] == "plain"]
        tb = true_bounds(sc)
        est = p["estimate"].to_numpy()
        lines.append(f"  {sc}: {SCENARIOS[sc][1]}; Mbar true {tb['mbar_true']:g}, M true {tb['m_true']:g}; "
                     f"plain estimate mean {est.mean():+.4f} (MCSE {est.std(ddof=1) / math.sqrt(len(est)):.4f}), "
                     f"expected {TRUE_EFFECT + p['plain_bias'].mean():+.4f} (bias {p['plain_bias'].mean():+.4f}); "
                     f"C-LF grid-end warnings in {int((p['grid_end_warnings'] > 0).sum())} replications; "
                     f"largest gap between the plain interval and HonestDiD's original one {p['original_gap'].max():.1e}"
                     " (HonestDiD treats the simple ATT's event-time weights as known)")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the scenarios and print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=DEFAULT_REPS, help="replications per scenario (default %(default)s)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed (default %(default)s)")
    ap.add_argument("--units", type=int, default=DEFAULT_UNITS, help="units per panel (default %(default)s)")
    ap.add_argument("--flci-reps", type=int, default=None,
                    help="replications (the first ones) with the smoothness FLCI (default: all)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated scenarios (default %(default)s)")
    ap.add_argument("--raw", default=None, help="optional CSV of every replication's intervals")
    a = ap.parse_args(argv)
    names = [s.strip() for s in a.scenarios.split(",") if s.strip()]
    unknown = [s for s in names if s not in SCENARIOS]
    if unknown:
        ap.error(f"unknown scenario(s): {', '.join(unknown)} (known: {', '.join(SCENARIOS)})")
    code = _git_state()
    t0 = time.perf_counter()
    results = pd.concat([run(a.reps, a.seed, a.units, s, flci_reps=a.flci_reps, progress=True) for s in names],
                        ignore_index=True)
    runtime = time.perf_counter() - t0
    flci_reps = a.reps if a.flci_reps is None else min(a.reps, a.flci_reps)
    print(f"HonestDiD simulation: {a.reps} replications per scenario (FLCI in {flci_reps}), {a.units} units, "
          f"seed {a.seed}; true effect {TRUE_EFFECT} (target: {TARGET} ATT, constant effect)")
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}; Python {platform.python_version()}, numpy {np.__version__}, "
          f"pandas {pd.__version__}; runtime {runtime:.0f} s ({runtime / max(1, a.reps * len(names)):.2f} s "
          f"per replication)")
    print(f"code: {code}")
    for line in scenario_lines(results):
        print(line)
    print()
    print(to_markdown(summarise(results)))
    if a.raw:
        results.to_csv(a.raw, index=False)
    return 0


#: The code this script runs (checked for uncommitted changes).
_CODE = ("src/evaluate/did", "src/evaluate/sensitivity/honest.py", "src/evaluate/sensitivity/_honest_rm.py",
         "src/evaluate/sensitivity/_honest_sd.py")


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
