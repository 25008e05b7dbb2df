"""The true programme effects, computed exactly on the generated sample."""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluate.synthetic.absence import YearResult
from evaluate.synthetic.programmes import Programmes

DEFINITIONS = {
    "unit": "Academic-year ('Academic year' rows) school rates in percent; effects in percentage points.",
    "potential_outcomes": (
        "Every pupil's absent sessions are drawn without any programme (Y0); mentoring then "
        "hubs lower the pupil's logit propensity in exposed terms and the treated counts are "
        "drawn from Y0 by binomial thinning (common random numbers), so each treated school "
        "has its untreated counterpart on the same pupils. Y_m = with mentoring only, Y1 = with "
        "everything the school received."),
    "hubs_effect": "Y1 - Y_m: the effect of hub membership given the school's mentor status.",
    "mentors_effect": "Y_m - Y0: the effect of attendance mentoring without hub membership.",
    "att_overall": (
        "Mean over the treated schools of the group of (treated minus untreated) overall "
        "absence rate, 100 * sess_overall / sess_possible (each school weighs the same)."),
    "att_pa": "Same for the persistent-absence rate, 100 * enrolments_pa_10_exact / enrolments.",
    "att_severe": "Same for the severe-absence rate, 100 * enrolments_pa_50_exact / enrolments.",
    "att_overall_weighted": (
        "100 * (sum of treated sess_overall - sum of untreated sess_overall) / sum of "
        "sess_possible over the group's schools (session-weighted)."),
    "att_pa_weighted": "100 * (sum treated - sum untreated enrolments_pa_10_exact) / sum enrolments.",
    "att_severe_weighted": "100 * (sum treated - sum untreated enrolments_pa_50_exact) / sum enrolments.",
    "cohort": (
        "First academic year (start year) at least 75% exposed (evaluate.data.programmes."
        "cohort_of, rule 'mostly_exposed', the panel's default cohort rule): the start date is "
        "on or before 23 November of that year; exposure is the share of days from "
        "1 September to 31 July on or after the start date. Term exposure is the share of the term's days on or after the join/start date, autumn counted from "
        "1 September (no sessions in August), spring 1 January to Easter Sunday, summer Easter "
        "Monday to 31 July. first_exposed_year is the first year with any exposure."),
    "exposure": "Mean share of the year's terms exposed, over the group's schools.",
    "groups": (
        "records: by programme, cohort, year and phase (phase 'Total' = all phases); "
        "records_by_wave: the same for hubs by wave. Only years with published full-year "
        "rows (not 2020/21) and at or after the first exposed year are listed. Schools are "
        "followed by their site (the school_id of docs/data-formats.md): a school that "
        "converts keeps its group."),
    "selection": (
        "Hubs chose members with high prior absence, high FSM and in priority areas, so "
        "naive comparisons are biased; effects differ by wave and phase and grow with "
        "cumulative exposure (so two-way fixed effects are biased)."),
}


def _school_table(results: dict[int, YearResult], progs: Programmes, phase: np.ndarray) -> pd.DataFrame:
    rows = []
    for year, r in results.items():
        if r.counts["sess_possible"].shape[1] != 4:  # 2020/21: no full-year rows
            continue
        pos = {int(s): k for k, s in enumerate(r.sites)}
        c, u, m = r.counts, r.untreated, r.mentor_only
        for prog, table, treated, untreated in (
            ("hubs", progs.hub_sites, c, m), ("mentors", progs.mentor_sites, m, u),
        ):
            for rec in table.itertuples(index=False):
                k = pos.get(int(rec.site))
                if k is None or year < rec.first_exposed_year:
                    continue
                ti = -1
                rows.append({
                    "programme": prog, "wave": getattr(rec, "wave", ""), "cohort": rec.cohort,
                    "first_exposed_year": rec.first_exposed_year, "year": year,
                    "phase": phase[rec.site], "site": rec.site,
                    "possible": c["sess_possible"][k, ti], "enrol": c["enrolments"][k, ti],
                    "o1": treated["sess_overall"][k, ti], "o0": untreated["sess_overall"][k, ti],
                    "p1": treated["enrolments_pa_10_exact"][k, ti], "p0": untreated["enrolments_pa_10_exact"][k, ti],
                    "s1": treated["enrolments_pa_50_exact"][k, ti], "s0": untreated["enrolments_pa_50_exact"][k, ti],
                })
    return pd.DataFrame(rows)


