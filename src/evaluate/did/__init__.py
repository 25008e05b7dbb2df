"""Difference-in-differences estimators for staggered adoption.

The front is thin: each estimator lives in its own module; this file only re-exports.

- :func:`twfe` (``twfe.py``): two-way fixed effects by the within transformation.
- :func:`event_study` (``event_study.py``): leads and lags, binned end points.
- :func:`callaway_santanna` (``att_gt.py`` + ``aggregate.py``): group-time ATTs, then
  ``.aggregate("simple" | "group" | "dynamic" | "calendar")``.
- :func:`sun_abraham` (``sun_abraham.py``), :func:`imputation` (``imputation.py``).
- :func:`bacon_decomposition` (``bacon.py``).
- :func:`example_panel`, :func:`example_school_panel` (``examples.py``): small simulated panels for examples.
- Inference: ``inference.py`` (multiplier bootstrap of influence functions),
  ``wild_bootstrap.py`` (wild cluster bootstrap), ``randomization.py``.

Never treated is cohort 0; columns are passed by name; settings are keyword-only.
"""

from __future__ import annotations

# Imported eagerly: a lazy front would be shadowed by the submodules of the same name
# (importing ``evaluate.did.twfe`` sets the package attribute ``twfe`` to the module).
from evaluate.did.att_gt import ATTgtResult, callaway_santanna
from evaluate.did.bacon import BaconResult, bacon_decomposition
from evaluate.did.event_study import EventStudyResult, event_study
from evaluate.did.examples import example_panel, example_school_panel
from evaluate.did.imputation import ImputationResult, imputation
from evaluate.did.randomization import randomization_inference
from evaluate.did.results import TIDY_COLUMNS, DiDResult
from evaluate.did.sun_abraham import SunAbrahamResult, sun_abraham
from evaluate.did.twfe import TWFEResult, twfe
from evaluate.did.wild_bootstrap import wild_cluster_bootstrap

__all__ = [
    "TIDY_COLUMNS",
    "ATTgtResult",
    "BaconResult",
    "DiDResult",
    "EventStudyResult",
    "ImputationResult",
    "SunAbrahamResult",
    "TWFEResult",
    "bacon_decomposition",
    "callaway_santanna",
    "event_study",
    "example_panel",
    "example_school_panel",
    "imputation",
    "randomization_inference",
    "sun_abraham",
    "twfe",
    "wild_cluster_bootstrap",
]
