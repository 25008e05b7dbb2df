"""Power and minimum detectable effect (MDE) of a difference-in-differences design.

Analytic formula
----------------
Units ``i`` are observed ``pre`` periods before and ``post`` periods after adoption; the
outcome is ``y_it = a_i + l_t + tau D_it + e_it`` and the DiD compares, for each unit, the
mean of its post periods with the mean of its pre periods, ``Delta_i = ybar_i,post -
ybar_i,pre``, then ``tau_hat = mean(Delta_i | treated) - mean(Delta_i | control)``.

With equicorrelated errors within unit (``Var(e_it) = sigma2``, ``Corr(e_it, e_is) = rho``
for ``t != s``, independent across units)::

    Var(ebar_post) = sigma2 (1 + (post - 1) rho) / post
    Var(ebar_pre)  = sigma2 (1 + (pre - 1) rho) / pre
    Cov(ebar_post, ebar_pre) = sigma2 rho

so ``Var(Delta_i) = sigma2 [(1 - rho)/post + rho + (1 - rho)/pre + rho - 2 rho]
= sigma2 (1 - rho) (1/pre + 1/post)`` and, averaging over independent units,

    Var(tau_hat) = sigma2 (1 - rho) (1/pre + 1/post) (1/n_T + 1/n_C) * DEFF,
    DEFF = 1 + (cluster_size - 1) icc,

where the design effect ``DEFF`` inflates the variance when units come in clusters of
``cluster_size`` units whose unit-level differences have intraclass correlation ``icc``.
The MDE at two-sided level ``alpha`` and power ``power`` is
``(z_{1-alpha/2} + z_{power}) sqrt(Var(tau_hat))``. This is the special case of Burlig,
Preonas and Woerman (2020, *J. Dev. Econ.*, eq. 2) in which the pre-period, post-period
and cross-period serial correlations are all equal to ``rho``; any unit effect is part of
``sigma2`` and ``rho`` and cancels (only ``sigma2 (1 - rho)`` matters), and ``rho = 1``
(purely permanent unit differences) gives zero variance.

Simulation
----------
:func:`simulate_power` assigns placebo adoption to never-treated units of a real panel,
adds a known effect and records how often the estimator rejects at 5 %: power that
respects the panel's actual serial correlation and heteroskedasticity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from evaluate.errors import InputError

__all__ = ["mde_did", "power_did", "estimate_variance_components", "simulate_power", "planning_table"]


def _multiplier(alpha: float, power: float) -> float:
    if not 0 < alpha < 1:
        raise InputError(f"alpha must be in (0, 1) (got {alpha!r})")
    if not 0 < power < 1:
        raise InputError(f"power must be in (0, 1) (got {power!r})")
    return float(stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power))


def _unit_variance(*, pre: float, post: float, sigma2: float, rho: float, icc: float,
                   cluster_size: float) -> float:
    """``sigma2 (1 - rho) (1/pre + 1/post) DEFF``: the variance factor per ``1/n``."""
    if pre < 1 or post < 1:
        raise InputError(f"pre and post must be at least 1 (got {(pre, post)!r})")
    if sigma2 < 0:
        raise InputError(f"sigma2 must be non-negative (got {sigma2!r})")
    if not -1 < rho <= 1:
        raise InputError(f"rho must be in (-1, 1] (got {rho!r})")
    if not 0 <= icc <= 1:
        raise InputError(f"icc must be in [0, 1] (got {icc!r})")
    if cluster_size < 1:
        raise InputError(f"cluster_size must be at least 1 (got {cluster_size!r})")
    deff = 1.0 + (cluster_size - 1.0) * icc
    return sigma2 * (1.0 - rho) * (1.0 / pre + 1.0 / post) * deff


def mde_did(*, n_treated: float, n_control: float, pre: float, post: float, sigma2: float,
            rho: float = 0.0, icc: float = 0.0, cluster_size: float = 1.0, alpha: float = 0.05,
            power: float = 0.8) -> float:
    """Minimum detectable effect of a difference in differences of post and pre means.

    ``MDE = (z_{1-alpha/2} + z_{power}) * sqrt(V)`` with
    ``V = sigma2 (1 - rho) (1/pre + 1/post) (1/n_treated + 1/n_control)
    (1 + (cluster_size - 1) icc)`` (derivation in the module docstring: equicorrelated
    errors within unit, the equal-correlation case of Burlig, Preonas and Woerman 2020).

    Parameters
    ----------
    n_treated, n_control
        Numbers of treated and control units.
    pre, post
        Numbers of periods before and after adoption.
    sigma2
        Variance of the outcome's error (after period effects; includes any unit effect).
    rho
        Correlation of a unit's errors in two different periods (``rho = 1``: MDE 0).
    icc, cluster_size
        Intraclass correlation of units within clusters and the mean cluster size (units
        per cluster); design effect ``1 + (cluster_size - 1) icc``.
    alpha
        Two-sided significance level.
    power
        Target power.

    Returns
    -------
    float
        The smallest true effect detected with probability ``power``, in outcome units.

    Examples
    --------
    >>> from evaluate.power import mde_did
    >>> round(mde_did(n_treated=100, n_control=100, pre=3, post=3, sigma2=1.0, rho=0.5), 4)
    0.2287
    >>> round(mde_did(n_treated=400, n_control=400, pre=3, post=3, sigma2=1.0, rho=0.5), 4)
    0.1144
    """
    if n_treated <= 0 or n_control <= 0:
        raise InputError("n_treated and n_control must be positive "
                         f"(got {(n_treated, n_control)!r})")
    v = _unit_variance(pre=pre, post=post, sigma2=sigma2, rho=rho, icc=icc,
                       cluster_size=cluster_size)
    return _multiplier(alpha, power) * math.sqrt(v * (1.0 / n_treated + 1.0 / n_control))


def power_did(effect: float, *, n_treated: float, n_control: float, pre: float, post: float, sigma2: float,
              rho: float = 0.0, icc: float = 0.0, cluster_size: float = 1.0, alpha: float = 0.05) -> float:
    """Analytic power of the two-sided test against an effect of size ``effect``.

    ``Phi(|effect| / se - z_{1-alpha/2}) + Phi(-|effect| / se - z_{1-alpha/2})`` with ``se`` the
    standard error of the DiD of :func:`mde_did`; at ``effect = 0`` it is ``alpha``, and at the
    MDE it is the power the MDE was computed for (up to the negligible second term).

    Examples
    --------
    >>> from evaluate.power import mde_did, power_did
    >>> kw = dict(n_treated=100, n_control=100, pre=3, post=3, sigma2=1.0, rho=0.5)
    >>> round(power_did(0.0, **kw), 3)
    0.05
    >>> round(power_did(mde_did(**kw), **kw), 3)
    0.8
    """
    if n_treated <= 0 or n_control <= 0:
        raise InputError(f"n_treated and n_control must be positive (got {(n_treated, n_control)!r})")
    v = _unit_variance(pre=pre, post=post, sigma2=sigma2, rho=rho, icc=icc, cluster_size=cluster_size)
    se = math.sqrt(v * (1.0 / n_treated + 1.0 / n_control))
    z = float(stats.norm.ppf(1 - alpha / 2))
    if se == 0:
        return 1.0 if effect != 0 else alpha
    d = abs(effect) / se
    return float(stats.norm.cdf(d - z) + stats.norm.cdf(-d - z))


def _codes(s: pd.Series) -> np.ndarray:
    return pd.factorize(s, sort=True)[0]


def estimate_variance_components(panel: pd.DataFrame, *, outcome: str, unit: str,
                                 time: str) -> dict[str, float]:
    """Estimate ``sigma2`` and ``rho`` of :func:`mde_did` from a (pre-treatment) panel.

    Estimator (ANOVA / method of moments, exact in expectation for balanced panels with
    equicorrelated errors and ``rho >= 0``):

    - ``sigma2`` is the total variance after period effects: the sum of squares of
      ``y_it - ybar_t`` divided by ``n_obs - n_periods``;
    - ``sigma2_within`` estimates ``sigma2 (1 - rho)``: the sum of squares of the two-way
      residuals (unit and period means removed) divided by ``(n_units - 1)(n_periods - 1)``
      (in general ``n_obs - n_units - n_periods + 1``);
    - ``rho = 1 - sigma2_within / sigma2`` (clipped to ``[0, 1]``): the average correlation
      of a unit's errors in two periods. The correlation of the two-way residuals
      themselves is not used: removing unit means makes it about ``-1/(T - 1)`` even
      with independent errors.

    Use the untreated (or pre-treatment) rows only, so that treatment effects do not
    count as noise. Unbalanced panels are handled by alternating projections.

    Parameters
    ----------
    panel
        Long panel, one row per unit and period.
    outcome, unit, time
        Column names.

    Returns
    -------
    dict
        ``sigma2``, ``rho``, ``sigma2_within``, ``n_units``, ``n_periods``, ``n_obs``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from evaluate.power import estimate_variance_components
    >>> rng = np.random.default_rng(0)
    >>> n, T = 2000, 5
    >>> y = np.repeat(rng.normal(0, 1, n), T) + rng.normal(0, 1, n * T)  # rho = 0.5
    >>> panel = pd.DataFrame({"id": np.repeat(np.arange(n), T), "t": np.tile(np.arange(T), n),
    ...                       "y": y})
    >>> vc = estimate_variance_components(panel, outcome="y", unit="id", time="t")
    >>> round(vc["sigma2"], 1), round(vc["rho"], 1)
    (2.0, 0.5)
    """
    for col in (outcome, unit, time):
        if col not in panel.columns:
            raise InputError("column not found", column=col)
    df = panel[[outcome, unit, time]].dropna()
    if df.empty:
        raise InputError("no complete rows", column=outcome)
    y = df[outcome].to_numpy(dtype=float)
    u, t = _codes(df[unit]), _codes(df[time])
    n_u, n_t, n = int(u.max()) + 1, int(t.max()) + 1, len(y)
    if n_u < 2 or n_t < 2:
        raise InputError("need at least two units and two periods")
    t_means = np.bincount(t, weights=y, minlength=n_t) / np.bincount(t, minlength=n_t)
    r = y - t_means[t]
    sigma2 = float(r @ r) / (n - n_t)
    # two-way residuals by alternating projections (exact in one pass when balanced)
    w = r.copy()
    cu, ct = np.bincount(u, minlength=n_u), np.bincount(t, minlength=n_t)
    for _ in range(1000):
        w = w - (np.bincount(u, weights=w, minlength=n_u) / cu)[u]
        step = (np.bincount(t, weights=w, minlength=n_t) / ct)[t]
        w = w - step
        if np.max(np.abs(step)) < 1e-12:
            break
    dof = n - n_u - n_t + 1
    if dof <= 0:
        raise InputError("too few observations for unit and period effects")
    sigma2_within = float(w @ w) / dof
    rho = 1.0 - sigma2_within / sigma2 if sigma2 > 0 else 0.0
    return {"sigma2": sigma2, "rho": float(min(max(rho, 0.0), 1.0)),
            "sigma2_within": sigma2_within, "n_units": n_u, "n_periods": n_t, "n_obs": n}


def simulate_power(panel: pd.DataFrame, *, outcome: str, unit: str, time: str, n_treated: int,
                   effect: float, first_year, reps: int = 200, seed: int = 0,
                   estimator: str = "twfe", cohort: str | None = None,
                   alpha: float = 0.05) -> dict[str, float]:
    """Power by placebo adoption on a real panel.

    In each replication ``n_treated`` never-treated units are drawn at random (without
    replacement, seeded) and declared treated from ``first_year`` on; ``effect`` is added
    to their outcome in periods ``>= first_year``; the effect is estimated and a rejection
    at level ``alpha`` recorded. Power is the rejection rate, with Monte Carlo standard
    error ``sqrt(p (1 - p) / reps)``. With ``effect=0`` it estimates the test's size.

    Parameters
    ----------
    panel
        Long panel, one row per unit and period.
    outcome, unit, time
        Column names.
    n_treated
        Number of placebo-treated units per replication.
    effect
        Effect added to the treated units' outcome from ``first_year`` on.
    first_year
        First treated period (a value of ``time``; some periods must precede it).
    reps
        Number of replications.
    seed
        Seed of the random number generator.
    estimator
        ``"twfe"`` (:func:`evaluate.did.twfe`, clustered by unit, t test) or ``"cs"``
        (:func:`evaluate.did.callaway_santanna` simple aggregate, analytic standard error,
        clustered by unit; slower).
    cohort
        Optional cohort column (first treated period, 0 or empty = never treated): only
        never-treated units are used. Without it every unit is taken as never treated.
    alpha
        Level of the two-sided test.

    Returns
    -------
    dict
        ``power``, ``mc_se``, ``reps``, ``rejections``, ``mean_estimate``, ``n_treated``,
        ``n_control``, ``effect``, ``estimator``.

    Examples
    --------
    >>> from evaluate.did import example_panel
    >>> from evaluate.power import simulate_power
    >>> panel = example_panel(n_units=300, seed=1)
    >>> res = simulate_power(panel, outcome="y", unit="id", time="period", cohort="cohort",
    ...                      n_treated=40, effect=1.0, first_year=4, reps=20, seed=0)
    >>> res["power"], res["reps"]
    (1.0, 20)
    """
    from evaluate.did import callaway_santanna, twfe

    if estimator not in ("twfe", "cs"):
        raise InputError(f'estimator must be "twfe" or "cs" (got {estimator!r})')
    if reps < 1:
        raise InputError(f"reps must be at least 1 (got {reps!r})")
    for col in (outcome, unit, time, *((cohort,) if cohort else ())):
        if col not in panel.columns:
            raise InputError("column not found", column=col)
    df = panel
    if cohort is not None:
        c = pd.to_numeric(df[cohort], errors="coerce").fillna(0)
        df = df.loc[c <= 0]
    df = df[[outcome, unit, time]].dropna().reset_index(drop=True)
    units = np.sort(df[unit].unique())
    if not 0 < n_treated < len(units):
        raise InputError("n_treated must be between 1 and the number of never-treated units - 1 "
                         f"(got {n_treated!r} of {len(units)})")
    times = df[time].to_numpy()
    if not (times < first_year).any() or not (times >= first_year).any():
        raise InputError(f"first_year must leave periods before and after it (got {first_year!r})")
    post = (times >= first_year)
    y0 = df[outcome].to_numpy(dtype=float)
    codes = np.searchsorted(units, df[unit].to_numpy())
    rng = np.random.default_rng(seed)
    rejections, estimates = 0, []
    for _ in range(reps):
        chosen = np.zeros(len(units), dtype=bool)
        chosen[rng.choice(len(units), size=n_treated, replace=False)] = True
        treated_unit = chosen[codes]
        sim = pd.DataFrame({"_y": y0 + effect * (treated_unit & post), "_u": codes,
                            "_t": times, "_g": np.where(treated_unit, first_year, 0)})
        if estimator == "twfe":
            res = twfe(sim, outcome="_y", unit="_u", time="_t", cohort="_g", cluster="_u")
        else:
            res = callaway_santanna(sim, outcome="_y", unit="_u", time="_t", cohort="_g",
                                    estimator="reg", cluster="_u").aggregate("simple")
        row = res.table.iloc[0]
        estimates.append(float(row["estimate"]))
        rejections += bool(row["p_value"] < alpha)
    p = rejections / reps
    return {"power": p, "mc_se": math.sqrt(p * (1 - p) / reps), "reps": reps,
            "rejections": rejections, "mean_estimate": float(np.mean(estimates)),
            "n_treated": n_treated, "n_control": len(units) - n_treated, "effect": effect,
            "estimator": estimator}


def planning_table(effects: Sequence[float], *, pre: float, post: float, sigma2: float,
                   rho: float = 0.0, icc: float = 0.0, cluster_size: float = 1.0,
                   ratio: float = 1.0, alpha: float = 0.05, power: float = 0.8) -> pd.DataFrame:
    """Units needed to detect each effect, by inverting :func:`mde_did`.

    With ``n_control = ratio * n_treated``, ``MDE^2 = M^2 V (1 + 1/ratio) / n_treated``
    (``M = z_{1-alpha/2} + z_{power}``, ``V`` the per-unit variance factor of
    :func:`mde_did`), so ``n_treated = M^2 V (1 + 1/ratio) / effect^2``, rounded up.

    Parameters
    ----------
    effects
        Effects to detect, in outcome units (e.g. 0.001 for 0.1 pp of a share).
    pre, post, sigma2, rho, icc, cluster_size, alpha, power
        As in :func:`mde_did`.
    ratio
        Control units per treated unit.

    Returns
    -------
    pandas.DataFrame
        One row per effect: ``effect``, ``n_treated_exact`` (the closed form),
        ``n_treated``, ``n_control`` (rounded up), ``n_total`` and ``mde`` (the MDE of
        the rounded design, at most ``effect``).

    Examples
    --------
    >>> from evaluate.power import planning_table
    >>> tab = planning_table([0.1, 0.2, 0.5], pre=3, post=3, sigma2=1.0, rho=0.5)
    >>> tab[["effect", "n_treated", "n_control"]].to_dict("list")
    {'effect': [0.1, 0.2, 0.5], 'n_treated': [524, 131, 21], 'n_control': [524, 131, 21]}
    """
    if ratio <= 0:
        raise InputError(f"ratio must be positive (got {ratio!r})")
    v = _unit_variance(pre=pre, post=post, sigma2=sigma2, rho=rho, icc=icc,
                       cluster_size=cluster_size)
    m = _multiplier(alpha, power)
    rows = []
    for e in effects:
        if e <= 0:
            raise InputError(f"effects must be positive (got {e!r})")
        exact = m * m * v * (1.0 + 1.0 / ratio) / (e * e)
        n_t = max(1, math.ceil(exact - 1e-9))
        n_c = max(1, math.ceil(ratio * n_t - 1e-9))
        mde = m * math.sqrt(v * (1.0 / n_t + 1.0 / n_c))
        rows.append({"effect": float(e), "n_treated_exact": exact, "n_treated": n_t,
                     "n_control": n_c, "n_total": n_t + n_c, "mde": mde})
    return pd.DataFrame(rows)
