"""Moved to :mod:`evaluate.findings.mentors.stage` (this name works for one release, with a warning)."""

import sys
import warnings

import evaluate.findings.mentors.stage as _module

warnings.warn("evaluate.findings.mentor_areas moved to evaluate.findings.mentors.stage; import it from there", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _module
