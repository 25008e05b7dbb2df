"""Speed and memory of our DiD estimators beside pyfixest, ``differences`` and ``csdid``.

Usage::

    .venv/bin/python benchmarks/did_speed.py [--out DIR] [--bench-python PY] [--reps 3]
        [--draws 999] [--timeout 600] [--datasets national sim100k] [--estimators ...]

Two data sets, prepared once and cached as Parquet under ``DIR`` (default
``$TMPDIR/evaluate-benchmarks/did``, not committed):

- ``national``: ``evaluate.synthetic.generate(seed=20240901)`` (full country), then
  ``evaluate.data.panel.build_panel``; the school x year panel of the hub programme
  (``overall_absence_rate``, ``hub_cohort``, covariate ``fsm_pct``) for the seven full years
  2016-2018 and 2021-2024, mapped to periods 1..7 (cohorts 2022/2023/2024 -> 5/6/7), kept to
  the schools observed in all seven years (what every Callaway-Sant'Anna implementation
  estimates on), so every estimator sees the same rows.
- ``sim100k``: 100,000 units x 7 periods, cohorts 5/6/7 and never treated, one time-varying
  covariate that drives both selection and trends, simulated with seed 20240902.

Each estimator runs in its own fresh interpreter (``benchmarks/did_worker.py``; ours and
pyfixest with this interpreter, ``csdid`` and ``differences`` with ``--bench-python``, the
venv of ``benchmarks/requirements-bench.txt``), best of ``--reps`` runs (one run when the
first takes longer than ``--slow`` seconds; a run is stopped after ``--timeout`` seconds).
The driver prints a Markdown table (wall time of the estimation with the data in memory,
import time apart, peak RSS of the worker, best time divided by ours, 1-minute load
average before each run), the agreement of the competitors' estimates with ours (ATT(g,t),
the four overall aggregates, bootstrap SEs; TWFE coefficient and SE), and the commands.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
WORKER = HERE / "did_worker.py"
NATIONAL_SEED = 20240901
SIM_SEED = 20240902
YEARS = (2016, 2017, 2018, 2021, 2022, 2023, 2024)
CS = ("ours_cs", "ours_cs_analytic", "csdid", "differences")
TWFE = ("ours_twfe", "pyfixest")
COMPETITORS = ("csdid", "differences")
LABELS = {
    "ours_cs": "ours `callaway_santanna` + 4 `aggregate`",
    "ours_cs_analytic": "ours, as above with analytic SEs (no bootstrap; for reference)",
    "csdid": "csdid 0.4.3 `ATTgt.fit` + 4 `aggte`",
    "differences": "differences 0.3.0 `ATTgt.fit` + 4 `aggregate`",
    "ours_twfe": "ours `twfe`",
    "pyfixest": "pyfixest 0.60 `feols`",
}


# ----------------------------------------------------------------------------- data


def prepare_national(out: Path) -> Path:
    """Generate synthetic England, build the panel and cache the hub-programme panel."""
    path = out / "national.parquet"
    if path.exists():
        return path
    from evaluate import synthetic
    from evaluate.data.panel import build_panel

    synth = out / "synthetic"
    if not (synth / "manifest.json").exists():
        t = time.perf_counter()
        synthetic.generate(synth, seed=NATIONAL_SEED)
        print(f"synthetic.generate: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    t = time.perf_counter()
    py = build_panel(synth).panel_year
    print(f"build_panel: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    py = py.loc[py["year"].isin(YEARS),
                ["school_id", "year", "overall_absence_rate", "hub_cohort", "fsm_pct"]]
    py = py.dropna()
    py = py.loc[py.groupby("school_id")["year"].transform("size") == len(YEARS)]
    period = {y: i + 1 for i, y in enumerate(YEARS)}
    cohort = py["hub_cohort"].map(lambda c: period.get(int(c), 0)).astype(np.int64)
    df = pd.DataFrame({
        "unit": py["school_id"].to_numpy(np.int64),
        "period": py["year"].map(period).to_numpy(np.int64),
        "cohort": cohort.to_numpy(),
        "y": py["overall_absence_rate"].to_numpy(float),
        "x": py["fsm_pct"].to_numpy(float),
    }).sort_values(["unit", "period"], ignore_index=True)
    df["d"] = ((df["period"] >= df["cohort"]) & (df["cohort"] > 0)).astype(float)
    df.to_parquet(path, index=False)
    return path


def simulate(n_units: int = 100_000, n_periods: int = 7, seed: int = SIM_SEED) -> pd.DataFrame:
    """A balanced staggered panel: cohorts 5/6/7 and never treated, one covariate.

    The covariate ``x`` (time-varying) raises both the chance of treatment and the trend of
    ``y``, so parallel trends hold only conditionally on ``x``; effects grow with exposure.
    """
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n_units)
    p_treat = 1 / (1 + np.exp(-(-1.0 + 0.8 * z)))
    treated = rng.random(n_units) < p_treat
    cohort = np.where(treated, rng.choice([5, 6, 7], size=n_units, p=[0.2, 0.35, 0.45]), 0)
    t = np.arange(1, n_periods + 1)
    x = 20 + 8 * z[:, None] + 0.4 * t[None, :] + rng.normal(scale=2.0, size=(n_units, n_periods))
    alpha = rng.normal(scale=2.0, size=n_units) + 0.5 * z
    lam = 0.3 * t
    exposure = np.where((cohort[:, None] > 0) & (t[None, :] >= cohort[:, None]),
                        t[None, :] - cohort[:, None] + 1, 0)
    y = (alpha[:, None] + lam[None, :] + 0.05 * x + 0.15 * z[:, None] * t[None, :]
         - 0.5 * exposure + rng.normal(scale=1.0, size=(n_units, n_periods)))
    df = pd.DataFrame({
        "unit": np.repeat(np.arange(1, n_units + 1, dtype=np.int64), n_periods),
        "period": np.tile(t.astype(np.int64), n_units),
        "cohort": np.repeat(cohort.astype(np.int64), n_periods),
        "y": y.ravel(),
        "x": x.ravel(),
    })
    df["d"] = (exposure.ravel() > 0).astype(float)
    return df


def prepare_sim(out: Path) -> Path:
    """Simulate and cache the 100,000-unit panel."""
    path = out / "sim100k.parquet"
    if not path.exists():
        simulate().to_parquet(path, index=False)
    return path


# ----------------------------------------------------------------------------- runs


@dataclass
class Case:
    """All runs of one estimator on one data set."""

    estimator: str
    dataset: str
    command: str
    reports: list[dict[str, Any]] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def best(self) -> float | None:
        """Best wall time of the timed call (the warm call when there were two)."""
        if not self.reports:
            return None
        return min(min(r["times_s"][1:] or r["times_s"]) for r in self.reports)

    @property
    def cold(self) -> float | None:
        """Best time of the first call in a fresh process."""
        return min(r["times_s"][0] for r in self.reports) if self.reports else None

    @property
    def peak_mib(self) -> float | None:
        """Largest peak RSS over the runs."""
        return max(r["peak_rss_mib"] for r in self.reports) if self.reports else None


def run_case(estimator: str, dataset: str, panel: Path, python: str, out: Path, *, reps: int,
             draws: int, timeout: float, slow: float) -> Case:
    """Run ``estimator`` on ``panel`` in ``reps`` fresh worker processes."""
    calls = 2 if estimator in TWFE else 1
    json_out = out / f"{dataset}_{estimator}.json"
    worker_est = estimator
    if estimator == "ours_cs_analytic":
        worker_est, draws = "ours_cs", 0
    cmd = [python, str(WORKER), worker_est, str(panel), str(json_out), "--calls", str(calls),
           "--draws", str(draws)]
    case = Case(estimator, dataset, shlex.join(cmd))
    for rep in range(reps):
        case.loads.append(os.getloadavg()[0])
        t = time.perf_counter()
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            case.error = f"stopped after {timeout:.0f} s (timeout)"
            break
        elapsed = time.perf_counter() - t
        if proc.returncode != 0:
            last = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()][-1:] or ["?"]
            case.error = f"exit {proc.returncode}: {last[0][:300]}"
            break
        report = json.loads(json_out.read_text(encoding="utf-8"))
        report["process_s"] = elapsed
        case.reports.append(report)
        print(f"  {dataset:9s} {estimator:12s} run {rep + 1}: {report['times_s']} s, "
              f"{report['peak_rss_mib']:.0f} MiB, load {case.loads[-1]:.2f}", file=sys.stderr)
        if elapsed > slow:
            break
    return case


# ----------------------------------------------------------------------------- agreement


def _attgt_frame(case: Case) -> pd.DataFrame:
    rows = case.reports[-1]["result"]["attgt"]
    return pd.DataFrame(rows).astype({"group": int, "time": int}).set_index(["group", "time"])


def agreement(cases: dict[tuple[str, str], Case], dataset: str) -> list[str]:
    """Lines comparing the competitors' estimates with ours on ``dataset``."""
    lines: list[str] = []
    ours = cases.get(("ours_cs", dataset))
    for comp in COMPETITORS:
        other = cases.get((comp, dataset))
        if not (ours and ours.reports and other and other.reports):
            continue
        a, b = _attgt_frame(ours), _attgt_frame(other)
        both = a.add_suffix("_ours").join(b.add_suffix("_other"), how="inner")
        d_att = float(np.max(np.abs(both["att_ours"] - both["att_other"])))
        r_se = float(np.nanmax(np.abs(both["se_other"] / both["se_ours"] - 1)))
        oo = ours.reports[-1]["result"]["overall"]
        ot = other.reports[-1]["result"]["overall"]
        d_over = max(abs(oo[k][0] - ot[k][0]) for k in oo)
        r_over = max(abs(ot[k][1] / oo[k][1] - 1) for k in oo)
        lines.append(f"- {dataset}, {comp}: {len(both)} of {len(a)} ATT(g,t) cells matched; "
                     f"max |ATT(g,t) diff| = {d_att:.1e}; max |overall aggregate diff| "
                     f"(simple/group/dynamic/calendar) = {d_over:.1e}; bootstrap SEs within "
                     f"{100 * r_se:.1f}% (cells) and {100 * r_over:.1f}% (overall) of ours "
                     "(different random draws)")
    t_o, t_p = cases.get(("ours_twfe", dataset)), cases.get(("pyfixest", dataset))
    if t_o and t_o.reports and t_p and t_p.reports:
        ro, rp = t_o.reports[-1]["result"], t_p.reports[-1]["result"]
        lines.append(f"- {dataset}, TWFE: ours {ro['coef']:.6f} (SE {ro['se']:.6f}), pyfixest "
                     f"{rp['coef']:.6f} (SE {rp['se']:.6f}); |diff| = {abs(ro['coef'] - rp['coef']):.1e}"
                     f" (coef), {abs(ro['se'] - rp['se']):.1e} (SE)"
                     + ("" if t_o.reports[-1]["x_varies"] else "; x constant within unit, left out"))
    return lines


