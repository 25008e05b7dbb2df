"""Stacked sub-experiments in ``callaway_santanna`` (the matched staggered design).

Each cohort's cells, estimated on the stack with ``subexperiment=``, must equal the cells
estimated on that cohort's own sub-experiment alone; and the comparison units of one
sub-experiment must not enter another's cells.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluate.did import callaway_santanna
from evaluate.errors import InputError

from .test_att_gt import KW, _panel


def _stack(d: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Sub-experiment g = cohort g's units + a random half of the never-treated units."""
    rng = np.random.default_rng(seed)
    never = np.sort(d.loc[d["g"] == 0, "id"].unique())
    parts = []
    for g in sorted(d.loc[d["g"] > 0, "g"].unique()):
        ctrl = rng.choice(never, size=len(never) // 2, replace=False)
        part = d[(d["g"] == g) | d["id"].isin(ctrl)].copy()
        part["stack"] = g
        part["school"] = part["id"]
        part["id"] = part["id"].astype(str) + f"@{g}"
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


@pytest.mark.parametrize("estimator", ["dr", "ipw", "reg"])
def test_stacked_cells_equal_each_sub_experiment_alone(estimator):
    d = _panel(n_units=600, seed=21)
    stack = _stack(d)
    res = callaway_santanna(stack, **KW, covariates=["x"], estimator=estimator, subexperiment="stack")
    for g, part in stack.groupby("stack"):
        alone = callaway_santanna(part.drop(columns="stack"), **KW, covariates=["x"], estimator=estimator)
        a = res.table[res.table["group"] == g].reset_index(drop=True)
        b = alone.table.reset_index(drop=True)
        np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=0, atol=1e-12)
        np.testing.assert_allclose(a["se"], b["se"], rtol=1e-10)
    # the cohort sizes behind the aggregation weights count each cohort's own treated units
    assert res.extra["group_sizes"] == {int(g): int((d.drop_duplicates("id")["g"] == g).sum())
                                        for g in (3, 4)}
    agg = res.aggregate("simple")
    assert np.isfinite(agg.overall_att) and np.isfinite(agg.overall_se)


def test_the_stack_changes_the_comparison_group():
    """Without ``subexperiment`` the same stacked rows give different cells (every stack's
    controls would be pooled): the option is what restricts them."""
    d = _panel(n_units=600, seed=22)
    stack = _stack(d, seed=3)
    with_ = callaway_santanna(stack, **KW, subexperiment="stack").table["estimate"].to_numpy()
    pooled = callaway_santanna(stack, **KW).table["estimate"].to_numpy()
    assert np.max(np.abs(with_ - pooled)) > 1e-6


def test_not_yet_treated_controls_inside_a_stack():
    """With ``control='not_yet'`` a later cohort's unit placed in an earlier cohort's stack is a
    comparison unit there (while not yet treated), never a treated unit of its own cohort."""
    d = _panel(n_units=600, cohorts=(0, 3, 4), seed=23)
    later = d.loc[d["g"] == 4, "id"].unique()[:40]
    stack = _stack(d, seed=4)
    extra = d[d["id"].isin(later)].copy()
    extra["stack"] = 3
    extra["school"] = extra["id"]
    extra["id"] = extra["id"].astype(str) + "@3"
    stack = pd.concat([stack, extra], ignore_index=True)
    res = callaway_santanna(stack, **KW, control="not_yet", subexperiment="stack")
    assert res.extra["group_sizes"][4] == int((d.drop_duplicates("id")["g"] == 4).sum())
    only3 = stack[stack["stack"] == 3].drop(columns="stack")
    alone = callaway_santanna(only3, **KW, control="not_yet")
    a = res.table[res.table["group"] == 3].reset_index(drop=True)
    b = alone.table[alone.table["group"] == 3].reset_index(drop=True)
    np.testing.assert_allclose(a["estimate"], b["estimate"], rtol=0, atol=1e-12)


def test_bad_subexperiment_column():
    d = _stack(_panel(seed=24))
    with pytest.raises(InputError, match="not found"):
        callaway_santanna(d, **KW, subexperiment="nope")
    d.loc[5, "stack"] = np.nan
    with pytest.raises(InputError, match="sub-experiment"):
        callaway_santanna(d, **KW, subexperiment="stack")
