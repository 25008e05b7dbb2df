"""Monte Carlo study of the DiD estimators on a semi-synthetic England with known effects.

Run by hand (not part of the unit tests)::

    .venv/bin/python analysis/monte_carlo.py            # the committed table (1000 reps)
    .venv/bin/python analysis/monte_carlo.py --reps 50 --schools 1500 --no-write

Design (semi-synthetic, anchored on :func:`evaluate.synthetic.generate`)
    1. One synthetic England (``--schools`` schools, ``--data-seed``) is generated into a
       temporary folder and the school x year panel is built with
       :func:`evaluate.data.panel.build_panel` (default options).
    2. Sample: the attendance-hub programme. Every school in an attendance-mentor area
       (``mentor_cohort != 0``, including the 2025 cohort, which is already partly exposed
       in 2024/25) is dropped, so no outcome used below carries a mentoring effect. Hub
       schools whose cohort is outside the panel years are dropped (none with the default
       data), and so are schools not observed in all seven full-year periods (2016-2018,
       2021-2024; there is no 2019/20 absence file and no 2020/21 full-year row), so the
       panel is balanced and every estimator uses the same schools.
    3. Y(0) ingredients for ``overall_absence_rate``, fitted on untreated observations only
       (never-treated schools, and hub schools before their first exposed year): school
       effects ``alpha_i`` and year effects ``lambda_t`` by two-way least squares, and a
       residual standard deviation by phase (degrees-of-freedom corrected).
    4. Each replication draws ``Y(0)_it = alpha_i + lambda_t + eps_it`` with independent
       ``eps_it ~ N(0, sigma_phase(i)^2)`` and ``Y_it = Y(0)_it + tau(g, t)`` for
       ``t >= g > 0``. ``tau(g, t)`` is the true hub effect on the overall absence rate
       from ``truth.json`` (``att_overall``, phase ``Total``, averaged over the
       first-exposed-year groups of a cohort by their school counts), so effects differ by
       cohort and grow with exposure. Selection is kept through ``alpha_i`` (hub schools
       have higher absence) and parallel trends hold by construction; effects before the
       cohort year (partial exposure in the year before) are not added, so there is no
       anticipation.
    5. Years are passed as calendar years, not re-indexed: every estimator takes the last
       observed period before ``g`` as the base and event time ``e = t - g`` is the same
       in years and in period indices after treatment (2021-2024 are consecutive).

Targets (computed exactly from the replication's design)
    ``ATT`` (simple): the cohort-size weighted average of ``tau(g, t)`` over post-treatment
    cells, i.e. CS ``simple`` weights; on a balanced panel it is also the average over all
    treated school-years (imputation ``ATT``, Sun-Abraham ``ATT``), and it is the target
    against which the TWFE coefficient is judged. ``e=k``: the cohort-share weighted
    average of ``tau(g, g + k)`` over cohorts observed at ``g + k`` (CS ``dynamic``,
    Sun-Abraham's interaction weights, imputation ``e=k``, and the natural target of the
    dynamic TWFE event study). CS ``dynamic`` overall: the mean of ``e=0..2``.

Inference is each estimator's own default: CS analytic influence-function SEs (normal
intervals), TWFE/event study/Sun-Abraham CR1 by school (t intervals with ``G - 1`` df),
imputation BJS conservative SEs (normal). Coverage is the share of replications whose
reported 95% interval contains the true value.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from evaluate import did
from evaluate.data.panel import build_panel
from evaluate.synthetic import generate

__all__ = [
    "Design",
    "build_design",
    "design_from_panel",
    "draw_panel",
    "estimate_all",
    "main",
    "noise_free",
    "run_study",
    "summarise",
    "to_markdown",
    "true_targets",
]

OUTCOME = "overall_absence_rate"
SUMMARY_COLUMNS = ["estimator", "target", "true", "mean_estimate", "bias", "bias_mcse", "exact_bias", "rmse",
                   "mean_se", "empirical_sd", "coverage", "coverage_mcse", "failures"]
DEFAULT_REPS = 1000
DEFAULT_SCHOOLS = 3000
DEFAULT_SEED = 20250601
DEFAULT_DATA_SEED = 20240901
EVENT_TIMES = (0, 1, 2)


@dataclass(frozen=True)
class Design:
    """Everything fixed across replications.

    Attributes
    ----------
    school_id, cohort, phase
        One entry per school (cohort 0 = never treated).
    years
        The panel periods (calendar start years of the academic years).
    alpha, lam
        School and year effects of Y(0), aligned with ``school_id`` and ``years``.
    sigma
        Residual standard deviation of each school (by its phase).
    tau
        True effect ``tau[(g, t)]`` for every treated cohort ``g`` and period ``t >= g``.
    info
        Descriptive counts and settings (for the report).
    """

    school_id: np.ndarray
    cohort: np.ndarray
    phase: np.ndarray
    years: np.ndarray
    alpha: np.ndarray
    lam: np.ndarray
    sigma: np.ndarray
    tau: dict[tuple[int, int], float]
    info: dict


def tau_from_truth(truth: dict, programme: str = "hubs", measure: str = "att_overall") -> dict[tuple[int, int], float]:
    """True effects by cohort and year from ``truth.json`` (phase ``Total``, ``year >= cohort``).

    A cohort can contain several first-exposed-year groups; they are averaged with their
    school counts as weights.

    Parameters
    ----------
    truth
        The parsed ``truth.json``.
    programme, measure
        Which programme and which effect column.

    Returns
    -------
    dict
        ``{(cohort, year): effect}``.
    """
    rec = pd.DataFrame(truth["records"])
    rec = rec[(rec["programme"] == programme) & (rec["phase"] == "Total") & (rec["year"] >= rec["cohort"])]
    rec = rec.assign(wx=rec[measure] * rec["n_schools"])
    agg = rec.groupby(["cohort", "year"])[["wx", "n_schools"]].sum()
    return {(int(g), int(t)): float(r.wx / r.n_schools) for (g, t), r in agg.iterrows()}


def _twoway_fit(y: np.ndarray, u: np.ndarray, t: np.ndarray, n_u: int, n_t: int,
                tol: float = 1e-12, max_iter: int = 10_000) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares school and year effects by alternating projections (``lam[0] = 0``)."""
    alpha = np.zeros(n_u)
    lam = np.zeros(n_t)
    cu = np.bincount(u, minlength=n_u)
    ct = np.bincount(t, minlength=n_t)
    for _ in range(max_iter):
        alpha = np.bincount(u, weights=y - lam[t], minlength=n_u) / cu
        new = np.bincount(t, weights=y - alpha[u], minlength=n_t) / ct
        if np.max(np.abs(new - lam)) < tol:
            lam = new
            break
        lam = new
    shift = lam[0]
    return alpha + shift, lam - shift


