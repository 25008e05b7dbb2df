"""Selection on prior absence: the unmatched DiD is biased, the matched DiD is not.

One replication of the ``observed`` scenario of ``analysis/matching_simulation.py`` (the
generator is imported from there) with 20,000 schools: schools join because their 2021
absence was high, absence mean-reverts, and the true effect is -0.5 points in every treated
year. The unmatched Callaway-Sant'Anna simple ATT credits the mean reversion to the
programme (about -0.8, more than 15 standard errors from -0.5); the matched one
(:func:`evaluate.matching.matched_did` with the default matching) compares joiners with
schools of the same prior absence and lands within a standard error or so of -0.5.

What these tests catch
    * ``test_matched_did_removes_the_bias_of_selection_on_prior_absence`` fails if the
      matched DiD stops removing the bias (checked by hand on this panel at commit 986d9a4,
      where the correct code is 1.9 SEs off): if the cohort matching no longer uses the pre-period absence
      (matching on the characteristics alone: 14.5 SEs off), if it reads the levels and
      trends one year late, so that they include the first treated year (4.4 SEs off), if
      the stacked estimation ignores its sub-experiments and compares every cohort with the
      matched comparison schools of all cohorts (3.2 SEs off), or if the stacked ATT is
      mis-aggregated (a sign or weight error moves it by far more than 3 SEs); and it fails
      if the generator stops producing the bias it is meant to show (the unmatched check,
      17 SEs off). The sub-experiment margin is narrow: a milder error of that kind could
      pass.
    * ``test_matching_on_characteristics_only_leaves_the_bias`` checks that the first test
      can tell the two apart: matching on the characteristics alone (no pre-period
      absence) leaves the unmatched bias nearly intact, so a matching that silently
      ignored absence would fail the first test.
    * ``test_generator_is_deterministic`` fails if the script's results stop being
      reproducible from its seed.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluate.matching import matched_did

SCRIPT = Path(__file__).resolve().parents[2] / "analysis" / "matching_simulation.py"
N_SCHOOLS = 20_000
SEED = 20250611


@pytest.fixture(scope="module")
def sim():
    spec = importlib.util.spec_from_file_location("matching_simulation", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["matching_simulation"] = mod  # dataclasses resolve the module by name
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def panel(sim) -> pd.DataFrame:
    return sim.simulate_panel(N_SCHOOLS, np.random.default_rng([SEED, 0, 0]), sim.SCENARIOS["observed"])


@pytest.fixture(scope="module")
def estimates(sim, panel) -> dict[str, dict]:
    return {r["estimator"]: r for r in sim.estimate(panel)}


def test_panel_has_the_design(sim, panel):
    years = sorted(panel["year"].unique())
    assert years == [2016, 2017, 2018, 2021, 2022, 2023, 2024]
    assert sorted(panel["cohort"].unique()) == [0, 2022, 2023, 2024]
    assert panel.groupby("urn").size().eq(len(years)).all()
    for c in ("overall_absence_rate", "pa_rate", "ofsted", "priority_area", "phase", "fsm_pct", "size", "region"):
        assert c in panel.columns and panel[c].notna().all()
    # joiners had higher prior (2021) absence than never-treated schools
    y21 = panel.loc[panel["year"] == 2021].groupby(panel["cohort"] > 0)["overall_absence_rate"].mean()
    assert y21[True] - y21[False] > 0.5


def test_matched_did_removes_the_bias_of_selection_on_prior_absence(sim, estimates):
    truth = sim.TRUE_ATT
    um, m = estimates["unmatched"], estimates["matched"]
    z_um = (um["estimate"] - truth) / um["se"]
    z_m = (m["estimate"] - truth) / m["se"]
    # the unmatched DiD credits the mean reversion of high-absence joiners to the programme
    assert z_um < -4, f"unmatched {um['estimate']:.4f} (SE {um['se']:.4f}) is not biased downwards"
    assert um["estimate"] - truth < -0.15
    # the matched DiD is within 3 SEs of the truth, and nearly every joiner is matched
    assert abs(z_m) < 3, f"matched {m['estimate']:.4f} (SE {m['se']:.4f}) is {z_m:.1f} SEs from {truth}"
    assert m["matched_share"] > 0.9
    # and it is not merely noisier: its error is a small fraction of the unmatched bias
    assert abs(m["estimate"] - truth) < 0.25 * abs(um["estimate"] - truth)


def test_matching_on_characteristics_only_leaves_the_bias(sim, panel):
    res = matched_did(panel, outcome=sim.OUTCOME, unit=sim.UNIT, time=sim.TIME, cohort=sim.COHORT,
                      match_options={"outcomes": ()}, compare_unmatched=False).aggregate("simple")
    assert (res.overall_att - sim.TRUE_ATT) / res.overall_se < -4


def test_generator_is_deterministic(sim):
    sc = sim.SCENARIOS["observed"]
    a = sim.simulate_panel(300, np.random.default_rng([1, 2, 3]), sc)
    b = sim.simulate_panel(300, np.random.default_rng([1, 2, 3]), sc)
    c = sim.simulate_panel(300, np.random.default_rng([1, 2, 4]), sc)
    pd.testing.assert_frame_equal(a, b)
    assert not a["overall_absence_rate"].equals(c["overall_absence_rate"])
