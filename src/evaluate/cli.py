"""The ``evaluate`` command line: thin wrappers around the library.

Every command turns an :class:`~evaluate.errors.InputError` into one line on standard
error and exit status 2; no traceback reaches the user for bad input.
"""

from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from evaluate import __version__
from evaluate.errors import InputError

app = typer.Typer(
    help="Evaluate England's school-attendance programmes (attendance hubs, attendance mentors).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
data_app = typer.Typer(help="Make, build and check data.", no_args_is_help=True)
app.add_typer(data_app, name="data")
registers_app = typer.Typer(help="Daily register marks to school-term absence (DuckDB, or Spark).",
                            no_args_is_help=True)
app.add_typer(registers_app, name="registers")

ConfigOpt = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Run configuration (evaluation.yml). Default: ./evaluation.yml if present."),
]


def _config_path(config: Path | None) -> Path | None:
    if config is not None:
        return config
    default = Path("evaluation.yml")
    return default if default.exists() else None


@contextmanager
def _progress(enabled: bool = True):
    """A rich progress bar fed by the library's ``progress(stage, fraction)`` callbacks."""
    if not enabled or not sys.stderr.isatty():
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description:<12}"), BarColumn(), TimeElapsedColumn(),
                  transient=False) as bar:
        tasks: dict[str, int] = {}

        def update(stage: str, fraction: float) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=1.0)
            bar.update(tasks[stage], completed=min(max(fraction, 0.0), 1.0))

        yield update


def _echo(msg: str) -> None:
    typer.echo(msg, err=True)


@app.callback(invoke_without_command=True)
def _root(
    version: Annotated[bool, typer.Option("--version", help="Show the version and exit.")] = False,
) -> None:
    if version:
        typer.echo(f"attendance-evaluation {__version__}")
        raise typer.Exit()


@app.command()
def run(
    config: ConfigOpt = None,
    until: Annotated[str | None, typer.Option(help="Stop after this stage (data, panel, match, estimates).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Rerun every stage, ignoring the cache.")] = False,
) -> None:
    """Run every stage from evaluation.yml: data, panel, estimates; results to OUTPUT."""
    from evaluate import pipeline
    from evaluate.config import load_config

    path = _config_path(config)
    cfg = load_config(path)
    with _progress() as progress:
        summary = pipeline.run(cfg, config_path=path, until=until, force=force, progress=progress)
    for st in summary.stages:
        _echo(f"{st.stage:<8} {st.status}")
    _echo(f"published outputs in {cfg.output_dir}; working files in {cfg.working_dir}")


@app.command()
def match(
    config: ConfigOpt = None,
    force: Annotated[bool, typer.Option("--force", help="Rerun the matching even when nothing changed.")] = False,
) -> None:
    """Match each programme's cohorts on their pre-period; write the matched sample, weights and balance.

    Runs the data and panel stages first if needed (cached), then the match stage, which
    writes WORKING/matching/<programme>_matched.csv (sample and weights),
    WORKING/matching/<programme>_units.csv (every candidate, with the reason it was left out)
    and OUTPUT/results/matching_<programme>.json (counts, balance tables, matched DiD).
    """
    from evaluate import pipeline
    from evaluate.config import load_config

    path = _config_path(config)
    cfg = load_config(path)
    with _progress() as progress:
        before = pipeline.run(cfg, config_path=path, until="panel", force=False, progress=progress)
        stages = (*before.stages, pipeline.stage_match(cfg, force=force, progress=progress))
    for st in stages:
        _echo(f"{st.stage:<8} {st.status}")
    for p in cfg.matching.programmes:
        res = cfg.output_dir / "results" / f"matching_{p}.json"
        if res.exists():
            _echo(f"{p}: {res}")


