"""Goodman-Bacon decomposition: weights sum to one and reproduce the TWFE estimate."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from evaluate.errors import InputError


def bacon(*args, **kwargs):
    from evaluate.did import bacon_decomposition

    return bacon_decomposition(*args, **kwargs)


def twfe(*args, **kwargs):
    from evaluate.did import twfe as fn

    return fn(*args, **kwargs)


def panel(cohorts, *, n_units=90, n_periods=8, seed=11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = rng.choice(cohorts, n_units)
    df = pd.DataFrame({"unit": np.repeat(np.arange(n_units), n_periods),
                       "time": np.tile(np.arange(2015, 2015 + n_periods), n_units),
                       "g": np.repeat(g, n_periods)})
    treated = (df["g"] > 0) & (df["time"] >= df["g"])
    df["y"] = (np.repeat(rng.normal(size=n_units), n_periods) + 0.1 * (df["time"] - 2015)
               + treated * (1 + 0.4 * (df["time"] - df["g"])) + rng.normal(size=len(df)))
    return df


@pytest.mark.parametrize("cohorts", [
    (0, 2017, 2019, 2020),           # never treated and three timing groups
    (2017, 2019, 2021),              # no never treated
    (0, 2015, 2018, 2020, 2030),     # always treated, and a cohort after the panel (= never)
])
def test_weights_sum_to_one_and_reproduce_twfe(cohorts):
    df = panel(cohorts)
    r = bacon(df, outcome="y", unit="unit", time="time", cohort="g")
    c = r.comparisons
    assert c["weight"].sum() == pytest.approx(1.0, abs=1e-10)
    beta = twfe(df, outcome="y", unit="unit", time="time", cohort="g").coef["treated"]
    assert (c["weight"] * c["estimate"]).sum() == pytest.approx(beta, abs=1e-10)
    assert r.twfe_estimate == pytest.approx(beta, abs=1e-10)
    by = r.by_type
    assert by["weight"].sum() == pytest.approx(1.0, abs=1e-10)
    assert (by["weight"] * by["estimate"]).sum() == pytest.approx(beta, abs=1e-10)
    assert (c["weight"] > 0).all()


def test_types_and_a_two_by_two_by_hand():
    df = panel((0, 2017, 2020))
    r = bacon(df, outcome="y", unit="unit", time="time", cohort="g")
    t = r.to_frame()
    assert {"type", "treated", "control", "weight"} <= set(t.columns)
    assert set(r.by_type["term"]) == {"earlier_vs_later", "later_vs_earlier", "treated_vs_never"}
    m = df.groupby(["g", "time"])["y"].mean().unstack()
    pre, mid, post = m.columns < 2017, (m.columns >= 2017) & (m.columns < 2020), m.columns >= 2020
    c = r.comparisons.set_index("term")
    early_vs_late = (m.loc[2017, mid].mean() - m.loc[2017, pre].mean()) - (m.loc[2020, mid].mean() - m.loc[2020, pre].mean())
    late_vs_early = (m.loc[2020, post].mean() - m.loc[2020, mid].mean()) - (m.loc[2017, post].mean() - m.loc[2017, mid].mean())
    vs_never = (m.loc[2020, post].mean() - m.loc[2020, ~post].mean()) - (m.loc[0, post].mean() - m.loc[0, ~post].mean())
    assert c.loc["2017 vs 2020", "estimate"] == pytest.approx(early_vs_late, abs=1e-12)
    assert c.loc["2020 vs 2017", "estimate"] == pytest.approx(late_vs_early, abs=1e-12)
    assert c.loc["2020 vs never", "estimate"] == pytest.approx(vs_never, abs=1e-12)
    assert c.loc["2020 vs 2017", "type"] == "later_vs_earlier"
    # growing effects: the forbidden comparison is pulled down
    assert c.loc["2020 vs 2017", "estimate"] < c.loc["2020 vs never", "estimate"]


def test_result_serialises_and_plots():
    r = bacon(panel((0, 2017, 2020)), outcome="y", unit="unit", time="time", cohort="g")
    d = json.loads(json.dumps(r.to_dict()))
    assert d["method"] == "bacon_decomposition" and d["extra"]["weight_sum"] == pytest.approx(1.0)
    assert isinstance(r.plot(), Figure)


def test_unbalanced_panel_and_bad_columns_are_refused():
    df = panel((0, 2017, 2020))
    with pytest.raises(InputError, match="balanced panel"):
        bacon(df.iloc[1:], outcome="y", unit="unit", time="time", cohort="g")
    with pytest.raises(InputError, match="not found"):
        bacon(df, outcome="nope", unit="unit", time="time", cohort="g")
    with pytest.raises(InputError, match="does not vary"):
        bacon(df.assign(g=0), outcome="y", unit="unit", time="time", cohort="g")
