"""A simulated LA x period panel (interactive fixed effects) with a planted effect."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["example_la_panel"]


def example_la_panel(n_las: int = 40, n_periods: int = 12, *, effect: float = -1.0,
                     cohorts: tuple[tuple[int, int], ...] = ((9, 1),), n_factors: int = 2,
                     noise: float = 0.3, seed: int = 0) -> pd.DataFrame:
    """A small LA x period panel from a factor model, with a planted effect.

    ``y_it = 5 + a_i + b_t + l_i' f_t + effect * treated_it + e_it`` with unit effects
    ``a_i ~ N(0, 1)``, period effects ``b_t`` (a seasonal sine), ``n_factors`` loadings
    ``l_i ~ N(0, 1)`` on random-walk factors ``f_t`` and noise ``e ~ N(0, noise^2)``.
    Treated units are drawn from the top of the loading distribution (selection on the
    factor, so a plain DiD is biased while synthetic methods are not).

    Parameters
    ----------
    n_las, n_periods
        Units and periods (``t = 1 .. n_periods``).
    effect
        Treatment effect from the cohort's first period on.
    cohorts
        ``(first treated period, number of units)`` pairs.
    n_factors, noise
        Factor-model settings.
    seed
        Random seed.

    Returns
    -------
    pandas.DataFrame
        Columns ``la_code``, ``t``, ``cohort`` (0 = never), ``treated``, ``y``.

    Examples
    --------
    >>> from evaluate.synthcontrol import example_la_panel
    >>> p = example_la_panel(n_las=10, n_periods=6, cohorts=((4, 2),))
    >>> p.shape, sorted(p["cohort"].unique().tolist())
    ((60, 5), [0, 4])
    """
    rng = np.random.default_rng(seed)
    t = np.arange(1, n_periods + 1)
    a = rng.normal(0, 1, n_las)
    b = 0.5 * np.sin(2 * np.pi * t / 6)
    L = rng.normal(0, 1, (n_las, n_factors))
    F = np.cumsum(rng.normal(0, 0.4, (n_periods, n_factors)), axis=0)
    cohort = np.zeros(n_las, dtype=int)
    order = np.argsort(-L[:, 0] + rng.normal(0, 0.5, n_las))
    pos = 0
    for g, k in cohorts:
        cohort[order[pos:pos + k]] = g
        pos += k
    Y = 5 + a[:, None] + b[None, :] + L @ F.T + rng.normal(0, noise, (n_las, n_periods))
    treated = (cohort[:, None] > 0) & (t[None, :] >= cohort[:, None])
    Y = Y + effect * treated
    codes = [f"E06{i + 1:06d}" for i in range(n_las)]
    return pd.DataFrame({"la_code": np.repeat(codes, n_periods), "t": np.tile(t, n_las),
                         "cohort": np.repeat(cohort, n_periods), "treated": treated.ravel(),
                         "y": Y.ravel()})
