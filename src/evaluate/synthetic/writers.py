"""Write the synthetic country in DfE's formats (see docs/data-formats.md)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from evaluate.io import write_csv
from evaluate.numbers import half_up_array
from evaluate.synthetic.absence import MEASURES, YearResult
from evaluate.synthetic.england import FIRST_YEAR, PHASE_LABEL, Country

TERMS = ("Autumn term", "Spring term", "Summer term")
GEO_COLS = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name",
            "region_code", "region_name", "old_la_code", "new_la_code", "la_name"]
PCT = {"sess_overall": "sess_overall_percent", "sess_authorised": "sess_authorised_percent",
       "sess_unauthorised": "sess_unauthorised_percent"}
COUNT_COLS = ["enrolments", "sess_possible", "sess_overall", "sess_authorised", "sess_unauthorised",
              "sess_overall_percent", "sess_authorised_percent", "sess_unauthorised_percent",
              "enrolments_pa_10_exact", "enrolments_pa_10_exact_percent",
              "enrolments_pa_50_exact", "enrolments_pa_50_exact_percent"]
#: DfE suppresses schools with fewer pupils than this, and PA counts of 1 or 2.
MIN_ENROLMENTS = 6


_half_up = half_up_array  # evaluate.numbers


def _time_period(year: int) -> str:
    return f"{year}{(year + 1) % 100:02d}"


def _add_percents(df: pd.DataFrame) -> pd.DataFrame:
    poss = df["sess_possible"].to_numpy(dtype=float)
    enr = df["enrolments"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        for c, pc in PCT.items():
            df[pc] = _half_up(100 * df[c].to_numpy(dtype=float) / poss)
        for c in ("enrolments_pa_10_exact", "enrolments_pa_50_exact"):
            df[f"{c}_percent"] = _half_up(100 * df[c].to_numpy(dtype=float) / enr)
    return df


def school_frame(country: Country, r: YearResult) -> pd.DataFrame:
    """School-level rows of one year (unsuppressed numbers; ``site`` kept for aggregation)."""
    t = r.year - FIRST_YEAR
    sites = country.sites
    est = country.establishments.set_index("urn")
    n_cols = r.counts["enrolments"].shape[1]
    # 2020/21: autumn and spring rows only (no summer term, no full-year row)
    labels = [*TERMS, "Academic year"] if n_cols == 4 else list(TERMS[: n_cols - 1])
    urn = country.urn[r.sites, t]
    frames = []
    for k, label in enumerate(labels):
        df = pd.DataFrame({
            "time_period": _time_period(r.year), "time_identifier": label, "geographic_level": "School",
            "country_code": "E92000001", "country_name": "England",
            "region_code": sites["region_code"].to_numpy()[r.sites],
            "region_name": sites["region_name"].to_numpy()[r.sites],
            "old_la_code": sites["old_la_code"].to_numpy()[r.sites],
            "new_la_code": sites["new_la_code"].to_numpy()[r.sites],
            "la_name": sites["la_name"].to_numpy()[r.sites],
            "school_urn": urn,
            "school_laestab": [f"{la}{no}" for la, no in zip(sites["old_la_code"].to_numpy()[r.sites],
                                                             est.loc[urn, "estab_no"].to_numpy(), strict=True)],
            "school_name": est.loc[urn, "name"].to_numpy(),
            "education_phase": [PHASE_LABEL[p] for p in sites["phase"].to_numpy()[r.sites]],
            "site": r.sites,
        })
        for m in MEASURES:
            df[m] = r.counts[m][:, k]
        frames.append(df)
    return _add_percents(pd.concat(frames, ignore_index=True))


def _suppress(df: pd.DataFrame) -> pd.DataFrame:
    """Replace small cells by missing values written as ``c``."""
    out = df.copy()
    for c in COUNT_COLS:
        if not c.endswith("_percent"):
            out[c] = out[c].astype("Int64")
    for c in ("enrolments_pa_10_exact", "enrolments_pa_50_exact"):
        small = out[c].between(1, 2).fillna(False).to_numpy(dtype=bool)
        out.loc[small, [c, f"{c}_percent"]] = pd.NA
    tiny = (df["enrolments"] < MIN_ENROLMENTS).to_numpy()
    out.loc[tiny, COUNT_COLS] = pd.NA
    return out


def write_school_absence(df: pd.DataFrame, path: Path) -> Path:
    """Write one year's school file with DfE's suppression."""
    cols = [*GEO_COLS, "school_urn", "school_laestab", "school_name", "education_phase", *COUNT_COLS]
    out = _suppress(df)[cols]
    return write_csv(out, path, na_rep="c", float_format="%.5f")


def aggregate(all_years: pd.DataFrame) -> pd.DataFrame:
    """National, regional and LA rows by phase (and Total), all years and periods."""
    counts = ["enrolments", "sess_possible", "sess_overall", "sess_authorised", "sess_unauthorised",
              "enrolments_pa_10_exact", "enrolments_pa_50_exact"]
    base = all_years[["time_period", "time_identifier", "region_code", "region_name", "old_la_code",
                      "new_la_code", "la_name", "education_phase", *counts]]
    base = pd.concat([base, base.assign(education_phase="Total")], ignore_index=True)
    levels = {
        "National": ["time_period", "time_identifier", "education_phase"],
        "Regional": ["time_period", "time_identifier", "region_code", "region_name", "education_phase"],
        "Local authority": ["time_period", "time_identifier", "region_code", "region_name", "old_la_code",
                            "new_la_code", "la_name", "education_phase"],
    }
    frames = []
    for level, keys in levels.items():
        g = base.groupby(keys, sort=True)
        agg = g[counts].sum()
        agg["num_schools"] = g.size()
        agg = agg.reset_index()
        agg["geographic_level"] = level
        frames.append(agg)
    out = pd.concat(frames, ignore_index=True)
    out["country_code"], out["country_name"] = "E92000001", "England"
    for c in GEO_COLS:
        if c not in out:
            out[c] = ""
    out[["region_code", "region_name", "old_la_code", "new_la_code", "la_name"]] = out[
        ["region_code", "region_name", "old_la_code", "new_la_code", "la_name"]].fillna("")
    out = _add_percents(out)
    order = {"Autumn term": 0, "Spring term": 1, "Summer term": 2, "Academic year": 3}
    lvl = {"National": 0, "Regional": 1, "Local authority": 2}
    out = out.assign(_t=out["time_identifier"].map(order), _l=out["geographic_level"].map(lvl))
    out = out.sort_values(["time_period", "_t", "_l", "region_code", "new_la_code", "education_phase"],
                          kind="stable")
    return out[[*GEO_COLS, "education_phase", "num_schools", *COUNT_COLS]].reset_index(drop=True)


def gias(country: Country) -> tuple[pd.DataFrame, pd.DataFrame]:
    """GIAS establishment extract and links file."""
    est = country.establishments
    s = country.sites
    site = est["site"].to_numpy()
    last = np.minimum(est["end_year"].to_numpy(), FIRST_YEAR + country.enrol.shape[1]) - 1 - FIRST_YEAR
    pupils = country.enrol[site, np.clip(last, 0, None)]
    phase_name = s["phase"].map({"primary": "Primary", "secondary": "Secondary"}).fillna("Not applicable")
    df = pd.DataFrame({
        "URN": est["urn"].to_numpy(),
        "LA (code)": s["old_la_code"].to_numpy()[site],
        "LA (name)": s["la_name"].to_numpy()[site],
        "EstablishmentNumber": est["estab_no"].to_numpy(),
        "EstablishmentName": est["name"].to_numpy(),
        "TypeOfEstablishment (name)": est["type"].to_numpy(),
        "EstablishmentTypeGroup (name)": est["group"].to_numpy(),
        "EstablishmentStatus (name)": np.where(est["close_date"] == "", "Open", "Closed"),
        "OpenDate": est["open_date"].to_numpy(),
        "CloseDate": est["close_date"].to_numpy(),
        "PhaseOfEducation (name)": phase_name.to_numpy()[site],
        "Town": s["town"].to_numpy()[site],
        "GOR (name)": s["gor_name"].to_numpy()[site],
        "DistrictAdministrative (code)": s["new_la_code"].to_numpy()[site],
        "Trusts (code)": est["trust_code"].to_numpy(),
        "Trusts (name)": est["trust_name"].to_numpy(),
        "NumberOfPupils": pupils,
        "PercentageFSM": s["fsm"].to_numpy()[site],
        "OfstedRating (name)": s["ofsted"].to_numpy()[site],
        "ReasonEstablishmentOpened (name)": est["reason_open"].to_numpy(),
        "ReasonEstablishmentClosed (name)": est["reason_close"].to_numpy(),
    }).sort_values("URN", kind="stable")
    return df.reset_index(drop=True), country.links
