"""Sentences and rules of the programme reports, on hand-made results."""

from __future__ import annotations

import pytest

from evaluate.findings import confidence
from evaluate.findings.build import days_per_pupil
from evaluate.report import findings


def _outcome(est, lo, hi, days=None, rating="high"):
    h = {"estimate": est, "ci_low": lo, "ci_high": hi, "n_treated": 1000, "n_comparison": 990}
    if days:
        h["days_per_pupil"] = days
    return {"label": "Overall absence rate", "headline": h,
            "confidence": {"rating": rating, "checks": {"pretrends": {"ok": True, "p_value": 0.4},
                                                        "balance": {"ok": True, "imbalanced": []},
                                                        "agreement": {"ok": True, "disagree": []}}}}


def test_effect_sentence_rounds_half_up_and_reports_days():
    o = _outcome(-0.25, -0.35, -0.15, days={"estimate": -0.45, "ci_low": -0.65, "ci_high": -0.25})
    s = findings.effect_sentence("hubs", o)
    # half up: 0.25 -> 0.3 (Python's round gives 0.2), 0.35 -> 0.4, 0.15 -> 0.2
    assert s == ("Attendance hub membership reduced the overall absence rate by 0.3 percentage points "
                 "(95% interval 0.2 to 0.4), about 0.5 days of school per pupil per year "
                 "(95% interval 0.3 to 0.7).")


def test_effect_sentence_when_the_interval_includes_zero():
    s = findings.effect_sentence("mentors", _outcome(-0.1, -0.3, 0.1))
    assert s.startswith("We cannot tell whether the attendance mentor programme changed the overall absence rate")
    assert "includes no change" in s


def test_days_per_pupil_closed_form():
    # 1 percentage point of 380 possible sessions = 3.8 sessions = 1.9 days
    assert days_per_pupil(-1.0, 380.0) == pytest.approx(-1.9)


@pytest.mark.parametrize(("p", "imb", "others", "rating"), [
    (0.5, [], {"a": -0.5}, "high"),
    (0.5, ["x"], {"a": -0.5}, "moderate"),
    (0.001, [], {"a": -0.5}, "low"),   # a failed pre-trend test caps the rating at low
    (0.001, [], {"a": 0.4}, "low"),
    (0.5, [], {"a": -3.0}, "moderate"),  # same sign, far outside the widened interval
    (None, [], {"a": -0.5}, "moderate"),  # pre-trends not testable: never high
    (0.5, [], {"Two-way fixed effects": 0.4}, "high"),  # TWFE is shown, not judged
])
def test_confidence_rules(p, imb, others, rating):
    c = confidence(pretest_p=p, imbalanced=imb, estimates=others, headline=-0.6, ci=(-0.8, -0.4))
    assert c["rating"] == rating


def test_key_findings_at_most_six_and_start_with_the_headline():
    o = _outcome(-0.6, -0.8, -0.4)
    o["by_wave"] = [{"component": 2023, "estimate": -0.9}, {"component": 2024, "estimate": -0.3}]
    res = {"programme": "hubs", "outcomes": {"overall_absence_rate": o, "pa_rate": {**o, "label": "Persistent absence"},
                                             "severe_rate": {**o, "label": "Severe absence"}},
           "matching": {}, "design": {"design": "d", "level": 3, "reason": "r"}}
    kf = findings.key_findings(res)
    assert len(kf) == 6
    assert kf[0].startswith("Attendance hub membership reduced the overall absence rate by 0.6")
    assert "2023/24" in kf[4] and "2024/25" in kf[4]
    assert kf[5].startswith("Confidence in the overall absence rate estimate is high")


def test_caveats_from_the_results():
    o = _outcome(-0.6, -0.8, -0.4)
    o["confidence"]["checks"]["pretrends"]["ok"] = False
    res = {"programme": "hubs", "synthetic": True, "outcomes": {"overall_absence_rate": o},
           "matching": {"counts": [{"treated": 740, "treated_matched": 561}, {"treated": 60, "treated_matched": 50}]}}
    cav = findings.caveats(res)
    assert cav[0].startswith("These figures come from synthetic data")
    assert "already on different paths" in cav[1]
    assert cav[2].startswith("189 of 800 programme schools could not be matched")
