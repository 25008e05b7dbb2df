"""Moved to :mod:`evaluate.data.la.treatment` (this name works for one release, with a warning)."""

import sys
import warnings

import evaluate.data.la.treatment as _module

warnings.warn("evaluate.data.la_treatment moved to evaluate.data.la.treatment; import it from there", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _module
