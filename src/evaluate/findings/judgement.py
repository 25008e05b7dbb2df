"""Stated rules for the design's strength, our confidence in an estimate, and its caveats.

The rules are deliberately simple and printed in the technical annex, so a reader can
check every rating against the numbers it rests on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["NOT_JUDGED", "PRETEST_ALPHA", "RATING_RULE", "RULES", "confidence", "sms_level"]

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


#: Estimators left out of the agreement check: two-way fixed effects is biased when effects
#: vary over time and cohort (it is shown, with its Bacon decomposition, not used to judge).
NOT_JUDGED = ("Two-way fixed effects",)

#: The rating rules in words (printed by the technical annex; checked by the known-truth worlds).
RULES: tuple[str, ...] = (
    f"pre-trends: the joint Wald test that every pre-treatment effect outside the anticipation years is zero "
    f"is not rejected at {PRETEST_ALPHA:.0%};",
    "balance: after matching or weighting, no matching variable of a cohort with 30 or more treated schools "
    "differs by more than 0.1 standardised mean differences;",
    "agreement: every other estimator robust to staggered adoption (Callaway-Sant'Anna on all comparison "
    "schools, Sun-Abraham, imputation) has the headline's sign and lies within the headline interval widened "
    "by its half-width.",
)
RATING_RULE = ("**Low** whenever the pre-trend test rejects (a design whose groups already moved apart before "
               "the programme cannot be trusted, however the other checks come out); **high** only when all "
               "three checks hold; **moderate** otherwise.")


def confidence(*, pretest_p: float | None, imbalanced: Sequence[str], estimates: Mapping[str, float],
               headline: float, ci: tuple[float, float]) -> dict[str, Any]:
    """How confident the evidence lets us be in a headline estimate: ``high``, ``moderate`` or ``low``.

    Rules (:data:`RULES`, each recorded in ``checks``):

    - pre-trends: the Wald test of the pre-treatment effects (outside the anticipation
      years) is not rejected at 5%;
    - balance: no matching variable has an absolute standardised difference above 0.1 after
      matching or weighting (``imbalanced`` empty);
    - agreement: every other estimator robust to staggered adoption (those in ``estimates``
      but :data:`NOT_JUDGED`) has the headline's sign and lies inside the headline's 95%
      interval widened by its own half-width.

    ``low`` whenever the pre-trend test fails, ``high`` when all three hold, ``moderate``
    otherwise (:data:`RATING_RULE`). The known-truth worlds check the rules: a world
    whose parallel trends fail must never be rated high (``evaluate validate``).

    Examples
    --------
    Estimators that agree, balanced covariates and no pre-trend give ``high``:

    >>> from evaluate.findings import confidence
    >>> out = confidence(pretest_p=0.40, imbalanced=[], estimates={"Sun-Abraham": 1.6, "Imputation": 1.55},
    ...                  headline=1.5, ci=(1.3, 1.7))
    >>> out["rating"], out["checks"]["agreement"]
    ('high', {'ok': True, 'disagree': []})

    A failed pre-trend test caps the rating at ``low``, whatever else holds:

    >>> confidence(pretest_p=0.01, imbalanced=[], estimates={"Sun-Abraham": 1.6}, headline=1.5,
    ...            ci=(1.3, 1.7))["rating"]
    'low'

    Two-way fixed effects is shown but not judged:

    >>> confidence(pretest_p=0.40, imbalanced=[], estimates={"Two-way fixed effects": -0.5}, headline=1.5,
    ...            ci=(1.3, 1.7))["rating"]
    'high'
    """
    pre_ok = pretest_p is None or (isinstance(pretest_p, float) and math.isnan(pretest_p)) or pretest_p >= PRETEST_ALPHA
    bal_ok = len(imbalanced) == 0
    # no interval (one cluster): agreement is judged on the sign alone
    has_ci = ci is not None and ci[0] is not None and ci[1] is not None
    half = (ci[1] - ci[0]) / 2 if has_ci else 0.0
    disagree = sorted(k for k, v in estimates.items()
                      if k not in NOT_JUDGED and v is not None and math.isfinite(v)
                      and ((v > 0) != (headline > 0) or (has_ci and not (ci[0] - half <= v <= ci[1] + half))))
    agree_ok = not disagree
    if not pre_ok:
        rating = "low"
    elif bal_ok and agree_ok:
        rating = "high"
    else:
        rating = "moderate"
    return {"rating": rating,
            "checks": {"pretrends": {"ok": pre_ok, "p_value": pretest_p, "alpha": PRETEST_ALPHA},
                       "balance": {"ok": bal_ok, "imbalanced": list(imbalanced)},
                       "agreement": {"ok": agree_ok, "disagree": disagree}}}
