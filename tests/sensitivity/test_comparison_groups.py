"""The effect against never-treated, not-yet-treated, matched and priority-area comparison units."""

from __future__ import annotations

import matplotlib.figure
import pytest
from tests.sensitivity._panel import simulate_panel

from evaluate.did import callaway_santanna
from evaluate.errors import InputError
from evaluate.matching import matched_did
from evaluate.sensitivity.comparison_groups import alternative_comparisons

CS = dict(outcome="overall_absence_rate", unit="school_id", time="year", cohort="hub_cohort")


@pytest.fixture(scope="module")
def panel():
    return simulate_panel(1500, seed=50, tau=-1.0)


def test_each_row_equals_its_estimator(panel):
    r = alternative_comparisons(panel, estimator="reg")
    t = r.to_frame().set_index("term")
    assert list(t.index) == ["never", "not_yet", "matched", "priority_area"]
    never = callaway_santanna(panel, estimator="reg", control="never", **CS).aggregate("simple")
    not_yet = callaway_santanna(panel, estimator="reg", control="not_yet", **CS).aggregate("simple")
    keep = panel["priority_area"] | (panel["hub_cohort"] > 0)
    prio = callaway_santanna(panel.loc[keep], estimator="reg", **CS).aggregate("simple")
    md = matched_did(panel, match_options={}, estimator="reg", compare_unmatched=False, **CS).aggregate("simple")
    for term, ref in [("never", never), ("not_yet", not_yet), ("priority_area", prio), ("matched", md)]:
        assert t.loc[term, "estimate"] == pytest.approx(ref.overall_att, abs=1e-12), term
        assert t.loc[term, "se"] == pytest.approx(ref.overall_se, rel=1e-10), term
    units = panel.drop_duplicates("school_id")
    assert t.loc["priority_area", "n_comparison"] == ((units["hub_cohort"] == 0) & units["priority_area"]).sum()
    assert t.loc["never", "n_comparison"] == (units["hub_cohort"] == 0).sum()
    # no selection in this panel: every comparison group finds the true effect
    assert ((t["ci_low"] <= -1.0) & (t["ci_high"] >= -1.0)).sum() >= 3
    assert isinstance(r.plot(), matplotlib.figure.Figure)
    assert "priority_area" in r.summary()


def test_subset_and_bad_input(panel):
    r = alternative_comparisons(panel, comparisons=["not_yet", "never"], estimator="reg")
    assert list(r.to_frame()["term"]) == ["not_yet", "never"]
    with pytest.raises(InputError, match="unknown comparison"):
        alternative_comparisons(panel, comparisons=["nearest"])
    with pytest.raises(InputError, match="priority column 'pa_flag'"):
        alternative_comparisons(panel, priority="pa_flag")
    no_prio = panel.assign(priority_area=panel["hub_cohort"] > 0)
    with pytest.raises(InputError, match="no never-treated unit has 'priority_area' true"):
        alternative_comparisons(no_prio, comparisons=["priority_area"])