def design_from_panel(panel: pd.DataFrame, tau: dict[tuple[int, int], float]) -> Design:
    """Build the Monte Carlo design from a school x year panel and the true effects.

    Parameters
    ----------
    panel
        ``build_panel(...).panel_year`` (columns ``school_id, year, phase,
        overall_absence_rate, hub_cohort, hub_first_exposed_year, mentor_cohort``).
    tau
        True effects ``{(cohort, year): effect}`` (see :func:`tau_from_truth`).

    Returns
    -------
    Design
    """
    p = panel[["school_id", "year", "phase", OUTCOME, "hub_cohort", "hub_first_exposed_year",
               "mentor_cohort"]].copy()
    info: dict = {"schools_in_panel": int(p["school_id"].nunique())}
    mentor = p["mentor_cohort"] != 0
    info["dropped_mentor_area_schools"] = int(p.loc[mentor, "school_id"].nunique())
    p = p.loc[~mentor]
    years = np.sort(p["year"].unique())
    outside = (p["hub_cohort"] > 0) & ~p["hub_cohort"].isin(years[1:])
    info["dropped_hub_cohort_outside_panel"] = int(p.loc[outside, "school_id"].nunique())
    p = p.loc[~outside]
    p = p.loc[p[OUTCOME].notna()]
    full = p.groupby("school_id")["year"].transform("size") == len(years)
    info["dropped_unbalanced_schools"] = int(p.loc[~full, "school_id"].nunique())
    p = p.loc[full].sort_values(["school_id", "year"]).reset_index(drop=True)
    missing = sorted({g for g in p["hub_cohort"].unique() if g > 0
                      for t in years if t >= g and (int(g), int(t)) not in tau})
    if missing:
        raise ValueError(f"truth.json has no effect for cohorts {missing}")

    schools = p.drop_duplicates("school_id")
    sid = schools["school_id"].to_numpy()
    u = np.searchsorted(sid, p["school_id"].to_numpy())
    t = np.searchsorted(years, p["year"].to_numpy())
    first_exp = p["hub_first_exposed_year"].to_numpy()
    untreated = (p["hub_cohort"].to_numpy() == 0) | (p["year"].to_numpy() < first_exp)
    y = p[OUTCOME].to_numpy(float)
    alpha, lam = _twoway_fit(y[untreated], u[untreated], t[untreated], len(sid), len(years))
    resid = y[untreated] - alpha[u[untreated]] - lam[t[untreated]]
    n0 = int(untreated.sum())
    dof = n0 / (n0 - len(sid) - len(years) + 1)
    phase_obs = p["phase"].astype(str).to_numpy()[untreated]
    sig_phase = {ph: float(np.sqrt(dof * np.mean(resid[phase_obs == ph] ** 2)))
                 for ph in np.unique(phase_obs)}
    phase = schools["phase"].astype(str).to_numpy()
    cohort = schools["hub_cohort"].to_numpy(dtype=np.int64)
    # residual lag-1 autocorrelation within school (reported: the DGP's errors are iid)
    r = pd.Series(resid, index=pd.MultiIndex.from_arrays([u[untreated], t[untreated]]))
    lagged = r.groupby(level=0).shift(1)
    ok = lagged.notna()
    info.update({
        "schools": int(len(sid)), "years": [int(v) for v in years],
        "cohort_sizes": {int(g): int(np.sum(cohort == g)) for g in np.unique(cohort)},
        "sigma_by_phase": {k: round(v, 4) for k, v in sig_phase.items()},
        "schools_by_phase": {k: int(np.sum(phase == k)) for k in np.unique(phase)},
        "untreated_obs_fitted": n0,
        "residual_lag1_autocorrelation": float(np.corrcoef(r[ok], lagged[ok])[0, 1]),
        "mean_alpha_by_cohort": {int(g): round(float(alpha[cohort == g].mean()), 3)
                                 for g in np.unique(cohort)},
    })
    cohorts = {int(g) for g in np.unique(cohort) if g > 0}
    tau_used = {k: v for k, v in tau.items() if k[0] in cohorts and k[1] in set(years.tolist())}
    return Design(sid, cohort, phase, years, alpha, lam,
                  np.array([sig_phase[ph] for ph in phase]), tau_used, info)


