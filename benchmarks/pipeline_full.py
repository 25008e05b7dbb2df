"""Time each stage of `evaluate run` + `evaluate report` on the full synthetic country.

Usage: python benchmarks/pipeline_full.py [WORKDIR]
Generates synthetic England (default seed) into WORKDIR/data, builds the panel, writes the
data-quality results and renders the data-quality report through the bridge, timing each
step and the peak resident memory of the process.
"""

from __future__ import annotations

import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

from evaluate import synthetic
from evaluate.data.panel import build_panel, write_panel
from evaluate.data.quality import data_quality
from evaluate.io import write_json
from evaluate.report.provenance import collect_provenance
from evaluate.report.render import render

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    work = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    data, out = work / "data", work / "output"
    times: dict[str, float] = {}

    t = time.perf_counter()
    synthetic.generate(data)
    times["synthetic England (full)"] = time.perf_counter() - t

    t = time.perf_counter()
    build = build_panel(data)
    times["build_panel"] = time.perf_counter() - t

    t = time.perf_counter()
    write_panel(build, out / "panel")
    write_json(data_quality(build, data), out / "results" / "data_quality.json")
    write_json(collect_provenance(seed=20240901,
                                  data_files=sorted(data.rglob("*.csv"))), out / "provenance.json")
    times["write panel + data quality"] = time.perf_counter() - t

    t = time.perf_counter()
    render([ROOT / "reports" / "data-quality.qmd"], out_dir=out / "reports", env={"EVALUATE_OUTPUT": str(out)},
           engine="bridge")
    times["render data-quality (HTML + PDF)"] = time.perf_counter() - t

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    print(f"{platform.machine()}, Python {platform.python_version()}, "
          f"panel_year {len(build.panel_year):,} rows, panel_term {len(build.panel_term):,} rows")
    for name, sec in times.items():
        print(f"| {name} | {sec:.1f} s |")
    print(f"| peak RSS | {peak:.2f} GiB |")


if __name__ == "__main__":
    main()
