"""The robustness verdict and annex tables, on hand-made robustness results."""

from __future__ import annotations

from evaluate.report import robustness


def _rob(**over):
    rob = {
        "placebo_timing": [{"shift": 1, "cohorts": "2023->2022", "estimate": 0.012, "ci_low": -0.1, "ci_high": 0.124}],
        "leave_one_out": {"group": "hub_id", "table": [{}, {}, {}], "min": -0.96, "max": -0.81, "min_group": "H23",
                          "max_group": "H00", "full_estimate": -0.93, "sign_changes": 0, "significance_changes": 0},
        "heterogeneity": {"phase": {"table": [{"term": "Primary", "estimate": -0.5}, {"term": "Secondary", "estimate": -1.5}],
                                    "test": {"statistic": 25.6, "df": 1.0, "p_value": 0.0000004}}},
        "comparisons": [{"term": "never", "description": "never-treated schools", "estimate": -0.93, "ci_low": -1.19,
                         "ci_high": -0.66, "n_comparison": 18292}],
        "pretrend_power": {"table": [{"power": 0.5, "estimate": 0.019, "bias_post": 0.03},
                                     {"power": 0.8, "estimate": 0.026, "bias_post": 0.045}],
                           "pretest": {"p_value": 0.2}},
        "honest": None, "errors": {},
    }
    rob.update(over)
    return rob


def test_verdict_prefers_the_honest_breakdown_and_falls_back_to_power():
    v = robustness.verdict(_rob())
    assert v == ("The pre-trend test would detect, with 80% power, a steady difference in trends of 0.03 "
                 "percentage points a year; a difference that size would shift the estimate by 0.05 points.")
    h = {"table": [], "breakdown": {"value": 1.25, "restriction": "relative magnitudes"}}
    v = robustness.verdict(_rob(honest=h))
    assert v.startswith("The result holds unless the difference in trends after joining was more than 1.25 times")


def test_leave_one_out_and_tables():
    s = robustness.leave_one_out_sentence(_rob())
    assert s == ("Leaving out one hub at a time (3 re-estimates), the effect ranges from -0.96 (without H23) to "
                 "-0.81 (without H00), against -0.93 with all. No single one changes the sign of the effect.")
    t = robustness.heterogeneity_table(_rob(), synthetic=True, label="tbl-h")
    assert "| Phase | 2 | -1.50 (Secondary) | -0.50 (Primary) | chi-squared 25.6, 1 df, p < 0.001 |" in t
    p = robustness.placebo_table(_rob(), synthetic=False, label="tbl-p")
    assert "| 1 observed year | 2023 to 2022 | 0.01 | -0.10 to 0.12 |" in p
    assert robustness.honest_table(_rob(), synthetic=True, label="tbl-x").startswith("The HonestDiD")


def test_no_breakdown_claim_when_the_original_interval_includes_zero():
    h = {"table": [], "original": {"estimate": -0.77, "ci_low": -1.55, "ci_high": 0.0055},
         "breakdown": {"value": 0.02, "restriction": "relative magnitudes"}}
    v = robustness.verdict(_rob(honest=h))
    assert v.startswith("The estimate's 95% interval already includes no effect")
