"""Build the analysis panel (school x year, school x term) from a data folder.

``build_panel`` reads the files laid out as in ``docs/data-formats.md``, validates
them, follows schools across academy conversion, attaches programme exposure and logs
every step from raw rows to panel rows; ``write_panel`` writes the results atomically.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from evaluate.data import programmes as prog
from evaluate.data.attrition import AttritionLog
from evaluate.data.ees import read_ees
from evaluate.data.gias import read_establishments, read_links, resolve_school_ids
from evaluate.data.schemas import COUNTS, PERCENTS, panel_schema, school_absence_schema, validate
from evaluate.data.symbols import SymbolLog, decimals
from evaluate.errors import InputError
from evaluate.io import write_csv, write_parquet

SCHOOL_REQUIRED = ("time_period", "time_identifier", "geographic_level", "school_urn",
                   "new_la_code", "education_phase", *COUNTS)
KEY_COUNTS = ("sess_possible", "sess_overall", "enrolments")
ACADEMY_GROUPS = ("Academies", "Free Schools")
PANEL_COLUMNS = [
    "school_id", "urn", "year", "phase", "la_code", "region",
    "enrolments", "sess_possible", "sess_overall", "sess_authorised", "sess_unauthorised",
    "enrolments_pa_10_exact", "enrolments_pa_50_exact",
    "overall_absence_rate", "authorised_rate", "unauthorised_rate", "pa_rate", "severe_rate",
    "fsm_pct", "ofsted", "priority_area", "academy", "size",
    "hub_id", "hub_join_date", "hub_cohort", "hub_first_exposed_year", "hub_exposure",
    "mentor_area", "mentor_start_date", "mentor_cohort", "mentor_first_exposed_year",
    "mentor_exposure", "both_programmes",
]


@dataclass(frozen=True)
class PanelBuild:
    """Everything ``build_panel`` produced.

    Attributes
    ----------
    panel_year, panel_term
        The panels (columns: ``PANEL_COLUMNS``; the term panel adds ``term`` and
        ``term_index`` after ``year``).
    attrition
        The :class:`AttritionLog` (checked: the counts add up).
    symbols
        Symbol counts by file, column and symbol.
    conversions
        Summary of following schools (links read, conversions followed, mergers, ...).
    programmes
        Summary of treatment (hub schools, hubs, cohorts, mentor LAs and schools, both).
    inputs
        File (relative to the data folder) -> SHA-256.
    options
        The options the panel was built with.
    problems
        Things found and handled (contradictory links, cycles).
    """

    panel_year: pd.DataFrame
    panel_term: pd.DataFrame
    attrition: AttritionLog
    symbols: pd.DataFrame
    conversions: Mapping[str, int]
    programmes: Mapping[str, object]
    inputs: Mapping[str, str]
    options: Mapping[str, str] = field(default_factory=dict)
    problems: tuple[str, ...] = ()


def _rel(path: Path, base: Path) -> str:
    try:
        return path.relative_to(base).as_posix()
    except ValueError:
        return str(path)


def build_panel(data_dir: str | Path, *, partial_areas: Literal["include", "exclude"] = "include",
                mentor_start: Literal["actual", "announced"] = "actual",
                cohort_rule: prog.CohortRule = "mostly_exposed",
                ) -> PanelBuild:
    """Build the school x year and school x term panels from ``data_dir``.

    Parameters
    ----------
    data_dir
        A folder laid out as in ``docs/data-formats.md``.
    partial_areas
        ``'include'``: schools in a partial mentor area (GIAS ``Town`` == ``area``) are
        treated, the rest of that LA untreated; ``'exclude'``: every school in an LA
        with a partial area is left out (logged in the attrition).
    mentor_start
        ``'actual'`` (``start_date``) or ``'announced'`` (``announced_date``).
    cohort_rule
        ``'first_full_year'`` (default) or ``'first_exposed_year'``.

    Raises
    ------
    InputError
        Any problem with an input file (naming file, column and row).
    """
    base = Path(data_dir)
    if partial_areas not in ("include", "exclude"):
        raise InputError(f"partial_areas must be 'include' or 'exclude', not {partial_areas!r}",
                         column="partial_areas")
    if cohort_rule not in prog.COHORT_RULES:
        raise InputError(f"unknown cohort_rule {cohort_rule!r}", column="cohort_rule")
    inputs: dict[str, str] = {}
    log = AttritionLog()
    symbols = SymbolLog()

    # GIAS
    est_path = base / "gias" / "edubasealldata.csv"
    est = read_establishments(est_path, label=_rel(est_path, base))
    inputs[_rel(est_path, base)] = est.sha256
    e = est.frame
    links_path = base / "gias" / "links_edubasealldata.csv"
    links = pd.DataFrame({"URN": pd.Series(dtype="Int64"), "LinkURN": pd.Series(dtype="Int64"),
                          "LinkType": pd.Series(dtype=object)})
    if links_path.exists():
        lf = read_links(links_path, label=_rel(links_path, base))
        inputs[_rel(links_path, base)] = lf.sha256
        links = lf.frame
    pupils = dict(zip(e["URN"].astype(int), e.get("NumberOfPupils", pd.Series(np.nan, index=e.index)),
                      strict=True))
    ids = resolve_school_ids(links, pupils, urns=e["URN"].astype(int))
    urn_to_id = ids.as_dict()
    position = dict(zip(ids.mapping["urn"], ids.mapping["position"], strict=True))

    # absence files
    files = sorted((base / "absence").glob("school_absence_*.csv"))
    if not files:
        raise InputError("no absence/school_absence_YYYYYY.csv files", file=str(base / "absence"))
    frames = []
    for path in files:
        rel = _rel(path, base)
        f = read_ees(path, required=SCHOOL_REQUIRED, counts=COUNTS, label=rel)
        inputs[rel] = f.sha256
        symbols.extend(f.symbols)
        log.read(rel, len(f.frame))
        df = f.frame
        tol = {p: 0.5 * 10.0 ** (-decimals(f.raw[p])) + 1e-9 for p in PERCENTS if p in f.raw}
        validate(df, school_absence_schema(tol), file=rel)
        df = df.copy()
        df["_file"] = rel
        df["_row"] = df.index.to_numpy()
        frames.append(df)
    raw = pd.concat(frames, ignore_index=True)
    n = len(raw)
    log.step("all absence rows", n, n, f"{len(files)} files combined")

    # URNs and duplicate keys
    urn_ok = raw["school_urn"].astype(str).str.fullmatch(r"\d+").astype(bool)
    if not urn_ok.all():
        i = int(np.flatnonzero(~urn_ok.to_numpy())[0])
        raise InputError(f"'{raw.at[i, 'school_urn']}' is not a URN", file=raw.at[i, "_file"],
                         column="school_urn", row=int(raw.at[i, "_row"]))
    raw["urn"] = raw["school_urn"].astype("int64")
    dup = raw.duplicated(["urn", "year", "period"], keep="first")
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        r = raw.iloc[i]
        raise InputError(f"duplicate key: URN {r['urn']}, {r['time_period']}, {r['time_identifier']} "
                         "appears twice", file=r["_file"], column="school_urn", row=int(r["_row"]))

    def drop(mask: pd.Series, step: str, reason: str) -> None:
        nonlocal raw
        before = len(raw)
        raw = raw[~mask.to_numpy()].reset_index(drop=True)
        log.step(step, before, len(raw), reason)

    drop(raw["geographic_level"] != "School", "not school level",
         "rows whose geographic_level is not School")
    drop(~raw["period"].isin(["year", *prog.TERMS]), "not a term or academic year",
         "time_identifier other than Autumn/Spring/Summer term or Academic year")
    drop(~raw["urn"].isin(list(urn_to_id)), "school not in GIAS",
         "URN not found in gias/edubasealldata.csv or the links file")
    miss = raw[list(KEY_COUNTS)].isna().any(axis=1) | (raw["sess_possible"] <= 0)
    detail = ", ".join(f"{c} {int(raw[c].isna().sum())}" for c in KEY_COUNTS)
    drop(miss, "suppressed key counts",
         f"a key count is suppressed (symbol) or possible sessions are 0, so rates cannot be "
         f"computed (missing: {detail}; possible sessions 0: {int((raw['sess_possible'] <= 0).sum())})")

    raw["school_id"] = raw["urn"].map(urn_to_id).astype("int64")

    # school characteristics from GIAS, per URN
    e_idx = e.set_index(e["URN"].astype("int64"))
    def gias(col: str, default=None) -> pd.Series:
        if col not in e_idx.columns:
            return pd.Series(default, index=raw.index, dtype=object)
        return raw["urn"].map(e_idx[col])

    # treatment (school level)
    latest = (pd.DataFrame({"urn": e_idx.index, "school_id": e_idx.index.map(urn_to_id)})
              .assign(pos=lambda d: d["urn"].map(position).fillna(0))
              .sort_values(["school_id", "pos", "urn"]).drop_duplicates("school_id", keep="last"))
    schools = pd.DataFrame({
        "school_id": latest["school_id"].astype("int64").to_numpy(),
        "la_code": latest["urn"].map(e_idx.get("DistrictAdministrative (code)",
                                                pd.Series(dtype=object))).to_numpy(),
        "town": latest["urn"].map(e_idx.get("Town", pd.Series(dtype=object))).to_numpy(),
    })
    # absence LA code where GIAS has none
    la_from_abs = raw.sort_values(["year"]).drop_duplicates("school_id", keep="last").set_index("school_id")["new_la_code"]
    schools["la_code"] = schools["la_code"].where(schools["la_code"].notna() & (schools["la_code"] != ""),
                                                  schools["school_id"].map(la_from_abs))
    hubs = mentors = None
    pdir = base / "programmes"
    for name in ("hubs.csv", "mentor_areas.csv", "priority_areas.csv"):
        if (pdir / name).exists():
            inputs[_rel(pdir / name, base)] = _sha(pdir / name)
    if (pdir / "hubs.csv").exists():
        hubs = prog.read_hubs(pdir / "hubs.csv", urn_to_id, label=_rel(pdir / "hubs.csv", base))
    if (pdir / "mentor_areas.csv").exists():
        mentors = prog.read_mentor_areas(pdir / "mentor_areas.csv",
                                         label=_rel(pdir / "mentor_areas.csv", base))
    priority: set[str] = set()
    if (pdir / "priority_areas.csv").exists():
        priority = set(prog.read_priority_areas(pdir / "priority_areas.csv",
                                                label=_rel(pdir / "priority_areas.csv", base))["new_la_code"])
    treat = prog.assign_treatment(schools, hubs, mentors, mentor_start=mentor_start,
                                  cohort_rule=cohort_rule,
                                  mentor_label=_rel(pdir / "mentor_areas.csv", base))
    if partial_areas == "exclude":
        drop(raw["new_la_code"].isin(sorted(treat.partial_la_codes)), "partial mentor areas excluded",
             f"option partial_areas='exclude': schools in LAs where only part is a mentor area "
             f"({', '.join(sorted(treat.partial_la_codes)) or 'none'})")
    else:
        log.note("partial mentor areas included", len(raw),
                 "option partial_areas='include': schools in the named town treated, the rest of the LA not")

    raw["fsm_pct"] = gias("PercentageFSM").astype(float)
    raw["ofsted"] = gias("OfstedRating (name)").astype(object)
    raw["academy"] = gias("EstablishmentTypeGroup (name)").isin(ACADEMY_GROUPS).astype(bool)
    raw["size"] = gias("NumberOfPupils").astype(float)
    raw["_pos"] = raw["urn"].map(position).fillna(0)

    # one school, two URNs in one period (conversion during the year): add the counts
    before = len(raw)
    key = ["school_id", "year", "period"]
    multi = raw.duplicated(key, keep=False)
    if multi.any():
        raw = raw.sort_values([*key, "_pos", "urn"])
        agg = {c: "sum" for c in COUNTS}
        agg |= {c: "last" for c in raw.columns if c not in COUNTS and c not in key}
        summed = raw[multi.to_numpy()].groupby(key, sort=False).agg(agg).reset_index()
        # a count suppressed under one URN leaves the sum unknown
        for c in COUNTS:
            anyna = raw[multi.to_numpy()][[*key, c]].assign(na=lambda d, c=c: d[c].isna()).groupby(key, sort=False)["na"].any()
            summed[c] = summed[c].where(~anyna.to_numpy())
        raw = pd.concat([raw[~multi.to_numpy()], summed], ignore_index=True)
    log.step("one school, several URNs in a period", before, len(raw),
             "rows of the same school (school_id) and period under two URNs (conversion during "
             "the period) combined into one row by adding the counts; urn = the later URN")

    years = set(raw["year"].astype(int))
    if years and 2019 not in years and min(years) < 2019 < max(years):
        log.note("2019/20 absent", len(raw), "no 2019/20 file: DfE published no absence figures for 2019/20 (not a drop)")
    if 2020 in years:
        log.note("2020/21 partial", len(raw), "2020/21 has only autumn and spring term rows (not a drop)")

    # rates
    rate = lambda num, den: 100 * raw[num] / raw[den].where(raw[den] > 0)  # noqa: E731
    raw["overall_absence_rate"] = rate("sess_overall", "sess_possible")
    raw["authorised_rate"] = rate("sess_authorised", "sess_possible")
    raw["unauthorised_rate"] = rate("sess_unauthorised", "sess_possible")
    raw["pa_rate"] = rate("enrolments_pa_10_exact", "enrolments")
    raw["severe_rate"] = rate("enrolments_pa_50_exact", "enrolments")
    raw["phase"] = raw["education_phase"]
    raw["la_code"] = raw["new_la_code"]
    raw["region"] = raw.get("region_name", pd.Series(None, index=raw.index, dtype=object))
    raw["priority_area"] = raw["la_code"].isin(sorted(priority))
    t = treat.schools.set_index("school_id")
    for col in t.columns:
        raw[col] = raw["school_id"].map(t[col])
    for col in ("hub_cohort", "hub_first_exposed_year", "mentor_cohort", "mentor_first_exposed_year"):
        raw[col] = raw[col].astype("int64")
    raw["both_programmes"] = raw["both_programmes"].astype(bool)
    raw["year"] = raw["year"].astype("int64")

    year_rows = raw[raw["period"] == "year"].copy()
    term_rows = raw[raw["period"] != "year"].rename(columns={"period": "term"}).copy()
    term_rows["term_index"] = (3 * term_rows["year"] + term_rows["term"].map(prog.TERM_OFFSET)).astype("int64")
    year_rows = prog.add_exposure(year_rows, treat.schools, term=False)
    term_rows = prog.add_exposure(term_rows, treat.schools, term=True)
    term_cols = PANEL_COLUMNS[:3] + ["term", "term_index"] + PANEL_COLUMNS[3:]
    panel_year = _finish(year_rows, PANEL_COLUMNS, ["school_id", "year"])
    panel_term = _finish(term_rows, term_cols, ["school_id", "term_index"])
    panel_term["term"] = panel_term["term"].astype(str)
    validate(panel_year, panel_schema(term=False), file="panel_year")
    validate(panel_term, panel_schema(term=True), file="panel_term")
    log.note("panel", len(raw), f"{len(panel_year)} school-year rows (panel_year) + "
             f"{len(panel_term)} school-term rows (panel_term)")
    log.check()

    sch = treat.schools
    in_panel = set(raw["school_id"])
    sch_p = sch[sch["school_id"].isin(in_panel)]
    programmes = {
        "hub_schools": int((sch_p["hub_cohort"] > 0).sum()),
        "hub_schools_listed": 0 if hubs is None else len(hubs),
        "hubs": 0 if hubs is None else int(hubs["hub_id"].nunique()),
        "hub_cohorts": {str(k): int(v) for k, v in sch_p.loc[sch_p["hub_cohort"] > 0, "hub_cohort"].value_counts().sort_index().items()},
        "mentor_las": 0 if mentors is None else int(mentors["new_la_code"].nunique()),
        "mentor_schools": int((sch_p["mentor_cohort"] > 0).sum()),
        "mentor_cohorts": {str(k): int(v) for k, v in sch_p.loc[sch_p["mentor_cohort"] > 0, "mentor_cohort"].value_counts().sort_index().items()},
        "both_programmes": int(sch_p["both_programmes"].sum()),
    }
    return PanelBuild(
        panel_year=panel_year, panel_term=panel_term, attrition=log, symbols=symbols.summary(),
        conversions=dict(ids.summary), programmes=programmes, inputs=dict(sorted(inputs.items())),
        options={"partial_areas": partial_areas, "mentor_start": mentor_start, "cohort_rule": cohort_rule},
        problems=ids.problems)


def _finish(df: pd.DataFrame, cols: list[str], order: list[str]) -> pd.DataFrame:
    out = df[cols].sort_values(order, kind="mergesort").reset_index(drop=True)
    for c in ("hub_id", "ofsted", "phase", "la_code", "region", "mentor_area"):
        out[c] = out[c].astype(object).where(out[c].notna(), None).astype("string")
    for c in ("hub_join_date", "mentor_start_date"):
        out[c] = pd.to_datetime(out[c]).astype("datetime64[ns]")
    return out


def _sha(path: Path) -> str:
    from evaluate.io import sha256_file

    return sha256_file(path)


def write_panel(build: PanelBuild, out_dir: str | Path) -> dict[str, Path]:
    """Write panel_year.parquet, panel_term.parquet, attrition.csv and symbols.csv atomically."""
    out = Path(out_dir)
    return {
        "panel_year": write_parquet(build.panel_year, out / "panel_year.parquet"),
        "panel_term": write_parquet(build.panel_term, out / "panel_term.parquet"),
        "attrition": build.attrition.write(out / "attrition.csv"),
        "symbols": write_csv(build.symbols, out / "symbols.csv"),
    }
