"""Render the reports of a small synthetic run, check them in headless Chromium, and save a
PNG of the first page of each (HTML and PDF) to look at.

    python benchmarks/report_accessibility.py OUT_DIR [--schools 2500] [--run EXISTING_OUTPUT]

Times: the run (unless --run), each report's render (HTML + PDF, bridge), the accessibility
check (evaluate.report.accessibility). PNGs: OUT_DIR/png/<report>-html.png (the top of the
page, 1280 x 900, as the check's screenshot) and <report>-pdf-1.png (pdftoppm, when
installed). Results in benchmarks/ACCESSIBILITY.md.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import time
import warnings
from pathlib import Path

DOCS = ("data-quality", "hubs", "mentors", "technical-annex")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out_dir", type=Path)
    ap.add_argument("--schools", type=int, default=2500)
    ap.add_argument("--run", type=Path, default=None, help="an existing run's output folder (skips the run)")
    args = ap.parse_args()

    from evaluate import pipeline
    from evaluate.config import load_config
    from evaluate.report import accessibility as a11y
    from evaluate.report.render import render

    out = args.out_dir.resolve()
    out.mkdir(parents=True, exist_ok=True)
    reports = Path(__file__).resolve().parents[1] / "reports"
    timings: list[tuple[str, float]] = []
    if args.run is None:
        cfg_path = out / "evaluation.yml"
        cfg_path.write_text(f"seed: 5\noutput: out\ndata:\n  dir: synth\n  synthetic: {{schools: {args.schools}}}\n"
                            "programmes: {mentors: {areas: {la_data: synthetic}}}\n"
                            f"reports: [{', '.join(DOCS)}]\nreports_dir: {reports}\n", encoding="utf-8")
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            pipeline.run(load_config(cfg_path), config_path=cfg_path)
        timings.append((f"evaluate run ({args.schools:,} schools)", time.perf_counter() - start))
        run = out / "out"
    else:
        run = args.run.resolve()
    for doc in DOCS:
        start = time.perf_counter()
        render([reports / f"{doc}.qmd"], out_dir=run / "reports", formats=("html", "pdf"),
               env={"EVALUATE_OUTPUT": str(run)}, engine="bridge")
        timings.append((f"render {doc} (HTML + PDF)", time.perf_counter() - start))
    png = out / "png"
    pages = a11y.report_pages(run)
    if a11y.unavailable() is None:
        start = time.perf_counter()
        results = a11y.check_pages(pages, screenshots=png)
        timings.append((f"accessibility check ({len(pages)} pages)", time.perf_counter() - start))
        a11y.write_results(results, run)
        for p in png.glob("*.png"):
            if not p.stem.endswith("-html"):
                p.rename(p.with_name(f"{p.stem}-html.png"))
        problems = a11y.problems(results)
    else:
        problems = [f"not checked: {a11y.unavailable()}"]
    if shutil.which("pdftoppm"):
        for doc in DOCS:
            subprocess.run(["pdftoppm", "-r", "80", "-png", "-f", "1", "-l", "1", "-singlefile",
                            str(run / "reports" / f"{doc}.pdf"), str(png / f"{doc}-pdf-1")], check=True)
    print("| step | seconds |\n|---|---|")
    for name, sec in timings:
        print(f"| {name} | {sec:.1f} |")
    print(f"\nproblems: {len(problems)}")
    for line in problems:
        print(f"- {line}")
    print(f"PNGs in {png}")


if __name__ == "__main__":
    main()