@app.command()
def validate(
    config: ConfigOpt = None,
    worlds: Annotated[str, typer.Option(help="Comma-separated worlds: default, null, trend, parallel, homogeneous.")]
    = "default,null,trend,parallel",
    replications: Annotated[int, typer.Option("--replications", "-r", min=1, help="Seeds per world.")] = 100,
    schools: Annotated[int, typer.Option(min=200, help="Schools in each synthetic country.")] = 3000,
    seed: Annotated[int, typer.Option(help="Seed of the SeedSequence the runs' seeds come from.")] = 20261203,
    jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Replications run in parallel.")] = 2,
    robustness: Annotated[bool, typer.Option("--robustness", help="Also run HonestDiD and the placebos (slower).")]
    = False,
    fresh: Annotated[bool, typer.Option("--fresh", help="Ignore the replications a previous run already finished.")]
    = False,
) -> None:
    """Run the whole pipeline on worlds whose answer is known and check every headline against it.

    Writes OUTPUT/results/validation.json (bias, RMSE, coverage, rejection rates, whether the
    key-finding sentences are right, the targets met or missed, every run); render it with
    evaluate report --validation. Finished replications are kept in
    WORKING/validation/replications.jsonl: an interrupted run resumes where it stopped
    (same design, size and code), unless --fresh.
    """
    import shlex

    from evaluate.config import load_config
    from evaluate.pipeline import publish
    from evaluate.validation.summary import validate as run_validation

    path = _config_path(config)
    cfg = load_config(path)
    names = [w.strip() for w in worlds.split(",") if w.strip()]
    command = "evaluate validate " + shlex.join(sys.argv[2:]) if len(sys.argv) > 2 else "evaluate validate"
    with _progress() as bar:
        result = run_validation(cfg, worlds=names, replications=replications, schools=schools, seed=seed,
                                jobs=jobs, robustness=robustness, command=command,
                                checkpoint=None if fresh else cfg.working_dir / "validation" / "replications.jsonl",
                                progress=(lambda d, n: bar("validate", d / n)) if bar else None)
    target = publish(cfg, result, cfg.output_dir / "results" / "validation.json")
    for c in result["checks"]:
        mark = {True: "met   ", False: "MISSED", None: "n/a   "}[c["met"]]
        value = "" if c["value"] is None else f"{c['value']:.3f}"
        _echo(f"{mark} {c['world']:<9} {c['programme']:<8} {c['outcome']:<21} {c['target']}: {value}")
    if result["failures"]:
        _echo(f"{len(result['failures'])} replication(s) failed; see 'failures' in {target}")
    _echo(f"wrote {target} ({result['timing']['seconds']:.0f} s)")


