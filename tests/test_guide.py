"""The researcher's guide (docs/guide/*.qmd) renders with the bridge, from a small example run.

Checks what a reader relies on: every page renders to self-contained HTML (no external
source), its code cells ran (a table or output only a cell can produce is there), every
cross-reference resolved, the R parity page still renders when the shared validation data
are absent, and the table of configuration options covers every option.
"""

from __future__ import annotations

import html as htmllib
import re
from pathlib import Path

import pytest

from evaluate import guide as built
from evaluate.config import Config
from evaluate.report import guide

# Text that only a cell that ran can put on the page.
EXPECTED = {
    "index": ["a researcher", "Reading the reports"],
    "getting-started": ["Files written by evaluate run", "results/hubs.json", "Usage: evaluate",
                        "'estimate':", "evaluate run --help"],
    "reproducing-r-did": ["Reproducing R"],
    "own-programme": ["Every option of evaluation.yml", "matching.caliper", "calliper",
                      "The attrition log", "gias_establishments"],
    "choosing-an-estimator": ["Average effect on the treated, by estimator", "later_vs_earlier",
                              "sign patterns (enumerated: True)", "covariate x"],
    "reading-the-reports": ["The three checks behind the rating", "Placebo adoption dates",
                            "HonestDiD", "Scientific Methods Scale"],
}
MIN_IMAGES = {"choosing-an-estimator": 1, "reading-the-reports": 5}


def _text(html: str) -> str:
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture(scope="module")
def rendered(guide_html) -> Path:
    return guide_html  # tests/conftest.py: rendered once per session


def test_every_page_is_listed():
    pages = sorted(p.stem for p in guide.guide_dir().glob("*.qmd"))
    assert pages == sorted(guide.PAGES) == sorted(EXPECTED)


@pytest.mark.parametrize("page", guide.PAGES)
def test_page_renders_self_contained_with_cells_run(rendered, page):
    html = (rendered / f"{page}.html").read_text(encoding="utf-8")
    assert re.search(r'(src|href)="https?://', html) is None
    assert "?@" not in html
    text = _text(html)
    for expected in EXPECTED[page]:
        assert expected in text, f"{page}: {expected!r} missing"
    assert "Traceback" not in text
    if page == "index":
        for other in guide.PAGES[1:]:
            assert f'href="{other}.html"' in html
    imgs = re.findall(r"<img [^>]*>", html)
    assert len(imgs) >= MIN_IMAGES.get(page, 0)
    for img in imgs:
        assert "data:image/png;base64," in img
        alt = re.search(r'alt="([^"]*)"', img)
        assert alt and len(alt.group(1)) > 20


def test_r_parity_page_compares_when_the_data_are_there(rendered):
    text = _text((rendered / "reproducing-r-did.html").read_text(encoding="utf-8"))
    if guide.validation_dir() is None:
        assert "Reference data not found" in text
        pytest.skip("shared validation data absent: the comparison was skipped (checked)")
    assert "Group-time average treatment effects on log teen employment" in text
    assert "Every R did reference scenario" in text
    # the largest differences the page reports are floating-point noise
    diffs = [float(x) for x in re.findall(r"largest absolute difference (?:over the \d+ aggregated effects of "
                                          r"Table \d+ )?is ([0-9.e+-]+)", text)]
    assert len(diffs) == 2 and max(diffs) < 1e-8


def test_r_parity_page_renders_without_the_shared_data(tmp_path, rendered):
    empty = tmp_path / "no-shared-data"
    empty.mkdir()
    built.render_guide(tmp_path / "html", engine="bridge", run_dir=rendered.parent / "run",
                       pages=["reproducing-r-did"], env={"EVALUATE_SHARED_DATA": str(empty)})
    html = (tmp_path / "html" / "reproducing-r-did.html").read_text(encoding="utf-8")
    text = _text(html)
    assert "Reference data not found" in text and "Skipped: the reference data were not found" in text
    assert "?@" not in html and "Table 1" not in text


def _fields(model, prefix=""):
    from pydantic import BaseModel

    for name, field in model.model_fields.items():
        if field.exclude:
            continue
        yield f"{prefix}{name}"
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            yield from _fields(ann, f"{prefix}{name}.")


def test_config_options_cover_every_option():
    rows = guide.config_options()
    names = [r["option"] for r in rows]
    assert names == list(_fields(Config))
    assert all(r["description"].strip() for r in rows), [r["option"] for r in rows if not r["description"]]
    assert set(guide.OPTION_NOTES) <= set(names), "a note names an option that no longer exists"
    caliper = next(r for r in rows if r["option"] == "matching.caliper")
    assert caliper["default"] == "`0.2`" and caliper["type"] == "number or empty"
