"""The publication gate: only controlled aggregates reach the publication area."""

from __future__ import annotations

import hashlib
import hmac
import json

import pandas as pd
import pytest

from evaluate.disclosure import (
    DisclosureRules,
    TableSpec,
    check_publication_area,
    control_table,
    pseudonymise,
    publish_json,
    publish_table,
    pupil_id_columns,
)
from evaluate.errors import InputError

KEY = "sixteen-plus-chars-secret"


def test_pseudonyms_are_hmac_sha256_and_need_a_key(monkeypatch):
    got = pseudonymise(["A123456789012", 17], key=KEY)
    assert got.tolist() == [hmac.new(KEY.encode(), s.encode(), hashlib.sha256).hexdigest()
                            for s in ("A123456789012", "17")]
    monkeypatch.delenv("EVALUATE_PSEUDONYM_KEY", raising=False)
    with pytest.raises(InputError, match="EVALUATE_PSEUDONYM_KEY"):
        pseudonymise([1])


def test_pupil_identifiers_are_found_by_name_and_by_value():
    df = pd.DataFrame({"upn": ["x"], "PupilMatchingRefAnonymous": ["y"], "sessions_per_pupil": [3.0],
                       "ref": ["A123456789012"], "n_pupils": [40]})
    assert pupil_id_columns(df) == ["upn", "PupilMatchingRefAnonymous", "ref"]


def test_a_table_of_pupil_counts_without_a_spec_is_refused(tmp_path):
    rows = [{"area": "A", "n_pupils": 4}, {"area": "B", "n_pupils": 40}]
    with pytest.raises(InputError, match="without a disclosure spec"):
        publish_json({"by_area": rows}, tmp_path / "r.json", area=tmp_path)
    ok = control_table(pd.DataFrame(rows), TableSpec(counts={"n_pupils": "pupils"})).to_dict()
    path = publish_json({"by_area": ok}, tmp_path / "r.json", area=tmp_path)
    assert json.loads(path.read_text())["by_area"]["records"][0]["n_pupils"] == "c"


def test_a_tampered_controlled_table_is_refused(tmp_path):
    ok = control_table(pd.DataFrame({"area": ["A", "B", "Total"], "pupils": [3, 40, 43]}),
                       TableSpec(counts={"pupils": "pupils"}, row_total=("area", "Total"))).to_dict()
    ok["records"][1]["pupils"] = 40  # someone "fixed" the secondary suppression by hand
    with pytest.raises(InputError, match="failed disclosure control"):
        publish_json({"t": ok}, tmp_path / "t.json", area=tmp_path)


def test_nothing_is_published_outside_the_area(tmp_path):
    area = tmp_path / "output"
    area.mkdir()
    with pytest.raises(InputError, match="outside the publication area"):
        publish_json({"a": 1}, tmp_path / "elsewhere.json", area=area)
    with pytest.raises(InputError, match="outside the publication area"):
        publish_table(pd.DataFrame({"n_pupils": [40]}), TableSpec(counts={"n_pupils": "pupils"}),
                      area / ".." / "x.csv", area=area)


def test_publish_table_refuses_pupil_level_rows_and_the_area_check_finds_them(tmp_path):
    with pytest.raises(InputError, match="pupil identifier"):
        publish_table(pd.DataFrame({"pupil_id": [1], "n_pupils": [40]}), TableSpec(counts={"n_pupils": "pupils"}),
                      tmp_path / "x.csv", area=tmp_path)
    (tmp_path / "leak.json").write_text(json.dumps({"rows": [{"upn": "A123456789012"}]}))
    assert check_publication_area(tmp_path, DisclosureRules()) == [
        "leak.json: looks like a pupil identifier; pupil-level data may not be published (rows[0].upn)"]


def test_working_files_of_an_older_layout_are_removed_from_the_publication_area(tmp_path):
    from evaluate import pipeline
    from evaluate.config import load_config

    (tmp_path / "evaluation.yml").write_text("output: out\n", encoding="utf-8")
    cfg = load_config(tmp_path / "evaluation.yml")
    (tmp_path / "out" / "panel").mkdir(parents=True)
    (tmp_path / "out" / "panel" / "panel_year.parquet").write_bytes(b"PAR1")
    (tmp_path / "out" / "results").mkdir()
    assert check_publication_area(tmp_path / "out") == [
        "panel/panel_year.parquet: a Parquet file (working data) in the publication area"]
    with pytest.warns(RuntimeWarning, match="working files of an older version"):
        pipeline._remove_legacy(cfg)
    assert not (tmp_path / "out" / "panel").exists() and (tmp_path / "out" / "results").exists()
    assert check_publication_area(tmp_path / "out") == []


def test_rules_text_states_the_rules_and_their_sources():
    from evaluate.disclosure import SOURCES, rules_text

    text = rules_text(DisclosureRules(pupil_threshold=10, school_threshold=5))
    assert "Counts of pupils below 10 are suppressed (c), and counts of schools below 5" in text
    assert "from 1 to 9 is replaced by `c`" in text and "less than the threshold (10) apart" in text
    # the interval of protection in words, for the technical annex, and the gate that enforces it
    assert "**Interval of protection.**" in text
    assert "at least 10 for a count of pupils and 5 for a count of schools" in text
    assert "narrowed down to a range narrower than its threshold" in text
    assert "not yet refused" not in text
    assert "| `c` | confidential" in text and "| `low` |" in text
    assert all(f"- {s}" in text for s in SOURCES) and "explore education statistics" in text
    assert "Counts are not rounded." in text
    assert "(no school threshold is set)" in rules_text()
