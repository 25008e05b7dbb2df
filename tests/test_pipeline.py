"""End to end on a small synthetic country: data -> panel -> results -> provenance.

Also the reproducibility promise: the same configuration and seed give byte-identical
outputs, and a second run with nothing changed is served from the cache.
"""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pandas as pd
import pytest

import evaluate
from evaluate import pipeline
from evaluate.config import load_config

SCHOOLS = 600


def _config(tmp: Path, *, output: str, seed: int = 7) -> Path:
    cfg = tmp / f"{output}.yml"
    cfg.write_text(
        f"seed: {seed}\noutput: {output}\ndata:\n  dir: synth\n  synthetic: {{schools: {SCHOOLS}}}\n"
        "programmes: {mentors: {areas: {la_data: synthetic, placebo_replications: 20}}}\n",
        encoding="utf-8",
    )
    return cfg


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Three runs (two outputs, then the first again); the fifth element is every warning
    the project's own code raised during them (third-party ones are filtered in
    pyproject.toml and are not the project's to assert)."""
    tmp = tmp_path_factory.mktemp("pipeline")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = _config(tmp, output="out1")
        s1 = pipeline.run(load_config(first), config_path=first)
        second = _config(tmp, output="out2")
        s2 = pipeline.run(load_config(second), config_path=second)
        again = pipeline.run(load_config(first), config_path=first)
    src = Path(evaluate.__file__).resolve().parent
    own = [w for w in caught if Path(w.filename).resolve().is_relative_to(src)]
    return tmp, s1, s2, again, own


def _path(tmp, output: str, rel: str):
    """Where a run's file lives: the panel and matched samples in the working area
    (``work/<output>``), everything else in the publication area (``<output>``)."""
    working = rel.startswith(("panel/", "matching/"))
    return (tmp / "work" / output / rel) if working else (tmp / output / rel)


def test_every_stage_ran_then_was_cached(runs):
    _, s1, s2, again, _ = runs
    assert [s.status for s in s1.stages] == ["ran", "ran", "ran", "ran", "ran"]
    # second output folder: the data folder is shared and reused, the panel is new
    assert [s.status for s in s2.stages] == ["cached", "ran", "ran", "ran", "ran"]
    assert [s.status for s in again.stages] == ["cached", "cached", "cached", "cached", "cached"]


def test_outputs_exist_and_config_is_copied(runs):
    tmp = runs[0]
    out = tmp / "out1"
    for rel in ["panel/panel_year.parquet", "panel/panel_term.parquet", "panel/attrition.csv",
                "results/data_quality.json", "provenance.json", "evaluation.yml",
                "matching/hubs_matched.csv", "matching/hubs_units.csv", "results/matching_hubs.json",
                "results/hubs.json", "results/mentors.json", "results/hubs_robustness.json",
                "results/mentors_robustness.json"]:
        assert _path(tmp, "out1", rel).exists(), rel
    assert not (out / "panel").exists() and not (out / "matching").exists()
    assert (out / "evaluation.yml").read_text() == (tmp / "out1.yml").read_text()
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["seed"] == 7


def test_same_seed_gives_byte_identical_outputs(runs):
    tmp = runs[0]
    for rel in ["panel/panel_year.parquet", "panel/panel_term.parquet", "panel/attrition.csv",
                "results/data_quality.json", "matching/hubs_matched.csv", "matching/hubs_units.csv",
                "results/matching_hubs.json", "results/hubs.json", "results/mentors.json"]:
        assert _path(tmp, "out1", rel).read_bytes() == _path(tmp, "out2", rel).read_bytes(), rel


def test_matching_accounts_for_every_treated_school(runs):
    """Every hub school with a pre-period is matched or counted with its reason, and the
    matched sample's weights are those of the per-unit table."""
    out = runs[0] / "out1"
    res = json.loads((out / "results" / "matching_hubs.json").read_text())
    units = pd.read_csv(_path(runs[0], "out1", "matching/hubs_units.csv"))
    panel = pd.read_parquet(_path(runs[0], "out1", "panel/panel_year.parquet"))
    for c in res["counts"]:
        g = c["cohort"]
        left_out = sum(v for k, v in c.items() if k.startswith("treated_dropped_"))
        n_cohort = panel.loc[panel["hub_cohort"] == g, "school_id"].nunique()
        assert c["treated_matched"] + left_out == n_cohort
        u = units[units["cohort"] == g]
        assert int((u["treated"] & (u["weight"] > 0)).sum()) == c["treated_matched"]
        assert ((u["weight"] > 0) | (u["reason"].fillna("") != "")).all()
    est = res["estimates"]["overall_absence_rate"]
    assert est["did"]["settings"]["subexperiment"] == "stack"
    assert "unmatched" in est


