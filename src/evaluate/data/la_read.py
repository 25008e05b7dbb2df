"""Moved to :mod:`evaluate.data.la.read` (this name works for one release, with a warning)."""

import sys
import warnings

import evaluate.data.la.read as _module

warnings.warn("evaluate.data.la_read moved to evaluate.data.la.read; import it from there", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _module
