"""Tables: DfE rounding in cells, captions, and golden files for rendered Markdown.

Set UPDATE_GOLDEN=1 to rewrite the golden files after an intended change.
"""

import os
from pathlib import Path

import pandas as pd
import pytest

from evaluate.report import tables

GOLDEN = Path(__file__).parent / "golden"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") or not path.exists():
        path.write_text(text, encoding="utf-8")
        if not os.environ.get("UPDATE_GOLDEN"):
            pytest.fail(f"golden file {name} was missing and has been written; rerun")
    assert text == path.read_text(encoding="utf-8")


def test_markdown_table_rounds_half_up_and_aligns():
    df = pd.DataFrame({"name": ["a|b", "c"], "rate": [0.125, 2.5], "n": [1234, 5]})
    md = tables.markdown_table(df, formats={"rate": "num2"}, caption="Cap.", label="tbl-x")
    assert md.splitlines()[:4] == [
        "| name | rate | n |",
        "|:---|---:|---:|",
        "| a\\|b | 0.13 | 1,234 |",
        "| c | 2.50 | 5 |",
    ]
    assert md.rstrip().endswith(": Cap. {#tbl-x}")


def test_label_must_be_a_table_label():
    with pytest.raises(ValueError):
        tables.markdown_table(pd.DataFrame({"a": [1]}), label="fig-x")


def test_golden_attrition(dq):
    check_golden("attrition_table.md", tables.attrition_table(dq["attrition"], synthetic=True))


def test_golden_national(dq):
    check_golden("national_table.md", tables.national_table(dq["national"], synthetic=True))


def test_golden_programmes(dq):
    check_golden("programmes_table.md", tables.programmes_table(dq["programmes"], synthetic=False))


def test_attrition_counts_add_up_in_fixture(dq):
    steps = dq["attrition"]
    assert all(s["rows_before"] - s["rows_after"] == s["dropped"] for s in steps)
    assert steps[0]["rows_before"] - sum(s["dropped"] for s in steps) == steps[-1]["rows_after"]


def test_matching_counts_table_lists_every_reason_and_labels_synthetic():
    from evaluate.report.sentences import SYNTHETIC_LABEL
    from evaluate.report.tables import matching_counts_table

    counts = [{"cohort": 2023, "treated": 740, "treated_matched": 537, "treated_dropped_caliper": 203,
               "comparison": 19194, "comparison_matched": 537},
              {"cohort": 2022, "treated": 2, "treated_matched": 0, "treated_dropped_cohort_unmatched": 2,
               "comparison": 519, "comparison_matched": 0}]
    md = matching_counts_table(counts, programme="hub", synthetic=True)
    lines = md.splitlines()
    assert lines[0] == ("| Cohort | Treated schools | Matched | Left out: no comparison school within the caliper "
                        "| Left out: cohort could not be matched | Comparison candidates | Comparison schools used |")
    assert lines[2] == "| 2023/24 | 740 | 537 | 203 | 0 | 19,194 | 537 |"
    assert lines[3] == "| 2022/23 | 2 | 0 | 0 | 2 | 519 | 0 |"
    assert SYNTHETIC_LABEL in md and "{#tbl-matching}" in md


def _programme_results() -> dict:
    def outcome(label, est, lo, hi, days=None, rating="moderate"):
        h = {"estimate": est, "ci_low": lo, "ci_high": hi, "n_treated": 1771, "n_comparison": 1553}
        if days:
            h["days_per_pupil"] = days
        return {"label": label, "headline": h, "confidence": {"rating": rating},
                "estimators": [{"estimator": "Callaway-Sant'Anna (matched)", "estimate": est, "ci_low": lo,
                                "ci_high": hi},
                               {"estimator": "Two-way fixed effects", "estimate": 0.0905, "ci_low": -0.0085,
                                "ci_high": 0.1895}],
                "by_phase": [{"group": "State-funded primary", "n_treated": 1258, "estimate": -0.40224,
                              "ci_low": -0.51665, "ci_high": -0.28783},
                             {"group": "Special", "n_treated": 12, "note": "fewer than 20 treated schools"}]}
    return {"programme": "hubs", "design": {"design": "difference-in-differences against matched comparison "
                                            "schools", "level": 3, "reason": "r"},
            "outcomes": {"overall_absence_rate": outcome("Overall absence rate", -0.6483, -0.8040, -0.4925,
                                                         {"estimate": -1.1994, "ci_low": -1.4877, "ci_high": -0.9112},
                                                         "low"),
                         "pa_rate": outcome("Persistent absence", -1.65, -2.25, -1.05)}}


def test_programme_tables_golden():
    from evaluate.report import findings

    res = _programme_results()
    check_golden("headline_table.md", findings.headline_table(res, synthetic=True))
    o = res["outcomes"]["overall_absence_rate"]
    check_golden("estimators_table.md", findings.estimators_table(o, synthetic=True))
    check_golden("phase_table.md", findings.subgroup_table(o, "by_phase", synthetic=True, label="tbl-phase"))
