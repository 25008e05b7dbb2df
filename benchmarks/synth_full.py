"""Time and peak memory of generating the full synthetic country (about 21,500 schools).

Run: .venv/bin/python benchmarks/synth_full.py [--seed N] [--out DIR]
Prints wall time, peak resident memory, the machine, and the national calibration.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import tempfile
import time

import pandas as pd

from evaluate import synthetic


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=20240901)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="synth_full_")
    t0 = time.perf_counter()
    m = synthetic.generate(out, seed=args.seed)
    wall = time.perf_counter() - t0
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"machine: {platform.platform()}, {os.cpu_count()} cores, python {platform.python_version()}")
    print(f"schools: {m['n_schools']}, establishments: {m['n_establishments']}")
    print(f"wall time: {wall:.1f} s; peak RSS: {peak_mib:.0f} MiB")
    nat = pd.read_csv(f"{out}/absence/absence_nat_reg_la.csv", dtype=str)
    nat = nat[(nat.geographic_level == "National")]
    for c in ("sess_overall", "sess_possible", "enrolments_pa_10_exact", "enrolments", "enrolments_pa_50_exact"):
        nat[c] = nat[c].astype(float)
    rows = []
    for (tp, phase), g in nat[nat.time_identifier.isin(["Academic year"])].groupby(["time_period", "education_phase"]):
        rows.append((tp, phase, 100 * g.sess_overall.sum() / g.sess_possible.sum(),
                     100 * g.enrolments_pa_10_exact.sum() / g.enrolments.sum(),
                     100 * g.enrolments_pa_50_exact.sum() / g.enrolments.sum()))
    print(pd.DataFrame(rows, columns=["time_period", "phase", "overall", "pa", "severe"]).round(2).to_string(index=False))


if __name__ == "__main__":
    main()
