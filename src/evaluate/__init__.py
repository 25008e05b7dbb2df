"""Reproducible evaluation of England's school-attendance programmes.

The package turns Department for Education (DfE) absence files into a validated
analysis panel, estimates the effect of attendance hubs and attendance mentors with
difference-in-differences, and renders the results into Quarto reports.
"""

import warnings

from evaluate.errors import InputError

# pandera imports pyspark.pandas whenever PySpark is installed (it is, for the Spark test of
# the registers stage), and PySpark warns about pandas 3 on import. The package never uses
# pyspark.pandas; the warning would only clutter every command's output.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas",
                        category=FutureWarning)

__all__ = ["InputError", "__version__"]
__version__ = "0.1.0"
