"""`evaluate estimate`: the command-line contract (arguments, JSON shape, errors)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

VALIDATION = Path(os.environ.get("EVALUATE_SHARED_DATA")
                  or Path(__file__).resolve().parents[1].parent / "shared" / "data") / "validation"

CS_KEYS = {"method", "n_units", "n_obs", "att_gt", "aggregations", "pretest"}
TWFE_KEYS = {"method", "n_units", "n_obs", "coef", "se", "ci_low", "ci_high", "p_value", "vcov"}
EVENT_KEYS = {"method", "n_units", "n_obs", "by", "pretest"}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from evaluate.cli import main; main()", *args],
                          capture_output=True, text=True)


@pytest.fixture(scope="module")
def panel_csv(tmp_path_factory) -> Path:
    """Staggered panel, 300 units x 6 periods, cohorts 3, 4, 5 and never; effect 1.0."""
    rng = np.random.default_rng(11)
    units = np.arange(300)
    cohort = rng.choice([0, 3, 4, 5], size=300)
    rows = []
    for u in units:
        a = rng.normal()
        for t in range(1, 7):
            treated = cohort[u] > 0 and t >= cohort[u]
            y = a + 0.2 * t + (1.0 if treated else 0.0) + rng.normal(scale=0.5)
            rows.append((u, t, y, cohort[u], rng.normal(), u % 12))
    df = pd.DataFrame(rows, columns=["id", "t", "y", "g", "x", "region"])
    path = tmp_path_factory.mktemp("est") / "panel.csv"
    df.to_csv(path, index=False)
    return path


BASE = ["--outcome", "y", "--unit", "id", "--time", "t", "--cohort", "g"]


@pytest.mark.parametrize(
    ("method", "keys"),
    [("cs", CS_KEYS), ("twfe", TWFE_KEYS), ("event-study", EVENT_KEYS),
     ("sun-abraham", EVENT_KEYS), ("imputation", EVENT_KEYS)],
)
def test_json_has_exactly_the_contract_keys(panel_csv, tmp_path, method, keys):
    out = tmp_path / f"{method}.json"
    res = _cli("estimate", str(panel_csv), *BASE, "--method", method, "--json", str(out))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip(), "a human-readable table goes to stdout"
    payload = json.loads(out.read_text())
    assert set(payload) == keys
    assert payload["method"] == method and payload["n_units"] == 300 and payload["n_obs"] == 1800
    if method == "cs":
        assert set(payload["aggregations"]) == {"simple", "group", "dynamic", "calendar"}
        assert set(payload["aggregations"]["simple"]) == {"att", "se"}
        for kind, col in (("group", "group"), ("dynamic", "event_time"), ("calendar", "time")):
            by = payload["aggregations"][kind]["by"]
            assert by and all(set(r) == {col, "att", "se"} for r in by)
        assert all(set(r) == {"group", "time", "att", "se"} for r in payload["att_gt"])
        assert payload["aggregations"]["simple"]["att"] == pytest.approx(1.0, abs=0.15)
    elif method == "twfe":
        assert payload["coef"] == pytest.approx(1.0, abs=0.15)
        assert np.asarray(payload["vcov"]).shape == (1, 1)
    else:
        assert all(set(r) == {"event_time", "estimate", "se"} for r in payload["by"])
        assert set(payload["pretest"]) == {"statistic", "df", "p_value"}
        post = [r["estimate"] for r in payload["by"] if r["event_time"] >= 0]
        assert np.mean(post) == pytest.approx(1.0, abs=0.2)


def test_options_reach_the_estimator(panel_csv, tmp_path):
    out = tmp_path / "cs.json"
    res = _cli("estimate", str(panel_csv), *BASE, "--covariates", "x", "--control", "not-yet",
               "--estimator", "reg", "--base-period", "universal", "--cluster", "region",
               "--bootstrap", "199", "--seed", "5", "--json", str(out))
    assert res.returncode == 0, res.stderr
    assert "control: not_yet" in res.stdout and "estimator: reg" in res.stdout
    assert "base_period: universal" in res.stdout and "cluster: region" in res.stdout
    first = out.read_bytes()
    res = _cli("estimate", str(panel_csv), *BASE, "--covariates", "x", "--control", "not-yet",
               "--estimator", "reg", "--base-period", "universal", "--cluster", "region",
               "--bootstrap", "199", "--seed", "5", "--json", str(out))
    assert out.read_bytes() == first  # same seed, same bootstrap


def _bad(tmp_path, df: pd.DataFrame, name: str) -> Path:
    p = tmp_path / name
    df.to_csv(p, index=False)
    return p


@pytest.mark.parametrize(
    ("edit", "args", "needle"),
    [
        (None, ["--outcome", "nope"], "column 'nope': outcome column not found"),
        (lambda d: d.assign(y=d["y"].astype(object).where(d.index != 5, "n/a")), [], "column 'y', row 6: 'n/a' is not a number"),
        (lambda d: d.assign(g=np.where(d["id"] == 0, -4, d["g"])), [], "negative cohort"),
        (lambda d: d.assign(t=d["t"] + 10, g=np.where(d["g"] > 0, 2, 0)), [], "before the first period"),
        (lambda d: d.assign(g=np.where(d["g"] == 0, 3, d["g"])), [], "no never-treated units"),
        (None, ["--method", "magic"], "unknown method 'magic'"),
        (None, ["--bootstrap", "9", "--method", "twfe"], "--bootstrap applies to --method cs only"),
    ],
)
def test_bad_input_is_one_line_and_non_zero(panel_csv, tmp_path, edit, args, needle):
    path = panel_csv if edit is None else _bad(tmp_path, edit(pd.read_csv(panel_csv)), "bad.csv")
    base = dict(zip(BASE[::2], BASE[1::2], strict=True))
    for k, v in zip(args[::2], args[1::2], strict=True):
        base[k] = v
    flat = [x for kv in base.items() for x in kv]
    res = _cli("estimate", str(path), *flat)
    assert res.returncode == 2, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), res.stderr
    assert needle in lines[0]
    assert "Traceback" not in res.stderr


def test_unreadable_data_file(tmp_path):
    p = tmp_path / "data.txt"
    p.write_text("x", encoding="utf-8")
    res = _cli("estimate", str(p), *BASE)
    assert res.returncode == 2 and "must be a .csv" in res.stderr


@pytest.mark.against_r
def test_cs_json_reproduces_r_did_on_mpdta(tmp_path):
    if not VALIDATION.exists():
        pytest.skip(f"R reference results not found at {VALIDATION}")
    ref = pd.read_csv(VALIDATION / "ref_attgt.csv")
    ref = ref[ref["scenario"] == "mpdta_nev_dr"].rename(columns={"t": "time"})
    out = tmp_path / "cs.json"
    res = _cli("estimate", str(VALIDATION / "mpdta.csv"), "--outcome", "lemp", "--unit", "countyreal",
               "--time", "year", "--cohort", "first.treat", "--json", str(out))
    assert res.returncode == 0, res.stderr
    got = pd.DataFrame(json.loads(out.read_text())["att_gt"])
    merged = got.merge(ref, on=["group", "time"], suffixes=("", "_r"))
    assert len(merged) == len(ref) == 12
    np.testing.assert_allclose(merged["att"], merged["att_r"], atol=1e-8)
    np.testing.assert_allclose(merged["se"], merged["se_r"], rtol=1e-6)
