"""HonestDiD on a panel with a known violation of parallel trends (analysis/honest_simulation.py).

One large replication (20,000 units) of each of the script's two violation scenarios, with a
fixed seed, target the simple ATT (true value -0.5, a constant effect):

- ``linear``: the treated units trend 0.1 a period faster, before and after treatment.
  Smoothness holds at ``M = 0`` and relative magnitudes from ``Mbar = 1``, with the truth on
  the edge of the ``Mbar = 1`` identified set.
- ``jump``: flat, a one-off shift of 0.1 between the last two pre-periods, then a drift of
  0.1 a period. Relative magnitudes hold from ``Mbar = 1`` (truth on the edge again);
  smoothness only from ``M = 0.1``.

Asserted: the plain DiD interval misses -0.5 (it is biased by about +0.21), and so do the
intervals under a restriction that is false here (``Mbar`` 0 and 0.5; ``M = 0`` in
``jump``), while the intervals under a restriction that holds (``Mbar = 1``; ``M = 0`` in
``linear``, ``M = 0.1`` in ``jump``) contain it. Across 8 seeds every one of these held.

What a broken implementation would fail:

- an FLCI that does not extrapolate the pre-trend, or extrapolates it with the wrong sign
  or from the wrong reference period (``linear``, ``M = 0`` misses), or one that is too
  wide at ``M = 0`` (``jump``, ``M = 0`` covers);
- a relative-magnitudes interval that ignores ``Mbar`` or is too narrow (``Mbar = 1``
  misses, since the truth sits on the edge of its identified set), or too wide, for example
  ``Mbar`` scaled up (``Mbar = 0.5`` covers);
- :func:`honest_inputs` leaving out the wrong event time as the reference, misordering the
  pre-periods or mixing up the simple-ATT weights (the pre-trend no longer lines up with
  the post-period violation, and the ``M = 0`` interval moves off the truth).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
N_UNITS = 20_000
TRUTH = -0.5


@pytest.fixture(scope="module")
def sim():
    spec = importlib.util.spec_from_file_location("honest_simulation", ROOT / "analysis" / "honest_simulation.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["honest_simulation"] = mod
    spec.loader.exec_module(mod)
    return mod


def _intervals(sim, scenario: str) -> pd.DataFrame:
    panel = sim.simulate_panel(N_UNITS, np.random.default_rng([7, 0]), scenario)
    rows = pd.DataFrame(sim.fit_intervals(panel)).set_index("interval")
    rows["covers"] = (rows["ci_low"] <= TRUTH) & (rows["ci_high"] >= TRUTH)
    return rows


def test_true_bounds_of_the_planted_violations(sim):
    assert sim.true_bounds("parallel") == {"mbar_true": 0.0, "m_true": 0.0}
    assert sim.true_bounds("linear") == {"mbar_true": 1.0, "m_true": 0.0}
    assert sim.true_bounds("jump") == {"mbar_true": 1.0, "m_true": pytest.approx(0.1)}


@pytest.mark.parametrize("scenario, covers, misses", [
    ("linear", ["RM Mbar=1", "RM Mbar=1.5", "SD M=0", "SD M=0.1"], ["plain", "RM Mbar=0", "RM Mbar=0.5"]),
    ("jump", ["RM Mbar=1", "RM Mbar=1.5", "SD M=0.1"], ["plain", "RM Mbar=0", "RM Mbar=0.5", "SD M=0"]),
])
def test_right_restriction_covers_and_plain_interval_misses(sim, scenario, covers, misses):
    rows = _intervals(sim, scenario)
    assert rows.loc["plain", "ci_low"] > TRUTH  # biased upwards by the violation (about +0.21)
    assert rows.loc["plain", "original_gap"] < 1e-3  # HonestDiD's original interval is the same
    assert rows.loc[covers, "covers"].all(), rows.loc[covers, ["ci_low", "ci_high"]]
    assert not rows.loc[misses, "covers"].any(), rows.loc[misses, ["ci_low", "ci_high"]]
    # robust intervals widen with the restriction's bound
    rm = rows.loc[[f"RM Mbar={m:g}" for m in sim.MBAR]]
    sd = rows.loc[[f"SD M={m:g}" for m in sim.M_SD]]
    for t in (rm, sd):
        assert np.all(np.diff((t["ci_high"] - t["ci_low"]).to_numpy()) > 0)
