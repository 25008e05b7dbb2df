"""Difference-in-differences estimators for staggered adoption.

The front is thin: each estimator lives in its own module and is imported on first use.

- :func:`twfe` (``twfe.py``): two-way fixed effects by the within transformation.
- :func:`event_study` (``event_study.py``): leads and lags, binned end points.
- :func:`callaway_santanna` (``att_gt.py`` + ``aggregate.py``): group-time ATTs, then
  ``.aggregate("simple" | "group" | "dynamic" | "calendar")``.
- :func:`sun_abraham` (``sun_abraham.py``), :func:`imputation` (``imputation.py``).
- :func:`bacon_decomposition` (``bacon.py``).
- Inference: ``inference.py`` (multiplier bootstrap of influence functions),
  ``wild_bootstrap.py`` (wild cluster bootstrap), ``randomization.py``.

Never treated is cohort 0; columns are passed by name; settings are keyword-only.
"""

from __future__ import annotations

import importlib
from typing import Any

from evaluate.did.results import TIDY_COLUMNS, DiDResult

_API = {
    "twfe": "evaluate.did.twfe",
    "event_study": "evaluate.did.event_study",
    "callaway_santanna": "evaluate.did.att_gt",
    "sun_abraham": "evaluate.did.sun_abraham",
    "imputation": "evaluate.did.imputation",
    "bacon_decomposition": "evaluate.did.bacon",
    "wild_cluster_bootstrap": "evaluate.did.wild_bootstrap",
    "randomization_inference": "evaluate.did.randomization",
}

__all__ = ["TIDY_COLUMNS", "DiDResult", *_API]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'evaluate.did' has no attribute {name!r}")
