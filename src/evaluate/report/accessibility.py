"""The accessibility check of rendered HTML: axe-core in headless Chromium.

:func:`check_pages` opens each page in Debian's ``chromium`` (started by the check, with a
fresh profile and no background networking) through the pinned ``playwright-core`` and
``axe-core`` packages of ``tools/accessibility/`` (``npm ci`` there), and reports for each:

* the violations of axe-core's WCAG 2.2 A and AA rules (tags ``wcag2a``, ``wcag2aa``,
  ``wcag21a``, ``wcag21aa``, ``wcag22aa``), and of the best-practice rules about landmarks
  and headings, the structure a screen-reader user navigates by;
* every chart: its alt text, and the data table it draws, one click away (a ``<details>``
  right after the figure) with the CSV download;
* keyboard focus: Tab from the top reaches every focusable element once, in document
  (reading) order, with a visible focus indicator, and no positive ``tabindex``;
* zoom: at 320 CSS px (a 1280 px window at 400%) the page does not scroll sideways (only
  tables scroll, each in a box the keyboard can reach), and axe's WCAG rules still pass.

:func:`problems` turns that into sentences (empty when every target is met), and
:func:`write_results` writes it to ``results/accessibility.json`` in the publication area
through :func:`evaluate.disclosure.publish_json`. ``evaluate accessibility`` runs both on
a run's reports (and the guide, when rendered); ``make test`` runs it through
``tests/report/test_accessibility.py`` when Chromium and Node are installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evaluate.report import ReportError

__all__ = ["TOOL_DIR", "unavailable", "check_pages", "problems", "write_results", "report_pages"]

#: The folder of the pinned Node packages and the check script (``npm ci`` installs them).
TOOL_DIR = Path(os.environ.get("EVALUATE_A11Y_TOOLS") or Path(__file__).resolve().parents[3] / "tools" / "accessibility")
#: Environment variable naming the Chromium executable (default: ``chromium`` on ``PATH``).
CHROMIUM_ENV = "EVALUATE_CHROMIUM"
TIMEOUT = 600


def _chromium() -> str | None:
    return os.environ.get(CHROMIUM_ENV) or shutil.which("chromium") or shutil.which("chromium-browser")


def unavailable() -> str | None:
    """Why the check cannot run here (``None`` when it can).

    Examples
    --------
    >>> from evaluate.report.accessibility import unavailable
    >>> reason = unavailable()
    >>> reason is None or isinstance(reason, str)
    True
    """
    if _chromium() is None:
        return "Chromium is not installed (apt-get install chromium)"
    if shutil.which("node") is None:
        return "Node is not installed (apt-get install nodejs npm)"
    if not (TOOL_DIR / "check.mjs").is_file():
        return f"the check script is not there ({TOOL_DIR / 'check.mjs'}; a checkout of the repository has it)"
    for pkg in ("axe-core", "playwright-core"):
        if not (TOOL_DIR / "node_modules" / pkg / "package.json").is_file():
            return f"the Node packages are not installed (npm ci --prefix {TOOL_DIR})"
    return None


def check_pages(pages: Mapping[str, str | Path], *, screenshots: str | Path | None = None) -> dict[str, Any]:
    """Run the check on each page (name -> HTML file); the results as a dict.

    With ``screenshots``, a PNG of the top of each page (1280 x 900) is saved there as
    ``<name>.png`` (``/`` in a name becomes ``-``), for a person to look at.

    Raises
    ------
    ReportError
        The check cannot run here (see :func:`unavailable`) or the browser failed.

    Examples
    --------
    >>> from evaluate.report.accessibility import check_pages, unavailable
    >>> if unavailable() is None:  # needs Chromium and the Node packages
    ...     import tempfile, pathlib
    ...     page = pathlib.Path(tempfile.mkdtemp()) / "p.html"
    ...     _ = page.write_text('<!doctype html><html lang="en-GB"><head><title>T</title></head>'
    ...                         '<body><main><h1>T</h1><p>Text.</p></main></body></html>')
    ...     print(check_pages({"p": page})["pages"]["p"]["violations"])
    ... else:
    ...     print([])
    []
    """
    why = unavailable()
    if why:
        raise ReportError(f"the accessibility check cannot run: {why}")
    missing = [str(p) for p in pages.values() if not Path(p).is_file()]
    if missing:
        raise ReportError("page to check not found", file=missing[0])
    with tempfile.TemporaryDirectory(prefix="a11y-") as tmp:
        spec = Path(tmp) / "pages.json"
        if screenshots is not None:
            Path(screenshots).mkdir(parents=True, exist_ok=True)
        spec.write_text(json.dumps({"chromium": _chromium(),
                                    "screenshots": str(Path(screenshots).resolve()) if screenshots else None,
                                    "pages": {k: str(Path(v).resolve()) for k, v in pages.items()}}))
        env = {**os.environ, "HOME": tmp}  # chromium writes crash and cache files under HOME
        try:
            res = subprocess.run(["node", str(TOOL_DIR / "check.mjs"), str(spec)], capture_output=True, text=True,
                                 timeout=TIMEOUT, env=env, check=False)
        except subprocess.TimeoutExpired:
            raise ReportError(f"the accessibility check took longer than {TIMEOUT} s") from None
    if res.returncode != 0:
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        raise ReportError(f"the accessibility check failed: {lines[0] if lines else 'exit ' + str(res.returncode)}")
    return json.loads(res.stdout)


def problems(results: Mapping[str, Any]) -> list[str]:
    """Every target the pages miss, one sentence each (empty: all met).

    Examples
    --------
    >>> from evaluate.report.accessibility import problems
    >>> page = {"lang": "en-GB", "title": "Hubs", "violations": [], "structure_violations": [],
    ...         "charts": [{"id": "fig-trend", "alt": "A line chart", "details": True, "table": True,
    ...                     "csv": True, "opens": True}],
    ...         "focus": {"in_reading_order": True, "unstyled_focus": 0}}
    >>> problems({"pages": {"hubs": page}})
    []
    >>> page["violations"] = [{"id": "color-contrast", "impact": "serious", "count": 2, "help": "Contrast"}]
    >>> problems({"pages": {"hubs": page}})
    ['hubs: color-contrast (serious, 2 elements): Contrast']
    """
    out = []
    for name, p in results["pages"].items():
        for v in [*p["violations"], *p.get("structure_violations", [])]:
            out.append(f"{name}: {v['id']} ({v['impact']}, {v['count']} elements): {v['help']}")
        if not p.get("lang"):
            out.append(f"{name}: the page has no language")
        if not p.get("title"):
            out.append(f"{name}: the page has no title")
        for c in p["charts"]:
            if not c["alt"].strip():
                out.append(f"{name}: chart {c['id']} has no alt text")
            if not (c["details"] and c["table"] and c["opens"]):
                out.append(f"{name}: chart {c['id']} has no data table one click away")
            if not c["csv"]:
                out.append(f"{name}: chart {c['id']} has no CSV download")
        flow = p.get("reflow")
        if flow is not None:
            if not flow["fits"]:
                out.append(f"{name}: at 320 CSS px (400% zoom) the page scrolls sideways "
                           f"({flow['scroll_width']} px wide)")
            for v in flow["violations"]:
                out.append(f"{name} at 320 CSS px: {v['id']} ({v['impact']}, {v['count']} elements): {v['help']}")
        f = p["focus"]
        if not f["in_reading_order"]:
            out.append(f"{name}: keyboard focus does not follow the reading order ({f})")
        if f.get("unstyled_focus"):
            out.append(f"{name}: {f['unstyled_focus']} elements show no focus indicator")
    return out


def report_pages(output: str | Path, *, guide: str | Path | None = None) -> dict[str, Path]:
    """The HTML pages of a run (``OUTPUT/reports/*.html``) and of a rendered guide, by name.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> from evaluate.report.accessibility import report_pages
    >>> out = Path(tempfile.mkdtemp())
    >>> (out / "reports").mkdir()
    >>> _ = (out / "reports" / "hubs.html").write_text("<html></html>")
    >>> sorted(report_pages(out))
    ['hubs']
    """
    pages = {p.stem: p for p in sorted((Path(output) / "reports").glob("*.html"))}
    if guide is not None:
        pages.update({f"guide/{p.stem}": p for p in sorted(Path(guide).glob("*.html"))})
    return pages


def write_results(results: Mapping[str, Any], output: str | Path) -> Path:
    """Write the results, with their problems, to ``OUTPUT/results/accessibility.json``.

    Examples
    --------
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> from evaluate.report.accessibility import write_results
    >>> out = Path(tempfile.mkdtemp())
    >>> path = write_results({"pages": {}}, out)
    >>> json.loads(path.read_text())["problems"]
    []
    """
    from evaluate.disclosure import publish_json

    doc = {"targets": "0 violations of axe-core's WCAG 2.2 A and AA rules and of its landmark and heading "
                      "rules; every chart with alt text and its data table one click away; keyboard focus "
                      "in reading order", **results, "problems": problems(results)}
    out = Path(output)
    return publish_json(doc, out / "results" / "accessibility.json", area=out)
