"""The house chart style: the Government Analysis Function palette on a seaborn theme.

Every ``plot()`` in the package calls :func:`apply_style` (or draws inside
:func:`style_context`) so charts look the same in every report: sans-serif text,
the Analysis Function categorical colours in their documented order, no top or right
spines, light horizontal grid lines only, no chart junk.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["AF_COLOURS", "palette", "series_styles", "relative_luminance", "apply_style", "style_context",
           "rc_params", "FONT_FAMILY", "MARKERS", "LINESTYLES"]

#: The Analysis Function categorical palette, in the order the guidance uses it.
AF_COLOURS: dict[str, str] = {
    "dark_blue": "#12436D",
    "turquoise": "#28A197",
    "dark_pink": "#801650",
    "orange": "#F46A25",
    "dark_grey": "#3D3D3D",
    "light_purple": "#A285D1",
}

#: Sans-serif fonts in order of preference; matplotlib uses the first one installed.
FONT_FAMILY = ["Arial", "Helvetica", "Liberation Sans", "DejaVu Sans"]


def palette(n: int | None = None) -> list[str]:
    """The Analysis Function colours as hex strings (the first ``n``; at most six).

    The guidance advises at most four categories on one chart where possible; asking
    for more than six raises ``ValueError`` rather than silently cycling colours.
    """
    colours = list(AF_COLOURS.values())
    if n is None:
        return colours
    if n < 0 or n > len(colours):
        raise ValueError(f"the Analysis Function palette has {len(colours)} colours; asked for {n}")
    return colours[:n]


#: Markers and line styles that go with the colours, so that series differ in shape too:
#: a chart printed in greyscale, or seen by a colour-blind reader, still tells them apart
#: (WCAG 1.4.1, use of colour).
MARKERS = ("o", "s", "^", "D", "v", "P")
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1)), (0, (1, 2)))


def relative_luminance(colour: str) -> float:
    """WCAG relative luminance of a ``#RRGGBB`` colour (0 black, 1 white).

    Examples
    --------
    >>> from evaluate.style import relative_luminance
    >>> relative_luminance("#FFFFFF"), relative_luminance("#000000")
    (1.0, 0.0)
    """
    def channel(c: int) -> float:
        v = c / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
    return round(0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b), 6)


def series_styles(n: int) -> list[dict[str, object]]:
    """Colour, marker and line style of ``n`` series (matplotlib keywords), from the palette.

    Colours follow the Analysis Function order; each series also has its own marker and
    line style, so none is told apart by colour alone.

    Examples
    --------
    >>> from evaluate.style import series_styles
    >>> [(s["color"], s["marker"], s["linestyle"]) for s in series_styles(2)]
    [('#12436D', 'o', '-'), ('#28A197', 's', '--')]
    """
    return [{"color": c, "marker": MARKERS[i], "linestyle": LINESTYLES[i]} for i, c in enumerate(palette(n))]


def rc_params() -> dict[str, object]:
    """The matplotlib settings of the house style (on top of seaborn's 'ticks' theme)."""
    from cycler import cycler

    return {
        "font.family": "sans-serif",
        "font.sans-serif": FONT_FAMILY,
        "font.size": 10,
        "axes.titlesize": 12,
        "axes.titleweight": "bold",
        "axes.titlelocation": "left",
        "axes.labelsize": 10,
        "axes.edgecolor": AF_COLOURS["dark_grey"],
        "axes.labelcolor": AF_COLOURS["dark_grey"],
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "axes.grid.axis": "y",
        "grid.color": "#D9D9D9",
        "grid.linewidth": 0.6,
        "axes.prop_cycle": cycler(color=palette()),
        "xtick.color": AF_COLOURS["dark_grey"],
        "ytick.color": AF_COLOURS["dark_grey"],
        "legend.frameon": False,
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "savefig.bbox": "tight",
        "figure.facecolor": "white",
        "svg.hashsalt": "evaluate",  # stable SVG ids
        "pdf.fonttype": 42,
    }


def apply_style() -> None:
    """Set the house style globally (seaborn theme + Analysis Function palette)."""
    import seaborn as sns

    sns.set_theme(style="ticks", palette=palette(), rc=rc_params())


@contextlib.contextmanager
def style_context() -> Iterator[None]:
    """Draw inside the house style without changing global matplotlib settings."""
    import matplotlib as mpl
    import seaborn as sns

    with mpl.rc_context():
        sns.set_theme(style="ticks", palette=palette(), rc=rc_params())
        yield


def finish_plot(fig, ax, *, title: str, xlabel: str, ylabel: str, legend: bool = False):
    """Label, lay out and detach a result's figure (returned, never shown)."""
    import matplotlib.pyplot as plt

    if legend:
        ax.legend(loc="best")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    fig.tight_layout()
    plt.close(fig)
    return fig
