"""DfE rounding: half up (away from zero at exactly .5), never banker's rounding.

Python's ``round`` rounds half to even (``round(2.5) == 2``) and works on the binary
value of a float (``round(0.125, 2) == 0.12``). DfE publications round half up on the
decimal number as written, so every number a report shows goes through
:func:`round_half_up` (and :func:`fmt_number` for display).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from numbers import Real

from evaluate.numbers import _decimal, _missing, round_half_up

#: DfE symbols that stand in for a number and are printed as they are.
DFE_SYMBOLS = frozenset({"c", "x", "z", "low", "u", ":"})

__all__ = ["round_half_up", "fmt_number", "fmt_pct", "fmt_pp", "fmt_count", "year_label"]


def fmt_number(x: Real | str | None, ndigits: int = 1, *, missing: str = "", thousands: bool = True) -> str:
    """Format ``x`` rounded half up to exactly ``ndigits`` decimals (``"1,234.5"``).

    Examples
    --------
    >>> from evaluate.report.rounding import fmt_number
    >>> fmt_number(1234.25, 1)
    '1,234.3'
    >>> fmt_number(-0.04, 1)
    '0.0'
    >>> fmt_number(None, missing="n/a")
    'n/a'
    >>> fmt_number("c")  # a DfE symbol (here: suppressed by disclosure control) is kept
    'c'
    """
    if _missing(x):
        return missing
    if isinstance(x, str) and x in DFE_SYMBOLS:
        return x
    q = Decimal(1).scaleb(-ndigits)
    d = _decimal(x).quantize(q, rounding=ROUND_HALF_UP)
    if d == 0:
        d = abs(d)  # no "-0.0"
    return f"{d:,.{max(ndigits, 0)}f}" if thousands else f"{d:.{max(ndigits, 0)}f}"


def fmt_count(x: Real | None, *, missing: str = "") -> str:
    """A whole number with thousands separators (``"12,345"``).

    Examples
    --------
    >>> from evaluate.report.rounding import fmt_count
    >>> fmt_count(12345)
    '12,345'
    >>> fmt_count(2.5)
    '3'
    """
    return fmt_number(x, 0, missing=missing)


def fmt_pct(x: Real | None, ndigits: int = 1, *, missing: str = "") -> str:
    """A percentage already on the 0-100 scale (``"6.8%"``).

    Examples
    --------
    >>> from evaluate.report.rounding import fmt_pct
    >>> fmt_pct(6.849)
    '6.8%'
    >>> fmt_pct(6.849, 2)
    '6.85%'
    """
    s = fmt_number(x, ndigits, missing=missing)
    return f"{s}%" if s != missing else missing


def fmt_pp(x: Real | None, ndigits: int = 1, *, missing: str = "", sign: bool = True) -> str:
    """A difference in percentage points, signed (``"+0.2"``, ``"-0.1"``, ``"0.0"``).

    Examples
    --------
    >>> from evaluate.report.rounding import fmt_pp
    >>> fmt_pp(0.25), fmt_pp(-0.1), fmt_pp(0.04)
    ('+0.3', '-0.1', '0.0')
    >>> fmt_pp(0.25, sign=False)
    '0.3'
    """
    s = fmt_number(x, ndigits, missing=missing)
    if s == missing or not sign:
        return s
    return s if s.startswith("-") or float(s.replace(",", "")) == 0 else f"+{s}"


def year_label(year: int | str) -> str:
    """The academic year that starts in calendar year ``year``: ``2022 -> "2022/23"``.

    Examples
    --------
    >>> from evaluate.report.rounding import year_label
    >>> year_label(2022), year_label("1999")
    ('2022/23', '1999/00')
    """
    y = int(year)
    return f"{y}/{(y + 1) % 100:02d}"
