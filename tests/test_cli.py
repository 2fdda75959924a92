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


FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")


def test_check_correct_answer_exits_0():
    result = run("check", "ols", "gradient", r"2X^TX\beta - 2X^Ty")
    assert result.returncode == 0 and result.stdout.startswith("correct")


def test_check_wrong_sign_exits_1_and_explains():
    result = run("check", "logistic", "gradient", r"X^T(y - \sigma(X\beta))", "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert set(data) >= {"correct", "model", "quantity", "answer", "expected", "diagnosis"}
    assert data["correct"] is False and "sign" in data["diagnosis"]
    assert "latex" in data["answer"] and "latex" in data["expected"]


def test_check_steps_json_names_the_first_wrong_line():
    result = run("check-steps", os.path.join(FIXTURES, "ols_wrong_gradient.tex"), "--model", "ols", "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["valid"] is False and data["first_error"] == 6
    assert all(set(line) == {"line", "latex", "valid", "reason"} for line in data["lines"])


@pytest.mark.parametrize("args", [
    ["check", "ols", "gradient", "__import__('os').system('touch pwned')"],
    ["check", "ols", "gradient", "9^{9^{9^{9}}}"],
    ["check", "ols", "gradient", r"\input{/etc/passwd}"],
    ["check", "ols", "gradient", r"\write18{touch pwned}"],
    ["check", "ols", "gradient", "(" * 5000 + "x" + ")" * 5000],
    ["check", "ols", "gradient", "x" * 100_000],
    ["check", "ols", "gradient", "X\x07\x1b[31m"],
    ["check", "nope", "gradient", "x"],
    ["check", "ols", "nope", "x"],
])
def test_hostile_input_on_the_command_line(tmp_path, args):
    import time
    start = time.perf_counter()
    result = run(*args, cwd=tmp_path)
    assert time.perf_counter() - start < 5 + 2  # + process start-up
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing executed, nothing written


@pytest.mark.parametrize("function, code", [("ols_gradient", 0), ("ols_gradient_half", 1)])
def test_check_code_runs_the_persons_function(function, code):
    target = os.path.join(FIXTURES, "code", "least_squares.py") + ":" + function
    result = run("check-code", "ols", "gradient", target)
    assert result.returncode == code, result.stderr
    assert "runs your own code" in result.stdout
