"""Moved to :mod:`evaluate.findings.mentors.pupils` (this name works for one release, with a warning)."""

import sys
import warnings

import evaluate.findings.mentors.pupils as _module

warnings.warn("evaluate.findings.mentoring_pupils moved to evaluate.findings.mentors.pupils; import it from there", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _module
