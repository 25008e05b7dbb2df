"""Leave one group out: each row equals re-running the estimator by hand without that group."""

from __future__ import annotations

import matplotlib.figure
import numpy as np
import pytest
from tests.sensitivity._panel import simulate_panel

from evaluate.did import callaway_santanna
from evaluate.errors import InputError
from evaluate.sensitivity.leave_one_out import leave_one_out

CS = dict(outcome="overall_absence_rate", unit="school_id", time="year", cohort="hub_cohort")


@pytest.fixture(scope="module")
def panel():
    return simulate_panel(900, seed=10, tau=-1.0, hub_effects={"H03": -3.0})


@pytest.fixture(scope="module")
def by_hub(panel):
    return leave_one_out(panel, group="hub_id", estimator="reg")


def test_row_equals_rerun_by_hand(panel, by_hub):
    treated_h01 = panel.loc[(panel["hub_id"] == "H01") & (panel["hub_cohort"] > 0), "school_id"].unique()
    assert len(treated_h01) > 0
    ref = callaway_santanna(panel.loc[~panel["school_id"].isin(treated_h01)], estimator="reg", **CS)
    agg = ref.aggregate("simple")
    row = by_hub.to_frame().set_index("term").loc["H01"]
    assert row["estimate"] == pytest.approx(agg.overall_att, abs=1e-12)
    assert row["se"] == pytest.approx(agg.overall_se, rel=1e-10)
    assert row["dropped_treated"] == len(treated_h01)
    full = callaway_santanna(panel, estimator="reg", **CS).aggregate("simple").overall_att
    assert by_hub.full_estimate == pytest.approx(full, abs=1e-12)
    assert row["change"] == pytest.approx(agg.overall_att - full, abs=1e-12)


def test_every_treated_group_once_and_spread(panel, by_hub):
    hubs = sorted(panel["hub_id"].dropna().unique())
    t = by_hub.to_frame()
    assert sorted(t["term"]) == hubs
    s = by_hub.spread()
    assert s["min"] == pytest.approx(t["estimate"].min()) and s["max"] == pytest.approx(t["estimate"].max())
    # the hub with the planted extra effect (-3) moves the estimate most when left out: the maximum
    assert s["max_group"] == "H03"
    assert s["range"] == pytest.approx(s["max"] - s["min"])
    assert by_hub.extra["sign_changes"] == 0
    fig = by_hub.plot()
    assert isinstance(fig, matplotlib.figure.Figure)
    assert "without H03" in [lab.get_text() for lab in fig.axes[0].get_yticklabels()]
    assert "Leave one hub_id out" in by_hub.summary()
    assert by_hub.to_dict()["extra"]["max_group"] == "H03"


def test_drop_all_units_of_a_local_authority(panel):
    r = leave_one_out(panel, group="la_code", groups=["E03"], drop="all", estimator="reg")
    ref = callaway_santanna(panel.loc[panel["la_code"] != "E03"], estimator="reg", **CS).aggregate("simple")
    row = r.to_frame().iloc[0]
    assert row["estimate"] == pytest.approx(ref.overall_att, abs=1e-12)
    assert row["dropped_units"] == panel.loc[panel["la_code"] == "E03", "school_id"].nunique()
    assert row["dropped_units"] > row["dropped_treated"]


def test_by_cohort(panel):
    r = leave_one_out(panel, group="hub_cohort", estimator="reg")
    assert list(r.to_frame()["term"]) == ["2022", "2023", "2024"]
    ref = callaway_santanna(panel.loc[panel["hub_cohort"] != 2023], estimator="reg", **CS).aggregate("simple")
    assert r.to_frame().set_index("term").loc["2023", "estimate"] == pytest.approx(ref.overall_att, abs=1e-12)


def test_bad_input(panel):
    with pytest.raises(InputError, match="have no treated units"):
        leave_one_out(panel, groups=["H99"])
    with pytest.raises(InputError, match="group column 'nope'"):
        leave_one_out(panel, group="nope")
    one_group = panel.assign(hub_id=np.where(panel["hub_cohort"] > 0, "H00", None))
    with pytest.raises(InputError, match="leaves no treated unit"):
        leave_one_out(one_group)
    varying = panel.assign(hub_id=np.where(panel["year"] == 2016, "HX", panel["hub_id"]))
    with pytest.raises(InputError, match="changes within unit"):
        leave_one_out(varying)
