"""A small simulated staggered-adoption panel for the documentation's examples."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["example_panel", "example_school_panel"]


def example_panel(n_units: int = 200, seed: int = 0, *, start: int = 1) -> pd.DataFrame:
    """A small simulated staggered-adoption panel, for examples and quick experiments.

    Six periods (``start`` to ``start + 5``, by default 1 to 6); each unit is in cohort 0
    (never treated) or first treated in the third, fourth or fifth period (cohorts 3, 4
    and 5 by default), with equal probability. The outcome is a unit effect, a
    common trend, ``0.5 * x`` and a treatment effect of ``1 + 0.5 * (period - cohort)``
    from the cohort's first period on, plus normal noise. Parallel trends hold by
    construction.

    Parameters
    ----------
    n_units
        Number of units.
    seed
        Seed of the random number generator: the same seed gives the same panel.
    start
        The first period (for example a calendar year, ``start=2018``). The random draws
        do not depend on it.

    Returns
    -------
    pandas.DataFrame
        One row per unit and period, columns ``id``, ``period``, ``cohort``, ``y``
        (outcome) and ``x`` (a time-varying covariate).

    Examples
    --------
    >>> from evaluate.did import example_panel
    >>> panel = example_panel(n_units=50, seed=1)
    >>> panel.shape
    (300, 5)
    >>> list(panel.columns)
    ['id', 'period', 'cohort', 'y', 'x']
    >>> sorted(panel["cohort"].unique().tolist())
    [0, 3, 4, 5]
    >>> years = example_panel(n_units=50, seed=1, start=2018)
    >>> sorted(years["cohort"].unique().tolist()), int(years["period"].max())
    ([0, 2020, 2021, 2022], 2023)
    """
    rng = np.random.default_rng(seed)
    periods = np.arange(1, 7)
    ids = np.repeat(np.arange(1, n_units + 1), len(periods))
    period = np.tile(periods, n_units)
    cohort = np.repeat(rng.choice([0, 3, 4, 5], n_units), len(periods))
    unit_effect = np.repeat(rng.normal(0.0, 1.0, n_units), len(periods))
    x = rng.normal(0.0, 1.0, len(ids))
    treated = (cohort > 0) & (period >= cohort)
    effect = np.where(treated, 1.0 + 0.5 * (period - cohort), 0.0)
    y = unit_effect + 0.3 * period + 0.5 * x + effect + rng.normal(0.0, 0.5, len(ids))
    shift = start - 1
    return pd.DataFrame({"id": ids, "period": period + shift,
                         "cohort": np.where(cohort > 0, cohort + shift, 0), "y": y, "x": x})


def example_school_panel(n_units: int = 200, seed: int = 0) -> pd.DataFrame:
    """:func:`example_panel` with the school panel's column names, from 2018/19, in four hubs.

    Columns ``school_id``, ``year`` (2018 to 2023), ``cohort``, ``overall_absence_rate``, ``x``
    and ``hub_id`` (``school_id % 4``): enough for :func:`evaluate.findings.programme_findings`
    and :func:`evaluate.findings.robustness.programme_robustness` in examples.

    Examples
    --------
    >>> from evaluate.did import example_school_panel
    >>> panel = example_school_panel()
    >>> sorted(panel.columns)
    ['cohort', 'hub_id', 'overall_absence_rate', 'school_id', 'x', 'year']
    """
    panel = example_panel(n_units, seed, start=2018).rename(
        columns={"id": "school_id", "period": "year", "y": "overall_absence_rate"})
    panel["hub_id"] = panel["school_id"] % 4  # four hubs
    return panel
