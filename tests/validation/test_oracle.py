"""The oracle's target equals the estimate exactly where the estimate has no error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluate.did import callaway_santanna
from evaluate.validation.oracle import effects_lookup, school_of_unit, true_aggregate, true_cells


def _noise_free(seed: int = 0):
    """Parallel trends exactly (unit + year effects), heterogeneous effects known per school and year."""
    rng = np.random.default_rng(seed)
    years = [2016, 2017, 2018, 2021, 2022, 2023, 2024]
    n = 300
    cohort = rng.choice([0, 0, 2022, 2023, 2024], n)
    a = rng.normal(5, 1, n)
    rows, truth = [], []
    for i in range(n):
        for k, t in enumerate(years):
            tau = 0.0
            if cohort[i] and t >= cohort[i]:
                tau = -0.3 * (1 + t - cohort[i]) * (1 + 0.5 * rng.random())
                truth.append({"programme": "hubs", "school_id": 1000 + i, "year": t, "effect_overall": tau,
                              "effect_pa": 2 * tau, "effect_severe": 0.0})
            rows.append({"school_id": 1000 + i, "year": t, "cohort": cohort[i],
                         "overall_absence_rate": a[i] + 0.2 * k + tau})
    return pd.DataFrame(rows), pd.DataFrame(truth)


def test_target_equals_the_estimate_on_a_noise_free_panel():
    panel, truth = _noise_free()
    res = callaway_santanna(panel, outcome="overall_absence_rate", unit="school_id", time="year", cohort="cohort")
    eff = effects_lookup(truth, programme="hubs", outcome="overall_absence_rate")
    for kind in ("simple", "group", "dynamic", "calendar"):
        est = res.aggregate(kind).to_frame().set_index("term")["estimate"]
        tgt = true_aggregate(res, eff, kind).set_index("term")["true"]
        post = [t for t in tgt.index if not t.startswith("e=-")]
        np.testing.assert_allclose(est[post], tgt[post], atol=1e-10)
    cells, missing = true_cells(res, eff)
    assert missing == 0


def test_target_follows_the_units_the_estimate_kept():
    """Drop a treated school from the estimation: the target changes with it."""
    panel, truth = _noise_free(1)
    eff = effects_lookup(truth, programme="hubs", outcome="overall_absence_rate")
    full = callaway_santanna(panel, outcome="overall_absence_rate", unit="school_id", time="year", cohort="cohort")
    treated = panel.loc[panel["cohort"] == 2022, "school_id"].unique()[:20]
    part = callaway_santanna(panel[~panel["school_id"].isin(treated)], outcome="overall_absence_rate",
                             unit="school_id", time="year", cohort="cohort")
    t_full = true_aggregate(full, eff).set_index("term").loc["overall", "true"]
    t_part = true_aggregate(part, eff).set_index("term").loc["overall", "true"]
    assert t_full != pytest.approx(t_part, abs=1e-6)
    assert part.aggregate("simple").overall_att == pytest.approx(t_part, abs=1e-10)


def test_missing_truth_is_counted_not_hidden():
    panel, truth = _noise_free(2)
    eff = effects_lookup(truth.iloc[5:], programme="hubs", outcome="overall_absence_rate")
    res = callaway_santanna(panel, outcome="overall_absence_rate", unit="school_id", time="year", cohort="cohort")
    _, missing = true_cells(res, eff)
    assert missing > 0


def test_school_of_stacked_unit():
    assert school_of_unit("2023:140123") == 140123
    assert school_of_unit(140123) == 140123
