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
from pathlib import Path

import pytest

from evaluate.report import findings
from evaluate.report.rounding import fmt_number
from evaluate.report.sentences import SYNTHETIC_LABEL

DOCS = ("hubs", "mentors", "technical-annex")


@pytest.fixture(scope="module")
def run(programme_run) -> Path:
    return programme_run  # tests/report/conftest.py: a 2,500-school synthetic run, every report rendered


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
