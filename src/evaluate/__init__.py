"""Reproducible evaluation of England's school-attendance programmes.

The package turns Department for Education (DfE) absence files into a validated
analysis panel, estimates the effect of attendance hubs and attendance mentors with
difference-in-differences, and renders the results into Quarto reports.
"""

from evaluate.errors import InputError

__all__ = ["InputError", "__version__"]
__version__ = "0.1.0"
