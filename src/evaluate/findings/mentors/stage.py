"""The mentor programme at local-authority level, for both start dates: ``results/mentors_areas.json``.

The mentor areas are whole local authorities (or towns inside one), so the programme can
be evaluated on DfE's published LA attendance figures. This module runs
:func:`evaluate.findings.mentors.la.mentor_la_findings` (synthetic control, synthetic DiD,
Callaway-Sant'Anna against matched and priority-area comparison LAs, randomisation
inference, the wild cluster bootstrap and the minimum detectable effect) once with the
actual start dates and once with the announced ones, and records which data were used
(real DfE files or the synthetic country summed to LAs), which areas were left out and
the assumptions the programme file makes.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from evaluate.data.la.treatment import add_treatment, mentor_treatment
from evaluate.disclosure import DisclosureRules, TableSpec, control_table
from evaluate.findings.mentors.la import mentor_la_findings

__all__ = ["mentor_area_results", "pupil_mentoring_results", "OUTCOMES", "STARTS", "PUPIL_SPECS"]

#: Outcomes of the LA analysis, in report order (``pa_rate`` is published on year rows only).
OUTCOMES: tuple[str, ...] = ("overall_absence_rate", "unauthorised_absence_rate", "pa_rate")
#: The start-date choices, both always shown.
STARTS: tuple[str, ...] = ("actual", "announced")


def _outcomes(panel: pd.DataFrame, period: str, phase: str, wanted: Sequence[str]) -> list[str]:
    rows = panel[(panel["period_type"] == period) & (panel["phase"] == phase)]
    return [o for o in wanted if o in rows.columns and rows[o].notna().any()]


def mentor_area_results(la: pd.DataFrame, *, source: str, areas: str | Path | pd.DataFrame | None = None,
                        files: Sequence[str] = (), partial: str = "include", period: str = "term",
                        phase: str = "Total", outcomes: Sequence[str] = OUTCOMES, seed: int = 0,
                        replications: int = 100, ri_draws: int = 199, wild_draws: int = 999,
                        attrition: list[dict[str, Any]] | None = None,
                        missing: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """LA-level findings with the actual and the announced start dates.

    Parameters
    ----------
    la
        The LA x phase x period panel (``evaluate.data.la.panel`` contract).
    source
        ``"real"`` (DfE's LA files) or ``"synthetic"`` (the synthetic country summed to LAs).
    areas
        The mentor-area programme file (default: the public facts shipped with the package).
    files
        The data files read (names), for the report.
    partial
        ``"include"`` or ``"exclude"`` the LAs treated only in one town (Hastings, Ipswich,
        Norwich, West Somerset).
    period, phase
        The rows analysed: ``year``, ``term`` or ``fortnight``; ``Total`` or a phase.
    outcomes
        Wanted outcomes; those without values at this period are left out and listed.
    seed, replications, ri_draws, wild_draws
        Random steps (placebo replications of SC/SDID, randomisation and bootstrap draws).
    attrition, missing
        The data layer's records of rows dropped and values set missing, carried into the
        results so that the report can count them.

    Returns
    -------
    dict
        ``source``, ``synthetic``, ``files``, ``settings``, ``outcomes_left_out``,
        ``excluded_las``, ``treated`` (per start: LA, start date, cohort period),
        ``by_start`` (per start: the dict of :func:`mentor_la_findings`), ``attrition``,
        ``missing``.

    Examples
    --------
    >>> from evaluate.findings.mentors.la import example_mentor_panel
    >>> from evaluate.findings.mentors.stage import mentor_area_results
    >>> import pandas as pd
    >>> panel, treatment = example_mentor_panel(seed=0)
    >>> panel["start_date"] = panel["end_date"] - pd.Timedelta(days=90)  # terms of about 13 weeks
    >>> res = mentor_area_results(panel, source="synthetic",
    ...                           areas=treatment, period="term", outcomes=("overall_absence_rate",),
    ...                           replications=20, ri_draws=19, wild_draws=99)
    >>> sorted(res["by_start"]), res["source"]
    (['actual', 'announced'], 'synthetic')
    """
    wanted = _outcomes(la, period, phase, outcomes)
    left_out = [o for o in outcomes if o not in wanted]
    out: dict[str, Any] = {
        "source": source, "synthetic": source != "real", "files": list(files),
        # counts here are of local authorities (public areas), not schools: the publication
        # gate's rule for school counts does not apply (evaluate.disclosure.publish.LA_UNIT)
        "unit": "local authority",
        "settings": {"period": period, "phase": phase, "partial_areas": partial, "seed": seed,
                     "replications": replications, "ri_draws": ri_draws, "wild_draws": wild_draws,
                     "outcomes": wanted},
        "outcomes_left_out": left_out, "by_start": {}, "treated": {},
        "attrition": attrition or [], "missing": missing or [],
    }
    for start in STARTS:
        tr = _treatment(areas, start=start, partial=partial)
        panel = add_treatment(la.drop(columns=[c for c in ("cohort", "treated", "priority_area", "coverage")
                                               if c in la.columns]), tr)
        out["excluded_las"] = sorted(panel.attrs.get("excluded_las", []))
        out["rows_dropped_excluded"] = int(panel.attrs.get("rows_dropped", 0))
        rows = panel[(panel["period_type"] == period) & (panel["phase"] == phase)]
        first = (rows[rows["cohort"] > 0].groupby("la_code")
                 .agg(la_name=("la_name", "first"), cohort=("cohort", "first")).reset_index())
        labels = rows.drop_duplicates("t").set_index("t")["period"]
        first["first_period"] = first["cohort"].map(labels)
        starts = tr.set_index("la_code")["start_date"]
        first["start_date"] = first["la_code"].map(starts).map(lambda d: None if pd.isna(d) else str(pd.Timestamp(d).date()))
        out["treated"][start] = first[["la_code", "la_name", "start_date", "first_period"]].to_dict("records")
        out["by_start"][start] = mentor_la_findings(panel, tr, outcomes=wanted, period_type=period, phase=phase,
                                                    start=start, seed=seed, replications=replications,
                                                    ri_draws=ri_draws, wild_draws=wild_draws)
    return out


def _treatment(areas: str | Path | pd.DataFrame | None, *, start: str, partial: str) -> pd.DataFrame:
    if isinstance(areas, pd.DataFrame) and "la_code" in areas.columns and "new_la_code" not in areas.columns:
        # already a treatment table (as example_mentor_panel returns): choose the start column
        tr = areas.copy()
        col = "actual_date" if start == "actual" else "announced_date"
        if col in tr.columns:
            tr["start_date"] = tr[col]
        return tr
    return mentor_treatment(areas, start=start, partial=partial)


# --- pupils: "82% improved" against the matched-pupil DiD (synthetic data) ---------------

#: Disclosure specs of the pupil-level result tables (every count is of pupils).
PUPIL_SPECS = {
    "shares": TableSpec(counts={"n_pupils": "pupils"}, rates={"share_improved": ["n_pupils"]}),
    "trajectories": TableSpec(counts={"n_pupils": "pupils"}, rates={"mean_absence_rate": ["n_pupils"]}),
    "estimates": TableSpec(counts={"n_pupils_mentored": "pupils", "n_pupils_comparison": "pupils"},
                           rates={c: ["n_pupils_mentored", "n_pupils_comparison"]
                                  for c in ("estimate", "se", "ci_low", "ci_high", "p_value", "error")}),
    "by_area": TableSpec(counts={"primary": "pupils", "secondary": "pupils", "total": "pupils"},
                         column_totals={"total": ["primary", "secondary"]}, row_total=("area", "All mentor areas")),
}


def pupil_mentoring_results(pupils, *, seed: int, rules: DisclosureRules | None = None,
                            post_year: int = 2023, match_on: int = 2) -> dict[str, Any]:
    """The pupil-level mentoring evaluation of simulated pupils, as publishable aggregates.

    ``pupils`` are pupils in mentor and comparison areas chosen for mentoring on their high
    absence (:func:`evaluate.synthetic.pupils.mentoring_pupils`, run by the pipeline's areas
    stage: the findings layer does not simulate); the naive share of mentored
    pupils whose absence fell is set beside the share among matched comparison pupils and
    the matched-pupil DiD (:func:`evaluate.findings.mentors.pupils.mentoring_did`). Every
    table passes disclosure control (:data:`PUPIL_SPECS`); no pupil-level row is returned.

    Examples
    --------
    >>> from evaluate.disclosure import DisclosureRules
    >>> from evaluate.findings.mentors.stage import pupil_mentoring_results
    >>> from evaluate.synthetic.pupils import mentoring_pupils
    >>> pupils = mentoring_pupils(seed=1, n_pupils=5_000)
    >>> res = pupil_mentoring_results(pupils, seed=1, rules=DisclosureRules(pupil_threshold=50))
    >>> sorted(res["tables"]), res["synthetic"]
    (['by_area', 'estimates', 'shares', 'trajectories'], True)
    >>> any(r["primary"] == "c" or r["secondary"] == "c" for r in res["tables"]["by_area"]["records"])
    True
    """
    from evaluate.findings.mentors.pupils import mentoring_did

    rules = rules or DisclosureRules()
    m = pupils
    r = mentoring_did(m.panel, post_year=post_year, match_on=match_on, truth=m.truth, seed=seed)
    d = r.to_dict()
    ment = m.panel[(m.panel["mentored"] == 1) & (m.panel["year"] == post_year)]
    area = (ment.groupby(["area", "phase"]).size().unstack("phase", fill_value=0)
            .reindex(columns=["primary", "secondary"], fill_value=0).reset_index())
    area["total"] = area["primary"] + area["secondary"]
    other = int(len(ment) - area["total"].sum())  # pupils of other phases, counted in the note
    area = pd.concat([area, pd.DataFrame([{"area": "All mentor areas", "primary": int(area["primary"].sum()),
                                           "secondary": int(area["secondary"].sum()),
                                           "total": int(area["total"].sum())}])], ignore_index=True)
    tables = {name: control_table(pd.DataFrame(d[name]), PUPIL_SPECS[name], rules, name=name).to_dict()
              for name in ("shares", "trajectories", "estimates")}
    tables["by_area"] = control_table(area, PUPIL_SPECS["by_area"], rules, name="by_area").to_dict()
    return {"synthetic": True, "settings": d["settings"], "truth": d["truth"], "tables": tables,
            "other_phase_pupils_left_out_of_by_area": other,
            "source": "synthetic pupils (evaluate.synthetic.pupils): made up to show regression to the mean"}
