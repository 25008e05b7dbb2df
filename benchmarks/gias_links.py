"""Time reading the real GIAS links file and resolving every school's stable id.

Usage: python benchmarks/gias_links.py [PATH]   (default ../shared/data/gias_links_edubasealldata20250422.csv)
"""

from __future__ import annotations

import platform
import sys
import time
from pathlib import Path

from evaluate.data.gias import read_links, resolve_school_ids

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "gias_links_edubasealldata20250422.csv"


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    best = float("inf")
    for _ in range(5):
        t = time.perf_counter()
        links = read_links(path)
        ids = resolve_school_ids(links.frame)
        best = min(best, time.perf_counter() - t)
    print(f"{platform.node()} {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    print(f"{len(links.frame)} links, {ids.summary['conversions_followed']} conversions followed: "
          f"best of 5 {best:.3f} s")


if __name__ == "__main__":
    main()
