"""Tables, charts and sentences of the validation report (``reports/validation.qmd``).

Everything here reads ``results/validation.json`` (written by ``evaluate validate``) and
formats it; nothing is estimated. Numbers are rounded half up, as everywhere in the reports.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from evaluate.report.charts import Chart, _finish
from evaluate.report.rounding import fmt_count, fmt_number, fmt_pct
from evaluate.report.tables import markdown_table
from evaluate.style import palette, style_context

__all__ = ["OUTCOME_NAMES", "verdict_sentence", "targets_table", "summary_table", "claims_table",
           "balance_sentence", "coverage_chart", "settings_sentence", "worlds_list"]

OUTCOME_NAMES = {"overall_absence_rate": "Overall absence", "pa_rate": "Persistent absence",
                 "severe_rate": "Severe absence", "all": "All"}
PROGRAMME_NAMES = {"hubs": "Hubs", "mentors": "Mentors"}


def _pct(x: float | None) -> str:
    return "" if x is None else fmt_pct(100 * x, 0)


def settings_sentence(result: Mapping[str, Any]) -> str:
    """What was run: worlds, replications, country size, seed, time.

    Examples
    --------
    >>> from evaluate.report.validation import settings_sentence
    >>> print(settings_sentence({"settings": {"worlds": ["default", "null"], "replications": 100,
    ...        "schools": 3000, "seed": 1}, "timing": {"seconds": 5400.0, "replications_run": 200},
    ...        "command": "evaluate validate -r 100"}))
    2 worlds x 100 replications (200 runs of the whole pipeline) on synthetic countries of 3,000 schools, seeds from SeedSequence(1); 90 minutes in all. Command: `evaluate validate -r 100`.
    """
    s, t = result["settings"], result["timing"]
    minutes = t["seconds"] / 60
    return (f"{len(s['worlds'])} worlds x {fmt_count(s['replications'])} replications "
            f"({fmt_count(t['replications_run'])} runs of the whole pipeline) on synthetic countries of "
            f"{fmt_count(s['schools'])} schools, seeds from SeedSequence({s['seed']}); "
            f"{fmt_number(minutes, 0)} minutes in all. Command: `{result.get('command') or 'evaluate validate'}`.")


def worlds_list(result: Mapping[str, Any]) -> list[str]:
    """One line per world: its name and what it is for."""
    return [f"**{w}**: {purpose}." for w, purpose in result["worlds"].items()]


def verdict_sentence(result: Mapping[str, Any]) -> str:
    """How many targets were met, and which were missed (with the figures).

    Examples
    --------
    >>> from evaluate.report.validation import verdict_sentence
    >>> checks = [{"world": "default", "programme": "hubs", "outcome": "pa_rate", "target": "|bias| <= 0.05 pp",
    ...            "value": 0.12, "met": False},
    ...           {"world": "null", "programme": "hubs", "outcome": "pa_rate", "target": "coverage 93-97%",
    ...            "value": 0.95, "met": True}]
    >>> print(verdict_sentence({"checks": checks}))
    1 of 2 targets met. Missed: default world, hubs, persistent absence: |bias| <= 0.05 pp (0.12).
    """
    checks = [c for c in result["checks"] if c["met"] is not None]
    met = sum(bool(c["met"]) for c in checks)
    missed = [c for c in checks if not c["met"]]
    out = f"{met} of {len(checks)} targets met."
    if missed:
        out += " Missed: " + "; ".join(
            f"{c['world']} world, {c['programme']}, {OUTCOME_NAMES.get(c['outcome'], c['outcome']).lower()}: "
            f"{c['target']} ({fmt_number(c['value'], 2) if c['value'] is not None else 'n/a'})" for c in missed) + "."
    return out


def targets_table(result: Mapping[str, Any], *, label: str = "tbl-targets") -> str:
    """Every target, the figure measured and whether it was met."""
    rows = [{"World": c["world"], "Programme": PROGRAMME_NAMES.get(c["programme"], c["programme"]),
             "Outcome": OUTCOME_NAMES.get(c["outcome"], c["outcome"]), "Target": c["target"],
             "Measured": "" if c["value"] is None else fmt_number(c["value"], 3),
             "Met": {True: "yes", False: "**no**", None: "n/a"}[c["met"]]} for c in result["checks"]]
    return markdown_table(pd.DataFrame(rows), formats={k: "text" for k in rows[0]} if rows else None,
                          caption="Targets of the known-truth worlds and what the runs measured.", label=label,
                          synthetic=True)


def summary_table(result: Mapping[str, Any], *, worlds: Sequence[str] | None = None,
                  label: str = "tbl-summary") -> str:
    """Bias, RMSE, standard errors and coverage of every headline, by world."""
    rows = []
    for s in result["summary"]:
        if worlds is not None and s["world"] not in worlds:
            continue
        rows.append({
            "World": s["world"], "Programme": PROGRAMME_NAMES.get(s["programme"], s["programme"]),
            "Outcome": OUTCOME_NAMES.get(s["outcome"], s["outcome"]), "Runs": fmt_count(s["estimated"]),
            "True effect (mean)": fmt_number(s["truth_mean"], 2),
            "Bias (MC s.e.)": (f"{fmt_number(s['bias'], 3)} ({fmt_number(s['bias_mcse'], 3)})"
                               if s["bias"] is not None and s["bias_mcse"] is not None else ""),
            "RMSE": fmt_number(s["rmse"], 3), "Mean s.e.": fmt_number(s["mean_se"], 3),
            "s.d. of errors": fmt_number(s["sd_error"], 3), "Coverage of 95% interval": _pct(s["coverage"]),
            "Interval excludes 0": _pct(s["excludes_zero"]), "Pre-test rejects": _pct(s["pretest_reject"]),
        })
    df = pd.DataFrame(rows)
    return markdown_table(df, formats={c: "text" for c in df.columns},
                          caption=("Each headline estimate against the true effect on the schools it kept, in "
                                   "percentage points. Bias: mean error, with its Monte Carlo standard error."),
                          label=label, synthetic=True)


def claims_table(result: Mapping[str, Any], *, label: str = "tbl-claims") -> str:
    """What the key-finding sentence claimed, how often it was right, and the confidence ratings."""
    rows = []
    for s in result["summary"]:
        claims = ", ".join(f"{k} {v}" for k, v in sorted(s["claim"].items()))
        ratings = ", ".join(f"{k} {v}" for k, v in sorted(s["rating"].items()))
        rows.append({"World": s["world"], "Programme": PROGRAMME_NAMES.get(s["programme"], s["programme"]),
                     "Outcome": OUTCOME_NAMES.get(s["outcome"], s["outcome"]),
                     "Sentence right": _pct(s["claim_ok"]), "Claims": claims, "Ratings": ratings,
                     "Flagged": _pct(s["flagged"])})
    df = pd.DataFrame(rows)
    return markdown_table(df, formats={c: "text" for c in df.columns},
                          caption=("The key-finding sentence of each run: right when it claims an effect of the "
                                   "true sign, or no detectable effect when the truth is smaller than the design's "
                                   "minimum detectable effect. Flagged: the pre-trend test rejects, HonestDiD calls "
                                   "the headline fragile, or the rating is low."),
                          label=label, synthetic=True)


def balance_sentence(result: Mapping[str, Any]) -> str:
    """The cohorts that stayed imbalanced after matching or weighting, by world."""
    df = pd.DataFrame(result["records"])
    if df.empty:
        return "No runs."
    first = df.drop_duplicates(["world", "replication", "programme"])
    parts = []
    for (w, p), g in first.groupby(["world", "programme"], sort=True):
        cells = [b for bal in g["balance"] for b in (bal or [])]
        if not cells:
            continue
        big = [b for b in cells if b["treated"] >= 30]
        small = [b for b in cells if b["treated"] < 30]
        bad_big = sorted({b["cohort"] for b in big if b["max_abs_smd"] > 0.1})
        bad_small = sorted({b["cohort"] for b in small if b["max_abs_smd"] > 0.1})
        txt = (f"{w} world, {p}: {fmt_pct(100 * sum(b['max_abs_smd'] <= 0.1 for b in big) / max(len(big), 1), 0)} "
               f"of cohort-runs with 30 or more treated schools balanced within 0.1")
        if bad_big:
            txt += f" (cohorts not always balanced: {', '.join(map(str, bad_big))})"
        if bad_small:
            txt += f"; smaller cohorts not balanced in some runs: {', '.join(map(str, bad_small))}"
        parts.append(txt)
    return "; ".join(parts) + "." if parts else "No matched or weighted design in these runs."


def coverage_chart(result: Mapping[str, Any]) -> Chart:
    """Coverage of the 95% interval by world, programme and outcome, against the 93-97% band."""
    s = pd.DataFrame(result["summary"])
    s = s[s["coverage"].notna()]
    labels = [f"{w} / {p} / {OUTCOME_NAMES.get(o, o).lower()}" for w, p, o in zip(s["world"], s["programme"],
                                                                                  s["outcome"], strict=True)]
    with style_context():
        from matplotlib.figure import Figure

        fig = Figure(figsize=(8, max(3.0, 0.28 * len(s) + 1.2)))
        ax = fig.subplots()
        ax.axvspan(93, 97, color=palette()[5] if len(palette()) > 5 else "#dddddd", alpha=0.3, lw=0)
        ax.axvline(95, color=palette()[4], lw=1)
        ax.scatter(100 * s["coverage"], range(len(s)), color=palette()[0], zorder=3)
        ax.set_yticks(range(len(s)))
        ax.set_yticklabels(labels, fontsize=7)
        ax.invert_yaxis()
        ax.set_xlabel("Coverage of the 95% interval (%)")
        ax.set_xlim(min(50, float(100 * s["coverage"].min()) - 2), 101)
        caption = ("Source: evaluate validate on synthetic worlds with known effects. The band marks 93% to 97%. "
                   "Synthetic data: not real findings.")
        inside = int(((s["coverage"] >= 0.93) & (s["coverage"] <= 0.97)).sum())
        title = f"{inside} of {len(s)} intervals cover as they should"
        _finish(fig, title, caption)
    alt = ("Dot chart of the share of runs whose 95% interval contains the true effect, one dot per world, "
           f"programme and outcome; {inside} of {len(s)} dots lie in the 93% to 97% band.")
    return Chart(fig, title, caption, alt, synthetic=True)
