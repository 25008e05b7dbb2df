"""The command line: help everywhere, one clear line for bad input, no traceback."""

from __future__ import annotations

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from evaluate.cli import app

runner = CliRunner()

COMMANDS = [[], ["run"], ["match"], ["report"], ["data"], ["data", "synth"], ["data", "build"], ["data", "check"]]


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


def test_data_check_lists_problems_and_exits_1(tmp_path):
    bad = tmp_path / "school.csv"
    bad.write_text("time_period,geographic_level,school_urn\n202223,School,100001\n202223,School,abc\n",
                   encoding="utf-8")
    out = _cli("data", "check", str(bad))
    assert out.returncode == 1
    assert "column 'school_urn', row 2: 'abc' is not a number" in out.stdout


def test_data_check_unreadable_file_is_one_line_exit_2(tmp_path):
    bad = tmp_path / "latin.csv"
    bad.write_bytes("time_period,geographic_level,la_name\n202223,National,Caf\xe9\n".encode("latin-1"))
    out = _cli("data", "check", str(bad))
    assert out.returncode == 2
    assert out.stderr.startswith("error: file ") and "latin.csv" in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_data_check_clean_synthetic_file(tmp_path):
    from evaluate import synthetic

    synthetic.generate(tmp_path / "d", seed=3, n_schools=120)
    out = _cli("data", "check", str(tmp_path / "d" / "absence" / "school_absence_202223.csv"),
               str(tmp_path / "d" / "gias" / "links_edubasealldata.csv"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert "kind: ees" in out.stdout and "kind: gias_links" in out.stdout


def test_match_command_and_a_bad_matching_specification(tmp_path):
    """`evaluate match` writes the matched sample and results; an unknown covariate in the
    configuration is one line naming it, exit 2, no traceback."""
    good = tmp_path / "good.yml"
    good.write_text("seed: 11\noutput: out\ndata:\n  dir: synth\n  synthetic: {schools: 400}\n", encoding="utf-8")
    out = _cli("match", "--config", str(good))
    assert out.returncode == 0, out.stderr
    assert (tmp_path / "work" / "out" / "matching" / "hubs_matched.csv").exists()
    assert (tmp_path / "out" / "results" / "matching_hubs.json").exists()
    assert "match" in out.stderr
    bad = tmp_path / "bad.yml"
    bad.write_text("seed: 11\noutput: out2\ndata:\n  dir: synth\n  synthetic: {schools: 400}\n"
                   "matching:\n  covariates: [ofsted, headteacher_shoe_size]\n", encoding="utf-8")
    out = _cli("match", "--config", str(bad))
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert "Traceback" not in out.stderr
    assert "headteacher_shoe_size" in lines[-1] and "covariate column not found" in lines[-1]


def test_report_unknown_format_is_one_line(tmp_path):
    cfg = tmp_path / "e.yml"
    cfg.write_text("output: out\n", encoding="utf-8")
    out = _cli("report", "--config", str(cfg), "--to", "html,docx")
    assert out.returncode == 2
    assert "unknown format 'docx'" in out.stderr and "Traceback" not in out.stderr
