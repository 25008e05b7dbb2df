"""Parity of :func:`evaluate.did.callaway_santanna` with R ``did`` 2.5.0 reference results.

Every ATT(g, t) to 1e-8 (absolute), every analytic standard error to 1e-6 (relative), every
aggregation (components and overall) and the Wald pre-test, for every scenario in the
shared validation folder (see its README).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluate.did.att_gt import callaway_santanna

pytestmark = pytest.mark.against_r

VALIDATION = Path(os.environ.get("EVALUATE_SHARED_DATA")
                  or Path(__file__).resolve().parents[3].parent / "shared" / "data") / "validation"
ATT_TOL = 1e-8
SE_RTOL = 1e-6

MPDTA = dict(outcome="lemp", unit="countyreal", time="year", cohort="first.treat")
SIM = dict(outcome="Y", unit="id", time="period", cohort="G")


def _need(name: str) -> pd.DataFrame:
    path = VALIDATION / name
    if not path.exists():
        pytest.skip(f"R reference data not available: {path}")
    return pd.read_csv(path)


def _check_cells(result, ref: pd.DataFrame) -> None:
    got = result.to_frame()
    m = got.merge(ref, left_on=["group", "time"], right_on=["group", "t"], how="outer", indicator=True)
    assert (m["_merge"] == "both").all(), m.loc[m["_merge"] != "both", ["group", "time", "t", "_merge"]]
    np.testing.assert_allclose(m["estimate"], m["att"], rtol=0, atol=ATT_TOL)
    se_ref = m["se_y"].to_numpy(dtype=float)
    se_got = m["se_x"].to_numpy(dtype=float)
    assert np.array_equal(np.isnan(se_ref), np.isnan(se_got))
    ok = ~np.isnan(se_ref)
    np.testing.assert_allclose(se_got[ok], se_ref[ok], rtol=SE_RTOL)


ATTGT_SCENARIOS = {
    "mpdta_nev_dr": ("mpdta.csv", dict(MPDTA)),
    "mpdta_nyt_dr": ("mpdta.csv", dict(MPDTA, control="not_yet")),
    "mpdta_nev_reg_cov": ("mpdta.csv", dict(MPDTA, covariates=["lpop"], estimator="reg")),
    "mpdta_nev_ipw": ("mpdta.csv", dict(MPDTA, estimator="ipw")),
    "sim_nev_dr": ("sim_data.csv", dict(SIM, covariates=["X"])),
}


def _fit(scenario: str):
    data_file, kwargs = ATTGT_SCENARIOS[scenario]
    return callaway_santanna(_need(data_file), **kwargs)


@pytest.mark.parametrize("scenario", list(ATTGT_SCENARIOS))
def test_att_gt(scenario):
    ref = _need("ref_attgt.csv")
    _check_cells(_fit(scenario), ref[ref["scenario"] == scenario])


@pytest.mark.parametrize("scenario", list(ATTGT_SCENARIOS))
@pytest.mark.parametrize("agg", ["simple", "group", "dynamic", "calendar"])
def test_aggte(scenario, agg):
    ref = _need("ref_aggte.csv")
    ref = ref[(ref["scenario"] == scenario) & (ref["type"] == agg)]
    assert len(ref), "scenario missing from the reference file"
    a = _fit(scenario).aggregate(agg)
    assert a.overall_att == pytest.approx(ref["overall_att"].iloc[0], rel=0, abs=ATT_TOL)
    assert a.overall_se == pytest.approx(ref["overall_se"].iloc[0], rel=SE_RTOL)
    if agg != "simple":
        comp = a.to_frame().query("term != 'overall'")
        m = comp.merge(ref, left_on="component", right_on="egt", how="outer", indicator=True)
        assert (m["_merge"] == "both").all()
        np.testing.assert_allclose(m["estimate"], m["att_egt"], rtol=0, atol=ATT_TOL)
        np.testing.assert_allclose(m["se"], m["se_egt"], rtol=SE_RTOL)


@pytest.mark.parametrize("scenario", list(ATTGT_SCENARIOS))
def test_pretest(scenario):
    ref = _need("ref_pretest.csv").set_index("scenario").loc[scenario]
    pt = _fit(scenario).pretest()
    assert pt["statistic"] == pytest.approx(ref["W"], rel=1e-8)
    # R rounds the p-value to 5 decimals
    assert abs(pt["p_value"] - ref["Wpval"]) <= 5e-6 + 1e-12


SIM_REF = [(d, c, e) for d in ("tp2_const", "tp4_const", "tp10_const", "tp4_dyn", "tp5_dyn", "tp8_dyn")
           for c in ("nevertreated", "notyettreated") for e in ("dr", "reg")]


@pytest.mark.parametrize(("dataset", "control", "est"), SIM_REF)
def test_sim(dataset, control, est):
    ref = _need("ref_sim.csv")
    ref = ref[(ref["dataset"] == dataset) & (ref["control"] == control) & (ref["est"] == est)]
    assert len(ref)
    res = callaway_santanna(_need(f"{dataset}.csv"), **SIM, covariates=["X"], estimator=est,
                            control={"nevertreated": "never", "notyettreated": "not_yet"}[control])
    _check_cells(res, ref)


GAPS = {
    "rc": dict(panel=False),
    "universal": dict(base_period="universal"),
    "anticipation1": dict(anticipation=1),
    "weighted": dict(weights="wt"),
    "clustered": dict(cluster="clust"),
}


@pytest.mark.parametrize("scenario", list(GAPS))
def test_gaps(scenario):
    ref = _need("ref_gaps.csv")
    res = callaway_santanna(_need("mpdta_extra.csv"), **MPDTA, estimator="reg", **GAPS[scenario])
    _check_cells(res, ref[ref["scenario"] == scenario])


@pytest.mark.parametrize("fix", ["none", "base_period", "first_period", "varying"])
def test_fix_weights(fix):
    ref = _need("ref_fixweights.csv")
    data = _need("mpdta_tvw.csv")
    res = callaway_santanna(data, **MPDTA, estimator="reg", weights="wt", fix_weights=fix)
    _check_cells(res, ref[ref["fix_weights"] == fix])


def test_factor_covariate():
    ref = _need("ref_factor.csv")
    res = callaway_santanna(_need("factor_cov.csv"), **SIM, covariates=["cat"], estimator="reg")
    _check_cells(res, ref)
