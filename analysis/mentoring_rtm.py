"""Simulation: "82% of mentored pupils improved" vs regression to the mean and a matched-pupil DiD.

Run by hand (not part of the unit tests)::

    .venv/bin/python analysis/mentoring_rtm.py                      # 100 replications
    .venv/bin/python analysis/mentoring_rtm.py --reps 20 --pupils 8000

Design
    Each replication draws a new pupil panel with
    :func:`evaluate.synthetic.pupils.mentoring_pupils` (``--pupils`` pupils, 5 mentor areas
    and 5 areas without mentors, mentoring starting 1 September 2023, so the referral year
    is 2022/23 and the years are 2021 (pre-pre), 2022 (pre, referral), 2023 (post) and
    2024, academic years by their start). A pupil's logit propensity to miss a session is a stable latent part
    plus transitory AR(1) noise (60% of the pupil variance stable, year-to-year correlation
    of the transitory part 0.3); referral needs 10%+ absence in 2022 (persistent absence),
    and among those eligible the odds of referral rise with the observed 2022 rate and,
    unless said otherwise, with the stable latent propensity (what school staff know and
    a year of absence measures only noisily). The true effect on the mentored (percentage
    points of the 2023 absence rate) is known in each replication from the pupils' untreated
    outcomes (binomial thinning).

Scenarios
    ``null``: mentoring does nothing (``effect_scale=0``), referral on observed and latent
    absence. The headline: the naive numbers still look like success.
    ``effect``: the programme's effect (``MENTOR_BASE`` for 2023-09-01, 0.40 on the logit,
    growing), same referral.
    ``observed_only``: the effect, referral on the observed 2022 rate only (no latent term).

Estimators (each replication; :func:`evaluate.findings.mentors.pupils.mentoring_did`)
    ``before-after``: the mentored pupils' mean change 2022 -> 2023.
    ``DiD unmatched``: minus the mean change of all pupils in the areas without mentors.
    ``matched DiD, 1 pre-year`` / ``2 pre-years``: minus the change of comparison pupils
    matched (Mahalanobis, 1:1 with replacement, exactly on phase and FSM) on the 2022
    absence rate, or on 2021 and 2022; comparison pupils from the areas without mentors
    (``other areas``) or the non-mentored pupils of the mentor areas (``same area``).
    SEs clustered by school. Coverage: share of 95% normal intervals containing the
    replication's true effect.
    Shares: the share of mentored pupils whose absence fell (the Barnardo's-style
    number), the share that would have fallen without mentoring (truth), and the share
    among matched comparison pupils (2 pre-years, other areas).

Replication ``rep`` of scenario number ``k`` draws its panel with the seed
:func:`replication_seed` ``(seed, k, rep)`` (a ``numpy.random.SeedSequence`` of the three),
so the results depend only on ``--seed``, ``--pupils`` and ``--reps``, and no two
replications share a seed.
"""

from __future__ import annotations

import argparse
import math
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from evaluate.findings.mentors.pupils import mentoring_did
from evaluate.synthetic.pupils import mentoring_pupils

__all__ = ["ESTIMATORS", "SCENARIOS", "Scenario", "estimate", "main", "replication_seed", "run", "shares_table",
           "summarise", "to_markdown"]

DEFAULT_REPS = 100
DEFAULT_SEED = 20251123
DEFAULT_PUPILS = 15_000
POST_YEAR = 2023

#: (label, match_on, comparison) of the matched DiDs.
MATCHED = (("matched DiD, 1 pre-year, other areas", 1, "other_areas"),
           ("matched DiD, 2 pre-years, other areas", 2, "other_areas"),
           ("matched DiD, 1 pre-year, same area", 1, "same_area"),
           ("matched DiD, 2 pre-years, same area", 2, "same_area"))
ESTIMATORS = ("before-after", "DiD unmatched, other areas", *(m[0] for m in MATCHED))


@dataclass(frozen=True)
class Scenario:
    """One data-generating process: arguments of :func:`mentoring_pupils` and a description."""

    name: str
    description: str
    effect_scale: float = 1.0
    observed_selection: float = 0.5
    latent_selection: float = 0.5


SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    Scenario("null", "no effect; referral on observed and latent absence", effect_scale=0.0),
    Scenario("effect", "the programme's effect; referral on observed and latent absence"),
    Scenario("observed_only", "the programme's effect; referral on the observed 2022 rate only",
             latent_selection=0.0),
)}


def estimate(panel: pd.DataFrame, truth: dict) -> tuple[list[dict], dict]:
    """Every estimator on one panel, and the shares improved.

    Returns
    -------
    rows, shares
        One dict per estimator (``estimator``, ``estimate``, ``se``, ``truth``,
        ``matched_share``); and a dict of shares (``naive``, ``without_mentoring``,
        ``matched_comparison``) with ``n_mentored``.
    """
    rows: list[dict] = []
    shares: dict = {}
    true_att = float(truth["att_pp"][str(POST_YEAR)])
    for i, (label, k, comp) in enumerate(MATCHED):
        res = mentoring_did(panel, post_year=POST_YEAR, match_on=k, comparison=comp)
        est = res.estimates.set_index("term")
        if i == 0:
            for name, term in (("before-after", "before_after"), ("DiD unmatched, other areas", "did_unmatched")):
                rows.append({"estimator": name, "estimate": float(est.loc[term, "estimate"]),
                             "se": float(est.loc[term, "se"]), "truth": true_att, "matched_share": math.nan})
        share = res.counts["mentored_matched"] / res.counts["mentored"]
        rows.append({"estimator": label, "estimate": float(est.loc["did_matched", "estimate"]),
                     "se": float(est.loc["did_matched", "se"]), "truth": true_att, "matched_share": share})
        if k == 2 and comp == "other_areas":
            sh = res.shares.set_index("group")["share_improved"]
            shares = {"naive": float(sh["mentored"]),
                      "without_mentoring": float(truth["share_improved_without_mentoring"]),
                      "matched_comparison": float(sh["matched comparison"]),
                      "n_mentored": int(res.counts["mentored"]), "true_att": true_att}
    return rows, shares


def replication_seed(seed: int, scenario_index: int, rep: int) -> int:
    """The seed of one replication's panel: distinct for every (seed, scenario, replication)."""
    return int(np.random.SeedSequence([seed, scenario_index, rep]).generate_state(1, dtype=np.uint64)[0])


