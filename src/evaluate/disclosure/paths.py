"""Paths from a configuration may not escape the project's folders.

A run configuration is data from a user, possibly from someone else: a path in it is
resolved against the configuration's folder (the project), may not contain ``..``, and
after symbolic links are followed must lie inside the project. Data may also be read
from folders the user allows in the environment variable ``EVALUATE_DATA_ROOTS``
(``os.pathsep``-separated; the environment is the user's own, a configuration file is
not), e.g. a shared folder of real DfE files.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePath
from typing import Literal

from evaluate.errors import InputError

#: Environment variable listing extra folders data may be read from.
ROOTS_ENV = "EVALUATE_DATA_ROOTS"


def allowed_roots() -> list[Path]:
    """The folders of ``$EVALUATE_DATA_ROOTS``, resolved."""
    raw = os.environ.get(ROOTS_ENV, "")
    return [Path(p).expanduser().resolve() for p in raw.split(os.pathsep) if p.strip()]


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def safe_path(path: str | PurePath, *, base: str | Path, setting: str,
              mode: Literal["read", "write"] = "read", file: str | None = None) -> Path:
    """Resolve a path from a configuration, refusing one that escapes the project.

    Parameters
    ----------
    path
        The path as written in the configuration.
    base
        The project folder (the configuration file's folder).
    setting
        The setting's name, for the message (e.g. ``data.dir``).
    mode
        ``"read"`` also allows the folders of ``$EVALUATE_DATA_ROOTS``; ``"write"``
        allows the project only.
    file
        The configuration file, for the message.

    Raises
    ------
    InputError
        The path contains ``..``, or resolves outside the allowed folders.

    Examples
    --------
    >>> import tempfile
    >>> from evaluate.disclosure import safe_path
    >>> base = tempfile.mkdtemp()
    >>> safe_path("data/synthetic", base=base, setting="data.dir").relative_to(base).as_posix()
    'data/synthetic'
    >>> safe_path("../../etc", base=base, setting="output", mode="write")
    Traceback (most recent call last):
    ...
    evaluate.errors.InputError: column 'output': the path '../../etc' contains '..'; paths in a configuration must stay inside the project folder
    """
    raw = PurePath(path)
    if ".." in raw.parts:
        raise InputError(f"the path '{path}' contains '..'; paths in a configuration must stay inside "
                         "the project folder", file=file, column=setting)
    if any(ch in str(path) for ch in ("\x00", "\n", "\r")):
        raise InputError(f"the path {str(path)!r} holds a control character", file=file, column=setting)
    root = Path(base).resolve()
    resolved = (Path(path) if raw.is_absolute() else root / raw).expanduser().resolve()
    if _within(resolved, root):
        return resolved
    if mode == "read" and any(_within(resolved, r) for r in allowed_roots()):
        return resolved
    extra = f" or a folder listed in ${ROOTS_ENV}" if mode == "read" else ""
    raise InputError(f"the path '{path}' is outside the project folder {root}{extra}", file=file,
                     column=setting)
