from __future__ import annotations

import json
import shutil
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
