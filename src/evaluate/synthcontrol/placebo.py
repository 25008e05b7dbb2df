"""Placebo in space: every donor in turn as the treated unit, as one table.

:func:`synthetic_control` and :func:`synthetic_did` already report the placebo p-value of
each cohort; :func:`placebo_in_space` returns the placebos themselves (one row per cohort and
unit: the treated set and every donor), for tables and for checking the p-value by hand.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evaluate.errors import InputError
from evaluate.synthcontrol.core import sc_fit, sdid_fit
from evaluate.synthcontrol.model import designs
from evaluate.synthcontrol.refits import placebo_fits

__all__ = ["placebo_in_space"]


def placebo_in_space(data: pd.DataFrame, *, outcome: str, unit: str, time: str, method: str = "sdid",
                     treated_units: Sequence | None = None, cohort: str | None = None,
                     treat_time=None) -> pd.DataFrame:
    """Every donor in turn as the pseudo-treated unit (Abadie, Diamond and Hainmueller 2010).

    Parameters
    ----------
    data, outcome, unit, time, treated_units, cohort, treat_time
        As :func:`evaluate.synthcontrol.synthetic_did`.
    method
        ``"sdid"`` (refits keep the penalties of the treated fit and start from its weights,
        as R ``synthdid``'s placebo) or ``"sc"``.

    Returns
    -------
    pandas.DataFrame
        One row per cohort and unit: ``cohort``, ``unit``, ``role`` (``"treated"`` for the
        treated mean, ``"placebo"``), ``estimate``, ``pre_rmspe``, ``post_rmspe``, ``ratio``
        (post / pre), ``rank_abs`` and ``rank_ratio`` (1 = most extreme) and ``p_value``
        (treated row only: rank of ``|estimate|`` for SDID, of ``ratio`` for SC, over
        ``N0 + 1``). Cohorts that are not estimable have one row with ``role`` =
        ``"not estimable"`` and the reason in ``note``.

    Examples
    --------
    >>> from evaluate.synthcontrol import example_la_panel, placebo_in_space
    >>> panel = example_la_panel(n_las=20, n_periods=10, effect=-5.0, seed=3)
    >>> tab = placebo_in_space(panel, outcome="y", unit="la_code", time="t", cohort="cohort",
    ...                        method="sc")
    >>> tab["role"].value_counts().to_dict()
    {'placebo': 19, 'treated': 1}
    >>> float(tab.loc[tab["role"] == "treated", "p_value"].iloc[0])
    0.05
    """
    if method not in ("sdid", "sc"):
        raise InputError(f"method must be 'sdid' or 'sc', not {method!r}")
    ds, _ = designs(data, outcome=outcome, unit=unit, time=time, treated_units=treated_units,
                    cohort=cohort, treat_time=treat_time)
    frames = []
    for dz in ds:
        if dz.Y is None:
            frames.append(pd.DataFrame([{"cohort": dz.cohort, "unit": None, "role": "not estimable",
                                         "note": dz.reason}]))
            continue
        Y, N0, T0 = dz.Y, dz.N0, dz.T0
        fit = (sdid_fit if method == "sdid" else sc_fit)(Y, N0, T0)
        pl = placebo_fits(Y, N0, T0, fit, method)
        gap = fit.gap
        est = np.append(fit.tau, pl["tau"])
        pre = np.append(np.sqrt(np.mean(gap[:T0] ** 2)), pl["pre_rmspe"])
        post = np.append(np.sqrt(np.mean(gap[T0:] ** 2)), pl["post_rmspe"])
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = post / pre
        f = pd.DataFrame({"cohort": dz.cohort, "unit": ["treated: " + ", ".join(map(str, dz.treated))]
                          + [str(u) for u in dz.donors], "role": ["treated"] + ["placebo"] * N0,
                          "estimate": est, "pre_rmspe": pre, "post_rmspe": post, "ratio": ratio})
        f["rank_abs"] = (-np.abs(f["estimate"])).rank(method="max").astype(int)
        f["rank_ratio"] = (-f["ratio"]).rank(method="max").astype(int)
        crit = np.abs(est) if method == "sdid" else ratio
        p = np.sum(crit >= crit[0] * (1 - 1e-12)) / (N0 + 1)
        f["p_value"] = [p] + [np.nan] * N0
        f["note"] = ""
        frames.append(f)
    return pd.concat(frames, ignore_index=True)
