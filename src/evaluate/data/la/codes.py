"""Local-authority codes across the April 2023 reorganisation.

On 1 April 2023 three county councils became unitary authorities with new ONS codes.
DfE's attendance files of 2022/23 use the old county codes until the last release of the
year and the new codes from then on, so a panel across years must map old to new:

- North Yorkshire ``E10000023`` -> ``E06000065`` (same area: mapped one-to-one),
- Somerset ``E10000027`` -> ``E06000066`` (same area: mapped one-to-one),
- Cumbria ``E10000006`` split into Cumberland ``E06000063`` and Westmorland and Furness
  ``E06000064``. A split cannot be mapped one-to-one, so the panel keeps the old area:
  from the release where the new codes appear (2022/23's year-end release), the two
  successors' rows are summed back into Cumbria, release by release (counts add up
  across LAs; :func:`evaluate.data.la.read.read_la_releases` does it and records it).
  One continuous Cumbria series replaces three broken ones, and no pupil is counted in
  two comparison areas.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

__all__ = ["harmonise_codes"]

#: Old county code -> new unitary code, where the area is unchanged (one-to-one).
ONE_TO_ONE: Mapping[str, str] = {
    "E10000023": "E06000065",  # North Yorkshire
    "E10000027": "E06000066",  # Somerset
}

#: Old codes whose area was split: old code -> new codes (the new codes' rows are summed
#: back into the old area).
SPLITS: Mapping[str, tuple[str, ...]] = {
    "E10000006": ("E06000063", "E06000064"),  # Cumbria -> Cumberland, Westmorland and Furness
}

#: Prefixes of current LA codes (unitary, metropolitan district, London borough, county).
LA_PREFIXES = ("E06", "E08", "E09", "E10")


def harmonise_codes(codes: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Map old county codes to the current unitary codes.

    Parameters
    ----------
    codes
        LA codes as published (``new_la_code``).

    Returns
    -------
    mapped, split
        ``mapped``: the current code of each row (old codes of split areas unchanged);
        ``split``: True where the row's code is the old code of a split area.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluate.data.la.codes import harmonise_codes
    >>> mapped, split = harmonise_codes(pd.Series(["E10000023", "E10000006", "E06000002"]))
    >>> list(mapped), list(split)
    (['E06000065', 'E10000006', 'E06000002'], [False, True, False])
    """
    text = codes.astype(object)
    mapped = text.map(lambda c: ONE_TO_ONE.get(c, c))
    split = text.isin(list(SPLITS)).astype(bool)
    return mapped, split
