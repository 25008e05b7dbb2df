"""The stages of ``evaluate run``: data -> panel -> (estimates) -> results JSON.

Each stage reads only the outputs of the stage before it and is skipped when the hash
of its inputs and settings matches the record of its last run (``WORKING/.stages``), so
a second ``make report`` with nothing changed is quick. ``force=True`` reruns all.

Two output areas (:mod:`evaluate.disclosure.publish`): the working area (``working:``,
default ``work/``) holds the panel, the matched samples and the stage records; the
publication area (``output:``) holds only what passed disclosure control: every results
JSON is written by :func:`publish`, and the reports read nothing else.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from evaluate.config import Config
from evaluate.errors import InputError
from evaluate.io import atomic_path, sha256_file, write_json

Progress = Callable[[str, float], None]


def publish(cfg: Config, obj: object, path: Path) -> Path:
    """Write a results JSON into the publication area through disclosure control."""
    from evaluate.disclosure import publish_json

    return publish_json(obj, path, area=cfg.output_dir, rules=cfg.disclosure.rules())


def publish_programme(cfg: Config, programme: str, res: dict, rob: dict | None) -> None:
    """Publish a programme's results (``results/<p>.json``) and, when given, its robustness
    (``results/<p>_robustness.json``) through :func:`publish`: what the estimates stage writes."""
    results = cfg.output_dir / "results"
    publish(cfg, res, results / f"{programme}.json")
    if rob is not None:
        publish(cfg, rob, results / f"{programme}_robustness.json")
STAGES: tuple[str, ...] = ("data", "panel", "match", "estimates", "areas")

#: The cohort column of each programme in the panel.
from evaluate.design import PROGRAMME_COHORT  # noqa: E402,F401 - re-exported


@dataclass(frozen=True)
class StageOutcome:
    """What one stage did: ``ran`` or ``cached``, and the files it wrote."""

    stage: str
    status: str
    outputs: tuple[Path, ...] = ()


@dataclass(frozen=True)
class RunSummary:
    """Outcome of every stage of a run, in order."""

    stages: tuple[StageOutcome, ...] = field(default_factory=tuple)


def _key(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _cached(record: Path, key: str, outputs: list[Path]) -> bool:
    if not record.exists() or not all(p.exists() for p in outputs):
        return False
    try:
        return json.loads(record.read_text(encoding="utf-8")).get("key") == key
    except (OSError, ValueError):
        return False


def _data_files(data_dir: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of every input file in the data folder."""
    files = {}
    for path in sorted(data_dir.rglob("*")):
        if path.is_file() and path.suffix in {".csv", ".gz", ".json"} and not path.name.startswith("truth"):
            files[path.relative_to(data_dir).as_posix()] = sha256_file(path)
    return files


def stage_data(cfg: Config, *, force: bool = False, progress: Progress | None = None) -> StageOutcome:
    """Make sure the data folder exists: generate synthetic England when configured."""
    data_dir = cfg.data_dir
    if cfg.data.source == "folder":
        if not data_dir.is_dir():
            raise InputError("the data folder does not exist", file=str(data_dir), column="data.dir")
        return StageOutcome("data", "checked")
    from evaluate import synthetic

    manifest = data_dir / "manifest.json"
    if manifest.exists() and not force:
        try:
            m = json.loads(manifest.read_text(encoding="utf-8"))
        except ValueError:
            m = {}
        record = data_dir / ".generator-code"
        same = (
            m.get("seed") == cfg.seed
            and m.get("n_schools_requested") == cfg.data.synthetic.schools
            and m.get("scenario") == cfg.data.synthetic.scenario().to_dict()
            and m.get("generator_version") == synthetic.GENERATOR_VERSION
            and record.exists() and record.read_text(encoding="utf-8") == _code_hash("synthetic")
        )
        files_ok = all((data_dir / f).exists() for f in m.get("files", {}))
        if same and files_ok:
            return StageOutcome("data", "cached", (manifest,))
    if data_dir.exists():
        shutil.rmtree(data_dir)
    synthetic.generate(data_dir, seed=cfg.seed, n_schools=cfg.data.synthetic.schools,
                       scenario=cfg.data.synthetic.scenario(), progress=progress)
    (data_dir / ".generator-code").write_text(_code_hash("synthetic"), encoding="utf-8")
    return StageOutcome("data", "ran", (manifest,))


