"""Moved to :mod:`evaluate.findings.mentors.la` (this name works for one release, with a warning)."""

import sys
import warnings

import evaluate.findings.mentors.la as _module

warnings.warn("evaluate.findings.mentors_la moved to evaluate.findings.mentors.la; import it from there", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _module
