"""One design object, from ``evaluation.yml`` to the estimate a report shows.

A :class:`Design` holds every choice of one programme's difference-in-differences: the
columns (unit, time, cohort), the comparison pool, the 2x2 estimator, the anticipation
years and the schools left out of the comparison group (the timing), the cluster of the
standard errors and, for a matched design, how the comparison group is chosen
(:class:`Balancing`). It is built once, by :meth:`Design.from_config`, and every stage
and robustness check takes it:

>>> from evaluate.design import Design
>>> from evaluate.did import example_school_panel
>>> d = Design(programme="hubs", cohort="cohort")
>>> fit = d.fit(example_school_panel(), "overall_absence_rate")
>>> round(fit.aggregate("simple").overall_att, 2)
1.66
>>> d.to_dict()["cluster"], d.to_dict()["anticipation"]
('school_id', 0)

A setting's path is then short: ``matching.level`` in ``evaluation.yml`` ->
:class:`evaluate.config.MatchingSettings` -> ``Design.balancing.level`` ->
:meth:`Design.match` -> the matched sample -> :meth:`Design.fit` -> the headline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from evaluate.config import Config
    from evaluate.did.att_gt import ATTgtResult
    from evaluate.matching import CohortMatching

__all__ = ["Balancing", "Design", "PROGRAMME_COHORT", "PROGRAMME_FIRST_EXPOSED", "timing_of"]

#: The cohort column of each programme in the panel.
PROGRAMME_COHORT = {"hubs": "hub_cohort", "mentors": "mentor_cohort"}
#: The first-exposed-year column of each programme in the panel.
PROGRAMME_FIRST_EXPOSED = {"hubs": "hub_first_exposed_year", "mentors": "mentor_first_exposed_year"}


@dataclass(frozen=True)
class Balancing:
    """How a matched design chooses (or weights) each cohort's comparison schools.

    The fields are those of :func:`evaluate.matching.match_cohorts`; ``method`` is
    ``"nearest"`` (nearest-neighbour matching) or ``"entropy"`` (entropy balancing).
    """

    method: str = "nearest"
    outcomes: tuple[str, ...] = ("overall_absence_rate", "pa_rate")
    covariates: tuple[str, ...] = ("ofsted", "priority_area", "phase", "fsm_pct", "size", "region")
    exact: tuple[str, ...] = ("phase",)
    pre_years: int = 3
    level: str = "mean"
    terms: tuple[str, ...] = ("level", "trend")
    distance: str = "logit"
    ratio: int = 1
    replace: bool = False
    caliper: float | None = 0.2
    discard: str = "none"
    sd: str = "pooled"
    seed: int | None = None


@dataclass(frozen=True)
class Design:
    """Every choice of one programme's difference-in-differences (see the module docstring).

    Parameters
    ----------
    programme
        ``"hubs"`` or ``"mentors"`` (a label).
    cohort, unit, time
        Columns (cohort: first treated year, 0 = never).
    control
        ``"never"`` or ``"not_yet"`` treated comparison units.
    estimator
        Callaway-Sant'Anna's 2x2 estimator: ``"dr"``, ``"ipw"`` or ``"reg"``.
    anticipation
        Years before a cohort's first year that may carry part of the effect.
    excluded
        Units left out of the comparison group (exposed too late to form a cohort).
    cluster
        Cluster of the standard errors: a column, or ``"match_pair"`` (the matched set;
        the unit for unmatched fits). Default: the unit.
    balancing
        How the comparison group is chosen; ``None``: every never-treated unit.
    """

    programme: str
    cohort: str
    unit: str = "school_id"
    time: str = "year"
    control: str = "never"
    estimator: str = "dr"
    anticipation: int = 0
    base_period: str = "varying"
    excluded: tuple[Any, ...] = ()
    cluster: str | None = None
    weights: str | None = None
    balancing: Balancing | None = None
    settings: dict[str, Any] = field(default_factory=dict, compare=False)  # how it was set (recorded)

    @property
    def matched(self) -> bool:
        return self.balancing is not None

    def cluster_for(self, data: pd.DataFrame) -> str:
        """The cluster column to use on ``data`` (the unit when the design's cluster is not in it)."""
        cl = self.cluster or self.unit
        return cl if cl in data.columns else self.unit

    def cs_settings(self, outcome: str, *, data: pd.DataFrame | None = None) -> dict[str, Any]:
        """The keyword arguments of :func:`evaluate.did.callaway_santanna` (and of the sensitivity analyses)."""
        cl = self.cluster or self.unit
        if data is not None:
            cl = self.cluster_for(data)
        return dict(outcome=outcome, unit=self.unit, time=self.time, cohort=self.cohort, control=self.control,
                    estimator=self.estimator, anticipation=self.anticipation, base_period=self.base_period,
                    weights=self.weights, cluster=cl)

    def sample(self, panel: pd.DataFrame) -> pd.DataFrame:
        """``panel`` without the units left out of the comparison group."""
        if not self.excluded:
            return panel
        return panel[~panel[self.unit].isin(self.excluded)]

    def match(self, panel: pd.DataFrame, *, source: str | None = None) -> CohortMatching | None:
        """Each cohort's comparison group (``None`` for an unmatched design)."""
        if self.balancing is None:
            return None
        from evaluate.matching import match_cohorts

        b = self.balancing
        return match_cohorts(self.sample(panel), unit=self.unit, time=self.time, cohort=self.cohort,
                             outcomes=b.outcomes, covariates=b.covariates, exact=b.exact, control=self.control,
                             pre_years=b.pre_years, level=b.level, distance=b.distance, ratio=b.ratio,
                             replace=b.replace, caliper=b.caliper, discard=b.discard, sd=b.sd, seed=b.seed,
                             method=b.method, anticipation=self.anticipation, exclude=self.excluded,
                             terms=b.terms, source=source)

    def fit(self, panel: pd.DataFrame, outcome: str, *, matching: CohortMatching | None = None,
            stacked: pd.DataFrame | None = None) -> ATTgtResult:
        """The headline Callaway-Sant'Anna fit of ``outcome``: on the matched sub-experiments when matched."""
        from evaluate.did import callaway_santanna

        if self.balancing is not None:
            if stacked is None:
                from evaluate.matching.matched_did import stacked_panel

                matching = matching if matching is not None else self.match(panel)
                stacked = stacked_panel(self.sample(panel), matching)
            kw = self.cs_settings(outcome, data=stacked)
            kw.update(unit="stack_unit", weights="match_weight", subexperiment="stack")
            return callaway_santanna(stacked, **kw)
        data = self.sample(panel)
        return callaway_santanna(data, **self.cs_settings(outcome, data=data))

    def unmatched(self) -> Design:
        """The same design against every never-treated unit (no balancing, the unit as cluster if needed)."""
        return replace(self, balancing=None, cluster=None if self.cluster == "match_pair" else self.cluster)

    def to_dict(self) -> dict[str, Any]:
        """Every choice, JSON-ready (recorded with the results)."""
        out = asdict(self)
        out["cluster"] = self.cluster or self.unit
        out["excluded"] = len(self.excluded)
        out["balancing"] = None if self.balancing is None else asdict(self.balancing)
        return out

    @classmethod
    def from_config(cls, cfg: Config, programme: str, panel: pd.DataFrame) -> Design:
        """The design of ``programme`` configured in ``cfg``, its timing read from ``panel``.

        Matching (``matching:``) applies to the programmes in ``matching.programmes``;
        the cluster is ``matching.cluster`` for them, else the matched set for matched hubs,
        the school for unmatched hubs and the local authority for mentors
        (:func:`evaluate.pipeline.programme_cluster`).
        """
        m = cfg.matching
        timing = timing_of(panel, programme, anticipation=cfg.design.anticipation,
                           partly_exposed=cfg.design.partly_exposed, other_programme=cfg.design.other_programme)
        matched = m.enabled and programme in m.programmes
        balancing = None
        if matched:
            balancing = Balancing(method=m.method, outcomes=tuple(m.outcomes), covariates=tuple(m.covariates),
                                  exact=tuple(m.exact), pre_years=m.pre_years, level=m.level,
                                  terms=tuple(m.terms), distance=m.distance, ratio=m.ratio, replace=m.replace,
                                  caliper=m.caliper, discard=m.discard, sd=m.sd, seed=cfg.seed)
        return cls(programme=programme, cohort=PROGRAMME_COHORT[programme], control=m.control if matched else "never",
                   estimator=m.estimator if matched else "dr", anticipation=timing["anticipation"],
                   excluded=tuple(timing["excluded"]), cluster=_cluster(cfg, programme), balancing=balancing,
                   settings={"anticipation_setting": cfg.design.anticipation,
                             "partly_exposed": cfg.design.partly_exposed,
                             "other_programme": cfg.design.other_programme,
                             "partly_exposed_schools_left_out": timing["partly_exposed"],
                             "other_programme_schools_left_out": timing["other_programme"]})


def _cluster(cfg: Config, programme: str) -> str:
    m = cfg.matching
    if m.cluster and programme in m.programmes:
        return m.cluster
    if programme == "hubs":
        matched = m.enabled and programme in m.programmes
        return "match_pair" if matched and not m.replace and m.method == "nearest" else "school_id"
    return "la_code"


def timing_of(panel: pd.DataFrame, programme: str, *, anticipation: str | int = "auto",
              partly_exposed: str = "exclude", other_programme: str = "exclude", unit: str = "school_id",
              time: str = "year") -> dict[str, Any]:
    """The anticipation years and the units left out of one programme's comparison group.

    ``anticipation="auto"``: the largest gap between a treated unit's cohort and its first
    exposed year (0 when none was exposed before its cohort year). ``excluded``: with
    ``partly_exposed="exclude"``, the units first exposed inside the panel whose cohort lies
    beyond it; with ``other_programme="exclude"``, the would-be comparison units touched by
    the other programme (hub schools for mentors, mentor-area schools for hubs).

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluate.design import timing_of
    >>> p = pd.DataFrame({"school_id": [1, 2, 3, 4], "year": [2024] * 4, "hub_cohort": [2024, 0, 0, 0],
    ...                   "hub_first_exposed_year": [2023, 2024, 0, 0],
    ...                   "mentor_first_exposed_year": [0, 0, 2023, 0]})
    >>> timing_of(p, "hubs")
    {'anticipation': 1, 'excluded': [2, 3], 'partly_exposed': 1, 'other_programme': 1}
    """
    cohort, first = PROGRAMME_COHORT[programme], PROGRAMME_FIRST_EXPOSED[programme]
    last = int(panel[time].max())
    g = pd.to_numeric(panel[cohort], errors="coerce").fillna(0)
    f = pd.to_numeric(panel[first], errors="coerce").fillna(0) if first in panel else g
    a = anticipation
    if a == "auto":
        gap = (g - f)[(g > 0) & (g <= last) & (f > 0)]
        a = int(max(0, gap.max())) if len(gap) else 0
    never_own = (g == 0) | (g > last)
    late = (f > 0) & (f <= last) & never_own
    late_ids = set(panel.loc[late, unit].unique().tolist()) if partly_exposed == "exclude" else set()
    other = "mentors" if programme == "hubs" else "hubs"
    of = PROGRAMME_FIRST_EXPOSED[other]
    other_ids: set = set()
    if other_programme == "exclude" and of in panel:
        fo = pd.to_numeric(panel[of], errors="coerce").fillna(0)
        other_ids = set(panel.loc[never_own & (fo > 0) & (fo <= last), unit].unique().tolist()) - late_ids
    excluded = sorted(late_ids | other_ids)
    return {"anticipation": int(a), "excluded": [int(x) for x in np.asarray(excluded)],
            "partly_exposed": len(late_ids), "other_programme": len(other_ids)}


def designs_differ(a: Design, b: Design) -> Sequence[str]:
    """The fields in which two designs differ (for messages and tests)."""
    da, db = a.to_dict(), b.to_dict()
    return [k for k in da if da[k] != db.get(k)]
