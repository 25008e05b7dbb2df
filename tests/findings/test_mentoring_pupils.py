"""Mentored vs matched pupils: the estimators against hand calculations, statsmodels and known truth;
pseudonymisation; only aggregates in the output."""

from __future__ import annotations

import hashlib
import hmac
import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from evaluate.disclosure import KEY_ENV as PSEUDONYM_KEY_ENV
from evaluate.disclosure import pseudonymise, write_pupil_panel
from evaluate.errors import InputError
from evaluate.findings.mentors.pupils import (
    _cluster_wls,
    mentoring_did,
    naive_share_improved,
)
from evaluate.synthetic.pupils import mentoring_pupils

KEY = "test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def mp():
    return mentoring_pupils(seed=21, n_pupils=20_000)


@pytest.fixture(scope="module")
def null_mp():
    return mentoring_pupils(seed=22, n_pupils=20_000, effect_scale=0.0)


def _tiny() -> pd.DataFrame:
    """Six pupils, two years; pupils 1-2 mentored (area A), 3-6 not (3-4 in A, 5-6 in B)."""
    rows = []
    rates = {1: (60, 30), 2: (50, 45), 3: (58, 50), 4: (20, 22), 5: (49, 40), 6: (10, 12)}
    school = {1: 1, 2: 2, 3: 1, 4: 2, 5: 3, 6: 4}
    for pid, (a, b) in rates.items():
        for year, x in ((2021, a - 5), (2022, a), (2023, b)):
            rows.append(dict(pupil_id=pid, school_id=school[pid], year=year, sess_possible=100, sess_overall=x,
                             mentored=int(pid <= 2), mentor_area=pid <= 4, phase="secondary", fsm=0))
    return pd.DataFrame(rows)


# --- estimators against hand calculations and statsmodels ---------------------------------
def test_cluster_wls_matches_statsmodels():
    rng = np.random.default_rng(0)
    n = 300
    x = np.column_stack([np.ones(n), rng.integers(0, 2, n)])
    w = rng.uniform(0.5, 2, n)
    g = rng.integers(0, 25, n)
    y = 1 + 0.5 * x[:, 1] + rng.normal(size=n) + rng.normal(size=25)[g]
    beta, vcov = _cluster_wls(y, x, w, g)
    fit = sm.WLS(y, x, weights=w).fit(cov_type="cluster", cov_kwds={"groups": g})
    assert np.allclose(beta, fit.params)
    assert np.allclose(vcov, fit.cov_params(), rtol=1e-8)


def test_tiny_panel_by_hand():
    df = _tiny()
    res = mentoring_did(df, post_year=2023, match_on=1, comparison="all", exact=("phase",))
    est = res.to_frame().set_index("term")["estimate"]
    d = {1: -30, 2: -5, 3: -8, 4: 2, 5: -9, 6: 2}
    assert est["before_after"] == pytest.approx((-30 - 5) / 2)
    assert est["did_unmatched"] == pytest.approx(-17.5 - (-8 + 2 - 9 + 2) / 4)
    # nearest on the 2022 rate: pupil 1 (60) -> 3 (58), pupil 2 (50) -> 5 (49)
    assert est["did_matched"] == pytest.approx(-17.5 - (d[3] + d[5]) / 2)
    sh = res.shares.set_index("group")
    assert sh.loc["mentored", "share_improved"] == 1.0
    assert sh.loc["matched comparison", "share_improved"] == 1.0
    assert sh.loc["all comparison", "share_improved"] == 0.5
    tr = res.trajectories.set_index(["group", "year"])["mean_absence_rate"]
    assert tr[("mentored", 2022)] == 55 and tr[("matched comparison", 2023)] == 45
    # comparison pools
    other = mentoring_did(df, post_year=2023, match_on=1, comparison="other_areas", exact=("phase",))
    assert other.counts["comparison"] == 2 and other.counts["not_in_comparison_pool"] == 2
    same = mentoring_did(df, post_year=2023, match_on=1, comparison="same_area", exact=("phase",))
    assert same.counts["comparison"] == 2
    # exact=None matches exactly on whichever of phase and FSM the panel has
    assert mentoring_did(df, post_year=2023, match_on=1).settings["exact"] == ["phase", "fsm"]
    no_fsm = mentoring_did(df.drop(columns="fsm"), post_year=2023, match_on=1, comparison="all")
    assert no_fsm.settings["exact"] == ["phase"]
    assert no_fsm.to_frame()["estimate"].tolist() == pytest.approx(est.tolist())


