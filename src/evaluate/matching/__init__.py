"""Matched comparison groups for a staggered rollout, their balance, and the matched DiD.

A thin front over small modules:

- :func:`propensity_score` (``propensity.py``): a logit of treatment on covariates (statsmodels).
- :func:`nearest_neighbour` (``nearest.py``): k:1 nearest-neighbour matching on the
  propensity score, its logit or the Mahalanobis distance, with exact blocks, a caliper,
  with or without replacement, and common-support discarding; returns a :class:`MatchResult`.
- :func:`balance_table` (``balance.py``): standardised mean differences, variance ratios and
  eCDF distances before and after matching; a :class:`BalanceResult` with a Love plot.
- :func:`match_cohorts` (``cohorts.py``): each adoption cohort matched on its own
  pre-period (absence levels and trends before it joined).
- :func:`matched_did` (``matched_did.py``): match, then Callaway-Sant'Anna on the stacked
  matched sub-experiments with the matching weights, then balance.
"""

from __future__ import annotations

from evaluate.matching.balance import BalanceResult, balance_table
from evaluate.matching.cohorts import CohortMatching, match_cohorts
from evaluate.matching.matched_did import MatchedDiDResult, matched_did
from evaluate.matching.nearest import MatchResult, nearest_neighbour
from evaluate.matching.propensity import PropensityScore, design_matrix, propensity_score

__all__ = [
    "BalanceResult",
    "CohortMatching",
    "MatchResult",
    "MatchedDiDResult",
    "PropensityScore",
    "balance_table",
    "design_matrix",
    "match_cohorts",
    "matched_did",
    "nearest_neighbour",
    "propensity_score",
]
