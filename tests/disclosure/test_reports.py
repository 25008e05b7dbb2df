"""Disclosure control end to end: a small synthetic run with small cells, rendered.

The run uses a pupil threshold far above DfE's 10 so that a small synthetic country has
cells to suppress. The rendered report is then attacked the way a reader could: every
table is scanned for pupil counts below the threshold and for suppressed cells that can
be recovered from their totals (by linear programming, a different method from the one
that chose the cells), and the publication area is scanned for pupil identifiers.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pandas as pd
import pytest

from evaluate import pipeline
from evaluate.config import load_config
from evaluate.disclosure import DisclosureRules, check_publication_area, html_tables, scan_html
from evaluate.report.tables import markdown_table

THRESHOLD = 3000


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("sdc")
    cfg_path = tmp / "evaluation.yml"
    cfg_path.write_text(
        "seed: 11\noutput: out\ndata:\n  dir: synth\n  synthetic: {schools: 400}\n"
        "matching: {enabled: false}\nprogrammes: {mentors: {enabled: false}}\n"
        f"disclosure: {{pupil_threshold: {THRESHOLD}}}\nreports: [data-quality]\n"
        f"reports_dir: {Path(__file__).parents[2] / 'reports'}\n", encoding="utf-8")
    cfg = load_config(cfg_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        pipeline.run(cfg, config_path=cfg_path, until="panel")
    pipeline.render_reports(cfg, formats=("html",), engine="bridge")
    return tmp


def test_the_results_json_holds_a_controlled_coverage_table(run):
    dq = json.loads((run / "out" / "results" / "data_quality.json").read_text())
    cov = dq["coverage"]
    assert cov["rules"]["pupil_threshold"] == THRESHOLD
    assert cov["suppressed"]["primary"] > 0
    shown = [r["enrolments"] for r in cov["records"] if r["enrolments"] != "c"]
    assert all(v == 0 or v >= THRESHOLD for v in shown)


def test_no_small_cell_and_no_recoverable_cell_in_the_rendered_report(run):
    html = (run / "out" / "reports" / "data-quality.html").read_text()
    rules = DisclosureRules(pupil_threshold=THRESHOLD)
    tables = [t for t in html_tables(html) if "Enrolments" in t.columns]
    assert tables and (tables[0]["Enrolments"] == "c").any()  # there was something to protect
    assert scan_html(html, rules) == []
    # the scanner is not blind: the same table without control fails it
    dq = json.loads((run / "out" / "results" / "data_quality.json").read_text())
    spec_rows = pd.DataFrame(dq["coverage"]["records"])
    panel = pd.read_parquet(run / "work" / "out" / "panel" / "panel_year.parquet")
    raw = panel.groupby(["year", "phase"])["enrolments"].sum().reset_index()
    raw = pd.concat([raw, raw.groupby("year")["enrolments"].sum().reset_index().assign(phase="All phases")])
    raw = raw.sort_values(["year", "phase"], key=lambda s: s.map(lambda v: (v == "All phases", v))
                          if s.name == "phase" else s, kind="stable")
    raw = raw[["phase", "year", "enrolments"]].rename(columns={"enrolments": "Enrolments"})
    raw_html = _html(markdown_table(raw, formats={"year": "year"}))
    assert any("small count shown" in p.message for p in scan_html(raw_html, rules))
    assert len(spec_rows) > 0


def test_the_publication_area_has_no_pupil_identifiers_and_no_working_files(run):
    out = run / "out"
    assert check_publication_area(out) == []
    assert not list(out.rglob("*.parquet"))
    assert (run / "work" / "out" / "panel" / "panel_year.parquet").exists()
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["disclosure"]["pupil_threshold"] == THRESHOLD


def test_the_report_states_the_rules_and_prints_the_symbol_key(run):
    html = (run / "out" / "reports" / "data-quality.html").read_text()
    assert f"below {THRESHOLD:,}" in html or f"below {THRESHOLD}" in html
    assert "confidential" in html


def _html(md: str) -> str:
    import pypandoc

    return pypandoc.convert_text(md, "html", format="markdown")


def test_the_rendered_report_passes_the_interval_audit(run):
    html = (run / "out" / "reports" / "data-quality.html").read_text()
    assert scan_html(html, DisclosureRules(pupil_threshold=THRESHOLD), interval=True) == []
    # two small phases a year protect each other exactly but not their interval: a third
    # phase is hidden with them, never the total
    dq = json.loads((run / "out" / "results" / "data_quality.json").read_text())
    cov = dq["coverage"]
    assert cov["suppressed"]["secondary"] > 0
    assert all(r["enrolments"] != "c" for r in cov["records"] if r["phase"] == "All phases")
