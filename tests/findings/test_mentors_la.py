"""LA-level mentor findings on a fake LA panel with a planted effect."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evaluate.errors import InputError
from evaluate.findings.mentors.la import example_mentor_panel, mentor_la_findings, plausible_effect

FAST = dict(ri_draws=19, wild_draws=99, replications=20, seed=1)


@pytest.fixture(scope="module")
def planted():
    panel, tr = example_mentor_panel(seed=0, effect=-0.5)
    panel.loc[(panel["la_code"] == "E08000030") & (panel["t"] == 3), "overall_absence_rate"] = np.nan
    panel.loc[(panel["la_code"] == "E08000031") & (panel["t"] == 4), ["overall_absence_rate", "possible_sessions"]] = np.nan
    return panel, tr, mentor_la_findings(panel, tr, outcomes=("overall_absence_rate", "pa_rate", "absent_col"),
                                         period_type="term", **FAST)


def test_json_ready_and_counts(planted):
    panel, tr, out = planted
    json.dumps(out, allow_nan=False)  # no numpy types, no NaN
    c = out["counts"]
    assert (c["treated_las"], c["comparison_las"], c["cohorts"]) == (6, 34, {"5": 4, "9": 2})
    assert c["dropped"]["overall_absence_rate"]["missing_outcome"] == 1
    assert c["dropped"]["overall_absence_rate"]["suppressed_or_not_derivable"] == 1
    assert c["dropped"]["overall_absence_rate"]["synth_units_incomplete"] == 2
    assert out["outcomes"]["absent_col"]["estimable"] is False


def test_planted_effect_recovered_by_every_method(planted):
    o = planted[2]["outcomes"]["overall_absence_rate"]
    overall = {m: next(r for r in o[m] if r["cohort"] == "overall")["estimate"]
               for m in ("synthetic_control", "synthetic_did")}
    assert overall["synthetic_did"] == pytest.approx(-0.5, abs=0.2)
    assert overall["synthetic_control"] == pytest.approx(-0.5, abs=0.3)
    assert o["cs_matched"]["att"] == pytest.approx(-0.5, abs=0.25)
    assert o["cs_priority"]["att"] == pytest.approx(-0.5, abs=0.35)
    assert o["randomization"]["p_value"] <= 0.1
    assert o["wild_bootstrap"]["ci_low"] < -0.5 < o["wild_bootstrap"]["ci_high"]
    assert len(o["cs_matched"]["event_study"]) >= 5


def test_mde_against_closed_form_and_statement(planted):
    from evaluate.power import mde_did

    m = planted[2]["outcomes"]["pa_rate"]["mde"]
    assert m["mde"] == pytest.approx(mde_did(n_treated=m["n_treated"], n_control=m["n_control"], pre=m["pre"],
                                             post=m["post"], sigma2=m["sigma2"], rho=m["rho"]))
    o = planted[2]["outcomes"]["pa_rate"]
    assert o["plausible"]["effect"] == pytest.approx(5 * 111 / 40_000)
    assert o["plausible_expansion"]["effect"] == pytest.approx(5 * 1000 / 40_000)
    assert m["mde"] > 0.125  # above both plausible effects
    assert o["statement"].startswith("This design cannot detect")
    assert o["detectable"] == {"first_phase": False, "expansion": False}


def test_no_pre_period_reported_as_not_estimable():
    panel, tr = example_mentor_panel(seed=2)
    panel = panel[panel["t"] >= 4]  # cohort 5 keeps one pre-period term only
    out = mentor_la_findings(panel, tr, outcomes=("overall_absence_rate",), period_type="term", **FAST)
    rows = {r["cohort"]: r for r in out["outcomes"]["overall_absence_rate"]["synthetic_did"]}
    assert rows["g=5"]["estimable"] is False and "pre-treatment" in rows["g=5"]["reason"]
    assert rows["g=9"]["estimable"] is True


def test_plausible_effect_and_bad_input():
    assert plausible_effect(pupils_mentored=10_000 / 8, la_pupils=50_000, per_pupil_effect=4)["effect"] == 0.1
    panel, tr = example_mentor_panel()
    with pytest.raises(InputError, match="period_type"):
        mentor_la_findings(panel, tr, period_type="month")
    with pytest.raises(InputError, match="no rows"):
        mentor_la_findings(panel, tr, period_type="year")


@pytest.mark.real_data
def test_real_la_panel_year_level():
    import os
    from pathlib import Path

    shared = Path(os.environ.get("EVALUATE_SHARED_DATA")
                  or Path(__file__).resolve().parents[2].parent / "shared" / "data")
    if not shared.is_dir():
        pytest.skip(f"real data folder {shared} absent")
    from evaluate.data.la.panel import build_la_panel, find_la_files
    from evaluate.data.la.treatment import add_treatment, mentor_treatment

    files = find_la_files(shared)
    if not files:
        pytest.skip("no LA attendance files in the real data folder")
    panel = build_la_panel(files, period_types=("year",)).panel
    tr = mentor_treatment(start="actual")
    out = mentor_la_findings(add_treatment(panel, tr), tr, outcomes=("overall_absence_rate",),
                             period_type="year", **FAST)
    json.dumps(out, allow_nan=False)
    rows = {r["cohort"]: r for r in out["outcomes"]["overall_absence_rate"]["synthetic_did"]}
    # Middlesbrough (2022/23) has no pre-period at year level: reported, not dropped
    first = min(rows, key=lambda k: int(k[2:]) if k.startswith("g=") else 99)
    assert rows[first]["estimable"] is False and "pre-treatment" in rows[first]["reason"]
    assert out["counts"]["treated_las"] >= 5 and out["counts"]["comparison_las"] > 100
    assert out["outcomes"]["overall_absence_rate"]["mde"]["mde"] > 0


def test_matched_comparison_las_are_nearest_within_region():
    import pandas as pd

    from evaluate.findings.mentors.la import _matched_controls, phase_mix

    panel, tr = example_mentor_panel(seed=0)
    # add phase rows so the phase mix is a matching covariate
    phases = []
    rng = np.random.default_rng(0)
    for ph, share in (("Primary", 0.55), ("Secondary", 0.4), ("Special", 0.05)):
        q = panel.copy()
        q["phase"] = ph
        q["possible_sessions"] = q["possible_sessions"] * (share + rng.normal(0, 0.02, len(q)))
        phases.append(q)
    full = pd.concat([panel, *phases], ignore_index=True)
    mix = phase_mix(full, "term")
    assert mix.shape == (40, 2) and mix["share_primary"].between(0.4, 0.7).all()
    d = panel.assign(cohort=panel["la_code"].map(
        {r.la_code: (5 if r.cohort_year == 2023 else 9) for r in tr.itertuples()}).fillna(0).astype(int))
    chosen, notes = _matched_controls(d, "overall_absence_rate", mix, k=3)
    units = d.groupby("la_code").agg(cohort=("cohort", "first"), region=("region", "first"))
    assert 0 < len(chosen) <= 3 * 6 and set(units.loc[chosen, "cohort"]) == {0}
    if not notes:  # region matched exactly: every comparison LA shares a treated LA's region
        assert set(units.loc[chosen, "region"]) <= set(units.loc[units["cohort"] > 0, "region"])
    # the nearest comparison LA on the pre-period mean of the first treated LA is chosen
    pre = d[d["t"] < 5].groupby("la_code")["overall_absence_rate"].mean()
    first = units.index[units["cohort"] == 5][0]
    same = units.index[(units["cohort"] == 0) & (units["region"] == units.loc[first, "region"])]
    z = pd.concat([pre, mix], axis=1).loc[same]
    assert (z.index.isin(chosen)).any()
