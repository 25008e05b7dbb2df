"""Robustness and sensitivity of a difference-in-differences estimate.

A thin front over small modules:

- ``placebo.py``: :func:`placebo_timing` (adoption moved earlier), :func:`placebo_outcome`,
  :func:`placebo_groups` (fake cohorts among never-treated units; permutation p-value);
- ``leave_one_out.py``: :func:`leave_one_out` (each hub, local authority or cohort in turn);
- ``heterogeneity.py``: :func:`heterogeneity` (effects by subgroup, Wald test of equality);
- ``comparison_groups.py``: :func:`alternative_comparisons` (never, not yet, matched,
  priority-area comparison units);
- ``power.py``: :func:`pretrend_power` and :func:`pretrend_power_cs` (Roth 2022);
- ``honest.py``: :func:`honest_did`, :func:`honest_did_cs` (HonestDiD, Rambachan and Roth 2023:
  relative magnitudes with ARP conditional / C-LF intervals, smoothness with the FLCI, the
  breakdown value).

Every function returns a frozen result with ``summary()``, ``to_frame()``, ``to_dict()``
and ``plot()``.
"""

from __future__ import annotations

from evaluate.sensitivity.comparison_groups import alternative_comparisons
from evaluate.sensitivity.heterogeneity import heterogeneity, wald_equality
from evaluate.sensitivity.honest import HonestResult, honest_did, honest_did_cs, honest_inputs
from evaluate.sensitivity.leave_one_out import leave_one_out
from evaluate.sensitivity.placebo import placebo_groups, placebo_outcome, placebo_timing
from evaluate.sensitivity.pretrend_power import pretrend_power, pretrend_power_cs

__all__ = [
    "HonestResult",
    "alternative_comparisons",
    "honest_did",
    "honest_did_cs",
    "honest_inputs",
    "heterogeneity",
    "leave_one_out",
    "placebo_groups",
    "placebo_outcome",
    "placebo_timing",
    "pretrend_power",
    "pretrend_power_cs",
    "wald_equality",
]
