"""The API reference builds from the docstrings and documents the public functions."""

from __future__ import annotations

import re

from evaluate.apidocs import API_MODULES, build_api


def test_api_reference_builds_and_lists_the_public_functions(tmp_path):
    index = build_api(tmp_path)
    assert index.exists()
    pages = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.html")}
    for mod in API_MODULES:
        assert mod.replace(".", "/") + ".html" in pages, mod
    did = (tmp_path / "evaluate" / "did.html").read_text()
    for name in ("callaway_santanna", "twfe", "event_study", "sun_abraham", "imputation", "bacon_decomposition"):
        assert f'id="{name}"' in did, name
    matching = (tmp_path / "evaluate" / "matching.html").read_text()
    assert 'id="match_cohorts"' in matching and 'id="nearest_neighbour"' in matching
    # numpydoc sections are rendered, not shown as raw text
    assert "Parameters" in did and not re.search(r"-{8,}", re.sub(r"<[^>]+>", "", did.split("callaway_santanna")[1][:4000]))
