"""A saved matching reads back equal: later stages use the sample the match stage made."""

from __future__ import annotations

import pandas as pd

from evaluate.did import example_panel
from evaluate.matching import CohortMatching, match_cohorts, matched_did


def test_save_and_load_give_the_same_matching_and_estimate(tmp_path):
    panel = example_panel()
    cm = match_cohorts(panel, unit="id", time="period", cohort="cohort", outcomes=["y"], covariates=["x"],
                       exact=(), pre_years=2, seed=0)
    back = CohortMatching.load(cm.save(tmp_path / "m"))
    pd.testing.assert_frame_equal(cm.stacked(), back.stacked())
    pd.testing.assert_frame_equal(cm.counts(), back.counts())
    pd.testing.assert_frame_equal(cm.to_frame(), back.to_frame())
    assert dict(cm.settings) == dict(back.settings)
    a = matched_did(panel, outcome="y", unit="id", time="period", cohort="cohort", matching=cm)
    b = matched_did(panel, outcome="y", unit="id", time="period", cohort="cohort", matching=back)
    assert a.aggregate("simple").overall_att == b.aggregate("simple").overall_att
    assert cm.to_dict() == back.to_dict()