def _summarise(df: pd.DataFrame, keys: list[str], exposure: dict) -> list[dict]:
    out = []
    both = pd.concat([df, df.assign(phase="Total")], ignore_index=True)
    for key, g in both.groupby(keys, sort=True):
        rec = dict(zip(keys, key, strict=True))
        rec = {k: (int(v) if isinstance(v, np.integer) else v) for k, v in rec.items()}
        rec["n_schools"] = int(len(g))
        rec["relative_year"] = int(rec["year"] - rec["cohort"]) if "cohort" in rec else None
        rec["att_overall"] = float((100 * (g["o1"] - g["o0"]) / g["possible"]).mean())
        rec["att_pa"] = float((100 * (g["p1"] - g["p0"]) / g["enrol"]).mean())
        rec["att_severe"] = float((100 * (g["s1"] - g["s0"]) / g["enrol"]).mean())
        rec["att_overall_weighted"] = float(100 * (g["o1"] - g["o0"]).sum() / g["possible"].sum())
        rec["att_pa_weighted"] = float(100 * (g["p1"] - g["p0"]).sum() / g["enrol"].sum())
        rec["att_severe_weighted"] = float(100 * (g["s1"] - g["s0"]).sum() / g["enrol"].sum())
        rec["exposure"] = float(np.mean([exposure[(rec["programme"], s, rec["year"])] for s in g["site"]]))
        out.append({k: (round(v, 6) if isinstance(v, float) else v) for k, v in rec.items()})
    return out


def compute(results: dict[int, YearResult], progs: Programmes, phase: np.ndarray) -> dict:
    """The truth.json content: definitions and exact effects by group."""
    from evaluate.synthetic.england import FIRST_YEAR

    df = _school_table(results, progs, phase)
    from evaluate.synthetic.programmes import exposure as term_exposure

    exposure = {}
    for prog, table, col in (("hubs", progs.hub_sites, "join_date"), ("mentors", progs.mentor_sites, "start_date")):
        for site, d in zip(table["site"], table[col], strict=True):
            sh = term_exposure(d)
            for year in results:
                exposure[(prog, int(site), year)] = float(sh[year - FIRST_YEAR].mean())
    recs = _summarise(df, ["programme", "cohort", "first_exposed_year", "year", "phase"], exposure) if len(df) else []
    hubs = df[df["programme"] == "hubs"] if len(df) else df
    by_wave = _summarise(hubs, ["programme", "wave", "cohort", "year", "phase"], exposure) if len(hubs) else []
    return {"definitions": DEFINITIONS, "records": recs, "records_by_wave": by_wave,
            "n_treated_schools": {"hubs": int(len(progs.hub_sites)), "mentors": int(len(progs.mentor_sites)),
                                  "both": int(len(set(progs.hub_sites["site"]) & set(progs.mentor_sites["site"])))}}


#: Columns of ``truth_schools.csv`` (one row per programme, treated school and year).
SCHOOL_COLUMNS = ("programme", "site", "school_id", "urn", "wave", "cohort", "first_exposed_year", "year",
                  "phase", "exposure", "sess_possible", "enrolments", "effect_overall", "effect_pa",
                  "effect_severe")


def school_effects(results: dict[int, YearResult], progs: Programmes, country) -> pd.DataFrame:
    """The exact effect on every treated school in every full year: ``truth_schools.csv``.

    One row per programme, school (``school_id``: the URN of the site's first establishment,
    as the panel's ``school_id``; ``urn``: its URN in that year) and academic year with a
    full-year row, from the first exposed year on. Effects are in percentage points, the
    school's treated minus untreated rate (:data:`DEFINITIONS`): ``effect_overall`` of the
    overall absence rate, ``effect_pa`` and ``effect_severe`` of the persistent- and
    severe-absence rates. Any target (a matched set of schools, a weighting, an event
    time) is a mean of these rows, so a matched design is checked against the truth for
    exactly the schools it kept.
    """
    from evaluate.synthetic.england import FIRST_YEAR
    from evaluate.synthetic.programmes import exposure as term_exposure

    phase = country.sites["phase"].to_numpy()
    df = _school_table(results, progs, phase)
    cols = list(SCHOOL_COLUMNS)
    if df.empty:
        return pd.DataFrame(columns=cols)
    first_urn = country.sites["first_urn"].to_numpy()
    df["school_id"] = first_urn[df["site"].to_numpy(dtype=int)]
    df["urn"] = [int(country.urn[s, y - FIRST_YEAR]) for s, y in zip(df["site"], df["year"], strict=True)]
    df["effect_overall"] = 100 * (df["o1"] - df["o0"]) / df["possible"]
    df["effect_pa"] = 100 * (df["p1"] - df["p0"]) / df["enrol"]
    df["effect_severe"] = 100 * (df["s1"] - df["s0"]) / df["enrol"]
    starts = {("hubs", int(s)): d for s, d in zip(progs.hub_sites["site"], progs.hub_sites["join_date"], strict=True)}
    starts.update({("mentors", int(s)): d for s, d in
                   zip(progs.mentor_sites["site"], progs.mentor_sites["start_date"], strict=True)})
    shares: dict[tuple[str, int], np.ndarray] = {}
    exp = []
    for prog, site, year in zip(df["programme"], df["site"], df["year"], strict=True):
        key = (prog, int(site))
        if key not in shares:
            shares[key] = term_exposure(starts[key])
        exp.append(float(shares[key][year - FIRST_YEAR].mean()))
    df["exposure"] = exp
    df = df.rename(columns={"possible": "sess_possible", "enrol": "enrolments"})
    return df[cols].sort_values(["programme", "school_id", "year"], kind="stable").reset_index(drop=True)
