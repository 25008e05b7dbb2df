"""Charts for reports: matplotlib Figures in the house style, with caption and alt text.

Every chart function returns a :class:`Chart`: the Figure (never shown with
``plt.show()``; drawn on a ``matplotlib.figure.Figure`` that pyplot does not track), an
active title of at most ten words, a caption line (source, coverage, and the
synthetic-data label when the data are synthetic) and alt text. A report prints
``chart.markdown("fig-...")`` in a cell marked ``#| output: asis``: the PNG is saved
and a Markdown figure with its caption, label and ``fig-alt`` is emitted, which
Quarto and the bridge both turn into a numbered, cross-referenced figure.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from evaluate.report.rounding import fmt_count, fmt_number, year_label
from evaluate.report.sentences import coverage_title, national_title, synthetic_label
from evaluate.style import palette, style_context

__all__ = ["Chart", "caption_line", "figure_dir", "national_chart", "coverage_chart", "MAX_TITLE_WORDS"]

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


@dataclass
class Chart:
    """A figure with its active title, caption line and alt text.

    Examples
    --------
    A figure with its title, caption and alt text; :meth:`Chart.markdown` saves the PNG
    and returns the Markdown that shows it:

    >>> from matplotlib.figure import Figure
    >>> from evaluate.report.charts import Chart
    >>> fig = Figure()
    >>> _ = fig.subplots().plot([2022, 2023], [5.9, 5.5])
    >>> chart = Chart(fig, "Absence fell in 2023", "Source: example.", "A falling line.")
    >>> print(chart.markdown("fig-example", directory="figures").strip())
    ![Absence fell in 2023. Source: example.](figures/fig-example.png){#fig-example fig-alt="A falling line." width="100%"}
    """

    figure: Figure
    title: str
    caption: str
    alt: str
    synthetic: bool = field(default=False)

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

    def markdown(self, label: str, *, directory: str | Path | None = None) -> str:
        """Save the PNG and return a Quarto/pandoc Markdown figure (for ``output: asis``)."""
        if not label.startswith("fig-"):
            raise ValueError(f"a figure label must start with 'fig-', not {label!r}")
        folder = Path(directory) if directory is not None else figure_dir()
        path = self.save(folder / f"{label}.png")
        cap = f"{self.title}. {self.caption}"
        return f'\n![{cap}]({path.as_posix()}){{#{label} fig-alt="{_md_escape_attr(self.alt)}" width="100%"}}\n'


def _finish(fig: Figure, title: str, caption: str) -> None:
    fig.suptitle(title, x=0.01, ha="left", fontsize=12, fontweight="bold")
    fig.text(0.01, 0.005, caption, ha="left", va="bottom", fontsize=8, color=palette()[4], wrap=True)
    fig.tight_layout(rect=(0, 0.06, 1, 0.97))


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
    colours = dict(zip(phases, palette(min(len(phases), 6)), strict=False))
    with style_context():
        fig = Figure(figsize=(9, 4.6))
        axes = fig.subplots(1, 2, sharex=True)
        for ax, (col, pub, name) in zip(axes, [
            ("overall_absence_rate", "published_overall_absence_rate", "Overall absence rate (%)"),
            ("pa_rate", "published_pa_rate", "Persistent absence rate (%)"),
        ], strict=True):
            for ph in phases:
                d = df[df["phase"] == ph].set_index("year").reindex(range(years[0], years[-1] + 1))
                ax.plot(d.index, d[col], color=colours[ph], marker="o", ms=3, lw=1.8, label=f"{ph} (panel)")
                ax.plot(d.index, d[pub], color=colours[ph], marker="o", ms=7, lw=0, mfc="none",
                        label=f"{ph} (published)")
            ax.set_title(name, fontsize=10, fontweight="normal")
            ax.set_ylim(bottom=0)
            _year_axis(ax, years)
        handles, labels = axes[0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="upper right", ncol=2, fontsize=8, bbox_to_anchor=(1, 0.93))
        cap = caption_line("DfE pupil absence in schools in England (school and national files); panel built by evaluate",
                           coverage=f"state-funded schools in England, {year_label(years[0])} to {year_label(years[-1])}",
                           synthetic=synthetic)
        _finish(fig, title, cap)
        fig.subplots_adjust(top=0.72)
    worst = df["difference_pp"].abs().max()
    alt = (f"Two line charts, overall absence rate and persistent absence rate by academic year from "
           f"{year_label(years[0])} to {year_label(years[-1])}, one line per phase ({', '.join(phases)}), "
           f"with published national figures as open circles. The largest difference between the panel "
           f"and the published figure is {fmt_number(worst, 2)} percentage points.")
    return Chart(fig, title, cap, alt, synthetic)


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
    colours = dict(zip(phases, palette(min(len(phases), 6)), strict=False))
    with style_context():
        fig = Figure(figsize=(9, 4.2))
        ax = fig.subplots()
        for ph in phases:
            d = per[per["phase"] == ph].set_index("year").reindex(range(years[0], years[-1] + 1))
            ax.plot(d.index, d["schools"], color=colours[ph], marker="o", ms=3, lw=1.8, label=ph)
        ax.set_ylim(bottom=0)
        ax.set_ylabel("Schools")
        ax.yaxis.set_major_formatter(lambda v, _p: fmt_count(v))
        _year_axis(ax, years)
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
        cap = caption_line("school-level absence files; panel built by evaluate",
                           coverage=f"{year_label(years[0])} to {year_label(years[-1])}" + "".join(
                               f"; no absence data for {year_label(y)}" for y in range(years[0], years[-1] + 1)
                               if y not in years),
                           synthetic=synthetic)
        _finish(fig, title, cap)
    alt = (f"Line chart of the number of schools in the panel by academic year from {year_label(years[0])} "
           f"to {year_label(years[-1])}, one line per phase ({', '.join(phases)}). "
           f"{title}.")
    return Chart(fig, title, cap, alt, synthetic)
