"""The data-quality results (JSON-serialisable) that the data-quality report renders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evaluate.data.ees import read_ees
from evaluate.data.panel import PanelBuild
from evaluate.data.published import published_rows
from evaluate.disclosure import DisclosureRules, TableSpec, control_table
from evaluate.numbers import finite

_num = finite  # a finite float or None (evaluate.numbers)


def _against_dfe(py: pd.DataFrame) -> list[dict[str, Any]]:
    """The panel's national rates beside DfE's published national figures."""
    sums = ["sess_overall", "sess_possible", "enrolments_pa_10_exact", "enrolments"]
    by_phase = py.groupby(["year", "phase"])[sums].sum(min_count=1)
    total = py.groupby("year")[sums].sum(min_count=1)
    out = []
    for row in published_rows():
        year, phase = int(row["year"]), str(row["phase"])
        if phase == "All phases":
            s = total.loc[year] if year in total.index else None
        else:
            s = by_phase.loc[(year, phase)] if (year, phase) in by_phase.index else None
        panel = None
        if s is not None:
            num, den = (("sess_overall", "sess_possible") if row["measure"] == "overall"
                        else ("enrolments_pa_10_exact", "enrolments"))
            panel = _num(100 * s[num] / s[den])
        pub = float(row["published"])
        out.append({"year": year, "phase": phase, "measure": str(row["measure"]),
                    "published": pub, "panel": panel,
                    "difference_pp": None if panel is None else float(np.round(panel - pub, 6))})
    return out


def _attrition_summary(build: PanelBuild) -> dict[str, Any]:
    """Rows read, dropped and kept, and whether the log adds up (AttritionLog.check)."""
    log = build.attrition
    try:
        log.check()
        adds_up = True
    except AssertionError:
        adds_up = False
    return {"rows_read": log.rows_read, "rows_dropped": log.total_dropped,
            "rows_final": log.rows_final, "panel_year_rows": len(build.panel_year),
            "panel_term_rows": len(build.panel_term), "adds_up": adds_up}


def coverage_table_controlled(rows: pd.DataFrame, rules: DisclosureRules | None = None) -> dict[str, Any]:
    """Schools and pupils by year, term and phase, with an ``All phases`` total per year and
    term, through disclosure control (:func:`evaluate.disclosure.control_table`).

    ``rows`` has one row per school and period: ``year``, ``term``, ``phase``,
    ``school_id``, ``enrolments``. Returns :meth:`ControlledTable.to_dict`.
    """
    by = (rows.groupby(["year", "term", "phase"], sort=True)
          .agg(schools=("school_id", "nunique"), enrolments=("enrolments", "sum")).reset_index())
    tot = (rows.groupby(["year", "term"], sort=True)
           .agg(schools=("school_id", "nunique"), enrolments=("enrolments", "sum")).reset_index()
           .assign(phase=ALL_PHASES))
    table = (pd.concat([by, tot], ignore_index=True)
             .assign(_last=lambda d: d["phase"] == ALL_PHASES)
             .sort_values(["year", "term", "_last", "phase"], kind="stable").drop(columns="_last")
             .reset_index(drop=True))
    table["year"] = table["year"].astype(int)
    table["schools"] = table["schools"].astype(int)
    table["enrolments"] = table["enrolments"].astype(float)
    return control_table(table, COVERAGE_SPEC, rules, name="coverage").to_dict()


#: The label of the total row of each year and term of the coverage table.
ALL_PHASES = "All phases"
#: The coverage table's disclosure spec: enrolments are pupils; phases add up to the total.
COVERAGE_SPEC = TableSpec(counts={"schools": "schools", "enrolments": "pupils"},
                          row_total=("phase", ALL_PHASES), group_by=("year", "term"))


def data_quality(build: PanelBuild, data_dir: str | Path, *, rules: DisclosureRules | None = None) -> dict[str, Any]:
    """Summarise a panel build for the data-quality report.

    Keys: ``synthetic``, ``national`` (panel against the national rows of the data
    folder's own aggregate file), ``dfe_published`` (panel against DfE's published
    headline figures, :mod:`evaluate.data.published`), ``coverage`` (a controlled table:
    ``records``, ``spec``, ``rules``, ``suppressed``), ``suppression``, ``attrition``,
    ``conversions``, ``programmes``, ``problems``, ``options``.
    """
    base = Path(data_dir)
    synthetic = False
    if (base / "manifest.json").exists():
        synthetic = bool(json.loads((base / "manifest.json").read_text(encoding="utf-8")).get("synthetic", False))

    py = build.panel_year
    nat = (py.groupby(["year", "phase"], sort=True)[["sess_overall", "sess_possible",
            "enrolments_pa_10_exact", "enrolments_pa_50_exact", "enrolments"]].sum(min_count=1)
           .reset_index())
    nat["overall_absence_rate"] = 100 * nat["sess_overall"] / nat["sess_possible"]
    nat["pa_rate"] = 100 * nat["enrolments_pa_10_exact"] / nat["enrolments"]
    nat["severe_rate"] = 100 * nat["enrolments_pa_50_exact"] / nat["enrolments"]
    pub = None
    agg = base / "absence" / "absence_nat_reg_la.csv"
    if agg.exists():
        f = read_ees(agg, label="absence/absence_nat_reg_la.csv").frame
        f = f[(f["geographic_level"] == "National") & (f["period"] == "year")]
        cols = {"sess_overall_percent": "published_overall_absence_rate",
                "enrolments_pa_10_exact_percent": "published_pa_rate"}
        pub = f[["year", "education_phase", *[c for c in cols if c in f]]].rename(
            columns={"education_phase": "phase", **cols})
        nat = nat.merge(pub, on=["year", "phase"], how="left")
    national = []
    for _, r in nat.iterrows():
        p_o = _num(r.get("published_overall_absence_rate"))
        o = _num(r["overall_absence_rate"])
        national.append({
            "year": int(r["year"]), "phase": str(r["phase"]),
            "overall_absence_rate": o, "pa_rate": _num(r["pa_rate"]),
            "severe_rate": _num(r["severe_rate"]),
            "published_overall_absence_rate": p_o,
            "published_pa_rate": _num(r.get("published_pa_rate")),
            "difference_pp": None if p_o is None or o is None else float(np.round(o - p_o, 6)),
        })

    dfe_published = _against_dfe(py)

    pt = build.panel_term
    cov_y = py.assign(term="year")
    cov = pd.concat([cov_y[["year", "term", "phase", "school_id", "enrolments"]],
                     pt[["year", "term", "phase", "school_id", "enrolments"]]])
    coverage = coverage_table_controlled(cov, rules)
    suppression = [{"file": str(r.file), "column": str(r.column), "symbol": str(r.symbol),
                    "count": int(r.count)} for r in build.symbols.itertuples(index=False)]
    attrition = [{k: (int(v) if isinstance(v, (int, np.integer)) else str(v)) for k, v in row.items()}
                 for row in build.attrition.to_frame().to_dict("records")]
    conv = {k: int(build.conversions.get(k, 0)) for k in
            ("links_read", "conversions_followed", "mergers", "schools_with_more_than_one_urn",
             "longest_chain", "splits", "contradictory_pairs", "cycles_broken")}
    return {
        "synthetic": synthetic,
        "national": national,
        "dfe_published": dfe_published,
        "coverage": coverage,
        "suppression": suppression,
        "attrition": attrition,
        "attrition_summary": _attrition_summary(build),
        "conversions": conv,
        "programmes": json.loads(json.dumps(dict(build.programmes))),
        "problems": list(build.problems),
        "options": dict(build.options),
    }
