"""The researcher's guide, built: an example run of the pipeline and the rendered pages.

This module sits above the pipeline (it runs it), so that :mod:`evaluate.report.guide`
(the pages' content: option tables, paths) never imports the pipeline.
``python -m evaluate.guide [OUT_DIR] [--pdf]`` (``make docs``) renders the guide.
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path

from evaluate.report import OUTPUT_ENV, ReportError
from evaluate.report.guide import EXAMPLE_CONFIG, PAGES, guide_dir

__all__ = ["example_run", "example_output", "run_config_path", "render_guide", "main"]


def example_run(folder: str | Path) -> Path:
    """Run every stage of :data:`EXAMPLE_CONFIG` in ``folder`` and return its output folder.

    The stages are cached, so a second call with nothing changed is quick.
    """
    from evaluate import pipeline
    from evaluate.config import load_config

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    cfg_path = folder / "evaluation.yml"
    if not cfg_path.is_file() or cfg_path.read_text(encoding="utf-8") != EXAMPLE_CONFIG:
        cfg_path.write_text(EXAMPLE_CONFIG, encoding="utf-8")
    cfg = load_config(cfg_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a pilot cohort of a tiny country may be too small to match
        pipeline.run(cfg, config_path=cfg_path)
    return cfg.output_dir


def example_output() -> Path:
    """The run a guide page reads: ``$EVALUATE_OUTPUT`` when it holds results, else an
    example run in the temporary folder (for rendering a page by hand with Quarto)."""
    env = os.environ.get(OUTPUT_ENV)
    if env and (Path(env) / "results" / "hubs.json").is_file():
        return Path(env)
    out = example_run(Path(tempfile.gettempdir()) / "evaluate-guide-example")
    os.environ[OUTPUT_ENV] = str(out)
    return out


def run_config_path(output: str | Path | None = None) -> Path:
    """The ``evaluation.yml`` of the run whose output folder is ``output`` (default
    :func:`example_output`): the file beside that folder, as ``evaluate run`` lays it out."""
    out = Path(output) if output is not None else example_output()
    return out.resolve().parent / "evaluation.yml"


# --- the table of configuration options ----------------------------------------------



def render_guide(out_dir: str | Path, *, formats: Iterable[str] = ("html",), engine: str = "auto",
                 run_dir: str | Path | None = None, pages: Sequence[str] | None = None,
                 guide: str | Path | None = None, env: dict[str, str] | None = None) -> list[Path]:
    """Render the guide's pages to ``out_dir`` (HTML by default; ``"pdf"`` too if asked).

    Parameters
    ----------
    out_dir
        Where ``<page>.html`` (and ``.pdf``) go.
    formats, engine
        As :func:`evaluate.report.render.render`.
    run_dir
        Folder of the example run the pages read (made with :func:`example_run`); default
        ``out_dir/example-run``.
    pages
        Page names (default :data:`PAGES`).
    guide
        The guide's folder (default :func:`guide_dir`).
    env
        Extra environment variables for the cells (e.g. ``EVALUATE_SHARED_DATA``).
    """
    from evaluate.report.render import render

    # absolute: the cells run in the guide's folder, and render() hands them paths under out_dir
    out_dir = Path(out_dir).resolve()
    folder = Path(guide) if guide is not None else guide_dir()
    docs = [folder / f"{p}.qmd" for p in (pages or PAGES)]
    for d in docs:
        if not d.is_file():
            raise ReportError("guide page not found", file=str(d))
    output = example_run(Path(run_dir) if run_dir is not None else out_dir / "example-run")
    return render(docs, out_dir=out_dir, formats=formats, engine=engine,  # type: ignore[arg-type]
                  env={**(env or {}), OUTPUT_ENV: str(output)})


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m evaluate.guide [OUT_DIR] [--pdf] [--engine auto|quarto|bridge]``."""
    import argparse
    import time

    ap = argparse.ArgumentParser(prog="python -m evaluate.guide", description=main.__doc__)
    ap.add_argument("out_dir", nargs="?", default="output/guide")
    ap.add_argument("--pdf", action="store_true", help="also write PDF")
    ap.add_argument("--engine", default="auto", choices=("auto", "quarto", "bridge"))
    args = ap.parse_args(argv)
    start = time.perf_counter()
    try:
        written = render_guide(args.out_dir, formats=("html", "pdf") if args.pdf else ("html",), engine=args.engine)
    except ReportError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for p in written:
        print(p)
    print(f"guide rendered in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
