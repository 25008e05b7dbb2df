"""Randomization inference: uniform p-values under the sharp null, power, reproducibility."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluate.did.randomization import randomization_inference
from evaluate.errors import InputError


def _panel(rng, effect=0.0, hubs=10, per_hub=4, periods=4):
    units = hubs * per_hub
    u = np.repeat(np.arange(units), periods)
    t = np.tile(np.arange(1, periods + 1), units)
    hub = u // per_hub
    g_hub = np.array([3] * 3 + [4] * 2 + [0] * (hubs - 5))
    g = g_hub[hub]
    y = rng.normal(size=hubs)[hub] + rng.normal(size=units)[u] + 0.2 * t + rng.normal(size=u.size)
    y = y + effect * ((g > 0) & (t >= g))
    return pd.DataFrame({"id": u, "t": t, "hub": hub, "g": g, "y": y})


def _did(d: pd.DataFrame) -> float:
    """A simple estimator: mean change after adoption, treated minus never treated."""
    post = (d["g"] > 0) & (d["t"] >= d["g"])
    unit_mean = d.groupby("id")["y"].transform("mean")
    resid = d["y"] - unit_mean
    resid = resid - resid.groupby(d["t"]).transform("mean")
    return float(resid[post].mean() - resid[~post].mean())


def test_p_values_are_uniform_under_the_sharp_null():
    rng = np.random.default_rng(123)
    ps = []
    for _ in range(60):
        df = _panel(rng)
        ps.append(randomization_inference(df, estimator=_did, unit="id", cohort="g", cluster="hub",
                                          draws=99, seed=int(rng.integers(1 << 31)))["p_value"])
    assert stats.kstest(ps, "uniform").pvalue > 0.05
    assert 0.02 <= np.mean(np.array(ps) < 0.1) <= 0.25


def test_large_effect_is_detected_and_seed_reproduces():
    df = _panel(np.random.default_rng(1), effect=3.0)
    a = randomization_inference(df, estimator=_did, unit="id", cohort="g", cluster="hub", draws=199, seed=4)
    b = randomization_inference(df, estimator=_did, unit="id", cohort="g", cluster="hub", draws=199, seed=4)
    assert a["p_value"] < 0.05 and a["p_value"] == b["p_value"]
    np.testing.assert_array_equal(a["null_distribution"], b["null_distribution"])
    assert a["observed"] == pytest.approx(_did(df)) and a["n_blocks"] == 10
    u = randomization_inference(df, estimator=_did, unit="id", cohort="g", draws=99, seed=4)
    assert u["n_blocks"] == 40 and u["settings"]["permuted"] == "id"


def test_permutations_keep_cohort_sizes_and_cluster_blocks():
    df = _panel(np.random.default_rng(2))
    seen = []

    def record(d):
        hub_g = d.groupby("hub")["g"].agg(["nunique", "first"])
        assert (hub_g["nunique"] == 1).all()
        seen.append(tuple(sorted(hub_g["first"])))
        return 0.0
    randomization_inference(df, estimator=record, unit="id", cohort="g", cluster="hub", draws=20, seed=0)
    assert len(set(seen)) == 1
    with pytest.raises(InputError, match="varies"):
        randomization_inference(df.assign(hub=df["id"] % 3), estimator=_did, unit="id", cohort="g",
                                cluster="hub")
