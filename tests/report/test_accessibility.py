"""The accessibility check (evaluate.report.accessibility) on every report and the guide.

Headless Chromium (Debian's ``chromium``) runs axe-core's WCAG 2.2 A and AA rules and its
landmark and heading rules on each page of a small synthetic run and of the guide; the
targets are 0 violations of any impact, alt text and a data table one click away for every
chart, and keyboard focus in reading order. The results are written to
``results/accessibility.json`` of the run, as ``evaluate accessibility`` does, and a
screenshot of the top of each page is taken for a person to look at. Skipped, with the
reason, where Chromium, Node or the pinned Node packages (``npm ci`` in
tools/accessibility, which ``make test`` runs) are missing.
"""

from __future__ import annotations

import json
import time

import pytest

from evaluate.report import accessibility as a11y

pytestmark = pytest.mark.skipif(a11y.unavailable() is not None,
                                reason=f"accessibility check not run: {a11y.unavailable()}")


@pytest.fixture(scope="module")
def checked(programme_run, guide_html, tmp_path_factory):
    pages = a11y.report_pages(programme_run, guide=guide_html)
    shots = tmp_path_factory.mktemp("screenshots")
    start = time.perf_counter()
    results = a11y.check_pages(pages, screenshots=shots)
    seconds = time.perf_counter() - start
    path = a11y.write_results(results, programme_run)
    print(f"\naccessibility check: {len(pages)} pages in {seconds:.1f} s; screenshots in {shots}")
    return pages, results, path, shots


def test_every_report_and_guide_page_is_checked(checked):
    pages, results, _, _ = checked
    assert {"data-quality", "hubs", "mentors", "technical-annex"} <= set(results["pages"])
    assert sum(1 for p in results["pages"] if p.startswith("guide/")) >= 6
    assert results["axe_core"] == json.loads((a11y.TOOL_DIR / "package.json").read_text())["dependencies"]["axe-core"]


def test_no_violations_of_any_impact(checked):
    _, results, _, _ = checked
    found = {name: [v["id"] for v in p["violations"] + p["structure_violations"]]
             for name, p in results["pages"].items()}
    assert all(not v for v in found.values()), found


def test_every_chart_has_alt_text_and_its_data_one_click_away(checked):
    _, results, _, _ = checked
    charts = [(name, c) for name, p in results["pages"].items() for c in p["charts"]]
    assert len(charts) >= 15
    for name, c in charts:
        assert len(c["alt"]) > 40, (name, c["id"])
        assert c["details"] and c["table"] and c["opens"] and c["csv"], (name, c)


def test_keyboard_focus_follows_reading_order(checked):
    _, results, _, _ = checked
    for name, p in results["pages"].items():
        f = p["focus"]
        assert f["in_reading_order"] and f["reached"] == f["focusable"] > 0, (name, f)
        assert f["unstyled_focus"] == 0, name


def test_language_title_and_results_file(checked, programme_run):
    _, results, path, _ = checked
    for name, p in results["pages"].items():
        assert p["lang"] == "en-GB" and p["title"], name
    written = json.loads(path.read_text())
    assert path == programme_run / "results" / "accessibility.json"
    assert written["problems"] == [] and set(written["pages"]) == set(results["pages"])


def test_screenshots_of_each_page(checked):
    pages, _, _, shots = checked
    for name in pages:
        png = shots / f"{name.replace('/', '-')}.png"
        assert png.read_bytes()[:4] == b"\x89PNG", name
