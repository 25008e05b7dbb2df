"""Randomization (permutation) inference for staggered adoption.

The adoption schedule is permuted across clusters (hubs, areas) or units, keeping the
number of clusters in each cohort fixed, and the estimator is recomputed on every
permuted panel. Under the sharp null of no effect for anyone, the observed estimate is a
draw from this permutation distribution, so the test is exact in finite samples whatever
the number of clusters (Fisher; see e.g. MacKinnon and Webb 2020 for DiD).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from evaluate.errors import InputError

__all__ = ["randomization_inference"]


def randomization_inference(data: pd.DataFrame, *, estimator: Callable[[pd.DataFrame], float], unit: str,
                            cohort: str, cluster: str | None = None, draws: int = 999,
                            seed: int | None = None) -> dict[str, Any]:
    """Permutation p-value for a scalar estimate under the sharp null of no effect.

    Parameters
    ----------
    data
        Unit x period panel.
    estimator
        ``estimator(data) -> float``, e.g. ``lambda d: imputation(d, ...).estimates["ATT"]``.
        It is called on the data as given, then on copies whose ``cohort`` column has been
        permuted.
    unit, cohort
        Unit and cohort (first treated period, 0 never treated) columns.
    cluster
        Permute whole clusters (the cohort must be constant within a cluster); default:
        permute units.
    draws
        Number of random permutations.
    seed
        Seed for :func:`numpy.random.default_rng`.

    Returns
    -------
    dict
        ``observed``, ``null_distribution`` (array of ``draws`` estimates), ``p_value``
        (``(1 + #{|null| >= |observed|}) / (draws + 1)``), ``draws``, ``n_blocks`` (units
        or clusters permuted) and ``settings``.

    Examples
    --------
    Permute the cohorts across units and recompute the TWFE estimate:

    >>> from evaluate.did import example_panel, randomization_inference, twfe
    >>> panel = example_panel(n_units=60, seed=0)
    >>> def estimator(d):
    ...     res = twfe(d, outcome="y", unit="id", time="period", cohort="cohort")
    ...     return res.estimates["treated"]
    >>> out = randomization_inference(panel, estimator=estimator, unit="id", cohort="cohort",
    ...                               draws=49, seed=1)
    >>> out["p_value"]
    0.02
    >>> out["null_distribution"].shape
    (49,)
    """
    for col in [unit, cohort] + ([cluster] if cluster else []):
        if col not in data.columns:
            raise InputError("column not found", column=col)
    block = cluster or unit
    per_block = data.groupby(block, sort=True)[cohort].nunique(dropna=False)
    if (per_block > 1).any():
        bad = per_block.index[np.flatnonzero(per_block.to_numpy() > 1)[0]]
        raise InputError(f"cohort varies within {block} {bad!r}: cannot permute adoption by {block}",
                         column=cohort)
    if draws < 1:
        raise InputError("draws must be at least 1")
    blocks = data.groupby(block, sort=True)[cohort].first()
    labels = blocks.index
    schedule = blocks.to_numpy()
    codes = pd.Index(labels).get_indexer(data[block])
    observed = float(estimator(data))
    rng = np.random.default_rng(seed)
    null = np.empty(draws)
    work = data.copy()
    for b in range(draws):
        perm = schedule[rng.permutation(schedule.size)]
        work[cohort] = perm[codes]
        null[b] = float(estimator(work))
    finite = np.isfinite(null)
    exceed = np.sum(np.abs(null[finite]) >= abs(observed) * (1 - 1e-12))
    p = (1 + exceed) / (1 + finite.sum())
    settings = {"unit": unit, "cohort": cohort, "cluster": cluster, "draws": draws, "seed": seed,
                "permuted": block, "p_value": "(1 + #{|null| >= |observed|}) / (draws + 1)"}
    return {"observed": observed, "null_distribution": null, "p_value": float(p), "draws": draws,
            "n_blocks": int(schedule.size), "n_failed": int((~finite).sum()), "settings": settings}