def build_design(n_schools: int = DEFAULT_SCHOOLS, data_seed: int = DEFAULT_DATA_SEED,
                 workdir: str | Path | None = None) -> Design:
    """Generate synthetic England, build its panel and return the Monte Carlo design.

    Parameters
    ----------
    n_schools
        Schools in the synthetic country.
    data_seed
        Seed of :func:`evaluate.synthetic.generate`.
    workdir
        Folder for the generated files (default: a temporary folder, removed afterwards).

    Returns
    -------
    Design
    """
    with tempfile.TemporaryDirectory(prefix="mc_england_") as tmp:
        out = Path(workdir) if workdir is not None else Path(tmp) / "england"
        generate(out, seed=data_seed, n_schools=n_schools)
        truth = json.loads((out / "truth.json").read_text())
        panel = build_panel(out).panel_year
    design = design_from_panel(panel, tau_from_truth(truth))
    design.info.update({"n_schools_generated": n_schools, "data_seed": data_seed})
    return design


def true_targets(design: Design, event_times: Sequence[int] = EVENT_TIMES) -> dict[str, float]:
    """True values of the targets, from the design's cohort sizes and ``tau``.

    Parameters
    ----------
    design
        The Monte Carlo design.
    event_times
        Event times ``k`` for the ``e=k`` targets.

    Returns
    -------
    dict
        ``"ATT"`` (cohort-size weighted mean of ``tau(g, t)`` over post-treatment cells =
        mean over treated school-years), ``"e=k"`` (cohort-size weighted mean of
        ``tau(g, g + k)``) and ``"dynamic"`` (mean of the ``e=k`` over ``event_times``).
    """
    sizes = {int(g): int(np.sum(design.cohort == g)) for g in np.unique(design.cohort) if g > 0}
    num = den = 0.0
    out: dict[str, float] = {}
    for (g, _t), v in design.tau.items():
        num += sizes[g] * v
        den += sizes[g]
    out["ATT"] = num / den
    for k in event_times:
        cells = [(sizes[g], v) for (g, t), v in design.tau.items() if t - g == k]
        if cells:
            out[f"e={k}"] = sum(n * v for n, v in cells) / sum(n for n, _ in cells)
    ek = [out[f"e={k}"] for k in event_times if f"e={k}" in out]
    out["dynamic"] = float(np.mean(ek))
    return out


