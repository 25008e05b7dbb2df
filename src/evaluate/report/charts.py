"""Charts for reports: matplotlib Figures in the house style, with caption and alt text.

Every chart function returns a :class:`Chart`: the Figure (never shown with
``plt.show()``; drawn on a ``matplotlib.figure.Figure`` that pyplot does not track), an
active title of at most ten words that states the finding, a caption line (source,
coverage, and the synthetic-data label when the data are synthetic), alt text, and the
numbers it draws (``data``). A report prints ``chart.markdown("fig-...")`` in a cell
marked ``#| output: asis``: the PNG is saved and a Markdown figure with its caption,
label and ``fig-alt`` is emitted, which Quarto and the bridge both turn into a numbered,
cross-referenced figure, followed (HTML only) by the data table one click away, in a
``<details>`` element, with the same numbers as a CSV download. The CSV is written to the
publication area (``OUTPUT/reports/data/<name>.csv``) through
:func:`evaluate.disclosure.publish_table` and embedded from there.

The Analysis Function's chart guidance is followed: the title and source are in the
caption, not drawn on the image (the image carries only the synthetic-data label, so a
copied chart still says so); series are told apart by colour *and* marker or line style
(:func:`evaluate.style.series_styles`), so they survive greyscale printing and colour
blindness, and are labelled directly at the end of their line (:func:`label_lines`)
instead of in a legend where the chart allows it.
"""

from __future__ import annotations

import base64
import html
import io
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from evaluate.report.rounding import fmt_count, fmt_number, round_half_up, year_label
from evaluate.report.sentences import (
    SYNTHETIC_LABEL,
    coverage_title,
    national_title,
    synthetic_label,
)
from evaluate.style import AF_COLOURS, series_styles, style_context

__all__ = ["Chart", "caption_line", "figure_dir", "national_chart", "coverage_chart", "label_lines",
           "data_details", "data_table_html", "MAX_TITLE_WORDS"]

MAX_TITLE_WORDS = 10
#: Environment variable naming the folder where report figures are written. The
#: bridge sets it to its temporary folder; under Quarto the default is used.
FIGURE_DIR_ENV = "EVALUATE_FIGURE_DIR"
DEFAULT_FIGURE_DIR = "_figures"


def figure_dir() -> Path:
    """Where :meth:`Chart.markdown` writes PNG files (``$EVALUATE_FIGURE_DIR`` or ``_figures``).

    Examples
    --------
    The folder depends on ``$EVALUATE_FIGURE_DIR``; it is ``_figures`` when unset:

    >>> from pathlib import Path
    >>> from evaluate.report.charts import figure_dir
    >>> isinstance(figure_dir(), Path)
    True
    """
    return Path(os.environ.get(FIGURE_DIR_ENV) or DEFAULT_FIGURE_DIR)


def caption_line(source: str, *, coverage: str | None = None, synthetic: bool) -> str:
    """``"Source: ... Coverage: ... Synthetic data: not real findings."``

    On synthetic data the source names the generator, so that no chart reads as if it
    showed DfE's figures.

    Examples
    --------
    >>> from evaluate.report.charts import caption_line
    >>> caption_line("DfE pupil absence", coverage="2022/23 to 2023/24", synthetic=False)
    'Source: DfE pupil absence. Coverage: 2022/23 to 2023/24.'
    >>> print(caption_line("DfE pupil absence", synthetic=True))
    Source: synthetic England (evaluate.synthetic), in the format of DfE pupil absence. Synthetic data: not real findings.
    """
    if synthetic:
        source = f"synthetic England (evaluate.synthetic), in the format of {source}"
    parts = [f"Source: {source.rstrip('.')}."]
    if coverage:
        parts.append(f"Coverage: {coverage.rstrip('.')}.")
    label = synthetic_label(synthetic)
    if label:
        parts.append(label)
    return " ".join(parts)