def stage_panel(cfg: Config, *, force: bool = False, progress: Progress | None = None) -> StageOutcome:
    """Build the analysis panel, the attrition log and the data-quality results."""
    from evaluate.data.panel import build_panel, write_panel
    from evaluate.data.quality import data_quality

    out, work = cfg.output_dir, cfg.working_dir
    panel_dir = work / "panel"
    dq_path = out / "results" / "data_quality.json"
    outputs = [panel_dir / "panel_year.parquet", panel_dir / "panel_term.parquet",
               panel_dir / "attrition.csv", dq_path]
    settings = {
        "panel": cfg.panel.model_dump(mode="json"),
        "mentors": cfg.programmes.mentors.model_dump(mode="json"),
        "disclosure": cfg.disclosure.model_dump(mode="json"),
        "inputs": _data_files(cfg.data_dir),
        "version": _package_version(),
    }
    key = _key(settings)
    record = work / ".stages" / "panel.json"
    if not force and _cached(record, key, outputs):
        return StageOutcome("panel", "cached", tuple(outputs))
    if progress:
        progress("panel", 0.0)
    build = build_panel(
        cfg.data_dir,
        partial_areas=cfg.programmes.mentors.partial_areas,
        mentor_start=cfg.programmes.mentors.start,
        cohort_rule=cfg.panel.cohort_rule,
    )
    if progress:
        progress("panel", 0.7)
    write_panel(build, panel_dir)
    publish(cfg, data_quality(build, cfg.data_dir, rules=cfg.disclosure.rules()), dq_path)
    write_json({"key": key, "settings": settings}, record)
    if progress:
        progress("panel", 1.0)
    return StageOutcome("panel", "ran", tuple(outputs))


