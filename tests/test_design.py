"""The design object: a setting goes from evaluation.yml to the headline, and is recorded there."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluate.config import Config
from evaluate.design import Design
from evaluate.did import callaway_santanna, example_school_panel
from evaluate.findings import programme_findings


def _panel():
    p = example_school_panel().rename(columns={"cohort": "hub_cohort"})
    p["hub_first_exposed_year"] = p["hub_cohort"]
    # a fifth of the treated schools joined during the year before their cohort year
    late = p["school_id"] % 5 == 0
    p.loc[late & (p["hub_cohort"] > 0), "hub_first_exposed_year"] -= 1
    p["phase"] = "State-funded primary"
    return p


def test_configured_choices_reach_the_headline_and_are_recorded():
    cfg = Config(base_dir=Path("."), matching={"programmes": ["hubs"], "estimator": "reg", "cluster": "hub_id",
                                               "outcomes": ["overall_absence_rate"], "covariates": ["x"],
                                               "exact": [], "caliper": None, "terms": ["level"]},
                 design={"anticipation": "auto"})
    panel = _panel()
    d = Design.from_config(cfg, "hubs", panel)
    assert d.estimator == "reg" and d.cluster == "hub_id" and d.anticipation == 1
    res = programme_findings(panel, design=d, outcomes=["overall_absence_rate"], matching=d.match(panel))
    assert res["estimator"] == "reg" and res["cluster"] == "hub_id" and res["anticipation"] == 1
    assert res["settings"]["balancing"]["caliper"] is None
    # the headline is the design's own fit
    head = res["outcomes"]["overall_absence_rate"]["headline"]["estimate"]
    assert head == pytest.approx(d.fit(panel, "overall_absence_rate").aggregate("simple").overall_att, abs=1e-12)


def test_unmatched_design_equals_the_estimator_called_by_hand():
    panel = _panel()
    d = Design(programme="hubs", cohort="hub_cohort", anticipation=1, cluster="hub_id")
    by_hand = callaway_santanna(panel, outcome="overall_absence_rate", unit="school_id", time="year",
                                cohort="hub_cohort", anticipation=1, cluster="hub_id")
    assert d.fit(panel, "overall_absence_rate").aggregate("simple").overall_att == \
        pytest.approx(by_hand.aggregate("simple").overall_att, abs=1e-12)


def test_sensitivity_analyses_take_the_design():
    from evaluate.errors import InputError
    from evaluate.sensitivity import placebo_timing

    panel = _panel()
    d = Design(programme="hubs", cohort="hub_cohort", anticipation=0)
    a = placebo_timing(panel, design=d, outcome="overall_absence_rate")
    b = placebo_timing(panel, outcome="overall_absence_rate", cohort="hub_cohort")
    assert a.to_frame()["estimate"].tolist() == pytest.approx(b.to_frame()["estimate"].tolist())
    with pytest.raises(InputError, match="given twice"):
        placebo_timing(panel, design=d, cohort="hub_cohort")
