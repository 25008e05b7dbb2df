"""Cost-effectiveness of an attendance programme: what each extra day in school costs.

An effect on the absence rate, in percentage points of sessions (negative: absence fell),
becomes days gained per pupil per year (two sessions make a day)::

    days_per_pupil = -effect_pp / 100 * sessions_per_pupil / 2
    total_days     = days_per_pupil * pupils * years
    cost_per_day   = cost / total_days

The cost per day falls as the reduction grows, so the effect's confidence interval maps
onto an interval for the cost per day with its ends swapped: the larger reduction (the
effect's lower bound) gives the smaller cost. When the effect's interval reaches zero the
data are consistent with no extra days at all, and the cost per extra day has no upper
bound; that bound is ``None`` and the result's ``note`` says so.

Facts used in the examples: the attendance mentors programme costs about 15 million pounds
for about 10,000 pupils over three years; the Middlesbrough pilot cost 2.3 million pounds for
223 pupils. A school year has about 380 sessions (190 days, two sessions each).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from evaluate.errors import InputError

__all__ = ["CostResult", "break_even_effect", "cost_per_day"]

#: Note when the effect's interval includes no effect (zero) or an increase in absence.
NOTE_UNBOUNDED_HIGH = ("the interval includes no effect, so the cost per extra day has no "
                       "upper bound")
#: Note when the estimate itself is not a reduction in absence.
NOTE_NO_REDUCTION = ("the estimated effect is not a reduction in absence, so there are no "
                     "extra days to pay for and the cost per extra day is unbounded")

FRAME_COLUMNS = ("days_per_pupil", "total_days", "cost_per_day", "ci_low", "ci_high", "note")


@dataclass(frozen=True, eq=False)
class CostResult:
    """Cost per extra day in school, with its interval.

    Parameters
    ----------
    days_per_pupil
        Days gained per pupil per year at the estimated effect (negative if absence rose).
    total_days
        Days gained over all pupils and years.
    cost_per_day
        Cost divided by ``total_days``; ``None`` when the effect is not a reduction.
    ci_low, ci_high
        Interval for the cost per day; ``None`` for a bound that is unbounded.
    note
        Plain-words caveat when a bound (or the estimate) is unbounded, else ``None``.
    settings
        The inputs and how the interval was made (``interval``: ``"effect_ci"`` or
        ``"draws"``).

    Examples
    --------
    >>> from evaluate.value import cost_per_day
    >>> res = cost_per_day(-1.0, -1.5, -0.5, sessions_per_pupil=380, pupils=1000,
    ...                    cost=1_900_000)
    >>> res.cost_per_day, res.ci_low, res.ci_high
    (1000.0, 666.66..., 2000.0)
    >>> print(res.summary())
    1.9 days gained per pupil per year; 1,900 days in all
    cost per extra day: 1,000 (interval 667 to 2,000)
    >>> list(res.to_frame().columns)
    ['days_per_pupil', 'total_days', 'cost_per_day', 'ci_low', 'ci_high', 'note']
    >>> res.to_dict()["settings"]["interval"]
    'effect_ci'
    """

    days_per_pupil: float
    total_days: float
    cost_per_day: float | None
    ci_low: float | None
    ci_high: float | None
    note: str | None
    settings: Mapping[str, Any]

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))

    def to_dict(self) -> dict[str, Any]:
        """The result as plain Python values (``settings`` as a ``dict``).

        Examples
        --------
        >>> from evaluate.value import cost_per_day
        >>> d = cost_per_day(-1.0, -2.0, 0.5, sessions_per_pupil=380, pupils=1000,
        ...                  cost=1_900_000).to_dict()
        >>> d["cost_per_day"], d["ci_high"]
        (1000.0, None)
        """
        return {"days_per_pupil": self.days_per_pupil, "total_days": self.total_days,
                "cost_per_day": self.cost_per_day, "ci_low": self.ci_low,
                "ci_high": self.ci_high, "note": self.note, "settings": dict(self.settings)}

    def to_frame(self) -> pd.DataFrame:
        """One row: the columns of :data:`FRAME_COLUMNS` (unbounded values are NaN).

        Examples
        --------
        >>> from evaluate.value import cost_per_day
        >>> cost_per_day(-1.0, -1.5, -0.5, sessions_per_pupil=380, pupils=1000,
        ...              cost=1_900_000).to_frame()["total_days"].tolist()
        [1900.0]
        """
        d = self.to_dict()
        row = {c: (np.nan if d[c] is None else float(d[c])) for c in FRAME_COLUMNS[:-1]}
        row["note"] = d["note"]
        return pd.DataFrame([row], columns=list(FRAME_COLUMNS))

    def summary(self) -> str:
        """Two or three lines in plain words.

        Examples
        --------
        >>> from evaluate.value import cost_per_day
        >>> print(cost_per_day(-1.0, -2.0, 0.5, sessions_per_pupil=380, pupils=1000,
        ...                    cost=1_900_000).summary())
        1.9 days gained per pupil per year; 1,900 days in all
        cost per extra day: 1,000 (interval 500 to no upper bound)
        the interval includes no effect, so the cost per extra day has no upper bound
        """
        def money(x: float | None, missing: str) -> str:
            return missing if x is None else f"{x:,.0f}"

        lines = [f"{_num(self.days_per_pupil)} days gained per pupil per year; "
                 f"{_num(self.total_days)} days in all",
                 f"cost per extra day: {money(self.cost_per_day, 'unbounded')} "
                 f"(interval {money(self.ci_low, 'unbounded')} to "
                 f"{money(self.ci_high, 'no upper bound')})"]
        if self.note:
            lines.append(self.note)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def _num(x: float) -> str:
    """Up to three significant figures below 100, whole numbers with separators above."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _check_finite(name: str, value: float) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(value):
        raise InputError(f"{name} must be a finite number, got {value!r}")
    return value