def stage_match(cfg: Config, *, force: bool = False, progress: Progress | None = None) -> StageOutcome:
    """Match each programme's cohorts, estimate the matched DiD per outcome, write balance and counts.

    Writes, per programme, ``WORKING/matching/<programme>/`` (the matching itself, which the
    estimates stage reads back), ``WORKING/matching/<programme>_matched.csv`` (the stacked matched
    sample: cohort, school, treated, weight), ``WORKING/matching/<programme>_units.csv`` (every
    candidate of every cohort with its score, weight and the reason it was left out) and
    ``OUTPUT/results/matching_<programme>.json`` (settings, counts, balance tables, matched
    and unmatched Callaway-Sant'Anna estimates per outcome).
    """
    import pandas as pd

    from evaluate.matching import matched_did

    out, work = cfg.output_dir, cfg.working_dir
    m = cfg.matching
    panel_path = work / "panel" / "panel_year.parquet"
    if not m.enabled:
        return StageOutcome("match", "skipped")
    if not panel_path.exists():
        raise InputError("no panel yet: run the panel stage first", file=str(panel_path))
    programmes = [p for p in m.programmes if getattr(cfg.programmes, p).enabled]
    outputs = []
    for p in programmes:
        outputs += [work / "matching" / f"{p}_matched.csv", work / "matching" / f"{p}_units.csv",
                    work / "matching" / p / "matching.json", out / "results" / f"matching_{p}.json"]
    key = _match_key(cfg, panel_path)
    settings = {"matching": m.model_dump(mode="json"), "design": cfg.design.model_dump(mode="json"),
                "outcomes": list(cfg.outcomes), "seed": cfg.seed}
    record = work / ".stages" / "match.json"
    if not force and _cached(record, key, outputs):
        return StageOutcome("match", "cached", tuple(outputs))
    from evaluate.design import Design

    panel = estimation_panel(pd.read_parquet(panel_path))
    source = str(panel_path)
    for i, p in enumerate(programmes):
        if progress:
            progress("match", i / max(1, len(programmes)))
        design = Design.from_config(cfg, p, panel)
        cm = design.match(panel, source=source)
        cm.save(work / "matching" / p)  # the estimates stage reads this very sample
        estimates = {}
        for y in cfg.outcomes:
            res = matched_did(design.sample(panel), outcome=y, unit=design.unit, time=design.time,
                              cohort=design.cohort, matching=cm, estimator=design.estimator,
                              cluster=design.cluster, anticipation=design.anticipation)
            estimates[y] = {k: v for k, v in res.to_dict().items() if k != "matching"}
        (work / "matching").mkdir(parents=True, exist_ok=True)
        with atomic_path(work / "matching" / f"{p}_matched.csv") as tmp:
            cm.stacked().rename(columns={"stack": "cohort"}).to_csv(tmp, index=False)
        units = pd.concat([mr.units.assign(cohort=g) for g, mr in sorted(cm.matches.items())], ignore_index=True)
        with atomic_path(work / "matching" / f"{p}_units.csv") as tmp:
            units.rename(columns={"unit": "school_id"}).to_csv(tmp, index=False)
        publish(cfg, {"programme": p, "cohort_column": design.cohort, "design": design.to_dict(), **cm.to_dict(),
                      "estimates": estimates}, out / "results" / f"matching_{p}.json")
    write_json({"key": key, "settings": settings}, record)
    if progress:
        progress("match", 1.0)
    return StageOutcome("match", "ran", tuple(outputs))


def _match_key(cfg: Config, panel_path: Path) -> str:
    """The key of the match stage: its settings, the panel and the code (shared with the estimates stage)."""
    return _key({"matching": cfg.matching.model_dump(mode="json"), "design": cfg.design.model_dump(mode="json"),
                 "outcomes": list(cfg.outcomes), "seed": cfg.seed, "panel": sha256_file(panel_path),
                 "version": _package_version()})


def saved_matching(cfg: Config, programme: str):
    """The matching the match stage saved for ``programme``, if it is current (same key), else ``None``."""
    from evaluate.matching import CohortMatching

    work = cfg.working_dir
    folder = work / "matching" / programme / "matching.json"
    record = work / ".stages" / "match.json"
    panel_path = work / "panel" / "panel_year.parquet"
    if not folder.exists() or not record.exists() or not panel_path.exists():
        return None
    try:
        if json.loads(record.read_text(encoding="utf-8")).get("key") != _match_key(cfg, panel_path):
            return None
    except (OSError, ValueError):
        return None
    return CohortMatching.load(folder.parent)


def _cohort_matching(cfg: Config, panel, programme: str, *, source: str | None = None):
    """The configured cohort matching of one programme (deterministic: the same in every stage)."""
    from evaluate.design import Design

    return Design.from_config(cfg, programme, panel).match(panel, source=source)


def programme_timing(cfg: Config, panel, programme: str) -> dict:
    """The anticipation years and partly exposed comparison schools (:func:`evaluate.design.timing_of`)."""
    from evaluate.design import timing_of

    return timing_of(panel, programme, anticipation=cfg.design.anticipation, partly_exposed=cfg.design.partly_exposed,
                     other_programme=cfg.design.other_programme)


def programme_cluster(cfg: Config, programme: str) -> str:
    """The cluster of a programme's standard errors.

    Hubs: schools joined one by one (a school applied and was placed in a hub), so the unit
    of assignment is the school; matched without replacement, the cluster is the matched set
    (``match_pair``: a hub school and its comparison schools, Abadie and Spiess 2022), which
    also carries the correlation matching creates; unmatched, the school. Mentors: whole
    local authorities were assigned, so the cluster is the LA (``la_code``). ``matching.cluster``
    in ``evaluation.yml`` overrides it for the matched programmes (``hub_cluster``: by hub, for
    inference to a wider population of hubs).
    """
    from evaluate.design import _cluster

    return _cluster(cfg, programme)