@app.command()
def report(
    config: ConfigOpt = None,
    fmt: Annotated[list[str] | None, typer.Option("--format", "-f", help="html and/or pdf (default both).")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Comma-separated formats, e.g. html,pdf (as --format).")] = None,
    engine: Annotated[str, typer.Option(help="auto (quarto if on PATH, else the Jupyter+pandoc bridge), quarto or bridge.")] = "auto",
    force: Annotated[bool, typer.Option("--force", help="Render even when nothing changed.")] = False,
    guide: Annotated[bool, typer.Option("--guide", help="Render the researcher's guide (docs/guide) to OUTPUT/guide instead.")] = False,
    validation: Annotated[bool, typer.Option("--validation", help="Also render the known-truth validation report "
                                             "(needs evaluate validate first).")] = False,
) -> None:
    """Render every report named in evaluation.yml to OUTPUT/reports (HTML and PDF); --guide renders the guide."""
    from evaluate import pipeline
    from evaluate.config import load_config

    cfg = load_config(_config_path(config))
    if guide:
        from evaluate.guide import render_guide

        chosen = list(fmt or []) + [f.strip() for f in (to or "").split(",") if f.strip()]
        # the guide's example run is working data: it lives in the working area, not beside the guide
        for path in render_guide(cfg.output_dir / "guide", formats=tuple(chosen) or ("html",), engine=engine,
                                 run_dir=cfg.working_dir / "guide-example-run"):
            _echo(f"guide {path.name}")
        return
    chosen = list(fmt or []) + [f.strip() for f in (to or "").split(",") if f.strip()]
    bad = [f for f in chosen if f not in ("html", "pdf")]
    if bad:
        raise InputError(f"unknown format '{bad[0]}'; choose html and/or pdf", column="--to")
    formats = tuple(dict.fromkeys(chosen)) if chosen else ("html", "pdf")
    for st in pipeline.render_reports(cfg, formats=formats, engine=engine, force=force, validation=validation):
        _echo(f"{st.stage:<24} {st.status}: {', '.join(p.name for p in st.outputs)}")


@app.command()
def accessibility(
    config: ConfigOpt = None,
    guide: Annotated[Path | None, typer.Option("--guide", help="Also check the rendered guide in this folder (default: OUTPUT/guide if there).")] = None,
) -> None:
    """Check the rendered HTML reports (and the guide) in headless Chromium with axe-core; write OUTPUT/results/accessibility.json.

    Exit status 1 when a page misses a target (a violation, a chart without alt text or data
    table, focus out of reading order), 2 when the check cannot run (no Chromium or Node).
    """
    from evaluate.config import load_config
    from evaluate.report import accessibility as a11y

    cfg = load_config(_config_path(config))
    guide_dir = guide if guide is not None else (cfg.output_dir / "guide" if (cfg.output_dir / "guide").is_dir() else None)
    pages = a11y.report_pages(cfg.output_dir, guide=guide_dir)
    if not pages:
        raise InputError("no rendered HTML report: run `evaluate report` first", file=str(cfg.output_dir / "reports"))
    results = a11y.check_pages(pages)
    path = a11y.write_results(results, cfg.output_dir)
    found = a11y.problems(results)
    for line in found:
        _echo(line)
    _echo(f"{len(pages)} pages checked, {len(found)} problems; wrote {path}")
    if found:
        raise typer.Exit(1)


METHODS = ("cs", "twfe", "event-study", "sun-abraham", "imputation")


def _read_table(path: Path):
    """Read CSV or Parquet DATA for ``evaluate estimate``; InputError when it cannot."""
    import pandas as pd

    if not path.exists():
        raise InputError("file not found", file=str(path))
    suffix = "".join(path.suffixes[-2:]).lower()
    try:
        if suffix.endswith((".parquet", ".pq")):
            return pd.read_parquet(path)
        if suffix.endswith((".csv", ".csv.gz")):
            # only empty cells are missing: "n/a", "NA" or "-" in a number column are errors
            return pd.read_csv(path, low_memory=False, keep_default_na=False, na_values=[""])
    except UnicodeDecodeError as exc:
        raise InputError(f"not UTF-8 text (byte {exc.start})", file=str(path)) from None
    except (ValueError, OSError, pd.errors.ParserError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(f"could not be read: {first}", file=str(path)) from None
    raise InputError("DATA must be a .csv, .csv.gz or .parquet file", file=str(path))


def _leads_available(frame, time: str, cohort: str, most: int = 3) -> int:
    """Leads testable in every data set: periods before the latest cohort, at most ``most``."""
    import pandas as pd

    t = pd.to_numeric(frame[time], errors="coerce") if time in frame else None
    g = pd.to_numeric(frame[cohort], errors="coerce") if cohort in frame else None
    if t is None or g is None or not (g > 0).any():
        return 0
    return int(max(0, min(most, g[g > 0].max() - t.min() - 1)))


@app.command()
def estimate(
    data: Annotated[Path, typer.Argument(help="CSV or Parquet, one row per unit and period.")],
    outcome: Annotated[str, typer.Option(help="Outcome column.")],
    unit: Annotated[str, typer.Option(help="Unit id column.")],
    time: Annotated[str, typer.Option(help="Period column (integers).")],
    cohort: Annotated[str, typer.Option(help="First treated period; 0 or empty = never treated.")],
    covariates: Annotated[str, typer.Option(help="Comma-separated covariate columns.")] = "",
    method: Annotated[str, typer.Option(help="cs | twfe | event-study | sun-abraham | imputation.")] = "cs",
    control: Annotated[str, typer.Option(help="never | not-yet (cs, event-study).")] = "never",
    estimator: Annotated[str, typer.Option(help="dr | ipw | reg (cs); also dr_imp (DRDID's improved DR).")] = "dr",
    base_period: Annotated[str, typer.Option("--base-period", help="varying | universal (cs).")] = "varying",
    anticipation: Annotated[int, typer.Option(help="Periods of anticipation (cs).")] = 0,
    weights: Annotated[str | None, typer.Option(help="Sampling-weight column.")] = None,
    cluster: Annotated[str | None, typer.Option(help="Cluster column (a level at or above the unit).")] = None,
    bootstrap: Annotated[int, typer.Option(help="Multiplier-bootstrap draws (cs); 0 = analytic SEs.")] = 0,
    seed: Annotated[int | None, typer.Option(help="Seed of the bootstrap.")] = None,
    json_out: Annotated[Path | None, typer.Option("--json", help="Write the results as JSON here.")] = None,
) -> None:
    """Estimate a difference-in-differences model on DATA; a table to stdout, JSON with --json."""
    from evaluate import did
    from evaluate.did import export
    from evaluate.io import write_json

    if method not in METHODS:
        raise InputError(f"unknown method '{method}'; choose one of {', '.join(METHODS)}", column="--method")
    if control not in ("never", "not-yet"):
        raise InputError(f"unknown control group '{control}'; choose never or not-yet", column="--control")
    if estimator not in ("dr", "ipw", "reg", "dr_imp"):
        raise InputError(f"unknown estimator '{estimator}'; choose dr, ipw, reg or dr_imp", column="--estimator")
    if base_period not in ("varying", "universal"):
        raise InputError(f"unknown base period '{base_period}'; choose varying or universal", column="--base-period")
    if bootstrap < 0:
        raise InputError("--bootstrap must be 0 or more", column="--bootstrap")
    if bootstrap > 0 and method != "cs":
        raise InputError("--bootstrap applies to --method cs only (the multiplier bootstrap)", column="--bootstrap")
    frame = _read_table(data)
    covs = tuple(c.strip() for c in covariates.split(",") if c.strip())
    common = {"outcome": outcome, "unit": unit, "time": time, "cohort": cohort, "covariates": covs,
              "weights": weights, "cluster": cluster}
    ctrl = "not_yet" if control == "not-yet" else "never"
    try:
        if method == "cs":
            result = did.callaway_santanna(frame, **common, control=ctrl, estimator=estimator,
                                           base_period=base_period, anticipation=anticipation,
                                           bootstrap=bootstrap, seed=seed)
            payload = export.cs_json(result)
        elif method == "twfe":
            result = did.twfe(frame, **common)
            payload = export.twfe_json(result)
        elif method == "event-study":
            result = did.event_study(frame, **common, control=ctrl)
            payload = export.event_json(result, method)
        elif method == "sun-abraham":
            result = did.sun_abraham(frame, **common)
            payload = export.event_json(result, method)
        else:
            # the BJS pre-trend test on up to three leads, as far as the data allow
            result = did.imputation(frame, **common, pretrends=_leads_available(frame, time, cohort))
            payload = export.event_json(result, method)
    except InputError as exc:
        if exc.file is None:
            exc.file = str(data)
        raise
    typer.echo(result.summary())
    if method == "cs":
        for kind in ("simple", "group", "dynamic", "calendar"):
            typer.echo("")
            typer.echo(result.aggregate(kind).summary())
    if json_out is not None:
        write_json(payload, json_out)
        _echo(f"wrote {json_out}")


@data_app.command("synth")
def data_synth(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write the synthetic country to.")],
    seed: Annotated[int, typer.Option(help="Random seed: same seed, byte-identical files.")] = 20240901,
    schools: Annotated[int | None, typer.Option(help="Number of schools (default: the full country, ~21,500).")] = None,
    effect_scale: Annotated[float, typer.Option(
        "--effect-scale", min=0, help="Multiply every programme effect (0: the null world).")] = 1.0,
    selection_scale: Annotated[float, typer.Option(
        "--selection-scale", min=0, help="Multiply hub selection on prior absence, FSM, priority area, region.")] = 1.0,
    unobserved_trend: Annotated[float, typer.Option(
        "--unobserved-trend", help="Programme schools' unexplained fall in absence, points a year.")] = 0.0,
    heterogeneity: Annotated[bool, typer.Option(
        "--heterogeneity/--no-heterogeneity", help="Effects vary by wave, phase and exposure (default) or not.")] = True,
) -> None:
    """Generate synthetic England in DfE's formats (absence, GIAS, programmes, truth).

    The world options make worlds with a known answer (evaluate validate runs over them);
    the defaults give the default world.
    """
    from evaluate import synthetic
    from evaluate.synthetic.scenario import Scenario

    scenario = Scenario(effect_scale=effect_scale, selection_scale=selection_scale,
                        unobserved_trend=unobserved_trend, heterogeneity=heterogeneity)
    with _progress() as progress:
        manifest = synthetic.generate(out, seed=seed, n_schools=schools, scenario=scenario, progress=progress)
    _echo(f"wrote {len(manifest.get('files', {}))} files to {out} (world: {scenario.name})")


@data_app.command("build")
def data_build(config: ConfigOpt = None,
               force: Annotated[bool, typer.Option("--force", help="Ignore the cache.")] = False) -> None:
    """Build the analysis panel and attrition log from evaluation.yml (stages data and panel)."""
    run(config=config, until="panel", force=force)


@data_app.command("fetch")
def data_fetch(
    config: ConfigOpt = None,
    allow_unverified: Annotated[bool, typer.Option(
        "--allow-unverified", help="Accept sources without a sha256 (the checksum is computed and shown).")] = False,
    refresh: Annotated[bool, typer.Option(
        "--refresh", help="Ask the server again even for verified cached files (kept unless the new file verifies).")] = False,
) -> None:
    """Download the files named under fetch.sources of evaluation.yml into data/la/.

    Each file is downloaded once (a verified copy in the cache is reused), with retries
    and resumed bodies, and checked against its sha256 before it is used; a mismatch is
    refused and a good cached copy kept. One line per source says what happened. Needs
    internet; nothing else in the package does.
    """
    from evaluate.config import load_config
    from evaluate.data.fetch import fetch, sources_from_config

    path = _config_path(config)
    cfg = load_config(path)
    if not cfg.fetch.sources:
        raise InputError("no sources to fetch: list them under fetch.sources in the configuration",
                         file=str(path) if path else None, column="fetch.sources")
    sources = sources_from_config([s.model_dump(exclude_none=True) for s in cfg.fetch.sources])
    folder = cfg.resolve(Path("data"), setting="data", mode="write")
    fetch(sources, folder, cache="la", retries=cfg.fetch.retries, backoff=cfg.fetch.backoff,
          timeout=cfg.fetch.timeout, allow_unverified=allow_unverified or cfg.fetch.allow_unverified,
          refresh=refresh, on_result=lambda r: typer.echo(r.line()))


@registers_app.command("build")
def registers_build(
    marks: Annotated[Path, typer.Argument(help="Register marks: a Parquet or CSV file, a (partitioned) folder or a glob.")],
    data: Annotated[Path, typer.Option("--data", help="Data folder: writes absence/school_absence_registers.csv there.")],
    engine: Annotated[str, typer.Option(help="duckdb (embedded) or pyspark (local Spark).")] = "duckdb",
    memory_limit: Annotated[str, typer.Option("--memory-limit", help="DuckDB memory before spilling to disk.")] = "4GB",
    threads: Annotated[int, typer.Option(help="Worker threads.")] = 2,
    duplicates: Annotated[str, typer.Option(help="error: stop if marks repeat a pupil, school, date and "
                                            "session (the default); skip: do not check (faster).")] = "error",
) -> None:
    """Turn register marks into the school x term absence file the panel reads.

    The file holds school-level counts derived from pupil data, unsuppressed: keep it in the
    data folder (git-ignored). Pupil-level rows are never written. Unknown and malformed
    codes are counted and shown with examples.
    """
    from evaluate.registers import read_marks, register_measures
    from evaluate.registers.schools import gias_school_details

    if engine not in ("duckdb", "pyspark"):
        raise InputError(f"unknown engine '{engine}'; choose duckdb or pyspark", column="--engine")
    table = read_marks(marks, engine=engine, memory_limit=memory_limit, threads=threads)
    try:
        res = register_measures(table, duplicates=duplicates)
    except InputError as err:
        if err.file is not None:
            raise
        raise InputError(err.message, file=str(marks), column=err.column, row=err.row) from None
    gias = data / "gias" / "edubasealldata.csv"
    schools = gias_school_details(gias) if gias.exists() else None
    path = res.write_ees(data / "absence" / "school_absence_registers.csv", schools=schools)
    typer.echo(res.summary())
    _echo(f"wrote {path}" + ("" if schools is not None else f" (no {gias}: schools have no LA or phase)"))


@registers_app.command("synth")
def registers_synth(
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder for the Parquet parts of the marks.")],
    seed: Annotated[int, typer.Option(help="Seed of synthetic England (same schools and pupils).")] = 20240901,
    schools: Annotated[int | None, typer.Option(help="Number of schools (default: the full country).")] = None,
    max_marks: Annotated[int | None, typer.Option("--max-marks", help="Stop after this many marks.")] = None,
) -> None:
    """Write synthetic register marks for synthetic England, streamed in Parquet parts."""
    from evaluate.synthetic.registers import write_registers

    info = write_registers(out, seed=seed, n_schools=schools, max_marks=max_marks)
    _echo(f"wrote {info.get('marks', 0):,} marks to {out}")


@data_app.command("check")
def data_check(
    files: Annotated[list[Path], typer.Argument(help="EES, GIAS, programme or register-marks CSV files to validate and summarise.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the summaries as JSON.")] = False,
) -> None:
    """Validate and summarise input files against the invariants of their format.

    Every breach (a duplicated key, a negative count, absences above possible sessions, a
    rate outside 0-100, a date outside the academic year, an unknown code, a name that
    disagrees with its code, ...) is listed with its file, column and row. Exit status: 0
    when every file is clean, 1 when a file has problems (listed), 2 when a file cannot be
    read at all (one line naming the file, column and row; the other files are still
    checked).
    """
    from evaluate.check import check_file

    summaries, unreadable = [], 0
    for f in files:
        try:
            summaries.append(check_file(f))
        except InputError as exc:
            if exc.file is None:
                exc.file = str(f)
            _echo(f"error: {exc}")
            unreadable += 1
    if as_json:
        typer.echo(json.dumps(summaries, indent=2, default=str))
    else:
        for s in summaries:
            typer.echo(_format_summary(s))
    if unreadable:
        raise typer.Exit(2)
    if any(s.get("problems") for s in summaries):
        raise typer.Exit(1)


def _format_summary(summary: dict, *, max_problems: int = 10) -> str:
    lines = [str(summary.get("file", ""))]
    for key, value in summary.items():
        if key in ("file", "problems"):
            continue
        if isinstance(value, list) and len(value) > max_problems:
            value = [*value[:max_problems], f"... and {len(value) - max_problems} more (--json lists all)"]
            lines.append(f"  {key}:")
            lines += [f"    - {v}" for v in value]
            continue
        lines.append(f"  {key}: {value}")
    problems = summary.get("problems") or []
    lines.append(f"  problems: {len(problems)}")
    lines += [f"    - {p}" for p in problems[:max_problems]]
    if len(problems) > max_problems:
        lines.append(f"    ... and {len(problems) - max_problems} more (--json lists all)")
    return "\n".join(lines)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Show a warning as one line on standard error (``warning: ...``), without source lines."""
    _echo(f"warning: {message}")


def main() -> None:
    """Console entry point: run the app, turning input errors into one line and warnings into one line each."""
    import warnings

    warnings.showwarning = _one_line_warning
    try:
        app()
    except InputError as exc:
        _echo(f"error: {exc}")
        sys.exit(2)
    except KeyboardInterrupt:
        _echo("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
