"""Cost per extra day in school (evaluate.value): closed-form arithmetic and intervals."""

from __future__ import annotations

import doctest

import numpy as np
import pytest

import evaluate.value as value_module
from evaluate.errors import InputError
from evaluate.value import (
    NOTE_NO_REDUCTION,
    NOTE_UNBOUNDED_HIGH,
    CostResult,
    break_even_effect,
    cost_per_day,
)

BASE = {"sessions_per_pupil": 380, "pupils": 1000, "cost": 1_900_000}


def test_closed_form_arithmetic():
    res = cost_per_day(-1.0, -1.5, -0.5, **BASE, years=1.0)
    assert res.days_per_pupil == pytest.approx(1.9)
    assert res.total_days == pytest.approx(1900.0)
    assert res.cost_per_day == pytest.approx(1000.0)
    assert res.note is None


def test_years_and_pupils_scale_the_days():
    res = cost_per_day(-2.0, -3.0, -1.0, sessions_per_pupil=380, pupils=500, cost=1_900_000,
                       years=3)
    assert res.days_per_pupil == pytest.approx(3.8)
    assert res.total_days == pytest.approx(3.8 * 500 * 3)
    assert res.cost_per_day == pytest.approx(1_900_000 / 5700)


def test_ci_endpoints_map_with_the_smaller_reduction_giving_the_larger_cost():
    res = cost_per_day(-1.0, -2.0, -0.5, **BASE)
    # the larger reduction (-2 pp) gives 3,800 days, the smaller (-0.5 pp) 950 days
    assert res.ci_low == pytest.approx(500.0)
    assert res.ci_high == pytest.approx(2000.0)
    assert res.ci_low < res.cost_per_day < res.ci_high


def test_interval_including_zero_has_no_upper_bound_and_says_so():
    res = cost_per_day(-1.0, -2.0, 0.3, **BASE)
    assert res.ci_high is None
    assert res.ci_low == pytest.approx(500.0)
    assert res.cost_per_day == pytest.approx(1000.0)
    assert res.note == NOTE_UNBOUNDED_HIGH
    assert "the interval includes no effect, so the cost per extra day has no upper bound" \
        in res.summary()
    assert np.isnan(res.to_frame()["ci_high"].iloc[0])


def test_interval_ending_exactly_at_zero_is_unbounded():
    assert cost_per_day(-1.0, -2.0, 0.0, **BASE).ci_high is None


def test_effect_that_is_not_a_reduction_is_unbounded():
    res = cost_per_day(0.5, -0.5, 1.5, **BASE)
    assert res.cost_per_day is None
    assert res.ci_high is None
    assert res.ci_low == pytest.approx(1_900_000 / 950)
    assert res.note == NOTE_NO_REDUCTION
    assert res.days_per_pupil < 0
    whole = cost_per_day(1.0, 0.5, 1.5, **BASE)
    assert (whole.cost_per_day, whole.ci_low, whole.ci_high) == (None, None, None)


def test_break_even_inverts_cost_per_day():
    e = break_even_effect(1_900_000, pupils=1000, years=1, sessions_per_pupil=380,
                          value_per_day=1000)
    assert e == pytest.approx(-1.0)
    for value in (50.0, 263.0, 5000.0):
        e = break_even_effect(15_000_000, pupils=10_000, years=3, sessions_per_pupil=380,
                              value_per_day=value)
        assert e < 0
        res = cost_per_day(e, e, e, sessions_per_pupil=380, pupils=10_000, cost=15_000_000,
                           years=3)
        assert res.cost_per_day == pytest.approx(value)


def test_draws_percentile_interval_on_known_draws():
    # draws -> days 3800, 1900, 950, 760, 1520 -> costs 500, 1000, 2000, 2500, 1250
    draws = [-2.0, -1.0, -0.5, -0.4, -0.8]
    res = cost_per_day(-1.0, -9.0, -0.1, **BASE, draws=draws, level=0.5)
    costs = np.array([500.0, 1000.0, 2000.0, 2500.0, 1250.0])
    assert res.ci_low == pytest.approx(np.percentile(costs, 25))
    assert res.ci_high == pytest.approx(np.percentile(costs, 75))
    assert res.ci_low == pytest.approx(1000.0)
    assert res.ci_high == pytest.approx(2000.0)
    assert res.cost_per_day == pytest.approx(1000.0)  # the point comes from effect_pp
    assert res.settings["interval"] == "draws"
    assert res.settings["n_draws_positive_days"] == 5


def test_draws_with_no_reduction_in_the_upper_tail_leave_the_upper_bound_open():
    draws = np.r_[np.full(90, -1.0), np.full(10, 0.2)]
    res = cost_per_day(-1.0, -2.0, -0.5, **BASE, draws=draws)
    assert res.ci_high is None
    assert res.ci_low == pytest.approx(1000.0)
    assert res.note == NOTE_UNBOUNDED_HIGH
    assert res.settings["n_draws_positive_days"] == 90


def test_result_is_frozen_and_serialises():
    res = cost_per_day(-1.0, -1.5, -0.5, **BASE)
    assert isinstance(res, CostResult)
    with pytest.raises(AttributeError):
        res.cost_per_day = 1.0  # type: ignore[misc]
    d = res.to_dict()
    assert set(d) == {"days_per_pupil", "total_days", "cost_per_day", "ci_low", "ci_high",
                      "note", "settings"}
    assert d["settings"]["pupils"] == 1000
    frame = res.to_frame()
    assert frame.shape == (1, 6)
    assert "1,000" in res.summary()


@pytest.mark.parametrize(("kwargs", "word"), [
    ({"cost": -1.0}, "cost"),
    ({"pupils": 0}, "pupils"),
    ({"pupils": -5}, "pupils"),
    ({"sessions_per_pupil": 0}, "sessions_per_pupil"),
    ({"years": 0}, "years"),
])
def test_bad_input_raises_input_error(kwargs, word):
    args = {**BASE, **kwargs}
    with pytest.raises(InputError, match=word):
        cost_per_day(-1.0, -1.5, -0.5, **args)
    with pytest.raises(InputError, match=word):
        break_even_effect(args["cost"], pupils=args["pupils"], years=args.get("years", 1),
                          sessions_per_pupil=args["sessions_per_pupil"], value_per_day=100)


def test_other_bad_input():
    with pytest.raises(InputError, match="ci_low"):
        cost_per_day(-1.0, -0.5, -1.5, **BASE)
    with pytest.raises(InputError, match="value_per_day"):
        break_even_effect(100, pupils=1, years=1, sessions_per_pupil=380, value_per_day=0)
    with pytest.raises(InputError, match="draws"):
        cost_per_day(-1.0, -1.5, -0.5, **BASE, draws=[])
    with pytest.raises(InputError, match="effect_pp"):
        cost_per_day(float("nan"), -1.5, -0.5, **BASE)


def test_docstring_examples_run():
    failed, attempted = doctest.testmod(
        value_module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert attempted > 0
    assert failed == 0
