"""The findings of one programme, per outcome, as plain JSON-ready dictionaries."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from evaluate.design import Design
from evaluate.did import bacon_decomposition, callaway_santanna, imputation, sun_abraham, twfe
from evaluate.errors import InputError
from evaluate.findings.judgement import confidence, sms_level
from evaluate.matching import CohortMatching, matched_did
from evaluate.matching.matched_did import stacked_panel
from evaluate.numbers import finite as _f
from evaluate.numbers import jsonable

__all__ = ["OUTCOME_LABELS", "programme_findings", "days_per_pupil"]

#: Display name and unit of each outcome.
OUTCOME_LABELS: dict[str, tuple[str, str]] = {
    "overall_absence_rate": ("Overall absence rate", "percentage points"),
    "authorised_rate": ("Authorised absence rate", "percentage points"),
    "unauthorised_rate": ("Unauthorised absence rate", "percentage points"),
    "pa_rate": ("Persistent absence", "percentage points of pupils"),
    "severe_rate": ("Severe absence", "percentage points of pupils"),
}
#: Outcomes measured in sessions (an effect converts to days of school per pupil).
SESSION_OUTCOMES = ("overall_absence_rate", "authorised_rate", "unauthorised_rate")
#: Subgroups with fewer treated schools than this are not estimated.
MIN_SUBGROUP = 20
#: Cohorts with at least this many treated schools must be balanced for a high rating;
#: smaller ones are named in the report when they are not.
MIN_BALANCE_COHORT = 30


def days_per_pupil(effect_pp: float, sessions_per_pupil: float) -> float:
    """An effect on an absence rate (percentage points) as days of school per pupil per year.

    ``effect_pp / 100`` of the sessions a pupil could attend in a year, two sessions a day.
    """
    return effect_pp / 100.0 * sessions_per_pupil / 2.0


#: With at least this many treated clusters the normal approximation is used; with fewer,
#: intervals and p-values use Student's t with (treated clusters - 1) degrees of freedom.
T_CLUSTERS = 50


def treated_clusters(res, cohorts=None) -> int:
    """Clusters (or units, without clustering) among the treated units of ``cohorts`` (all by default)."""
    g_own = np.asarray(res.extra["unit_cohort"])
    cl = res.extra.get("unit_cluster")
    keep = g_own > 0 if cohorts is None else np.isin(g_own, list(cohorts))
    if cl is None:
        return int(keep.sum())
    return int(len(pd.unique(np.asarray(cl, dtype=object)[keep])))


def _small_sample(row: dict[str, Any], clusters: int) -> dict[str, Any]:
    """Student-t interval and p-value for an estimate resting on few treated clusters."""
    row["treated_clusters"] = int(clusters)
    est, se = row.get("estimate"), row.get("se")
    if clusters >= T_CLUSTERS or est is None or se is None or not math.isfinite(se) or se <= 0:
        row["interval"] = "normal"
        return row
    if clusters < 2:
        row.update(ci_low=None, ci_high=None, p_value=None, interval="not available: one treated cluster")
        return row
    from scipy import stats

    df = clusters - 1
    q = float(stats.t.ppf(0.975, df))
    row.update(ci_low=est - q * se, ci_high=est + q * se, p_value=float(2 * stats.t.sf(abs(est / se), df)),
               interval=f"t({df})")
    return row


def _rows(frame: pd.DataFrame, key: str, res=None) -> list[dict[str, Any]]:
    out = []
    for r in frame.itertuples(index=False):
        row = {key: (r.term if key == "term" else _f(getattr(r, "component", None))),
               "estimate": _f(r.estimate), "se": _f(r.se), "ci_low": _f(r.ci_low),
               "ci_high": _f(r.ci_high), "p_value": _f(r.p_value), "n": _f(r.n)}
        if res is not None and key == "component" and row["component"] is not None:
            c = int(row["component"])
            cohorts = [c] if str(r.term).startswith("g=") else _cohorts_at(res, c)
            row = _small_sample(row, treated_clusters(res, cohorts))
        out.append(row)
    return out


def _cohorts_at(res, e: int) -> list[int]:
    """Cohorts with a cell at event time ``e``."""
    t = res.table
    return sorted(int(g) for g in t.loc[t["event_time"] == e, "group"].unique())


def _overall(agg, res=None) -> dict[str, Any]:
    t = agg.to_frame()
    r = t[t["term"] == "overall"].iloc[0]
    out = {"estimate": _f(r["estimate"]), "se": _f(r["se"]), "ci_low": _f(r["ci_low"]),
           "ci_high": _f(r["ci_high"]), "p_value": _f(r["p_value"])}
    return _small_sample(out, treated_clusters(res)) if res is not None else out


def _pretest(res) -> dict[str, Any]:
    """The small-sample pre-trend test (:func:`evaluate.did.pretest.small_sample_pretest`), JSON-ready."""
    from evaluate.did.pretest import small_sample_pretest

    out = small_sample_pretest(res, exclude_anticipation=True)
    return {k: (_f(v) if isinstance(v, float) else v) for k, v in out.items()}


def _schools(res, unit_col_is_stack: bool) -> tuple[int, int]:
    """Treated and comparison schools behind a Callaway-Sant'Anna result."""
    coh = np.asarray(res.extra["unit_cohort"])
    n_treated = int((coh > 0).sum())
    n_comp = int((coh == 0).sum())
    return n_treated, n_comp


