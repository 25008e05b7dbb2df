"""Smoke test of analysis/mentoring_rtm.py: tiny replications run, tables have their rows, and the
headline (the naive numbers look like success under the null) already shows.

Two replications of small panels, so it takes a few seconds; bias and coverage are the
script's business (analysis/MENTORING_RTM.md), not this test's.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rtm():
    spec = importlib.util.spec_from_file_location("mentoring_rtm", ROOT / "analysis" / "mentoring_rtm.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["mentoring_rtm"] = mod  # dataclasses resolve the module by name
    spec.loader.exec_module(mod)
    return mod


def test_tiny_run(rtm):
    res, shares = rtm.run(2, 7, 6000, rtm.SCENARIOS["null"])
    again, _ = rtm.run(2, 7, 6000, rtm.SCENARIOS["null"])
    pd.testing.assert_frame_equal(res, again)  # deterministic
    assert set(res["estimator"]) == set(rtm.ESTIMATORS)
    assert len(res) == 2 * len(rtm.ESTIMATORS)
    assert (res["truth"] == 0).all() and res["se"].gt(0).all()
    summary = rtm.summarise(res)
    assert len(summary) == len(rtm.ESTIMATORS)
    ba = summary.set_index("estimator").loc["before-after"]
    assert ba["bias"] < -2 and ba["coverage"] == 0  # regression to the mean, no effect
    tab = rtm.shares_table(shares)
    assert tab.loc[0, "naive"] > 0.55 and tab.loc[0, "naive"] == tab.loc[0, "without_mentoring"]
    md = rtm.to_markdown(summary, tab)
    assert md.count("| null |") == len(rtm.ESTIMATORS) + 1


def test_cli_rejects_unknown_scenario(rtm):
    with pytest.raises(SystemExit):
        rtm.main(["--reps", "1", "--scenarios", "nonsense"])
