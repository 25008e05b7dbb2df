"""Moved to :mod:`evaluate.sensitivity.pretrend_power` (this name works for one release, with a warning)."""

import sys
import warnings

import evaluate.sensitivity.pretrend_power as _module

warnings.warn("evaluate.sensitivity.power moved to evaluate.sensitivity.pretrend_power; import it from there", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _module
