"""Parity with R ``MatchIt`` 4.5.1: matched sets, distances, weights and balance tables.

The reference files in ``reference/`` were written by ``make_reference.R`` (see the README
here, which also documents the rules MatchIt follows and the bug of the Debian 4.5.1 build's
fast routine that the script works around; every reference match is checked there against a
brute-force greedy matcher in R). These tests read the committed files, so they run without R;
``test_reference_files_regenerate`` reruns the R script when ``Rscript`` with MatchIt exists.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from evaluate.matching import balance_table, nearest_neighbour

pytestmark = pytest.mark.against_r

HERE = Path(__file__).parent
REF = HERE / "reference"
COVS = ["x1", "x2", "b", "c"]

SCENARIOS = {
    "nn": dict(distance="propensity"),
    "nn_caliper": dict(distance="logit", caliper=0.2),
    "nn_exact": dict(distance="propensity", exact=["block"]),
    "nn_exact_caliper": dict(distance="logit", exact=["block"], caliper=0.2),
    "nn_ratio2_replace": dict(distance="propensity", ratio=2, replace=True),
}


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    return pd.read_csv(HERE / "data.csv")


def _match(data: pd.DataFrame, scenario: str):
    return nearest_neighbour(data, treatment="treat", unit="id", covariates=COVS, **SCENARIOS[scenario])


def _groups(pairs: pd.DataFrame) -> set[tuple[int, frozenset[int]]]:
    return {(int(t), frozenset(int(c) for c in g)) for t, g in pairs.groupby("treated_unit")["control_unit"]}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_distance_weights_and_matched_sets(data, scenario):
    res = _match(data, scenario)
    ref = pd.read_csv(REF / f"{scenario}_units.csv")
    got = res.units.set_index("unit").loc[ref["id"]]
    # R's glm stops at a relative deviance change of 1e-8 (ours converges further), so the
    # scores agree to about 1e-8 absolute, not to machine precision
    np.testing.assert_allclose(got["distance"], ref["distance"], rtol=1e-6, atol=5e-8)
    np.testing.assert_allclose(got["weight"], ref["weights"], rtol=0, atol=1e-12)
    pairs = pd.read_csv(REF / f"{scenario}_pairs.csv")
    ctrl_cols = [c for c in pairs.columns if c.startswith("control_id")]
    long = pairs.melt(id_vars="treated_id", value_vars=ctrl_cols).dropna()
    expected = {(int(t), frozenset(int(c) for c in g)) for t, g in long.groupby("treated_id")["value"]}
    assert _groups(res.pairs) == expected
    # the matched subclasses group the same units as MatchIt's (labels differ)
    if not SCENARIOS[scenario].get("replace"):
        ours = res.units.dropna(subset=["subclass"]).groupby("subclass")["unit"].apply(frozenset)
        theirs = ref.dropna(subset=["subclass"]).groupby("subclass")["id"].apply(frozenset)
        assert set(ours) == set(theirs)


def _r_term(term: str) -> str:
    return term.replace("[", "").replace("]", "")


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_balance_table_equals_summary_matchit(data, scenario):
    res = _match(data, scenario)
    d = data.assign(distance=res.units["distance"].to_numpy())
    covs = ["distance", *COVS] + SCENARIOS[scenario].get("exact", [])
    bal = balance_table(d, treatment="treat", covariates=covs, weights=res.units["weight"].to_numpy(),
                        sd="treated").to_frame()
    cols = {"mean_treated": "Means Treated", "mean_control": "Means Control", "smd": "Std. Mean Diff.",
            "var_ratio": "Var. Ratio", "ecdf_mean": "eCDF Mean", "ecdf_max": "eCDF Max"}
    for sample, file in (("before", "all"), ("after", "matched")):
        ref = pd.read_csv(REF / f"{scenario}_balance_{file}.csv").set_index("term")
        ours = bal[bal["sample"] == sample].assign(term=lambda t: t["term"].map(_r_term)).set_index("term")
        assert set(ours.index) == set(ref.index)
        ours = ours.loc[ref.index]
        for mine, theirs in cols.items():
            np.testing.assert_allclose(ours[mine].to_numpy(dtype=float), ref[theirs].to_numpy(dtype=float),
                                       rtol=1e-6, atol=1e-8, equal_nan=True, err_msg=f"{sample} {mine}")


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="R (Rscript) is not installed; the committed "
                    "reference files are used instead (apt install r-cran-matchit to rerun them)")
def test_reference_files_regenerate(tmp_path):
    """Rerunning ``make_reference.R`` on the committed data gives the committed files."""
    check = subprocess.run(["Rscript", "-e", "library(MatchIt)"], capture_output=True, text=True)
    if check.returncode != 0:
        pytest.skip("R is installed but MatchIt is not (apt install r-cran-matchit)")
    work = tmp_path / "against_r"
    work.mkdir()
    shutil.copy(HERE / "data.csv", work / "data.csv")
    shutil.copy(HERE / "make_reference.R", work / "make_reference.R")
    run = subprocess.run(["Rscript", str(work / "make_reference.R")], capture_output=True, text=True, cwd=work)
    assert run.returncode == 0, run.stderr[-2000:]
    for ref in sorted(REF.glob("*.csv")):
        assert (work / "reference" / ref.name).read_text() == ref.read_text(), ref.name
