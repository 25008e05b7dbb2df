"""Moved to :mod:`evaluate.check` (this name works for one release, with a warning).

``evaluate data check`` reads every kind of file, register marks included, so it sits
above both :mod:`evaluate.data` and :mod:`evaluate.registers`.
"""

import sys
import warnings

import evaluate.check as _module  # layering: deprecated shim

warnings.warn("evaluate.data.check moved to evaluate.check; import it from there", DeprecationWarning, stacklevel=2)
sys.modules[__name__] = _module
