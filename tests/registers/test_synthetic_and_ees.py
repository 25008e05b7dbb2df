"""Synthetic registers -> registers stage -> EES school file -> the data layer's reader and panel."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from evaluate.data.ees import read_ees
from evaluate.data.panel import SCHOOL_REQUIRED, build_panel
from evaluate.data.schemas import COUNTS, school_absence_schema, validate
from evaluate.registers import read_marks, register_measures
from evaluate.synthetic import generate
from evaluate.synthetic.registers import school_calendar, school_details, write_registers

SEED, N = 11, 60


@pytest.fixture(scope="module")
def country(tmp_path_factory):
    """Synthetic England (60 schools) and its registers for 2023/24 and 2024/25."""
    base = tmp_path_factory.mktemp("registers")
    generate(base / "england", seed=SEED, n_schools=N)
    info = write_registers(base / "marks", seed=SEED, n_schools=N, years=(2023, 2024),
                           chunk_marks=2_000_000)
    res = register_measures(read_marks(base / "marks", memory_limit="1GB"))
    return base, info, res


def test_generator_truth_matches_the_stage(country):
    _, info, res = country
    truth = info["truth"]
    s = res.schools[res.schools["period"] != "year"].rename(columns={"period": "term"})
    m = truth.merge(s, on=["urn", "year", "term"], how="outer", indicator=True)
    assert (m["_merge"] == "both").all() and len(m) == len(truth)
    for c in ("sess_possible", "sess_overall", "sess_authorised", "sess_unauthorised"):
        np.testing.assert_array_equal(m[f"{c}_x"], m[f"{c}_y"], err_msg=c)
    assert res.marks["read"] == info["marks"] == int(truth["marks"].sum())
    assert res.marks["unknown"] == res.marks["malformed"] == 0


def test_generator_uses_the_years_code_set(country):
    base, _, _ = country
    old = pq.read_table(base / "marks" / "academic_year=2023", columns=["code"]).column("code")
    new = pq.read_table(base / "marks" / "academic_year=2024", columns=["code"]).column("code")
    old, new = set(old.unique().to_pylist()), set(new.unique().to_pylist())
    assert "H" in old and not {"C1", "C2", "J1"} & old
    assert {"C1", "C2", "J1"} <= new and "H" not in new


def test_registers_resemble_synthetic_england(country):
    """Same schools and propensities as the published synthetic files: rates close."""
    base, _, res = country
    pub = read_ees(base / "england" / "absence" / "school_absence_202324.csv",
                   required=SCHOOL_REQUIRED).frame
    pub = pub[pub["period"] == "year"].assign(urn=lambda d: d["school_urn"].astype(int))
    reg = res.schools[(res.schools["year"] == 2023) & (res.schools["period"] == "year")]
    m = pub.merge(reg, on="urn", suffixes=("_pub", "_reg")).dropna(subset=["sess_overall_pub"])
    assert len(m) >= 0.8 * len(reg)
    pub_rate = m["sess_overall_pub"].sum() / m["sess_possible_pub"].sum()
    reg_rate = m["sess_overall_reg"].sum() / m["sess_possible_reg"].sum()
    assert abs(reg_rate / pub_rate - 1) < 0.1
    r = np.corrcoef(m["sess_overall_pub"] / m["sess_possible_pub"],
                    m["sess_overall_reg"] / m["sess_possible_reg"])[0, 1]
    assert r > 0.7
    # enrolments: every pupil on roll is an enrolment in the year
    np.testing.assert_array_equal(m["enrolments_reg"], m["enrolments_pub"])


def test_ees_round_trip_through_the_data_layer(country, tmp_path):
    base, _, res = country
    path = res.write_ees(tmp_path / "school_absence_registers.csv",
                         schools=school_details(N, seed=SEED, year=2023))
    f = read_ees(path, required=SCHOOL_REQUIRED, counts=COUNTS)
    validate(f.frame, school_absence_schema(), file=str(path))
    df = f.frame
    assert set(df["period"]) == {"autumn", "spring", "summer", "year"}
    assert sorted(set(df["year"])) == [2023, 2024]
    for c in ("enrolments", "sess_possible", "sess_overall", "sess_authorised",
              "sess_unauthorised", "enrolments_pa_10_exact", "enrolments_pa_50_exact",
              "reason_i_authorised_illness", "reason_c1_authorised_regulated_performance"):
        assert df[c].sum() == res.schools[c].sum(), c
    assert not f.symbols.summary().shape[0]


def test_published_file_goes_through_disclosure_control(country, tmp_path):
    """With the run's rules the school file passes the package's one gate: small pupil counts
    are c, a school's sessions and rates go with its enrolments, and the audit finds nothing."""
    from evaluate.disclosure import DisclosureRules, audit_table
    from evaluate.registers.measures import ees_spec

    _, _, res = country
    rules = DisclosureRules(pupil_threshold=10)
    raw = res.to_ees()
    ees = res.to_ees(rules=rules)
    small_pa = raw["enrolments_pa_50_exact"].between(1, 9)
    assert small_pa.any()
    assert (ees.loc[small_pa, "enrolments_pa_50_exact"] == "c").all()
    assert (ees.loc[small_pa, "enrolments_pa_50_exact_percent"] == "c").all()
    tiny = raw["enrolments"].between(1, 9)
    assert (ees.loc[tiny, "sess_overall"] == "c").all()
    assert audit_table(ees, ees_spec(ees.columns), rules) == []
    path = res.write_ees(tmp_path / "s.csv", rules=rules)
    read_ees(path, required=SCHOOL_REQUIRED, counts=COUNTS)