def test_attrition_adds_up_and_matches_the_panel(runs):
    out = runs[0] / "out1"
    log = pd.read_csv(_path(runs[0], "out1", "panel/attrition.csv"))
    assert (log["rows_before"] - log["rows_after"] == log["dropped"]).all()
    dq = json.loads((out / "results" / "data_quality.json").read_text())
    assert dq["synthetic"] is True
    assert len(dq["attrition"]) == len(log)
    assert dq["attrition_summary"]["adds_up"] is True


def test_panel_counts_are_consistent(runs):
    panel = pd.read_parquet(_path(runs[0], "out1", "panel/panel_year.parquet"))
    assert not panel.duplicated(["school_id", "year"]).any()
    assert panel["school_id"].notna().all()
    assert (panel["hub_cohort"] >= 0).all()
    assert set(panel["year"]) >= {2016, 2018, 2021, 2024}
    assert 2019 not in set(panel["year"])


def test_every_programme_result_validates_against_its_published_schema(runs):
    """The findings contract: each results/<programme>.json validates against
    results/schema/programme_findings.schema.json (jsonschema, independent of pydantic) and
    loads as typed records."""
    import jsonschema

    from evaluate.findings.records import load_findings

    tmp = runs[0]
    schema = json.loads((tmp / "out1" / "results" / "schema" / "programme_findings.schema.json").read_text())
    for p in ("hubs", "mentors"):
        data = json.loads((tmp / "out1" / "results" / f"{p}.json").read_text())
        jsonschema.validate(data, schema)
        f = load_findings(data)
        assert f.programme == p and f.headline_outcome.headline.n_treated > 0
    broken = json.loads((tmp / "out1" / "results" / "hubs.json").read_text())
    del broken["outcomes"]["overall_absence_rate"]["headline"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_the_estimates_read_the_matching_the_match_stage_saved(runs):
    """The matched sample is computed once: the headline's comparison schools are the match stage's."""
    from evaluate.matching import CohortMatching

    tmp = runs[0]
    cm = CohortMatching.load(tmp / "work" / "out1" / "matching" / "hubs")
    hubs = json.loads((tmp / "out1" / "results" / "hubs.json").read_text())
    matched = {int(c["cohort"]): int(c["treated_matched"]) for c in hubs["matching"]["counts"]}
    assert matched == {int(c["cohort"]): int(c["treated_matched"]) for c in cm.to_dict()["counts"]}
    # and the configured estimator and cluster reach the headline (not only matching_hubs.json)
    assert hubs["estimator"] == "dr" and hubs["cluster"] == "match_pair"
    assert hubs["settings"]["balancing"]["level"] == "mean"


def test_the_only_warnings_are_cohorts_left_out_and_they_are_counted(runs):
    """The project's own warnings in a default-shaped run: only "cohort G left out of the
    matched sample", and each such cohort is in the matching counts with no treated school
    matched and every one of them counted as dropped (nothing lost, nothing silent)."""
    tmp, *_, own = runs
    pattern = re.compile(r"cohort (\d+) left out of the matched sample: ")
    unexplained = [str(w.message) for w in own if not pattern.match(str(w.message))]
    assert unexplained == []
    counts = {}
    for prog in ("hubs", "mentors"):
        path = tmp / "out1" / "results" / f"matching_{prog}.json"
        if path.exists():
            for c in json.loads(path.read_text())["counts"]:
                counts.setdefault(c["cohort"], []).append(c)
    for w in own:
        g = int(pattern.match(str(w.message)).group(1))
        rows = counts.get(g, [])
        assert rows, f"cohort {g} was left out but is not in the matching counts"
        assert any(r["treated_matched"] == 0 and
                   sum(v for k, v in r.items() if k.startswith("treated_dropped_")) > 0 for r in rows)
