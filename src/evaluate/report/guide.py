"""The researcher's guide (``docs/guide/*.qmd``): render it, and the helpers its pages call.

The guide is a Quarto project like ``reports/``: :func:`render_guide` renders every page
with :func:`evaluate.report.render.render` (Quarto when on ``PATH``, else the Jupyter +
pandoc bridge), with ``EVALUATE_OUTPUT`` pointing at the outputs of a small example run
(:func:`example_run`: 400 synthetic schools, about 10 s), so the pages show real outputs
without needing the whole country. ``make docs`` calls ``python -m evaluate.report.guide``.

Pages may compute (it is a guide, not a report): the R parity page fits
:func:`evaluate.did.callaway_santanna` on R ``did``'s example data when the shared
validation folder is present (:func:`validation_dir`), and the configuration page
builds its table of options from the pydantic models (:func:`config_options`).
"""

from __future__ import annotations

import ast
import inspect
import os
import typing
import warnings
from pathlib import Path
from typing import Any

__all__ = ["PAGES", "EXAMPLE_CONFIG", "guide_dir",
           "validation_dir", "config_options", "OPTION_NOTES"]

#: The guide's pages, in reading order (``docs/guide/<page>.qmd``).
PAGES: tuple[str, ...] = ("index", "getting-started", "reproducing-r-did", "own-programme",
                          "choosing-an-estimator", "reading-the-reports")

#: The configuration of the guide's example run: a small synthetic country.
EXAMPLE_CONFIG = """\
# The guide's example run: a small synthetic country (400 schools), every stage.
seed: 7
output: out
data:
  source: synthetic
  dir: synth
  synthetic:
    schools: 400
programmes:
  mentors:
    areas: {la_data: synthetic, placebo_replications: 20}   # the LA analysis on the synthetic country
"""

#: Environment variable naming the shared data folder (real DfE files, R reference results).
SHARED_ENV = "EVALUATE_SHARED_DATA"

