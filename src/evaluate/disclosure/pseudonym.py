"""Pseudonymised pupil identifiers, and the check that none reaches a published file.

Pupil identifiers (UPNs, register ids) are replaced by a keyed hash (HMAC-SHA256) before
any intermediate file is written. The key comes from the environment variable
``EVALUATE_PSEUDONYM_KEY`` and is never stored in the repository or the outputs: without
the key nobody can go back from a pseudonym to a pupil, and with the same key the same
pupil gets the same pseudonym in every run (so files can be linked).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from evaluate.errors import InputError

#: The environment variable holding the pseudonymisation key.
KEY_ENV = "EVALUATE_PSEUDONYM_KEY"

#: Column names that look like pupil identifiers.
ID_NAME = re.compile(r"(^|_)(pupil|upn|uln|candidate|student|child|person)_?(id|ref|number|no|key|identifier)$"
                     r"|^(upn|uln|pupil|pupil_?id|pupilmatchingref\w*)$", re.IGNORECASE)
#: Values that look like a DfE unique pupil number (a letter, 11 digits, a digit or letter).
UPN_VALUE = re.compile(r"^[A-Z]\d{11}[0-9A-Z]$")


def _key(key: str | bytes | None) -> bytes:
    if key is None:
        key = os.environ.get(KEY_ENV)
    if not key:
        raise InputError(f"no pseudonymisation key: set the environment variable {KEY_ENV} to a secret "
                         "(at least 16 characters) kept outside the repository", column=KEY_ENV)
    raw = key.encode() if isinstance(key, str) else key
    if len(raw) < 16:
        raise InputError("the pseudonymisation key is too short: use at least 16 characters",
                         column=KEY_ENV)
    return raw


def pseudonymise(ids: Iterable[object], *, key: str | bytes | None = None, length: int = 64) -> pd.Series:
    """Keyed hashes of pupil identifiers (hex, ``length`` characters).

    Parameters
    ----------
    ids
        The identifiers (any type; compared as text, so ``123`` and ``"123"`` agree).
    key
        The secret; default: ``$EVALUATE_PSEUDONYM_KEY``. Missing or shorter than 16
        characters is an :class:`~evaluate.errors.InputError`.
    length
        Hex characters kept (64: the whole HMAC-SHA256; 32 = 128 bits is already free of
        collisions in practice).

    Examples
    --------
    >>> from evaluate.disclosure import pseudonymise
    >>> p = pseudonymise(["A123456789012", "A123456789012", "B000000000001"], key="a secret of 16+ chars")
    >>> p.str.len().tolist(), p[0] == p[1], p[0] == p[2]
    ([64, 64, 64], True, False)
    """
    k = _key(key)
    values = pd.Series(list(ids) if not isinstance(ids, pd.Series) else ids, copy=False)
    cache: dict[str, str] = {}

    def one(v: object) -> str:
        s = str(v)
        if s not in cache:
            cache[s] = hmac.new(k, s.encode("utf-8"), hashlib.sha256).hexdigest()[:length]
        return cache[s]

    return values.map(one).astype(object).rename(values.name)


def pupil_id_columns(frame: pd.DataFrame) -> list[str]:
    """Columns of ``frame`` that look like pupil identifiers, by name or by value.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluate.disclosure import pupil_id_columns
    >>> pupil_id_columns(pd.DataFrame({"pupil_id": [1], "urn": [100000], "ref": ["A123456789012"]}))
    ['pupil_id', 'ref']
    """
    out = []
    for c in frame.columns:
        if ID_NAME.search(str(c)):
            out.append(str(c))
            continue
        col = frame[c]
        if col.dtype == object or pd.api.types.is_string_dtype(col):
            sample = col.dropna().astype(str).head(200)
            if len(sample) and sample.map(lambda s: bool(UPN_VALUE.match(s))).mean() > 0.5:
                out.append(str(c))
    return out


def write_pupil_panel(panel: pd.DataFrame, path: str | Path, *, key: str | bytes | None = None,
                      id_columns: Sequence[str] = ("pupil_id",)) -> Path:
    """Write a pupil-level intermediate file (working area only) with pseudonymised identifiers.

    Parameters
    ----------
    panel
        Pupil-level frame.
    path
        Destination, ``.parquet`` or ``.csv``; never under a folder named ``results`` or
        ``reports`` (only aggregates are published).
    key
        Pseudonymisation key; ``None`` reads ``EVALUATE_PSEUDONYM_KEY``.
    id_columns
        Identifier columns replaced by their pseudonyms.

    Raises
    ------
    InputError
        A path under ``results``/``reports``, an unknown suffix, a missing id column, or no key.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluate.disclosure import write_pupil_panel
    >>> df = pd.DataFrame({"pupil_id": [1, 2], "year": [2022, 2022], "sess_overall": [3, 40]})
    >>> out = write_pupil_panel(df, "pupils.csv", key="a-secret-of-16-chars")
    >>> pd.read_csv(out)["pupil_id"].str.len().tolist()
    [64, 64]
    """
    path = Path(path)
    if {"results", "reports"} & set(path.resolve().parts):
        raise InputError("pupil-level frames are never written under results/ or reports/ (only aggregates)",
                         file=str(path))
    if path.suffix not in (".parquet", ".csv"):
        raise InputError(f"write pupil panels as .parquet or .csv, not {path.suffix!r}", file=str(path))
    out = panel.copy()
    for c in id_columns:
        if c not in out.columns:
            raise InputError("identifier column not found", file=str(path), column=c)
        out[c] = pseudonymise(out[c], key=key).to_numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".parquet":
        out.to_parquet(path, index=False)
    else:
        out.to_csv(path, index=False)
    return path
