"""The package's metadata agrees with itself: pyproject, lock, environment.yml, Makefile."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
CONDA_ONLY = {"python", "pip", "quarto"}


def _name(spec: str) -> str:
    return re.split(r"[<>=!~ \[;]", spec.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_environment_yml_lists_the_runtime_packages_of_pyproject():
    runtime = {_name(d) for d in _pyproject()["project"]["dependencies"]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    conda, pip = set(), set()
    for dep in env["dependencies"]:
        if isinstance(dep, dict):
            pip |= {_name(p) for p in dep["pip"] if not p.startswith("-")}
        else:
            conda.add(_name(dep))
    listed = (conda - CONDA_ONLY) | pip
    assert listed - runtime == set(), f"in environment.yml but not pyproject.toml: {sorted(listed - runtime)}"
    assert runtime - listed == set(), f"in pyproject.toml but not environment.yml: {sorted(runtime - listed)}"
    assert "python=3.11" in env["dependencies"]
    assert "quarto" in env["dependencies"]


def test_lock_pins_every_runtime_and_dev_package():
    lock = (ROOT / "requirements.lock").read_text(encoding="utf-8")
    pinned = {_name(m) for m in re.findall(r"^([A-Za-z0-9_.\-]+)==", lock, flags=re.M)}
    project = _pyproject()["project"]
    wanted = {_name(d) for d in project["dependencies"] + project["optional-dependencies"]["dev"]}
    assert wanted - pinned == set(), f"not pinned in requirements.lock: {sorted(wanted - pinned)}"
    for line in lock.splitlines():
        if line and not line.startswith((" ", "#", "-")):
            assert "==" in line, f"unpinned line in requirements.lock: {line}"


def test_ci_runs_make_test_and_readme_shows_both_commands():
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make report" in readme and "make test" in readme


def test_console_script_and_distribution_name():
    project = _pyproject()["project"]
    assert project["name"] == "attendance-evaluation"
    assert project["scripts"]["evaluate"] == "evaluate.cli:main"
