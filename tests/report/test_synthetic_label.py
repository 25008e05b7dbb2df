"""The synthetic-data label is a function of the input: on every caption when true, nowhere when false."""

import pytest
from matplotlib.figure import Figure

from evaluate.report import charts, sentences, tables
from evaluate.report.sentences import SYNTHETIC_LABEL

TABLES = [
    ("national", tables.national_table),
    ("coverage", tables.coverage_table),
    ("suppression", tables.suppression_table),
    ("attrition", tables.attrition_table),
    ("conversions", tables.conversions_table),
    ("programmes", tables.programmes_table),
]
CHARTS = [("national", charts.national_chart), ("coverage", charts.coverage_chart)]


@pytest.mark.parametrize("synthetic", [True, False])
def test_charts(dq, synthetic, tmp_path):
    for key, fn in CHARTS:
        chart = fn(dq[key], synthetic=synthetic)
        assert isinstance(chart.figure, Figure)
        assert len(chart.title.split()) <= charts.MAX_TITLE_WORDS
        assert chart.caption.startswith("Source: ")
        assert chart.alt
        assert (SYNTHETIC_LABEL in chart.caption) is synthetic
        assert (SYNTHETIC_LABEL in chart.alt) is synthetic
        # the label is drawn on the image as well, but the title and source are the caption's only
        texts = " ".join(t.get_text() for t in chart.figure.texts)
        assert (SYNTHETIC_LABEL in texts) is synthetic
        assert "Source:" not in texts and chart.title not in texts
        assert chart.data is not None and len(chart.data) > 0
        md = chart.markdown(f"fig-{key}", directory=tmp_path)
        assert (tmp_path / f"fig-{key}.png").read_bytes()[:4] == b"\x89PNG"
        assert f"{{#fig-{key} fig-alt=" in md
        assert (SYNTHETIC_LABEL in md) is synthetic


@pytest.mark.parametrize("synthetic", [True, False])
def test_tables(dq, synthetic):
    for key, fn in TABLES:
        md = fn(dq[key], synthetic=synthetic)
        caption = [ln for ln in md.splitlines() if ln.startswith(": ")]
        assert len(caption) == 1, key
        assert (SYNTHETIC_LABEL in caption[0]) is synthetic, key


def test_callout():
    assert SYNTHETIC_LABEL in sentences.synthetic_callout(True)
    assert ".callout-warning" in sentences.synthetic_callout(True)
    assert SYNTHETIC_LABEL not in sentences.synthetic_callout(False)
    with pytest.raises(TypeError):
        sentences.synthetic_label("yes")


def test_a_synthetic_chart_without_the_label_is_refused(dq):
    chart = charts.national_chart(dq["national"], synthetic=True)
    with pytest.raises(ValueError, match="synthetic"):
        charts.Chart(chart.figure, chart.title, "Source: x.", chart.alt, synthetic=True)


def test_long_titles_are_refused(dq):
    chart = charts.coverage_chart(dq["coverage"], synthetic=False)
    with pytest.raises(ValueError, match="words"):
        charts.Chart(chart.figure, "one two three four five six seven eight nine ten eleven",
                     chart.caption, chart.alt)


def test_attrition_sentence_reports_the_summary_and_flags_a_gap():
    from evaluate.report.sentences import attrition_sentence

    ok = {"rows_read": 1000, "rows_dropped": 30, "rows_final": 970, "panel_year_rows": 250,
          "panel_term_rows": 720, "adds_up": True}
    text = attrition_sentence(ok)
    assert "Of 1,000 rows read" in text and "30 were dropped" in text and "970 reached" in text
    assert "The counts add up." in text
    assert "do not add up" in attrition_sentence({**ok, "rows_final": 969})
    assert "do not add up" in attrition_sentence({**ok, "adds_up": False})
