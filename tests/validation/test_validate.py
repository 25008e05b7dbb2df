"""The known-truth grid, small: it runs end to end and its rules break loudly when the design does.

The full grid (100 replications per world, 3,000 schools) is run by ``evaluate validate``
and recorded in ``analysis/VALIDATION.md``; here 2 seeds x 3 worlds on 800-school
countries check, with wide margins, that the pipeline's answer is near the truth, that a
violated parallel trend is flagged and never rated high, and that the null world's truth is
zero. Each assertion fails if the design is broken by a wide margin (a sign error, a
contaminated base year, a truth computed on other schools).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from evaluate.config import Config
from evaluate.validation.summary import validate

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def grid():
    cfg = Config(base_dir=ROOT, output="work/test-validation/output", working="work/test-validation/work",
                 outcomes=("overall_absence_rate", "pa_rate"))
    return validate(cfg, worlds=["default", "null", "trend"], replications=2, schools=800, seed=7, jobs=1)


def test_every_run_completes_and_knows_its_truth(grid):
    assert grid["failures"] == []
    recs = pd.DataFrame(grid["records"])
    assert len(recs) == 3 * 2 * 2 * 2  # worlds x seeds x programmes x outcomes
    assert (recs["truth_missing"] == 0).all()
    assert (recs.loc[recs["world"] == "null", "truth"] == 0).all()
    assert (recs.loc[recs["world"] != "null", "truth"] < 0).all()  # the programmes lower absence
    # the same seed gives the same country in every world (common random numbers)
    seeds = recs.groupby("replication")["seed"].nunique()
    assert (seeds == 1).all()


def test_headlines_are_near_the_truth(grid):
    recs = pd.DataFrame(grid["records"])
    main = recs[(recs["programme"] == "hubs") & (recs["outcome"] == "overall_absence_rate")
                & recs["world"].isin(["default", "null"])]
    assert main["error"].abs().max() < 1.0
    assert (main["se"] > 0).all()


def test_a_violated_parallel_trend_is_flagged_and_never_rated_high(grid):
    recs = pd.DataFrame(grid["records"])
    trend = recs[(recs["world"] == "trend") & (recs["outcome"] == "overall_absence_rate")]
    hubs = trend[trend["programme"] == "hubs"]
    assert (hubs["pretest_p"].fillna(1) < 0.05).sum() + (hubs["rating"] == "low").sum() >= 1
    assert not (trend["rating"] == "high").any()


def test_every_world_publishes_through_the_disclosure_gate_cleanly(grid):
    # each replication publishes its results as the estimates stage does and audits the area;
    # a school or pupil count that escaped control (or a refused table) is listed here
    recs = pd.DataFrame(grid["records"])
    assert recs["disclosure_problems"].map(len).sum() == 0, recs["disclosure_problems"].explode().dropna().tolist()
    met = [c for c in grid["checks"] if c["target"].startswith("published results pass")]
    assert met and all(c["met"] for c in met)


def test_summary_and_targets_are_written_for_every_world(grid):
    worlds = {s["world"] for s in grid["summary"]}
    assert worlds == {"default", "null", "trend"}
    assert {c["world"] for c in grid["checks"]} >= {"default", "null", "trend"}
    json.dumps(grid)  # JSON-ready


def test_unknown_world_is_a_clear_error():
    from evaluate.errors import InputError

    with pytest.raises(InputError, match="unknown world"):
        validate(Config(base_dir=ROOT), worlds=["atlantis"], replications=1)


def test_replications_run_inside_the_configurations_working_area(grid):
    # not in the checkout's work/validation/, where a user's own `evaluate validate` run lives
    # (two runs sharing it removed each other's files)
    assert (ROOT / "work/test-validation/work/validation").is_dir()