def _check_setup(cost: float, pupils: float, sessions_per_pupil: float,
                 years: float) -> tuple[float, float, float, float]:
    cost = _check_finite("cost", cost)
    pupils = _check_finite("pupils", pupils)
    sessions_per_pupil = _check_finite("sessions_per_pupil", sessions_per_pupil)
    years = _check_finite("years", years)
    if cost < 0:
        raise InputError(f"cost must not be negative, got {cost:g}")
    if pupils <= 0:
        raise InputError(f"pupils must be more than zero, got {pupils:g}")
    if sessions_per_pupil <= 0:
        raise InputError(f"sessions_per_pupil must be more than zero, got {sessions_per_pupil:g}")
    if years <= 0:
        raise InputError(f"years must be more than zero, got {years:g}")
    return cost, pupils, sessions_per_pupil, years


def _total_days(effect_pp: float | np.ndarray, sessions_per_pupil: float, pupils: float,
                years: float) -> float | np.ndarray:
    # effect_pp / 100 * sessions / 2, in one division to keep round numbers round
    return -np.asarray(effect_pp, dtype=float) * sessions_per_pupil / 200.0 * pupils * years


def _linear_quantile(values: np.ndarray, q: float) -> float:
    """``np.quantile(values, q)`` (linear), but infinite when it would touch an infinite value."""
    s = np.sort(values)
    h = (len(s) - 1) * q
    lo, hi = math.floor(h), math.ceil(h)
    if not (np.isfinite(s[lo]) and np.isfinite(s[hi])):
        return math.inf
    return float(s[lo] + (h - lo) * (s[hi] - s[lo]))


