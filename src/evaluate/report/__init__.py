"""The report layer: render Quarto documents and build their charts, tables and sentences.

Reports (``reports/*.qmd``) read results from the run's output folder, named by the
``EVALUATE_OUTPUT`` environment variable, with :func:`load_json`, and print what the
functions of :mod:`~evaluate.report.charts`, :mod:`~evaluate.report.tables`,
:mod:`~evaluate.report.sentences` and :mod:`~evaluate.report.provenance` return.
:func:`evaluate.report.render.render` turns documents into HTML and PDF, with Quarto
when it is installed and otherwise with the Jupyter + pandoc bridge.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from evaluate.errors import InputError

__all__ = ["OUTPUT_ENV", "ReportError", "output_dir", "load_json", "optional_json"]

#: The environment variable naming the run's output folder.
OUTPUT_ENV = "EVALUATE_OUTPUT"


class ReportError(InputError):
    """A report could not be rendered (a failing cell, a missing input, a tool error).

    Examples
    --------
    >>> from evaluate import InputError
    >>> from evaluate.report import ReportError
    >>> err = ReportError("report input not found: run `evaluate run` first", file="findings.json")
    >>> isinstance(err, InputError), str(err)
    (True, 'file findings.json: report input not found: run `evaluate run` first')
    """


def output_dir() -> Path:
    """The run's output folder, from ``$EVALUATE_OUTPUT``.

    Examples
    --------
    >>> import json, os, tempfile
    >>> from unittest import mock
    >>> run = tempfile.TemporaryDirectory()  # stands in for the output folder of `evaluate run`
    >>> with open(os.path.join(run.name, "summary.json"), "w") as f:
    ...     json.dump({"schools": 1830}, f)
    >>> from evaluate.report import output_dir
    >>> with mock.patch.dict(os.environ, {"EVALUATE_OUTPUT": run.name}):
    ...     print(output_dir().name == os.path.basename(run.name))
    True
    >>> run.cleanup()
    """
    value = os.environ.get(OUTPUT_ENV)
    if not value:
        raise ReportError(f"the environment variable {OUTPUT_ENV} is not set: set it to the output "
                          "folder of an `evaluate run` (or use `evaluate report`)")
    path = Path(value)
    if not path.is_dir():
        raise ReportError(f"{OUTPUT_ENV} names a folder that does not exist", file=str(path))
    return path


def optional_json(relative: str) -> Any | None:
    """``$EVALUATE_OUTPUT/<relative>`` as JSON, or ``None`` when the run did not write it (a stage turned off).

    Examples
    --------
    >>> import json, os, tempfile
    >>> from unittest import mock
    >>> run = tempfile.TemporaryDirectory()  # stands in for the output folder of `evaluate run`
    >>> with open(os.path.join(run.name, "summary.json"), "w") as f:
    ...     json.dump({"schools": 1830}, f)
    >>> from evaluate.report import optional_json
    >>> with mock.patch.dict(os.environ, {"EVALUATE_OUTPUT": run.name}):
    ...     print(optional_json("summary.json"), optional_json("robustness/hubs.json"))
    {'schools': 1830} None
    >>> run.cleanup()
    """
    return load_json(relative) if _inside(relative).is_file() else None


def _inside(relative: str) -> Path:
    """``$EVALUATE_OUTPUT/<relative>``, refusing a path that leaves the publication area."""
    root = output_dir().resolve()
    path = (root / relative).resolve()
    if Path(relative).is_absolute() or ".." in Path(relative).parts or root not in path.parents:
        raise ReportError("a report reads only the publication area (the run's output folder); "
                          f"refusing '{relative}'", file=str(relative))
    return path


def load_json(relative: str) -> Any:
    """Read ``$EVALUATE_OUTPUT/<relative>`` as JSON.

    Examples
    --------
    >>> import json, os, tempfile
    >>> from unittest import mock
    >>> run = tempfile.TemporaryDirectory()  # stands in for the output folder of `evaluate run`
    >>> with open(os.path.join(run.name, "summary.json"), "w") as f:
    ...     json.dump({"schools": 1830}, f)
    >>> from evaluate.report import load_json
    >>> with mock.patch.dict(os.environ, {"EVALUATE_OUTPUT": run.name}):
    ...     print(load_json("summary.json"))
    {'schools': 1830}
    >>> with mock.patch.dict(os.environ, {"EVALUATE_OUTPUT": run.name}):
    ...     load_json("../work/panel/attrition.json")
    Traceback (most recent call last):
    ...
    evaluate.report.ReportError: file ../work/panel/attrition.json: a report reads only the publication area (the run's output folder); refusing '../work/panel/attrition.json'
    >>> run.cleanup()
    """
    path = _inside(relative)
    if not path.is_file():
        raise ReportError("report input not found: run `evaluate run` first", file=str(path))
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ReportError(f"not valid JSON ({exc.msg})", file=str(path), row=exc.lineno) from None
