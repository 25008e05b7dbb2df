"""Counts of schools under disclosure control: the rule for their kind at the publication gate.

With ``disclosure.school_threshold`` set, every count of schools that reaches the
publication area (the headline's sample sizes, the matching counts per cohort, subgroup
sizes, the data-quality counts) is controlled: a single one below the threshold becomes
``c``, a list of records holding them goes through ``control_table`` with kind
``schools``, and the scanner of the publication area refuses a planted small count. Without
a school threshold (the default) nothing changes.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from evaluate.disclosure import (
    DisclosureRules,
    TableSpec,
    check_publication_area,
    control_table,
    publish_json,
    scan_html,
)
from evaluate.disclosure.publish import SCHOOL_COUNT_KEY
from evaluate.errors import InputError
from evaluate.io import write_json

RULES = DisclosureRules(school_threshold=10)
REPORTS = Path(__file__).resolve().parents[2] / "reports"

RESULTS = {
    "programme": "hubs",
    "outcomes": {"overall_absence_rate": {"headline": {"estimate": -0.4, "n_treated": 6, "n_comparison": 400}}},
    "matching": {"counts": [
        {"cohort": 2022, "treated": 7, "treated_matched": 4, "treated_dropped_caliper": 3, "comparison": 900},
        {"cohort": 2023, "treated": 120, "treated_matched": 110, "treated_dropped_caliper": 10, "comparison": 900},
    ]},
}


def test_small_school_counts_are_suppressed_and_recorded(tmp_path):
    out = json.loads(publish_json(RESULTS, tmp_path / "hubs.json", area=tmp_path, rules=RULES).read_text())
    head = out["outcomes"]["overall_absence_rate"]["headline"]
    assert head == {"estimate": -0.4, "n_treated": "c", "n_comparison": 400}
    first, second = out["matching"]["counts"]
    assert first == {"cohort": 2022, "treated": "c", "treated_matched": "c", "treated_dropped_caliper": "c",
                     "comparison": 900}
    assert second["treated_matched"] == 110 and second["treated"] == 120  # the cohort year is no count
    paths = {r["path"]: r["reason"] for r in out["_disclosure"]["suppressed"]}
    assert paths["outcomes.overall_absence_rate.headline.n_treated"] == "school count below 10"
    assert {"matching.counts[0].treated", "matching.counts[0].treated_matched",
            "matching.counts[0].treated_dropped_caliper"} <= set(paths)
    assert check_publication_area(tmp_path, RULES) == []


def test_without_a_school_threshold_school_counts_are_published_as_they_are(tmp_path):
    path = publish_json(RESULTS, tmp_path / "hubs.json", area=tmp_path)
    assert json.loads(path.read_text()) == RESULTS
    assert check_publication_area(tmp_path) == []


def test_counts_of_local_authorities_are_not_school_counts(tmp_path):
    la = {"unit": "local authority", "by_start": {"2023": {"n_treated": 4, "n_donors": 120}}}
    assert json.loads(publish_json(la, tmp_path / "la.json", area=tmp_path, rules=RULES).read_text()) == la
    assert check_publication_area(tmp_path, RULES) == []


def test_a_planted_school_count_is_refused_by_the_scanner(tmp_path):
    """A results file written around the gate with a disclosive school count (and one with a
    small pupil count) is found by check_publication_area; so is a 'controlled' table whose
    spec claims school counts it did not control."""
    write_json({"headline": {"n_treated": 3, "n_comparison": 500}}, tmp_path / "planted.json")
    assert check_publication_area(tmp_path) == []  # no school rule: nothing to find
    problems = check_publication_area(tmp_path, RULES)
    assert problems == ["planted.json: school count below 10 shown (headline.n_treated)"]
    write_json({"mentored_pupils": 4}, tmp_path / "pupils.json")
    assert "pupils.json: pupil count below 10 shown (mentored_pupils)" in check_publication_area(tmp_path)
    spec = TableSpec(counts={"schools": "schools"})
    fake = {"table": {"records": [{"la": "A", "schools": 3}, {"la": "B", "schools": 40}], "spec": spec.to_dict()}}
    with pytest.raises(InputError, match="failed disclosure control"):
        publish_json(fake, tmp_path / "fake.json", area=tmp_path, rules=RULES)
    good = control_table(pd.DataFrame(fake["table"]["records"]), spec, RULES)
    assert good.table["schools"].tolist() == ["c", 40]


def test_a_small_school_count_in_a_rendered_table_is_found():
    html = ("<table><tr><th>Cohort</th><th>Treated schools</th><th>Matched</th><th>Absence rate, schools</th></tr>"
            "<tr><td>2022/23</td><td>7</td><td>c</td><td>5.1</td></tr>"
            "<tr><td>2023/24</td><td>120</td><td>110</td><td>6.2</td></tr></table>")
    assert scan_html(html) == []
    found = [str(p) for p in scan_html(html, RULES)]
    assert found == ["report table 1, row 1, column 'Treated schools': small count of schools shown: 7"]


def test_schools_per_cohort_are_protected_against_subtraction_from_their_total(tmp_path):
    """hub_schools is the sum of hub_cohorts: hiding only the small cohort would leave it
    recoverable as the total minus the others, so a second cohort is hidden with it and
    the audit of the same one-way table finds nothing to narrow down."""
    from evaluate.disclosure import audit_table

    prog = {"programmes": {"hubs": 4, "hub_schools": 55, "hub_cohorts": {"2022": 2, "2023": 20, "2024": 33}}}
    got = json.loads(publish_json(prog, tmp_path / "dq.json", area=tmp_path, rules=RULES).read_text())["programmes"]
    assert got["hubs"] == 4 and got["hub_schools"] == 55
    cells = got["hub_cohorts"]
    assert cells["2022"] == "c" and list(cells.values()).count("c") >= 2
    table = pd.DataFrame({"cohort": [*cells, "Total"], "schools": [*cells.values(), 55]})
    spec = TableSpec(counts={"schools": "schools"}, row_total=("cohort", "Total"))
    assert audit_table(table, spec, RULES, interval=True) == []


@pytest.mark.parametrize("key", ["n_treated", "n_comparison", "n_control", "n_schools", "treated_matched",
                                 "treated_dropped_caliper", "comparison_matched", "hub_schools",
                                 "partly_exposed_schools_left_out"])
def test_the_school_count_keys_of_the_results_files(key):
    from evaluate.disclosure.publish import RECORD_KEY
    from evaluate.findings.records import DISCLOSURE_KEY

    assert RECORD_KEY == DISCLOSURE_KEY
    assert SCHOOL_COUNT_KEY.search(key)


@pytest.mark.parametrize("key", ["cohort", "mean_treated", "treated_clusters", "n_pupils", "estimate", "year"])
def test_keys_that_are_not_school_counts(key):
    assert not SCHOOL_COUNT_KEY.search(key)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A small run (600 schools) with a school threshold of 20, every report rendered to HTML."""
    from evaluate import pipeline
    from evaluate.config import load_config

    tmp = tmp_path_factory.mktemp("schools")
    cfg_path = tmp / "evaluation.yml"
    cfg_path.write_text("seed: 7\noutput: out\ndata:\n  dir: synth\n  synthetic: {schools: 600}\n"
                        "disclosure: {school_threshold: 20}\n"
                        "programmes: {mentors: {areas: {la_data: synthetic, placebo_replications: 20}}}\n"
                        f"reports: [data-quality, hubs, mentors, technical-annex]\nreports_dir: {REPORTS}\n", encoding="utf-8")
    cfg = load_config(cfg_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a cohort too small to match is left out
        pipeline.run(cfg, config_path=cfg_path)
    pipeline.render_reports(cfg, formats=("html",), engine="bridge")  # every report must still render
    return tmp / "out", cfg


def test_a_run_with_a_school_threshold_publishes_no_small_school_count(run):
    out, cfg = run
    rules = cfg.disclosure.rules()
    assert check_publication_area(out, rules) == []
    hubs = json.loads((out / "results" / "hubs.json").read_text())
    matching = json.loads((out / "results" / "matching_hubs.json").read_text())
    suppressed = [r for d in (hubs, matching) for r in d.get("_disclosure", {}).get("suppressed", [])]
    assert any(r["reason"] == "school count below 20" for r in suppressed)
    for c in matching["counts"]:
        for k, v in c.items():
            if SCHOOL_COUNT_KEY.search(k):
                assert v == "c" or v == 0 or v >= 20, (k, v)


def test_its_results_still_validate_and_its_report_renders_the_symbol(run):
    import jsonschema

    from evaluate.findings.records import load_findings

    out, cfg = run
    schema = json.loads((out / "results" / "schema" / "programme_findings.schema.json").read_text())
    for p in ("hubs", "mentors"):
        data = json.loads((out / "results" / f"{p}.json").read_text())
        jsonschema.validate(data, schema)
        load_findings(out / "results" / f"{p}.json")
    for page in (out / "reports").glob("*.html"):
        assert scan_html(page.read_text(encoding="utf-8"), cfg.disclosure.rules(), name=page.name) == []
    html = (out / "reports" / "hubs.html").read_text(encoding="utf-8")
    assert ">c<" in html  # the matching table shows DfE's symbol where a cohort was small