#: Explanations of options whose definition in ``evaluate.config`` carries no comment or
#: docstring. Keys are dotted option names; a test fails when a key names no option (so
#: nothing stale survives) or when an option has no explanation from any source.
OPTION_NOTES: dict[str, str] = {
    "seed": "Seed of every random step (the synthetic country, bootstraps, placebo draws). "
            "Same seed, data and code: byte-identical results.",
    "output": "The publication area: `results/*.json`, the rendered reports and the provenance (a copy "
              "of this file included). Only what passed disclosure control is written here, and the "
              "reports read nothing else. Inside the project folder; no `..`.",
    "working": "The working area (default `work/<name of output>`; git-ignored): the panel, the "
               "matching files and anything pupil-level. Never rendered; must not overlap `output`.",
    "programmes.mentors.areas": "The mentor programme at local-authority level (section of the mentors report).",
    "programmes.mentors.areas.la_data": "`auto`: DfE's LA attendance files from `data/la/` (`evaluate data fetch`) "
                                        "or a folder of `$EVALUATE_DATA_ROOTS`, else the synthetic country summed "
                                        "to LAs; a folder: those files; `synthetic`; `off`: no LA analysis.",
    "programmes.mentors.areas.period": "Periods of the LA analysis: `term` (default), `fortnight` (most "
                                       "pre-periods, noisiest) or `year` (the only level with persistent absence).",
    "programmes.mentors.areas.phase": "`Total` (all phases, the default) or one phase.",
    "programmes.mentors.areas.areas_file": "The mentor-area programme file; `null`: the public facts shipped "
                                           "with the package (`evaluate/data/mentor_areas_public.csv`).",
    "programmes.mentors.areas.max_fill": "Largest plausible growth of possible sessions between two DfE releases "
                                         "(x 10 sessions per pupil per week); larger jumps are a change of "
                                         "coverage and the difference is set missing.",
    "programmes.mentors.areas.placebo_replications": "Placebo draws of synthetic control and synthetic DiD.",
    "fetch": "Files `evaluate data fetch` downloads into `data/la/` (needs internet).",
    "fetch.sources": "A list of `{name, url}` or `{name, dataset, version}` (an EES data-set id), each with its "
                     "`sha256`; the file is refused if its checksum differs. URLs must be http(s), without "
                     "spaces, quotes or shell characters.",
    "fetch.retries": "Extra attempts after a failed download (exponential backoff).",
    "fetch.backoff": "First wait in seconds between attempts; doubled each time.",
    "fetch.timeout": "Seconds allowed for each request.",
    "fetch.allow_unverified": "Accept a source without `sha256` (its checksum is computed and printed). Off by "
                              "default: a file is used only once its checksum is known.",
    "disclosure.pupil_threshold": "Counts of pupils from 1 to this minus 1 are published as `c` "
                                  "(DfE's usual threshold is 10); rates computed from them too.",
    "disclosure.school_threshold": "The same for counts of schools, where a school could be identified; "
                                   "`null` publishes school counts as they are.",
    "disclosure.round_to": "Round published pupil counts half up to a multiple of this (DfE uses 5 in "
                           "some outputs); `null`: no rounding.",
    "disclosure.secondary": "Suppress further cells so that no suppressed cell can be recovered from its "
                            "row, column or total. Leave on; off is for tests.",
    "data.source": "`synthetic`: generate synthetic England into `data.dir` (skipped when it already "
                   "holds the same seed and size). `folder`: read DfE-format files from `data.dir`.",
    "data.dir": "The data folder, laid out as `docs/data-formats.md` describes.",
    "data.synthetic.schools": "Number of schools of the synthetic country; empty (`null`) = the "
                              "full country, about 21,500 schools. At least 50.",
    "data.synthetic.effect_scale": "Every programme effect of the synthetic world times this (0: the null "
                                   "world, in which no programme does anything). 1 = the default world.",
    "data.synthetic.selection_scale": "Hub selection on prior absence, free school meals, priority area and "
                                      "region times this (0: members at random). 1 = the default world.",
    "data.synthetic.unobserved_trend": "Programme schools' absence falls this many points a year more than "
                                       "other schools' for reasons nothing observed explains (parallel "
                                       "trends fail). 0 = the default world.",
    "data.synthetic.heterogeneity": "Effects vary by wave, phase and exposure (`true`, the default world) or "
                                    "are one logit effect everywhere (`false`).",
    "design": "Timing choices of every programme's difference-in-differences.",
    "design.anticipation": "Years before a cohort's first year left out of every comparison because they "
                           "were partly exposed: `auto` (from the data: 1 for hubs joining in the summer or "
                           "spring before their cohort year) or a whole number.",
    "design.other_programme": "Schools touched by the other programme (hub schools, for the mentors; "
                              "schools in mentor areas, for the hubs): `exclude` them from the comparison "
                              "group (counted), or `keep` them.",
    "design.partly_exposed": "Schools first exposed too late in the panel to form a cohort (mentor areas "
                             "from March 2025): `exclude` them from the comparison group (counted), or "
                             "`keep` them as comparison schools.",
    "programmes": "Which programmes are evaluated, and how their exposure is defined.",
    "programmes.hubs": "Attendance hubs (`programmes/hubs.csv`).",
    "programmes.hubs.enabled": "Evaluate the hubs (writes `results/hubs.json` and `hubs_robustness.json`).",
    "programmes.mentors": "Attendance mentors (`programmes/mentor_areas.csv`).",
    "programmes.mentors.enabled": "Evaluate the mentors (writes `results/mentors.json` and "
                                  "`mentors_robustness.json`).",
    "programmes.mentors.partial_areas": "Areas where mentors cover only part of a local authority "
                                        "(Hastings, Ipswich, Norwich, West Somerset): `include` treats the "
                                        "schools in the named town and leaves the rest of the authority "
                                        "untreated; `exclude` leaves every school of such an authority out "
                                        "(recorded in the attrition log).",
    "programmes.mentors.start": "`actual` start dates (`start_date`) or the `announced` ones "
                                "(`announced_date`) of `mentor_areas.csv`.",
    "panel": "How the school-by-year panel assigns cohorts.",
    "panel.cohort_rule": "A school's cohort: `mostly_exposed` = first academic year exposed for at least "
                         "75% of the year (a start on or before 23 November counts); `first_full_year`; "
                         "`first_exposed_year`.",
    "matching.enabled": "Match and estimate the matched DiD (off: the unmatched estimates only).",
    "matching.programmes": "The programmes whose cohorts are matched (`hubs`, `mentors`).",
    "matching.outcomes": "Pre-period outcomes matched on: their level (see `level`) and trend over "
                         "`pre_years`.",
    "matching.covariates": "School characteristics in the propensity score (panel columns; "
                           "categorical ones are one-hot encoded).",
    "matching.exact": "Variables matched exactly: matches only within blocks of equal values.",
    "matching.control": "Comparison pool: `never` treated schools, or also schools `not_yet` treated.",
    "matching.pre_years": "Years before joining used for the pre-period trend (at least 2).",
    "matching.level": "The pre-period level: the `last` year before joining, or the `mean` over "
                      "`pre_years` (less noise, less regression to the mean).",
    "matching.distance": "`logit` (linear predictor of the propensity score, as MatchIt), `propensity` "
                         "(the score itself) or `mahalanobis`.",
    "matching.ratio": "Comparison schools per treated school (k:1 nearest neighbour).",
    "matching.replace": "Whether a comparison school may be matched to more than one treated school "
                        "within a cohort.",
    "matching.caliper": "Largest allowed distance, in standard deviations of the distance; empty "
                        "(`null`) = no caliper. Treated schools without a match within it are left out "
                        "and counted.",
    "matching.discard": "Common support on the propensity score before matching (MatchIt's `discard`): "
                        "`none`, or drop `treated` units outside the comparison units' range, `control` "
                        "units outside the treated units' range, or `both`.",
    "matching.sd": "The standard deviation that standardises the mean differences of the balance "
                   "tables: `pooled` over the two groups, or the `treated` group's.",
    "matching.cluster": "Cluster column of the matched DiD's standard errors.",
    "value": "Programme costs for the cost per extra day in school (`evaluate.value`), one entry per "
             "programme; unknown costs stay `null` and the report says so instead of inventing one.",
    "value.hubs.cost": "Total cost of the hub programme in pounds over `years`, for the schools evaluated.",
    "value.hubs.years": "Years the cost covers (days gained are counted over the same years).",
    "value.hubs.source": "Where the cost figure comes from (shown with it).",
    "value.hubs.value_per_day": "What a day in school is worth to you, in pounds: the report gives the "
                                "effect at which the programme breaks even.",
    "value.mentors.cost": "Total cost of the mentor programme in pounds over `years` (DfE: about 15 million "
                          "pounds for about 10,000 pupils over three years in the expansion).",
    "value.mentors.years": "Years the cost covers.",
    "value.mentors.source": "Where the cost figure comes from.",
    "value.mentors.value_per_day": "What a day in school is worth, in pounds: for the break-even effect.",
    "matching.estimator": "Callaway-Sant'Anna on the matched sample: `dr` (doubly robust), `ipw` or `reg`.",
    "outcomes": "Outcomes estimated for every programme (percentages). The first one is also the "
                "outcome of the robustness analyses; the reports' headline is overall absence.",
    "reports": "The documents `evaluate report` renders, by name, from `reports_dir`.",
    "reports_dir": "Folder of the report documents (`<name>.qmd`): inside the project, or the "
                   "package's own `reports/`.",
}


