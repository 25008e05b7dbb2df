"""Moved to :mod:`evaluate.data.la.synthetic` (this name works for one release, with a warning)."""

import sys
import warnings

import evaluate.data.la.synthetic as _module

warnings.warn("evaluate.data.la_synthetic moved to evaluate.data.la.synthetic; import it from there", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _module
