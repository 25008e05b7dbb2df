import hashlib
import json

from evaluate.report import provenance as prov_mod
from evaluate.report.provenance import PACKAGES, collect_provenance, provenance_markdown


def test_fields_and_hashes(tmp_path):
    a = tmp_path / "a.csv"
    a.write_bytes(b"x,y\n1,2\n")
    cfg = tmp_path / "evaluation.yml"
    cfg.write_text("seed: 3\n")
    p = collect_provenance(seed=3, data_files={"absence/a.csv": a, "gone.csv": tmp_path / "gone.csv"},
                           config_path=cfg)
    assert p["seed"] == 3
    assert p["data_files"]["absence/a.csv"] == hashlib.sha256(b"x,y\n1,2\n").hexdigest()
    assert p["data_files"]["gone.csv"] == "missing"
    assert p["config"] == {"path": "evaluation.yml", "sha256": hashlib.sha256(b"seed: 3\n").hexdigest()}
    assert set(p["packages"]) == {*PACKAGES, "evaluate"}
    assert p["packages"]["pandas"][0].isdigit()
    assert {"system", "machine", "release"} <= set(p["platform"])
    assert p["python"].count(".") == 2
    assert set(p["git"]) == {"commit", "dirty"}
    json.dumps(p)  # JSON-ready


def test_list_of_files_and_no_timestamp(tmp_path):
    f = tmp_path / "f.txt"
    f.write_text("hi")
    p1 = collect_provenance(seed=1, data_files=[f])
    p2 = collect_provenance(seed=1, data_files=[f])
    assert p1 == p2  # nothing time-dependent
    assert list(p1["data_files"]) == [f.as_posix()]
    keys = set()

    def walk(d):
        for k, v in d.items():
            keys.add(k)
            if isinstance(v, dict) and k != "data_files":
                walk(v)

    walk(p1)
    assert not {k for k in keys if "time" in k or "date" in k}


def test_git_absent_gives_unknown(monkeypatch, tmp_path):
    monkeypatch.setattr(prov_mod.shutil, "which", lambda name: None)
    assert collect_provenance(seed=1)["git"] == {"commit": "unknown", "dirty": None}


def test_not_a_repository_gives_unknown(tmp_path):
    assert prov_mod.git_state(tmp_path)["commit"] == "unknown"


def test_markdown_lists_commit_seed_hashes_and_versions():
    p = {"git": {"commit": "0123456789abcdef", "dirty": True}, "seed": 42,
         "data_files": {"gias/x.csv": "ab" * 32}, "python": "3.11.7",
         "packages": {"pandas": "3.1.1"}, "platform": {"system": "Linux", "release": "6", "machine": "x86_64"},
         "config": None}
    md = provenance_markdown(p)
    assert "`0123456789ab` (uncommitted changes)" in md
    assert "| Random seed | 42 |" in md
    assert "ab" * 32 in md and "`gias/x.csv`" in md
    assert "| Package pandas | 3.1.1 |" in md
    assert "{#tbl-provenance}" in md