def stage_estimates(cfg: Config, *, force: bool = False, progress: Progress | None = None) -> StageOutcome:
    """Every estimate the programme reports show: ``OUTPUT/results/<programme>.json``.

    Hubs are estimated against their matched comparison schools when matching is on for
    them, otherwise (and for mentors by default) against all never-treated schools, with
    standard errors clustered by local authority for mentors (areas were treated whole).
    """
    import pandas as pd

    out, work = cfg.output_dir, cfg.working_dir
    panel_path = work / "panel" / "panel_year.parquet"
    if not panel_path.exists():
        raise InputError("no panel yet: run the panel stage first", file=str(panel_path))
    programmes = [p for p in ("hubs", "mentors") if getattr(cfg.programmes, p).enabled]
    outputs = [out / "results" / f"{p}{suffix}.json" for p in programmes for suffix in ("", "_robustness")]
    settings = {"matching": cfg.matching.model_dump(mode="json"), "outcomes": list(cfg.outcomes),
                "value": cfg.value.model_dump(mode="json"),
                "disclosure": cfg.disclosure.model_dump(mode="json"),
                "seed": cfg.seed, "panel": sha256_file(panel_path), "version": _package_version(),
                "synthetic": cfg.data.source == "synthetic"}
    key = _key(settings)
    record = work / ".stages" / "estimates.json"
    if not force and _cached(record, key, outputs):
        return StageOutcome("estimates", "cached", tuple(outputs))
    from evaluate.findings.records import load_findings, write_schemas

    panel = estimation_panel(pd.read_parquet(panel_path))
    write_schemas(work / "schema")
    for path in sorted((work / "schema").glob("*.schema.json")):
        publish(cfg, json.loads(path.read_text(encoding="utf-8")), out / "results" / "schema" / path.name)
    for i, p in enumerate(programmes):
        if progress:
            progress("estimates", i / max(1, len(programmes)))
        res, rob = estimate_programme(cfg, panel, p, source=str(panel_path))
        load_findings(res)  # the findings contract (evaluate.findings.records): refuse a malformed result
        publish_programme(cfg, p, res, rob)
    write_json({"key": key, "settings": settings}, record)
    if progress:
        progress("estimates", 1.0)
    return StageOutcome("estimates", "ran", tuple(outputs))


def estimation_panel(panel):
    """The school-year panel as the estimates read it: with ``hub_cluster``.

    Hub schools are clustered by hub (effects vary by hub: analysis/ROBUSTNESS_SIMULATION.md),
    every other school is its own cluster.
    """
    panel = panel.copy()
    panel["hub_cluster"] = panel["hub_id"].where(panel["hub_id"].notna() & (panel["hub_id"] != ""),
                                                 "school " + panel["school_id"].astype(str))
    return panel


