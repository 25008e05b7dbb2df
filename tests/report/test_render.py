"""The bridge (jupytext + nbclient + pandoc + typst): cross-references, cell options,
errors, atomic output, and a full render of reports/data-quality.qmd from the fixture."""

from __future__ import annotations

import json
import re
import shutil
import textwrap
import time
from pathlib import Path

import pytest

from evaluate.report import ReportError
from evaluate.report.render import quarto_path, render
from evaluate.report.sentences import SYNTHETIC_LABEL

HERE = Path(__file__).parent
REPORTS = HERE.parents[1] / "reports"
FIXTURE_OUTPUT = HERE / "fixtures" / "output"

TINY = textwrap.dedent('''\
    ---
    title: "Tiny report"
    ---

    See @fig-line and @tbl-small.

    ```{python}
    #| label: fig-line
    #| echo: false
    #| fig-cap: "A rising line"
    #| fig-alt: "A line going up from left to right"
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.plot([1, 2, 3])
    plt.show()
    ```

    ```{python}
    #| label: table
    #| echo: false
    #| output: asis
    import os
    print("| a | b |\\n|---|---|\\n| 1 | 2 |\\n\\n: A small table {#tbl-small}")
    print()
    print("Output folder: **" + os.environ["EVALUATE_OUTPUT"] + "**")
    ```

    ```{python}
    #| label: shown
    shown_value = 6 * 7
    shown_value
    ```

    ::: {.callout-note}
    A note.
    :::
    ''')


def _imgs(html: str) -> list[str]:
    return re.findall(r"<img\b[^>]*>", html)


@pytest.fixture(scope="module")
def tiny_html(tmp_path_factory) -> str:
    tmp = tmp_path_factory.mktemp("tiny")
    doc = tmp / "tiny.qmd"
    doc.write_text(TINY)
    (tmp / "outdir").mkdir()
    [html] = render([doc], out_dir=tmp / "out", formats=["html"], env={"EVALUATE_OUTPUT": str(tmp / "outdir")},
                    engine="bridge")
    return html.read_text()


def test_crossref_figure_and_table(tiny_html):
    assert '<a href="#fig-line">Figure\u00a01</a>' in tiny_html
    assert '<a href="#tbl-small">Table\u00a01</a>' in tiny_html
    assert re.search(r"<figcaption>Figure\u00a01: A rising line</figcaption>", tiny_html)
    assert re.search(r"<caption>Table\u00a01: A small table</caption>", tiny_html)
    assert "?@" not in tiny_html


def test_cell_options(tiny_html):
    [img] = _imgs(tiny_html)
    assert 'alt="A line going up from left to right"' in img
    assert 'src="data:image/png;base64,' in img  # self-contained
    assert "import matplotlib" not in tiny_html  # echo: false
    assert 'class="sourceCode python"' in tiny_html and "shown_value" in tiny_html  # echo defaults to true
    assert "<pre><code>42</code></pre>" in tiny_html
    assert "#|" not in tiny_html  # options never shown
    assert "<strong>" in tiny_html and "Output folder:" in tiny_html  # output: asis
    assert 'class="callout callout-note"' in tiny_html


def test_environment_reaches_the_kernel(tiny_html):
    assert re.search(r"Output folder: <strong>/[^<]*outdir</strong>", tiny_html)


def test_failing_cell_names_document_label_and_line(tmp_path):
    doc = tmp_path / "broken.qmd"
    doc.write_text('---\ntitle: "B"\n---\n\nText.\n\n```{python}\n#| label: fine\nx = 1\n```\n\n'
                   '```{python}\n#| label: load-results\nraise KeyError("national")\n```\n')
    out = tmp_path / "out"
    out.mkdir()
    (out / "broken.html").write_text("old")
    with pytest.raises(ReportError) as info:
        render([doc], out_dir=out, formats=["html"], engine="bridge")
    msg = str(info.value)
    assert "broken.qmd" in msg and "cell 'load-results' (line 12)" in msg and "KeyError" in msg
    assert "\n" not in msg and "Traceback" not in msg
    # nothing half-written: the old output is untouched and no temporary folder is left
    assert (out / "broken.html").read_text() == "old"
    assert sorted(p.name for p in out.iterdir()) == ["broken.html"]


def test_unknown_format_and_missing_document(tmp_path):
    with pytest.raises(ReportError, match="format"):
        render([REPORTS / "data-quality.qmd"], out_dir=tmp_path, formats=["docx"], engine="bridge")
    with pytest.raises(ReportError, match="not found"):
        render([tmp_path / "nope.qmd"], out_dir=tmp_path, engine="bridge")


