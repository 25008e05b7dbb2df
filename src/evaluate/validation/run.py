"""One replication of ``evaluate validate``: a world, the whole pipeline, and its answer checked.

:func:`replicate` generates a synthetic world into the working area, runs the stages a
user runs (data, panel, then the estimates of every programme: matching, the headline
estimates, the findings, the confidence rating) and builds the key-finding sentences the
reports print. It then compares every headline with its target, the true effect on the
very schools the estimate kept (:mod:`evaluate.validation.oracle`), and classifies the
sentence the report would print: does it claim an effect, in which direction, or say that
no effect could be detected, and is that right?

A claim of an effect is right when its sign is the truth's. "No detectable effect" is
right when the truth is 0 or smaller in size than the design's minimum detectable effect
(80% power at 5%: ``(1.96 + 0.84)`` standard errors): a design may honestly fail to see
an effect it was never able to detect, and it is wrong to stay silent about one it could.
"""

from __future__ import annotations

import json
import math
import shutil
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluate.config import Config
from evaluate.validation.worlds import World

__all__ = ["RunSpec", "replicate", "classify_sentence", "MDE_FACTOR"]

#: Minimum detectable effect in standard errors (5% two-sided test, 80% power).
MDE_FACTOR = 1.959964 + 0.841621
#: Outcomes whose truth the synthetic world records.
VALIDATED_OUTCOMES = ("overall_absence_rate", "pa_rate", "severe_rate")


@dataclass(frozen=True)
class RunSpec:
    """One replication: the world, its seed, the country's size and where to work."""

    world: World
    replication: int
    seed: int
    schools: int
    base: dict[str, Any]     # the configuration the run starts from (Config.model_dump)
    base_dir: str            # the project folder (paths are resolved against it)
    workdir: str             # relative to base_dir, inside the working area
    robustness: bool = False
    keep: bool = False


def classify_sentence(sentence: str) -> str:
    """``"reduced"``, ``"increased"``, ``"no detectable effect"`` or ``"none"``: what a key finding claims.

    Examples
    --------
    >>> from evaluate.validation.run import classify_sentence
    >>> classify_sentence("Attendance hub membership reduced the overall absence rate by 0.4 percentage points.")
    'reduced'
    >>> classify_sentence("We cannot tell whether attendance hub membership changed the overall absence rate: ...")
    'no detectable effect'
    """
    s = sentence.lower()
    if s.startswith("we cannot tell") or "no detectable" in s:
        return "no detectable effect"
    if " reduced " in s:
        return "reduced"
    if " increased " in s:
        return "increased"
    return "none"


def _config(spec: RunSpec) -> Config:
    raw = json.loads(json.dumps(spec.base, default=str))
    sc = spec.world.scenario
    raw.update(seed=int(spec.seed), output=f"{spec.workdir}/output", working=f"{spec.workdir}/work",
               reports=[])
    raw["data"] = {"source": "synthetic", "dir": f"{spec.workdir}/data",
                   "synthetic": {"schools": int(spec.schools), **sc.to_dict()}}
    raw.setdefault("programmes", {}).setdefault("mentors", {}).setdefault("areas", {})["la_data"] = "off"
    raw["fetch"] = {}
    return Config(**raw, base_dir=Path(spec.base_dir))


def _balance(res: dict[str, Any]) -> list[dict[str, Any]]:
    m = res.get("matching")
    if not m:
        return []
    counts = {int(c["cohort"]): int(c.get("treated_matched", 0)) for c in m["counts"]}
    bal = pd.DataFrame(m["balance"])
    out = []
    for g, b in bal[bal["sample"] == "after"].groupby("cohort"):
        worst = b.loc[b["smd"].abs().idxmax()]
        out.append({"cohort": int(g), "treated": counts.get(int(g), 0), "max_abs_smd": float(abs(worst["smd"])),
                    "worst": str(worst["term"]),
                    "n_over_01": int((b["smd"].abs() > 0.1).sum())})
    return out


