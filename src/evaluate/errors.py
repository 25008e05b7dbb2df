"""Errors the package raises for bad input, and how they read.

Every problem with a user's file or argument is an :class:`InputError` that names the
file, the column and the row (when they are known) and says what is wrong, so that
the command line can print one clear line instead of a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class InputError(Exception):
    """A problem with an input file or argument.

    Parameters
    ----------
    message
        What is wrong, in plain words.
    file
        The file in which the problem was found, if any.
    column
        The column, if the problem is in one column.
    row
        The 1-based data row (the header is row 0, so this is the line number minus one
        for a CSV file), if the problem is in one row.

    Examples
    --------
    The message names where the problem is:

    >>> from evaluate import InputError
    >>> str(InputError("not a number: 'abc'", file="absence.csv", column="sess_overall", row=12))
    "file absence.csv, column 'sess_overall', row 12: not a number: 'abc'"
    >>> try:
    ...     raise InputError("column not found", column="school_id")
    ... except InputError as err:
    ...     print(err)
    column 'school_id': column not found
    """

    message: str
    file: str | Path | None = None
    column: str | None = None
    row: int | None = None

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(f"file {self.file}")
        if self.column is not None:
            where.append(f"column '{self.column}'")
        if self.row is not None:
            where.append(f"row {self.row}")
        prefix = ", ".join(where)
        return f"{prefix}: {self.message}" if prefix else self.message


class ConfigError(InputError):
    """A problem with the run configuration (``evaluation.yml``)."""
