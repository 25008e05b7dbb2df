"""A configuration is data: malicious settings are refused with a clear message."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from evaluate.config import load_config
from evaluate.errors import ConfigError

SRC = Path(__file__).parents[2] / "src" / "evaluate"


def _cfg(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "evaluation.yml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("text, setting", [
    ("output: ../../outside\n", "output"),
    ("working: work/../../outside\n", "working"),
    ("data: {source: folder, dir: ../../../etc}\n", "data.dir"),
    ("reports_dir: ../../elsewhere\n", "reports_dir"),
])
def test_a_path_with_dotdot_is_refused(tmp_path, text, setting):
    with pytest.raises(ConfigError, match=r"contains '\.\.'") as err:
        load_config(_cfg(tmp_path, text))
    assert err.value.column == setting and err.value.file.endswith("evaluation.yml")


def test_an_absolute_path_outside_the_project_is_refused_unless_allowed(tmp_path, monkeypatch):
    outside = tmp_path.parent / f"{tmp_path.name}-shared"
    outside.mkdir()
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.delenv("EVALUATE_DATA_ROOTS", raising=False)
    with pytest.raises(ConfigError, match="outside the project folder"):
        load_config(_cfg(project, f"data: {{source: folder, dir: {outside}}}\n"))
    # the user's own environment may allow a data folder for reading ...
    monkeypatch.setenv("EVALUATE_DATA_ROOTS", str(outside))
    assert load_config(_cfg(project, f"data: {{source: folder, dir: {outside}}}\n")).data_dir == outside.resolve()
    # ... never for writing
    with pytest.raises(ConfigError, match="outside the project folder"):
        load_config(_cfg(project, f"output: {outside}\n"))


def test_a_symlink_out_of_the_project_is_refused(tmp_path):
    target = tmp_path.parent / f"{tmp_path.name}-target"
    target.mkdir()
    (tmp_path / "out").symlink_to(target)
    with pytest.raises(ConfigError, match="outside the project folder"):
        load_config(_cfg(tmp_path, "output: out\n"))


def test_a_yaml_tag_that_would_construct_an_object_is_refused(tmp_path):
    marker = tmp_path / "hacked"
    path = _cfg(tmp_path, f"seed: !!python/object/apply:os.system ['touch {marker}']\n")
    with pytest.raises(ConfigError, match="YAML tag at line 1 is refused") as err:
        load_config(path)
    assert "may not construct Python objects" in str(err.value)
    assert not marker.exists()


def test_the_working_area_may_not_be_inside_the_publication_area(tmp_path):
    with pytest.raises(ConfigError, match="must be separate") as err:
        load_config(_cfg(tmp_path, "output: out\nworking: out/work\n"))
    assert err.value.column == "working"


def test_the_command_line_prints_one_line_and_no_traceback(tmp_path):
    path = _cfg(tmp_path, "output: ../../outside\n")
    out = subprocess.run([sys.executable, "-m", "evaluate.cli", "run", "--config", str(path)],
                         capture_output=True, text=True, cwd=tmp_path)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and "contains '..'" in out.stderr


def _calls(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            owner = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
            yield node, owner, name


def test_no_shell_strings_anywhere_in_the_package():
    """Programs are run with argument lists: no shell=True, os.system, os.popen, eval or exec."""
    problems = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node, owner, name in _calls(tree):
            where = f"{path.relative_to(SRC)}:{node.lineno}"
            if owner == "os" and name in {"system", "popen"}:
                problems.append(f"{where} os.{name}")
            if name in {"eval", "exec"} and owner == "":
                problems.append(f"{where} {name}")
            for kw in node.keywords:
                if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant) and kw.value.value is False):
                    problems.append(f"{where} shell=")
            if owner == "subprocess" and node.args and isinstance(node.args[0], ast.Constant | ast.JoinedStr):
                problems.append(f"{where} subprocess with a string command")
            if owner == "yaml" and name in {"load", "unsafe_load", "full_load"}:
                problems.append(f"{where} yaml.{name} (use yaml.safe_load)")
    assert problems == []