def guide_dir() -> Path:
    """``docs/guide`` of the checkout this package was installed from (editable install)."""
    return Path(__file__).resolve().parents[3] / "docs" / "guide"


def _repo_root(start: Path | None = None) -> Path | None:
    for p in [(start or Path.cwd()).resolve(), *(start or Path.cwd()).resolve().parents]:
        if (p / "pyproject.toml").is_file() and (p / "src" / "evaluate").is_dir():
            return p
    here = Path(__file__).resolve().parents[3]
    return here if (here / "pyproject.toml").is_file() else None


def validation_dir() -> Path | None:
    """The shared folder of R ``did`` reference results (``<shared>/validation``), or ``None``.

    ``<shared>`` is ``$EVALUATE_SHARED_DATA`` when set, else ``../shared/data`` beside the
    repository (as the tests find it).
    """
    env = os.environ.get(SHARED_ENV)
    if env:
        base = Path(env)
    else:
        root = _repo_root()
        if root is None:
            return None
        base = root.parent / "shared" / "data"
    folder = base / "validation"
    return folder if (folder / "mpdta.csv").is_file() else None


def _field_comments(cls: type) -> dict[str, str]:
    """Comments written beside (or on the lines just above) each field of a class."""
    try:
        source = inspect.getsource(cls)
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    tree = ast.parse(source)
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    out: dict[str, str] = {}
    for node in body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            line = lines[node.lineno - 1]
            parts = []
            above = node.lineno - 2
            while above >= 0 and lines[above].strip().startswith("#"):
                parts.insert(0, lines[above].strip().lstrip("#").strip())
                above -= 1
            if "  #" in line:
                parts.append(line.split("  #", 1)[1].strip())
            if parts:
                out[node.target.id] = " ".join(parts)
    return out