def _trends(frame: pd.DataFrame, *, outcome: str, time: str, treated: np.ndarray,
            weights: np.ndarray | None = None) -> list[dict[str, Any]]:
    d = pd.DataFrame({"year": frame[time].to_numpy(), "y": frame[outcome].to_numpy(dtype=float),
                      "group": np.where(treated, "treated", "comparison"),
                      "w": np.ones(len(frame)) if weights is None else weights})
    d = d[np.isfinite(d["y"])]
    g = d.assign(wy=d["w"] * d["y"]).groupby(["group", "year"], sort=True)
    out = (g["wy"].sum() / g["w"].sum()).rename("mean").reset_index()
    return [{"group": r.group, "year": int(r.year), "mean": _f(r.mean)} for r in out.itertuples(index=False)]


def _try(fn, *args, **kwargs):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return fn(*args, **kwargs), None
    except InputError as exc:
        return None, exc.message
    except np.linalg.LinAlgError as exc:  # a numerically singular fit: not estimable, named
        return None, f"not estimable: the fit is numerically singular ({exc})"


def programme_findings(panel: pd.DataFrame, *, outcomes: Sequence[str], design: Design | None = None,
                       programme: str | None = None, cohort: str | None = None,
                       matching: CohortMatching | None = None, unit: str = "school_id", time: str = "year",
                       cluster: str | None = None, synthetic: bool = False,
                       fits: dict[str, Any] | None = None, anticipation: int = 0,
                       estimator: str = "dr") -> dict[str, Any]:
    """Every estimate a programme report shows, per outcome.

    Parameters
    ----------
    panel
        The school-year panel (``work/output/panel/panel_year.parquet``).
    design
        The programme's :class:`evaluate.design.Design` (from ``evaluation.yml``): its
        columns, timing, estimator and cluster are used, and its settings are recorded
        under ``settings``. Without it, the keywords below make one.
    programme
        ``"hubs"`` or ``"mentors"`` (a label).
    cohort
        The programme's cohort column (first treated year, 0 = never).
    outcomes
        Outcome columns.
    matching
        The cohort matching of the programme; ``None`` estimates against all never-treated
        schools (the design is then unmatched).
    cluster
        Cluster column for standard errors (default: the school).
    synthetic
        Whether the data are synthetic (recorded, shown on every page of the reports).
    anticipation
        Years before a cohort's first year that may carry part of the effect (partly
        exposed years): the base period is the year before them, they are left out of the
        pre-trend test, and the other estimators leave the treated schools' rows of those
        years out.
    estimator
        Callaway-Sant'Anna's 2x2 estimator (``dr``, ``ipw`` or ``reg``).
    fits
        If given, filled with ``outcome ->`` the headline's fitted
        :class:`evaluate.did.ATTgtResult` (for checks against a known truth:
        :mod:`evaluate.validation`).

    Returns
    -------
    dict
        JSON-ready: ``programme``, ``design`` (SMS level), ``sessions_per_pupil``, ``matching``
        (counts and balance, if matched) and ``outcomes`` -> per outcome ``headline``,
        ``event_study``, ``pretest``, ``by_wave``, ``by_phase``, ``by_fsm``, ``estimators``,
        ``bacon``, ``trends``, ``confidence`` and ``dropped`` (units left out, by reason).

    Examples
    --------
    Every estimate of a programme report, from a small simulated panel (the example
    panel's columns renamed to the panel's names):

    >>> from evaluate.did import example_school_panel
    >>> from evaluate.findings import programme_findings
    >>> panel = example_school_panel()
    >>> results = programme_findings(panel, programme="hubs", cohort="cohort",
    ...                              outcomes=["overall_absence_rate"], synthetic=True)
    >>> sorted(results["outcomes"]["overall_absence_rate"])[:6]
    ['bacon', 'by_fsm', 'by_phase', 'by_wave', 'confidence', 'dropped']
    >>> round(results["outcomes"]["overall_absence_rate"]["headline"]["estimate"], 2)
    1.66
    >>> results["outcomes"]["overall_absence_rate"]["confidence"]["rating"]
    'high'
    """
    if design is None:
        if programme is None or cohort is None:
            raise InputError("programme_findings needs a design, or programme= and cohort=")
        design = Design(programme=programme, cohort=cohort, unit=unit, time=time, cluster=cluster,
                        anticipation=int(anticipation), estimator=estimator,
                        control=matching.settings["control"] if matching is not None else "never")
    programme, cohort, unit, time = design.programme, design.cohort, design.unit, design.time
    cluster, anticipation, estimator = design.cluster, design.anticipation, design.estimator
    for c in (unit, time, cohort, *outcomes):
        if c not in panel.columns:
            raise InputError("column not found in the panel", column=c)
    panel = design.sample(panel).copy()
    panel[cohort] = pd.to_numeric(panel[cohort], errors="coerce").fillna(0).astype("int64")
    cl = cluster or unit
    matched = matching is not None
    # the matched-set cluster exists in the stacked sample only: unmatched fits cluster by school
    cl_panel = cl if cl in panel.columns else unit
    last = int(panel[time].max())
    treated_units = panel.loc[panel[cohort] > 0, unit].unique()
    latest = panel[(panel[time] == last) & panel[unit].isin(treated_units)]
    spp = float(latest["sess_possible"].sum() / latest["enrolments"].sum()) if "sess_possible" in panel else math.nan
    # disadvantage: thirds of the schools' free-school-meals share (national cut points)
    fsm_by_school = panel.groupby(unit)["fsm_pct"].first() if "fsm_pct" in panel else None
    cuts = fsm_by_school.quantile([1 / 3, 2 / 3]).to_numpy() if fsm_by_school is not None else None
    third = None
    if cuts is not None:
        third = pd.Series(np.select([fsm_by_school <= cuts[0], fsm_by_school <= cuts[1]],
                                    ["lowest third", "middle third"], "highest third"), index=fsm_by_school.index)
    stack = stacked_panel(panel, matching) if matched else None
    # the other estimators have no anticipation setting: the treated schools' partly exposed
    # years are left out of their samples instead
    lean = panel
    if anticipation:
        g = panel[cohort]
        lean = panel[~((g > 0) & (panel[time] < g) & (panel[time] >= g - anticipation))]

    def _fit(frame: pd.DataFrame, outcome: str):
        if matched:
            return callaway_santanna(frame, outcome=outcome, unit="stack_unit", time=time, cohort=cohort,
                                     control=matching.settings["control"], weights="match_weight", cluster=cl,
                                     subexperiment="stack", anticipation=anticipation, estimator=estimator)
        return callaway_santanna(frame, outcome=outcome, unit=unit, time=time, cohort=cohort, cluster=cl_panel,
                                 anticipation=anticipation, estimator=estimator)

    results: dict[str, Any] = {}
    for y in outcomes:
        label, scale = OUTCOME_LABELS.get(y, (y, ""))
        if matched:
            md = matched_did(panel, outcome=y, unit=unit, time=time, cohort=cohort, matching=matching,
                             cluster=cluster, compare_unmatched=True, anticipation=anticipation,
                             estimator=estimator)
            main, unmatched = md.did, md.unmatched
        else:
            main = callaway_santanna(panel, outcome=y, unit=unit, time=time, cohort=cohort, cluster=cl_panel,
                                     anticipation=anticipation, estimator=estimator)
            unmatched = None
        if fits is not None:
            fits[y] = main
        simple = main.aggregate("simple")
        head = _overall(simple, main)
        n_t, n_c = _schools(main, matched)
        if matched:
            n_t = int(stack.loc[stack["stack"] == stack[cohort], unit].nunique())
            n_c = int(stack.loc[stack[cohort] != stack["stack"], unit].nunique())
        head.update({"n_treated": n_t, "n_comparison": n_c})
        if y in SESSION_OUTCOMES and math.isfinite(spp) and head["estimate"] is not None:
            head["days_per_pupil"] = {k: days_per_pupil(head[k], spp) for k in ("estimate", "ci_low", "ci_high")}
        dyn = main.aggregate("dynamic").to_frame()
        grp = main.aggregate("group").to_frame()
        entry: dict[str, Any] = {
            "label": label, "scale": scale, "headline": head,
            "event_study": _rows(dyn[dyn["term"] != "overall"], "component", main),
            "pretest": _pretest(main),
            "by_wave": _rows(grp[grp["term"] != "overall"], "component", main),
            "dropped": main.dropped(),
        }
        # subgroups: phase and disadvantage
        for key, labels_of in (("by_phase", panel.groupby(unit)["phase"].first() if "phase" in panel else None),
                               ("by_fsm", third)):
            rows = []
            if labels_of is not None:
                for lab in sorted(pd.unique(labels_of)):
                    members = labels_of.index[labels_of == lab]
                    frame = (stack if matched else panel)
                    sub = frame[frame[unit].isin(members)]
                    n_sub = int(sub.loc[sub[cohort] > 0, unit].nunique())
                    if n_sub < MIN_SUBGROUP:
                        rows.append({"group": str(lab), "n_treated": n_sub, "note": f"fewer than {MIN_SUBGROUP} treated schools"})
                        continue
                    res, err = _try(_fit, sub, y)
                    if res is None:
                        rows.append({"group": str(lab), "n_treated": n_sub, "note": err})
                        continue
                    rows.append({"group": str(lab), "n_treated": n_sub, **_overall(res.aggregate("simple"), res)})
            entry[key] = rows
        # estimators side by side (the robustness of the headline to the estimator)
        est: list[dict[str, Any]] = [{"estimator": "Callaway-Sant'Anna" + (" (matched)" if matched else ""), **head}]
        if unmatched is not None:
            est.append({"estimator": "Callaway-Sant'Anna (all comparison schools)", **_overall(unmatched.aggregate("simple"))})
        sa, err_sa = _try(sun_abraham, lean, outcome=y, unit=unit, time=time, cohort=cohort, cluster=cl_panel)
        if sa is not None:
            r = sa.to_frame().set_index("term").loc["ATT"]
            est.append({"estimator": "Sun-Abraham", "estimate": _f(r["estimate"]), "se": _f(r["se"]),
                        "ci_low": _f(r["ci_low"]), "ci_high": _f(r["ci_high"]), "p_value": _f(r["p_value"])})
        im, err_im = _try(imputation, lean, outcome=y, unit=unit, time=time, cohort=cohort, cluster=cl_panel)
        if im is not None:
            r = im.to_frame().set_index("term").loc["ATT"]
            est.append({"estimator": "Imputation (Borusyak-Jaravel-Spiess)", "estimate": _f(r["estimate"]),
                        "se": _f(r["se"]), "ci_low": _f(r["ci_low"]), "ci_high": _f(r["ci_high"]),
                        "p_value": _f(r["p_value"])})
        tw, err_tw = _try(twfe, lean, outcome=y, unit=unit, time=time, cohort=cohort, cluster=cl_panel)
        if tw is not None:
            r = tw.to_frame().iloc[0]
            est.append({"estimator": "Two-way fixed effects", "estimate": _f(r["estimate"]), "se": _f(r["se"]),
                        "ci_low": _f(r["ci_low"]), "ci_high": _f(r["ci_high"]), "p_value": _f(r["p_value"])})
        entry["estimators"] = est
        entry["estimator_errors"] = {k: v for k, v in (("sun_abraham", err_sa), ("imputation", err_im),
                                                       ("twfe", err_tw)) if v}
        # Bacon decomposition of TWFE, on the schools observed in every year
        years = panel[time].nunique()
        complete = panel[y].notna().groupby(panel[unit]).transform("sum") == years
        bal = panel[complete]
        bd, err_bd = _try(bacon_decomposition, bal, outcome=y, unit=unit, time=time, cohort=cohort)
        entry["bacon"] = None if bd is None else {
            "twfe": _f(bd.twfe_estimate), "n_schools": int(bal[unit].nunique()),
            "by_type": [{"type": r.type, "estimate": _f(r.estimate), "weight": _f(r.weight)}
                        for r in bd.by_type.itertuples(index=False)]}
        if err_bd:
            entry["estimator_errors"]["bacon"] = err_bd
        # absence over time
        if matched:
            own = (stack["stack"] == stack[cohort]).to_numpy()
            entry["trends"] = _trends(stack, outcome=y, time=time, treated=own,
                                      weights=stack["match_weight"].to_numpy(dtype=float))
        else:
            entry["trends"] = _trends(panel, outcome=y, time=time, treated=(panel[cohort] > 0).to_numpy())
        imbalanced = sorted({t for g, b in matching.balance.items()
                             if matching.matches[g].counts()["treated_matched"] >= MIN_BALANCE_COHORT
                             for t in b.imbalanced("after")}) if matched else []
        others = {e["estimator"]: e["estimate"] for e in est[1:]}
        entry["confidence"] = confidence(pretest_p=entry["pretest"].get("p_value"), imbalanced=imbalanced,
                                         estimates=others, headline=head["estimate"],
                                         ci=(head["ci_low"], head["ci_high"]))
        results[y] = entry
    out: dict[str, Any] = {
        "programme": programme, "cohort_column": cohort, "synthetic": bool(synthetic),
        "design": sms_level(matched=matched), "cluster": cl, "anticipation": int(anticipation),
        "estimator": estimator, "settings": design.to_dict(), "sessions_per_pupil": _f(spp),
        "years": sorted(int(t) for t in panel[time].unique()),
        "cohorts": sorted(int(g) for g in panel.loc[panel[cohort] > 0, cohort].unique()),
        "outcomes": results,
    }
    if matched:
        out["matching"] = matching.to_dict()
    return jsonable(out)
