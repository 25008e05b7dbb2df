"""Run the grid of worlds x seeds, summarise it and check it against the targets.

:func:`validate` runs :func:`evaluate.validation.run.replicate` for every world and seed
(in parallel processes where ``jobs > 1``), then :func:`summarise` gives, per world,
programme and outcome: bias (with its Monte Carlo standard error), RMSE, the mean reported
standard error against the spread of the errors, coverage of the 95% interval, the share
of intervals that exclude zero, the pre-trend test's rejection rate, the confidence ratings,
the share of key-finding sentences with the right claim and the right sign, and the share
of runs whose published results pass the disclosure audit.
:func:`check_targets` turns the targets of :mod:`evaluate.validation.worlds` into
pass/fail lines with the figures.
"""

from __future__ import annotations

import json
import math
import os
import platform
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluate.config import Config
from evaluate.validation.run import RunSpec, replicate, seeds_for
from evaluate.validation.worlds import DEFAULT_WORLDS, TARGETS, WORLDS

__all__ = ["validate", "summarise", "check_targets", "markdown_summary"]

#: Share of ratings allowed to be "high" in the trend world (none).
PRETEST_ALPHA = 0.05


def validate(cfg: Config, *, worlds: Sequence[str] = DEFAULT_WORLDS, replications: int = 100,
             schools: int = 3000, seed: int = 20261203, jobs: int = 1, robustness: bool = False,
             progress: Callable[[int, int], None] | None = None, command: str = "",
             checkpoint: str | Path | None = None) -> dict[str, Any]:
    """Run the validation grid and return its results (records, summary, target checks, timings).

    Parameters
    ----------
    cfg
        The run configuration the worlds start from (its design settings are validated;
        its data, output and seed are replaced per run).
    worlds
        Names from :data:`evaluate.validation.worlds.WORLDS`.
    replications
        Seeds per world.
    schools
        Size of each synthetic country.
    seed
        Seed of the :class:`numpy.random.SeedSequence` the run seeds are spawned from.
    jobs
        Processes running replications in parallel.
    robustness
        Also run the robustness checks (HonestDiD, placebos): slower.
    progress
        Called as ``progress(done, total)`` after each replication.
    command
        The command line, recorded with the results.
    checkpoint
        A JSON-lines file (in the working area) to which each finished replication's records
        are appended; replications already in it (same world, seed, size and design) are not
        run again, so an interrupted grid resumes where it stopped.
    """
    from evaluate.errors import InputError

    unknown = [w for w in worlds if w not in WORLDS]
    if unknown:
        raise InputError(f"unknown world(s) {', '.join(unknown)}; worlds are {', '.join(WORLDS)}",
                         column="--worlds")
    if replications < 1:
        raise InputError("replications must be at least 1", column="--replications")
    seeds = seeds_for(seed, list(worlds), replications)
    base = cfg.model_dump(mode="json")
    # each replication's files go under the configuration's working area (work/validation/ by
    # default), so a run with its own working area (a test's) never touches another's
    area = Path(cfg.working) if cfg.working is not None else Path("work")
    specs = [RunSpec(world=WORLDS[w], replication=r, seed=seeds[(w, r)], schools=schools, base=base,
                     base_dir=str(cfg.base_dir),
                     workdir=str(area / "validation" / f"{w}-{r:04d}"),
                     robustness=robustness)
             for r in range(replications) for w in worlds]
    t0 = time.perf_counter()
    records: list[dict[str, Any]] = []
    failures: list[dict[str, Any]] = []
    done = 0

    done_before: dict[tuple[str, int], list[dict[str, Any]]] = {}
    fingerprint = _fingerprint(base, schools, robustness)
    if checkpoint is not None:
        checkpoint = Path(checkpoint)
        checkpoint.parent.mkdir(parents=True, exist_ok=True)
        if checkpoint.exists():
            for line in checkpoint.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                except ValueError:
                    continue  # a line cut short by an interruption
                if row.get("fingerprint") == fingerprint:
                    done_before[(row["world"], int(row["seed"]))] = row["records"]
        keep = []
        for spec in specs:
            old = done_before.get((spec.world.name, spec.seed))
            if old is not None:
                records.extend(old)
            else:
                keep.append(spec)
        specs = keep

    def _collect(spec: RunSpec, fut_result) -> None:
        nonlocal done
        try:
            new = fut_result()
            records.extend(new)
            if checkpoint is not None:
                with open(checkpoint, "a", encoding="utf-8") as fh:
                    fh.write(json.dumps({"fingerprint": fingerprint, "world": spec.world.name, "seed": spec.seed,
                                         "records": new}, default=str) + "\n")
        except Exception as exc:  # noqa: BLE001 - a failed replication is recorded, not hidden
            failures.append({"world": spec.world.name, "replication": spec.replication, "seed": spec.seed,
                             "error": f"{type(exc).__name__}: {exc}"})
        done += 1
        if progress:
            progress(done, len(specs))

    if jobs <= 1:
        for spec in specs:
            _collect(spec, lambda spec=spec: replicate(spec))
    else:
        with ProcessPoolExecutor(max_workers=jobs) as ex:
            futs = {ex.submit(replicate, spec): spec for spec in specs}
            for fut in as_completed(futs):
                _collect(futs[fut], fut.result)
    elapsed = time.perf_counter() - t0
    records.sort(key=lambda r: (r["world"], r["replication"], r["programme"], r["outcome"]))
    summary = summarise(records)
    out = {
        "settings": {"worlds": list(worlds), "replications": replications, "schools": schools, "seed": seed,
                     "jobs": jobs, "robustness": robustness,
                     "scenarios": {w: WORLDS[w].scenario.to_dict() for w in worlds},
                     "design": {"matching": base.get("matching"), "panel": base.get("panel"),
                                "timing": base.get("design"), "outcomes": base.get("outcomes")}},
        "command": command,
        "worlds": {w: WORLDS[w].purpose for w in worlds},
        "targets": TARGETS,
        "summary": summary,
        "checks": check_targets(summary, records),
        "failures": failures,
        "records": records,
        "timing": {"seconds": elapsed, "replications_run": len(specs),
                   "replications_resumed": sum(1 for _ in done_before), "seconds_per_replication":
                   float(np.mean([r["seconds"] for r in records])) if records else None,
                   "cpus": os.cpu_count(), "python": platform.python_version(),
                   "machine": platform.platform()},
    }
    return out


