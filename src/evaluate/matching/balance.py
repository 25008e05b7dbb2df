"""Covariate balance before and after matching: SMD, variance ratio, eCDF distances.

Definitions (as R's ``MatchIt`` ``summary()`` and ``cobalt``; see
``tests/matching/against_r/README.md``):

- means are weighted means (matching weights; before matching every weight is 1);
- the standardised mean difference divides the difference in means by a standard deviation
  computed once, in the *unmatched* sample, so that before and after are on one scale:
  ``"pooled"`` = ``sqrt((s_t^2 + s_c^2) / 2)`` (the default), or ``"treated"`` = ``s_t``
  (MatchIt's choice for the ATT); for a binary covariate the variances are ``p (1 - p)``;
- the variance ratio is treated over comparison (weighted variances), for continuous
  covariates only;
- ``ecdf_mean`` and ``ecdf_max`` are the mean and the largest absolute difference between
  the two groups' weighted empirical distribution functions, evaluated at every distinct
  value of the covariate among all units (unmatched units included, with weight 0); for a
  binary covariate both are the absolute difference in proportions.

A row whose absolute SMD exceeds 0.1 is flagged (``imbalanced``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from evaluate.errors import InputError
from evaluate.matching.propensity import design_matrix, treatment_indicator

__all__ = ["BalanceResult", "balance_table", "SMD_THRESHOLD"]

#: Absolute standardised mean difference above which a covariate is flagged as imbalanced.
SMD_THRESHOLD = 0.1

BALANCE_COLUMNS = ("term", "covariate", "binary", "sample", "mean_treated", "mean_control", "smd",
                   "var_ratio", "ecdf_mean", "ecdf_max", "n_treated", "n_control", "imbalanced")


def _wmean(x: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * x) / np.sum(w))


def _wvar(x: np.ndarray, w: np.ndarray) -> float:
    """Weighted variance with the reliability-weights correction (R's ``cov.wt``; n - 1 when equal)."""
    sw = np.sum(w)
    if sw <= 0:
        return float("nan")
    m = np.sum(w * x) / sw
    denom = sw - np.sum(w**2) / sw
    return float(np.sum(w * (x - m) ** 2) / denom) if denom > 0 else float("nan")


def _ecdf_stats(xt: np.ndarray, wt: np.ndarray, xc: np.ndarray, wc: np.ndarray) -> tuple[float, float]:
    """Mean and maximum absolute difference of the weighted eCDFs over the pooled values."""
    values = np.unique(np.concatenate([xt, xc]))
    ot, oc = np.argsort(xt, kind="stable"), np.argsort(xc, kind="stable")
    ct = np.concatenate([[0.0], np.cumsum(wt[ot])]) / np.sum(wt)
    cc = np.concatenate([[0.0], np.cumsum(wc[oc])]) / np.sum(wc)
    ft = ct[np.searchsorted(xt[ot], values, side="right")]
    fc = cc[np.searchsorted(xc[oc], values, side="right")]
    diff = np.abs(ft - fc)
    return float(diff.mean()), float(diff.max())


@dataclass(frozen=True, eq=False)
class BalanceResult:
    """Balance of covariates between treated and comparison units, before and after matching.

    ``table`` has one row per covariate term (a level of a text covariate is its own term) and
    sample (``"before"``, ``"after"``), columns :data:`BALANCE_COLUMNS`.

    Examples
    --------
    >>> import pandas as pd
    >>> from evaluate.matching import balance_table
    >>> df = pd.DataFrame({"treated": [1, 1, 1, 0, 0, 0], "x": [3.0, 4.0, 5.0, 1.0, 2.0, 3.0]})
    >>> bal = balance_table(df, treatment="treated", covariates=["x"])
    >>> bal.imbalanced("before")
    ['x']
    >>> "smd_before" in bal.wide().columns
    True
    """

    table: pd.DataFrame
    settings: Mapping[str, Any]

    def __post_init__(self) -> None:
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))

    def to_frame(self) -> pd.DataFrame:
        """A copy of the tidy balance table."""
        return self.table.copy()

    def wide(self) -> pd.DataFrame:
        """One row per term: SMD, variance ratio and eCDF max before and after."""
        t = self.table.pivot(index="term", columns="sample", values=["smd", "var_ratio", "ecdf_max"])
        t.columns = [f"{a}_{b}" for a, b in t.columns]
        order = list(dict.fromkeys(self.table["term"]))
        return t.reindex(order).reset_index()

    def imbalanced(self, sample: str = "after") -> list[str]:
        """Terms whose absolute SMD exceeds :data:`SMD_THRESHOLD` in ``sample``."""
        t = self.table
        return t.loc[(t["sample"] == sample) & t["imbalanced"], "term"].tolist()

    def to_dict(self) -> dict[str, Any]:
        from evaluate.numbers import jsonable

        return jsonable({"settings": dict(self.settings), "table": self.table,
                          "threshold": SMD_THRESHOLD, "imbalanced_after": self.imbalanced("after")})

    def summary(self) -> str:
        w = self.wide()
        return (f"balance ({self.settings.get('sd', 'pooled')} SD; flag |SMD| > {SMD_THRESHOLD})\n"
                + w.to_string(index=False, float_format=lambda x: f"{x:.3f}"))

    def __str__(self) -> str:
        return self.summary()

    def plot(self, *, title: str = "Covariate balance", caption: str | None = None):
        """Love plot: absolute SMD per covariate before and after matching (a Figure)."""
        from evaluate.matching.plots import love_plot

        return love_plot(self.table, title=title, caption=caption)


