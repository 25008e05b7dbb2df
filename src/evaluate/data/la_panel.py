"""Moved to :mod:`evaluate.data.la.panel` (this name works for one release, with a warning)."""

import sys
import warnings

import evaluate.data.la.panel as _module

warnings.warn("evaluate.data.la_panel moved to evaluate.data.la.panel; import it from there", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _module