def _fingerprint(base: dict[str, Any], schools: int, robustness: bool) -> str:
    """What makes two replications of the same world and seed the same: design, size, code."""
    import hashlib

    from evaluate.pipeline import _key

    root = Path(__file__).resolve().parents[1]
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        # the report layer does not change a result, except the sentences and their rounding
        if rel.startswith("report/") and rel not in ("report/findings.py", "report/rounding.py", "report/areas.py"):
            continue
        if path.suffix in {".py", ".csv"} and "__pycache__" not in path.parts:
            h.update(rel.encode())
            h.update(path.read_bytes())
    design = {k: base.get(k) for k in ("matching", "design", "panel", "outcomes", "programmes", "disclosure")}
    return _key({"design": design, "schools": schools, "robustness": robustness, "code": h.hexdigest()[:16]})


def _mean(x) -> float | None:
    x = [v for v in x if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return float(np.mean(x)) if x else None


def summarise(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per world, programme and outcome (see the module docstring)."""
    if not records:
        return []
    df = pd.DataFrame(records)
    rows = []
    for (w, p, y), g in df.groupby(["world", "programme", "outcome"], sort=True):
        ok = g[g["estimate"].notna()]
        err = (ok["estimate"] - ok["truth"]).to_numpy(dtype=float)
        n = len(ok)
        sd = float(np.std(err, ddof=1)) if n > 1 else math.nan
        cov = ok["covered"].astype(float).to_numpy()
        pre = ok["pretest_p"].dropna().astype(float).to_numpy()
        rows.append({
            "world": w, "programme": p, "outcome": y, "runs": int(len(g)), "estimated": n,
            "truth_mean": float(ok["truth"].mean()) if n else None,
            "estimate_mean": float(ok["estimate"].mean()) if n else None,
            "bias": float(err.mean()) if n else None,
            "bias_mcse": sd / math.sqrt(n) if n > 1 else None,
            "rmse": float(np.sqrt(np.mean(err**2))) if n else None,
            "mean_se": float(ok["se"].mean()) if n else None,
            "sd_error": sd if n > 1 else None,
            "coverage": float(cov.mean()) if n else None,
            "coverage_mcse": float(math.sqrt(max(cov.mean() * (1 - cov.mean()), 1e-12) / n)) if n else None,
            "excludes_zero": float(ok["excludes_zero"].astype(float).mean()) if n else None,
            "pretest_reject": float((pre < PRETEST_ALPHA).mean()) if len(pre) else None,
            "rating": {k: int(v) for k, v in ok["rating"].value_counts().items()},
            "claim": {k: int(v) for k, v in ok["claim"].value_counts().items()},
            "claim_ok": float(ok["claim_ok"].astype(float).mean()) if n else None,
            "sign_ok": float(((ok["estimate"] < 0) == (ok["truth"] < 0)).mean()) if n and (ok["truth"] != 0).all()
            else None,
            "no_effect_claimed": float((ok["claim"] == "no detectable effect").mean()) if n else None,
            "mean_mde": _mean(ok["mde"]),
            "flagged": float(_flagged(ok).mean()) if n else None,
            "honest_fragile": _mean([float(v) for v in ok.get("honest", pd.Series(dtype=object)).dropna()])
            if "honest" in ok else None,
            "truth_missing": int(ok["truth_missing"].sum()),
            "disclosure_clean": _clean_share(g),
        })
    return rows


def _clean_share(g: pd.DataFrame) -> float | None:
    """The share of runs whose published results pass the publication audit (no problem
    found by :func:`evaluate.disclosure.check_publication_area`); None for records made
    before the audit was part of a replication."""
    if "disclosure_problems" not in g:
        return None
    probs = g["disclosure_problems"].dropna()
    return float(np.mean([len(p) == 0 for p in probs])) if len(probs) else None


def _flagged(g: pd.DataFrame) -> pd.Series:
    """Runs in which the design flags a problem: the pre-trend test rejects, HonestDiD calls
    the headline fragile, or the rating is low."""
    pre = g["pretest_p"].astype(float) < PRETEST_ALPHA
    honest = g["honest"].fillna(False).astype(bool) if "honest" in g else False
    return pre | honest | (g["rating"] == "low")


def check_targets(summary: Sequence[dict[str, Any]], records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each target of :data:`TARGETS` as pass/fail lines with the figure behind it."""
    out: list[dict[str, Any]] = []

    def add(world: str, programme: str, outcome: str, what: str, value: float | None, ok: bool | None) -> None:
        out.append({"world": world, "programme": programme, "outcome": outcome, "target": what,
                    "value": value, "met": ok})

    for s in summary:
        w, p, y = s["world"], s["programme"], s["outcome"]
        if w == "default":
            b = s["bias"]
            add(w, p, y, "|bias| <= 0.05 pp", b, None if b is None else abs(b) <= 0.05)
            c = s["coverage"]
            add(w, p, y, "coverage 93-97%", c, None if c is None else 0.93 <= c <= 0.97)
        elif w == "null":
            c = s["coverage"]
            add(w, p, y, "interval includes 0 in 93-97% of runs", c, None if c is None else 0.93 <= c <= 0.97)
            ne = s["no_effect_claimed"]
            add(w, p, y, "key finding says no detectable effect in 93-97% of runs", ne,
                None if ne is None else 0.93 <= ne <= 0.97)
        elif w == "trend":
            f = s["flagged"]
            add(w, p, y, "flagged (pre-test, HonestDiD or low rating) in >= 80% of runs", f,
                None if f is None else f >= 0.80)
            high = s["rating"].get("high", 0) / max(s["estimated"], 1)
            add(w, p, y, "never rated high confidence", high, high == 0)
        elif w == "parallel":
            r = s["pretest_reject"]
            add(w, p, y, "pre-trend test rejects in 3-8% of runs", r, None if r is None else 0.03 <= r <= 0.08)
        d = s.get("disclosure_clean")
        if d is not None:
            add(w, p, y, "published results pass the disclosure audit in every run", d, d == 1.0)
    # balance, every world: cohorts with >= 30 treated schools
    df = pd.DataFrame(records)
    if len(df):
        first = df.drop_duplicates(["world", "replication", "programme"])
        for (w, p), g in first.groupby(["world", "programme"], sort=True):
            cells = [b for bal in g["balance"] for b in (bal or []) if b["treated"] >= 30]
            if not cells:
                continue
            share = float(np.mean([b["max_abs_smd"] <= 0.1 for b in cells]))
            add(w, p, "all", "|SMD| <= 0.1 after matching/weighting, cohorts with >= 30 treated", share, share == 1.0)
    return out


def markdown_summary(result: dict[str, Any]) -> str:
    """The summary and the target checks as Markdown tables (for ``analysis/VALIDATION.md``)."""
    s = pd.DataFrame(result["summary"])
    lines = []
    if len(s):
        cols = ["world", "programme", "outcome", "estimated", "truth_mean", "bias", "bias_mcse", "rmse", "mean_se",
                "sd_error", "coverage", "excludes_zero", "pretest_reject", "claim_ok", "flagged", "disclosure_clean"]
        t = s[cols].copy()
        lines.append(_md(t))
        lines.append("")
        r = s[["world", "programme", "outcome", "rating", "claim"]]
        lines.append(_md(r.assign(rating=r["rating"].map(_fmt_counts), claim=r["claim"].map(_fmt_counts))))
    lines.append("")
    c = pd.DataFrame(result["checks"])
    if len(c):
        c = c.assign(met=c["met"].map({True: "met", False: "**missed**", None: "n/a"}))
        lines.append(_md(c))
    return "\n".join(lines) + "\n"


def _fmt_counts(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items()))


def _md(df: pd.DataFrame) -> str:
    def f(v: Any) -> str:
        if v is None or (isinstance(v, float) and math.isnan(v)):
            return ""
        if isinstance(v, float):
            return f"{v:.3f}"
        return str(v)

    head = "| " + " | ".join(df.columns) + " |"
    sep = "|" + "|".join("---" for _ in df.columns) + "|"
    body = ["| " + " | ".join(f(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, sep, *body])
