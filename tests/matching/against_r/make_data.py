"""Write the deterministic dataset used for the MatchIt reference outputs.

Run from anywhere:  python tests/matching/against_r/make_data.py
Writes data.csv beside this file (400 units). Floats are rounded to 6
decimals so that R and Python read exactly the same numbers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
N = 400
SEED = 20241


def make_data(n: int = N, seed: int = SEED) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = np.round(rng.normal(0.0, 1.0, n), 6)
    x2 = np.round(rng.gamma(2.0, 1.5, n), 6)  # skewed, positive
    b = (rng.random(n) < 0.45).astype(int)
    c = rng.choice(np.array(["A", "B", "C"]), size=n, p=[0.5, 0.3, 0.2])
    block = np.where(rng.random(n) < 0.6, "primary", "secondary")
    # treatment by a logit in the covariates: treated units have larger x1,
    # x2, more b == 1 and more level "C", so the raw sample is imbalanced
    lin = (
        -1.45
        + 0.8 * x1
        + 0.25 * (x2 - 3.0)
        + 0.5 * b
        + np.where(c == "B", -0.3, 0.0)
        + np.where(c == "C", 0.6, 0.0)
        + np.where(block == "secondary", 0.3, 0.0)
    )
    p = 1.0 / (1.0 + np.exp(-lin))
    treat = (rng.random(n) < p).astype(int)
    return pd.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "treat": treat,
            "x1": x1,
            "x2": x2,
            "b": b,
            "c": c,
            "block": block,
        }
    )


def main() -> None:
    df = make_data()
    df.to_csv(HERE / "data.csv", index=False, float_format="%.6f")
    print(f"wrote {HERE / 'data.csv'}: {len(df)} rows, {df.treat.sum()} treated")


if __name__ == "__main__":
    main()
