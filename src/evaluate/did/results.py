"""Result objects shared by every estimator: read-only, with one tidy table behind them.

Every estimator's ``fit`` returns a :class:`DiDResult` (or a subclass). Its tidy table has
the documented columns ``term, estimate, se, ci_low, ci_high, p_value, n``; every accessor
(``summary``, ``to_frame``, ``to_dict``, ``plot``) reads that one table, and every choice
that produced the result is stored in ``settings``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from evaluate.numbers import jsonable

#: The columns of every tidy table, in order.
TIDY_COLUMNS: tuple[str, ...] = ("term", "estimate", "se", "ci_low", "ci_high", "p_value", "n")


def tidy_table(term, estimate, se, *, n=None, level: float = 0.95, df: float | None = None,
               ci_low=None, ci_high=None) -> pd.DataFrame:
    """Build a tidy table from estimates and standard errors.

    Confidence intervals and p-values are normal (``df=None``) or Student t with ``df``
    degrees of freedom, unless ``ci_low``/``ci_high`` are given (e.g. uniform bands).
    """
    est = np.asarray(estimate, dtype=float)
    se_ = np.asarray(se, dtype=float)
    q = stats.norm.ppf(0.5 + level / 2) if df is None else stats.t.ppf(0.5 + level / 2, df)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = est / se_
    p = 2 * (stats.norm.sf(np.abs(z)) if df is None else stats.t.sf(np.abs(z), df))
    lo = est - q * se_ if ci_low is None else np.asarray(ci_low, dtype=float)
    hi = est + q * se_ if ci_high is None else np.asarray(ci_high, dtype=float)
    n_ = np.full(est.shape, np.nan) if n is None else np.broadcast_to(np.asarray(n, dtype=float), est.shape)
    return pd.DataFrame({"term": [str(t) for t in np.atleast_1d(term)], "estimate": est, "se": se_,
                         "ci_low": lo, "ci_high": hi, "p_value": p, "n": n_})




from evaluate.style import finish_plot  # noqa: E402,F401 - re-exported: every result's plot() uses it


@dataclass(frozen=True)
class DiDResult:
    """An estimator's result.

    Attributes
    ----------
    method
        Short name of the estimator (``"twfe"``, ``"callaway_santanna"``, ...).
    table
        The tidy table (columns :data:`TIDY_COLUMNS`); read it with :meth:`to_frame`.
    settings
        Every choice that produced the result (outcome, unit, time, cohort, control group,
        weights, cluster, vcov, seed, ...), read-only.
    n_units, n_obs
        Units and unit-period rows used.
    extra
        Estimator-specific read-only values (vcov, influence functions, pre-test, ...).

    Examples
    --------
    Every estimator returns a subclass of this result; its ``table`` has the tidy columns.

    >>> from evaluate.did import example_panel, twfe
    >>> res = twfe(example_panel(), outcome="y", unit="id", time="period", cohort="cohort")
    >>> list(res.table.columns[:7])
    ['term', 'estimate', 'se', 'ci_low', 'ci_high', 'p_value', 'n']
    >>> res.n_units, res.n_obs
    (200, 1200)
    >>> round(float(res.estimates["treated"]), 2)
    1.22
    >>> sorted(res.to_dict())[:3]
    ['extra', 'method', 'n_obs']
    """

    method: str
    table: pd.DataFrame
    settings: Mapping[str, Any]
    n_units: int
    n_obs: int
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [c for c in TIDY_COLUMNS if c not in self.table.columns]
        if missing:
            raise ValueError(f"tidy table lacks columns {missing}")
        table = self.table.loc[:, list(TIDY_COLUMNS) + [c for c in self.table.columns if c not in TIDY_COLUMNS]]
        object.__setattr__(self, "table", table.reset_index(drop=True).copy())
        object.__setattr__(self, "settings", MappingProxyType(dict(self.settings)))
        object.__setattr__(self, "extra", MappingProxyType(dict(self.extra)))

    # --- accessors: all read the one tidy table -------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """A copy of the tidy table (``term, estimate, se, ci_low, ci_high, p_value, n`` + extras)."""
        return self.table.copy()

    @cached_property
    def estimates(self) -> pd.Series:
        """Estimates indexed by term."""
        return self.table.set_index("term")["estimate"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable: method, sizes, settings, the tidy table and extras that are plain."""
        plain_extra = {k: v for k, v in self.extra.items()
                       if isinstance(v, (int, float, str, bool, list, tuple, dict, type(None), np.number))
                       or isinstance(v, Mapping)}
        return jsonable({"method": self.method, "n_units": self.n_units, "n_obs": self.n_obs,
                          "settings": dict(self.settings), "table": self.table,
                          "extra": plain_extra})

    def summary(self, digits: int = 4) -> str:
        """A fixed-width text summary: the settings, then the tidy table."""
        head = [f"{self.method}: {self.n_units:,} units, {self.n_obs:,} observations"]
        for k, v in self.settings.items():
            if not k.startswith("dropped"):
                head.append(f"  {k}: {v}")
        dropped = self.dropped()
        if dropped:
            head.append("  rows or units left out: " + ", ".join(f"{k} {v:,}" for k, v in dropped.items()))
        body = self.table.loc[:, list(TIDY_COLUMNS)].to_string(index=False, float_format=lambda x: f"{x:.{digits}f}")
        return "\n".join(head) + "\n" + body

    def dropped(self) -> dict[str, int]:
        """Every count of rows or units the estimator left out, by reason (nothing silent)."""
        out: dict[str, int] = {}
        for source in (self.settings, self.extra):
            for k, v in source.items():
                if k.startswith("dropped") and isinstance(v, (int, np.integer)) and v:
                    out[k.removeprefix("dropped_")] = int(v)
        return out

    def __str__(self) -> str:
        return self.summary()

    def plot(self, *, title: str | None = None, xlabel: str = "", ylabel: str = "Estimate"):
        """Point estimates with confidence intervals, one per term (a matplotlib Figure)."""
        import matplotlib.pyplot as plt

        from evaluate.style import apply_style, palette

        apply_style()
        t = self.table
        fig, ax = plt.subplots(figsize=(7, 3.6))
        x = np.arange(len(t))
        colour = palette(1)[0]
        ax.errorbar(x, t["estimate"], yerr=[t["estimate"] - t["ci_low"], t["ci_high"] - t["estimate"]],
                    fmt="o", color=colour, capsize=3)
        ax.axhline(0, color="#3D3D3D", linewidth=0.8)
        ax.set_xticks(x, t["term"], rotation=0 if len(t) < 10 else 90)
        return finish_plot(fig, ax, title=title or self.method, xlabel=xlabel, ylabel=ylabel)


@dataclass(frozen=True)
class RegressionResult(DiDResult):
    """A result from one regression: coefficients by term and their labelled variance.

    ``extra`` holds ``terms`` and ``vcov`` (nested lists, in ``terms`` order).
    """

    @property
    def coef(self) -> pd.Series:
        """Estimates by term."""
        return self.table.set_index("term")["estimate"]

    @property
    def se(self) -> pd.Series:
        """Standard errors by term."""
        return self.table.set_index("term")["se"]

    @property
    def vcov(self) -> pd.DataFrame:
        """Variance matrix of the estimates, labelled by term."""
        terms = list(self.extra["terms"])
        return pd.DataFrame(np.asarray(self.extra["vcov"], dtype=float), index=terms, columns=terms)