def cost_per_day(effect_pp: float, ci_low: float, ci_high: float, *, sessions_per_pupil: float,
                 pupils: float, cost: float, years: float = 1.0,
                 draws: Sequence[float] | np.ndarray | None = None,
                 level: float = 0.95) -> CostResult:
    """Cost per extra day in school from an effect on the absence rate.

    Parameters
    ----------
    effect_pp
        Effect on the absence rate, percentage points of sessions (negative: absence fell).
    ci_low, ci_high
        The effect's confidence interval, same units (``ci_low <= ci_high``).
    sessions_per_pupil
        Sessions a pupil could attend in a year (about 380: two a day for 190 days).
    pupils
        Pupils the programme reaches.
    cost
        What the programme costs over ``years`` (any currency; the result is in it).
    years
        Years over which the effect lasts and the cost is spent.
    draws
        Optional bootstrap draws of the effect (pp). When given, the interval is their
        percentile interval at ``level`` of cost / total days; a draw with no positive days
        counts as an unbounded cost (with all draws positive this is the plain percentile
        interval over the draws).
    level
        Coverage of the percentile interval from ``draws``.

    Returns
    -------
    CostResult
        Days per pupil per year, total days, the cost per day and its interval; ``None``
        marks an unbounded value and ``note`` says why.

    Raises
    ------
    InputError
        If ``cost`` is negative, ``pupils`` or ``sessions_per_pupil`` or ``years`` is not
        positive, a number is not finite, or ``ci_low > ci_high``.

    Examples
    --------
    A 1 point fall in absence over 380 sessions is 1.9 days per pupil:

    >>> from evaluate.value import cost_per_day
    >>> res = cost_per_day(-1.0, -1.5, -0.5, sessions_per_pupil=380, pupils=1000,
    ...                    cost=1_900_000)
    >>> res.days_per_pupil, res.total_days, res.cost_per_day
    (1.9, 1900.0, 1000.0)

    Attendance mentors, about 15 million pounds for about 10,000 pupils over three years:
    a 1 point fall costs about 263 pounds per extra day.

    >>> mentors = cost_per_day(-1.0, -1.6, -0.4, sessions_per_pupil=380, pupils=10_000,
    ...                        cost=15_000_000, years=3)
    >>> round(mentors.cost_per_day), round(mentors.ci_low), round(mentors.ci_high)
    (263, 164, 658)

    The Middlesbrough pilot, 2.3 million pounds for 223 pupils (one year assumed here), with
    an interval that reaches zero: the upper bound is unbounded.

    >>> pilot = cost_per_day(-1.0, -2.5, 0.5, sessions_per_pupil=380, pupils=223,
    ...                      cost=2_300_000)
    >>> round(pilot.cost_per_day), round(pilot.ci_low), pilot.ci_high
    (5428, 2171, None)
    >>> pilot.note
    'the interval includes no effect, so the cost per extra day has no upper bound'

    With bootstrap draws of the effect:

    >>> cost_per_day(-1.0, -1.5, -0.5, sessions_per_pupil=380, pupils=1000,
    ...              cost=1_900_000, draws=[-2.0, -1.0, -0.5], level=0.5).ci_high
    1500.0
    """
    cost, pupils, sessions_per_pupil, years = _check_setup(cost, pupils, sessions_per_pupil,
                                                           years)
    effect_pp = _check_finite("effect_pp", effect_pp)
    ci_low = _check_finite("ci_low", ci_low)
    ci_high = _check_finite("ci_high", ci_high)
    if ci_low > ci_high:
        raise InputError(f"ci_low ({ci_low:g}) must not be above ci_high ({ci_high:g})")
    level = _check_finite("level", level)
    if not 0 < level < 1:
        raise InputError(f"level must be between 0 and 1, got {level:g}")

    total = float(_total_days(effect_pp, sessions_per_pupil, pupils, years))
    days_pp = -effect_pp * sessions_per_pupil / 200.0
    point = cost / total if total > 0 else None

    settings: dict[str, Any] = {"effect_pp": effect_pp, "effect_ci_low": ci_low,
                                "effect_ci_high": ci_high,
                                "sessions_per_pupil": sessions_per_pupil, "pupils": pupils,
                                "cost": cost, "years": years}
    if draws is None:
        settings["interval"] = "effect_ci"
        # cost per day decreases in the reduction: the effect's lower bound (larger
        # reduction) gives the smaller cost
        days_at_low = float(_total_days(ci_low, sessions_per_pupil, pupils, years))
        days_at_high = float(_total_days(ci_high, sessions_per_pupil, pupils, years))
        lo = cost / days_at_low if days_at_low > 0 else None
        hi = cost / days_at_high if days_at_high > 0 else None
    else:
        d = np.asarray(draws, dtype=float).ravel()
        if d.size == 0:
            raise InputError("draws must hold at least one bootstrap draw of the effect")
        if not np.all(np.isfinite(d)):
            raise InputError("draws must all be finite numbers")
        days = _total_days(d, sessions_per_pupil, pupils, years)
        positive = days > 0
        costs = np.full(d.shape, math.inf)
        costs[positive] = cost / days[positive]
        alpha = 1.0 - level
        lo_q = _linear_quantile(costs, alpha / 2)
        hi_q = _linear_quantile(costs, 1 - alpha / 2)
        lo = lo_q if math.isfinite(lo_q) else None
        hi = hi_q if math.isfinite(hi_q) else None
        settings.update(interval="draws", level=level, n_draws=int(d.size),
                        n_draws_positive_days=int(positive.sum()))

    note = None
    if point is None:
        note = NOTE_NO_REDUCTION
    elif hi is None:
        note = NOTE_UNBOUNDED_HIGH
    return CostResult(days_per_pupil=days_pp, total_days=total, cost_per_day=point,
                      ci_low=lo, ci_high=hi, note=note, settings=settings)


def break_even_effect(cost: float, *, pupils: float, years: float, sessions_per_pupil: float,
                      value_per_day: float) -> float:
    """The effect (pp, negative) at which the cost per extra day equals ``value_per_day``.

    A larger fall in absence than this makes each extra day cost less than it is worth.

    Parameters
    ----------
    cost
        What the programme costs over ``years``.
    pupils, years, sessions_per_pupil
        As in :func:`cost_per_day`.
    value_per_day
        What one extra day in school is worth, in the currency of ``cost`` (positive).

    Returns
    -------
    float
        Effect on the absence rate in percentage points (negative, or zero at zero cost).

    Raises
    ------
    InputError
        On bad input, as :func:`cost_per_day`, or if ``value_per_day`` is not positive.

    Examples
    --------
    >>> from evaluate.value import break_even_effect, cost_per_day
    >>> break_even_effect(1_900_000, pupils=1000, years=1, sessions_per_pupil=380,
    ...                   value_per_day=1000)
    -1.0

    Attendance mentors (about 15 million pounds, 10,000 pupils, three years) pay for
    themselves at 100 pounds a day if absence falls by about 2.6 points:

    >>> e = break_even_effect(15_000_000, pupils=10_000, years=3, sessions_per_pupil=380,
    ...                       value_per_day=100)
    >>> round(e, 2)
    -2.63
    >>> round(cost_per_day(e, e, e, sessions_per_pupil=380, pupils=10_000,
    ...                    cost=15_000_000, years=3).cost_per_day, 6)
    100.0
    """
    cost, pupils, sessions_per_pupil, years = _check_setup(cost, pupils, sessions_per_pupil,
                                                           years)
    value_per_day = _check_finite("value_per_day", value_per_day)
    if value_per_day <= 0:
        raise InputError(f"value_per_day must be more than zero, got {value_per_day:g}")
    days_per_pupil = cost / (value_per_day * pupils * years)
    return -days_per_pupil * 2.0 / sessions_per_pupil * 100.0
