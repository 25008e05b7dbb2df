"""Fixtures: the real DfE files (skipped when absent) and a tiny hand-made data folder."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

# The real files sit in ../shared/data beside the repository; EVALUATE_SHARED_DATA
# points elsewhere (e.g. for a clone made in another folder).
SHARED = Path(os.environ.get("EVALUATE_SHARED_DATA")
              or Path(__file__).resolve().parents[2].parent / "shared" / "data")

ABS_COLS = ["time_period", "time_identifier", "geographic_level", "country_code", "country_name",
            "region_code", "region_name", "old_la_code", "new_la_code", "la_name", "school_urn",
            "school_laestab", "school_name", "education_phase", "enrolments", "sess_possible",
            "sess_overall", "sess_authorised", "sess_unauthorised", "sess_overall_percent",
            "sess_authorised_percent", "sess_unauthorised_percent", "enrolments_pa_10_exact",
            "enrolments_pa_10_exact_percent", "enrolments_pa_50_exact", "enrolments_pa_50_exact_percent"]
GIAS_COLS = ["URN", "LA (code)", "LA (name)", "EstablishmentNumber", "EstablishmentName",
             "TypeOfEstablishment (name)", "EstablishmentTypeGroup (name)", "EstablishmentStatus (name)",
             "OpenDate", "CloseDate", "PhaseOfEducation (name)", "Town", "GOR (name)",
             "DistrictAdministrative (code)", "Trusts (code)", "Trusts (name)", "NumberOfPupils",
             "PercentageFSM", "OfstedRating (name)", "ReasonEstablishmentOpened (name)",
             "ReasonEstablishmentClosed (name)"]
LAS = {"A": ("E06000001", "Hartlepool", "North East", "E12000001", "805"),
       "B": ("E06000002", "Middlesbrough", "North East", "E12000001", "806"),
       "C": ("E10000011", "East Sussex", "South East", "E12000008", "845")}
# urn: (la, town, pupils, group, status)
SCHOOLS = {
    1001: ("A", "Hartlepool", 300, "Local authority maintained schools", "Closed"),
    2001: ("A", "Hartlepool", 310, "Academies", "Open"),      # 1001 converted to 2001 in 2018
    1002: ("A", "Hartlepool", 200, "Local authority maintained schools", "Open"),
    1003: ("B", "Middlesbrough", 250, "Local authority maintained schools", "Open"),
    1004: ("C", "Hastings", 150, "Local authority maintained schools", "Open"),
    1005: ("C", "Lewes", 180, "Local authority maintained schools", "Open"),
}


def write_csv(path: Path, header: list[str], rows: list[list], encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding=encoding) as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return path


def absence_row(urn: int, year: int, ident: str, la: str, *, possible=10000, auth=300, unauth=100,
                enrol=100, pa10=10, pa50=2, phase="State-funded primary") -> list:
    code, name, region, rcode, old = LAS[la]
    tp = f"{year}{(year + 1) % 100:02d}"
    o = auth + unauth if not isinstance(auth, str) and not isinstance(unauth, str) else "c"

    def pct(a, b):
        return "c" if isinstance(a, str) or isinstance(b, str) else f"{100 * a / b:.5f}"
    return [tp, ident, "School", "E92000001", "England", rcode, region, old, code, name, urn,
            f"{old}{urn}", f"School {urn}", phase, enrol, possible, o, auth, unauth,
            pct(o, possible), pct(auth, possible), pct(unauth, possible), pa10, pct(pa10, enrol),
            pa50, pct(pa50, enrol)]


def make_data_dir(root: Path) -> Path:
    """A tiny data folder in the synthetic formats: 6 URNs, 5 schools, years 2017-2023."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "manifest.json").write_text('{"synthetic": true, "seed": 1}', encoding="utf-8")
    for year in (2017, 2018, 2020, 2021, 2022, 2023):
        rows = []
        idents = (["Autumn term", "Spring term"] if year == 2020
                  else ["Autumn term", "Spring term", "Summer term", "Academic year"])
        for urn, (la, *_rest) in SCHOOLS.items():
            if urn == 1001 and year >= 2018 or urn == 2001 and year < 2018:
                continue
            for ident in idents:
                k = {"possible": 30000, "auth": 900, "unauth": 300, "enrol": 100} if ident == "Academic year" else {}
                if urn == 1005 and year == 2021 and ident == "Autumn term":
                    k["auth"] = "c"  # suppressed key count: dropped with a reason
                    k["unauth"] = "c"
                rows.append(absence_row(urn, year, ident, la, **k))
        if year == 2021:  # a school not in GIAS
            rows.append(absence_row(9999, year, "Academic year", "A"))
        write_csv(root / "absence" / f"school_absence_{year}{(year + 1) % 100:02d}.csv", ABS_COLS, rows)
    gias = []
    for urn, (la, town, pupils, group, status) in SCHOOLS.items():
        code, name, region, _, old = LAS[la]
        gias.append([urn, old, name, urn % 10000, f"School {urn}", "Community school", group, status,
                     "01-09-2000", "31-08-2018" if status == "Closed" else "", "Primary", town, region,
                     code, "", "", pupils, "20.5", "Good", "", ""])
    write_csv(root / "gias" / "edubasealldata.csv", GIAS_COLS, gias)
    write_csv(root / "gias" / "links_edubasealldata.csv",
              ["URN", "LinkURN", "LinkName", "LinkType", "LinkEstablishedDate"],
              [[1001, 2001, "School 2001, the academy", "Successor", "01-09-2018"],
               [2001, 1001, "School 1001", "Predecessor", "01-09-2018"]])
    write_csv(root / "programmes" / "hubs.csv", ["hub_id", "lead_urn", "member_urn", "join_date", "wave"],
              [["H1", 2001, 2001, "2022-09-01", "1"], ["H1", 2001, 1002, "2023-01-15", "1"]])
    write_csv(root / "programmes" / "mentor_areas.csv",
              ["new_la_code", "la_name", "start_date", "area", "announced_date", "coverage", "provider"],
              [["E06000002", "Middlesbrough", "2022-09-01", "", "2022-01-10", "whole", "Barnardo's"],
               ["E10000011", "East Sussex", "2025-03-01", "Hastings", "2024-09-01", "partial", "Etio"]])
    write_csv(root / "programmes" / "priority_areas.csv", ["new_la_code", "la_name"],
              [["E06000002", "Middlesbrough"], ["E10000011", "East Sussex"]])
    return root


@pytest.fixture
def shared_data() -> Path:
    if not SHARED.exists():
        pytest.skip(f"real DfE files not found at {SHARED} (set EVALUATE_SHARED_DATA to their folder)")
    return SHARED


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return make_data_dir(tmp_path / "data")