@pytest.mark.skipif(quarto_path() is not None, reason="quarto is installed")
def test_engine_quarto_without_quarto(tmp_path):
    with pytest.raises(ReportError, match="quarto"):
        render([REPORTS / "data-quality.qmd"], out_dir=tmp_path, engine="quarto")


def test_missing_output_folder_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("EVALUATE_OUTPUT", raising=False)
    with pytest.raises(ReportError, match="EVALUATE_OUTPUT"):
        render([REPORTS / "data-quality.qmd"], out_dir=tmp_path / "o", formats=["html"], engine="bridge")
    assert not any((tmp_path / "o").iterdir())


# --- the data-quality report ----------------------------------------------------------


@pytest.fixture(scope="module")
def dq_render(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dq")
    output = tmp / "output"
    shutil.copytree(FIXTURE_OUTPUT, output)
    start = time.perf_counter()
    written = render([REPORTS / "data-quality.qmd"], out_dir=output / "reports", formats=("html", "pdf"),
                     env={"EVALUATE_OUTPUT": str(output)}, engine="bridge")
    return written, time.perf_counter() - start


def test_data_quality_renders_html_and_pdf(dq_render):
    written, seconds = dq_render
    assert [p.name for p in written] == ["data-quality.html", "data-quality.pdf"]
    assert written[1].read_bytes()[:5] == b"%PDF-"
    assert written[1].stat().st_size > 20_000


def test_data_quality_html_content(dq_render):
    html = dq_render[0][0].read_text()
    assert "<title>Data quality: school absence panel</title>" in html
    first_page = html[: html.index('id="national-absence-against-published-figures"')]
    assert 'class="callout callout-warning"' in first_page and SYNTHETIC_LABEL in first_page
    imgs = _imgs(html)
    assert len(imgs) == 2
    for img in imgs:
        alt = re.search(r'alt="([^"]*)"', img)
        assert alt and len(alt.group(1)) > 30
        assert "data:image/png;base64," in img
    for n in (1, 2):
        assert f"Figure\u00a0{n}:" in html
    for n in range(1, 8):
        assert f"Table\u00a0{n}:" in html
    assert "?@" not in html
    # every figure caption carries the synthetic label
    caps = re.findall(r"<figcaption>(.*?)</figcaption>", html, flags=re.S)
    assert len(caps) == 2 and all(SYNTHETIC_LABEL in " ".join(c.split()) for c in caps)
    # no code is shown, and the sections are there
    assert "from evaluate" not in html
    for section in ["Coverage", "Suppressed and unavailable cells", "Attrition", "Academy conversions",
                    "Programme membership", "Provenance"]:
        assert f">{section}</h2>" in html
    assert "2022/23" in html
    prov = json.loads((dq_render[0][0].parent.parent / "provenance.json").read_text())
    assert prov["git"]["commit"][:12] in html and str(prov["seed"]) in html


def test_data_quality_not_synthetic_has_no_label(tmp_path, output_copy):
    path = output_copy / "results" / "data_quality.json"
    dq = json.loads(path.read_text())
    dq["synthetic"] = False
    path.write_text(json.dumps(dq))
    [html] = render([REPORTS / "data-quality.qmd"], out_dir=tmp_path / "r", formats=["html"],
                    env={"EVALUATE_OUTPUT": str(output_copy)}, engine="bridge")
    text = html.read_text()
    assert "Synthetic data" not in text and "not real findings" not in text
    assert 'class="callout callout-note"' in text


def test_rendering_leaves_the_reports_folder_clean(dq_render):
    assert not (REPORTS / "_figures").exists()
    assert not list(REPORTS.glob("*.ipynb"))


def test_same_inputs_render_byte_identical_reports(dq_render, tmp_path, monkeypatch):
    """Reproducible: a second render of the same results gives the same HTML and PDF bytes
    (the PDF's date comes from SOURCE_DATE_EPOCH or the commit, never the clock)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    first, _ = dq_render
    output = tmp_path / "output"
    shutil.copytree(FIXTURE_OUTPUT, output)
    runs = []
    for name in ("a", "b"):
        runs.append(render([REPORTS / "data-quality.qmd"], out_dir=output / name, formats=("html", "pdf"),
                           env={"EVALUATE_OUTPUT": str(output)}, engine="bridge"))
    for x, y in zip(*runs, strict=True):
        assert x.read_bytes() == y.read_bytes(), x.name
