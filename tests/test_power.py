"""Power and minimum detectable effect of a DiD design (evaluate.power)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from evaluate.errors import InputError
from evaluate.power import estimate_variance_components, mde_did, planning_table, simulate_power

BASE = {"pre": 3, "post": 3, "sigma2": 1.0, "rho": 0.5}


def test_mde_matches_hand_calculation():
    # M = z_.975 + z_.8 = 1.959964 + 0.841621 = 2.801585
    # Var = 1 * (1 - 0.5) * (1/3 + 1/3) * (1/100 + 1/100) = 0.0066667; sqrt = 0.0816497
    # MDE = 2.801585 * 0.0816497 = 0.228748
    assert mde_did(n_treated=100, n_control=100, **BASE) == pytest.approx(0.228748, abs=1e-5)
    # design effect 1 + (5 - 1) * 0.1 = 1.4 multiplies the MDE by sqrt(1.4)
    clustered = mde_did(n_treated=100, n_control=100, icc=0.1, cluster_size=5, **BASE)
    assert clustered == pytest.approx(0.228748 * math.sqrt(1.4), abs=1e-5)
    # alpha = 0.10, power = 0.9: M = 1.644854 + 1.281552 = 2.926405
    other = mde_did(n_treated=50, n_control=150, pre=2, post=4, sigma2=4.0, alpha=0.1, power=0.9)
    # Var = 4 * 1 * (1/2 + 1/4) * (1/50 + 1/150) = 0.08
    assert other == pytest.approx(2.926405 * math.sqrt(0.08), abs=1e-5)


def test_mde_halves_when_units_quadruple():
    a = mde_did(n_treated=100, n_control=200, **BASE)
    b = mde_did(n_treated=400, n_control=800, **BASE)
    assert b == pytest.approx(a / 2, rel=1e-12)


def test_rho_one_gives_zero_variance():
    assert mde_did(n_treated=10, n_control=10, pre=2, post=2, sigma2=3.0, rho=1.0) == 0.0


@pytest.mark.parametrize("bad", [{"rho": 1.5}, {"icc": -0.1}, {"cluster_size": 0.5},
                                 {"alpha": 0.0}, {"power": 1.0}, {"pre": 0}, {"n_treated": 0}])
def test_mde_rejects_bad_inputs(bad):
    kw = {"n_treated": 10, "n_control": 10, **BASE, **bad}
    with pytest.raises(InputError):
        mde_did(**kw)


@pytest.mark.parametrize("ratio", [1.0, 2.0, 0.5])
def test_planning_table_inverts_mde(ratio):
    tab = planning_table([0.1, 0.2, 0.5], ratio=ratio, icc=0.05, cluster_size=3, **BASE)
    for row in tab.itertuples():
        nt = row.n_treated_exact
        exact = mde_did(n_treated=nt, n_control=ratio * nt, icc=0.05, cluster_size=3, **BASE)
        assert exact == pytest.approx(row.effect, rel=1e-10)
        assert row.mde <= row.effect + 1e-12
        assert row.n_treated == math.ceil(nt)
        # one treated unit fewer (same ratio) would not reach the effect
        if row.n_treated > 1:
            fewer = mde_did(n_treated=row.n_treated - 1, n_control=ratio * (row.n_treated - 1),
                            icc=0.05, cluster_size=3, **BASE)
            assert fewer > row.effect
    assert tab["n_treated"].tolist() == sorted(tab["n_treated"].tolist(), reverse=True)


def _panel(n_units: int = 400, periods: int = 6, rho: float = 0.5, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    unit_sd, idio_sd = math.sqrt(rho), math.sqrt(1 - rho)
    y = (np.repeat(rng.normal(0, unit_sd, n_units), periods) + np.tile(0.2 * np.arange(periods), n_units)
         + rng.normal(0, idio_sd, n_units * periods))
    return pd.DataFrame({"id": np.repeat(np.arange(n_units), periods),
                         "year": np.tile(np.arange(2015, 2015 + periods), n_units), "y": y})


def test_variance_components_recover_sigma2_and_rho():
    vc = estimate_variance_components(_panel(n_units=3000, rho=0.6, seed=3), outcome="y",
                                      unit="id", time="year")
    assert vc["sigma2"] == pytest.approx(1.0, abs=0.05)
    assert vc["rho"] == pytest.approx(0.6, abs=0.03)
    assert vc["sigma2_within"] == pytest.approx(0.4, abs=0.02)
    assert (vc["n_units"], vc["n_periods"], vc["n_obs"]) == (3000, 6, 18000)


def test_variance_components_unbalanced_panel():
    panel = _panel(n_units=3000, rho=0.6, seed=4).sample(frac=0.9, random_state=1)
    vc = estimate_variance_components(panel, outcome="y", unit="id", time="year")
    assert vc["rho"] == pytest.approx(0.6, abs=0.04)


def test_simulate_power_size_at_zero_effect():
    res = simulate_power(_panel(), outcome="y", unit="id", time="year", n_treated=100,
                         effect=0.0, first_year=2018, reps=60, seed=1)
    assert res["reps"] == 60 and res["n_control"] == 300
    assert 0.0 <= res["power"] <= 0.15
    assert res["mc_se"] == pytest.approx(math.sqrt(res["power"] * (1 - res["power"]) / 60))
    assert abs(res["mean_estimate"]) < 0.05


def test_simulate_power_near_one_at_large_effect_and_agrees_with_formula():
    panel = _panel()
    res = simulate_power(panel, outcome="y", unit="id", time="year", n_treated=100,
                         effect=0.5, first_year=2018, reps=30, seed=2)
    assert res["power"] >= 0.95
    assert res["mean_estimate"] == pytest.approx(0.5, abs=0.05)
    # the analytic MDE of this design is far below 0.5
    vc = estimate_variance_components(panel, outcome="y", unit="id", time="year")
    mde = mde_did(n_treated=100, n_control=300, pre=3, post=3, sigma2=vc["sigma2"], rho=vc["rho"])
    assert mde < 0.25


def test_simulate_power_cs_and_cohort_filter():
    panel = _panel(n_units=120)
    panel["g"] = np.where(panel["id"] < 20, 2018, 0)  # 20 treated units are dropped
    res = simulate_power(panel, outcome="y", unit="id", time="year", cohort="g", n_treated=30,
                         effect=1.0, first_year=2018, reps=3, seed=0, estimator="cs")
    assert res["n_control"] == 70 and res["power"] == 1.0


def test_simulate_power_rejects_bad_inputs():
    panel = _panel(n_units=20)
    with pytest.raises(InputError):
        simulate_power(panel, outcome="y", unit="id", time="year", n_treated=20, effect=0.0,
                       first_year=2018, reps=2)
    with pytest.raises(InputError):
        simulate_power(panel, outcome="y", unit="id", time="year", n_treated=5, effect=0.0,
                       first_year=2015, reps=2)
    with pytest.raises(InputError):
        simulate_power(panel, outcome="y", unit="id", time="year", n_treated=5, effect=0.0,
                       first_year=2018, reps=2, estimator="ols")
