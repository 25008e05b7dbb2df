"""Nearest-neighbour matching on data where the right matched set is known by construction."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from evaluate.errors import InputError
from evaluate.matching import balance_table, nearest_neighbour
from evaluate.matching.nearest import REASONS


def _line(treated_x, control_x, block=None):
    x = list(treated_x) + list(control_x)
    d = pd.DataFrame({"id": np.arange(len(x)), "t": [1] * len(treated_x) + [0] * len(control_x), "x": x})
    if block is not None:
        d["blk"] = block
    return d


def _pairs(res) -> dict[int, list[int]]:
    return {int(t): sorted(int(c) for c in g) for t, g in res.pairs.groupby("treated_unit")["control_unit"]}


def test_known_matches_greedy_without_replacement():
    # controls at 0..9 (ids 3..12); treated 2.1 -> 2, 3.4 -> 3, then 3.45 -> 4 (3 is taken)
    d = _line([2.1, 3.4, 3.45], np.arange(10.0))
    res = nearest_neighbour(d, treatment="t", unit="id", covariates=["x"], distance="mahalanobis", order="data")
    assert _pairs(res) == {0: [5], 1: [6], 2: [7]}
    assert res.units.loc[res.units["weight"] > 0, "id" if "id" in res.units else "unit"].tolist() == [0, 1, 2, 5, 6, 7]
    # with replacement both 3.4 and 3.45 take the control at 3
    rep = nearest_neighbour(d, treatment="t", unit="id", covariates=["x"], distance="mahalanobis", replace=True)
    assert _pairs(rep) == {0: [5], 1: [6], 2: [6]}
    w = rep.weights
    assert w[6] == pytest.approx(2 * 2 / 3) and w[5] == pytest.approx(2 / 3)  # scaled to sum to 2 controls


def test_ratio_two_in_rounds():
    # each treated unit gets its first match before any gets a second (MatchIt's rounds)
    d = _line([1.0, 1.2], [0.9, 1.1, 1.3, 5.0])
    res = nearest_neighbour(d, treatment="t", unit="id", covariates=["x"], distance="mahalanobis",
                            order="data", ratio=2)
    # round 1: 1.0 -> 0.9 (tie with 1.1 broken by data order), 1.2 -> 1.1 (tie with 1.3: first in data)
    # round 2: 1.0 -> 1.3, 1.2 -> 5.0
    assert _pairs(res) == {0: [2, 4], 1: [3, 5]}


def test_exact_blocks_are_respected_and_empty_blocks_counted():
    d = _line([1.0, 1.0, 9.0], [1.05, 8.9, 9.2], block=["a", "b", "a", "b", "a", "a"])
    res = nearest_neighbour(d, treatment="t", unit="id", covariates=["x"], distance="mahalanobis",
                            exact=["blk"], order="data")
    # treated 0 (block a, x=1) cannot take control 3 (block b, x=1.05); it takes 4 (x=8.9, block a)
    # treated 1 (block b) takes 3; treated 2 (block a, x=9) takes 5 (9.2)
    assert _pairs(res) == {0: [4], 1: [3], 2: [5]}
    d2 = _line([1.0, 2.0], [1.1, 2.1], block=["a", "c", "a", "a"])
    r2 = nearest_neighbour(d2, treatment="t", unit="id", covariates=["x"], distance="mahalanobis", exact=["blk"])
    assert r2.units.loc[1, "reason"] == REASONS["block"]
    assert r2.counts()["treated_dropped_block"] == 1


def test_caliper_on_the_logit_score():
    rng = np.random.default_rng(5)
    n = 3000
    x = rng.normal(size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-(-1.5 + 1.5 * x)))).astype(int)
    d = pd.DataFrame({"id": np.arange(n), "t": t, "x": x})
    res = nearest_neighbour(d, treatment="t", unit="id", covariates=["x"], distance="logit", caliper=0.05)
    width = res.extra["caliper_width"]
    assert width == pytest.approx(0.05 * np.std(res.units["distance"], ddof=1))
    assert (res.pairs["gap"] <= width + 1e-12).all()
    dropped = res.units[res.units["reason"] == REASONS["caliper"]]
    assert len(dropped) > 0  # the caliper bites on this design (the test has teeth)
    # a treated unit left out had no control within the caliper among those still available: at
    # least, no control at all lies within the caliper of the highest-score dropped unit after
    # the controls used by units matched before it are removed
    used = set(res.pairs["control_unit"])
    free = res.units[(~res.units["treated"]) & ~res.units["unit"].isin(used)]
    top = dropped.sort_values("distance").iloc[-1]
    assert (np.abs(free["distance"] - top["distance"]) > width).all()


def test_no_match_within_caliper_is_a_clear_error():
    d = _line([0.0, 0.2], [5.0, 6.0, 7.0])
    d["z"] = [1.0, 1.2, 0.1, 0.3, 0.2]
    with pytest.raises(InputError, match="no treated unit was matched: 2 treated, 3 comparison"):
        nearest_neighbour(d, treatment="t", unit="id", covariates=["x", "z"], distance="logit", caliper=1e-9)


@pytest.mark.parametrize("bad, msg", [
    (dict(covariates=["nope"]), "covariate not found"),
    (dict(distance="euclid"), "distance must be"),
    (dict(ratio=0), "ratio must be"),
    (dict(caliper=-1.0), "caliper must be"),
    (dict(exact=["nope"]), "exact-matching column not found"),
])
def test_bad_specification(bad, msg):
    d = _line([1.0, 2.0], [1.1, 2.1, 3.0])
    kw = dict(treatment="t", unit="id", covariates=["x"], distance="mahalanobis") | bad
    with pytest.raises(InputError, match=msg):
        nearest_neighbour(d, **kw)


def test_duplicate_unit_and_bad_treatment_name_the_row():
    d = _line([1.0], [1.1, 2.0])
    d.loc[2, "id"] = 1
    with pytest.raises(InputError) as e:
        nearest_neighbour(d, treatment="t", unit="id", covariates=["x"], distance="mahalanobis")
    assert e.value.row == 3 and e.value.column == "id"
    d = _line([1.0], [1.1, 2.0])
    d.loc[1, "t"] = 2
    with pytest.raises(InputError) as e:
        nearest_neighbour(d, treatment="t", unit="id", covariates=["x"], distance="mahalanobis")
    assert e.value.row == 2 and e.value.column == "t"


def test_common_support_discards_and_counts():
    d = _line([0.0, 1.0, 10.0], [0.5, 1.5, 2.0, -3.0])
    d["z"] = [0, 1, 0, 1, 0, 1, 0]
    res = nearest_neighbour(d, treatment="t", unit="id", covariates=["x", "z"], distance="propensity",
                            discard="both")
    c = res.counts()
    assert c.get("treated_dropped_support", 0) + c.get("comparison_dropped_support", 0) >= 1
    assert (res.units.loc[res.units["reason"] == REASONS["support"], "weight"] == 0).all()


def test_balance_improves_and_flags():
    rng = np.random.default_rng(8)
    n = 4000
    x = rng.normal(size=n)
    cat = rng.choice(["p", "q", "r"], size=n)
    t = (rng.random(n) < 1 / (1 + np.exp(-(-2 + 1.2 * x + 0.8 * (cat == "q"))))).astype(int)
    d = pd.DataFrame({"id": np.arange(n), "t": t, "x": x, "cat": cat})
    res = nearest_neighbour(d, treatment="t", unit="id", covariates=["x", "cat"], caliper=0.2)
    bal = balance_table(d, treatment="t", covariates=["x", "cat"], weights=res.units["weight"].to_numpy())
    w = bal.wide().set_index("term")
    assert abs(w.loc["x", "smd_before"]) > 0.5 and abs(w.loc["x", "smd_after"]) < 0.1
    assert set(w.index) == {"x", "cat[p]", "cat[q]", "cat[r]"}
    assert "x" in bal.table.loc[(bal.table["sample"] == "before") & bal.table["imbalanced"], "term"].tolist()
    assert bal.imbalanced("after") == []
    # hand-computed pooled SMD of x before matching
    xt, xc = x[t == 1], x[t == 0]
    smd = (xt.mean() - xc.mean()) / np.sqrt((xt.var(ddof=1) + xc.var(ddof=1)) / 2)
    assert w.loc["x", "smd_before"] == pytest.approx(smd, rel=1e-12)
    fig = bal.plot(caption="Synthetic data")
    assert fig.axes
    fig2 = res.plot()
    assert len(fig2.axes) >= 2


def test_fast_distance_searches_equal_brute_force():
    """The vectorised searches (norm expansion, partial sorts) pick what a brute-force
    search over explicit distances picks, with and without replacement."""
    from evaluate.matching.nearest import _greedy_md, _with_replacement

    rng = np.random.default_rng(12)
    t_x, c_x = rng.normal(size=(60, 4)), rng.normal(size=(300, 4))
    got, _ = _greedy_md(t_x, c_x, 2, None, None, None)
    used, want = set(), [[] for _ in range(60)]
    for _round in range(2):
        for i in range(60):
            d = [((c_x[j] - t_x[i]) ** 2).sum() if j not in used else np.inf for j in range(300)]
            j = int(np.argmin(d))
            want[i].append(j)
            used.add(j)
    assert got == want
    got_r, _ = _with_replacement(t_x, c_x, 3, None, None, None)
    want_r = [list(np.argsort(((c_x - t_x[i]) ** 2).sum(axis=1), kind="stable")[:3]) for i in range(60)]
    assert got_r == [[int(j) for j in w] for w in want_r]
    # one dimension with ties: the earliest control wins
    t1, c1 = np.array([[0.5]]), np.array([[0.0], [1.0], [0.0], [1.0], [2.0]])
    got1, _ = _with_replacement(t1, c1, 3, None, None, None)
    assert got1 == [[0, 1, 2]]