def draw_panel(design: Design, rng: np.random.Generator) -> pd.DataFrame:
    """One replication's panel: ``school_id, year, hub_cohort, y`` (long, balanced).

    Parameters
    ----------
    design
        The Monte Carlo design.
    rng
        The replication's generator.

    Returns
    -------
    pandas.DataFrame
    """
    n, nt = len(design.school_id), len(design.years)
    eps = rng.standard_normal((n, nt)) * design.sigma[:, None]
    y = design.alpha[:, None] + design.lam[None, :] + eps
    for (g, t), v in design.tau.items():
        y[design.cohort == g, int(np.searchsorted(design.years, t))] += v
    return pd.DataFrame({"school_id": np.repeat(design.school_id, nt),
                         "year": np.tile(design.years, n),
                         "hub_cohort": np.repeat(design.cohort, nt),
                         "y": y.ravel()})


def noise_free(design: Design, event_times: Sequence[int] = EVENT_TIMES) -> pd.DataFrame:
    """Every estimator on the noise-free panel ``Y = alpha_i + lambda_t + tau(g, t)``.

    All the estimators are linear in the outcome (no covariates, weights fixed by the
    design), so these are their exact expectations under the DGP; minus the true value
    they give the exact bias, against which the Monte Carlo mean is checked.

    Parameters
    ----------
    design
        The Monte Carlo design.
    event_times
        Event times reported by the dynamic estimators.

    Returns
    -------
    pandas.DataFrame
        As :func:`estimate_all`.
    """
    quiet = dataclasses.replace(design, sigma=np.zeros_like(design.sigma))
    return estimate_all(draw_panel(quiet, np.random.default_rng(0)), event_times)


def _rows(frame: pd.DataFrame, terms: dict[str, str]) -> list[tuple[str, float, float, float, float]]:
    t = frame.set_index("term")
    out = []
    for term, target in terms.items():
        if term in t.index:
            r = t.loc[term]
            out.append((target, float(r["estimate"]), float(r["se"]), float(r["ci_low"]), float(r["ci_high"])))
        else:
            out.append((target, math.nan, math.nan, math.nan, math.nan))
    return out