def _type_text(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        names = [f"`{a}`" for a in args]
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    if origin is tuple:
        inner = args[0] if args else Any
        return f"list of {_type_text(inner)}"
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        parts = [_type_text(a) for a in args if a is not type(None)]
        return " or ".join(parts) + (" or empty" if type(None) in args else "")
    if isinstance(annotation, type):
        from pydantic import BaseModel

        if issubclass(annotation, BaseModel):
            return "section"
        return {"int": "integer", "float": "number", "bool": "`true` or `false`", "str": "text",
                "Path": "path", "PosixPath": "path", "WindowsPath": "path"}.get(annotation.__name__,
                                                                                annotation.__name__)
    return str(annotation)


def _default_text(value: Any) -> str:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return ""
    if value is None:
        return "`null`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple | list):
        return "`[" + ", ".join(str(v) for v in value) + "]`"
    if isinstance(value, Path):
        return f"`{value.as_posix()}`"
    return f"`{value}`"


def _first_paragraph(doc: str | None) -> str:
    if not doc:
        return ""
    return " ".join(inspect.cleandoc(doc).split("\n\n")[0].split()).replace("``", "`")


def _sentence(text: str) -> str:
    text = text.strip()
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", ")")) else text + "."


def config_options(model: type | None = None, prefix: str = "") -> list[dict[str, str]]:
    """Every option of ``evaluation.yml``, read from the pydantic models of :mod:`evaluate.config`.

    One row per option (sections first, then their options, depth first): ``option``
    (dotted name), ``type``, ``default``, ``description``. The description is, in order:
    the comment beside the field in ``config.py``, the docstring of a section's class
    (its first paragraph) and the field's pydantic description, after the guide's own
    note (:data:`OPTION_NOTES`) where the code says nothing or too little.
    Fields excluded from the file (``base_dir``) are left out.

    Examples
    --------
    >>> from evaluate.report.guide import config_options
    >>> row = next(r for r in config_options() if r["option"] == "matching.caliper")
    >>> row["type"], row["default"]
    ('number or empty', '`0.2`')
    """
    from pydantic import BaseModel

    from evaluate.config import Config

    model = model or Config
    comments = _field_comments(model)
    rows: list[dict[str, str]] = []
    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        key = f"{prefix}{name}"
        ann = field.annotation
        sub = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
        parts = [comments.get(name, ""), _first_paragraph(sub.__doc__) if sub else "", field.description or ""]
        code_text = " ".join(_sentence(p) for p in parts if p)
        description = " ".join(p for p in (OPTION_NOTES.get(key, ""), code_text) if p)
        rows.append({"option": key, "type": _type_text(ann), "default": _default_text(field.default),
                     "description": description})
        if sub is not None:
            rows += config_options(sub, prefix=f"{key}.")
    return rows


# --- rendering -------------------------------------------------------------------------



#: Names that moved to :mod:`evaluate.guide` (they run the pipeline, which the report layer must not).
_MOVED = ("example_run", "example_output", "run_config_path", "render_guide", "main")


def __getattr__(name: str):  # layering: deprecated shim
    if name in _MOVED:
        warnings.warn(f"evaluate.report.guide.{name} moved to evaluate.guide.{name}", DeprecationWarning,
                      stacklevel=2)
        import evaluate.guide as moved  # layering: deprecated shim

        return getattr(moved, name)
    raise AttributeError(name)
