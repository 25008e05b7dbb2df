"""Fixtures shared across test folders."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def guide_html(tmp_path_factory) -> Path:
    """The researcher's guide rendered to HTML (bridge) from its small example run; shared by
    tests/test_guide.py and the accessibility check (tests/report/test_accessibility.py)."""
    from evaluate import guide

    out = tmp_path_factory.mktemp("guide")
    guide.render_guide(out / "html", engine="bridge", run_dir=out / "run")
    return out / "html"