def test_panel_built_from_registers(country, tmp_path):
    """Replace synthetic England's absence files by the registers' school file: the panel builds."""
    base, _, res = country
    data = tmp_path / "data"
    shutil.copytree(base / "england", data)
    for p in (data / "absence").glob("*.csv"):
        p.unlink()
    details = pd.concat([school_details(N, seed=SEED, year=y) for y in (2023, 2024)])
    res.write_ees(data / "absence" / "school_absence_registers.csv", schools=details)
    build = build_panel(data)
    py = build.panel_year
    assert sorted(py["year"].unique()) == [2023, 2024]
    assert len(py) >= 0.9 * (res.schools["period"] == "year").sum()
    reg = res.schools[res.schools["period"] == "year"]
    both = py.merge(reg, on=["urn", "year"])
    np.testing.assert_allclose(both["overall_absence_rate"],
                               100 * both["sess_overall_y"] / both["sess_possible_y"])


def test_calendar_and_determinism(tmp_path):
    days = school_calendar(2024)
    assert all(d.weekday() < 5 for d in days) and 185 <= len(days) <= 200
    a = write_registers(tmp_path / "a", seed=4, n_schools=50, max_marks=300_000, chunk_marks=50_000)
    b = write_registers(tmp_path / "b", seed=4, n_schools=50, max_marks=300_000, chunk_marks=50_000)
    assert a["files"] == b["files"] and len(a["files"]) > 1
    for f in a["files"]:
        assert pq.read_table(tmp_path / "a" / f).equals(pq.read_table(tmp_path / "b" / f))
    assert a["marks"] - 300_000 < 2 * len(days) and a["marks"] >= 300_000


def test_gias_school_details_agree_with_the_synthetic_country(country):
    from evaluate.registers import gias_school_details

    base, _, _ = country
    g = gias_school_details(base / "england" / "gias" / "edubasealldata.csv").set_index("school_urn")
    d = school_details(N, seed=SEED, year=2023).set_index("school_urn")
    both = d.merge(g, left_index=True, right_index=True, how="inner", suffixes=("", "_gias"))
    assert len(both) == len(d)
    assert (both["new_la_code"] == both["new_la_code_gias"]).all()
    assert (both["education_phase"] == both["education_phase_gias"]).all()
    assert (both["school_laestab"] == both["school_laestab_gias"]).all()


def test_date_order_holds_the_same_marks(tmp_path):
    a = write_registers(tmp_path / "a", seed=5, n_schools=50, max_marks=200_000)
    b = write_registers(tmp_path / "b", seed=5, n_schools=50, max_marks=200_000, order="date")
    ta = pq.read_table(tmp_path / "a" / a["files"][0]).to_pandas()
    tb = pq.read_table(tmp_path / "b" / b["files"][0]).to_pandas()
    assert tb["date"].is_monotonic_increasing and not ta["date"].is_monotonic_increasing
    keys = ["pupil_id", "date", "session"]
    pd.testing.assert_frame_equal(ta.sort_values(keys).reset_index(drop=True).astype(str),
                                  tb.sort_values(keys).reset_index(drop=True).astype(str))
