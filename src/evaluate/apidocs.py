"""The API reference: HTML pages generated from the numpydoc docstrings by pdoc.

``make api`` (or :func:`build_api`) writes ``output/api/index.html`` and one page per
public module. pdoc is a development dependency (the ``dev`` extra): it needs no Quarto
and renders numpydoc sections (Parameters, Returns, Examples) as they are written.

Examples
--------
>>> from evaluate.apidocs import API_MODULES
>>> "evaluate.did" in API_MODULES
True
"""

from __future__ import annotations

import warnings
from pathlib import Path

__all__ = ["API_MODULES", "build_api"]

#: The public modules the reference documents (each subpackage's front and its ``__all__``).
API_MODULES: tuple[str, ...] = (
    "evaluate", "evaluate.did", "evaluate.matching", "evaluate.sensitivity", "evaluate.findings",
    "evaluate.report", "evaluate.data", "evaluate.synthetic", "evaluate.config", "evaluate.pipeline",
    "evaluate.errors", "evaluate.apidocs", "evaluate.value", "evaluate.power",
    "evaluate.disclosure", "evaluate.synthcontrol", "evaluate.registers",
)


def build_api(out_dir: str | Path) -> Path:
    """Write the API reference to ``out_dir`` and return the path of its ``index.html``.

    Parameters
    ----------
    out_dir
        Folder for the HTML pages (created if missing).

    Examples
    --------
    >>> import tempfile
    >>> from evaluate.apidocs import build_api
    >>> build_api(tempfile.mkdtemp()).name  # doctest: +SKIP
    'index.html'
    """
    import pdoc
    import pdoc.render

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    pdoc.render.configure(docformat="numpy", footer_text="attendance-evaluation API reference")
    with warnings.catch_warnings():
        # pdoc cannot evaluate some postponed annotations of dataclass subclasses; the
        # page still shows them as written
        warnings.simplefilter("ignore")
        pdoc.pdoc(*API_MODULES, output_directory=out)
    return out / "index.html"
