"""Fixtures shared across test folders, and the ``slow`` marker that ``make test-fast`` skips.

``make test`` runs every test. ``make test-fast`` (``pytest -m "not slow"``) is the edit
loop: it leaves out every test that uses a full-pipeline or rendering fixture (listed in
``SLOW_FIXTURES``) and every test measured at 0.5 s or more on 2 cores (listed by node id in
``tests/slow_tests.txt``, made from ``pytest --durations=0``; see benchmarks/RESULTS.md).
"""

from __future__ import annotations

from pathlib import Path

import pytest

# Fixtures that run the whole pipeline, build a full-size synthetic country or render a
# report: a test that asks for one of them is slow whatever its own body does.
SLOW_FIXTURES = frozenset(
    {
        "programme_run",
        "guide_html",
        "checked",
        "rendered",
        "runs",
        "run",
        "grid",
        "tiny_html",
        "dq_render",
        "national",
        "planted",
        "worlds",
        "country",
        "real",
        "clean",
    }
)

_SLOW_LIST = Path(__file__).with_name("slow_tests.txt")


def _slow_tests() -> frozenset[str]:
    if not _SLOW_LIST.exists():
        return frozenset()
    lines = _SLOW_LIST.read_text(encoding="utf-8").splitlines()
    return frozenset(s.strip() for s in lines if s.strip() and not s.startswith("#"))


SLOW_TESTS = _slow_tests()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items) -> None:
    """Mark slow every test that uses a slow fixture or is listed in slow_tests.txt."""
    for item in items:
        fixtures = set(getattr(item, "fixturenames", ()))
        if fixtures & SLOW_FIXTURES or item.nodeid in SLOW_TESTS:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def guide_html(tmp_path_factory) -> Path:
    """The researcher's guide rendered to HTML (bridge) from its small example run; shared by
    tests/test_guide.py and the accessibility check (tests/report/test_accessibility.py)."""
    from evaluate import guide

    out = tmp_path_factory.mktemp("guide")
    guide.render_guide(out / "html", engine="bridge", run_dir=out / "run")
    return out / "html"
