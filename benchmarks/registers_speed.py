"""Speed and peak memory of the registers stage (DuckDB, 2 threads) beside plain pandas.

For each size: write synthetic register marks (Parquet parts, streamed) to a temporary
folder, then run the stage in a fresh subprocess and record wall time, marks per second
and the subprocess's peak resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``,
DuckDB's memory included; with ``--engine pyspark`` plus the Spark JVM's peak, ``VmHWM``). The pandas baseline (read the five columns, term per date,
``groupby(pupil, school, year, term, code).size()``, code table, pivot to school x term)
runs in its own subprocess at the sizes pandas can hold. The stage runs with and without
its check for repeated marks (``duplicates='error'``, the default, and ``'skip'``).
Generated data is deleted.

    .venv/bin/python benchmarks/registers_speed.py --sizes 10e6 100e6 380e6 --pandas 10e6 30e6
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STAGE = r"""
import json, os, resource, sys, time
from evaluate.registers import read_marks, register_measures
path, threads, mem, tmp, dup, engine = sys.argv[1:7]
con = None
if engine == "pyspark":  # the session starts before the clock, as a cluster's would be running
    from evaluate.registers import connect
    con = connect("pyspark", threads=int(threads))
t = time.perf_counter()
res = register_measures(read_marks(path, engine=con or engine, threads=int(threads), memory_limit=mem,
                                   temp_directory=tmp), duplicates=dup)
wall = time.perf_counter() - t
s = res.schools


def children_peak_mb():  # the Spark JVM is a child process: its peak resident memory
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            ppid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
            if ppid == os.getpid():
                hwm = [x for x in open(f"/proc/{pid}/status") if x.startswith("VmHWM")]
                total += int(hwm[0].split()[1]) if hwm else 0
        except (OSError, ValueError, IndexError):
            pass
    return total / 1024


print(json.dumps({"wall": wall, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                  + children_peak_mb(),
                  "marks": res.marks["read"], "rows": len(s),
                  "possible": int(s.loc[s.period == "year", "sess_possible"].sum()),
                  "overall": int(s.loc[s.period == "year", "sess_overall"].sum())}))
"""

PANDAS = r"""
import json, resource, sys, time
import numpy as np, pandas as pd
from evaluate.registers import code_table
from evaluate.registers.measures import date_terms
path = sys.argv[1]
t = time.perf_counter()
df = pd.read_parquet(path, columns=["pupil_id", "urn", "date", "session", "code"])
df = df[df["session"].isin(["AM", "PM"])]
dates = date_terms(pd.Series(df["date"].unique())).set_index("date")
d = pd.to_datetime(df["date"]).dt.date
df["year"] = d.map(dates["year"]).to_numpy()
df["term"] = d.map(dates["term"]).to_numpy()
g = df.groupby(["pupil_id", "urn", "year", "term", "code"], observed=True).size().rename("n").reset_index()
del df
g["code_set"] = np.where(g["year"] >= 2024, "2024", "pre2024")
g = g.merge(code_table(), on=["code", "code_set"])
cat = g["category"]
g["possible"] = g["n"] * cat.isin(["present", "aea", "authorised", "unauthorised"])
g["overall"] = g["n"] * cat.isin(["authorised", "unauthorised"])
p = g.groupby(["pupil_id", "urn", "year", "term"])[["possible", "overall"]].sum()
p["pa10"] = (p["possible"] > 0) & (10 * p["overall"] >= p["possible"])
s = p.groupby(["urn", "year", "term"]).sum()
wall = time.perf_counter() - t
print(json.dumps({"wall": wall, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "possible": int(s["possible"].sum()), "overall": int(s["overall"].sum())}))
"""


def run(code: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                         check=False)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr else "failed",
                "returncode": out.returncode}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", type=float, default=[10e6, 100e6])
    ap.add_argument("--pandas", nargs="*", type=float, default=[10e6],
                    help="sizes at which to run the pandas baseline too")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--engine", choices=["duckdb", "pyspark"], default="duckdb",
                    help="pyspark: a local[threads] session, started before the clock")
    ap.add_argument("--memory-limit", default="4GB")
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--seed", type=int, default=20240901)
    ap.add_argument("--order", choices=["pupil", "date"], default="pupil",
                    help="row order inside each Parquet part (write_registers(order=))")
    ap.add_argument("--duplicates", nargs="+", choices=["error", "skip"], default=["error", "skip"],
                    help="register_measures(duplicates=): 'error' checks for repeated marks "
                         "(the default), 'skip' does not; each is run and reported")
    args = ap.parse_args()

    from evaluate.synthetic.registers import write_registers

    work = Path(args.workdir or tempfile.mkdtemp(prefix="registers_bench_"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"# registers stage benchmark: {os.cpu_count()} cores, load average "
          f"{'/'.join(f'{x:.2f}' for x in os.getloadavg())}, DuckDB threads {args.threads}, "
          f"memory_limit {args.memory_limit}, row order {args.order}, engine {args.engine}", flush=True)
    rows = []
    for size in args.sizes:
        n = int(size)
        folder = work / f"marks_{n}"
        shutil.rmtree(folder, ignore_errors=True)
        t = time.perf_counter()
        info = write_registers(folder, seed=args.seed, years=(2023,), max_marks=n,
                               chunk_marks=10_000_000, order=args.order)
        gen = time.perf_counter() - t
        disk = sum(f.stat().st_size for f in folder.rglob("*.parquet")) / 1e6
        load = os.getloadavg()[0]
        for k, dup in enumerate(args.duplicates):
            load = os.getloadavg()[0]
            stage = run(STAGE, str(folder), str(args.threads), args.memory_limit, str(work / "spill"), dup,
                        args.engine)
            row = {"marks": info["marks"], "pupils": info["pupils"], "schools": info["schools"],
                   "gen_s": gen, "gen_rate": info["marks"] / gen / 1e6, "parquet_mb": disk,
                   "load": load, "duplicates": dup, "stage": stage}
            if stage.get("possible") is not None:
                truth = info["truth"]
                row["stage_matches_truth"] = (stage["possible"] == int(truth["sess_possible"].sum())
                                              and stage["overall"] == int(truth["sess_overall"].sum()))
            if k == 0 and any(abs(size - p) < 1 for p in args.pandas):
                row["pandas"] = run(PANDAS, str(folder))
            rows.append(row)
            print(json.dumps(row), flush=True)
        shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(work / "spill", ignore_errors=True)

    print("\n| marks | repeat check | pupils | schools | generate (M marks/s) | stage wall (s) | stage M marks/s "
          "| stage peak RSS (MB) | pandas wall (s) | pandas M marks/s | pandas peak RSS (MB) "
          "| load avg |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        s, p = r["stage"], r.get("pandas", {})
        sw = s.get("wall")
        pw = p.get("wall")
        check = "yes" if r["duplicates"] == "error" else "no"
        print(f"| {r['marks']:,} | {check} | {r['pupils']:,} | {r['schools']:,} | {r['gen_rate']:.1f} | "
              f"{sw:.1f} | {r['marks'] / sw / 1e6:.1f} | {s['rss_mb']:.0f} | "
              + (f"{pw:.1f} | {r['marks'] / pw / 1e6:.1f} | {p['rss_mb']:.0f} | " if pw else
                 (f"{p.get('error', '-')} | - | - | " if p else "- | - | - | "))
              + f"{r['load']:.2f} |" if sw else f"| {r['marks']:,} | failed: {s} |")


if __name__ == "__main__":
    main()