def run(reps: int, seed: int, n_pupils: int, scenario: Scenario, *, progress: bool = False
        ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``reps`` replications of one scenario: estimates (one row per replication and estimator) and shares."""
    idx = list(SCENARIOS).index(scenario.name) if scenario.name in SCENARIOS else 9
    rows, share_rows = [], []
    t0 = time.perf_counter()
    for r in range(reps):
        mp = mentoring_pupils(seed=replication_seed(seed, idx, r), n_pupils=n_pupils,
                              effect_scale=scenario.effect_scale, observed_selection=scenario.observed_selection,
                              latent_selection=scenario.latent_selection)
        est, sh = estimate(mp.panel, dict(mp.truth))
        rows += [{"scenario": scenario.name, "rep": r, **e} for e in est]
        share_rows.append({"scenario": scenario.name, "rep": r, **sh})
        if progress and (r + 1) % max(1, reps // 5) == 0:
            print(f"  {scenario.name}: {r + 1}/{reps} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
    return pd.DataFrame(rows), pd.DataFrame(share_rows)


def summarise(results: pd.DataFrame) -> pd.DataFrame:
    """Mean estimate and truth, bias (Monte Carlo SE), RMSE, mean SE, empirical SD, coverage."""
    out = []
    for (sc, est), d in results.groupby(["scenario", "estimator"], sort=False):
        e, se, tr = d["estimate"].to_numpy(), d["se"].to_numpy(), d["truth"].to_numpy()
        err = e - tr
        r = len(d)
        sd = float(np.std(err, ddof=1)) if r > 1 else math.nan
        out.append({"scenario": sc, "estimator": est, "reps": r, "mean_estimate": float(e.mean()),
                    "mean_truth": float(tr.mean()), "bias": float(err.mean()), "bias_mcse": sd / math.sqrt(r),
                    "rmse": float(np.sqrt(np.mean(err**2))), "mean_se": float(se.mean()),
                    "empirical_sd": float(np.std(e, ddof=1)) if r > 1 else math.nan,
                    "coverage": float(np.mean(np.abs(err) <= 1.959964 * se)),
                    "matched_share": float(d["matched_share"].mean())})
    return pd.DataFrame(out)


def shares_table(shares: pd.DataFrame) -> pd.DataFrame:
    """Mean shares improved by scenario (naive, without mentoring, matched comparison) and the true effect."""
    g = shares.groupby("scenario", sort=False)
    return g[["naive", "without_mentoring", "matched_comparison", "n_mentored", "true_att"]].mean().reset_index()


def to_markdown(summary: pd.DataFrame, shares: pd.DataFrame) -> str:
    """The two tables as Markdown."""
    lines = ["| scenario | estimator | mean est. | mean truth | bias (MCSE) | RMSE | mean SE | emp. SD "
             "| 95% coverage |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in summary.itertuples():
        lines.append(f"| {r.scenario} | {r.estimator} | {r.mean_estimate:+.2f} | {r.mean_truth:+.2f} "
                     f"| {r.bias:+.2f} ({r.bias_mcse:.2f}) | {r.rmse:.2f} | {r.mean_se:.2f} | {r.empirical_sd:.2f} "
                     f"| {100 * r.coverage:.1f}% |")
    lines += ["", "| scenario | mentored pupils | share improved (naive) | would have improved without mentoring "
              "| matched comparison improved | true effect (pp) |", "|---|---:|---:|---:|---:|---:|"]
    for r in shares.itertuples():
        lines.append(f"| {r.scenario} | {r.n_mentored:.0f} | {100 * r.naive:.1f}% | {100 * r.without_mentoring:.1f}% "
                     f"| {100 * r.matched_comparison:.1f}% | {r.true_att:+.2f} |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the scenarios and print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=DEFAULT_REPS, help="replications per scenario (default %(default)s)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seed (default %(default)s)")
    ap.add_argument("--pupils", type=int, default=DEFAULT_PUPILS, help="pupils per panel (default %(default)s)")
    ap.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated (default %(default)s)")
    ap.add_argument("--raw", default=None, help="optional CSV of every replication's estimates (aggregates only)")
    a = ap.parse_args(argv)
    names = [s.strip() for s in a.scenarios.split(",") if s.strip()]
    unknown = [s for s in names if s not in SCENARIOS]
    if unknown:
        ap.error(f"unknown scenario(s): {', '.join(unknown)} (known: {', '.join(SCENARIOS)})")
    code = _git_state()
    t0 = time.perf_counter()
    parts = [run(a.reps, a.seed, a.pupils, SCENARIOS[s], progress=True) for s in names]
    runtime = time.perf_counter() - t0
    results = pd.concat([p[0] for p in parts], ignore_index=True)
    shares = pd.concat([p[1] for p in parts], ignore_index=True)
    print(f"Mentoring RTM simulation: {a.reps} replications per scenario, {a.pupils} pupils, seed {a.seed}")
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M UTC}; Python {platform.python_version()}, numpy {np.__version__}, "
          f"pandas {pd.__version__}; runtime {runtime:.0f} s ({runtime / max(1, a.reps * len(names)):.2f} s "
          f"per replication)")
    print(f"code: {code}")
    for s in names:
        print(f"  {s}: {SCENARIOS[s].description}")
    print()
    print(to_markdown(summarise(results), shares_table(shares)))
    if a.raw:
        results.to_csv(a.raw, index=False)
    return 0


def _git_state() -> str:
    """The commit checked out, and whether the code or this script differ from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "src/evaluate/findings/mentoring_pupils.py",
                                "src/evaluate/synthetic/pupils.py", "src/evaluate/matching", __file__],
                               capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"commit {head}" + (f" with uncommitted changes: {' '.join(dirty.split())}" if dirty else "")


if __name__ == "__main__":
    sys.exit(main())
