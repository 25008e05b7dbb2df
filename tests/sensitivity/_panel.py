"""A small simulated school panel for the sensitivity tests (known effects, pre-trends, subgroups)."""

from __future__ import annotations

import numpy as np
import pandas as pd

YEARS = (2016, 2017, 2018, 2021, 2022, 2023, 2024)
COHORTS = (2022, 2023, 2024)


def simulate_panel(n: int = 1200, *, seed: int = 0, tau: float = -1.0, tau_secondary: float | None = None,
                   pretrend: float = 0.0, hub_effects: dict[str, float] | None = None,
                   shares: tuple[float, float, float] = (0.08, 0.12, 0.15), n_hubs: int = 6,
                   single_cohort: int | None = None) -> pd.DataFrame:
    """Balanced panel with the columns of ``panel_year.parquet`` that the analyses read.

    ``overall_absence_rate = school + year + tau * treated_now + pretrend * (year - 2016) * treated_ever
    + noise``; ``tau_secondary`` (default ``tau``) is the effect in secondary schools;
    ``hub_effects`` adds an extra effect to the treated schools of named hubs (``"H00"``...);
    ``placebo_y`` has no effect of anything. Cohorts 2022/2023/2024 with ``shares`` of the
    units (or every treated unit in ``single_cohort``), assigned at random. Hubs ``H00``,
    ``H01``, ... each belong to one cohort.
    """
    rng = np.random.default_rng(seed)
    secondary = rng.random(n) < 0.3
    if single_cohort is not None:
        cohort = np.where(rng.random(n) < sum(shares), single_cohort, 0)
    else:
        p = [1 - sum(shares), *shares]
        cohort = rng.choice((0, *COHORTS), size=n, p=p)
    # hubs: n_hubs per cohort present, members at random
    hub = np.full(n, None, dtype=object)
    for gi, g in enumerate(sorted(set(cohort[cohort > 0]))):
        idx = np.flatnonzero(cohort == g)
        k = max(1, n_hubs // 3)
        hub[idx] = [f"H{gi * k + j:02d}" for j in rng.integers(0, k, len(idx))]
    la = np.array([f"E{j:02d}" for j in rng.integers(0, 12, n)])
    region = np.array(["North", "South", "East", "West"])[rng.integers(0, 4, n)]
    priority = rng.random(n) < 0.3
    fsm = np.clip(rng.normal(22, 8, n), 1, 80)
    ofsted = np.array(["Good", "Outstanding", "Requires improvement"])[rng.integers(0, 3, n)]
    size = np.round(rng.lognormal(np.log(400), 0.3, n))
    years = np.array(YEARS)
    alpha = rng.normal(5, 1, n) + 0.5 * secondary
    lam = np.array([0.0, 0.1, 0.2, 2.4, 2.2, 1.8, 1.5])
    treated_now = (cohort[:, None] > 0) & (years[None, :] >= cohort[:, None])
    eff = np.where(secondary, tau if tau_secondary is None else tau_secondary, tau)
    if hub_effects:
        for h, e in hub_effects.items():
            eff = eff + e * (hub == h)
    y = (alpha[:, None] + lam[None, :] + eff[:, None] * treated_now
         + pretrend * (years[None, :] - 2016) * (cohort[:, None] > 0) + rng.normal(0, 0.5, (n, len(years))))
    k = len(years)
    return pd.DataFrame({
        "school_id": np.repeat(np.arange(100000, 100000 + n), k),
        "year": np.tile(years, n),
        "hub_cohort": np.repeat(cohort, k),
        "hub_id": np.repeat(hub, k),
        "la_code": np.repeat(la, k),
        "region": np.repeat(region, k),
        "phase": np.repeat(np.where(secondary, "Secondary", "Primary"), k),
        "priority_area": np.repeat(priority, k),
        "fsm_pct": np.repeat(fsm, k),
        "ofsted": np.repeat(ofsted, k),
        "size": np.repeat(size, k),
        "overall_absence_rate": y.ravel(),
        "pa_rate": np.maximum(3 * y + rng.normal(0, 1, y.shape), 0).ravel(),
        "placebo_y": (alpha[:, None] + lam[None, :] + rng.normal(0, 0.5, (n, k))).ravel(),
    })