def _md_escape_attr(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _run_rules(area: Path) -> Any:
    """The disclosure rules the run published under (its ``provenance.json``), else the defaults."""
    import json

    from evaluate.disclosure import DisclosureRules

    prov = Path(area) / "provenance.json"
    try:
        rules = json.loads(prov.read_text(encoding="utf-8")).get("disclosure") or {}
        return DisclosureRules(**rules)
    except (OSError, ValueError, TypeError):
        return DisclosureRules()


@dataclass
class Chart:
    """A figure with its active title, caption line, alt text and the numbers it draws.

    Examples
    --------
    A figure with its title, caption and alt text; :meth:`Chart.markdown` saves the PNG
    and returns the Markdown that shows it:

    >>> import pandas as pd
    >>> from matplotlib.figure import Figure
    >>> from evaluate.report.charts import Chart
    >>> fig = Figure()
    >>> _ = fig.subplots().plot([2022, 2023], [5.9, 5.5])
    >>> chart = Chart(fig, "Absence fell in 2023", "Source: example.", "A falling line.")
    >>> print(chart.markdown("fig-example", directory="figures").strip())
    ![Absence fell in 2023. Source: example.](figures/fig-example.png){#fig-example fig-alt="A falling line." width="100%"}

    With ``data``, the data table and its CSV follow the figure (in the HTML only):

    >>> chart = Chart(fig, "Absence fell in 2023", "Source: example.", "A falling line.",
    ...               data=pd.DataFrame({"Year": ["2022/23", "2023/24"], "Absence (%)": [5.9, 5.5]}),
    ...               name="example")
    >>> md = chart.markdown("fig-example", directory="figures")
    >>> "<details" in md and 'download="example.csv"' in md and '<th scope="col" class="num">Absence (%)</th>' in md
    True
    """

    figure: Figure
    title: str
    caption: str
    alt: str
    synthetic: bool = field(default=False)
    #: The numbers the chart draws, one row per point, with headers that carry their units.
    data: pd.DataFrame | None = field(default=None, repr=False)
    #: The CSV's file name (without ``.csv``); the figure label when not given.
    name: str | None = None
    #: Count columns of ``data`` (column -> ``"pupils"`` or ``"schools"``), for disclosure control.
    counts: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        words = len(self.title.split())
        if words > MAX_TITLE_WORDS:
            raise ValueError(f"chart title has {words} words; at most {MAX_TITLE_WORDS}: {self.title!r}")
        if not self.alt.strip():
            raise ValueError("a chart needs alt text")
        label = synthetic_label(self.synthetic)
        if label and label not in self.caption:
            raise ValueError("the caption of a chart of synthetic data must say so")
        if label and label not in self.alt:
            # the alt text says it too, so a screen-reader user cannot take it for findings
            self.alt = f"{self.alt} {label}"

    def save(self, path: str | Path) -> Path:
        """Write the chart as PNG (no timestamp or software metadata)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.figure.savefig(path, format="png", dpi=150, metadata={"Software": None})
        return path

    def csv_text(self, label: str) -> str:
        """The chart's data as CSV after disclosure control; written to the publication area
        (``OUTPUT/reports/data/<name>.csv``, through :func:`~evaluate.disclosure.publish_table`)
        when a run's output folder is set, and read back from there."""
        from evaluate.disclosure import TableSpec, control_table, publish_table
        from evaluate.report import OUTPUT_ENV, output_dir

        if self.data is None:
            raise ValueError("this chart has no data")
        spec = TableSpec(counts=dict(self.counts))
        name = f"{self.name or label}.csv"
        if os.environ.get(OUTPUT_ENV):
            area = output_dir()
            target = area / "reports" / "data" / name
            publish_table(self.data, spec, target, area=area, rules=_run_rules(area))
            return target.read_text(encoding="utf-8")
        buf = io.StringIO()
        control_table(self.data, spec, name=name).table.to_csv(buf, index=False, lineterminator="\n")
        return buf.getvalue()

    def data_html(self, label: str) -> str:
        """The ``<details>`` block: the data table (from the controlled CSV) and the CSV download."""
        return data_details(self.csv_text(label), title=self.title, filename=f"{self.name or label}.csv",
                            element_id=f"{label}-data")

    def markdown(self, label: str, *, directory: str | Path | None = None) -> str:
        """Save the PNG and return a Quarto/pandoc Markdown figure (for ``output: asis``),
        followed by the data table and CSV download (a raw HTML block) when the chart has data."""
        if not label.startswith("fig-"):
            raise ValueError(f"a figure label must start with 'fig-', not {label!r}")
        folder = Path(directory) if directory is not None else figure_dir()
        path = self.save(folder / f"{label}.png")
        cap = f"{self.title}. {self.caption}"
        md = f'\n![{cap}]({path.as_posix()}){{#{label} fig-alt="{_md_escape_attr(self.alt)}" width="100%"}}\n'
        if self.data is not None:
            md += f"\n```{{=html}}\n{self.data_html(label)}\n```\n"
        return md


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


def data_details(csv: str, *, title: str, filename: str, element_id: str | None = None) -> str:
    """A chart's data one click away: a ``<details>`` element whose ``<summary>`` opens the
    table of ``csv`` (:func:`data_table_html`), with the same CSV as a download link
    (a ``data:`` URL, so the page stays self-contained).

    Examples
    --------
    >>> from evaluate.report.charts import data_details
    >>> block = data_details("Year,Schools\\n2022/23,1520\\n", title="Schools by year", filename="schools.csv")
    >>> block.startswith("<details") and 'download="schools.csv"' in block and "<td class=\\"num\\">1,520</td>" in block
    True
    """
    frame = pd.read_csv(io.StringIO(csv), dtype=str, keep_default_na=False)
    href = "data:text/csv;charset=utf-8;base64," + base64.b64encode(csv.encode("utf-8")).decode("ascii")
    size = max(1, round(len(csv.encode("utf-8")) / 1024))
    caption = f"The data of the chart: {title}."
    table = data_table_html(frame, caption=caption)
    ident = f' id="{html.escape(element_id)}"' if element_id else ""
    return (f'<details class="chart-data"{ident}>\n'
            f"<summary>Show the data table of this chart ({html.escape(title)})</summary>\n"
            # a scrolling box when the table is wider than the window, which the keyboard reaches
            f'<div class="table-scroll" tabindex="0" role="region" '
            f'aria-label="{html.escape(caption)} ({html.escape(filename)})">\n'
            f"{table}\n</div>\n"
            f'<p><a href="{href}" download="{html.escape(filename)}">Download these data as CSV '
            f"({html.escape(filename)}, {size} KB)</a></p>\n</details>")


def data_table_html(frame: pd.DataFrame, *, caption: str) -> str:
    """An HTML table of display strings: a caption, column headers (``scope="col"``), the
    first column as row headers (``scope="row"``), numbers right-aligned with thousands
    separators (their decimals as given).

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluate.report.charts import data_table_html
    >>> print(data_table_html(pd.DataFrame({"Year": ["2022/23"], "Schools": ["1520"]}), caption="Schools."))
    <table class="data-table"><caption>Schools.</caption>
    <thead><tr><th scope="col">Year</th><th scope="col" class="num">Schools</th></tr></thead>
    <tbody>
    <tr><th scope="row">2022/23</th><td class="num">1,520</td></tr>
    </tbody></table>
    """
    cols = list(frame.columns)
    values = frame.astype(str)
    numeric = {c: bool(len(values)) and all(_is_number(v) or v in ("", "c", "x", "z", "u", "low", ":")
                                            for v in values[c]) and any(_is_number(v) for v in values[c])
               for c in cols}

    def show(c: str, v: str) -> str:
        if numeric[c] and _is_number(v):
            decimals = len(v.split(".")[1]) if "." in v else 0
            return fmt_number(float(v.replace(",", "")), decimals)
        return v

    num = ' class="num"'
    head = "".join(f'<th scope="col"{num if numeric[c] and i else ""}>{html.escape(str(c))}</th>'
                   for i, c in enumerate(cols))
    rows = []
    for row in values.itertuples(index=False, name=None):
        cells = [f'<th scope="row">{html.escape(show(cols[0], row[0]))}</th>']
        cells += [f'<td{num if numeric[c] else ""}>{html.escape(show(c, v))}</td>'
                  for c, v in zip(cols[1:], row[1:], strict=True)]
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="data-table"><caption>{html.escape(caption)}</caption>\n'
            f"<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(rows) + "\n</tbody></table>")


def label_lines(ax, ends: Sequence[tuple[float, float, str, str]], *, min_gap: float = 0.07) -> None:
    """Label lines directly at their right end instead of in a legend.

    ``ends`` holds ``(x, y, text, colour)`` of each line's last point; labels are nudged
    apart vertically (``min_gap`` of the axis height) so that they never overlap, and room
    is made on the right for them.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> from evaluate.report.charts import label_lines
    >>> ax = Figure().subplots()
    >>> _ = ax.plot([1, 2], [5.0, 5.1]); _ = ax.plot([1, 2], [5.0, 5.05])
    >>> label_lines(ax, [(2, 5.1, "Hub schools", "#12436D"), (2, 5.05, "Comparison", "#28A197")])
    >>> sorted(t.get_text() for t in ax.texts)
    ['Comparison', 'Hub schools']
    """
    items = [e for e in ends if e[1] == e[1]]  # no NaN
    if not items:
        return
    lo, hi = ax.get_ylim()
    gap = (hi - lo) * min_gap
    placed: list[float] = []
    for x, y, text, colour in sorted(items, key=lambda e: e[1]):
        pos = y if not placed else max(y, placed[-1] + gap)
        placed.append(pos)
        ax.annotate(text, xy=(x, pos), xytext=(8, 0), textcoords="offset points", va="center", ha="left",
                    fontsize=8.5, color=colour, annotation_clip=False)
    if max(placed) > hi:
        ax.set_ylim(lo, max(placed) + gap / 2)


def _finish(fig: Figure, title: str, caption: str) -> None:
    """Lay the figure out. The title and source are the caption's, not drawn on the image
    (a screen reader reads them there, and nothing is said twice); a chart of synthetic data
    carries the label on the image too, so a copy of the image still says so."""
    del title  # in the caption
    if SYNTHETIC_LABEL in caption:
        fig.text(0.01, 0.005, SYNTHETIC_LABEL, ha="left", va="bottom", fontsize=8, color=AF_COLOURS["dark_grey"])
        fig.tight_layout(rect=(0, 0.04, 1, 1))
    else:
        fig.tight_layout()


def _rounded(values: Iterable[Any], ndigits: int) -> list[Any]:
    return [round_half_up(v, ndigits) if isinstance(v, int | float) and v == v else None for v in values]


def _year_axis(ax, years: list[int]) -> None:
    ax.set_xticks(years)
    ax.set_xticklabels([year_label(y) for y in years], rotation=45, ha="right")
    ax.set_xlabel("")


def national_chart(national: Iterable[Mapping], *, synthetic: bool) -> Chart:
    """Overall and persistent absence by year and phase: panel (lines) vs published (open circles).

    Examples
    --------
    >>> from evaluate.report.charts import national_chart
    >>> national = [
    ...     {"year": 2022, "phase": "Primary", "overall_absence_rate": 5.94,
    ...      "published_overall_absence_rate": 5.9, "pa_rate": 17.24, "published_pa_rate": 17.2,
    ...      "severe_rate": 1.06, "difference_pp": 0.04},
    ...     {"year": 2023, "phase": "Primary", "overall_absence_rate": 5.46,
    ...      "published_overall_absence_rate": 5.5, "pa_rate": 15.6, "published_pa_rate": 15.6,
    ...      "severe_rate": 1.2, "difference_pp": -0.04},
    ... ]
    >>> chart = national_chart(national, synthetic=False)
    >>> chart.title
    'Panel rates match published figures within 0.1 points'
    >>> len(chart.figure.axes)
    2
    """
    df = pd.DataFrame(list(national))
    title = national_title(df.to_dict("records"))
    years = sorted(df["year"].astype(int).unique())
    phases = list(dict.fromkeys(df.sort_values("phase")["phase"]))
    styles = dict(zip(phases, series_styles(min(len(phases), 6)), strict=False))
    panels = [("overall_absence_rate", "published_overall_absence_rate", "Overall absence rate (%)"),
              ("pa_rate", "published_pa_rate", "Persistent absence rate (%)")]
    with style_context():
        fig = Figure(figsize=(10, 4.6))
        axes = fig.subplots(1, 2, sharex=True)
        for ax, (col, pub, name) in zip(axes, panels, strict=True):
            ends = []
            for ph in phases:
                st = styles[ph]
                d = df[df["phase"] == ph].set_index("year").reindex(range(years[0], years[-1] + 1))
                ax.plot(d.index, d[col], color=st["color"], linestyle=st["linestyle"], marker=st["marker"], ms=3,
                        lw=1.8)
                ax.plot(d.index, d[pub], color=st["color"], marker="o", ms=7, lw=0, mfc="none")
                last = d[col].dropna()
                if len(last):
                    ends.append((last.index[-1], float(last.iloc[-1]), str(ph), st["color"]))
            ax.set_title(name, fontsize=10, fontweight="normal")
            ax.set_ylim(bottom=0)
            _year_axis(ax, years)
            ax.tick_params(axis="x", labelsize=8)  # two panels and their labels: the years must not touch
            label_lines(ax, ends)
        cap = caption_line("DfE pupil absence in schools in England (school and national files); panel built by evaluate",
                           coverage=f"state-funded schools in England, {year_label(years[0])} to {year_label(years[-1])}; "
                                    "lines: the panel; open circles: the published figures",
                           synthetic=synthetic)
        _finish(fig, title, cap)
    worst = df["difference_pp"].abs().max()
    alt = (f"Two line charts, overall absence rate and persistent absence rate by academic year from "
           f"{year_label(years[0])} to {year_label(years[-1])}, one line per phase ({', '.join(phases)}), "
           f"with published national figures as open circles. The largest difference between the panel "
           f"and the published figure is {fmt_number(worst, 2)} percentage points.")
    data = pd.DataFrame({
        "Academic year": [year_label(y) for y in df["year"]], "Phase": df["phase"].astype(str).tolist(),
        **{f"{label}, {kind} (%)": _rounded(df[c], 2)
           for c, p, label in [(a, b, n.replace(" rate (%)", "")) for a, b, n in panels]
           for kind, c in (("panel", c), ("published", p))},
    }).sort_values(["Phase", "Academic year"], kind="stable")
    return Chart(fig, title, cap, alt, synthetic, data=data, name="data-quality-national")


def coverage_chart(coverage: Iterable[Mapping] | Mapping[str, Any], *, synthetic: bool) -> Chart:
    """Schools in the panel by year and phase (the term with the most schools).

    Examples
    --------
    >>> from evaluate.report.charts import coverage_chart
    >>> coverage = [
    ...     {"year": 2022, "term": "full_year", "phase": "Primary", "schools": 1520, "enrolments": 401234},
    ...     {"year": 2022, "term": "full_year", "phase": "Secondary", "schools": 310, "enrolments": 298001},
    ...     {"year": 2023, "term": "full_year", "phase": "Primary", "schools": 1498, "enrolments": 399870},
    ...     {"year": 2023, "term": "full_year", "phase": "Secondary", "schools": 312, "enrolments": 301552},
    ... ]
    >>> chart = coverage_chart(coverage, synthetic=True)
    >>> chart.title
    'Between 1,810 and 1,830 schools a year, 2022/23 to 2023/24'
    >>> chart.caption.endswith("Synthetic data: not real findings.")
    True
    """
    rows = coverage["records"] if isinstance(coverage, Mapping) else list(coverage)
    df = pd.DataFrame(rows)
    # the chart shows phases (not the All phases totals) and only published counts: a
    # count suppressed by disclosure control ('c') is a gap, never a number
    df = df[df["phase"] != "All phases"]
    df = df.assign(schools=pd.to_numeric(df["schools"], errors="coerce"))
    title = coverage_title(df.dropna(subset=["schools"]).to_dict("records"))
    per = (df.groupby(["year", "phase"], as_index=False)["schools"].max()
           .sort_values(["phase", "year"]))
    years = sorted(per["year"].astype(int).unique())
    phases = list(dict.fromkeys(per["phase"]))
    styles = dict(zip(phases, series_styles(min(len(phases), 6)), strict=False))
    with style_context():
        fig = Figure(figsize=(9, 4.2))
        ax = fig.subplots()
        ends = []
        for ph in phases:
            st = styles[ph]
            d = per[per["phase"] == ph].set_index("year").reindex(range(years[0], years[-1] + 1))
            ax.plot(d.index, d["schools"], color=st["color"], linestyle=st["linestyle"], marker=st["marker"], ms=3,
                    lw=1.8)
            last = d["schools"].dropna()
            if len(last):
                ends.append((last.index[-1], float(last.iloc[-1]), str(ph), st["color"]))
        ax.set_ylim(bottom=0)
        ax.set_ylabel("Schools")
        ax.yaxis.set_major_formatter(lambda v, _p: fmt_count(v))
        _year_axis(ax, years)
        label_lines(ax, ends)
        cap = caption_line("school-level absence files; panel built by evaluate",
                           coverage=f"{year_label(years[0])} to {year_label(years[-1])}" + "".join(
                               f"; no absence data for {year_label(y)}" for y in range(years[0], years[-1] + 1)
                               if y not in years),
                           synthetic=synthetic)
        _finish(fig, title, cap)
    alt = (f"Line chart of the number of schools in the panel by academic year from {year_label(years[0])} "
           f"to {year_label(years[-1])}, one line per phase ({', '.join(phases)}). "
           f"{title}.")
    data = pd.DataFrame({"Academic year": [year_label(y) for y in per["year"]], "Phase": per["phase"].astype(str),
                         "Schools": [None if v != v else int(v) for v in per["schools"]]})
    return Chart(fig, title, cap, alt, synthetic, data=data, name="data-quality-coverage",
                 counts={"Schools": "schools"})
