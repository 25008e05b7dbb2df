from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pytest

HERE = Path(__file__).parent
FIXTURE_OUTPUT = HERE / "fixtures" / "output"
REPORTS = HERE.parents[1] / "reports"


@pytest.fixture
def dq() -> dict:
    return json.loads((FIXTURE_OUTPUT / "results" / "data_quality.json").read_text())


@pytest.fixture
def output_copy(tmp_path) -> Path:
    """A writable copy of the fixture output folder (results/ + provenance.json)."""
    dest = tmp_path / "output"
    shutil.copytree(FIXTURE_OUTPUT, dest)
    return dest


#: The documents the programme run renders (every report of reports/).
RUN_DOCS = ("data-quality", "hubs", "mentors", "technical-annex")


@pytest.fixture(scope="session")
def programme_run(tmp_path_factory) -> Path:
    """The output folder of a small synthetic run (2,500 schools) with every report rendered
    to HTML and PDF; shared by the programme-report, PDF-tagging and accessibility tests."""
    from evaluate import pipeline
    from evaluate.config import load_config

    tmp = tmp_path_factory.mktemp("programme")
    cfg_path = tmp / "evaluation.yml"
    # la_data pinned to synthetic: with $EVALUATE_DATA_ROOTS set (make test sets it when
    # ../shared/data exists) the LA section would otherwise run on the real files, whose
    # chart is rightly not labelled synthetic (tests/areas/test_mentors_real.py checks that)
    cfg_path.write_text("seed: 5\noutput: out\ndata:\n  dir: synth\n  synthetic: {schools: 2500}\n"
                        "programmes: {mentors: {areas: {la_data: synthetic}}}\n"
                        f"reports: [{', '.join(RUN_DOCS)}]\n"
                        f"reports_dir: {REPORTS}\n", encoding="utf-8")
    cfg = load_config(cfg_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a pilot cohort too small to match may be skipped
        pipeline.run(cfg, config_path=cfg_path)
    pipeline.render_reports(cfg, formats=("html", "pdf"), engine="bridge")
    return tmp / "out"
