"""In-process timing of Callaway-Sant'Anna: this tree against an older commit (and competitors).

Usage::

    PYTHONPATH=src .venv/bin/python benchmarks/did_solver_speed.py [--ref COMMIT] [--units 100000]
        [--periods 8] [--reps 5] [--draws 999] [--cases analytic boot] [--competitors diff_diff moderndid]
        [--profile]

The panel is ``did_speed.simulate(units, periods)`` (cohorts 5/6/7 and never treated, one
time-varying covariate ``x``). Each case is Callaway-Sant'Anna, doubly robust, covariate ``x``,
never-treated comparison:

- ``analytic``: ``callaway_santanna`` with analytic standard errors;
- ``boot``: ``callaway_santanna`` with ``--draws`` multiplier-bootstrap draws, then the four
  aggregations (simple, group, dynamic, calendar), each bootstrapped.

``--ref`` extracts ``src/evaluate`` of that commit (``git archive``) into a temporary folder and
imports it *in the same process* under the same package name (the two versions' modules are
swapped in ``sys.modules`` around each call, so lazy imports resolve to the right version).
Runs are interleaved (old, new, old, new, ...) and the medians of ``--reps`` runs reported, so
that a machine shared with other work slows both alike. The agreement of the two versions
(ATT(g,t), standard errors, influence functions, aggregates) is printed too.
``--competitors`` times diff-diff (``CallawaySantAnna``, ``n_bootstrap=draws``, its
aggregations) and moderndid (``att_gt`` + ``aggte`` x 4) on the same panel in the same way
(warmed up on a 2,000-unit panel first, so that imports and any compilation are not timed;
one run only if it takes longer than ``--slow`` seconds).
``--profile`` prints a cProfile of one run of the new code per case.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import importlib
import io
import os
import platform
import pstats
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from did_speed import simulate  # noqa: E402

AGGREGATIONS = ("simple", "group", "dynamic", "calendar")
SEED = 20240901


def _is_pkg(name: str) -> bool:
    return name == "evaluate" or name.startswith("evaluate.")


def load_tree(src: Path) -> dict[str, ModuleType]:
    """Import the ``evaluate`` package found in ``src`` and return its modules (not left active)."""
    saved = {k: sys.modules.pop(k) for k in list(sys.modules) if _is_pkg(k)}
    sys.path.insert(0, str(src))
    try:
        for mod in ("evaluate.did", "evaluate.did.att_gt", "evaluate.did.aggregate"):
            importlib.import_module(mod)
        return {k: sys.modules.pop(k) for k in list(sys.modules) if _is_pkg(k)}
    finally:
        sys.path.remove(str(src))
        for k in [k for k in sys.modules if _is_pkg(k)]:
            del sys.modules[k]
        sys.modules.update(saved)


@contextlib.contextmanager
def active(mods: dict[str, ModuleType] | None) -> Iterator[None]:
    """Make ``mods`` the ``evaluate`` package while inside (``None``: the current one)."""
    if mods is None:
        yield
        return
    saved = {k: sys.modules.pop(k) for k in list(sys.modules) if _is_pkg(k)}
    sys.modules.update(mods)
    try:
        yield
    finally:
        for k in [k for k in sys.modules if _is_pkg(k)]:
            del sys.modules[k]
        sys.modules.update(saved)


def extract(ref: str, dest: Path) -> Path:
    """``src/evaluate`` of commit ``ref`` extracted under ``dest`` (returns the ``src`` folder)."""
    repo = HERE.parent
    blob = subprocess.run(["git", "-C", str(repo), "archive", ref, "src/evaluate"], check=True,
                          capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(dest, filter="data")
    return dest / "src"


def run_ours(mods: dict[str, ModuleType] | None, df: pd.DataFrame, draws: int) -> dict[str, Any]:
    """CS (dr, covariate x, never) and, with draws, the four bootstrapped aggregations."""
    with active(mods):
        from evaluate.did import callaway_santanna

        res = callaway_santanna(df, outcome="y", unit="unit", time="period", cohort="cohort",
                                covariates=["x"], control="never", estimator="dr",
                                bootstrap=draws, seed=SEED)
        aggs = {k: res.aggregate(k) for k in AGGREGATIONS} if draws else {}
    return {"res": res, "aggs": aggs}


def run_diff_diff(df: pd.DataFrame, draws: int) -> Any:
    """diff-diff ``CallawaySantAnna`` (dr, covariate x, never treated) and its aggregations."""
    from diff_diff import CallawaySantAnna

    cs = CallawaySantAnna(control_group="never_treated", estimation_method="dr", n_bootstrap=draws,
                          seed=SEED)
    res = cs.fit(df, outcome="y", unit="unit", time="period", first_treat="cohort", covariates=["x"])
    kinds = [k for k in ("simple", "group", "event_study", "calendar") if k in res._AGGREGATE_SUPPORTED]
    return res, {k: res.aggregate(k) for k in kinds}


def run_moderndid(df: pd.DataFrame, draws: int) -> Any:
    """moderndid ``att_gt`` (dr, ``~ x``, never treated, bootstrap) and ``aggte`` x 4."""
    from moderndid import aggte, att_gt

    res = att_gt(df, yname="y", tname="period", idname="unit", gname="cohort", xformla="~ x",
                 est_method="dr", control_group="nevertreated", boot=draws > 0, biters=max(draws, 1),
                 cband=draws > 0, random_state=SEED)
    return res, {k: aggte(res, type=k, boot=draws > 0, biters=max(draws, 1), random_state=SEED)
                 for k in AGGREGATIONS}


def agreement(old: dict[str, Any], new: dict[str, Any]) -> str:
    """Largest differences between two runs of ours."""
    a, b = old["res"], new["res"]
    d_att = float(np.max(np.abs(a.table["estimate"].to_numpy() - b.table["estimate"].to_numpy())))
    d_se = float(np.nanmax(np.abs(a.table["se"].to_numpy() / b.table["se"].to_numpy() - 1)))
    ia, ib = np.asarray(a.influence), np.asarray(b.influence)
    d_inf = float(np.max(np.abs(ia - ib)) / np.max(np.abs(ia)))
    out = f"ATT(g,t) max |diff| {d_att:.1e}, SE max rel diff {d_se:.1e}, influence max |diff| / max |inf| {d_inf:.1e}"
    if old["aggs"]:
        d_agg = max(float(np.max(np.abs(old["aggs"][k].table["estimate"].to_numpy()
                                         - new["aggs"][k].table["estimate"].to_numpy()))) for k in AGGREGATIONS)
        r_agg = max(float(np.nanmax(np.abs(old["aggs"][k].table["se"].to_numpy()
                                           / new["aggs"][k].table["se"].to_numpy() - 1))) for k in AGGREGATIONS)
        out += f"; aggregates max |diff| {d_agg:.1e}, their (bootstrap) SEs max rel diff {r_agg:.1e}"
    return out


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(argv: list[str] | None = None) -> None:
    """Time every case, print a Markdown table, the agreement and (optionally) profiles."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ref", default=None, help="commit to compare with (in process)")
    ap.add_argument("--units", type=int, default=100_000)
    ap.add_argument("--periods", type=int, default=8)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--draws", type=int, default=999)
    ap.add_argument("--cases", nargs="+", default=["analytic", "boot"], choices=["analytic", "boot"])
    ap.add_argument("--competitors", nargs="*", default=[], choices=["diff_diff", "moderndid"])
    ap.add_argument("--slow", type=float, default=30.0, help="a competitor slower than this (s) is timed once")
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args(argv)

    df = simulate(args.units, args.periods)
    tmp = tempfile.TemporaryDirectory()
    old_mods = load_tree(extract(args.ref, Path(tmp.name))) if args.ref else None
    impls: dict[str, Callable[[int], Any]] = {"new": lambda dr: run_ours(None, df, dr)}
    if old_mods is not None:
        impls = {"old": lambda dr: run_ours(old_mods, df, dr), **impls}
    comp = {"diff_diff": lambda dr: run_diff_diff(df, dr), "moderndid": lambda dr: run_moderndid(df, dr)}
    small = simulate(2000, args.periods)
    warm = {"diff_diff": lambda dr: run_diff_diff(small, dr), "moderndid": lambda dr: run_moderndid(small, dr)}
    for c in args.competitors:
        impls[c] = comp[c]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for dr in {0, args.draws}:
                warm[c](dr)  # imports and any compilation, on a small panel

    times: dict[tuple[str, str], list[float]] = {}
    last: dict[tuple[str, str], Any] = {}
    warnings.simplefilter("ignore")
    for case in args.cases:
        draws = args.draws if case == "boot" else 0
        for name, fn in impls.items():  # warm-up (imports, first-call costs), ours only
            if name in ("old", "new"):
                fn(draws)
        for _ in range(args.reps):
            for name, fn in impls.items():
                if name not in ("old", "new") and min(times.get((case, name), [0.0]) or [0.0]) > args.slow:
                    continue  # a slow competitor is timed once
                t, out = timed(lambda fn=fn, draws=draws: fn(draws))
                times.setdefault((case, name), []).append(t)
                last[(case, name)] = out
        print(f"  {case}: " + ", ".join(f"{k[1]} {statistics.median(v):.3f} s" for k, v in times.items()
                                        if k[0] == case), file=sys.stderr)

    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, numpy {np.__version__}, 1-minute load {os.getloadavg()[0]:.2f}; "
          f"{args.units:,} units x {args.periods} periods, draws={args.draws}, median of {args.reps} "
          "interleaved runs in one process\n")
    names = list(impls)
    print("| case | " + " | ".join(names) + (" | old ÷ new |" if "old" in names else " |")
          + "".join(f" {c} ÷ new |" for c in args.competitors))
    print("|---|" + "---|" * (len(names) + ("old" in names) + len(args.competitors)))
    for case in args.cases:
        med = {n: statistics.median(times[(case, n)]) for n in names}
        row = f"| {case} | " + " | ".join(f"{med[n]:.3f} s" for n in names) + " |"
        if "old" in names:
            row += f" {med['old'] / med['new']:.2f}x |"
        row += "".join(f" {med[c] / med['new']:.2f}x |" for c in args.competitors)
        print(row)
    print()
    for case in args.cases:
        print(f"- {case}, all runs (s): " + "; ".join(
            f"{n} " + ", ".join(f"{t:.3f}" for t in times[(case, n)]) for n in names))
        if "old" in names:
            print(f"- {case}, old vs new: " + agreement(last[(case, "old")], last[(case, "new")]))
    if args.profile:
        for case in args.cases:
            draws = args.draws if case == "boot" else 0
            prof = cProfile.Profile()
            prof.enable()
            run_ours(None, df, draws)
            prof.disable()
            s = io.StringIO()
            pstats.Stats(prof, stream=s).sort_stats("tottime").print_stats(25)
            print(f"\n### cProfile, new, {case}\n\n```\n{s.getvalue()}\n```")
    tmp.cleanup()


if __name__ == "__main__":
    main()
