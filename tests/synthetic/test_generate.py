"""A small synthetic country: files, identities, history, programmes, truth, determinism."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from evaluate import synthetic

N = 900


@pytest.fixture(scope="module")
def country(tmp_path_factory):
    a = tmp_path_factory.mktemp("a")
    b = tmp_path_factory.mktemp("b")
    m = synthetic.generate(a, seed=11, n_schools=N)
    synthetic.generate(b, seed=11, n_schools=N)
    return a, b, m


def _read(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def test_byte_identical_for_same_seed(country, tmp_path):
    a, b, m = country
    for rel in [*m["files"], "manifest.json"]:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    other = synthetic.generate(tmp_path, seed=12, n_schools=N)
    assert other["files"]["gias/edubasealldata.csv"]["sha256"] != m["files"]["gias/edubasealldata.csv"]["sha256"]


def test_manifest(country):
    a, _, m = country
    assert m["synthetic"] is True and m["seed"] == 11 and m["n_schools_requested"] == N
    assert m["generator_version"] == synthetic.GENERATOR_VERSION
    assert json.loads((a / "manifest.json").read_text()) == m
    assert "absence/school_absence_201920.csv" not in m["files"]
    assert len([f for f in m["files"] if f.startswith("absence/school_absence_")]) == 8


def test_terms_by_year(country):
    a = country[0]
    assert not (a / "absence" / "school_absence_201920.csv").exists()
    t2020 = set(_read(a / "absence" / "school_absence_202021.csv")["time_identifier"])
    assert t2020 == {"Autumn term", "Spring term"}
    t2022 = set(_read(a / "absence" / "school_absence_202223.csv")["time_identifier"])
    assert t2022 == {"Autumn term", "Spring term", "Summer term", "Academic year"}


def test_count_identities_and_suppression(country):
    a = country[0]
    df = _read(a / "absence" / "school_absence_202324.csv")
    ok = df[df["enrolments"] != "c"].copy()
    assert (df["enrolments"] == "c").sum() + len(ok) == len(df)
    num = ok[["sess_possible", "sess_overall", "sess_authorised", "sess_unauthorised", "enrolments"]].astype(int)
    assert (num.sess_authorised + num.sess_unauthorised == num.sess_overall).all()
    assert (num.sess_overall <= num.sess_possible).all()
    pa10 = ok["enrolments_pa_10_exact"]
    pa50 = ok["enrolments_pa_50_exact"]
    both = (pa10 != "c") & (pa50 != "c")
    assert (pa50[both].astype(int) <= pa10[both].astype(int)).all()
    assert (pa10[pa10 != "c"].astype(int) <= ok.loc[pa10 != "c", "enrolments"].astype(int)).all()
    assert not pa50.isin(["1", "2"]).any() and not pa10.isin(["1", "2"]).any()
    assert (pa50 == "c").any()
    assert (ok.loc[pa50 == "c", "enrolments_pa_50_exact_percent"] == "c").all()
    pct = 100 * num.sess_overall / num.sess_possible
    assert np.allclose(pct, ok["sess_overall_percent"].astype(float), atol=1e-5)


def test_year_pa_uses_whole_year_sessions(country):
    """Year PA is not the sum (or max) of term PA counts."""
    a = country[0]
    df = _read(a / "absence" / "school_absence_202223.csv")
    df = df[df["enrolments_pa_10_exact"] != "c"]
    wide = df.pivot_table(index="school_urn", columns="time_identifier", values="enrolments_pa_10_exact",
                          aggfunc="first").dropna().astype(int)
    terms = wide[["Autumn term", "Spring term", "Summer term"]]
    assert (wide["Academic year"] != terms.sum(axis=1)).mean() > 0.9
    sess = df.pivot_table(index="school_urn", columns="time_identifier", values="sess_overall",
                          aggfunc="first").dropna().astype(int)
    assert (sess["Academic year"] == sess[["Autumn term", "Spring term", "Summer term"]].sum(axis=1)).all()


def test_aggregates_add_up(country):
    a = country[0]
    agg = _read(a / "absence" / "absence_nat_reg_la.csv")
    nat = agg[(agg.geographic_level == "National") & (agg.time_period == "202122")
              & (agg.time_identifier == "Academic year") & (agg.education_phase == "Total")]
    df = _read(a / "absence" / "school_absence_202122.csv")
    assert int(nat["num_schools"].iloc[0]) == (df.time_identifier == "Academic year").sum()
    assert set(agg.geographic_level) == {"National", "Regional", "Local authority"}
    assert {"Inner London", "Outer London"} <= set(agg.region_name)


def test_conversions_and_links(country):
    a = country[0]
    gias = _read(a / "gias" / "edubasealldata.csv")
    links = _read(a / "gias" / "links_edubasealldata.csv")
    conv = gias[gias["ReasonEstablishmentClosed (name)"] == "Academy converter"]
    assert 0.04 < len(conv) / len(gias) < 0.15
    succ = links[links.LinkType == "Successor"]
    assert set(conv.URN) == set(succ.URN)
    back = set(zip(links.URN, links.LinkURN, strict=True))
    assert all((v, u) in back for u, v in back)  # both sides
    assert {"Predecessor - merged", "Successor - merged"} <= set(links.LinkType)
    # absence rows use the URN current in the year: old before, new from the conversion year
    row = succ.iloc[0]
    year = int(row.LinkEstablishedDate[-4:])
    if year != 2019:
        f = _read(a / "absence" / f"school_absence_{year}{(year + 1) % 100:02d}.csv")
        assert row.LinkURN in set(f.school_urn) and row.URN not in set(f.school_urn)


def test_programmes(country):
    a = country[0]
    gias = _read(a / "gias" / "edubasealldata.csv")
    hubs = _read(a / "programmes" / "hubs.csv")
    assert set(hubs.wave) == {"pilot", "wave 1", "wave 2", "wave 3"}
    assert set(hubs.member_urn) <= set(gias.URN) and set(hubs.lead_urn) <= set(gias.URN)
    leads = hubs[hubs.member_urn == hubs.lead_urn]
    assert set(leads.hub_id) == set(hubs.hub_id)
    pilot = gias.set_index("URN").loc[hubs[hubs.wave == "pilot"].lead_urn.iloc[0]]
    assert pilot.EstablishmentName == "North Shore Academy" and pilot["LA (name)"] == "Stockton-on-Tees"
    assert hubs[hubs.wave == "pilot"].join_date.str.startswith("2022").all()
    ment = _read(a / "programmes" / "mentor_areas.csv")
    prio = _read(a / "programmes" / "priority_areas.csv")
    assert len(ment) == 15 and set(ment.la_name) <= set(prio.la_name) and len(prio) == 24
    assert set(ment[ment.coverage == "partial"].area) == {"Hastings", "Ipswich", "Norwich", "West Somerset"}
    towns = set(gias.Town)
    assert {"Hastings", "Ipswich", "Norwich", "West Somerset"} <= towns


def test_hub_members_selected_on_high_absence(country):
    a = country[0]
    hubs = _read(a / "programmes" / "hubs.csv")
    df = _read(a / "absence" / "school_absence_202122.csv")
    df = df[(df.time_identifier == "Academic year") & (df.sess_overall != "c")]
    rate = df.sess_overall.astype(float) / df.sess_possible.astype(float)
    members = df.school_urn.isin(set(hubs.member_urn) - set(hubs.lead_urn))
    same_phase = df.education_phase == "State-funded secondary"
    assert rate[members & same_phase].mean() > rate[~members & same_phase].mean()


def test_truth(country):
    a = country[0]
    truth = json.loads((a / "truth.json").read_text())
    assert "att_overall" in truth["definitions"] and truth["records"]
    recs = pd.DataFrame(truth["records"])
    hubs = recs[(recs.programme == "hubs") & (recs.phase == "Total")]
    assert (hubs.att_overall <= 0).all() and (hubs.att_pa < 0).any()
    assert set(hubs.cohort) >= {2022, 2023, 2024}
    pilot = hubs[hubs.cohort == 2022].set_index("year")
    assert pilot.loc[2024, "att_overall"] < pilot.loc[2022, "att_overall"]  # grows with exposure
    assert pilot.loc[2021, "exposure"] < 1 and pilot.loc[2022, "exposure"] == 1
    ment = recs[(recs.programme == "mentors") & (recs.phase == "Total")]
    assert set(ment.cohort) == {2022, 2023, 2025}  # Middlesbrough (November 2022): 2022/23
    # mentoring acts on the persistently absent: PA effect larger than overall effect
    assert (ment.att_pa_weighted <= ment.att_overall_weighted).all()


def test_small_n_rejected(tmp_path):
    with pytest.raises(ValueError):
        synthetic.generate(tmp_path, n_schools=10)
