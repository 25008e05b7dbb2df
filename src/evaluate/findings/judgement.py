"""Stated rules for the design's strength, our confidence in an estimate, and its caveats.

The rules are deliberately simple and printed in the technical annex, so a reader can
check every rating against the numbers it rests on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["PRETEST_ALPHA", "confidence", "sms_level"]

#: Level below which the Wald pre-test is read as evidence against parallel pre-trends.
PRETEST_ALPHA = 0.05


def sms_level(*, matched: bool) -> dict[str, Any]:
    """The Maryland Scientific Methods Scale level of a difference-in-differences design.

    A before-and-after comparison with a comparison group providing the counterfactual is
    level 3 (What Works Centre for Local Economic Growth's scoring guide), matched or not:
    level 4 needs quasi-random assignment (an instrument or a discontinuity), level 5 a
    randomised trial.

    Examples
    --------
    >>> from evaluate.findings import sms_level
    >>> design = sms_level(matched=True)
    >>> design["level"], design["design"]
    (3, 'difference-in-differences against matched comparison schools')
    """
    design = ("difference-in-differences against matched comparison schools" if matched
              else "difference-in-differences against never-treated comparison schools")
    return {"level": 3, "design": design,
            "reason": "outcomes before and after, with a comparison group providing the counterfactual; "
                      "assignment was not random"}


def confidence(*, pretest_p: float | None, imbalanced: Sequence[str], estimates: Mapping[str, float],
               headline: float, ci: tuple[float, float]) -> dict[str, Any]:
    """How confident the evidence lets us be in a headline estimate: ``high``, ``moderate`` or ``low``.

    Rules (each recorded in ``checks``):

    - pre-trends: the Wald test of all pre-treatment effects is not rejected at 5%;
    - balance: no matching variable has an absolute standardised difference above 0.1 after
      matching (``imbalanced`` empty);
    - agreement: every other estimator's estimate has the headline's sign and lies inside
      the headline's 95% interval widened by its own half-width.

    ``high`` when all three hold, ``low`` when the pre-trend test fails and the estimators
    disagree, ``moderate`` otherwise.

    Examples
    --------
    Estimators that agree, balanced covariates and no pre-trend give ``high``:

    >>> from evaluate.findings import confidence
    >>> out = confidence(pretest_p=0.40, imbalanced=[], estimates={"twfe": 1.2, "imputation": 1.6},
    ...                  headline=1.5, ci=(1.3, 1.7))
    >>> out["rating"], out["checks"]["agreement"]
    ('high', {'ok': True, 'disagree': []})
    >>> confidence(pretest_p=0.01, imbalanced=[], estimates={"twfe": -0.5}, headline=1.5,
    ...            ci=(1.3, 1.7))["rating"]
    'low'
    """
    pre_ok = pretest_p is None or (isinstance(pretest_p, float) and math.isnan(pretest_p)) or pretest_p >= PRETEST_ALPHA
    bal_ok = len(imbalanced) == 0
    half = (ci[1] - ci[0]) / 2
    disagree = sorted(k for k, v in estimates.items()
                      if v is not None and math.isfinite(v)
                      and ((v > 0) != (headline > 0) or not (ci[0] - half <= v <= ci[1] + half)))
    agree_ok = not disagree
    if pre_ok and bal_ok and agree_ok:
        rating = "high"
    elif not pre_ok and not agree_ok:
        rating = "low"
    else:
        rating = "moderate"
    return {"rating": rating,
            "checks": {"pretrends": {"ok": pre_ok, "p_value": pretest_p, "alpha": PRETEST_ALPHA},
                       "balance": {"ok": bal_ok, "imbalanced": list(imbalanced)},
                       "agreement": {"ok": agree_ok, "disagree": disagree}}}
