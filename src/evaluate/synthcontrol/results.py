"""The result of a synthetic control or synthetic DiD fit: the house :class:`DiDResult`, plus paths.

The tidy table has one row per cohort (``g=<cohort>``) and an ``overall`` row, with the extra
columns ``cohort, n_treated, n_donors, n_pre, n_post, pre_rmspe, post_rmspe, rmspe_ratio,
p_placebo, estimable, reason``. ``extra["paths"]`` holds, per cohort, the periods, the treated
and synthetic paths, every placebo's gap and the unit and time weights; ``extra`` also holds
the counts of rows and units left out (``dropped_*``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from evaluate.did.results import DiDResult, finish_plot

__all__ = ["SynthResult"]


@dataclass(frozen=True)
class SynthResult(DiDResult):
    """Synthetic control / synthetic DiD estimates per cohort, with placebo-in-space inference.

    Examples
    --------
    >>> from evaluate.synthcontrol import example_la_panel, synthetic_did
    >>> panel = example_la_panel(n_las=30, n_periods=12, effect=-1.0, seed=1)
    >>> res = synthetic_did(panel, outcome="y", unit="la_code", time="t", cohort="cohort", seed=0)
    >>> round(sum(res.weights(9).values()), 6)
    1.0
    >>> res.not_estimable()
    {}
    >>> fig = res.plot()
    """

    @property
    def overall(self) -> float:
        """The overall estimate (cohorts weighted by treated units x post periods)."""
        return float(self.table.loc[self.table["term"] == "overall", "estimate"].iloc[0])

    def weights(self, cohort) -> dict[str, float]:
        """The donors' weights (non-zero only) for one cohort."""
        return dict(self.extra["paths"][str(cohort)]["unit_weights"])

    def not_estimable(self) -> dict[str, str]:
        """Cohorts that could not be estimated, with the reason."""
        t = self.table[(~self.table["estimable"].astype(bool)) & (self.table["term"] != "overall")]
        return {str(r.term): str(r.reason) for r in t.itertuples()}

    def plot(self, *, cohort=None, title: str | None = None, xlabel: str = "Period",
             ylabel: str = "Outcome"):
        """Treated vs synthetic path (left) and the gap with every placebo's gap in grey (right)."""
        import matplotlib.pyplot as plt

        from evaluate.style import apply_style, palette

        apply_style()
        paths = self.extra["paths"]
        fig, axes = plt.subplots(1, 2, figsize=(9, 3.6))
        if not paths:
            axes[0].text(0.5, 0.5, "no estimable cohort", ha="center")
            return finish_plot(fig, axes[0], title=title or self.method, xlabel=xlabel, ylabel=ylabel)
        key = str(cohort) if cohort is not None else next(iter(paths))
        p = paths[key]
        x = np.arange(len(p["times"]))
        c1, c2 = palette(2)
        ax = axes[0]
        ax.plot(x, p["treated"], color=c1, label="treated")
        ax.plot(x, p["synthetic"], color=c2, linestyle="--", label="synthetic")
        t0 = p["times"].index(p["treat_time"]) if p["treat_time"] in p["times"] else None
        ax2 = axes[1]
        for g in p["placebo_gaps"]:
            ax2.plot(x, g, color="#BBBBBB", linewidth=0.6)
        ax2.plot(x, np.asarray(p["treated"]) - np.asarray(p["synthetic"]), color=c1, linewidth=1.6)
        ax2.axhline(0, color="#3D3D3D", linewidth=0.8)
        for a in axes:
            if t0 is not None:
                a.axvline(t0 - 0.5, color="#3D3D3D", linewidth=0.8, linestyle=":")
            step = max(1, math.ceil(len(x) / 8))
            a.set_xticks(x[::step], [str(t) for t in p["times"]][::step])
        ax2.set_title("Gap: treated (colour), placebos (grey)")
        ax2.set_xlabel(xlabel)
        return finish_plot(fig, ax, title=title or f"{self.method}, cohort {key}", xlabel=xlabel,
                           ylabel=ylabel, legend=True)
