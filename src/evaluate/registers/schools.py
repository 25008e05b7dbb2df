"""School details for the EES school file, from a GIAS establishment extract.

:meth:`evaluate.registers.RegisterMeasures.to_ees` needs each school's LA, region and
phase (the registers hold only URNs); this reads them from ``edubasealldata.csv`` the
way the data layer reads GIAS (:func:`evaluate.data.gias.read_establishments`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["gias_school_details"]

_PRIMARY = {"Primary", "Middle deemed primary", "Nursery"}
_SECONDARY = {"Secondary", "Middle deemed secondary", "All-through", "16 plus"}


def gias_school_details(path: str | Path, *, label: str | None = None) -> pd.DataFrame:
    """``school_urn`` and EES geography and phase of every establishment in a GIAS extract.

    Columns: ``school_urn, old_la_code, new_la_code, la_name, region_name, school_laestab,
    school_name, education_phase`` (``new_la_code`` from ``DistrictAdministrative
    (code)``, ``region_name`` from ``GOR (name)``). Phase: special schools (type or
    group names with "special") are ``Special``, pupil referral units and alternative
    provision ``State-funded AP school``, otherwise ``PhaseOfEducation (name)``:
    primary, middle deemed primary and nursery -> ``State-funded primary``; secondary,
    middle deemed secondary, all-through and 16 plus -> ``State-funded secondary``;
    anything else ``Total``.

    Raises
    ------
    InputError
        As :func:`evaluate.data.gias.read_establishments`.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from evaluate.synthetic import generate
    >>> from evaluate.registers import gias_school_details
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     _ = generate(folder, seed=2, n_schools=50)
    ...     d = gias_school_details(pathlib.Path(folder) / "gias" / "edubasealldata.csv")
    >>> sorted(d["education_phase"].unique())[:2]
    ['Special', 'State-funded AP school']
    """
    from evaluate.data.gias import read_establishments

    e = read_establishments(path, label=label).frame

    def col(name: str) -> pd.Series:
        if name in e.columns:
            return e[name].astype(object).where(e[name].notna(), "").astype(str)
        return pd.Series("", index=e.index)

    kind = (col("TypeOfEstablishment (name)") + " " + col("EstablishmentTypeGroup (name)")).str.lower()
    phase = col("PhaseOfEducation (name)")
    education_phase = np.select(
        [kind.str.contains("special"),
         kind.str.contains("pupil referral") | kind.str.contains("alternative provision"),
         phase.isin(_PRIMARY), phase.isin(_SECONDARY)],
        ["Special", "State-funded AP school", "State-funded primary", "State-funded secondary"],
        "Total")
    la = col("LA (code)")
    return pd.DataFrame({
        "school_urn": e["URN"].astype("int64").to_numpy(),
        "old_la_code": la.to_numpy(),
        "new_la_code": col("DistrictAdministrative (code)").to_numpy(),
        "la_name": col("LA (name)").to_numpy(),
        "region_name": col("GOR (name)").to_numpy(),
        "school_laestab": (la + col("EstablishmentNumber")).to_numpy(),
        "school_name": col("EstablishmentName").to_numpy(),
        "education_phase": education_phase,
    })
