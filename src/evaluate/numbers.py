"""The ground floor for numbers: DfE rounding, finite floats and JSON-ready values.

Every other module imports these from here (a test forbids copies): rounding half up on
the decimal number as written (never banker's rounding, never the binary value), a float
or ``None`` for anything that is not a finite number, and one conversion of numpy and
pandas values to plain JSON values. This module imports nothing of the package.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["round_half_up", "half_up_array", "finite", "jsonable", "json_default"]


def _decimal(x: Real | str) -> Decimal:
    # str() gives the shortest repr that round-trips, so 0.125 -> Decimal("0.125")
    # rather than the binary 0.12499999999999999722...
    try:
        return Decimal(str(x))
    except InvalidOperation as exc:
        raise ValueError(f"not a number: {x!r}") from exc


def _missing(x: object) -> bool:
    if x is None:
        return True
    try:
        return bool(isinstance(x, float) and math.isnan(x)) or (x != x)  # noqa: PLR0124
    except TypeError:
        return False


def round_half_up(x: Real | str, ndigits: int = 0) -> float | int:
    """Round ``x`` to ``ndigits`` decimals, halves away from zero (DfE's rule).

    With ``ndigits <= 0`` an ``int`` is returned; otherwise a ``float``. ``None`` and
    NaN are returned unchanged.

    Examples
    --------
    >>> from evaluate.numbers import round_half_up
    >>> round_half_up(0.125, 2), round_half_up(2.5), round_half_up(-2.5)
    (0.13, 3, -3)
    """
    if _missing(x):
        return x  # type: ignore[return-value]
    if isinstance(x, float) and math.isinf(x):
        raise ValueError("cannot round an infinite value")
    q = Decimal(1).scaleb(-ndigits)  # 10 ** -ndigits
    d = _decimal(x).quantize(q, rounding=ROUND_HALF_UP)
    return int(d) if ndigits <= 0 else float(d)


def half_up_array(x: Any, digits: int = 5) -> np.ndarray:
    """Round an array half up (towards +infinity at exactly .5) on its binary values, vectorised.

    For writing many published numbers at once (the synthetic files, the registers'
    school file); a report's numbers go through :func:`round_half_up`.

    Examples
    --------
    >>> from evaluate.numbers import half_up_array
    >>> half_up_array([0.5, 1.25, 2.0], 0).tolist()
    [1.0, 1.0, 2.0]
    """
    f = 10.0**digits
    return np.floor(np.asarray(x, dtype=float) * f + 0.5) / f


def finite(x: Any) -> float | None:
    """``float(x)`` when that is a finite number, else ``None``.

    Examples
    --------
    >>> from evaluate.numbers import finite
    >>> finite("1.5"), finite(float("nan")), finite(None), finite("c")
    (1.5, None, None, None)
    """
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def jsonable(value: Any) -> Any:
    """``value`` with numpy scalars and arrays, pandas frames and non-finite floats made JSON-ready.

    Mappings and sequences are converted recursively; a DataFrame becomes a list of
    records; NaN and infinities become ``None``.

    Examples
    --------
    >>> import numpy as np
    >>> from evaluate.numbers import jsonable
    >>> jsonable({"a": np.int64(2), "b": [np.nan, 1.5], "c": np.array([True])})
    {'a': 2, 'b': [None, 1.5], 'c': [True]}
    """
    import pandas as pd

    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, pd.DataFrame):
        return [jsonable(r) for r in value.to_dict("records")]
    return value


def json_default(obj: Any) -> Any:
    """The ``default=`` of :func:`json.dump` for numpy scalars, paths and timestamps (the one encoder)."""
    import pandas as pd

    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    if hasattr(obj, "model_dump"):  # a typed record (pydantic)
        return obj.model_dump(mode="json")
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")
