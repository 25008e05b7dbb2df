"""How large a pre-trend could the pre-test have missed? (Roth 2022, for the Wald pre-test.)

A passed pre-test is weak evidence when the pre-test has little power: a linear
violation of parallel trends large enough to bias the estimate may well go undetected.
:func:`pretrend_power` answers, for event-study pre-period estimates ``betahat`` with
covariance ``sigma``: what is the smallest linear differential trend (slope per period of
the time column) that the Wald pre-test of *all* pre-period coefficients at size
``size`` would detect with 50% and with 80% probability, and what bias would such a
trend put into the average post-period effect?

Under a linear trend with slope ``s`` the pre-period coefficients have mean ``s * d``,
where ``d`` is each coefficient's exposure to the trend (for Roth's normalisation with
reference period -1, ``d = e + 1``); the Wald statistic ``W = b' Sigma^{-1} b`` is then
noncentral chi-squared with ``K`` degrees of freedom (``K`` pre-periods) and noncentrality
``lambda = s^2 d' Sigma^{-1} d``. The power against ``s`` is
``P(chi2_K(lambda) > chi2_K quantile(1 - size))``; the detectable slope for power ``p``
solves it for ``lambda`` and takes ``s = sqrt(lambda / d' Sigma^{-1} d)``. The implied
bias of the post-period average is ``s`` times the mean exposure of the post-period
coefficients.

Roth (2022) and the R package ``pretrends`` use the pre-test that rejects when *any*
pre-period coefficient is individually significant; this module uses the joint Wald test
(the pre-test :meth:`evaluate.did.ATTgtResult.pretest` reports), whose power has the
closed form above.

Reference: Roth, J. (2022). Pretest with caution: event-study estimates after testing
for parallel trends. *American Economic Review: Insights* 4(3), 305-322.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from evaluate.did.results import finish_plot
from evaluate.errors import InputError
from evaluate.sensitivity._common import SensitivityResult

__all__ = ["PretrendPowerResult", "detectable_noncentrality", "pretrend_power", "pretrend_power_cs"]


def detectable_noncentrality(df: int, *, size: float = 0.05, power: float = 0.8) -> float:
    """The noncentrality at which a chi-squared test with ``df`` degrees of freedom has ``power``.

    Solves ``P(chi2_df(lambda) > chi2_df quantile(1 - size)) = power`` for ``lambda``.
    """
    if not 0 < size < 1:
        raise InputError(f"size must be between 0 and 1, not {size!r}")
    if not size < power < 1:
        raise InputError(f"power must be between the size ({size}) and 1, not {power!r}")
    crit = stats.chi2.ppf(1 - size, df)

    def gap(lam: float) -> float:
        return float(stats.ncx2.sf(crit, df, lam)) - power

    hi = 1.0
    while gap(hi) < 0:
        hi *= 2
    return float(optimize.brentq(gap, 0.0, hi, xtol=1e-12, rtol=1e-12))


@dataclass(frozen=True)
class PretrendPowerResult(SensitivityResult):
    """The linear pre-trends the Wald pre-test detects with given power, and the bias they imply.

    One row per power (terms ``"power 50%"``, ``"power 80%"``): ``estimate`` is the
    detectable slope (per period of the time column; ``se``, ``ci_low``, ``ci_high`` and
    ``p_value`` are empty), with extra columns ``power``, ``noncentrality`` and
    ``bias_post`` (the implied bias of the average post-period effect). ``extra`` holds the
    pre-period ``event_times``, ``betahat``, ``sigma``, the trend exposures ``pre_design``
    and ``post_design``, ``post_event_times`` and the observed pre-test (``pretest``:
    ``statistic``, ``df``, ``p_value``).
    """

    def power_against(self, slope: float) -> float:
        """The power of the Wald pre-test against a linear trend with this slope."""
        e = self.extra
        sig = np.asarray(e["sigma"], dtype=float)
        d = np.asarray(e["pre_design"], dtype=float)
        k = len(d)
        lam = slope**2 * float(d @ np.linalg.solve(sig, d))
        size = float(self.settings["size"])
        return float(stats.ncx2.sf(stats.chi2.ppf(1 - size, k), k, lam))

    def headline(self) -> list[str]:
        p = self.extra["pretest"]
        lines = [f"Pre-trend power (Roth 2022; Wald pre-test of {int(p['df'])} pre-period coefficients, "
                 f"size {self.settings['size']}): observed W = {p['statistic']:.3f}, p = {p['p_value']:.4f}"]
        for r in self.table.itertuples():
            lines.append(f"  slope detected with {100 * r.power:.0f}% power: {r.estimate:.4f} per period; "
                         f"implied bias of the post-period average {r.bias_post:+.4f}")
        return lines

    def plot(self, *, title: str | None = None, xlabel: str = "Event time", ylabel: str = "Estimate"):
        """Pre-period estimates (95% intervals) and the trends detected with each power, extended to post."""
        import matplotlib.pyplot as plt

        from evaluate.style import apply_style, palette

        apply_style()
        c = palette(4)
        e = self.extra
        et = np.asarray(e["event_times"], dtype=float)
        b = np.asarray(e["betahat"], dtype=float)
        se = np.sqrt(np.diag(np.asarray(e["sigma"], dtype=float)))
        fig, ax = plt.subplots(figsize=(7, 3.6))
        ax.errorbar(et, b, yerr=1.959964 * se, fmt="o", color=c[0], capsize=3, label="Pre-period estimates")
        pe = np.asarray(e["post_event_times"], dtype=float)
        xs = np.concatenate([et, pe])
        order = np.argsort(xs)
        design = np.concatenate([np.asarray(e["pre_design"], float), np.asarray(e["post_design"], float)])
        for (r, colour) in zip(self.table.itertuples(), c[1:], strict=False):
            ax.plot(xs[order], r.estimate * design[order], linestyle="--", marker=".", color=colour,
                    label=f"Trend detected with {100 * r.power:.0f}% power")
        ax.axhline(0, color="#3D3D3D", linewidth=0.8)
        return finish_plot(fig, ax, title=title or "How large a pre-trend could the pre-test miss?",
                           xlabel=xlabel, ylabel=ylabel, legend=True)


def pretrend_power(betahat: Sequence[float], sigma, event_times: Sequence[float], *, reference: float = -1,
                   pre_design: Sequence[float] | None = None, post_event_times: Sequence[float] = (0,),
                   post_design: Sequence[float] | None = None, size: float = 0.05,
                   powers: Sequence[float] = (0.5, 0.8)) -> PretrendPowerResult:
    """The smallest linear pre-trend the Wald pre-test detects with each power, and its bias.

    Parameters
    ----------
    betahat
        Pre-period event-study estimates (``K`` of them).
    sigma
        Their ``K x K`` covariance.
    event_times
        Their event times.
    reference
        The reference (omitted, normalised to zero) event time: a linear trend with slope
        ``s`` puts ``s * (e - reference)`` into the coefficient of event time ``e``.
    pre_design
        The trend exposures of the pre-period coefficients, overriding ``event_times -
        reference`` (for example :func:`pretrend_power_cs` for Callaway-Sant'Anna's varying
        base period, whose pre-period coefficients are changes between adjacent periods).
    post_event_times, post_design
        The post-period event times whose average effect the bias refers to, and their
        trend exposures (default ``post_event_times - reference``).
    size
        Size of the pre-test.
    powers
        The powers for which the detectable slope is reported.

    Returns
    -------
    PretrendPowerResult

    Raises
    ------
    InputError
        Shapes do not agree, ``sigma`` is not positive definite, the trend exposures are all
        zero, or a power is not between ``size`` and 1.

    Examples
    --------
    The linear pre-trend slope a Wald pre-test would detect with 50% and 80% power,
    given the pre-period coefficients' covariance (Roth 2022):

    >>> import numpy as np
    >>> from evaluate.sensitivity import pretrend_power
    >>> res = pretrend_power([0.05, -0.02, 0.0], np.diag([0.01, 0.01, 0.01]),
    ...                      event_times=[-3, -2, 0])
    >>> res.table[["term", "estimate"]].round(3)
            term  estimate
    0  power 50%     0.098
    1  power 80%     0.135
    """
    b = np.atleast_1d(np.asarray(betahat, dtype=float))
    sig = np.atleast_2d(np.asarray(sigma, dtype=float))
    et = np.atleast_1d(np.asarray(event_times, dtype=float))
    k = len(b)
    if k == 0:
        raise InputError("no pre-period estimates")
    if sig.shape != (k, k) or len(et) != k:
        raise InputError(f"betahat ({k}), sigma {sig.shape} and event_times ({len(et)}) do not agree")
    if not (np.all(np.isfinite(b)) and np.all(np.isfinite(sig))):
        raise InputError("betahat and sigma must be finite")
    try:
        np.linalg.cholesky((sig + sig.T) / 2)
    except np.linalg.LinAlgError:
        raise InputError("sigma is not positive definite") from None
    d = et - reference if pre_design is None else np.asarray(pre_design, dtype=float)
    if d.shape != (k,):
        raise InputError(f"pre_design has {d.size} values for {k} pre-period estimates")
    pe = np.atleast_1d(np.asarray(post_event_times, dtype=float))
    dp = pe - reference if post_design is None else np.atleast_1d(np.asarray(post_design, dtype=float))
    if dp.shape != pe.shape:
        raise InputError(f"post_design has {dp.size} values for {pe.size} post-period event times")
    a = float(d @ np.linalg.solve(sig, d))
    if not a > 0:
        raise InputError("a linear trend does not move the pre-period coefficients (all exposures zero)")
    rows = []
    for p in powers:
        lam = detectable_noncentrality(k, size=size, power=float(p))
        slope = math.sqrt(lam / a)
        rows.append({"term": f"power {100 * p:g}%", "estimate": slope, "se": math.nan, "ci_low": math.nan,
                     "ci_high": math.nan, "p_value": math.nan, "n": float(k), "power": float(p),
                     "noncentrality": lam, "bias_post": slope * float(dp.mean()) if dp.size else math.nan})
    w = float(b @ np.linalg.solve(sig, b))
    extra = {"event_times": et.tolist(), "betahat": b.tolist(), "sigma": sig.tolist(), "pre_design": d.tolist(),
             "post_event_times": pe.tolist(), "post_design": dp.tolist(), "design_precision": a,
             "pretest": {"statistic": w, "df": float(k), "p_value": float(stats.chi2.sf(w, k))}}
    settings = {"reference": reference, "size": size, "powers": [float(p) for p in powers]}
    return PretrendPowerResult("pretrend_power", pd.DataFrame(rows), settings, n_units=0, n_obs=0, extra=extra)


def pretrend_power_cs(res, *, size: float = 0.05, powers: Sequence[float] = (0.5, 0.8),
                      min_e: float = -math.inf, max_e: float = math.inf) -> PretrendPowerResult:
    """:func:`pretrend_power` for a Callaway-Sant'Anna fit's event study (``aggregate("dynamic")``).

    The pre-period coefficients are the dynamic aggregation's components with event time
    ``e < -anticipation`` (components without a standard error, such as the reference
    period of a universal base period, are left out); their full covariance comes from
    the aggregation's influence functions (``extra["influence"]`` of the aggregate, summed
    within clusters when the fit clusters), scaled to the reported standard errors: no
    diagonal approximation is needed. The post-period coefficients are the components
    with ``e >= 0``, whose mean is the dynamic aggregation's overall effect.

    The trend exposures follow the fit's comparisons: a linear differential trend of slope
    ``s`` per period of the time column moves the cell ATT(g, t) by ``s * (t - b)``, with
    ``b`` its base period (with ``base_period="varying"`` the period before ``t`` for
    pre-period cells, so each exposure is the gap between adjacent observed periods;
    otherwise the last period before ``g - anticipation``). Each event time's exposure is
    the cohort-size-weighted mean over its cells, as the aggregation weights them.

    Parameters
    ----------
    res
        An :class:`evaluate.did.ATTgtResult`.
    size, powers
        As :func:`pretrend_power`.
    min_e, max_e
        Event-time window of the dynamic aggregation.

    Returns
    -------
    PretrendPowerResult

    Examples
    --------
    >>> from evaluate.did import callaway_santanna, example_panel
    >>> from evaluate.sensitivity import pretrend_power_cs
    >>> res = callaway_santanna(example_panel(), outcome="y", unit="id", time="period",
    ...                         cohort="cohort", base_period="universal")
    >>> power = pretrend_power_cs(res)
    >>> power.table[["term", "estimate"]].round(3)
            term  estimate
    0  power 50%     0.140
    1  power 80%     0.192
    """
    from evaluate.did.att_gt import ATTgtResult

    if not isinstance(res, ATTgtResult):
        raise InputError("pretrend_power_cs needs a callaway_santanna result (ATTgtResult)")
    dyn = res.aggregate("dynamic", min_e=min_e, max_e=max_e, bootstrap=0)
    tab = dyn.table
    comp = tab.loc[tab["term"] != "overall"].reset_index(drop=True)
    inf = np.asarray(dyn.extra["influence"])[:, : len(comp)]
    n = inf.shape[0]
    cl = res.extra["unit_cluster"]
    if cl is None:
        scores = inf / n
    else:
        _, codes = np.unique(np.asarray(cl).astype(str), return_inverse=True)
        scores = np.zeros((int(codes.max()) + 1, inf.shape[1]))
        np.add.at(scores, codes, inf)
        scores = (scores - scores.mean(axis=0)) / n
    v = scores.T @ scores
    e_all = comp["component"].to_numpy(dtype=float)
    se = comp["se"].to_numpy(dtype=float)
    ant = int(res.settings.get("anticipation", 0))
    pre = np.flatnonzero((e_all < -ant) & np.isfinite(se))
    post = np.flatnonzero(e_all >= 0)
    if len(pre) == 0:
        raise InputError("the event study has no pre-period coefficient with a standard error")
    dv = np.sqrt(np.diag(v))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = v / np.outer(dv, dv)
    sig = corr[np.ix_(pre, pre)] * np.outer(se[pre], se[pre])
    design = _exposures(res, e_all)
    return pretrend_power(comp["estimate"].to_numpy(dtype=float)[pre], sig, e_all[pre], pre_design=design[pre],
                          post_event_times=e_all[post], post_design=design[post], size=size, powers=powers)


def _exposures(res, event_times: np.ndarray) -> np.ndarray:
    """Each event time's exposure to a unit linear trend, weighted over its cells as the dynamic aggregation."""
    t = res.table
    group = t["group"].to_numpy()
    tt = t["time"].to_numpy()
    periods = np.asarray(res.extra["periods"])
    ant = int(res.settings.get("anticipation", 0))
    varying = res.settings.get("base_period", "varying") == "varying"
    probs = res.extra["group_probabilities"]
    base = np.empty(len(t))
    for i, (g, ti) in enumerate(zip(group, tt, strict=True)):
        gbase = periods[periods + ant < g][-1]
        if varying and ti < g:
            base[i] = periods[np.searchsorted(periods, ti) - 1]
        else:
            base[i] = gbase
    expo = tt - base
    pg = np.array([probs[int(g)] for g in group])
    e_cell = tt - group
    out = np.empty(len(event_times))
    for j, e in enumerate(event_times):
        m = e_cell == e
        out[j] = float(np.sum(pg[m] * expo[m]) / np.sum(pg[m]))
    return out
