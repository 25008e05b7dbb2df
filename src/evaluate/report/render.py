"""Render report documents (``reports/*.qmd``) to HTML and PDF.

With Quarto on ``PATH`` (``engine="quarto"`` or ``"auto"``) each document goes through
``quarto render DOC --to html|typst``. Without it, the *bridge* renders the same
document: jupytext reads the ``.qmd`` (its ``Rmd`` reader keeps the ``#|`` cell
options and the YAML front matter), nbclient runs the cells (kernel ``python3``,
working directory = the document's folder), and pandoc (pypandoc-binary) turns the
executed notebook into a self-contained HTML file and, through its Typst writer, a
``.typ`` file that the ``typst`` package compiles to PDF. ``crossref.lua`` adds the
few Quarto features the reports use (numbered ``fig-``/``tbl-`` cross-references,
callouts, ``fig-alt``).

Cell options the bridge honours: ``label``, ``echo``, ``include``, ``output``
(``false`` / ``asis``), ``warning``, ``fig-cap``, ``fig-alt``; document or project
(``_quarto.yml``) options ``execute: {echo, warning}``, ``toc``, ``lang``. Everything
else Quarto offers is ignored by the bridge.

Outputs are written to a temporary folder and moved into ``out_dir`` only when every
document rendered; a failing cell raises :class:`~evaluate.report.ReportError` naming
the document, the cell label and its line.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml

from evaluate.report import OUTPUT_ENV, ReportError
from evaluate.report.charts import FIGURE_DIR_ENV

__all__ = ["render", "quarto_path", "FORMATS", "PDF_FONTS", "bridge_markdown"]

FORMATS = ("html", "pdf")
#: Fonts the PDF asks for, in order; typst takes the first one it finds. DejaVu Sans is
#: installed on most Linux systems; Libertinus Serif is embedded in typst itself, so
#: the PDF always has a font.
PDF_FONTS = ("Arial", "Helvetica", "Liberation Sans", "DejaVu Sans", "Libertinus Serif")
LUA_FILTER = Path(__file__).with_name("crossref.lua")
#: The PDF is tagged (typst >= 0.14) and checked by typst against PDF/UA-1: headings,
#: reading order, table headers, the document's title and language, every image's alt text.
PDF_STANDARD = "ua-1"
KERNEL = "python3"
CELL_TIMEOUT = 600

_HTML_CSS = """
body { font-family: Arial, Helvetica, "Liberation Sans", "DejaVu Sans", sans-serif;
       max-width: 60em; margin: 0 auto; padding: 0 1em; color: #0b0c0c; line-height: 1.5; }
h1, h2, h3 { color: #12436D; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { padding: 0.25em 0.6em; border-bottom: 1px solid #d9d9d9; }
thead th { border-bottom: 2px solid #3D3D3D; }
caption, figcaption { text-align: left; color: #3D3D3D; font-size: 0.9em; padding: 0.3em 0; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; height: auto; }
.callout { border-left: 5px solid #12436D; background: #E7EDF3; padding: 0.4em 1em; margin: 1em 0; }
.callout-warning, .callout-caution { border-left-color: #F46A25; background: #FEF0E9; }
.callout-tip { border-left-color: #28A197; background: #E9F6F5; }
.callout-important { border-left-color: #801650; background: #F5E8EE; }
.callout-title { margin-top: 0.4em; }
pre { background: #f3f2f1; padding: 0.5em; overflow-x: auto; }
a { color: #1d70b8; }
a:visited { color: #4c2c92; }
a:focus-visible, summary:focus-visible { outline: 3px solid #ffdd00; outline-offset: 0;
       background-color: #ffdd00; color: #0b0c0c; box-shadow: 0 4px #0b0c0c; }
.table-scroll { overflow-x: auto; max-width: 100%; }
.table-scroll:focus-visible { outline: 3px solid #ffdd00; box-shadow: 0 0 0 6px #0b0c0c; }
/* at 400% zoom (320 CSS px) code wraps rather than scrolls sideways (WCAG 1.4.10) */
div.sourceCode { overflow: visible; }
pre, pre > code.sourceCode { white-space: pre-wrap; overflow-wrap: anywhere; }
pre > code.sourceCode > span { display: inline; }
td, th, caption, p, li { overflow-wrap: break-word; }
details.chart-data { margin: -0.75em 0 1.5em; }
details.chart-data > summary { cursor: pointer; color: #1d70b8; text-decoration: underline; }
details.chart-data[open] > summary { margin-bottom: 0.5em; }
.data-table th[scope="row"] { text-align: left; font-weight: normal; }
.data-table .num { text-align: right; font-variant-numeric: tabular-nums; }
/* code highlighting with at least 4.5:1 contrast on the code background (WCAG 1.4.3);
   pandoc's default colours fall to 2.6:1 */
code span.co, code span.do, code span.an, code span.cv, code span.in, code span.wa { color: #4b5563; }
code span.kw, code span.cf { color: #12436D; }
code span.st, code span.ch, code span.vs, code span.ss, code span.sc { color: #8a3b12; }
code span.dv, code span.bn, code span.fl, code span.cn, code span.dt { color: #801650; }
code span.at, code span.va, code span.fu, code span.bu, code span.im, code span.ex { color: #1d5e2f; }
code span.op, code span.ot, code span.pp { color: #3D3D3D; }
code span.al, code span.er { color: #a00000; }
"""


def quarto_path() -> str | None:
    """The ``quarto`` executable on ``PATH``, or ``None``."""
    return shutil.which("quarto")


def _normalise_formats(formats: Iterable[str]) -> list[str]:
    out: list[str] = []
    for f in formats:
        f = {"typst": "pdf"}.get(f, f)
        if f not in FORMATS:
            raise ReportError(f"unknown report format '{f}'; formats are {', '.join(FORMATS)}")
        if f not in out:
            out.append(f)
    if not out:
        raise ReportError("no report format asked for")
    return out


def render(
    documents: Sequence[str | Path],
    *,
    out_dir: str | Path,
    formats: Iterable[str] = FORMATS,
    env: Mapping[str, str] | None = None,
    engine: Literal["auto", "quarto", "bridge"] = "auto",
) -> list[Path]:
    """Render each document to ``out_dir/<stem>.html`` and/or ``.pdf``.

    Parameters
    ----------
    documents
        ``.qmd`` files. Their cells run with the document's folder as working directory.
    out_dir
        Where the outputs go; files appear there only when every document rendered.
    formats
        ``"html"`` and/or ``"pdf"`` (``"typst"`` is accepted for ``"pdf"``).
    env
        Extra environment variables for the code cells, typically
        ``{"EVALUATE_OUTPUT": <output folder of the run>}``.
    engine
        ``"quarto"``, ``"bridge"`` or ``"auto"`` (Quarto when on ``PATH``).

    Returns
    -------
    The written files, in document then format order.
    """
    fmts = _normalise_formats(formats)
    if engine not in ("auto", "quarto", "bridge"):
        raise ReportError(f"unknown engine '{engine}'; engines are auto, quarto, bridge")
    quarto = quarto_path()
    if engine == "quarto" and quarto is None:
        raise ReportError("engine 'quarto' asked for but `quarto` is not on PATH (use engine 'bridge')")
    use_quarto = quarto is not None and engine != "bridge"
    docs = [Path(d).resolve() for d in documents]
    for d in docs:
        if not d.is_file():
            raise ReportError("report document not found", file=str(d))
    if env and OUTPUT_ENV in env:
        env = {**env, OUTPUT_ENV: str(Path(env[OUTPUT_ENV]).resolve())}
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".render-", dir=out_dir))
    try:
        staged: list[Path] = []
        for doc in docs:
            work = staging / doc.stem
            work.mkdir()
            if use_quarto:
                staged += _render_quarto(doc, work, fmts, env or {}, quarto)  # type: ignore[arg-type]
            else:
                staged += _render_bridge(doc, work, fmts, env or {})
        written = []
        for path in staged:
            target = out_dir / path.name
            os.replace(path, target)
            written.append(target)
        return written
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# --- Quarto -------------------------------------------------------------------------


def _kernel_env(env: Mapping[str, str]) -> dict[str, str]:
    full = dict(os.environ)
    full.update({k: str(v) for k, v in env.items()})
    return full


def _render_quarto(doc: Path, work: Path, fmts: list[str], env: Mapping[str, str], quarto: str) -> list[Path]:
    full = _kernel_env(env)
    full.pop(FIGURE_DIR_ENV, None)  # figures go beside the document, where Quarto's typst finds them
    out = []
    for f in fmts:
        to = "html" if f == "html" else "typst"
        qdir = work / f"quarto-{to}"
        res = subprocess.run([quarto, "render", str(doc), "--to", to, "--output-dir", str(qdir)],
                             cwd=doc.parent, env=full, capture_output=True, text=True, check=False)
        if res.returncode != 0:
            lines = [ln.strip() for ln in (res.stderr or res.stdout).splitlines() if ln.strip()]
            why = next((ln for ln in reversed(lines) if "Error" in ln or "error" in ln), lines[-1] if lines else "")
            raise ReportError(f"quarto render --to {to} failed: {why}", file=str(doc))
        produced = qdir / f"{doc.stem}.{f}"
        if not produced.exists():
            found = list(qdir.rglob(f"{doc.stem}.{f}"))
            if not found:
                raise ReportError(f"quarto render --to {to} wrote no {doc.stem}.{f}", file=str(doc))
            produced = found[0]
        out.append(produced)
    return out


# --- the bridge ---------------------------------------------------------------------

_CHUNK = re.compile(r"^\s*```+\s*\{(\w+)")
_OPTION = re.compile(r"^#\|\s?(.*)$")


def _split_front_matter(text: str) -> tuple[dict[str, Any], str]:
    if text.startswith("---"):
        parts = text.split("\n---", 1)
        if len(parts) == 2:
            head = parts[0][3:]
            meta = yaml.safe_load(head) or {}
            return (meta if isinstance(meta, dict) else {}), parts[1].split("\n", 1)[-1]
    return {}, text


def _cell_options(source: str) -> tuple[dict[str, Any], str, int]:
    """Parse leading ``#|`` lines: (options, code without them, number of option lines)."""
    lines = source.splitlines()
    opts_lines = []
    for ln in lines:
        m = _OPTION.match(ln)
        if not m:
            break
        opts_lines.append(m.group(1))
    try:
        opts = yaml.safe_load("\n".join(opts_lines)) or {} if opts_lines else {}
    except yaml.YAMLError as exc:
        raise ValueError(f"cell options are not valid YAML: {exc}") from None
    return (opts if isinstance(opts, dict) else {}), "\n".join(lines[len(opts_lines):]), len(opts_lines)


def _project_config(doc: Path) -> dict[str, Any]:
    for name in ("_quarto.yml", "_quarto.yaml"):
        p = doc.parent / name
        if p.is_file():
            data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
            return data if isinstance(data, dict) else {}
    return {}


def _chunk_lines(text: str) -> list[tuple[int, str]]:
    """Line number (1-based) and language of each code chunk, in order."""
    return [(i + 1, m.group(1)) for i, ln in enumerate(text.splitlines()) if (m := _CHUNK.match(ln))]


def _fence(text: str, cls: str = "") -> str:
    ticks = "```"
    while ticks in text:
        ticks += "`"
    return f"{ticks}{cls}\n{text.rstrip()}\n{ticks}"


def _attr(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _cell_id(opts: Mapping[str, Any], index: int) -> str:
    return str(opts.get("label") or f"cell-{index + 1}")


def bridge_markdown(nb: Any, *, media: Path, echo_default: bool = True, warning_default: bool = True) -> str:
    """Pandoc Markdown from an executed notebook (what Quarto would hand to pandoc)."""
    blocks: list[str] = []
    code_index = 0
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            blocks.append(cell.source)
            continue
        if cell.cell_type != "code":
            continue  # the front matter raw cell is passed to pandoc separately
        opts, code, _ = _cell_options(cell.source)
        cid = _cell_id(opts, code_index)
        code_index += 1
        if opts.get("include", True) is False:
            continue
        if opts.get("echo", echo_default) is True and code.strip():
            blocks.append(_fence(code, "python"))
        output = opts.get("output", True)
        if output is False:
            continue
        asis = output == "asis"
        show_warnings = opts.get("warning", warning_default)
        images = 0
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            if kind == "stream":
                if out.get("name") == "stderr" and not show_warnings:
                    continue
                text = out.get("text", "")
                if text.strip():
                    blocks.append(text if asis and out.get("name") == "stdout" else _fence(text))
            elif kind in ("display_data", "execute_result"):
                data = out.get("data", {})
                if "image/png" in data:
                    media.mkdir(parents=True, exist_ok=True)
                    path = media / f"{cid}-{images + 1}.png"
                    path.write_bytes(base64.b64decode(data["image/png"]))
                    cap = str(opts.get("fig-cap") or "")
                    alt = str(opts.get("fig-alt") or cap or f"Figure from cell {cid}")
                    label = cid if cid.startswith("fig-") and images == 0 else ""
                    attrs = (f"#{label} " if label else "") + f'fig-alt="{_attr(alt)}"'
                    blocks.append(f"![{cap}]({path.as_posix()}){{{attrs}}}")
                    images += 1
                elif "text/markdown" in data:
                    blocks.append(data["text/markdown"])
                elif "text/plain" in data:
                    text = data["text/plain"]
                    blocks.append(text if asis else _fence(text))
    return "\n\n".join(b.strip("\n") for b in blocks if b is not None) + "\n"


def _execute(doc: Path, nb: Any, env: Mapping[str, str], chunks: list[tuple[int, str]]) -> None:
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

    client = NotebookClient(nb, kernel_name=KERNEL, timeout=CELL_TIMEOUT, allow_errors=False,
                            resources={"metadata": {"path": str(doc.parent)}})
    try:
        client.execute(env=_kernel_env(env))
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        index, failing = None, None
        code_cells = [c for c in nb.cells if c.cell_type == "code"]
        for i, c in enumerate(code_cells):
            if any(o.get("output_type") == "error" for o in c.get("outputs", [])):
                index, failing = i, c
                break
        if isinstance(exc, CellExecutionError):
            why = f"{exc.ename}: {exc.evalue}".strip()
        elif isinstance(exc, CellTimeoutError):
            why = f"timed out after {CELL_TIMEOUT} s"
        else:
            why = "the kernel died"
        where = ""
        if failing is not None:
            opts, _, _ = _cell_options(failing.source)
            line = chunks[index][0] if index is not None and index < len(chunks) else None
            where = f"cell '{_cell_id(opts, index)}'" + (f" (line {line})" if line else "") + " failed: "
        raise ReportError(f"{where}{why.splitlines()[0] if why else 'error'}", file=str(doc)) from None


def _pandoc(md: str, to: str, outfile: Path, args: list[str]) -> None:
    import pypandoc

    try:
        pypandoc.convert_text(md, to, format="markdown", outputfile=str(outfile),
                              extra_args=["--standalone", "--wrap=none", f"--lua-filter={LUA_FILTER}", *args])
    except RuntimeError as exc:
        msg = str(exc).strip().splitlines()
        raise ReportError(f"pandoc ({to}) failed: {msg[-1] if msg else exc}") from None


def _render_bridge(doc: Path, work: Path, fmts: list[str], env: Mapping[str, str]) -> list[Path]:
    import jupytext

    text = doc.read_text(encoding="utf-8")
    meta, _ = _split_front_matter(text)
    project = _project_config(doc)
    chunks = _chunk_lines(text)
    for line, lang in chunks:
        if lang != "python":
            raise ReportError(f"the bridge runs only python cells; line {line} has a '{lang}' cell", file=str(doc))
    try:
        nb = jupytext.reads(text, fmt="Rmd")
        for c in nb.cells:
            if c.cell_type == "code":
                _cell_options(c.source)
    except ValueError as exc:
        raise ReportError(f"cannot read the document: {exc}", file=str(doc)) from None
    nb.metadata["kernelspec"] = {"name": KERNEL, "display_name": "Python 3", "language": "python"}

    media = work / "media"
    run_env = {**env, FIGURE_DIR_ENV: str(media / "figures")}
    _execute(doc, nb, run_env, chunks)

    execute = {**(project.get("execute") or {}), **(meta.get("execute") or {})}
    md = bridge_markdown(nb, media=media / "outputs", echo_default=execute.get("echo", True) is not False,
                         warning_default=execute.get("warning", True) is not False)
    title_meta = {k: meta[k] for k in ("title", "subtitle", "author", "date", "abstract") if k in meta}
    lang = meta.get("lang", project.get("lang", "en-GB"))
    front = yaml.safe_dump({**title_meta, "lang": lang}, sort_keys=False, allow_unicode=True)
    md = f"---\n{front}---\n\n{md}"
    (work / f"{doc.stem}.md").write_text(md, encoding="utf-8")  # kept for debugging until cleanup

    def fmt_opt(fmt: str, key: str, default: Any = None) -> Any:
        fm = meta.get("format") or project.get("format") or {}
        block = fm.get(fmt) if isinstance(fm, dict) else None
        return block.get(key, default) if isinstance(block, dict) else default

    resource_path = os.pathsep.join([str(doc.parent), str(media)])
    out: list[Path] = []
    if "html" in fmts:
        css = work / "bridge.css"
        css.write_text(_HTML_CSS, encoding="utf-8")
        html = work / f"{doc.stem}.html"
        args = ["--embed-resources", f"--css={css}", f"--resource-path={resource_path}"]
        if fmt_opt("html", "toc", meta.get("toc", False)):
            args.append("--toc")
        _pandoc(md, "html5", html, args)
        out.append(html)
    if "pdf" in fmts:
        out.append(_render_pdf(doc, work, md, resource_path, toc=bool(fmt_opt("typst", "toc", meta.get("toc", False)))))
    return out


def _render_pdf(doc: Path, work: Path, md: str, resource_path: str, *, toc: bool) -> Path:
    import typst

    preamble = work / "preamble.typ"
    fonts = ", ".join(f'"{f}"' for f in PDF_FONTS)
    preamble.write_text(f"#set text(font: ({fonts}))\n#set par(justify: false)\n"
                        "#show figure.caption: set text(size: 9pt)\n"
                        "#show figure.caption: set align(left)\n"
                        # a table's caption (above it) never stays behind at the foot of a page
                        "#show figure.caption.where(kind: table): it => block(sticky: true, it)\n"
                        "#show figure: set block(breakable: true)\n"
                        "#show table: set text(size: 8pt, hyphenate: false)\n"
                        "#show table: set par(justify: false)\n", encoding="utf-8")
    typ = work / f"{doc.stem}.typ"
    args = [f"--include-in-header={preamble}", f"--resource-path={resource_path}",
            "-V", "papersize=a4", "-V", "fontsize=10pt", "-V", "margin.x=2cm", "-V", "margin.y=2cm"]
    if toc:
        args.append("--toc")
    _pandoc(md, "typst", typ, args)
    pdf = work / f"{doc.stem}.pdf"
    epoch = os.environ.get("SOURCE_DATE_EPOCH") or _commit_epoch(doc.parent)
    try:
        # images are absolute paths in the staging folder: let typst read from "/"
        typst.compile(str(typ), output=str(pdf), root=Path(typ.anchor or "/").as_posix(),
                      timestamp=int(epoch) if epoch and epoch.isdigit() else None,
                      pdf_standards=PDF_STANDARD)
    except Exception as exc:  # typst raises its own error type with a multi-line message
        first = str(exc).strip().splitlines()
        raise ReportError(f"typst could not compile the PDF: {first[0] if first else exc}", file=str(doc)) from None
    return pdf


def _commit_epoch(folder: Path) -> str | None:
    """Commit time of the checkout's HEAD, so the PDF's date (and bytes) follow the code,
    not the clock; ``None`` outside a git checkout (typst then uses the current time)."""
    try:
        out = subprocess.run(["git", "log", "-1", "--format=%ct"], cwd=folder, capture_output=True,
                             text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    value = out.stdout.strip()
    return value if out.returncode == 0 and value.isdigit() else None
