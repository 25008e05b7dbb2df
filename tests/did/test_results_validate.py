"""The shared result object and panel validation used by every estimator."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluate.did._validate import prepare
from evaluate.did.results import TIDY_COLUMNS, DiDResult, tidy_table
from evaluate.errors import InputError


def _result() -> DiDResult:
    table = tidy_table(["a", "b"], [1.0, -2.0], [0.5, 1.0], n=[10, 20])
    return DiDResult("demo", table, {"outcome": "y", "control": "never"}, n_units=30, n_obs=120,
                     extra={"vcov": [[0.25, 0.0], [0.0, 1.0]]})


def test_tidy_table_intervals_and_p_values_are_normal_by_default():
    t = tidy_table(["x"], [1.96], [1.0])
    assert list(t.columns) == list(TIDY_COLUMNS)
    assert t.loc[0, "ci_low"] == pytest.approx(1.96 - stats.norm.ppf(0.975))
    assert t.loc[0, "p_value"] == pytest.approx(2 * stats.norm.sf(1.96))
    t5 = tidy_table(["x"], [2.0], [1.0], df=5)
    assert t5.loc[0, "ci_high"] == pytest.approx(2.0 + stats.t.ppf(0.975, 5))


def test_result_is_read_only_and_accessors_share_one_table():
    r = _result()
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.method = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        r.settings["outcome"] = "z"  # type: ignore[index]
    frame = r.to_frame()
    frame.loc[0, "estimate"] = 99.0
    assert r.to_frame().loc[0, "estimate"] == 1.0  # a copy, not the table itself
    d = json.loads(json.dumps(r.to_dict()))
    assert d["table"][1]["estimate"] == -2.0 and d["settings"]["control"] == "never"
    assert "demo: 30 units, 120 observations" in r.summary()
    assert r.plot().axes


def test_result_requires_the_tidy_columns():
    with pytest.raises(ValueError, match="tidy table lacks"):
        DiDResult("x", pd.DataFrame({"term": ["a"]}), {}, 1, 1)


def _panel() -> pd.DataFrame:
    rows = [(u, t, float(u + t), (2 if u < 2 else 0)) for u in range(4) for t in (1, 2, 3)]
    return pd.DataFrame(rows, columns=["id", "t", "y", "g"])


def test_prepare_keeps_and_counts():
    df = _panel()
    df.loc[0, "y"] = np.nan
    df.loc[1, "g"] = 2  # same cohort, fine
    p = prepare(df, outcome="y", unit="id", time="t", cohort="g")
    assert p.dropped_missing == 1 and len(p.data) == 11
    assert p.data["g"].dtype == np.int64


@pytest.mark.parametrize(
    ("change", "column", "message"),
    [
        (lambda d: d.drop(columns="y"), "y", "outcome column not found"),
        (lambda d: d.assign(y=d["y"].astype(object).where(d.index != 4, "abc")), "y", "'abc' is not a number"),
        (lambda d: pd.concat([d, d.iloc[[3]]]), "t", "duplicate row"),
        (lambda d: d.assign(g=np.where(d.index == 5, 3, d["g"])), "g", "cohort changes within unit"),
        (lambda d: d.assign(g=np.where(d["id"] == 3, -1, d["g"])), "g", "negative cohort"),
        (lambda d: d.assign(g=np.where(d["id"] == 0, 0.5, d["g"])), "g", "not a whole period"),
        (lambda d: d.assign(t=d["t"] + 10), "g", "before the first period"),
    ],
)
def test_prepare_rejects_bad_panels_naming_the_column(change, column, message):
    df = change(_panel())
    with pytest.raises(InputError) as info:
        prepare(df, outcome="y", unit="id", time="t", cohort="g", source="panel.csv")
    err = info.value
    assert err.column == column and message in err.message and err.file == "panel.csv"


def test_front_exports_functions_not_submodules():
    import importlib
    import types

    import evaluate.did as did

    for mod in ("twfe", "event_study", "att_gt", "sun_abraham", "imputation", "bacon",
                "wild_bootstrap", "randomization"):
        importlib.import_module(f"evaluate.did.{mod}")
    for name in ("twfe", "event_study", "callaway_santanna", "sun_abraham", "imputation",
                 "bacon_decomposition", "wild_cluster_bootstrap", "randomization_inference"):
        fn = getattr(did, name)
        assert callable(fn) and not isinstance(fn, types.ModuleType), name