def estimate_programme(cfg: Config, panel, programme: str, *, source: str | None = None,
                       robustness: bool = True, fits: dict | None = None,
                       use_saved: bool = True) -> tuple[dict, dict | None]:
    """The findings (and robustness checks) of one programme, as the estimates stage publishes them.

    ``panel`` is :func:`estimation_panel` of the school-year panel. ``fits``, if given, is
    filled with the headline fits per outcome (:func:`evaluate.findings.programme_findings`).
    Returns ``(findings, robustness)``; robustness is ``None`` when ``robustness=False``.
    """
    from evaluate.design import Design
    from evaluate.findings import programme_findings
    from evaluate.findings.planning import power_findings, value_findings
    from evaluate.findings.robustness import programme_robustness

    p = programme
    design = Design.from_config(cfg, p, panel)
    panel = design.sample(panel)
    cm = None
    if design.matched:
        # the very sample the match stage made, when it is current; otherwise matched here
        cm = saved_matching(cfg, p) if use_saved else None
        cm = cm if cm is not None else design.match(panel, source=source)
    synthetic = cfg.data.source == "synthetic"
    res = programme_findings(panel, design=design, outcomes=cfg.outcomes, matching=cm, synthetic=synthetic,
                             fits=fits)
    res["timing"] = {"anticipation": design.anticipation, "anticipation_setting": cfg.design.anticipation,
                     "partly_exposed": cfg.design.partly_exposed,
                     "partly_exposed_schools_left_out": design.settings["partly_exposed_schools_left_out"],
                     "other_programme": cfg.design.other_programme,
                     "other_programme_schools_left_out": design.settings["other_programme_schools_left_out"]}
    v = getattr(cfg.value, p)
    res["value"] = value_findings(res, panel, cohort=PROGRAMME_COHORT[p], cost=v.cost, years=v.years,
                                  source=v.source, value_per_day=v.value_per_day)
    res["power"] = power_findings(res, panel, cohort=PROGRAMME_COHORT[p])
    rob = None
    if robustness:
        rob = programme_robustness(panel, design=design, outcome=cfg.outcomes[0], matching=cm, synthetic=synthetic)
    return res, rob


def _package_version() -> str:
    """The package version and a hash of its source, so that a code change reruns stages."""
    from evaluate import __version__

    return f"{__version__}+{_code_hash()}"


def _code_hash(subpackage: str = "") -> str:
    """SHA-256 (16 hex digits) of the package's source, or of one subpackage's."""
    root = Path(__file__).resolve().parent / subpackage
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.suffix in {".py", ".lua", ".csv", ".typ"} and "__pycache__" not in path.parts:
            h.update(path.relative_to(root).as_posix().encode())
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


def la_files(cfg: Config) -> tuple[list[Path], str]:
    """The real DfE LA attendance files the mentor LA analysis reads, and where they were found.

    ``la_data: auto`` looks in the project's ``data/la/`` (where ``evaluate data fetch``
    writes) and then in the folders of ``$EVALUATE_DATA_ROOTS``; a folder name looks there
    only; ``synthetic`` (or nothing found) gives no files.
    """
    from evaluate.data.la.panel import find_la_files
    from evaluate.disclosure.paths import allowed_roots
    from evaluate.errors import ConfigError

    setting = cfg.programmes.mentors.areas.la_data
    if setting in ("synthetic", "off"):
        return [], setting
    if setting == "auto":
        for folder in [cfg.base_dir.resolve() / "data" / "la", *allowed_roots()]:
            if folder.is_dir():
                files = find_la_files(folder)
                if files:
                    return files, str(folder)
        return [], "synthetic"
    folder = cfg.resolve(Path(setting), setting="programmes.mentors.areas.la_data")
    files = find_la_files(folder) if folder.is_dir() else []
    if not files:
        raise ConfigError("no DfE LA attendance files found in this folder",
                          file=str(folder), column="programmes.mentors.areas.la_data")
    return files, str(folder)


