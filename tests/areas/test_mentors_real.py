"""The mentor programme on the real DfE LA files, end to end: run, render, check.

The run reads ../shared/data through ``$EVALUATE_DATA_ROOTS`` (skipped with a reason
when the folder is absent); the school-level sections use a small synthetic country.
The rendered mentors report must say that its LA section uses real DfE data, name the
files, show both start dates, and pass the disclosure scan.
"""

from __future__ import annotations

import json
import os
import re
import warnings
from pathlib import Path

import pytest

from evaluate import pipeline
from evaluate.config import load_config
from evaluate.disclosure import scan_html

SHARED = Path(os.environ.get("EVALUATE_SHARED_DATA")
              or Path(__file__).resolve().parents[2].parent / "shared" / "data")
REPORTS = Path(__file__).parents[2] / "reports"

pytestmark = [pytest.mark.real_data,
              pytest.mark.skipif(not (SHARED / "attendance_la_weekly_panel.csv.gz").exists(),
                                 reason=f"the real DfE LA files are not in {SHARED}")]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mentors_real")
    cfg_path = tmp / "evaluation.yml"
    cfg_path.write_text(
        "seed: 4\noutput: out\ndata: {dir: synth, synthetic: {schools: 500}}\nmatching: {enabled: false}\n"
        "programmes: {hubs: {enabled: false}, mentors: {areas: {placebo_replications: 40}}}\n"
        f"reports: [mentors]\nreports_dir: {REPORTS}\n", encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EVALUATE_DATA_ROOTS", str(SHARED))
        cfg = load_config(cfg_path)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            pipeline.run(cfg, config_path=cfg_path)
        pipeline.render_reports(cfg, formats=("html",), engine="bridge")
    return tmp / "out"


def test_the_la_results_come_from_the_real_files(run):
    res = json.loads((run / "results" / "mentors_areas.json").read_text())
    assert res["source"] == "real" and res["synthetic"] is False
    assert "attendance_la_weekly_panel.csv.gz" in res["files"]
    assert set(res["by_start"]) == {"actual", "announced"}
    treated = {r["la_name"]: r for r in res["treated"]["actual"]}
    assert {"Middlesbrough", "Knowsley", "Doncaster", "Stoke-on-Trent", "Salford", "Blackpool"} <= set(treated)
    announced = {r["la_name"]: r for r in res["treated"]["announced"]}
    # the expansion's start differs between the two choices; the first areas' does not
    assert treated["Blackpool"]["start_date"] == "2025-03-01" and announced["Blackpool"]["start_date"] == "2024-09-01"
    assert treated["Salford"]["first_period"] == announced["Salford"]["first_period"]
    counts = res["by_start"]["actual"]["counts"]
    assert counts["treated_las"] == 15 and counts["comparison_las"] > 100
    assert res["missing"], "the real data set values missing (suppression, change of basis); they are counted"


def test_the_report_says_its_la_section_is_real_and_shows_both_starts(run):
    html = (run / "reports" / "mentors.html").read_text()
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "Real DfE data in the local-authority section" in text
    assert "attendance_la_weekly_panel.csv.gz" in text
    assert "Actual start: effect (95% CI)" in text and "Announced start: effect (95% CI)" in text
    assert "minimum detectable effect" in text
    assert scan_html(html) == []


def test_only_the_la_chart_is_captioned_as_real_data(run):
    from evaluate.report.sentences import SYNTHETIC_LABEL
    html = (run / "reports" / "mentors.html").read_text()
    caps = [" ".join(re.sub(r"<[^>]+>", " ", c).split())
            for c in re.findall(r"<figcaption>(.*?)</figcaption>", html, flags=re.S)]
    real = [c for c in caps if "DfE, Pupil attendance in schools" in c]
    assert len(real) == 1 and SYNTHETIC_LABEL not in real[0]
    assert all(SYNTHETIC_LABEL in c for c in caps if c not in real)


def test_the_key_findings_lead_with_the_real_data(run):
    """Page 1 leads with what DfE's real LA figures show, not with the synthetic school-level estimate."""
    html = (run / "reports" / "mentors.html").read_text()
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    key = text[text.index("Key findings"):]
    first = key.index("On DfE's published local-authority figures")
    school = key.index("School-level estimates (synthetic data, not real findings)")
    assert first < school
