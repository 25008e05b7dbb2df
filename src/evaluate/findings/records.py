"""The findings contract: typed, frozen records of what ``results/<programme>.json`` holds.

:func:`evaluate.findings.programme_findings` builds a :class:`ProgrammeFindings`; the
estimates stage writes it (``model_dump``) and the JSON Schema of every record beside the
results (``results/schema/``, :func:`write_schemas`); a report reads it back with
:func:`load_findings` and works with attributes (``res.outcome("pa_rate").headline.estimate``,
``res.headline_outcome``) instead of indexing dictionaries. A test validates every results
file of a run against the schema, so a field cannot go missing or change type unnoticed.

The records are pydantic models (``frozen``; unknown fields refused where the structure
is the package's own). Parts that come from other modules' own ``to_dict`` (matching,
value, power) are kept as plain mappings and described by their own docstrings.

For old report code, a record can still be read like the dictionary it replaces
(``res["outcomes"]["pa_rate"]["headline"]["estimate"]``, ``.get``): the same values, one
definition.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Record", "Estimate", "DaysPerPupil", "Headline", "Component", "Subgroup", "EstimatorRow",
           "Pretest", "Confidence", "BaconPart", "Bacon", "TrendPoint", "OutcomeFindings", "DesignLevel",
           "Timing", "ProgrammeFindings", "SchoolCount", "load_findings", "write_schemas", "SCHEMAS"]


#: A count of schools as published: a number, or ``"c"`` where the rule for school counts
#: (``disclosure.school_threshold``) suppressed it at the publication gate.
SchoolCount = int | Literal["c"]


class Record(BaseModel):
    """A frozen record that also reads like the mapping it replaces (``r["key"]``, ``r.get``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    def __getitem__(self, key: str) -> Any:
        if key in type(self).model_fields or key in (self.model_extra or {}):
            return getattr(self, key)
        raise KeyError(key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            value = self[key]
        except KeyError:
            return default
        return default if value is None and default is not None else value

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and (key in type(self).model_fields or key in (self.model_extra or {})) \
            and getattr(self, key, None) is not None

    def keys(self):
        return [k for k in type(self).model_fields if getattr(self, k) is not None]

    def items(self):
        return [(k, getattr(self, k)) for k in self.keys()]

    def __iter__(self) -> Iterator[str]:  # type: ignore[override]
        return iter(self.keys())


class Estimate(Record):
    """An estimate with its standard error, 95% interval and p-value (``None`` where not computed).

    ``interval`` says how the interval was made (``"normal"``, ``"t(df)"``, or why there is
    none); ``treated_clusters`` is the number of treated clusters it rests on.
    """

    estimate: float | None = None
    se: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    interval: str | None = None
    treated_clusters: int | None = None


class DaysPerPupil(Record):
    """An effect on an absence rate as days of school per pupil per year, with its interval."""

    estimate: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None


class Headline(Estimate):
    """The overall (simple) effect of a programme on one outcome."""

    n_treated: SchoolCount
    n_comparison: SchoolCount
    days_per_pupil: DaysPerPupil | None = None


class Component(Estimate):
    """One component of an aggregation: an event time (``event_study``) or a cohort (``by_wave``)."""

    component: float | None = None
    n: float | None = None


class Subgroup(Estimate):
    """The effect in a subgroup (phase, disadvantage), or why it was not estimated (``note``)."""

    group: str
    n_treated: SchoolCount
    note: str | None = None


class EstimatorRow(Estimate):
    """The overall effect by one estimator (the estimators compared side by side)."""

    estimator: str
    n_treated: SchoolCount | None = None
    n_comparison: SchoolCount | None = None
    days_per_pupil: DaysPerPupil | None = None


class Pretest(Record):
    """The pre-trend test (:func:`evaluate.did.pretest.small_sample_pretest`)."""

    statistic: float | None = None
    df: float | int | None = None
    df_denominator: int | None = None
    p_value: float | None = None
    wald: float | None = None
    treated_clusters: int | None = None
    tested: str | None = None
    note: str | None = None


class Confidence(Record):
    """The confidence rating and the checks behind it (:func:`evaluate.findings.confidence`)."""

    rating: Literal["high", "moderate", "low"]
    checks: dict[str, dict[str, Any]]


class BaconPart(Record):
    type: str
    estimate: float | None = None
    weight: float | None = None


class Bacon(Record):
    """The Goodman-Bacon decomposition of the two-way fixed effects estimate."""

    twfe: float | None = None
    n_schools: SchoolCount
    by_type: list[BaconPart]


class TrendPoint(Record):
    """Mean absence of treated or comparison schools in one year (matching-weighted when matched)."""

    group: str
    year: int
    mean: float | None = None


class OutcomeFindings(Record):
    """Everything the reports show about one outcome."""

    label: str
    scale: str
    headline: Headline
    event_study: list[Component]
    pretest: Pretest
    by_wave: list[Component]
    by_phase: list[Subgroup] = Field(default_factory=list)
    by_fsm: list[Subgroup] = Field(default_factory=list)
    estimators: list[EstimatorRow]
    estimator_errors: dict[str, str] = Field(default_factory=dict)
    bacon: Bacon | None = None
    trends: list[TrendPoint]
    confidence: Confidence
    dropped: dict[str, Any] = Field(default_factory=dict)


class DesignLevel(Record):
    """The design's level on the Maryland Scientific Methods Scale, and why."""

    level: int
    design: str
    reason: str


class Timing(Record):
    """How partly exposed years and schools were handled (:class:`evaluate.design.Design`)."""

    anticipation: int
    anticipation_setting: str | int
    partly_exposed: str
    partly_exposed_schools_left_out: int
    other_programme: str = "include"
    other_programme_schools_left_out: int = 0


class ProgrammeFindings(Record):
    """``results/<programme>.json``: every estimate a programme report shows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    programme: str
    cohort_column: str
    synthetic: bool
    design: DesignLevel
    cluster: str
    anticipation: int = 0
    estimator: str = "dr"
    settings: dict[str, Any] = Field(default_factory=dict)
    sessions_per_pupil: float | None = None
    years: list[int]
    cohorts: list[int]
    outcomes: dict[str, OutcomeFindings]
    matching: dict[str, Any] | None = None
    timing: Timing | None = None
    value: dict[str, Any] | None = None
    power: dict[str, Any] | None = None

    def outcome(self, name: str) -> OutcomeFindings:
        """The findings of one outcome (a clear error naming the outcomes there are)."""
        if name not in self.outcomes:
            from evaluate.errors import InputError

            raise InputError(f"no findings for outcome '{name}'; there are {', '.join(self.outcomes)}",
                             column=name)
        return self.outcomes[name]

    @property
    def headline_outcome(self) -> OutcomeFindings:
        """The headline outcome: overall absence when estimated, else the first outcome."""
        return self.outcomes.get("overall_absence_rate") or next(iter(self.outcomes.values()))


#: The key under which the publication gate records what it suppressed in a results file
#: (``evaluate.disclosure.publish.RECORD_KEY``; repeated here, the findings sit below disclosure).
DISCLOSURE_KEY = "_disclosure"

#: The records whose JSON Schema is written beside the results, by results file stem.
SCHEMAS: dict[str, type[BaseModel]] = {"programme_findings": ProgrammeFindings}


def write_schemas(folder: str | Path) -> list[Path]:
    """Write the JSON Schema of every results record to ``folder`` (``results/schema/``)."""
    from evaluate.io import write_json

    folder = Path(folder)
    out = []
    for name, model in SCHEMAS.items():
        schema = model.model_json_schema()
        # the publication gate's own record of what it suppressed (evaluate.disclosure.publish_json)
        schema.setdefault("properties", {})[DISCLOSURE_KEY] = {
            "type": "object", "title": "Disclosure record",
            "description": "What disclosure control suppressed in this file, and under which rules."}
        out.append(write_json(schema, folder / f"{name}.schema.json"))
    return out


def load_findings(data: str | Path | Mapping[str, Any]) -> ProgrammeFindings:
    """A :class:`ProgrammeFindings` from a results file or its parsed content (validated)."""
    if isinstance(data, (str, Path)):
        data = json.loads(Path(data).read_text(encoding="utf-8"))
    if isinstance(data, ProgrammeFindings):
        return data
    # the gate's record of suppressed cells is not part of the findings (the cells say "c")
    return ProgrammeFindings.model_validate({k: v for k, v in data.items() if k != DISCLOSURE_KEY})
