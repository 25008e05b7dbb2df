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
