"""Moved to :mod:`evaluate.data.la.codes` (this name works for one release, with a warning)."""

import sys
import warnings

import evaluate.data.la.codes as _module

warnings.warn("evaluate.data.la_codes moved to evaluate.data.la.codes; import it from there", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _module
