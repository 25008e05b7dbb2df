"""Units first treated after the last period are never treated within the data, in every analysis."""

from __future__ import annotations

import numpy as np

from evaluate.did import callaway_santanna
from evaluate.sensitivity.heterogeneity import heterogeneity
from evaluate.sensitivity.leave_one_out import leave_one_out

from ._panel import simulate_panel

COLS = dict(outcome="overall_absence_rate", unit="school_id", time="year", cohort="hub_cohort")


def test_a_cohort_after_the_panel_is_a_comparison_group():
    d = simulate_panel(n=1200, seed=31)
    never = d.loc[d["hub_cohort"] == 0, "school_id"].unique()[:150]
    d.loc[d["school_id"].isin(never), "hub_cohort"] = 2030
    het = heterogeneity(d, by="hub_cohort", **COLS)
    assert "2030" not in [str(t) for t in het.to_frame()["term"]]
    full = callaway_santanna(d, **COLS).aggregate("simple").overall_att
    loo = leave_one_out(d, group="hub_cohort", **COLS)
    assert "2030" not in [str(t) for t in loo.to_frame()["term"]]
    assert np.isclose(loo.extra["full_estimate"], full, atol=1e-12)