def test_naive_share_improved_counts_dropped():
    df = _tiny()
    df = df[~((df["pupil_id"] == 2) & (df["year"] == 2023))]
    out = naive_share_improved(df, pre_year=2022, post_year=2023)
    assert out == {"share_improved": 1.0, "n_improved": 1, "n_pupils": 1, "dropped_pupils_missing_year": 1}
    res = mentoring_did(df, post_year=2023, match_on=1, comparison="all", exact=("phase",))
    assert res.counts["dropped_pupils_missing_year"] == 1
    assert "pupils missing year: 1" in res.summary()


# --- against known truth -----------------------------------------------------------------
def test_regression_to_the_mean_under_the_null(null_mp):
    res = mentoring_did(null_mp.panel, post_year=2023, truth=null_mp.truth)
    est = res.to_frame().set_index("term")
    sh = res.shares.set_index("group")["share_improved"]
    assert sh["mentored"] > 0.6  # "most mentored pupils improved" ...
    assert sh["matched comparison"] > 0.6  # ... and so did similar pupils nobody mentored
    assert est.loc["before_after", "ci_high"] < 0  # naive before-after: a "significant" fall
    assert est.loc["before_after", "truth"] == 0.0
    # the matched DiD is far closer to the truth (0) than the naive before-after
    assert abs(est.loc["did_matched", "error"]) < 0.5 * abs(est.loc["before_after", "error"])
    assert res.truth["share_improved_without_mentoring"] == null_mp.truth["share_improved_without_mentoring"]


def test_matching_balances_the_pre_years(mp):
    res = mentoring_did(mp.panel, post_year=2023, match_on=2, truth=mp.truth)
    tr = res.trajectories.set_index(["group", "year"])["mean_absence_rate"]
    for y in (2021, 2022):
        assert abs(tr[("mentored", y)] - tr[("matched comparison", y)]) < 1.0
        assert tr[("mentored", y)] > tr[("all comparison", y)] + 10
    assert res.counts["mentored_matched"] == res.counts["mentored"]


def test_matched_did_coverage_when_referral_is_random_within_eligible():
    """Referral at random among persistent absentees: the matched DiD (same-area comparison) is
    unbiased and its 95% interval covers the truth about 95% of the time."""
    err, cover = [], []
    for rep in range(30):
        mp = mentoring_pupils(seed=300 + rep, n_pupils=8000, observed_selection=0, latent_selection=0)
        r = mentoring_did(mp.panel, post_year=2023, match_on=1, comparison="same_area",
                          truth=mp.truth).to_frame().set_index("term").loc["did_matched"]
        err.append(r["error"])
        cover.append(abs(r["error"]) < 1.96 * r["se"])
    err = np.array(err)
    assert np.mean(cover) >= 0.8
    assert abs(err.mean()) < 3 * err.std(ddof=1) / np.sqrt(len(err))


# --- output: aggregates only --------------------------------------------------------------
def test_to_dict_has_aggregates_only(mp):
    res = mentoring_did(mp.panel, post_year=2023, truth=mp.truth)
    d = res.to_dict()
    text = json.dumps(d)
    assert set(d) == {"estimates", "shares", "trajectories", "counts", "settings", "truth"}
    assert len(d["estimates"]) == 3 and len(d["shares"]) == 3 and len(d["trajectories"]) <= 3 * 4
    for row in d["shares"] + d["trajectories"]:
        assert row["n_pupils"] > 0
    for row in d["estimates"]:
        assert row["n_pupils_mentored"] > 0
    assert "pupil_id" not in text
    assert max(len(v) for v in d.values()) < 20  # no list as long as the pupils
    fig = res.plot()
    assert len(fig.axes) == 3