# ----------------------------------------------------------------------------- table


def _fmt_s(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.2f} s" if x < 100 else f"{x:.0f} s"


def table(cases: dict[tuple[str, str], Case], datasets: list[str]) -> list[str]:
    """The Markdown table of the runs."""
    out = ["| estimator | data | wall (best) | first call | runs | import | peak RSS | time ÷ ours | load (1 min) |",
           "|---|---|---|---|---|---|---|---|---|"]
    for ds in datasets:
        for est in (*CS, *TWFE):
            c = cases.get((est, ds))
            if c is None:
                continue
            ours = cases.get(("ours_cs" if est in CS else "ours_twfe", ds))
            ratio = "-"
            if c.best is not None and ours is not None and ours.best and est not in ("ours_cs", "ours_twfe"):
                ratio = f"{c.best / ours.best:.2f}x"
            if c.error and not c.reports:
                out.append(f"| {LABELS[est]} | {ds} | n/a | n/a | 0 | - | - | - | "
                           f"{max(c.loads, default=float('nan')):.2f} |")
                continue
            imp = min(r["import_s"] for r in c.reports)
            note = "" if not c.error else " (then " + c.error + ")"
            out.append(f"| {LABELS[est]} | {ds} | {_fmt_s(c.best)} | {_fmt_s(c.cold)} | {len(c.reports)}"
                       f"{note} | {imp:.1f} s | {c.peak_mib / 1024:.2f} GiB | {ratio} | "
                       f"{min(c.loads):.2f}-{max(c.loads):.2f} |")
    return out


