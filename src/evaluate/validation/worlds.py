"""The grid of worlds ``evaluate validate`` runs, and what must hold in each.

Each world is a :class:`evaluate.synthetic.scenario.Scenario`. The targets are those of
the project's validation issue, stated once here and printed by the validation report.
"""

from __future__ import annotations

from dataclasses import dataclass

from evaluate.synthetic.scenario import Scenario

__all__ = ["World", "WORLDS", "DEFAULT_WORLDS", "TARGETS"]


@dataclass(frozen=True)
class World:
    """A named scenario and what it is for."""

    name: str
    scenario: Scenario
    purpose: str


WORLDS: dict[str, World] = {w.name: w for w in (
    World("default", Scenario(),
          "the default synthetic England: selection on prior absence, effects that vary by wave, phase and "
          "exposure; headline bias and coverage"),
    World("null", Scenario(effect_scale=0),
          "no programme does anything (same selection): the interval should include 0 in 95% of runs and the "
          "key finding say no detectable effect"),
    World("trend", Scenario(unobserved_trend=0.3),
          "programme schools' absence falls 0.3 points a year more than other schools' for reasons nothing "
          "observed explains (parallel trends fail): the design should flag it and never rate it high"),
    World("parallel", Scenario(selection_scale=0),
          "members drawn at random (parallel trends hold by construction): the pre-trend test should reject "
          "in about 5% of runs"),
    World("homogeneous", Scenario(heterogeneity=False),
          "one effect on the logit scale for every wave, phase and year: every estimator, two-way fixed "
          "effects included, should agree"),
)}

#: The worlds run when none are named.
DEFAULT_WORLDS: tuple[str, ...] = ("default", "null", "trend", "parallel")

#: What must hold, by world (checked by :func:`evaluate.validation.summary.check_targets`).
TARGETS: dict[str, str] = {
    "default": "each headline outcome: |bias| <= 0.05 pp; coverage of the 95% interval 93-97% over >= 100 runs",
    "null": "the interval includes 0 in 93-97% of runs, and the key finding says no detectable effect as often",
    "trend": "the pre-trend test, HonestDiD or the rating flags it in >= 80% of runs; never rated high confidence",
    "parallel": "the pre-trend test rejects in 3-8% of runs",
    "every world": "after matching or weighting, |SMD| <= 0.1 for every covariate of every cohort with >= 30 "
                   "treated schools, or the report names the cohort that fails",
    "disclosure": "every run's published results pass the disclosure audit (the publication gate and "
                  "check_publication_area)",
}