def stage_areas(cfg: Config, *, force: bool = False, progress: Progress | None = None) -> StageOutcome:
    """The mentor programme at LA level: ``OUTPUT/results/mentors_areas.json``.

    On the real DfE LA files when :func:`la_files` finds them, otherwise on the synthetic
    country summed to LAs (the JSON and the report say which). The LA panel goes to
    ``WORKING/areas/la_panel.parquet``.
    """
    import pandas as pd

    from evaluate.data.la.panel import build_la_panel
    from evaluate.data.la.synthetic import la_panel_from_schools
    from evaluate.findings.mentors.stage import mentor_area_results

    mentors = cfg.programmes.mentors
    a = mentors.areas
    if not mentors.enabled or a.la_data == "off":
        return StageOutcome("areas", "skipped")
    out, work = cfg.output_dir, cfg.working_dir
    files, where = la_files(cfg)
    source = "real" if files else "synthetic"
    panel_dir = work / "panel"
    inputs = ({p.name: sha256_file(p) for p in files} if files else
              {n: sha256_file(panel_dir / n) for n in ("panel_year.parquet", "panel_term.parquet")
               if (panel_dir / n).exists()})
    if not files and not inputs:
        raise InputError("no panel yet: run the panel stage first", file=str(panel_dir))
    areas_file = cfg.resolve(a.areas_file, setting="programmes.mentors.areas.areas_file") if a.areas_file else None
    if areas_file is None and not files:
        synthetic_areas = cfg.data_dir / "programmes" / "mentor_areas.csv"
        areas_file = synthetic_areas if synthetic_areas.exists() else None
    target = out / "results" / "mentors_areas.json"
    pupils_target = out / "results" / "mentoring_pupils.json"
    settings = {"areas": a.model_dump(mode="json"), "partial": mentors.partial_areas, "seed": cfg.seed,
                "inputs": inputs, "areas_file": sha256_file(areas_file) if areas_file else None,
                "disclosure": cfg.disclosure.model_dump(mode="json"), "version": _package_version()}
    key = _key(settings)
    record = work / ".stages" / "areas.json"
    if not force and _cached(record, key, [target, pupils_target]):
        return StageOutcome("areas", "cached", (target, pupils_target))
    if progress:
        progress("areas", 0.0)
    attrition: list = []
    missing: list = []
    if files:
        lp = build_la_panel(files, period_types=tuple(dict.fromkeys(("year", a.period))), max_fill=a.max_fill)
        la = lp.panel
        attrition = lp.attrition.to_frame().to_dict("records")
        missing = lp.missing_summary().to_dict("records")
    else:
        la = la_panel_from_schools(pd.read_parquet(panel_dir / "panel_year.parquet"),
                                   pd.read_parquet(panel_dir / "panel_term.parquet"))
    from evaluate.io import write_parquet

    (work / "areas").mkdir(parents=True, exist_ok=True)
    write_parquet(la, work / "areas" / "la_panel.parquet")
    res = mentor_area_results(la, source=source, areas=areas_file, files=[p.name for p in files],
                              partial=mentors.partial_areas, period=a.period, phase=a.phase, seed=cfg.seed,
                              replications=a.placebo_replications, attrition=attrition, missing=missing)
    res["found_in"] = "the project's data/la folder or $EVALUATE_DATA_ROOTS" if files else None
    res["areas_file"] = "the public programme facts shipped with the package" if areas_file is None else (
        areas_file.name)
    publish(cfg, res, target)
    if progress:
        progress("areas", 0.8)
    from evaluate.findings.mentors.stage import pupil_mentoring_results
    from evaluate.synthetic.pupils import mentoring_pupils

    publish(cfg, pupil_mentoring_results(mentoring_pupils(seed=cfg.seed, n_pupils=100_000), seed=cfg.seed,
                                         rules=cfg.disclosure.rules()), pupils_target)
    write_json({"key": key, "settings": settings}, record)
    if progress:
        progress("areas", 1.0)
    return StageOutcome("areas", "ran", (target, pupils_target))


def write_provenance(cfg: Config, config_path: Path | None) -> Path:
    """Copy the configuration next to the outputs and record the run's provenance."""
    from evaluate.report.provenance import collect_provenance

    out = cfg.output_dir
    out.mkdir(parents=True, exist_ok=True)
    if config_path is not None:
        with atomic_path(out / "evaluation.yml") as tmp:
            shutil.copyfile(config_path, tmp)
    data_files = {name: cfg.data_dir / name for name in _data_files(cfg.data_dir)} if cfg.data_dir.exists() else {}
    prov = collect_provenance(seed=cfg.seed, data_files=data_files, config_path=config_path)
    prov["disclosure"] = cfg.disclosure.rules().to_dict()
    return publish(cfg, prov, out / "provenance.json")