def main(argv: list[str] | None = None) -> None:
    """Prepare the data, run every case, print the table, agreement and commands."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "evaluate-benchmarks" / "did")
    ap.add_argument("--bench-python", default="/tmp/bvenv/bin/python",
                    help="interpreter with csdid and differences (benchmarks/requirements-bench.txt)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--draws", type=int, default=999)
    ap.add_argument("--timeout", type=float, default=600.0)
    ap.add_argument("--slow", type=float, default=60.0, help="one run only when a run takes longer")
    ap.add_argument("--datasets", nargs="+", default=["national", "sim100k"],
                    choices=["national", "sim100k"])
    ap.add_argument("--estimators", nargs="+", default=[*CS, *TWFE], choices=[*CS, *TWFE])
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    panels = {"national": prepare_national, "sim100k": prepare_sim}
    cases: dict[tuple[str, str], Case] = {}
    for ds in args.datasets:
        panel = panels[ds](args.out)
        for est in args.estimators:
            python = args.bench_python if est in COMPETITORS else sys.executable
            cases[(est, ds)] = run_case(est, ds, panel, python, args.out, reps=args.reps,
                                        draws=args.draws, timeout=args.timeout, slow=args.slow)

    print(f"{time.strftime('%Y-%m-%d %H:%M')}, {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, draws={args.draws}, best of {args.reps}\n")
    for ds in args.datasets:
        c = next((c for (e, d), c in cases.items() if d == ds and c.reports), None)
        if c:
            r = c.reports[0]
            print(f"- {ds}: {r['units']:,} units, {r['rows']:,} rows")
    print()
    print("\n".join(table(cases, args.datasets)))
    print()
    for ds in args.datasets:
        print("\n".join(agreement(cases, ds)))
    errors = [f"- {e} on {d}: {c.error}" for (e, d), c in cases.items() if c.error]
    if errors:
        print("\nNot completed:\n" + "\n".join(errors))
    print("\nCommands (one fresh process per run):\n")
    for c in cases.values():
        print(f"    {c.command}")


if __name__ == "__main__":
    main()
