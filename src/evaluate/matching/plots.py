"""Charts of matching: the Love plot and the propensity-score overlap plot (seaborn)."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["love_plot", "overlap_plot"]


def _finish(fig, ax, title: str, caption: str | None):
    import matplotlib.pyplot as plt

    ax.set_title(title)
    if caption:
        fig.text(0.01, 0.005, caption, fontsize=8, ha="left", va="bottom", wrap=True)
        fig.tight_layout(rect=(0, 0.06, 1, 1))
    else:
        fig.tight_layout()
    plt.close(fig)
    return fig


def love_plot(table: pd.DataFrame, *, title: str = "Covariate balance", caption: str | None = None,
              threshold: float = 0.1):
    """Absolute standardised mean difference per term, before and after matching."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from evaluate.style import apply_style, palette

    apply_style()
    t = table.assign(abs_smd=table["smd"].abs())
    order = (t[t["sample"] == "before"].sort_values("abs_smd")["term"].tolist()
             or t["term"].drop_duplicates().tolist())
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.28 * len(order) + 1.2)))
    sns.pointplot(data=t, x="abs_smd", y="term", hue="sample", order=order[::-1],
                  hue_order=[s for s in ("before", "after") if s in set(t["sample"])],
                  palette=palette(2), linestyles="none", markers=["o", "D"][: t["sample"].nunique()], ax=ax)
    ax.axvline(threshold, color="#3D3D3D", linewidth=0.8, linestyle="--")
    ax.set_xlabel("Absolute standardised mean difference")
    ax.set_ylabel("")
    ax.legend(title="", loc="lower right")
    return _finish(fig, ax, title, caption)


def overlap_plot(units: pd.DataFrame, *, title: str = "Propensity score overlap", caption: str | None = None):
    """Distribution of the propensity score, treated against comparison, before and after matching."""
    import matplotlib.pyplot as plt
    import seaborn as sns

    from evaluate.style import apply_style, palette

    apply_style()
    if units["score"].isna().all():
        raise ValueError("no propensity score was fitted for this match (Mahalanobis without covariates' score)")
    u = units.assign(group=np.where(units["treated"], "Treated", "Comparison"))
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2), sharex=True)
    for ax, (name, sub, w) in zip(axes, [("Before matching", u, None),
                                         ("After matching", u[u["weight"] > 0], "weight")], strict=True):
        sns.histplot(data=sub, x="score", hue="group", weights=w, stat="density", common_norm=False,
                     element="step", bins=30, palette=palette(2), hue_order=["Treated", "Comparison"], ax=ax)
        ax.set_title(name)
        ax.set_xlabel("Propensity score")
    return _finish_pair(fig, title, caption)


def _finish_pair(fig, title: str, caption: str | None):
    import matplotlib.pyplot as plt

    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.06 if caption else 0, 1, 1))
    if caption:
        fig.text(0.01, 0.005, caption, fontsize=8, ha="left", va="bottom", wrap=True)
    plt.close(fig)
    return fig
