"""The run configuration, ``evaluation.yml``: its schema, defaults and validation.

A run is fully described by this file and the data it names: ``evaluate run`` reads
it, copies it next to its outputs and records its hash in the provenance.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evaluate.errors import ConfigError

DEFAULT_SEED = 20240901


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SyntheticSettings(_Strict):
    """Size of the synthetic country (``None`` = the full country, about 21,500 schools)."""

    schools: int | None = Field(default=None, ge=50)


class DataSettings(_Strict):
    """Where the data come from.

    ``source: synthetic`` generates synthetic England into ``dir`` (skipped when the
    folder already holds the same seed and size); ``source: folder`` reads files laid
    out as in ``docs/data-formats.md`` from ``dir``.
    """

    source: Literal["synthetic", "folder"] = "synthetic"
    dir: Path = Path("data/synthetic")
    synthetic: SyntheticSettings = SyntheticSettings()


class HubSettings(_Strict):
    enabled: bool = True


class MentorSettings(_Strict):
    enabled: bool = True
    partial_areas: Literal["include", "exclude"] = "include"
    start: Literal["actual", "announced"] = "actual"


class ProgrammeSettings(_Strict):
    hubs: HubSettings = HubSettings()
    mentors: MentorSettings = MentorSettings()


class PanelSettings(_Strict):
    cohort_rule: Literal["mostly_exposed", "first_full_year", "first_exposed_year"] = "mostly_exposed"


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
    programmes: tuple[Literal["hubs", "mentors"], ...] = ("hubs",)
    outcomes: tuple[str, ...] = ("overall_absence_rate", "pa_rate")
    covariates: tuple[str, ...] = ("ofsted", "priority_area", "phase", "fsm_pct", "size", "region")
    exact: tuple[str, ...] = ("phase",)
    control: Literal["never", "not_yet"] = "never"
    pre_years: int = Field(default=3, ge=2)
    level: Literal["last", "mean"] = "last"
    distance: Literal["logit", "propensity", "mahalanobis"] = "logit"
    ratio: int = Field(default=1, ge=1)
    replace: bool = False
    caliper: float | None = Field(default=0.2, gt=0)
    discard: Literal["none", "treated", "control", "both"] = "none"
    sd: Literal["pooled", "treated"] = "pooled"
    estimator: Literal["dr", "ipw", "reg"] = "dr"
    cluster: str | None = None  # default: hub schools by hub, other schools alone


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


Outcome = Literal["overall_absence_rate", "authorised_rate", "unauthorised_rate", "pa_rate", "severe_rate"]


class Config(_Strict):
    """The whole run configuration. Every field has a default, so an empty file is valid."""

    seed: int = DEFAULT_SEED
    output: Path = Path("output")
    data: DataSettings = DataSettings()
    programmes: ProgrammeSettings = ProgrammeSettings()
    panel: PanelSettings = PanelSettings()
    matching: MatchingSettings = MatchingSettings()
    value: ValueSettings = ValueSettings()
    outcomes: tuple[Outcome, ...] = ("overall_absence_rate", "pa_rate", "severe_rate")
    reports: tuple[str, ...] = ("data-quality", "hubs", "mentors", "technical-annex")
    reports_dir: Path = Path("reports")

    # Paths in the file are relative to the file's folder; this is that folder.
    base_dir: Path = Field(default=Path("."), exclude=True)

    def resolve(self, path: Path) -> Path:
        """A path from the file, made absolute against the file's folder."""
        return path if path.is_absolute() else (self.base_dir / path).resolve()

    @property
    def output_dir(self) -> Path:
        return self.resolve(self.output)

    @property
    def data_dir(self) -> Path:
        return self.resolve(self.data.dir)

    @property
    def documents(self) -> list[Path]:
        """The Quarto documents this run renders, in order."""
        return [self.resolve(self.reports_dir) / f"{name}.qmd" for name in self.reports]


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
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"not valid YAML ({exc.__class__.__name__})", file=str(path)) from None
    if not isinstance(raw, dict):
        raise ConfigError("the top level must be a mapping of settings", file=str(path))
    try:
        return Config(**raw, base_dir=path.resolve().parent)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"{err['msg']} (input: {err.get('input')!r})", file=str(path), column=where) from None
