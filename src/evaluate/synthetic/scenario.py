"""Worlds with a known answer: the scenario knobs of synthetic England.

A :class:`Scenario` changes how the synthetic country is generated so that the whole
pipeline can be checked against a world whose answer is known (``evaluate validate``):

- ``effect_scale`` multiplies every programme effect (both hubs and mentors; ``0`` is the
  *null world*, in which no programme does anything);
- ``selection_scale`` multiplies the selection of hub members (and leads) on prior
  absence, free school meals, priority-area status and region (``0``: members drawn at
  random from the eligible schools of their phase);
- ``unobserved_trend`` gives every programme school (hub leads and members, schools of
  mentor areas) a linear downward trend in absence of this many percentage points a year,
  over all years, that nothing observed explains: a violation of parallel trends. It acts
  on the untreated and treated outcomes alike, so the true effects do not change;
- ``heterogeneity=False`` makes the programme effects constant on the logit scale: the
  same in every wave, phase and year of exposure (no growth), so that two-way fixed
  effects are unbiased too.

The default scenario reproduces the default world byte for byte (a test pins the file
hashes), so adding the knobs changed nothing for anyone who does not use them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Scenario", "DEFAULT_SCENARIO", "TREND_CENTRE"]

#: The academic year at which the unobserved trend is zero (the middle of the panel).
TREND_CENTRE = 2020


@dataclass(frozen=True)
class Scenario:
    """How a synthetic world departs from the default (see the module docstring).

    Examples
    --------
    >>> from evaluate.synthetic.scenario import Scenario
    >>> Scenario().is_default
    True
    >>> Scenario(effect_scale=0).name
    'effect_scale=0'
    >>> Scenario(unobserved_trend=0.3, heterogeneity=False).name
    'unobserved_trend=0.3, no_heterogeneity'
    """

    effect_scale: float = 1.0
    selection_scale: float = 1.0
    unobserved_trend: float = 0.0
    heterogeneity: bool = True

    def __post_init__(self) -> None:
        for name in ("effect_scale", "selection_scale", "unobserved_trend"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"{name} must be a number, not {value!r}")
            object.__setattr__(self, name, float(value))
        if self.effect_scale < 0:
            raise ValueError("effect_scale must be 0 or more")
        if self.selection_scale < 0:
            raise ValueError("selection_scale must be 0 or more")
        if not isinstance(self.heterogeneity, bool):
            raise TypeError("heterogeneity must be true or false")

    @property
    def is_default(self) -> bool:
        """Whether this is the default world."""
        return self == Scenario()

    @property
    def name(self) -> str:
        """A short label listing what differs from the default (``"default"`` if nothing)."""
        parts = [f"{k}={_num(v)}" for k, v in asdict(self).items()
                 if k != "heterogeneity" and v != getattr(DEFAULT_SCENARIO, k)]
        if not self.heterogeneity:
            parts.append("no_heterogeneity")
        return ", ".join(parts) or "default"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready settings."""
        return asdict(self)


def _num(v: float) -> str:
    return f"{v:g}"


DEFAULT_SCENARIO = Scenario()