# --- bad input ---------------------------------------------------------------------------
def test_input_errors_name_column_and_row():
    df = _tiny()
    with pytest.raises(InputError) as e:
        mentoring_did(df.drop(columns="school_id"), post_year=2023)
    assert e.value.column == "school_id"
    bad = df.copy()
    bad.loc[4, "sess_overall"] = 101
    with pytest.raises(InputError) as e:
        mentoring_did(bad, post_year=2023, match_on=1, comparison="all")
    assert (e.value.column, e.value.row) == ("sess_overall", 5)
    bad = df.copy()
    bad.loc[2, "mentored"] = 0
    with pytest.raises(InputError, match="same in every year") as e:
        mentoring_did(bad, post_year=2023, match_on=1, comparison="all")
    with pytest.raises(InputError, match="two rows"):
        mentoring_did(pd.concat([df, df.iloc[[0]]]), post_year=2023, comparison="all")
    with pytest.raises(InputError, match="no absence rows"):
        mentoring_did(df, post_year=2025, match_on=1, comparison="all")
    with pytest.raises(InputError, match="pre-years"):
        mentoring_did(df, post_year=2023, match_on=3, comparison="all")
    with pytest.raises(InputError, match="comparison must be"):
        mentoring_did(df, post_year=2023, comparison="elsewhere")
    with pytest.raises(InputError, match="no comparison pupils"):
        mentoring_did(df[df["mentored"] == 1], post_year=2023, match_on=1, comparison="all")


# --- pseudonymisation --------------------------------------------------------------------
def test_pseudonymise_is_hmac_sha256():
    got = pseudonymise([17, "P2"], key=KEY)
    want = [hmac.new(KEY.encode(), s.encode(), hashlib.sha256).hexdigest() for s in ("17", "P2")]
    assert list(got) == want
    assert list(pseudonymise([17], key=KEY + "x")) != want[:1]


def test_pseudonymise_needs_a_key(monkeypatch):
    monkeypatch.delenv(PSEUDONYM_KEY_ENV, raising=False)
    with pytest.raises(InputError, match=PSEUDONYM_KEY_ENV):
        pseudonymise([1])
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, "short")
    with pytest.raises(InputError, match="too short"):
        pseudonymise([1])
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, KEY)
    assert list(pseudonymise([1])) == list(pseudonymise([1], key=KEY))


def test_written_panel_has_hashed_ids_and_never_goes_to_results(tmp_path, monkeypatch, mp):
    monkeypatch.setenv(PSEUDONYM_KEY_ENV, KEY)
    panel = mp.panel[mp.panel["pupil_id"] <= 50]
    a = pd.read_parquet(write_pupil_panel(panel, tmp_path / "a.parquet"))
    b = pd.read_csv(write_pupil_panel(panel, tmp_path / "b.csv"))
    assert a["pupil_id"].str.fullmatch(r"[0-9a-f]{64}").all()
    assert list(a["pupil_id"]) == list(b["pupil_id"])  # same key, same ids
    raw = set(panel["pupil_id"].astype(str))
    assert not raw & set(a["pupil_id"])
    assert list(a["pupil_id"]) == list(pseudonymise(panel["pupil_id"], key=KEY))
    # the pseudonymised file still analyses (ids are strings now)
    res = mentoring_did(mp.panel.assign(pupil_id=pseudonymise(mp.panel["pupil_id"], key=KEY)), post_year=2023)
    base = mentoring_did(mp.panel, post_year=2023)
    assert res.to_frame()["estimate"].iloc[:2].tolist() == pytest.approx(base.to_frame()["estimate"].iloc[:2])
    with pytest.raises(InputError, match="results"):
        write_pupil_panel(panel, tmp_path / "results" / "pupils.parquet")
    with pytest.raises(InputError, match="parquet or .csv"):
        write_pupil_panel(panel, tmp_path / "pupils.xlsx")
    monkeypatch.delenv(PSEUDONYM_KEY_ENV)
    with pytest.raises(InputError, match=PSEUDONYM_KEY_ENV):
        write_pupil_panel(panel, tmp_path / "c.parquet")
    assert not (tmp_path / "c.parquet").exists()
