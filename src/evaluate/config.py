"""The run configuration, ``evaluation.yml``: its schema, defaults and validation.

A run is fully described by this file and the data it names: ``evaluate run`` reads
it, copies it next to its outputs and records its hash in the provenance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evaluate.errors import ConfigError, InputError

DEFAULT_SEED = 20240901


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SyntheticSettings(_Strict):
    """The synthetic country: its size and its world (:mod:`evaluate.synthetic.scenario`).

    ``schools``: ``None`` = the full country, about 21,500 schools. The world: every
    programme effect times ``effect_scale`` (0 = no programme does anything), hub selection
    on prior absence and the rest times ``selection_scale`` (0 = members at random), an
    ``unobserved_trend`` of programme schools (percentage points of absence a year, a
    violation of parallel trends), and ``heterogeneity`` of the effects (false: the same
    effect in every wave, phase and year). The defaults are the default world.
    """

    schools: int | None = Field(default=None, ge=50)
    effect_scale: float = Field(default=1.0, ge=0)
    selection_scale: float = Field(default=1.0, ge=0)
    unobserved_trend: float = 0.0
    heterogeneity: bool = True

    def scenario(self):  # -> evaluate.synthetic.scenario.Scenario (imported lazily)
        """These settings as a :class:`evaluate.synthetic.scenario.Scenario`."""
        from evaluate.synthetic.scenario import Scenario

        return Scenario(effect_scale=self.effect_scale, selection_scale=self.selection_scale,
                        unobserved_trend=self.unobserved_trend, heterogeneity=self.heterogeneity)


class DataSettings(_Strict):
    """Where the data come from.

    ``source: synthetic`` generates synthetic England into ``dir`` (skipped when the
    folder already holds the same seed and size); ``source: folder`` reads files laid
    out as in ``docs/data-formats.md`` from ``dir``.
    """

    source: Literal["synthetic", "folder"] = "synthetic"
    dir: Path = Path("data/synthetic")
    synthetic: SyntheticSettings = SyntheticSettings()


class AreaSettings(_Strict):
    """The mentor programme at local-authority level (``evaluate.findings.mentors.stage``).

    ``la_data: auto`` uses the real DfE LA attendance files when they can be found: first in
    the project's ``data/la/`` folder (where ``evaluate data fetch`` puts them), then in the
    folders of ``$EVALUATE_DATA_ROOTS``; otherwise the synthetic country summed to LAs. A
    folder uses the files there; ``synthetic`` forces the synthetic country; ``off`` skips
    the LA analysis. The report says which data it used.
    """

    la_data: str = "auto"
    period: Literal["year", "term", "fortnight"] = "term"
    phase: Literal["Total", "Primary", "Secondary", "Special"] = "Total"
    areas_file: Path | None = None
    max_fill: float = Field(default=1.3, gt=1)
    placebo_replications: int = Field(default=100, ge=20)


class FetchSource(_Strict):
    """One file for ``evaluate data fetch``: a URL or an EES data-set id, and its SHA-256."""

    name: str
    url: str | None = None
    dataset: str | None = None
    version: str | None = None
    sha256: str | None = None
    dest: str | None = None

    @model_validator(mode="after")
    def _safe(self) -> FetchSource:
        from evaluate.data.fetch import sources_from_config

        try:
            sources_from_config([self.model_dump(exclude_none=True)])
        except InputError as err:
            raise ValueError(err.message) from None
        if self.dest is not None:
            from evaluate.data.fetch import safe_destination

            try:
                safe_destination("/cache", self.dest)
            except InputError as err:
                raise ValueError(err.message) from None
        return self


class FetchSettings(_Strict):
    """Downloads for users with internet (``evaluate data fetch``): into ``data/la/``.

    Every file is checked against its ``sha256`` before use; a source without one is
    refused unless ``allow_unverified`` (its checksum is then computed and reported).
    """

    sources: tuple[FetchSource, ...] = ()
    retries: int = Field(default=3, ge=0, le=10)
    backoff: float = Field(default=1.0, ge=0)
    timeout: float = Field(default=60.0, gt=0)
    allow_unverified: bool = False


class HubSettings(_Strict):
    enabled: bool = True


class MentorSettings(_Strict):
    enabled: bool = True
    partial_areas: Literal["include", "exclude"] = "include"
    start: Literal["actual", "announced"] = "actual"
    areas: AreaSettings = AreaSettings()


class ProgrammeSettings(_Strict):
    hubs: HubSettings = HubSettings()
    mentors: MentorSettings = MentorSettings()


class PanelSettings(_Strict):
    cohort_rule: Literal["mostly_exposed", "first_full_year", "first_exposed_year"] = "mostly_exposed"


class DesignSettings(_Strict):
    """Timing choices of every programme's difference-in-differences.

    ``anticipation``: years before a cohort's first year that may carry part of the effect.
    ``auto`` (the default) takes, per programme, the largest gap between a school's cohort
    and the year it was first exposed (a school joining a hub in June 2023 is in the
    2023/24 cohort but was exposed for part of 2022/23: 1 year), so that a partly exposed
    year is never the base period, never in the pre-trend test and never matched on. A
    whole number fixes it.

    ``partly_exposed``: schools first exposed inside the panel but too late to form a cohort
    in it (mentor areas from March 2025, half-exposed in 2024/25) are left out of the
    comparison group (``exclude``, the default; counted in the results) or kept as
    comparison schools (``keep``).

    ``other_programme``: schools touched by the other programme (hub schools, when mentors
    are evaluated; schools in mentor areas, for hubs) are left out of the comparison group
    (``exclude``, the default: a comparison school must be untreated) or kept (``keep``).
    """

    anticipation: Literal["auto"] | int = "auto"
    partly_exposed: Literal["exclude", "keep"] = "exclude"
    other_programme: Literal["exclude", "keep"] = "exclude"

    @model_validator(mode="after")
    def _check(self) -> DesignSettings:
        if isinstance(self.anticipation, int) and self.anticipation < 0:
            raise ValueError("anticipation must be 'auto' or a whole number of years, 0 or more")
        return self


class MatchingSettings(_Strict):
    """Cohort-specific matching and the matched DiD (``evaluate.matching``).

    Each programme's cohorts are matched on their own pre-period: the level and trend of
    ``outcomes`` and the ``covariates``, exactly on ``exact``; then Callaway-Sant'Anna is
    estimated on the matched sub-experiments for every outcome of the run.

    Mentors are off by default: the programme covers whole local authorities (Middlesbrough
    alone in 2022), so school-level matching on characteristics that define the area (region,
    priority-area status) separates the groups and the caliper leaves no match; the mentor
    evaluation uses area-level comparisons instead.
    """

    enabled: bool = True
    method: Literal["nearest", "entropy"] = "nearest"  # entropy: entropy-balancing weights
    programmes: tuple[Literal["hubs", "mentors"], ...] = ("hubs",)
    outcomes: tuple[str, ...] = ("overall_absence_rate", "pa_rate")
    covariates: tuple[str, ...] = ("ofsted", "priority_area", "phase", "fsm_pct", "size", "region")
    exact: tuple[str, ...] = ("phase",)
    control: Literal["never", "not_yet"] = "never"
    pre_years: int = Field(default=3, ge=2)
    terms: tuple[Literal["level", "trend", "path"], ...] = ("level", "trend")  # path: each pre-year's value
    level: Literal["last", "mean"] = "mean"
    distance: Literal["logit", "propensity", "mahalanobis"] = "logit"
    ratio: int = Field(default=1, ge=1)
    replace: bool = False
    caliper: float | None = Field(default=0.2, gt=0)
    discard: Literal["none", "treated", "control", "both"] = "none"
    sd: Literal["pooled", "treated"] = "pooled"
    estimator: Literal["dr", "ipw", "reg"] = "dr"
    cluster: str | None = None  # default: the matched set (evaluate.pipeline.programme_cluster)


class ProgrammeValue(_Strict):
    """A programme's cost, for the cost per extra day in school (``evaluate.value``).

    ``cost`` is the total in pounds over ``years`` for the schools the evaluation covers;
    ``null`` (the default) means no cost is known, and the report says so instead of
    inventing one. ``source`` says where the figure comes from.
    """

    cost: float | None = Field(default=None, ge=0)
    years: float = Field(default=1.0, gt=0)
    source: str = ""
    value_per_day: float | None = Field(default=None, gt=0)  # pounds a day in school is worth: break-even effect


class ValueSettings(_Strict):
    hubs: ProgrammeValue = ProgrammeValue()
    mentors: ProgrammeValue = ProgrammeValue()


class DisclosureSettings(_Strict):
    """Statistical disclosure control of everything published (``evaluate.disclosure``).

    Counts of pupils from 1 to ``pupil_threshold - 1`` are shown as ``c``, with secondary
    suppression so that no hidden cell can be recovered from its row, column or total;
    ``school_threshold`` does the same for counts of schools (``null``: not suppressed);
    ``round_to`` rounds published pupil counts to a multiple (DfE uses 5 in some outputs).
    """

    pupil_threshold: int = Field(default=10, ge=1)
    school_threshold: int | None = Field(default=None, ge=1)
    round_to: int | None = Field(default=None, ge=1)
    secondary: bool = True

    def rules(self):  # -> evaluate.disclosure.DisclosureRules (imported lazily)
        """These settings as :class:`evaluate.disclosure.DisclosureRules`."""
        from evaluate.disclosure import DisclosureRules

        return DisclosureRules(pupil_threshold=self.pupil_threshold, school_threshold=self.school_threshold,
                               round_to=self.round_to, secondary=self.secondary)


Outcome = Literal["overall_absence_rate", "authorised_rate", "unauthorised_rate", "pa_rate", "severe_rate"]


class Config(_Strict):
    """The whole run configuration. Every field has a default, so an empty file is valid."""

    seed: int = Field(default=DEFAULT_SEED, ge=0)  # numpy seeds are non-negative
    output: Path = Path("output")   # the publication area: only what passed disclosure control
    working: Path | None = None     # the working area (default work/<name of output>): panel, pupil-level files
    data: DataSettings = DataSettings()
    programmes: ProgrammeSettings = ProgrammeSettings()
    panel: PanelSettings = PanelSettings()
    design: DesignSettings = DesignSettings()
    matching: MatchingSettings = MatchingSettings()
    value: ValueSettings = ValueSettings()
    outcomes: tuple[Outcome, ...] = ("overall_absence_rate", "pa_rate", "severe_rate")
    reports: tuple[str, ...] = ("data-quality", "hubs", "mentors", "technical-annex")
    reports_dir: Path = Path("reports")
    disclosure: DisclosureSettings = DisclosureSettings()
    fetch: FetchSettings = FetchSettings()

    # Paths in the file are relative to the file's folder; this is that folder.
    base_dir: Path = Field(default=Path("."), exclude=True)

    def resolve(self, path: Path, *, setting: str = "path", mode: str = "read") -> Path:
        """A path from the file, made absolute against the file's folder.

        It may not contain ``..`` nor lead outside the project folder (for reading, also
        the folders of ``$EVALUATE_DATA_ROOTS``): :func:`evaluate.disclosure.safe_path`.
        """
        from evaluate.disclosure.paths import safe_path

        return safe_path(path, base=self.base_dir, setting=setting, mode=mode)  # type: ignore[arg-type]

    @property
    def output_dir(self) -> Path:
        """The publication area (``output:``): reports read only from here."""
        return self.resolve(self.output, setting="output", mode="write")

    @property
    def working_dir(self) -> Path:
        """The working area (``working:``; default ``work/<name of the output folder>``, so that
        two runs with different outputs keep their working files apart): it may hold
        unsuppressed and pupil-level data and is never rendered."""
        working = self.working if self.working is not None else Path("work") / self.output_dir.name
        return self.resolve(working, setting="working", mode="write")

    @property
    def data_dir(self) -> Path:
        return self.resolve(self.data.dir, setting="data.dir")

    @property
    def documents(self) -> list[Path]:
        """The Quarto documents this run renders, in order.

        ``reports_dir`` may also be the package's own ``reports/`` folder.
        """
        from evaluate.disclosure.paths import safe_path

        own = Path(__file__).resolve().parents[2]
        try:
            folder = self.resolve(self.reports_dir, setting="reports_dir")
        except InputError:
            folder = safe_path(self.reports_dir, base=own, setting="reports_dir")
        return [folder / f"{name}.qmd" for name in self.reports]

    def check_paths(self, file: str | None = None) -> None:
        """Resolve every path of the configuration; the two output areas must not overlap.

        Raises
        ------
        ConfigError
            A path escapes the project, or the working area is inside the publication area
            (or the reverse).
        """
        try:
            out, work = self.output_dir, self.working_dir
            self.data_dir  # noqa: B018 - resolving is the check
            self.documents  # noqa: B018
        except InputError as err:
            raise ConfigError(err.message, file=file, column=err.column) from None
        if out == work or out in work.parents or work in out.parents:
            raise ConfigError(f"the working area {work} and the publication area {out} must be separate "
                              "folders (neither inside the other)", file=file, column="working")


def load_config(path: str | Path | None) -> Config:
    """Read and validate ``evaluation.yml``; ``None`` gives the defaults.

    Raises
    ------
    ConfigError
        If the file is missing, is not YAML, or a setting is unknown or invalid; the
        message names the file and the setting.
    """
    if path is None:
        return Config(base_dir=Path.cwd())
    path = Path(path)
    if not path.exists():
        raise ConfigError("the configuration file does not exist", file=str(path))
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"the YAML tag{where} is refused: {exc.problem}. A configuration is data; "
                          "it may not construct Python objects or run code", file=str(path)) from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid YAML ({exc.__class__.__name__})", file=str(path)) from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4,300 digits
        raise ConfigError(f"not valid YAML ({exc.__class__.__name__}: {str(exc)[:120]})", file=str(path)) from None
    if not isinstance(raw, dict):
        raise ConfigError("the top level must be a mapping of settings", file=str(path))
    try:
        cfg = Config(**raw, base_dir=path.resolve().parent)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{err['msg']} (input: {err.get('input')!r})", file=str(path), column=where) from None
    cfg.check_paths(str(path))
    return cfg
