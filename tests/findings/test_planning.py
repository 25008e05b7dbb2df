"""Value for money and power of a programme's results, against arithmetic."""

from __future__ import annotations

import pandas as pd
import pytest

from evaluate.findings.planning import power_findings, value_findings


def _panel():
    import numpy as np

    rng = np.random.default_rng(3)
    rows = []
    for sid, coh in ((1, 2023), (2, 2023), (3, 0), (4, 0)):
        for year in (2021, 2022, 2023, 2024):
            rows.append({"school_id": sid, "year": year, "c": coh, "enrolments": 500.0,
                         "sess_possible": 500.0 * 380, "overall_absence_rate": 5.0 + sid + rng.normal()})
    return pd.DataFrame(rows)


def test_cost_per_day_is_the_arithmetic_over_the_treated_schools():
    res = {"outcomes": {"overall_absence_rate": {"headline": {"estimate": -1.0, "ci_low": -1.5, "ci_high": -0.5}}}}
    v = value_findings(res, _panel(), cohort="c", cost=1_900_000, years=1)
    # 1,000 pupils x 380 sessions x 1% / 2 = 1,900 days; 1,900,000 / 1,900 = 1,000 pounds a day
    assert v["pupils"] == 1000 and v["total_days"] == pytest.approx(1900)
    assert v["cost_per_day"] == pytest.approx(1000)
    assert v["ci_low"] == pytest.approx(1900_000 / (1000 * 380 * 0.015 / 2))
    none = value_findings(res, _panel(), cohort="c", cost=None)
    assert none["cost"] is None and "no programme cost" in none["note"]


def test_power_findings_use_the_headline_sizes():
    res = {"cohorts": [2023], "outcomes": {"overall_absence_rate": {
        "label": "Overall absence rate", "headline": {"n_treated": 2, "n_comparison": 2}}}}
    p = power_findings(res, _panel(), cohort="c")
    assert p["pre"] == 2 and p["post"] == 2
    o = p["outcomes"]["overall_absence_rate"]
    assert o["mde"] > 0 and [r["effect"] for r in o["planning"]] == [0.1, 0.2, 0.5]


def test_break_even_effect_recovers_the_value_per_day():
    res = {"outcomes": {"overall_absence_rate": {"headline": {"estimate": -1.0, "ci_low": -1.5, "ci_high": -0.5}}}}
    v = value_findings(res, _panel(), cohort="c", cost=1_900_000, years=1, value_per_day=500.0)
    # at 500 pounds a day, 1,900,000 pounds buys 3,800 days: 2 pp over 1,000 pupils x 380 sessions / 2
    assert v["break_even_effect"] == pytest.approx(-2.0)
    from evaluate.report.planning import value_sentence

    assert value_sentence({"value": v}).endswith("breaks even at a fall of 2.00 percentage points in the "
                                                 "overall absence rate.")
