"""Synthetic control and synthetic difference in differences for few treated areas.

(``evaluate.synthetic`` is the synthetic-England data generator; this is the estimator family.)

- :func:`synthetic_control` (``model.py``): Abadie, Diamond and Hainmueller (2010) weights on
  pre-period outcomes, per cohort, with placebo-in-space p-values (RMSPE ratio rank).
- :func:`synthetic_did` (``model.py``): Arkhangelsky et al. (2021) as R ``synthdid``, per cohort,
  with placebo-in-space p-values (rank of ``|tau|``), placebo or jackknife standard errors.
- :func:`placebo_in_space` (``placebo.py``): every donor in turn, as a table.
- :class:`SynthResult` (``results.py``), :func:`example_la_panel` (``examples.py``).
- Solvers: ``weights.py`` (Frank-Wolfe as synthdid, exact simplex QP), ``core.py`` (one
  matrix), ``refits.py`` (placebo refits, batched).
"""

from __future__ import annotations

from evaluate.synthcontrol.examples import example_la_panel
from evaluate.synthcontrol.model import synthetic_control, synthetic_did
from evaluate.synthcontrol.placebo import placebo_in_space
from evaluate.synthcontrol.results import SynthResult

__all__ = ["SynthResult", "example_la_panel", "placebo_in_space", "synthetic_control", "synthetic_did"]