def _estimators(event_times: Sequence[int]) -> dict[str, Callable[[pd.DataFrame], list[tuple]]]:
    kw = dict(outcome="y", unit="school_id", time="year", cohort="hub_cohort")
    ek = {f"e={k}": f"e={k}" for k in event_times}

    def cs(df: pd.DataFrame) -> list[tuple]:
        fit = did.callaway_santanna(df, **kw)
        simple = _rows(fit.aggregate("simple").to_frame(), {"overall": "ATT"})
        dyn = _rows(fit.aggregate("dynamic").to_frame(), {**ek, "overall": "dynamic"})
        return [("CS simple", *r) for r in simple] + [("CS dynamic", *r) for r in dyn]

    def tw(df: pd.DataFrame) -> list[tuple]:
        return [("TWFE", *r) for r in _rows(did.twfe(df, **kw).to_frame(), {"treated": "ATT"})]

    def es(df: pd.DataFrame) -> list[tuple]:
        return [("Event study (TWFE)", *r) for r in _rows(did.event_study(df, **kw).to_frame(), ek)]

    def sa(df: pd.DataFrame) -> list[tuple]:
        return [("Sun-Abraham", *r) for r in _rows(did.sun_abraham(df, **kw).to_frame(), {"ATT": "ATT", **ek})]

    def bjs(df: pd.DataFrame) -> list[tuple]:
        return [("Imputation (BJS)", *r) for r in _rows(did.imputation(df, **kw).to_frame(), {"ATT": "ATT", **ek})]

    return {"CS": cs, "TWFE": tw, "Event study": es, "Sun-Abraham": sa, "Imputation": bjs}


def estimate_all(df: pd.DataFrame, event_times: Sequence[int] = EVENT_TIMES) -> pd.DataFrame:
    """Fit every estimator to one panel.

    Parameters
    ----------
    df
        A panel from :func:`draw_panel`.
    event_times
        Event times reported by the dynamic estimators.

    Returns
    -------
    pandas.DataFrame
        ``estimator, target, estimate, se, ci_low, ci_high`` (NaN and ``error`` set when
        an estimator failed).
    """
    rows: list[dict] = []
    for name, fn in _estimators(event_times).items():
        try:
            for est, target, b, se, lo, hi in fn(df):
                rows.append(dict(estimator=est, target=target, estimate=b, se=se, ci_low=lo,
                                 ci_high=hi, error=""))
        except Exception as exc:  # recorded and counted, never silent
            rows.append(dict(estimator=name, target="", estimate=math.nan, se=math.nan,
                             ci_low=math.nan, ci_high=math.nan, error=f"{type(exc).__name__}: {exc}"))
    return pd.DataFrame(rows)


def _one_rep(args: tuple[int, Design, np.random.Generator, tuple[int, ...]]) -> pd.DataFrame:
    rep, design, rng, event_times = args
    return estimate_all(draw_panel(design, rng), event_times).assign(rep=rep)


