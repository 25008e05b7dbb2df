"""Write analysis/VALIDATION.md from the results of ``evaluate validate``.

    .venv/bin/evaluate validate -r 100 --jobs 2
    .venv/bin/python analysis/validation_record.py output/results/validation.json

The part of VALIDATION.md below the interpretation marker is kept when the file is
rewritten, so the reading of the numbers survives a rerun (and must be updated by hand
when the numbers change).
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from evaluate.validation.summary import markdown_summary

MARK = "<!-- interpretation (kept when the script rewrites this file) -->"


def _commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "src"], capture_output=True, text=True,
                               check=True).stdout.strip()
        return sha + (" (with uncommitted changes in src/)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("results", type=Path)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("VALIDATION.md"))
    args = ap.parse_args()
    res = json.loads(args.results.read_text(encoding="utf-8"))
    s, t = res["settings"], res["timing"]
    design = s.get("design", {})
    head = [
        "# Known-truth validation: the whole pipeline on worlds whose answer is known",
        "",
        f"- Command: `{res.get('command') or 'evaluate validate'}`",
        f"- Recorded: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; code: commit {_commit()}",
        f"- Machine: {t.get('machine', platform.platform())}, {t.get('cpus')} CPUs, Python {t.get('python')}",
        f"- Runtime: {t['seconds']:.0f} s for {t['replications_run']} runs ({t['seconds_per_replication']:.1f} s "
        f"per run in one process), {s['jobs']} processes",
        f"- Worlds: {', '.join(s['worlds'])}; {s['replications']} replications each; {s['schools']} schools; "
        f"seeds from SeedSequence({s['seed']})",
        f"- Design validated: matching {json.dumps(design.get('matching'))}; "
        f"timing {json.dumps(design.get('timing') or design.get('panel'))}",
        f"- Failed runs: {len(res['failures'])}",
        "",
        "Targets (issue 16):",
        "",
        *[f"- {w}: {txt}" for w, txt in res["targets"].items()],
        "",
        "## Results",
        "",
        "Errors are estimate minus the true effect on the schools the estimate kept (percentage points). "
        "Bias MCSE = s.d. of errors / sqrt(runs); coverage = share of 95% intervals containing the truth; "
        "claim_ok = share of key-finding sentences with the right claim; flagged = the pre-trend test rejects, "
        "HonestDiD calls the headline fragile, or the rating is low.",
        "",
        markdown_summary(res),
    ]
    old = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    tail = old[old.index(MARK):] if MARK in old else MARK + "\n\n## Reading\n\n(to be written)\n"
    args.out.write_text("\n".join(head) + "\n" + tail, encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
