"""The programme reports (hubs, mentors, technical annex) rendered from a small synthetic run.

Checks what a reader relies on: the synthetic label on the first page and in every chart
caption, every chart embedded with alt text, no external URL, working cross-references,
the key findings equal to sentences built from the results JSON (so every number in the
policy summary is the JSON's, rounded half up), and the PDF carrying the headline numbers.
"""

from __future__ import annotations

import html as htmllib
import json
import re
import warnings
from pathlib import Path

import pytest

from evaluate import pipeline
from evaluate.config import load_config
from evaluate.report import findings
from evaluate.report.rounding import fmt_number
from evaluate.report.sentences import SYNTHETIC_LABEL

DOCS = ("hubs", "mentors", "technical-annex")


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("programme")
    cfg_path = tmp / "evaluation.yml"
    # la_data pinned to synthetic: with $EVALUATE_DATA_ROOTS set (make test sets it when
    # ../shared/data exists) the LA section would otherwise run on the real files, whose
    # chart is rightly not labelled synthetic (tests/areas/test_mentors_real.py checks that)
    cfg_path.write_text("seed: 5\noutput: out\ndata:\n  dir: synth\n  synthetic: {schools: 2500}\n"
                        "programmes: {mentors: {areas: {la_data: synthetic}}}\n"
                        f"reports: [{', '.join(DOCS)}]\n"
                        f"reports_dir: {Path(__file__).parents[2] / 'reports'}\n", encoding="utf-8")
    cfg = load_config(cfg_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a pilot cohort too small to match may be skipped
        pipeline.run(cfg, config_path=cfg_path)
    pipeline.render_reports(cfg, formats=("html", "pdf"), engine="bridge")
    return tmp / "out"


def _text(html: str) -> str:
    return " ".join(htmllib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.mark.parametrize("doc", DOCS)
def test_report_html_is_self_contained_labelled_and_accessible(run, doc):
    html = (run / "reports" / f"{doc}.html").read_text()
    assert re.search(r'(src|href)="https?://', html) is None
    assert "?@" not in html
    assert "from evaluate" not in html
    first = html[: html.index("<h2")]
    assert SYNTHETIC_LABEL in first
    imgs = re.findall(r"<img [^>]*>", html)
    if doc != "technical-annex":
        assert len(imgs) >= 4
    for img in imgs:
        alt = re.search(r'alt="([^"]*)"', img)
        assert alt and len(alt.group(1)) > 40
        assert "data:image/png;base64," in img
    caps = re.findall(r"<figcaption>(.*?)</figcaption>", html, flags=re.S)
    assert len(caps) == len(imgs)
    assert all(SYNTHETIC_LABEL in " ".join(c.split()) for c in caps)
    prov = json.loads((run / "provenance.json").read_text())
    assert prov["git"]["commit"][:12] in html and str(prov["seed"]) in html


@pytest.mark.parametrize("programme", ["hubs", "mentors"])
def test_key_findings_are_the_results_json(run, programme):
    res = json.loads((run / "results" / f"{programme}.json").read_text())
    text = _text((run / "reports" / f"{programme}.html").read_text())
    expected = findings.key_findings(res)
    assert 1 <= len(expected) <= 6
    for sentence in expected:
        assert " ".join(sentence.split()) in text.replace("−", "-") or " ".join(sentence.split()) in text
    # the headline numbers, rounded half up, are those of the JSON
    h = res["outcomes"]["overall_absence_rate"]["headline"]
    first = expected[0]
    for value in (h["ci_low"], h["ci_high"]):
        assert fmt_number(abs(value), 1) in first


@pytest.mark.parametrize("programme", ["hubs", "mentors"])
def test_pdf_has_selectable_text_with_the_headline(run, programme):
    from pypdf import PdfReader

    res = json.loads((run / "results" / f"{programme}.json").read_text())
    reader = PdfReader(run / "reports" / f"{programme}.pdf")
    text = " ".join(page.extract_text() for page in reader.pages)
    text = " ".join(text.split()).replace("\u2212", "-")
    assert "Synthetic data" in text
    h = res["outcomes"]["overall_absence_rate"]["headline"]
    assert fmt_number(h["estimate"], 1).replace("\u2212", "-") in text
    assert len(reader.pages) >= 4
    # page numbers in the footer
    assert re.search(r"\b2\b", reader.pages[1].extract_text())