def render_reports(cfg: Config, *, formats: tuple[str, ...] = ("html", "pdf"), engine: str = "auto",
                   force: bool = False, validation: bool = False) -> list[StageOutcome]:
    """Render each report of the configuration to ``OUTPUT/reports``.

    ``validation=True`` also renders the known-truth validation report
    (``reports/validation.qmd``, from ``results/validation.json`` of ``evaluate validate``).

    A report is skipped when its document, the results it reads, the provenance and
    the package version are unchanged since it was last rendered.
    """
    out = cfg.output_dir
    results = out / "results"
    if not results.is_dir():
        raise InputError("no results yet: run `evaluate run` first", file=str(results))
    outcomes = []
    documents = list(cfg.documents)
    if validation:
        if not (results / "validation.json").exists():
            raise InputError("no validation results: run `evaluate validate` first", file=str(results / "validation.json"))
        documents.append(documents[0].parent / "validation.qmd" if documents else
                         Path(__file__).resolve().parents[2] / "reports" / "validation.qmd")
    for doc in documents:
        if not doc.exists():
            raise InputError("report document not found", file=str(doc), column="reports")
        inputs = {p.name: sha256_file(p) for p in sorted(results.glob("*.json"))}
        inputs["provenance.json"] = sha256_file(out / "provenance.json") if (out / "provenance.json").exists() else ""
        for extra in sorted(doc.parent.glob("_*.yml")) + [doc]:
            inputs[extra.name] = sha256_file(extra)
        key = _key({"inputs": inputs, "formats": list(formats), "version": _package_version()})
        targets = [out / "reports" / f"{doc.stem}.{'html' if f == 'html' else 'pdf'}" for f in formats]
        record = cfg.working_dir / ".stages" / f"report-{doc.stem}.json"
        if not force and _cached(record, key, targets):
            outcomes.append(StageOutcome(f"report {doc.stem}", "cached", tuple(targets)))
            continue
        from evaluate.report.render import render

        written = render([doc], out_dir=out / "reports", formats=formats,
                         env={"EVALUATE_OUTPUT": str(out)}, engine=engine)
        write_json({"key": key}, record)
        outcomes.append(StageOutcome(f"report {doc.stem}", "ran", tuple(written)))
    return outcomes


#: Working files that older versions wrote into the publication area.
LEGACY_WORKING = ("panel", "matching", ".stages", "guide/example-run")


def _remove_legacy(cfg: Config) -> None:
    """Delete the working files an older version left in the publication area.

    They are regenerated in the working area; leaving them would publish unsuppressed data.
    """
    import warnings

    out = cfg.output_dir
    for rel in LEGACY_WORKING:
        path = out / rel
        if path.is_dir():
            shutil.rmtree(path)
            warnings.warn(f"removed {path}: working files of an older version, which belong in the working "
                          f"area ({cfg.working_dir}) and not in the publication area", RuntimeWarning, stacklevel=2)


def run(cfg: Config, *, config_path: Path | None = None, until: str | None = None,
        force: bool = False, progress: Progress | None = None) -> RunSummary:
    """Run the stages in order, up to and including ``until``."""
    if until is not None and until not in STAGES:
        raise InputError(f"unknown stage '{until}'; stages are {', '.join(STAGES)}", column="--until")
    _remove_legacy(cfg)
    steps = {"data": stage_data, "panel": stage_panel, "match": stage_match, "estimates": stage_estimates,
             "areas": stage_areas}
    outcomes = []
    for name in STAGES:
        outcomes.append(steps[name](cfg, force=force, progress=progress))
        if name == until:
            break
    write_provenance(cfg, config_path)
    return RunSummary(tuple(outcomes))
