"""Smoke test of analysis/monte_carlo.py: the functions run and the table has its columns.

Three replications on a small hand-made panel (no synthetic country), so it takes a few
seconds; the coverage numbers themselves are the script's business, not this test's.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def mc():
    spec = importlib.util.spec_from_file_location("monte_carlo", ROOT / "analysis" / "monte_carlo.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["monte_carlo"] = mod  # dataclasses resolve the module by name
    spec.loader.exec_module(mod)
    return mod


YEARS = [2016, 2017, 2018, 2021, 2022, 2023, 2024]
TAU = {(2022, 2022): -1.0, (2022, 2023): -1.5, (2022, 2024): -2.0,
       (2023, 2023): -0.5, (2023, 2024): -1.0, (2024, 2024): -0.4}


def _panel(n: int = 120, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cohort = rng.choice([0, 2022, 2023, 2024], size=n, p=[0.6, 0.1, 0.15, 0.15])
    mentor = np.where(rng.random(n) < 0.05, 2023, 0)
    phase = rng.choice(["State-funded primary", "State-funded secondary"], size=n)
    alpha = rng.normal(5, 1.5, n) + (cohort > 0)
    rows = []
    for i in range(n):
        for t in YEARS:
            if i == 0 and t == 2017:
                continue  # one unbalanced school
            y = alpha[i] + 0.1 * (t - 2016) + rng.normal(0, 0.5) + TAU.get((cohort[i], t), 0.0)
            rows.append(dict(school_id=1000 + i, year=t, phase=phase[i], overall_absence_rate=y,
                             hub_cohort=cohort[i], hub_first_exposed_year=max(cohort[i] - 1, 0),
                             mentor_cohort=mentor[i]))
    return pd.DataFrame(rows)


def test_tau_from_truth_weights_first_exposed_groups(mc):
    truth = {"records": [
        dict(programme="hubs", phase="Total", cohort=2023, year=2023, n_schools=3, att_overall=-1.0),
        dict(programme="hubs", phase="Total", cohort=2023, year=2023, n_schools=1, att_overall=-3.0),
        dict(programme="hubs", phase="Total", cohort=2023, year=2022, n_schools=4, att_overall=-0.1),
        dict(programme="hubs", phase="Special", cohort=2023, year=2023, n_schools=1, att_overall=9.0),
        dict(programme="mentors", phase="Total", cohort=2023, year=2023, n_schools=1, att_overall=9.0),
    ]}
    assert mc.tau_from_truth(truth) == {(2023, 2023): pytest.approx(-1.5)}


def test_small_study_runs_and_table_has_columns(mc):
    design = mc.design_from_panel(_panel(), TAU)
    assert design.info["dropped_unbalanced_schools"] == 1
    assert set(np.unique(design.cohort)) <= {0, 2022, 2023, 2024}
    truth = mc.true_targets(design)
    sizes = {g: np.sum(design.cohort == g) for g in (2022, 2023, 2024)}
    att = sum(sizes[g] * v for (g, _), v in TAU.items()) / sum(sizes[g] for (g, _) in TAU)
    assert truth["ATT"] == pytest.approx(att)
    assert {"ATT", "e=0", "e=1", "e=2", "dynamic"} <= set(truth)

    results = mc.run_study(design, reps=3, seed=1)
    assert (results["error"] == "").all(), results.loc[results["error"] != "", "error"].tolist()
    again = mc.run_study(design, reps=3, seed=1)
    pd.testing.assert_frame_equal(results, again)

    summary = mc.summarise(results, truth, mc.noise_free(design))
    assert list(summary.columns) == mc.SUMMARY_COLUMNS
    assert {"CS simple", "CS dynamic", "TWFE", "Event study (TWFE)", "Sun-Abraham",
            "Imputation (BJS)"} == set(summary["estimator"])
    assert (summary["failures"] == 0).all()
    # unbiased estimators: exactly unbiased on the noise-free panel
    exact = summary.set_index(["estimator", "target"])["exact_bias"]
    assert abs(exact[("CS simple", "ATT")]) < 1e-8
    assert abs(exact[("Imputation (BJS)", "e=1")]) < 1e-8
    table = mc.to_markdown(summary)
    assert table.count("\n") == len(summary) + 1
    assert table.startswith("| estimator | target | true |")
