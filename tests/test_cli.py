"""The command line: help everywhere, one clear line for bad input, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from evaluate.cli import app

runner = CliRunner()

COMMANDS = [[], ["run"], ["report"], ["data"], ["data", "synth"], ["data", "build"], ["data", "check"]]


@pytest.mark.parametrize("cmd", COMMANDS, ids=lambda c: " ".join(c) or "evaluate")
def test_every_command_has_help(cmd):
    result = runner.invoke(app, [*cmd, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def _cli(*args: str, cwd=None) -> subprocess.CompletedProcess:
    code = "from evaluate.cli import main; main()"
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=cwd)


def test_version():
    out = _cli("--version")
    assert out.returncode == 0
    assert "attendance-evaluation" in out.stdout


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "does not exist"),
        ("data: {source: nowhere}\n", "data.source"),
        ("output: [1\n", "not valid YAML"),
    ],
)
def test_bad_config_is_one_line_and_exit_2(tmp_path, content, needle):
    cfg = tmp_path / "evaluation.yml"
    if content is not None:
        cfg.write_text(content, encoding="utf-8")
    out = _cli("run", "--config", str(cfg))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("error: file ")
    assert needle in lines[0]
    assert "Traceback" not in out.stderr


def test_folder_source_that_does_not_exist(tmp_path):
    cfg = tmp_path / "evaluation.yml"
    cfg.write_text("data: {source: folder, dir: missing}\n", encoding="utf-8")
    out = _cli("run", "--config", str(cfg))
    assert out.returncode == 2
    assert "data folder does not exist" in out.stderr
    assert "Traceback" not in out.stderr


def test_report_before_run_says_what_to_do(tmp_path):
    cfg = tmp_path / "evaluation.yml"
    cfg.write_text("output: out\n", encoding="utf-8")
    out = _cli("report", "--config", str(cfg))
    assert out.returncode == 2
    assert "run `evaluate run` first" in out.stderr
