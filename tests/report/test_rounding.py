import math

import pytest

from evaluate.report.rounding import (
    fmt_count,
    fmt_number,
    fmt_pct,
    fmt_pp,
    round_half_up,
    year_label,
)


@pytest.mark.parametrize(
    ("x", "nd", "expected"),
    [(0.125, 2, 0.13), (2.5, 0, 3), (3.5, 0, 4), (0.5, 0, 1), (1.005, 2, 1.01), (2.675, 2, 2.68),
     (-2.5, 0, -3), (-0.125, 2, -0.13), (0.124999, 2, 0.12), (12.345, 1, 12.3), (5, 1, 5.0), (1234.5, -1, 1230)],
)
def test_round_half_up(x, nd, expected):
    assert round_half_up(x, nd) == expected


def test_python_round_differs_and_ours_does_not():
    assert round(2.5) == 2 and round(0.125, 2) == 0.12  # banker's / binary
    assert round_half_up(2.5) == 3 and round_half_up(0.125, 2) == 0.13


def test_types_and_missing():
    assert isinstance(round_half_up(2.5), int)
    assert isinstance(round_half_up(2.25, 1), float)
    assert round_half_up(None) is None
    assert math.isnan(round_half_up(float("nan"), 1))
    with pytest.raises(ValueError):
        round_half_up(float("inf"))


def test_formatting():
    assert fmt_number(0.125, 2) == "0.13"
    assert fmt_number(1234567.25, 1) == "1,234,567.3"
    assert fmt_number(-0.04, 1) == "0.0"  # no negative zero
    assert fmt_count(12345.5) == "12,346"
    assert fmt_pct(6.85) == "6.9%"
    assert fmt_pp(0.25) == "+0.3" and fmt_pp(-0.25) == "-0.3" and fmt_pp(0.01) == "0.0"
    assert fmt_number(None) == "" and fmt_pct(float("nan"), missing="x") == "x"


def test_year_label():
    assert year_label(2022) == "2022/23"
    assert year_label(1999) == "1999/00"
    assert year_label("2016") == "2016/17"
