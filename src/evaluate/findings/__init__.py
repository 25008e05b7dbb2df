"""What a programme report shows, computed once: the findings behind ``results/<programme>.json``.

- :func:`programme_findings` (``build.py``): for every outcome, the headline estimate (the
  design's Callaway-Sant'Anna simple aggregate), the event study, estimates by wave, phase
  and disadvantage, the estimators side by side with the Bacon decomposition, absence over
  time for the treated and comparison schools, and the effect in days per pupil per year;
- ``judgement.py``: the design's Scientific Methods Scale level, how confident the
  evidence lets us be (pre-trends, balance, agreement of estimators) and the caveats, by
  stated rules.

Reports read the JSON and never estimate (``reports/*.qmd``).
"""

from __future__ import annotations

from evaluate.findings.build import OUTCOME_LABELS, programme_findings
from evaluate.findings.judgement import confidence, sms_level

__all__ = ["OUTCOME_LABELS", "confidence", "programme_findings", "sms_level"]
