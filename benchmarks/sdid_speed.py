"""Time per synthetic-DiD fit on a real-sized LA panel (150 LAs x 90 fortnights, 4 treated).

Run: .venv/bin/python benchmarks/sdid_speed.py [--replications N]
One call fits the estimate, 146 placebo-in-space fits and ``N`` placebo-variance fits;
prints seconds per fit and the machine. (Moved here from tests/synthcontrol/test_model.py,
where a 0.05 s bound failed on a slower machine: speed targets are measured, not asserted.)
"""

from __future__ import annotations

import argparse
import os
import platform
import time

from evaluate.synthcontrol import example_la_panel, synthetic_did

COLS = dict(outcome="y", unit="la_code", time="t", cohort="cohort")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replications", type=int, default=20)
    args = ap.parse_args()
    p = example_la_panel(n_las=150, n_periods=90, cohorts=((60, 4),), seed=0)
    t0 = time.perf_counter()
    r = synthetic_did(p, placebo=True, vcov="placebo", replications=args.replications, seed=0, **COLS)
    wall = time.perf_counter() - t0
    fits = 1 + 146 + args.replications
    print(f"{platform.machine()} {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"{fits} fits in {wall:.2f} s: {wall / fits:.3f} s per fit; overall {r.overall:.3f} (truth -1)")


if __name__ == "__main__":
    main()