def run_study(design: Design, reps: int, seed: int = DEFAULT_SEED, jobs: int = 1,
              event_times: Sequence[int] = EVENT_TIMES, progress: bool = False) -> pd.DataFrame:
    """Run the replications; each has its own child of ``numpy.random.default_rng(seed)``.

    The results do not depend on ``jobs``.

    Parameters
    ----------
    design
        The Monte Carlo design.
    reps
        Number of replications.
    seed
        Seed of the parent generator.
    jobs
        Worker processes (1 = in this process).
    event_times
        Event times reported by the dynamic estimators.
    progress
        Print a progress line every 10% of the replications.

    Returns
    -------
    pandas.DataFrame
        One row per replication, estimator and target (see :func:`estimate_all`).
    """
    children = np.random.default_rng(seed).spawn(reps)
    tasks = [(i, design, children[i], tuple(event_times)) for i in range(reps)]
    out: list[pd.DataFrame] = []
    step = max(1, reps // 10)
    t0 = time.perf_counter()

    def note(i: int) -> None:
        if progress and ((i + 1) % step == 0 or i + 1 == reps):
            print(f"  {i + 1}/{reps} replications, {time.perf_counter() - t0:.0f} s", file=sys.stderr)

    if jobs <= 1:
        for i, task in enumerate(tasks):
            out.append(_one_rep(task))
            note(i)
    else:
        with ProcessPoolExecutor(max_workers=jobs) as pool:
            for i, res in enumerate(pool.map(_one_rep, tasks, chunksize=max(1, reps // (20 * jobs)))):
                out.append(res)
                note(i)
    return pd.concat(out, ignore_index=True)


def summarise(results: pd.DataFrame, truth: dict[str, float],
              exact: pd.DataFrame | None = None) -> pd.DataFrame:
    """Bias, RMSE, SEs and coverage by estimator and target.

    Parameters
    ----------
    results
        From :func:`run_study`.
    truth
        From :func:`true_targets`.
    exact
        From :func:`noise_free` (optional): fills ``exact_bias``.

    Returns
    -------
    pandas.DataFrame
        Columns ``SUMMARY_COLUMNS``: ``bias_mcse`` = empirical SD / sqrt(R);
        ``coverage_mcse`` = sqrt(c (1 - c) / R); ``failures`` = replications without a
        finite estimate and SE.
    """
    ok = results[results["target"] != ""]
    exact_est = ({} if exact is None else
                 {(r.estimator, r.target): r.estimate for r in exact.itertuples(index=False)})
    order = list(dict.fromkeys(ok["estimator"]))
    rows = []
    for (est, target), g in ok.groupby(["estimator", "target"], sort=False):
        true = truth[target]
        fin = g[np.isfinite(g["estimate"]) & np.isfinite(g["se"])]
        r = len(fin)
        err = fin["estimate"] - true
        cover = float(((fin["ci_low"] <= true) & (true <= fin["ci_high"])).mean()) if r else math.nan
        sd = float(fin["estimate"].std(ddof=1)) if r > 1 else math.nan
        rows.append(dict(estimator=est, target=target, true=true, mean_estimate=float(fin["estimate"].mean()),
                         bias=float(err.mean()), bias_mcse=sd / math.sqrt(r) if r else math.nan,
                         exact_bias=float(exact_est.get((est, target), math.nan) - true),
                         rmse=float(np.sqrt(np.mean(err**2))), mean_se=float(fin["se"].mean()),
                         empirical_sd=sd, coverage=cover,
                         coverage_mcse=math.sqrt(cover * (1 - cover) / r) if r else math.nan,
                         failures=int(results["rep"].nunique() - r)))
    out = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
    out["_o"] = out["estimator"].map({e: i for i, e in enumerate(order)})
    return out.sort_values("_o", kind="stable").drop(columns="_o").reset_index(drop=True)


def to_markdown(summary: pd.DataFrame) -> str:
    """The summary as a Markdown table (effects in percentage points, coverage in percent).

    Parameters
    ----------
    summary
        From :func:`summarise`.

    Returns
    -------
    str
    """
    head = ("| estimator | target | true | mean est. | bias (MCSE) | exact bias | RMSE | mean SE "
            "| emp. SD | SE/SD | 95% coverage (MCSE) | failed |")
    lines = [head, "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in summary.itertuples(index=False):
        lines.append(
            f"| {r.estimator} | {r.target} | {r.true:.4f} | {r.mean_estimate:.4f} | "
            f"{r.bias:+.4f} ({r.bias_mcse:.4f}) | {r.exact_bias:+.4f} | {r.rmse:.4f} | {r.mean_se:.4f} | "
            f"{r.empirical_sd:.4f} | {r.mean_se / r.empirical_sd:.2f} | "
            f"{100 * r.coverage:.1f} ({100 * r.coverage_mcse:.1f}) | {r.failures} |")
    return "\n".join(lines)


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.system()} {platform.release()}, {cpu}, {os.cpu_count()} logical CPUs, "
            f"Python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}")


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: build the design, run the replications, print and write the table.

    Parameters
    ----------
    argv
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status.
    """
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=DEFAULT_REPS, help="replications (default %(default)s)")
    ap.add_argument("--schools", type=int, default=DEFAULT_SCHOOLS,
                    help="schools in the synthetic country (default %(default)s)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="Monte Carlo seed (default %(default)s)")
    ap.add_argument("--data-seed", type=int, default=DEFAULT_DATA_SEED,
                    help="seed of the synthetic country (default %(default)s)")
    ap.add_argument("--jobs", type=int, default=1, help="worker processes, at most 2 (default %(default)s)")
    ap.add_argument("--out", default="analysis/MONTE_CARLO.md", help="Markdown output (default %(default)s)")
    ap.add_argument("--raw", default=None, help="optional CSV of every replication's estimates")
    ap.add_argument("--no-write", action="store_true", help="print only")
    a = ap.parse_args(argv)
    jobs = max(1, min(2, a.jobs))
    t0 = time.perf_counter()
    design = build_design(a.schools, a.data_seed)
    t_design = time.perf_counter() - t0
    truth = true_targets(design)
    print(f"design: {json.dumps(design.info)}", file=sys.stderr)
    results = run_study(design, a.reps, a.seed, jobs=jobs, progress=True)
    runtime = time.perf_counter() - t0
    summary = summarise(results, truth, noise_free(design))
    errors = results.loc[results["error"] != "", ["estimator", "error"]].value_counts()
    table = to_markdown(summary)
    print(table)
    if len(errors):
        print("errors:\n" + errors.to_string(), file=sys.stderr)
    if a.raw:
        results.to_csv(a.raw, index=False)
    if not a.no_write:
        cmd = (f".venv/bin/python analysis/monte_carlo.py --reps {a.reps} --schools {a.schools} "
               f"--seed {a.seed} --data-seed {a.data_seed} --jobs {jobs}")
        meta = {"command": cmd, "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
                "machine": _machine(), "runtime": f"{runtime:.0f} s ({t_design:.0f} s design)",
                "design": design.info, "truth": truth, "reps": a.reps}
        out = Path(a.out)
        keep = out.read_text().split(_MARK, 1)[1] if out.exists() and _MARK in out.read_text() else "\n"
        out.write_text(_report(table, meta) + keep)
        print(f"wrote {a.out}", file=sys.stderr)
    return 0


_MARK = "<!-- interpretation (kept when the script rewrites this file) -->"


def _report(table: str, meta: dict) -> str:
    """The Markdown file up to the interpretation marker: provenance, design, the table."""
    info = meta["design"]
    truth = ", ".join(f"{k} = {v:.4f}" for k, v in meta["truth"].items())
    return f"""# Monte Carlo study of the DiD estimators

- Command: `{meta["command"]}`
- Date: {meta["date"]}
- Machine: {meta["machine"]}
- Runtime: {meta["runtime"]}
- Replications: {meta["reps"]}; 95% coverage MCSE at the nominal level
  sqrt(.95 x .05 / R) = {100 * math.sqrt(0.95 * 0.05 / meta["reps"]):.2f} points

Design: see the module docstring of `analysis/monte_carlo.py`. Outcome: overall absence
rate (%), effects in percentage points. Sample: {info["schools"]} schools x
{len(info["years"])} years {info["years"]}; cohorts (0 = never treated):
{info["cohort_sizes"]}. Dropped: {info["dropped_mentor_area_schools"]} mentor-area schools,
{info["dropped_hub_cohort_outside_panel"]} hub schools with a cohort outside the panel,
{info["dropped_unbalanced_schools"]} schools not observed in every year.
Residual SD by phase: {info["sigma_by_phase"]}. True values: {truth}.

{table}

Columns: bias = mean estimate - true value (MCSE = empirical SD / sqrt(R)); exact bias =
the estimator on the noise-free panel minus the true value (all estimators are linear in
Y, so this is the bias the Monte Carlo mean estimates); SE/SD = mean reported SE /
empirical SD; coverage = share of the estimator's own 95% intervals containing the true
value, MCSE sqrt(c (1 - c) / R).

{_MARK}"""


if __name__ == "__main__":
    raise SystemExit(main())