def replicate(spec: RunSpec) -> list[dict[str, Any]]:
    """Run one replication; one record per programme and headline outcome."""
    from evaluate import pipeline
    from evaluate.report.findings import effect_sentence
    from evaluate.validation.oracle import effects_lookup, true_aggregate, true_cells

    t0 = time.perf_counter()
    cfg = _config(spec)
    root = cfg.base_dir / spec.workdir
    records: list[dict[str, Any]] = []
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipeline.stage_data(cfg, force=True)
            pipeline.stage_panel(cfg, force=True)
            t_data = time.perf_counter() - t0
            panel = pipeline.estimation_panel(pd.read_parquet(cfg.working_dir / "panel" / "panel_year.parquet"))
            truth = pd.read_csv(cfg.data_dir / "truth_schools.csv")
            for prog in ("hubs", "mentors"):
                if not getattr(cfg.programmes, prog).enabled:
                    continue
                fits: dict[str, Any] = {}
                t1 = time.perf_counter()
                res, rob = pipeline.estimate_programme(cfg, panel, prog, robustness=spec.robustness, fits=fits)
                t_est = time.perf_counter() - t1
                balance = _balance(res)
                for y in cfg.outcomes:
                    if y not in VALIDATED_OUTCOMES or y not in res["outcomes"]:
                        continue
                    o = res["outcomes"][y]
                    h = o["headline"]
                    fit = fits[y]
                    eff = effects_lookup(truth, programme=prog, outcome=y)
                    target = float(true_aggregate(fit, eff, "simple").set_index("term").loc["overall", "true"])
                    groups = true_aggregate(fit, eff, "group").set_index("term")["true"]
                    dyn = true_aggregate(fit, eff, "dynamic").set_index("term")["true"]
                    _, missing = true_cells(fit, eff)
                    sentence = effect_sentence(prog, o)
                    claim = classify_sentence(sentence)
                    est, se = h["estimate"], h["se"]
                    lo, hi = h["ci_low"], h["ci_high"]
                    mde = MDE_FACTOR * se if se is not None else math.nan
                    if claim == "no detectable effect":
                        claim_ok = target == 0 or abs(target) < mde
                    elif claim in ("reduced", "increased"):
                        claim_ok = target != 0 and (target < 0) == (claim == "reduced")
                    else:
                        claim_ok = False
                    rec = {
                        "world": spec.world.name, "replication": spec.replication, "seed": spec.seed,
                        "programme": prog, "outcome": y, "estimate": est, "se": se, "ci_low": lo, "ci_high": hi,
                        "truth": target, "error": None if est is None else est - target,
                        "covered": None if lo is None else bool(lo <= target <= hi),
                        "excludes_zero": None if lo is None else bool(lo > 0 or hi < 0),
                        "truth_by_cohort": {k: float(v) for k, v in groups.items()},
                        "estimate_by_cohort": {f"g={int(r['component'])}": r["estimate"] for r in o["by_wave"]},
                        "ci_by_cohort": {f"g={int(r['component'])}": [r["ci_low"], r["ci_high"]] for r in o["by_wave"]},
                        "truth_by_event_time": {k: float(v) for k, v in dyn.items()},
                        "estimate_by_event_time": {f"e={int(r['component'])}": r["estimate"]
                                                   for r in o["event_study"]},
                        "se_by_event_time": {f"e={int(r['component'])}": r["se"] for r in o["event_study"]},
                        "ci_by_event_time": {f"e={int(r['component'])}": [r["ci_low"], r["ci_high"]]
                                             for r in o["event_study"]},
                        "pretest_p": o["pretest"].get("p_value"),
                        "rating": o["confidence"]["rating"],
                        "checks": {k: bool(v["ok"]) for k, v in o["confidence"]["checks"].items()},
                        "sentence": sentence, "claim": claim, "claim_ok": bool(claim_ok), "mde": mde,
                        "n_treated": h.get("n_treated"), "n_comparison": h.get("n_comparison"),
                        "truth_missing": int(missing), "balance": balance,
                        "design": res.get("design", {}).get("design"),
                        "seconds_data": t_data, "seconds_estimates": t_est,
                    }
                    if rob is not None and y == cfg.outcomes[0]:
                        rec["honest"] = _honest_flag(rob)
                    records.append(rec)
                # what the estimates stage would publish, through the same gate
                problems = _published(cfg, prog, res, rob)
                for rec in records:
                    if rec["programme"] == prog:
                        rec["disclosure_problems"] = problems
    finally:
        if not spec.keep:
            shutil.rmtree(root, ignore_errors=True)
    for r in records:
        r["seconds"] = time.perf_counter() - t0
    return records


def _published(cfg: Config, programme: str, res: dict[str, Any], rob: dict[str, Any] | None) -> list[str]:
    """Publish a programme's results into the run's publication area as the estimates stage
    does (:func:`evaluate.pipeline.publish_programme`) and audit it: the problems that
    :func:`evaluate.disclosure.check_publication_area` finds there, or the gate's refusal."""
    from evaluate import pipeline
    from evaluate.disclosure import check_publication_area
    from evaluate.errors import InputError

    try:
        pipeline.publish_programme(cfg, programme, res, rob)
    except (InputError, ValueError) as err:
        return [f"{programme}: the publication gate refused the results: {err}"]
    return [p for p in check_publication_area(cfg.output_dir, cfg.disclosure.rules())
            if p.startswith(f"results/{programme}")]


def _honest_flag(rob: dict[str, Any]) -> bool | None:
    """Whether HonestDiD calls the headline fragile: its breakdown value (the relative
    magnitude of post-treatment violations, against the largest pre-treatment one, at which
    the robust interval first includes zero) is below 1."""
    h = rob.get("honest") or {}
    bd = h.get("breakdown") if isinstance(h, dict) else None
    if not isinstance(bd, dict) or bd.get("value") is None:
        return None
    return bool(float(bd["value"]) < 1.0)


def seeds_for(seed: int, worlds: list[str], replications: int) -> dict[tuple[str, int], int]:
    """One seed per world and replication, from ``numpy.random.SeedSequence(seed)``.

    The same replication of two worlds gets the same seed, so worlds differ only in the
    scenario (common random numbers across worlds, where the generator allows).
    """
    children = np.random.SeedSequence(seed).spawn(replications)
    return {(w, r): int(children[r].generate_state(1)[0]) for w in worlds for r in range(replications)}
