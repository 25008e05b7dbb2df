"""The matched staggered DiD: match each cohort, estimate on the matched sub-experiments, show balance.

Each cohort's matched sample (its treated units and their matched comparison units) is a
sub-experiment. The sub-experiments are stacked (a comparison unit matched to two cohorts
appears twice, under two stacked ids) and Callaway-Sant'Anna is estimated with
``subexperiment=`` so that each cohort is compared only with its own matched units, using
the matching weights as weights, with standard errors clustered on the original unit (or a
coarser cluster) to account for the reuse.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from evaluate.did.att_gt import ATTgtResult, callaway_santanna
from evaluate.errors import InputError
from evaluate.matching.cohorts import CohortMatching, match_cohorts

__all__ = ["MatchedDiDResult", "matched_did", "stacked_panel"]


def stacked_panel(panel: pd.DataFrame, matching: CohortMatching) -> pd.DataFrame:
    """The panel rows of every sub-experiment's matched units, with ``stack``, ``stack_unit``, ``match_weight``
    and ``match_pair`` (the matched set within its sub-experiment: a treated unit and its comparison units,
    the cluster of Abadie and Spiess (2022) for matching without replacement; the stacked unit itself when
    the matching has no matched sets, as with weighting or matching with replacement)."""
    unit = matching.settings["unit"]
    st = matching.stacked()
    out = st.merge(panel, on=unit, how="left", validate="many_to_many")
    out["stack_unit"] = out["stack"].astype(str) + ":" + out[unit].astype(str)
    sub = out["subclass"]
    out["match_pair"] = np.where(sub.notna(), out["stack"].astype(str) + ":set" + sub.fillna(0).astype(int).astype(str),
                                 out["stack_unit"])
    return out.rename(columns={"weight": "match_weight"}).drop(columns=["treated", "subclass"])


@dataclass(frozen=True, eq=False)
class MatchedDiDResult:
    """Matching, then DiD: the :class:`CohortMatching` and the Callaway-Sant'Anna result.

    ``did`` is an ordinary :class:`evaluate.did.ATTgtResult` (``aggregate(...)`` works as
    usual); ``unmatched`` is the same estimator on the whole panel, for comparison.

    Examples
    --------
    >>> from evaluate.did import example_panel
    >>> from evaluate.matching import matched_did
    >>> res = matched_did(example_panel(), outcome="y", unit="id", time="period",
    ...                   cohort="cohort", match_options={"outcomes": ["y"], "covariates": ["x"],
    ...                                                   "exact": (), "pre_years": 2, "seed": 0})
    >>> res.matching.cohorts
    [3, 4, 5]
    >>> res.to_frame().shape[0] > 0
    True
    """

    matching: CohortMatching
    did: ATTgtResult
    unmatched: ATTgtResult | None
    settings: Mapping[str, Any]

    def aggregate(self, kind: str = "simple", **kwargs):
        """Aggregate the matched ATT(g, t) (see :meth:`evaluate.did.ATTgtResult.aggregate`)."""
        return self.did.aggregate(kind, **kwargs)

    def to_frame(self) -> pd.DataFrame:
        """The matched ATT(g, t) tidy table."""
        return self.did.to_frame()

    def to_dict(self) -> dict[str, Any]:
        from evaluate.numbers import jsonable

        out = {"settings": dict(self.settings), "matching": self.matching.to_dict(), "did": self.did.to_dict(),
               "aggregations": {k: self.did.aggregate(k).to_dict() for k in ("simple", "group", "dynamic")}}
        if self.unmatched is not None:
            out["unmatched"] = {"did": self.unmatched.to_dict(),
                                "aggregations": {k: self.unmatched.aggregate(k).to_dict()
                                                 for k in ("simple", "group", "dynamic")}}
        return jsonable(out)

    def summary(self) -> str:
        simple = self.did.aggregate("simple")
        lines = [self.matching.summary(), "", "matched DiD:", simple.summary()]
        if self.unmatched is not None:
            lines += ["", "unmatched DiD (same estimator, whole panel):", self.unmatched.aggregate("simple").summary()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def plot(self, *, caption: str | None = None):
        """The matched event study (dynamic aggregation)."""
        fig = self.did.aggregate("dynamic").plot(title="Matched DiD: effect by years since joining",
                                                 xlabel="Years since joining", ylabel="Effect")
        if caption:
            fig.text(0.01, 0.005, caption, fontsize=8, ha="left", va="bottom")
        return fig


def matched_did(panel: pd.DataFrame, *, outcome: str, unit: str, time: str, cohort: str,
                matching: CohortMatching | None = None, match_options: Mapping[str, Any] | None = None,
                covariates: Sequence[str] = (), estimator: str = "dr", cluster: str | None = None,
                bootstrap: int = 0, seed: int | None = None, compare_unmatched: bool = True,
                anticipation: int | None = None) -> MatchedDiDResult:
    """Match each cohort on its pre-period, then estimate Callaway-Sant'Anna on the matched sample.

    Parameters
    ----------
    panel
        Long panel, one row per unit and year.
    outcome, unit, time, cohort
        Columns (``cohort`` = first treated year, 0 = never).
    matching
        A :class:`CohortMatching` already computed; otherwise :func:`match_cohorts` is run with
        ``match_options``.
    covariates
        Covariates of the DiD estimator (the matching already balances the pre-period).
    estimator
        ``"dr"``, ``"ipw"`` or ``"reg"`` (see :func:`evaluate.did.callaway_santanna`).
    cluster
        Cluster column (constant within unit); default: the unit itself, so a comparison unit
        reused across cohorts is one cluster.
    bootstrap, seed
        Multiplier bootstrap draws and seed.
    compare_unmatched
        Also estimate on the whole panel (never or not-yet treated comparison, unweighted).
    anticipation
        Periods of anticipation of Callaway-Sant'Anna (default: the matching's own, so the
        base period is the last year the matching used).

    Examples
    --------
    Callaway and Sant'Anna on the matched sample, next to the unmatched estimate:

    >>> from evaluate.did import example_panel
    >>> from evaluate.matching import matched_did
    >>> res = matched_did(example_panel(), outcome="y", unit="id", time="period",
    ...                   cohort="cohort", match_options={"outcomes": ["y"], "covariates": ["x"],
    ...                                                   "exact": (), "pre_years": 2, "seed": 0})
    >>> round(float(res.aggregate("simple").estimates["overall"]), 2)
    1.65
    >>> round(float(res.unmatched.aggregate("simple").estimates["overall"]), 2)
    1.66
    """
    if matching is None:
        matching = match_cohorts(panel, unit=unit, time=time, cohort=cohort, **dict(match_options or {}))
    if matching.settings["unit"] != unit or matching.settings["cohort"] != cohort:
        raise InputError("the matching was made with other unit or cohort columns", column=unit)
    control = matching.settings["control"]
    if anticipation is None:
        anticipation = int(matching.settings.get("anticipation", 0))
    stack = stacked_panel(panel, matching)
    cl = cluster or unit
    did = callaway_santanna(stack, outcome=outcome, unit="stack_unit", time=time, cohort=cohort,
                            covariates=covariates, control=control, estimator=estimator, weights="match_weight",
                            cluster=cl, subexperiment="stack", bootstrap=bootstrap, seed=seed,
                            anticipation=anticipation)
    unmatched = None
    if compare_unmatched:
        unmatched = callaway_santanna(panel, outcome=outcome, unit=unit, time=time, cohort=cohort,
                                      covariates=covariates, control=control, estimator=estimator,
                                      cluster=cluster if cluster in panel.columns else None, bootstrap=bootstrap, seed=seed, anticipation=anticipation)
    settings = dict(outcome=outcome, unit=unit, time=time, cohort=cohort, covariates=list(covariates),
                    estimator=estimator, cluster=cl, bootstrap=int(bootstrap), seed=seed, control=control,
                    anticipation=int(anticipation))
    return MatchedDiDResult(matching, did, unmatched, settings)
