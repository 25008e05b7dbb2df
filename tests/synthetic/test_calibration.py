"""The full synthetic country meets DfE's published national figures (within 0.3 pp)."""

from __future__ import annotations

import pandas as pd
import pytest

from evaluate import synthetic
from evaluate.synthetic.calibration import ASSUMED, TARGETS, TOLERANCE_PP

pytestmark = pytest.mark.slow

PHASES = {"primary": "State-funded primary", "secondary": "State-funded secondary", "special": "Special"}


@pytest.fixture(scope="module")
def national(tmp_path_factory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("full")
    synthetic.generate(out, seed=20240901)
    df = pd.read_csv(out / "absence" / "absence_nat_reg_la.csv", dtype=str, keep_default_na=False)
    for c in ("sess_overall", "sess_possible", "enrolments_pa_10_exact", "enrolments", "num_schools"):
        df[c] = df[c].astype(float)
    return df


def _rates(df: pd.DataFrame, year: int, phase: str = "Total", level: str = "National") -> tuple[float, float]:
    tp = f"{year}{(year + 1) % 100:02d}"
    ti = ["Autumn term", "Spring term"] if year == 2020 else ["Academic year"]
    g = df[(df.time_period == tp) & df.time_identifier.isin(ti) & (df.geographic_level == level)
           & (df.education_phase == phase)]
    assert len(g) > 0, (year, phase)
    return 100 * g.sess_overall.sum() / g.sess_possible.sum(), 100 * g.enrolments_pa_10_exact.sum() / g.enrolments.sum()


CASES = [(y, m, v) for y, d in TARGETS.items() for m, v in d.items()] + [
    (2020, "overall", ASSUMED[2020]["overall"]), (2024, "overall", ASSUMED[2024]["overall"])]


@pytest.mark.parametrize(("year", "measure", "target"), CASES)
def test_national_figures_within_tolerance(national, year, measure, target):
    kind, _, phase = measure.partition("_")
    overall, pa = _rates(national, year, PHASES[phase] if phase else "Total")
    got = overall if kind == "overall" else pa
    assert abs(got - target) <= TOLERANCE_PP, f"{year} {measure}: generated {got:.2f}, target {target}"


def test_full_country_size(national):
    n = national[(national.geographic_level == "National") & (national.time_period == "202324")
                 & (national.time_identifier == "Academic year")].set_index("education_phase")["num_schools"]
    assert 20_500 <= n["Total"] <= 22_500
    assert 15_500 <= n["State-funded primary"] <= 17_500 and 3_200 <= n["State-funded secondary"] <= 3_700


def test_north_east_highest_london_lowest(national):
    reg = national[(national.geographic_level == "Regional") & (national.time_period == "202223")
                   & (national.time_identifier == "Academic year") & (national.education_phase == "Total")]
    rate = (reg.sess_overall / reg.sess_possible).groupby(reg.region_name).sum()
    assert rate.idxmax() == "North East"
    assert set(rate.nsmallest(2).index) == {"Inner London", "Outer London"}