def balance_table(data: pd.DataFrame, *, treatment: str, covariates: Sequence[str],
                  weights: str | np.ndarray | None = None, sd: str = "pooled",
                  source: str | None = None) -> BalanceResult:
    """Balance of ``covariates`` before (all units, equal weights) and after (``weights``) matching.

    Parameters
    ----------
    data
        One row per unit (all candidate units: unmatched ones with weight 0).
    treatment
        0/1 column.
    covariates
        Columns; text columns are shown one row per level (all levels).
    weights
        Matching weights (column name or array); ``None`` gives the "before" rows only.
    sd
        Denominator of the SMD: ``"pooled"`` or ``"treated"`` (both from the unmatched sample).

    Examples
    --------
    Standardised mean differences before and after matching (the matching weights are
    passed as a column):

    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> df = pd.DataFrame({"id": range(200), "age": rng.normal(40, 10, 200),
    ...                    "urban": rng.integers(0, 2, 200)})
    >>> df["treated"] = (rng.random(200) < 1 / (1 + np.exp(-(df["age"] - 45) / 5))).astype(int)
    >>> from evaluate.matching import balance_table, nearest_neighbour
    >>> m = nearest_neighbour(df, treatment="treated", unit="id", covariates=["age", "urban"],
    ...                       caliper=0.2, seed=0)
    >>> df["w"] = df["id"].map(m.weights)
    >>> bal = balance_table(df, treatment="treated", covariates=["age", "urban"], weights="w")
    >>> bal.wide()[["term", "smd_before", "smd_after"]].round(2)
        term  smd_before  smd_after
    0    age        1.72       0.08
    1  urban       -0.08       0.13
    >>> bal.imbalanced("before"), bal.imbalanced("after")
    (['age'], ['urban'])
    """
    if sd not in ("pooled", "treated"):
        raise InputError(f"sd must be 'pooled' or 'treated', not {sd!r}")
    d = treatment_indicator(data, treatment, source=source)
    x = design_matrix(data, covariates, source=source, drop_first=False)
    origin = {}
    for c in covariates:
        for col in x.columns:
            if col == c or col.startswith(f"{c}["):
                origin[col] = c
    samples: list[tuple[str, np.ndarray]] = [("before", np.ones(len(data)))]
    if weights is not None:
        w = data[weights].to_numpy(dtype=float) if isinstance(weights, str) else np.asarray(weights, dtype=float)
        if len(w) != len(data) or np.any(~np.isfinite(w)) or np.any(w < 0):
            raise InputError("matching weights must be finite, non-negative and one per row",
                             column=weights if isinstance(weights, str) else None)
        samples.append(("after", w))
    rows = []
    for term in x.columns:
        v = x[term].to_numpy(dtype=float)
        binary = bool(np.isin(v, (0.0, 1.0)).all())
        xt0, xc0 = v[d], v[~d]
        if binary:
            pt, pc = xt0.mean(), xc0.mean()
            vt0, vc0 = pt * (1 - pt), pc * (1 - pc)
        else:
            vt0, vc0 = np.var(xt0, ddof=1), np.var(xc0, ddof=1)
        denom = np.sqrt((vt0 + vc0) / 2) if sd == "pooled" else np.sqrt(vt0)
        for name, w in samples:
            wt, wc = w[d], w[~d]
            if wt.sum() <= 0 or wc.sum() <= 0:
                continue
            mt, mc = _wmean(xt0, wt), _wmean(xc0, wc)
            smd = (mt - mc) / denom if denom > 0 else (0.0 if mt == mc else np.inf)
            vr = np.nan if binary else _wvar(xt0[wt > 0], wt[wt > 0]) / _wvar(xc0[wc > 0], wc[wc > 0])
            if binary:
                e_mean = e_max = abs(mt - mc)
            else:
                # over every value in the data, the unmatched units' included (with weight 0)
                e_mean, e_max = _ecdf_stats(xt0, wt, xc0, wc)
            rows.append((term, origin[term], binary, name, mt, mc, smd, vr, e_mean, e_max,
                         int((wt > 0).sum()), int((wc > 0).sum()), bool(abs(smd) > SMD_THRESHOLD)))
    table = pd.DataFrame(rows, columns=list(BALANCE_COLUMNS))
    return BalanceResult(table, {"treatment": treatment, "covariates": list(covariates), "sd": sd,
                                 "weights": weights if isinstance(weights, str) or weights is None else "array"})
