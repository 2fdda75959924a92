"""The command line end to end, through the installed console script and in-process."""
import json
import os
import shutil
import subprocess
import sys

import pytest

from derive.cli import main

DERIVE = shutil.which("derive")


def run(*args, cwd=None):
    command = [DERIVE, *args] if DERIVE else [sys.executable, "-m", "derive", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=cwd)


def test_show_ols_prints_every_step_verified():
    result = run("show", "ols")
    assert result.returncode == 0, result.stderr
    assert "2XᵀXβ − 2Xᵀy" in result.stdout and "(XᵀX)⁻¹Xᵀy" in result.stdout
    assert "not verified" not in result.stdout


def test_show_json_matches_design():
    result = run("show", "ols", "--format", "json")
    data = json.loads(result.stdout)
    assert data["model"] == "ols" and all(s["verified"] for s in data["steps"])


def test_python_dash_m_works():
    result = subprocess.run([sys.executable, "-m", "derive", "models", "--json"], capture_output=True, text=True)
    assert result.returncode == 0 and {"ols", "ridge"} <= set(json.loads(result.stdout))


@pytest.mark.parametrize("args, expected", [
    (["show", "nope"], "unknown model 'nope'"),
    (["show", "ols", "--form", "bad"], "invalid choice"),
    (["show", "ols", "-o", "/nonexistent/folder/out.tex"], "cannot write"),
    (["show"], "MODEL"),
    (["frobnicate"], "invalid choice"),
])
def test_bad_input_is_one_line_and_exit_2(args, expected):
    result = run(*args)
    assert result.returncode == 2
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_output_file_is_written_whole(tmp_path):
    target = tmp_path / "ridge.tex"
    assert main(["show", "ridge", "--format", "latex", "--standalone", "-o", str(target)]) == 0
    text = target.read_text(encoding="utf-8")
    assert text.startswith("\\documentclass") and text.rstrip().endswith("\\end{document}")
    assert [p.name for p in tmp_path.iterdir()] == ["ridge.tex"]  # no temporary left behind


def test_every_command_has_help():
    for command in ("models", "show"):
        assert run(command, "--help").returncode == 0
