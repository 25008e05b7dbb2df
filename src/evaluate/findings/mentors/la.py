"""Findings of the attendance-mentor programme at local-authority level, as JSON-ready dicts.

The programme treats whole LAs, a handful at a time, so the analysis is LA x period:
synthetic control and synthetic DiD per cohort with placebo-in-space inference
(:mod:`evaluate.synthcontrol`), Callaway-Sant'Anna against matched comparison LAs and against
never-treated priority education investment areas, randomisation inference and a wild
cluster bootstrap at LA level, and the minimum detectable effect set against the effect the
programme could plausibly have on an LA-wide rate.

Plausible effect arithmetic: mentoring ``n`` pupils out of an LA's ``E`` pupils, each pupil's
absence rate falling by ``d`` percentage points, moves the LA-wide rate by ``d * n / E``
points (pupils have about the same possible sessions). E.g. 1,665 pupils over 3 years in 5
areas is 111 pupils per area per year; at ``d = 5`` points in an LA of 40,000 pupils that is
``5 * 111 / 40,000 = 0.014`` points.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from evaluate.did import callaway_santanna, randomization_inference, twfe, wild_cluster_bootstrap
from evaluate.errors import InputError
from evaluate.numbers import jsonable
from evaluate.power import estimate_variance_components, mde_did
from evaluate.synthcontrol import synthetic_control, synthetic_did
from evaluate.synthcontrol.model import balance

__all__ = ["example_mentor_panel", "mentor_la_findings", "phase_mix", "plausible_effect"]

#: Sessions a pupil can attend in a school year (190 days, two sessions a day).
SESSIONS_PER_YEAR = 380.0


def plausible_effect(*, pupils_mentored: float, la_pupils: float, per_pupil_effect: float) -> dict[str, Any]:
    """The effect on an LA-wide absence rate of mentoring some of its pupils.

    Parameters
    ----------
    pupils_mentored
        Pupils mentored in the LA in the period (a year).
    la_pupils
        Pupils in the LA.
    per_pupil_effect
        Fall in a mentored pupil's absence rate, percentage points.

    Returns
    -------
    dict
        ``effect`` (percentage points, ``per_pupil_effect * pupils_mentored / la_pupils``)
        and ``arithmetic`` (the sum in words).

    Examples
    --------
    >>> from evaluate.findings.mentors.la import plausible_effect
    >>> out = plausible_effect(pupils_mentored=111, la_pupils=40_000, per_pupil_effect=5.0)
    >>> round(out["effect"], 4)
    0.0139
    >>> out["arithmetic"]
    '5 points x 111 pupils / 40,000 pupils = 0.0139 points'
    """
    if la_pupils <= 0:
        raise InputError("la_pupils must be positive")
    eff = per_pupil_effect * pupils_mentored / la_pupils
    return {"effect": eff, "arithmetic": (f"{per_pupil_effect:g} points x {pupils_mentored:,.0f} pupils / "
                                          f"{la_pupils:,.0f} pupils = {eff:.4f} points")}


def _cohorts(panel: pd.DataFrame, treatment: pd.DataFrame, start: str) -> pd.Series:
    """First treated ``t`` per LA (0 = never): the first period ending on or after the start date."""
    if "cohort" in panel.columns:
        return panel.groupby("la_code")["cohort"].first()
    col = {"actual": "actual_date", "announced": "announced_date"}.get(start, "start_date")
    if col not in treatment.columns:
        col = "start_date"
    tr = treatment[treatment.get("included", pd.Series(True, index=treatment.index)).astype(bool)]
    periods = panel.drop_duplicates("t")[["t", "end_date"]].sort_values("t")
    out = pd.Series(0, index=pd.Index(panel["la_code"].unique(), name="la_code"))
    for r in tr.itertuples():
        date = pd.Timestamp(getattr(r, col))
        if pd.isna(date) or r.la_code not in out.index:
            continue
        later = periods[periods["end_date"] >= date]
        out[r.la_code] = int(later["t"].iloc[0]) if len(later) else 0
    return out


def phase_mix(panel: pd.DataFrame, period_type: str) -> pd.DataFrame:
    """Each LA's shares of possible sessions in primary and secondary schools (special is the rest).

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluate.findings.mentors.la import phase_mix
    >>> p = pd.DataFrame({"la_code": ["A"] * 3, "period_type": "year",
    ...                   "phase": ["Primary", "Secondary", "Special"],
    ...                   "possible_sessions": [60.0, 30.0, 10.0]})
    >>> phase_mix(p, "year").round(2).to_dict("records")
    [{'share_primary': 0.6, 'share_secondary': 0.3}]
    """
    cols = ["share_primary", "share_secondary"]
    if "possible_sessions" not in panel.columns:
        return pd.DataFrame(columns=cols)
    p = panel[(panel["period_type"] == period_type) & panel["phase"].isin(["Primary", "Secondary", "Special"])]
    tot = p.pivot_table(index="la_code", columns="phase", values="possible_sessions", aggfunc="sum")
    tot = tot.reindex(columns=["Primary", "Secondary", "Special"])
    share = tot.div(tot.sum(axis=1), axis=0)
    return pd.DataFrame({"share_primary": share["Primary"], "share_secondary": share["Secondary"]}).dropna()


def _matched_controls(d: pd.DataFrame, outcome: str, mix: pd.DataFrame, k: int = 5) -> tuple[list, list[str]]:
    """Comparison LAs: per cohort, ``k`` never-treated LAs per treated LA (Mahalanobis, with
    replacement) on the pre-period mean outcome and the phase mix, exactly within region
    when every treated LA's region has enough never-treated LAs
    (:func:`evaluate.matching.nearest_neighbour`). Returns the LAs and notes."""
    from evaluate.matching import nearest_neighbour

    units = d.groupby("la_code").agg(cohort=("cohort", "first"), region=("region", "first"))
    units = units.join(mix, how="left")
    chosen: set = set()
    notes: list[str] = []
    for g in sorted(u for u in units["cohort"].unique() if u > 0):
        pre = d[d["t"] < g].groupby("la_code")[outcome].mean().rename("pre_mean")
        f = units[(units["cohort"] == g) | (units["cohort"] == 0)].join(pre, how="left")
        covs = [c for c in ("pre_mean", "share_primary", "share_secondary")
                if c in f.columns and f[c].notna().any()]
        f = f.dropna(subset=covs).reset_index()
        f["treat"] = (f["cohort"] == g).astype(int)
        if f["treat"].sum() == 0 or (f["treat"] == 0).sum() < k or not covs:
            notes.append(f"cohort {g}: not matched (no pre-period outcome or too few comparison LAs)")
            continue
        if "pre_mean" not in covs:
            notes.append(f"cohort {g}: no pre-period: matched on phase mix and region only")
        need = f[f["treat"] == 1]["region"].unique()
        per_region = f[f["treat"] == 0]["region"].value_counts()
        exact = ["region"] if all(per_region.get(r, 0) >= k for r in need) else []
        if not exact:
            notes.append(f"cohort {g}: too few never-treated LAs in some region: region not matched exactly")
        try:
            m = nearest_neighbour(f, treatment="treat", unit="la_code", covariates=covs, distance="mahalanobis",
                                  exact=exact, ratio=k, replace=True)
        except InputError as err:
            notes.append(f"cohort {g}: matching failed: {err}")
            continue
        chosen.update(m.pairs["control_unit"].tolist())
    return sorted(chosen), notes


def _balanced(d: pd.DataFrame, outcome: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """The complete LA x period part of ``d`` (:func:`evaluate.synthcontrol.model.balance`)."""
    wide = d.pivot(index="la_code", columns="t", values=outcome)
    coh = d.groupby("la_code")["cohort"].first().reindex(wide.index)
    keep_u, keep_t = balance(wide.notna().to_numpy(), treated=coh.to_numpy() != 0)
    out = d[d["la_code"].isin(wide.index[keep_u]) & d["t"].isin(wide.columns[keep_t])]
    return out, {"las_incomplete": int((~keep_u).sum()), "periods_incomplete": int((~keep_t).sum()),
                 "rows_incomplete": int(len(d) - len(out))}


def _cs(d: pd.DataFrame, outcome: str, seed: int | None) -> dict[str, Any]:
    if d["cohort"].gt(0).sum() == 0 or d["cohort"].eq(0).sum() == 0:
        return {"estimable": False, "reason": "no treated or no comparison LA"}
    d, left_out = _balanced(d, outcome)
    if d["cohort"].gt(0).sum() == 0 or d["cohort"].eq(0).sum() == 0:
        return {"estimable": False, "reason": "no treated or no comparison LA with complete outcomes",
                "dropped": left_out}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = callaway_santanna(d, outcome=outcome, unit="la_code", time="t", cohort="cohort",
                                    control="never", estimator="reg", seed=seed)
            simple = res.aggregate("simple", bootstrap=0).to_frame()
            dyn = res.aggregate("dynamic", bootstrap=0).to_frame()
    except (InputError, ValueError, np.linalg.LinAlgError) as err:
        return {"estimable": False, "reason": f"not estimable: {err}"}
    o = simple[simple["term"] == "overall"].iloc[0]
    return {"estimable": bool(np.isfinite(o["estimate"])), "att": o["estimate"], "se": o["se"],
            "ci_low": o["ci_low"], "ci_high": o["ci_high"], "p_value": o["p_value"],
            "n_las": int(d["la_code"].nunique()),
            "dropped": {**res.dropped(), **left_out},
            "event_study": [{"event_time": r.component, "estimate": r.estimate, "se": r.se,
                             "ci_low": r.ci_low, "ci_high": r.ci_high}
                            for r in dyn[dyn["term"] != "overall"].itertuples()]}


def _synth_rows(res) -> list[dict[str, Any]]:
    t = res.to_frame()
    return [{"cohort": r.term, "estimate": r.estimate, "se": r.se, "ci_low": r.ci_low, "ci_high": r.ci_high,
             "p_value_placebo": r.p_placebo, "n_treated": r.n_treated, "n_donors": r.n_donors,
             "n_pre": r.n_pre, "n_post": r.n_post, "estimable": bool(r.estimable), "reason": r.reason or None}
            for r in t.itertuples()]


def mentor_la_findings(panel: pd.DataFrame, treatment: pd.DataFrame, *,
                       outcomes: Sequence[str] = ("overall_absence_rate", "unauthorised_absence_rate", "pa_rate"),
                       period_type: str = "year", phase: str = "Total", start: str = "actual",
                       pupils_mentored_per_la: float = 111.0, expansion_pupils_per_la: float = 1000.0,
                       per_pupil_effect: float = 5.0,
                       la_pupils: float | None = None, ri_draws: int = 199, wild_draws: int = 999,
                       replications: int = 100, seed: int | None = 0) -> dict[str, Any]:
    """LA-level findings of the mentor programme for the report (plain JSON: no numpy, NaN -> None).

    Parameters
    ----------
    panel
        The LA x phase x period panel (``evaluate.data.la.panel`` contract): ``la_code``,
        ``region``, ``phase``, ``period_type``, ``t``, ``end_date``, the outcomes, and
        ``cohort`` and ``priority_area`` if ``add_treatment`` has been applied.
    treatment
        The mentor-area table (``la_code``, ``start_date``/``actual_date``/``announced_date``,
        ``included``); used when ``panel`` has no ``cohort`` column.
    outcomes
        Outcome columns (percentages); absent columns are reported as such.
    period_type, phase
        The rows used.
    start
        ``"actual"`` or ``"announced"``: which start date defines the cohorts.
    pupils_mentored_per_la, expansion_pupils_per_la, per_pupil_effect, la_pupils
        The plausible-effect arithmetic (:func:`plausible_effect`): pupils mentored per LA per
        year in the first phase (default 111: 1,665 pupils over 3 years in 5 areas) and in the
        expansion (default 1,000: 10,000 pupils in about 10 areas), the fall in a mentored
        pupil's absence rate (points) and the LA's pupils (default: the treated LAs' median
        ``possible_sessions / 380`` at year level, else 40,000).
    ri_draws, wild_draws, replications
        Randomisation draws, wild bootstrap draws, SDID/SC placebo draws (several treated).
    seed
        Seed for every random step.

    Returns
    -------
    dict
        ``settings``, ``counts`` (treated and comparison LAs, rows dropped by reason) and
        ``outcomes``: per outcome ``synthetic_control`` and ``synthetic_did`` (per cohort),
        ``cs_matched`` and ``cs_priority`` (simple ATT and event study), ``randomization``,
        ``wild_bootstrap``, ``mde``, ``plausible``, ``plausible_expansion``, ``detectable`` and
        ``statement``. Rows whose outcome is missing (suppressed: no possible sessions either)
        or is a percentage outside 0-100 are dropped and counted; the synthetic methods also
        drop incomplete periods and LAs (``synth_*`` counts).

    Examples
    --------
    >>> from evaluate.findings.mentors.la import example_mentor_panel, mentor_la_findings
    >>> panel, treatment = example_mentor_panel(seed=0)
    >>> out = mentor_la_findings(panel, treatment, outcomes=("overall_absence_rate",),
    ...                          period_type="term", ri_draws=19, wild_draws=99, replications=20)
    >>> sorted(out["outcomes"]["overall_absence_rate"])[:4]
    ['cs_matched', 'cs_priority', 'detectable', 'mde']
    >>> out["outcomes"]["overall_absence_rate"]["statement"][:30]
    'This design cannot detect an e'
    """
    if period_type not in ("year", "term", "fortnight"):
        raise InputError(f"period_type must be year, term or fortnight, not {period_type!r}")
    if start not in ("actual", "announced"):
        raise InputError(f"start must be 'actual' or 'announced', not {start!r}")
    for c in ("la_code", "t", "phase", "period_type"):
        if c not in panel.columns:
            raise InputError("column not found", column=c)
    d0 = panel[(panel["period_type"] == period_type) & (panel["phase"] == phase)].copy()
    if d0.empty:
        raise InputError(f"no rows with period_type {period_type!r} and phase {phase!r}", column="period_type")
    coh = _cohorts(d0, treatment, start)
    d0["cohort"] = d0["la_code"].map(coh).fillna(0).astype(int)
    if "region" not in d0.columns:
        d0["region"] = "all"
    mix = phase_mix(panel, period_type)
    prio = d0.groupby("la_code")["priority_area"].first().astype(bool) if "priority_area" in d0.columns else None
    units = d0.groupby("la_code")["cohort"].first()
    counts: dict[str, Any] = {"treated_las": int((units > 0).sum()), "comparison_las": int((units == 0).sum()),
                              "priority_comparison_las": int(prio[units == 0].sum()) if prio is not None else None,
                              "cohorts": {str(g): int(n) for g, n in units[units > 0].value_counts().sort_index().items()},
                              "rows": int(len(d0)), "dropped": {}}
    out: dict[str, Any] = {}
    for oc in outcomes:
        if oc not in d0.columns:
            out[oc] = {"estimable": False, "reason": f"column {oc!r} not in the panel"}
            continue
        miss = d0[oc].isna()
        suppressed = miss & d0.get("possible_sessions", pd.Series(np.nan, index=d0.index)).isna()
        bad = ~miss & ~d0[oc].between(0, 100)
        counts["dropped"][oc] = {"suppressed_or_not_derivable": int(suppressed.sum()),
                                 "missing_outcome": int((miss & ~suppressed).sum()),
                                 "rate_outside_0_100": int(bad.sum())}
        d = d0[~miss & ~bad]
        r: dict[str, Any] = {}
        kw = dict(outcome=oc, unit="la_code", time="t", cohort="cohort", seed=seed, replications=replications)
        sc = synthetic_control(d, **kw)
        sd = synthetic_did(d, **kw)
        r["synthetic_control"] = _synth_rows(sc)
        r["synthetic_did"] = _synth_rows(sd)
        counts["dropped"][oc].update({f"synth_{k}": v for k, v in sd.dropped().items()})
        matched, notes = _matched_controls(d, oc, mix)
        dm = d[(d["cohort"] > 0) | d["la_code"].isin(matched)]
        r["cs_matched"] = {**_cs(dm, oc, seed), "comparison_las": len(matched), "matching_notes": notes,
                           "matched_on": ("pre-period mean outcome and phase mix where available (Mahalanobis), "
                                         "region exactly where possible (see notes)")}
        if prio is not None:
            dp = d[(d["cohort"] > 0) | d["la_code"].map(prio).fillna(False).astype(bool)]
            r["cs_priority"] = {**_cs(dp, oc, seed), "comparison_las": int(dp.loc[dp["cohort"] == 0, "la_code"].nunique())}
        else:
            r["cs_priority"] = {"estimable": False, "reason": "no priority_area column"}
        d = d.assign(treated=((d["cohort"] > 0) & (d["t"] >= d["cohort"])).astype(float))
        # LAs treated from the first observed period have no pre-period: out of the regressions
        first_t = d["t"].min() if len(d) else 0
        always = d.loc[(d["cohort"] > 0) & (d["cohort"] <= first_t), "la_code"].unique()
        counts["dropped"][oc]["las_treated_from_first_period"] = int(len(always))
        dr = d[~d["la_code"].isin(always)]
        if dr["treated"].sum() > 0 and dr["cohort"].eq(0).any() and dr["t"].nunique() > 1:
            def est(x: pd.DataFrame, oc: str = oc) -> float:
                return float(twfe(x, outcome=oc, unit="la_code", time="t", cohort="cohort").estimates["treated"])
            try:
                ri = randomization_inference(dr, estimator=est, unit="la_code", cohort="cohort",
                                             draws=ri_draws, seed=seed)
                r["randomization"] = {"estimate": ri["observed"], "p_value": ri["p_value"], "draws": ri_draws,
                                      "estimator": "TWFE, cohorts permuted across LAs"}
            except (InputError, ValueError, np.linalg.LinAlgError) as err:
                r["randomization"] = {"estimable": False, "reason": f"not estimable: {err}"}
            try:
                wb = wild_cluster_bootstrap(dr, param="treated", cluster="la_code", draws=wild_draws, seed=seed,
                                            outcome=oc, regressors=["treated"], fixed_effects=["la_code", "t"])
                r["wild_bootstrap"] = {k: wb.get(k) for k in ("estimate", "p_value", "ci_low", "ci_high",
                                                              "n_clusters")}
            except (InputError, ValueError, np.linalg.LinAlgError) as err:
                r["wild_bootstrap"] = {"estimable": False, "reason": f"not estimable: {err}"}
        else:
            r["randomization"] = r["wild_bootstrap"] = {
                "estimable": False, "reason": "not estimable: no treated LA-period with a pre-period and a comparison"}
        d = dr
        # MDE for the design: treated LAs, comparison LAs, pre and post periods of the main cohort
        n_t = int((d.groupby("la_code")["cohort"].first() > 0).sum())
        n_c = int((d.groupby("la_code")["cohort"].first() == 0).sum())
        gs = sorted(g for g in d["cohort"].unique() if g > 0)
        ts = sorted(d["t"].unique())
        g0 = gs[0] if gs else None
        pre = sum(t < g0 for t in ts) if g0 else 0
        post = sum(t >= g0 for t in ts) if g0 else 0
        ctrl = d[d["cohort"] == 0]
        if n_t and n_c and pre and post and ctrl["t"].nunique() > 1:
            vc = estimate_variance_components(ctrl, outcome=oc, unit="la_code", time="t")
            mde = mde_did(n_treated=n_t, n_control=n_c, pre=pre, post=post, sigma2=vc["sigma2"], rho=vc["rho"])
            r["mde"] = {"mde": mde, "n_treated": n_t, "n_control": n_c, "pre": pre, "post": post,
                        "sigma2": vc["sigma2"], "rho": vc["rho"], "alpha": 0.05, "power": 0.8}
        else:
            mde = math.nan
            r["mde"] = {"mde": None, "reason": "not estimable: no pre-period or no treated/comparison LA"}
        pupils = la_pupils
        if pupils is None:
            if period_type == "year" and "possible_sessions" in d.columns and n_t:
                pupils = float((d.loc[d["cohort"] > 0, "possible_sessions"] / SESSIONS_PER_YEAR).median())
            if pupils is None or not np.isfinite(pupils) or pupils <= 0:
                pupils = 40_000.0
        pl = plausible_effect(pupils_mentored=pupils_mentored_per_la, la_pupils=pupils,
                              per_pupil_effect=per_pupil_effect)
        px = plausible_effect(pupils_mentored=expansion_pupils_per_la, la_pupils=pupils,
                              per_pupil_effect=per_pupil_effect)
        r["plausible"] = pl
        r["plausible_expansion"] = px
        r["detectable"] = {"first_phase": bool(np.isfinite(mde) and mde <= pl["effect"]),
                           "expansion": bool(np.isfinite(mde) and mde <= px["effect"])}
        if np.isfinite(mde) and mde > max(pl["effect"], px["effect"]):
            r["statement"] = (f"This design cannot detect an effect of the size the programme could plausibly "
                              f"have: the minimum detectable effect is {mde:.2f} points, the plausible effect "
                              f"on the LA-wide rate {pl['effect']:.3f} points ({pl['arithmetic']}), or "
                              f"{px['effect']:.3f} points at the expansion's scale ({px['arithmetic']}).")
        elif np.isfinite(mde) and mde > pl["effect"]:
            r["statement"] = (f"The minimum detectable effect ({mde:.2f} points) is above the plausible effect "
                              f"of the first phase ({pl['effect']:.3f} points: {pl['arithmetic']}) but not "
                              f"above the expansion's ({px['effect']:.3f} points: {px['arithmetic']}).")
        elif np.isfinite(mde):
            r["statement"] = (f"The minimum detectable effect ({mde:.2f} points) is below the plausible "
                              f"effect ({pl['effect']:.3f} points: {pl['arithmetic']}).")
        else:
            r["statement"] = "The minimum detectable effect cannot be computed for this design."
        out[oc] = r
    settings = {"period_type": period_type, "phase": phase, "start": start, "seed": seed,
                "pupils_mentored_per_la": pupils_mentored_per_la,
                "expansion_pupils_per_la": expansion_pupils_per_la, "per_pupil_effect": per_pupil_effect,
                "la_pupils": la_pupils, "ri_draws": ri_draws, "wild_draws": wild_draws,
                "replications": replications}
    return jsonable({"settings": settings, "counts": counts, "outcomes": out})


def example_mentor_panel(n_las: int = 40, *, effect: float = -0.5, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A fake LA panel (term level, 2022/23 autumn to 2025/26 autumn) and mentor table, planted effect.

    Four LAs start in the 2023/24 spring term (``t = 5``), two in 2024/25 summer (``t = 9``);
    a fifth of the rest are priority areas. Term-level ``overall_absence_rate`` etc. follow a
    factor model with a seasonal term; ``effect`` (points) is added from the start.

    Examples
    --------
    >>> from evaluate.findings.mentors.la import example_mentor_panel
    >>> panel, treatment = example_mentor_panel(seed=0)
    >>> panel["period_type"].unique().tolist(), int(panel["t"].max())
    (['term'], 10)
    """
    rng = np.random.default_rng(seed)
    T = 10
    t = np.arange(1, T + 1)
    codes = [f"E08{i:06d}" for i in range(1, n_las + 1)]
    regions = rng.choice(["North West", "North East", "Yorkshire", "West Midlands"], n_las)
    cohort = np.zeros(n_las, dtype=int)
    cohort[:4], cohort[4:6] = 5, 9
    prio = np.zeros(n_las, dtype=bool)
    prio[6:6 + n_las // 5] = True
    season = np.tile([0.0, 1.0, 0.6], 4)[:T]
    a = rng.normal(7.0, 0.8, n_las)
    lam = rng.normal(0, 0.3, n_las)
    f = np.cumsum(rng.normal(0, 0.4, T))
    base = a[:, None] + season[None, :] + lam[:, None] * f[None, :] + rng.normal(0, 0.15, (n_las, T))
    treated = (cohort[:, None] > 0) & (t[None, :] >= cohort[:, None])
    y = base + effect * treated
    start_year = 2022 + (t - 1) // 3
    end = pd.Timestamp("2022-12-16") + pd.to_timedelta((t - 1) * 120, unit="D")
    possible = rng.uniform(3e6, 1.2e7, n_las)[:, None] / 3 * np.ones(T)
    panel = pd.DataFrame({
        "la_code": np.repeat(codes, T), "la_name": np.repeat(codes, T), "region": np.repeat(regions, T),
        "phase": "Total", "period_type": "term", "period": np.tile([f"t{i}" for i in t], n_las),
        "year": np.tile(start_year, n_las), "t": np.tile(t, n_las), "end_date": np.tile(end, n_las),
        "possible_sessions": possible.ravel(), "overall_absence_rate": y.ravel(),
        "unauthorised_absence_rate": (0.3 * y + rng.normal(0, 0.1, y.shape)).ravel(),
        "pa_rate": (2.5 * y + rng.normal(0, 0.3, y.shape)).ravel(),
        "priority_area": np.repeat(prio, T)})
    start = {5: pd.Timestamp("2023-09-04"), 9: pd.Timestamp("2025-03-03")}
    tr = [{"la_code": codes[i], "la_name": codes[i], "start_date": start[cohort[i]],
           "announced_date": start[cohort[i]], "actual_date": end[cohort[i] - 1] - pd.Timedelta(days=30),
           "coverage": "whole", "included": True, "cohort_year": 2023 if cohort[i] == 5 else 2024}
          for i in range(n_las) if cohort[i] > 0]
    return panel, pd.DataFrame(tr)
