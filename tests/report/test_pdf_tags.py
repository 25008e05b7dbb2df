"""Tagged, accessible PDFs: typst writes a structure tree and checks PDF/UA-1 (render.PDF_STANDARD).

The structure tree is read back (pypdf, the raw objects): the document's title and language,
headings, table header cells with their scope, and alt text on every figure, the alt text the
HTML shows.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from evaluate.report.render import PDF_STANDARD
from evaluate.report.sentences import SYNTHETIC_LABEL

DOCS = ("data-quality", "hubs", "mentors", "technical-annex")


def structure(path: Path) -> dict:
    """The catalog, the document info and the structure elements of a PDF, by type."""
    from pypdf import PdfReader

    reader = PdfReader(path)
    root = reader.trailer["/Root"]
    elements: dict[str, list] = {}
    counts: Counter = Counter()

    def walk(node, seen: set[int]) -> None:
        if hasattr(node, "idnum"):
            if node.idnum in seen:
                return
            seen.add(node.idnum)
        node = node.get_object()
        if isinstance(node, list):
            for child in node:
                walk(child, seen)
            return
        if not isinstance(node, dict):
            return  # a marked-content id
        kind = node.get("/S")
        if kind is not None:
            counts[str(kind)] += 1
            elements.setdefault(str(kind), []).append(node)
        if "/K" in node:
            walk(node["/K"], seen)

    assert "/StructTreeRoot" in root, "the PDF is not tagged"
    walk(root["/StructTreeRoot"], set())
    xmp = root["/Metadata"].get_object().get_data().decode("utf-8", "replace") if "/Metadata" in root else ""
    return {"root": root, "info": reader.metadata or {}, "elements": elements, "counts": counts, "xmp": xmp}


@pytest.fixture(scope="module")
def pdfs(programme_run) -> dict[str, dict]:
    return {doc: structure(programme_run / "reports" / f"{doc}.pdf") for doc in DOCS}


def test_pdf_standard_is_ua1():
    assert PDF_STANDARD == "ua-1"


@pytest.mark.parametrize("doc", DOCS)
def test_pdf_is_tagged_with_title_and_language(pdfs, doc):
    s = pdfs[doc]
    root = s["root"]
    assert bool(root["/MarkInfo"]["/Marked"])
    assert root["/Lang"] == "en-GB"
    assert bool(root["/ViewerPreferences"]["/DisplayDocTitle"])
    assert len(str(s["info"].get("/Title", ""))) > 10
    assert "pdfuaid:part" in s["xmp"] and re.search(r"pdfuaid:part[^0-9]*1", s["xmp"])
    assert s["counts"]["/H1"] + s["counts"]["/H2"] >= 3


@pytest.mark.parametrize("doc", DOCS)
def test_every_figure_has_the_html_alt_text(pdfs, programme_run, doc):
    figures = pdfs[doc]["elements"].get("/Figure", [])
    html = (programme_run / "reports" / f"{doc}.html").read_text(encoding="utf-8")
    html_alts = [a for a in re.findall(r'<img [^>]*alt="([^"]*)"', html)]
    assert len(figures) == len(html_alts) >= 1
    for fig in figures:
        alt = str(fig.get("/Alt", ""))
        assert len(alt) > 40 and SYNTHETIC_LABEL in alt


@pytest.mark.parametrize("doc", DOCS)
def test_tables_have_header_cells_with_scope(pdfs, doc):
    els = pdfs[doc]["elements"]
    assert len(els.get("/Table", [])) >= 2
    ths = els.get("/TH", [])
    assert ths, "no table header cells"

    def scope(th):
        attrs = th.get("/A")
        attrs = attrs if isinstance(attrs, list) else [attrs]
        return {str(a.get_object().get("/Scope")) for a in attrs if a is not None and "/Scope" in a.get_object()}

    assert all(scope(th) & {"/Column", "/Row", "/Both"} for th in ths)
