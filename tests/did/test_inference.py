"""The multiplier bootstrap's single-precision products against a float64 computation."""

from __future__ import annotations

import numpy as np
import pytest

from evaluate.did.inference import bootstrap_draws, cluster_sums, multiplier_weights


@pytest.mark.parametrize("kind", ["rademacher", "mammen", "webb"])
@pytest.mark.parametrize("clustered", [False, True])
def test_bootstrap_draws_match_a_float64_computation(kind, clustered):
    """``bootstrap_draws`` multiplies in float32; with the same weights (same seed) a float64
    product gives the same draws to about 1e-6 relative, including influence functions with
    very different scales and a mean far from zero in one column."""
    rng = np.random.default_rng(4)
    n, k = 20_000, 5
    inf = rng.standard_t(df=3, size=(n, k)) * np.array([1e-3, 1.0, 50.0, 1e4, 1.0])
    inf[:, 4] += 3.0  # an uncentred column (a cohort indicator in the aggregation basis)
    cluster = rng.integers(0, 300, size=n) if clustered else None
    draws = 257
    got = bootstrap_draws(inf, cluster=cluster, draws=draws, weights=kind, rng=np.random.default_rng(9))
    base = cluster_sums(inf, cluster)
    ref_rng = np.random.default_rng(9)
    chunks = []
    for start in range(0, draws, 64):
        stop = min(draws, start + 64)
        chunks.append(multiplier_weights(kind, (stop - start, base.shape[0]), ref_rng) @ base)
    ref = np.vstack(chunks) / np.sqrt(n)
    scale = np.sqrt((ref**2).mean(axis=0))
    assert np.max(np.abs(got - ref) / scale) < 1e-5
    assert got.dtype == np.float64


def test_weights_are_the_same_in_either_precision():
    for kind in ("rademacher", "mammen", "webb"):
        a = multiplier_weights(kind, (7, 1000), np.random.default_rng(1))
        b = multiplier_weights(kind, (7, 1000), np.random.default_rng(1), dtype=np.float32)
        np.testing.assert_allclose(a, b, rtol=1e-7)
        assert b.dtype == np.float32
