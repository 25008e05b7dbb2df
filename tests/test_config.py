from __future__ import annotations

from pathlib import Path

import pytest

from evaluate.config import Config, load_config
from evaluate.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_repository_evaluation_yml_is_valid_and_relative_to_its_folder():
    cfg = load_config(ROOT / "evaluation.yml")
    assert cfg.data.source == "synthetic"
    assert cfg.data_dir == ROOT / "data" / "synthetic"
    assert cfg.output_dir == ROOT / "output"
    assert cfg.documents == [ROOT / "reports" / f"{n}.qmd" for n in ("data-quality", "hubs", "mentors", "technical-annex")]
    assert all(p.exists() for p in cfg.documents)


def test_empty_file_gives_defaults(tmp_path):
    p = tmp_path / "e.yml"
    p.write_text("", encoding="utf-8")
    cfg = load_config(p)
    assert cfg == Config(base_dir=tmp_path)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("seed: [1, 2]\n", "column 'seed'"),
        ("data:\n  source: web\n", "column 'data.source'"),
        ("colour: blue\n", "column 'colour'"),
        ("programmes:\n  mentors:\n    partial_areas: maybe\n", "programmes.mentors.partial_areas"),
        ("data: [unclosed\n", "not valid YAML"),
        ("- a\n- b\n", "top level must be a mapping"),
        ("data:\n  synthetic:\n    schools: 3\n", "data.synthetic.schools"),
    ],
)
def test_bad_settings_name_the_file_and_setting(tmp_path, text, needle):
    p = tmp_path / "evaluation.yml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(p)
    msg = str(info.value)
    assert "evaluation.yml" in msg
    assert needle in msg


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "nope.yml")
