"""Cohort-specific matching for staggered adoption.

Each adoption cohort (wave) is matched on its own pre-period: the comparison candidates
are the units never treated by the end of the panel (``control="never"``) or also those
not yet treated when the cohort started (``control="not_yet"``), described by their
absence *level* (the latest observed value before the cohort's first year) and *trend*
(the least-squares slope per year over the last ``pre_years`` observed years before it),
together with characteristics such as Ofsted rating, priority-area status, phase,
free-school-meals share, size and region, read in the latest year before the cohort.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from evaluate.errors import InputError
from evaluate.matching.balance import BalanceResult, balance_table
from evaluate.matching.entropy import entropy_balance
from evaluate.matching.nearest import MatchResult, block_labels, nearest_neighbour

__all__ = ["CohortMatching", "match_cohorts", "pre_period_features", "DEFAULT_OUTCOMES", "DEFAULT_COVARIATES"]

#: Absence measures matched on (level and trend before the cohort joined).
DEFAULT_OUTCOMES: tuple[str, ...] = ("overall_absence_rate", "pa_rate")
#: Characteristics matched on (read in the latest year before the cohort joined).
DEFAULT_COVARIATES: tuple[str, ...] = ("ofsted", "priority_area", "phase", "fsm_pct", "size", "region")

MISSING_PRE = "no pre-period data for a matching variable"
#: Covariates entropy balancing gives up first, in this order, when a cohort cannot be
#: balanced on everything (absence before joining, FSM, priority area and phase are kept).
RELAX_ORDER: tuple[str, ...] = ("region", "size", "ofsted", "pa_rate_trend", "overall_absence_rate_trend",
                                 "pa_rate_level", "fsm_pct")


def pre_period_features(panel: pd.DataFrame, *, unit: str, time: str, first_year: int,
                        outcomes: Sequence[str], covariates: Sequence[str], pre_years: int = 3,
                        level: str = "last", terms: Sequence[str] = ("level", "trend")) -> pd.DataFrame:
    """One row per unit observed before ``first_year``: outcome levels and trends, covariates.

    Columns: ``unit``, ``<outcome>_level`` (``level="last"``: the latest non-missing value
    before ``first_year``; ``level="mean"``: the mean of the non-missing values of the last
    ``pre_years`` observed years, less noisy), ``<outcome>_trend`` (slope per year over the non-missing values of the
    last ``pre_years`` observed years before it; missing with fewer than two), and the
    covariates as in the latest year before ``first_year``. ``terms`` chooses the outcome
    columns: ``level``, ``trend`` and ``path`` (``<outcome>_pre1`` ... ``<outcome>_pre<k>``:
    the value in each of the last ``pre_years`` observed years, latest first).
    """
    pre = panel.loc[panel[time] < first_year]
    if pre.empty:
        raise InputError(f"no year before {first_year} to match on", column=time)
    pre = pre.sort_values([unit, time])
    rank = pre.groupby(unit, sort=False)[time].rank(method="first", ascending=False)
    window = pre.loc[rank <= pre_years]
    last = pre.groupby(unit, sort=False).tail(1).set_index(unit)
    out = pd.DataFrame(index=pd.Index(last.index, name=unit))
    for y in outcomes:
        w = window[[unit, time, y]].dropna()
        if level == "mean":
            lev = w.groupby(unit, sort=False)[y].mean()
        else:
            lev = w.groupby(unit, sort=False).tail(1).set_index(unit)[y]
        t = w[time].astype(float)
        g = w.groupby(unit, sort=False)
        tc = t - g[time].transform("mean")
        yc = w[y] - g[y].transform("mean")
        num = (tc * yc).groupby(w[unit], sort=False).sum()
        den = (tc * tc).groupby(w[unit], sort=False).sum()
        slope = (num / den).where(den > 0)
        if "level" in terms:
            out[f"{y}_level"] = lev.reindex(out.index)
        if "trend" in terms:
            out[f"{y}_trend"] = slope.reindex(out.index)
        if "path" in terms:
            years = sorted(pre[time].unique())[-pre_years:][::-1]
            wide = pre.pivot_table(index=unit, columns=time, values=y, aggfunc="first")
            for k, yr in enumerate(years, start=1):
                out[f"{y}_pre{k}"] = wide[yr].reindex(out.index) if yr in wide else np.nan
    for c in covariates:
        out[c] = last[c].reindex(out.index)
    return out.reset_index()


@dataclass(frozen=True, eq=False)
class CohortMatching:
    """Cohort-by-cohort matching: one :class:`MatchResult` and one balance table per cohort.

    Attributes
    ----------
    matches
        Cohort -> :class:`MatchResult` (units are the cohort's treated units and candidates).
    balance
        Cohort -> :class:`BalanceResult` on the matching variables, before and after.
    features
        Cohort -> the pre-period features matched on (one row per unit).
    settings
        Every choice that produced the matching.
    dropped
        Cohort -> {reason: units} for units left out before matching (no pre-period data).
    skipped
        Cohort -> why no unit of it could be matched (with ``on_unmatched="skip"``); such a
        cohort is absent from ``matches`` and counted in :meth:`counts`.

    Examples
    --------
    >>> from evaluate.did import example_panel
    >>> from evaluate.matching import match_cohorts
    >>> cm = match_cohorts(example_panel(), unit="id", time="period", cohort="cohort",
    ...                    outcomes=["y"], covariates=["x"], exact=(), pre_years=2, seed=0)
    >>> cm.unit_weights().columns.tolist()
    ['id', 'match_weight']
    >>> cm.stacked().columns.tolist()
    ['stack', 'id', 'treated', 'weight', 'subclass']
    """

    matches: Mapping[int, MatchResult]
    balance: Mapping[int, BalanceResult]
    features: Mapping[int, pd.DataFrame]
    settings: Mapping[str, Any]
    dropped: Mapping[int, Mapping[str, int]] = field(default_factory=dict)
    skipped: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("matches", "balance", "features", "settings", "dropped", "skipped"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    @property
    def cohorts(self) -> list[int]:
        return sorted(self.matches)

    def stacked(self) -> pd.DataFrame:
        """The matched sample as sub-experiments: ``stack`` (cohort), ``unit``, ``treated``, ``weight``,
        ``subclass`` (the matched set of a treated unit, for matching without replacement)."""
        unit = self.settings["unit"]
        parts = []
        for g, m in sorted(self.matches.items()):
            u = m.matched[["unit", "treated", "weight", "subclass"]].assign(stack=g)
            parts.append(u)
        out = pd.concat(parts, ignore_index=True)[["stack", "unit", "treated", "weight", "subclass"]]
        return out.rename(columns={"unit": unit})

    def unit_weights(self) -> pd.DataFrame:
        """One matching weight per unit, for estimators without sub-experiments (``weights=``).

        Treated units weigh 1; a comparison unit weighs the sum of its weights over the
        cohorts it was matched to. Merge it onto the panel (units absent are not in the
        matched sample) and pass ``weights="match_weight"`` to ``twfe``, ``event_study``,
        ``sun_abraham`` or ``imputation``. Unlike :func:`evaluate.matching.matched_did`,
        each cohort is then compared with every matched comparison unit, not only its own.
        """
        unit = self.settings["unit"]
        st = self.stacked()
        w = st.groupby(unit, sort=True)["weight"].sum().rename("match_weight").reset_index()
        return w

    def counts(self) -> pd.DataFrame:
        """Per cohort: treated and candidate units, matched, and every unit left out with its reason."""
        rows = []
        for g, m in sorted(self.matches.items()):
            c = {"cohort": g, **m.counts()}
            for reason, n in self.dropped.get(g, {}).items():
                c[reason] = n
            rows.append(c)
        for g, info in sorted(self.skipped.items()):
            rows.append({"cohort": g, "treated": info["treated"], "comparison": info["comparison"],
                         "treated_matched": 0, "comparison_matched": 0,
                         "treated_dropped_cohort_unmatched": info["treated"]})
        out = pd.DataFrame(rows).fillna(0).sort_values("cohort").reset_index(drop=True)
        return out.astype({c: int for c in out.columns})

    def to_frame(self) -> pd.DataFrame:
        """Every cohort's balance table, with a ``cohort`` column."""
        return pd.concat([b.table.assign(cohort=g) for g, b in sorted(self.balance.items())], ignore_index=True)

    def to_dict(self) -> dict[str, Any]:
        from evaluate.numbers import jsonable

        return jsonable({"settings": dict(self.settings), "counts": self.counts(),
                          "balance": self.to_frame(),
                          "caliper_width": {g: m.extra.get("caliper_width") for g, m in self.matches.items()},
                          "skipped": {g: v["reason"] for g, v in self.skipped.items()},
                          "weighting": {g: {"converged": m.extra["converged"],
                                            "effective_comparison": m.extra["effective_comparison"]}
                                        for g, m in self.matches.items() if "converged" in m.extra}})

    def summary(self) -> str:
        lines = [f"cohort matching ({self.settings['control']} treated comparison pool, "
                 f"distance {self.settings['distance']}, caliper {self.settings['caliper']})"]
        lines.append(self.counts().to_string(index=False))
        for g, info in sorted(self.skipped.items()):
            lines.append(f"cohort {g}: not matched ({info['reason']})")
        for g, b in sorted(self.balance.items()):
            bad = b.imbalanced("after")
            lines.append(f"cohort {g}: {len(bad)} term(s) with |SMD| > 0.1 after matching"
                         + (f" ({', '.join(bad)})" if bad else ""))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def save(self, folder) -> Path:
        """Write the matching to ``folder`` (working area): Parquet tables and one JSON of settings.

        :meth:`load` reads it back equal, so a later stage uses the very matched sample an
        earlier stage made instead of matching again.
        """
        import json

        from evaluate.io import write_json, write_parquet
        from evaluate.numbers import jsonable

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta: dict[str, Any] = {"settings": jsonable(dict(self.settings)), "dropped": {}, "skipped": {},
                                "matches": {}, "balance": {}}
        for g, m in self.matches.items():
            write_parquet(m.units, folder / f"units_{g}.parquet")
            write_parquet(m.pairs, folder / f"pairs_{g}.parquet")
            meta["matches"][str(g)] = {"settings": jsonable(dict(m.settings)), "extra": jsonable(dict(m.extra))}
        for g, b in self.balance.items():
            write_parquet(b.table, folder / f"balance_{g}.parquet")
            meta["balance"][str(g)] = jsonable(dict(b.settings))
        for g, f in self.features.items():
            write_parquet(f, folder / f"features_{g}.parquet")
        meta["dropped"] = {str(g): jsonable(dict(v)) for g, v in self.dropped.items()}
        meta["skipped"] = {str(g): jsonable(dict(v)) for g, v in self.skipped.items()}
        write_json(json.loads(json.dumps(meta)), folder / "matching.json")
        return folder

    @classmethod
    def load(cls, folder) -> CohortMatching:
        """Read a matching written by :meth:`save`."""
        import json

        folder = Path(folder)
        meta = json.loads((folder / "matching.json").read_text(encoding="utf-8"))
        matches, balance, features = {}, {}, {}
        for g, info in meta["matches"].items():
            pairs = pd.read_parquet(folder / f"pairs_{g}.parquet")
            matches[int(g)] = MatchResult(units=pd.read_parquet(folder / f"units_{g}.parquet"), pairs=pairs,
                                          settings=info["settings"], extra=info["extra"])
        for g, st in meta["balance"].items():
            balance[int(g)] = BalanceResult(pd.read_parquet(folder / f"balance_{g}.parquet"), st)
        for g in meta["matches"]:
            path = folder / f"features_{g}.parquet"
            if path.exists():
                features[int(g)] = pd.read_parquet(path)
        return cls(matches, balance, features, meta["settings"], {int(g): v for g, v in meta["dropped"].items()},
                   {int(g): v for g, v in meta["skipped"].items()})

    def plot(self, cohort: int | None = None, *, caption: str | None = None):
        """Love plot of one cohort (the first by default)."""
        g = self.cohorts[0] if cohort is None else cohort
        return self.balance[g].plot(title=f"Covariate balance, cohort {g}", caption=caption)


def match_cohorts(panel: pd.DataFrame, *, unit: str, time: str, cohort: str,
                  outcomes: Sequence[str] = DEFAULT_OUTCOMES, covariates: Sequence[str] = DEFAULT_COVARIATES,
                  exact: Sequence[str] = ("phase",), control: str = "never", pre_years: int = 3,
                  distance: str = "logit", ratio: int = 1, replace: bool = False,
                  caliper: float | None = 0.2, discard: str = "none", order: str = "largest",
                  level: str = "last", sd: str = "pooled", seed: int | None = None, on_unmatched: str = "skip",
                  method: str = "nearest", anticipation: int = 0, exclude: Sequence[Any] = (),
                  terms: Sequence[str] = ("level", "trend"),
                  source: str | None = None) -> CohortMatching:
    """Match each adoption cohort to comparison units on its own pre-period.

    Parameters
    ----------
    panel
        Long panel, one row per unit and year.
    unit, time, cohort
        Columns; ``cohort`` is the first treated year (0 = never treated).
    outcomes
        Absence measures whose pre-period level and trend are matched on.
    covariates
        Characteristics matched on (latest pre-period value); text columns become levels.
    exact
        Columns matched exactly (phase by default; add ``"region"`` for region blocks).
    control
        ``"never"``: candidates never treated by the end of the panel; ``"not_yet"``: also
        units first treated after the cohort's first year.
    pre_years
        Years before the cohort used for the outcome trends (and the mean level).
    level
        ``"last"`` (the latest pre-period value, the default) or ``"mean"`` (the mean over the
        ``pre_years`` years: less transitory noise, so less regression to the mean in the
        matched comparison group; see ``analysis/MATCHING_SIMULATION.md``).
    distance, ratio, replace, caliper, discard, order, seed
        As :func:`evaluate.matching.nearest_neighbour` (caliper in SDs of the logit score).
    sd
        SMD denominator for the balance tables (``"pooled"`` or ``"treated"``).
    method
        ``"nearest"``: nearest-neighbour matching (:func:`evaluate.matching.nearest_neighbour`);
        ``"entropy"``: entropy-balancing weights on every comparison unit of the block
        (:func:`evaluate.matching.entropy.entropy_balance`), which equal the treated means
        of every matching variable exactly (balance by construction); ``distance``,
        ``ratio``, ``replace``, ``caliper``, ``discard`` and ``order`` do not apply.
    anticipation
        Years before the cohort's first year that may already be affected (partly exposed
        years): the pre-period used for matching ends ``anticipation`` years earlier.
    exclude
        Units never used as comparison units (for example units exposed to the programme
        too late in the panel to form a cohort of their own).
    on_unmatched
        When not one treated unit of a cohort can be matched (for example a pilot cohort of
        a few schools that the propensity score separates from every comparison school):
        ``"skip"`` leaves the cohort out, counts it and warns; ``"error"`` raises.

    Raises
    ------
    InputError
        Unknown column, no cohort, no candidates in a cohort, or no match (with counts).

    Examples
    --------
    Each cohort of a small simulated panel matched on the pre-period level and trend of
    ``y`` and the latest pre-period ``x``:

    >>> from evaluate.did import example_panel
    >>> from evaluate.matching import match_cohorts
    >>> cm = match_cohorts(example_panel(), unit="id", time="period", cohort="cohort",
    ...                    outcomes=["y"], covariates=["x"], exact=(), pre_years=2, seed=0)
    >>> cm.cohorts
    [3, 4, 5]
    >>> cm.counts()[["cohort", "treated", "treated_matched"]]
       cohort  treated  treated_matched
    0       3       47               36
    1       4       52               34
    2       5       59               37
    """
    if control not in ("never", "not_yet"):
        raise InputError(f"control must be 'never' or 'not_yet', not {control!r}")
    if method not in ("nearest", "entropy"):
        raise InputError(f"method must be 'nearest' or 'entropy', not {method!r}", column="method")
    if not isinstance(anticipation, int | np.integer) or anticipation < 0:
        raise InputError(f"anticipation must be a non-negative whole number, not {anticipation!r}",
                         column="anticipation")
    for role, cols in (("unit", [unit]), ("time", [time]), ("cohort", [cohort]), ("outcome", outcomes),
                       ("covariate", covariates), ("exact-matching column", exact)):
        for c in cols:
            if c not in panel.columns:
                raise InputError(f"{role} column not found (columns: {', '.join(map(str, panel.columns))})",
                                 file=source, column=c)
    coh = pd.to_numeric(panel[cohort], errors="coerce").fillna(0).astype("int64")
    # first treated after the last year of the panel = never treated within it (as callaway_santanna)
    coh = coh.where(coh <= panel[time].max(), 0)
    panel = panel.assign(**{cohort: coh})
    unit_cohort = panel.groupby(unit, sort=False)[cohort].first()
    cohorts = sorted(int(g) for g in unit_cohort.unique() if g > 0 and g - anticipation > panel[time].min())
    excluded = set(exclude)
    if not cohorts:
        raise InputError("no treated cohort with a year before it to match on", file=source, column=cohort)
    bad_terms = [t for t in terms if t not in ("level", "trend", "path")]
    if bad_terms or not terms:
        raise InputError(f"terms must be some of level, trend and path, not {list(terms)!r}", column="terms")
    features_cols = [f"{y}_{k}" for y in outcomes for k in ("level", "trend") if k in terms]
    if "path" in terms:
        features_cols += [f"{y}_pre{k}" for y in outcomes for k in range(1, pre_years + 1)]
    features_cols += list(covariates)
    if level not in ("last", "mean"):
        raise InputError(f"level must be 'last' or 'mean', not {level!r}")
    if on_unmatched not in ("skip", "error"):
        raise InputError(f"on_unmatched must be 'skip' or 'error', not {on_unmatched!r}")
    matches, balances, feats, dropped, skipped = {}, {}, {}, {}, {}
    for g in cohorts:
        f = pre_period_features(panel, unit=unit, time=time, first_year=g - anticipation, outcomes=outcomes,
                                covariates=list(dict.fromkeys(list(covariates) + list(exact))),
                                pre_years=pre_years, level=level, terms=terms)
        gu = unit_cohort.reindex(f[unit]).to_numpy()
        pool = (gu == 0) if control == "never" else ((gu == 0) | (gu > g + anticipation))
        if excluded:
            pool = pool & ~f[unit].isin(excluded).to_numpy()
        f = f.loc[(gu == g) | pool].reset_index(drop=True)
        f["treated"] = (unit_cohort.reindex(f[unit]).to_numpy() == g).astype(int)
        miss = f[features_cols + list(exact)].isna().any(axis=1)
        drop = {}
        if miss.any():
            drop[f"treated_dropped_{'missing_pre'}"] = int((miss & (f["treated"] == 1)).sum())
            drop[f"comparison_dropped_{'missing_pre'}"] = int((miss & (f["treated"] == 0)).sum())
        f = f.loc[~miss].reset_index(drop=True)
        if f["treated"].sum() == 0:
            raise InputError(f"cohort {g}: no treated unit has pre-period data for every matching variable "
                             f"({drop.get('treated_dropped_missing_pre', 0):,} left out)", column=cohort)
        if (f["treated"] == 0).sum() == 0:
            raise InputError(f"cohort {g}: no comparison units ({control} treated) with pre-period data",
                             column=cohort)
        labels = block_labels(f, exact) if exact else np.full(len(f), "all", dtype=object)
        is_t = f["treated"].to_numpy() == 1
        empty = sorted(set(labels[is_t]) - set(labels[~is_t]))
        if empty:
            n_empty = int(np.isin(labels[is_t], empty).sum())
            raise InputError(f"cohort {g}: no comparison units in exact block(s) {', '.join(empty)} "
                             f"({n_empty:,} treated units there); match without exact matching on "
                             f"{', '.join(exact)} or widen the comparison pool", column="exact")
        try:
            # the exact-matching columns are constant within a block: left out of the score
            # (otherwise a cohort all in one phase separates perfectly on them)
            ps_cols = [c for c in features_cols if c not in exact]
            if method == "entropy":
                # one weighting per exact block (phase), reaching the treated means of every
                # variable; a block that cannot be balanced is left out, with its reason
                m = entropy_balance(f, treatment="treated", unit=unit, covariates=ps_cols, exact=exact,
                                    relax=RELAX_ORDER, drop_unbalanced=True, source=source)
                if not m.extra["converged"]:
                    raise InputError("no treated unit was matched: no weighting of the comparison units reaches "
                                     "the treated units' means of absence before joining, priority-area status "
                                     "and phase (entropy balancing did not converge)", column=cohort)
            else:
                m = nearest_neighbour(f, treatment="treated", unit=unit, covariates=ps_cols, distance=distance,
                                      exact=exact, ratio=ratio, replace=replace, caliper=caliper, order=order,
                                      discard=discard, seed=seed, source=source)
        except InputError as exc:
            if on_unmatched == "skip" and exc.message.startswith("no treated unit was matched"):
                skipped[g] = {"reason": exc.message, "treated": int(f["treated"].sum()),
                              "comparison": int((f["treated"] == 0).sum())}
                warnings.warn(f"cohort {g} left out of the matched sample: {exc.message}", RuntimeWarning,
                              stacklevel=2)
                continue
            raise InputError(f"cohort {g}: {exc.message}", file=exc.file, column=exc.column, row=exc.row) from None
        matches[g] = m
        wcol = m.units["weight"].to_numpy()
        balances[g] = balance_table(f, treatment="treated", covariates=features_cols, weights=wcol, sd=sd)
        feats[g] = f
        dropped[g] = drop
    settings = dict(unit=unit, time=time, cohort=cohort, outcomes=list(outcomes), covariates=list(covariates),
                    exact=list(exact), control=control, pre_years=int(pre_years), level=level, distance=distance,
                    ratio=int(ratio), replace=bool(replace), caliper=caliper, discard=discard, order=order,
                    sd=sd, seed=seed, on_unmatched=on_unmatched, method=method, anticipation=int(anticipation),
                    terms=list(terms),
                    excluded=len(excluded))
    if not matches:
        raise InputError("no cohort could be matched: " + "; ".join(f"cohort {g}: {v['reason']}"
                                                                   for g, v in sorted(skipped.items())),
                         column="caliper" if caliper is not None else cohort)
    return CohortMatching(matches, balances, feats, settings, dropped, skipped)
