"""The command line end to end, through the installed console script and in-process."""
import json
import os
import subprocess
import sys

import pytest
from conftest import DERIVE

from derive.cli import main


def run(*args, cwd=None):
    return subprocess.run([*DERIVE, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def test_show_ols_prints_every_step_verified():
    result = run("show", "ols")
    assert result.returncode == 0, result.stderr
    assert "−2Xᵀ(y − Xβ)" in result.stdout and "(XᵀX)⁻¹Xᵀy" in result.stdout
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
    for command in ("models", "datasets", "show", "diff", "check", "check-steps", "check-code", "fit", "notes"):
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
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing executed, nothing written


@pytest.mark.parametrize("function, code", [("ols_gradient", 0), ("ols_gradient_half", 1)])
def test_check_code_runs_the_persons_function(function, code):
    target = os.path.join(FIXTURES, "code", "least_squares.py") + ":" + function
    result = run("check-code", "ols", "gradient", target)
    assert result.returncode == code, result.stderr
    assert "runs your own code" in result.stdout


# ---------------------------------------------------------------------------------------------------
# Conventions: version, suggestions, case, expressions that begin with '-', encodings, JSON, -o -
# ---------------------------------------------------------------------------------------------------
def in_process(capsys, *args):
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_version_is_the_packages_version(capsys):
    import re
    from pathlib import Path

    import derive
    pyproject = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert derive.__version__ == re.search(r'^version = "(.+)"$', pyproject, re.MULTILINE).group(1)
    code, out, _ = in_process(capsys, "--version")
    assert code == 0 and out.strip() == f"derive {derive.__version__}"


@pytest.mark.parametrize("args, suggestion", [
    (["show", "olss"], "did you mean 'ols'?"),
    (["shw", "ols"], "did you mean 'show'?"),
    (["show", "ols", "--frm", "index"], "did you mean '--form'?"),
    (["show", "ols", "--form", "indx"], "did you mean 'index'?"),
    (["fit", "olss", "longley", "--target", "y"], "did you mean 'ols'?"),
    (["fit", "ols", "longly", "--target", "y"], "did you mean 'longley'?"),
    (["models", "-json"], "did you mean '--json'?"),
    (["check", "ols", "gradiant", "x"], "did you mean 'gradient'?"),
    (["--verson"], "did you mean '--version'?"),
])
def test_a_near_miss_gets_a_suggestion(capsys, args, suggestion):
    code, out, err = in_process(capsys, *args)
    assert code == 2 and out == "" and suggestion in err and len(err.strip().splitlines()) == 1


def test_model_names_are_case_insensitive(capsys):
    import derive
    assert derive.derivation("Ridge").results == derive.derivation("ridge").results
    code, out, _ = in_process(capsys, "check", "OLS", "gradient", r"-2X^T(y - X\beta)")
    assert code == 0 and out.startswith("correct")


@pytest.mark.parametrize("args, expected", [
    (["diff", "-x^2", "--wrt", "x"], "−x²"),
    (["diff", "--wrt", "x", "-x^3", "-o", "-"], "−x³"),
    (["check", "ols", "gradient", "-2X'(y-Xb)"], "correct"),
])
def test_an_expression_may_begin_with_a_minus(capsys, args, expected):
    code, out, err = in_process(capsys, *args)
    assert code == 0, err
    assert expected in out


def test_output_a_terminal_cannot_encode_falls_back_to_ascii_notation():
    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    shown = subprocess.run([*DERIVE, "show", "ols"], capture_output=True, env=env, timeout=120)
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout.decode("ascii")  # every byte is ASCII
    assert "-2X'(y - X beta)" in text and "(X'X)^-1X'y" in text
    refused = subprocess.run([*DERIVE, "check", "ols", "gradient", "β}"], capture_output=True, env=env, timeout=120)
    assert refused.returncode == 2 and b"Traceback" not in refused.stderr
    assert len(refused.stderr.decode("ascii").strip().splitlines()) == 1


@pytest.mark.parametrize("args, kind", [
    (["check", "ols", "gradient", r"-2X^T(y - X\beta})", "--json"], "ParseError"),
    (["show", "ols", "--form", "bad", "--json"], "UsageError"),
    (["show", "nope", "--format", "json"], "NotSupported"),
    (["fit", "ols", "nowhere.csv", "--target", "y", "--json"], "DataError"),
])
def test_with_json_an_error_is_json_on_stdout_too(capsys, args, kind):
    code, out, err = in_process(capsys, *args)
    assert code == 2 and len(err.strip().splitlines()) == 1
    error = json.loads(out)["error"]
    assert set(error) == {"message", "kind", "position"} and error["kind"] == kind
    assert error["message"] in err


def test_a_parse_error_in_json_names_its_position(capsys):
    text = r"-2X^T(y - X\beta})"
    _, out, _ = in_process(capsys, "check", "ols", "gradient", text, "--json")
    position = json.loads(out)["error"]["position"]
    assert position["line"] == 1 and text[position["column"] - 1] == "}"


@pytest.mark.parametrize("args", [
    ["models", "--json"],
    ["datasets", "--json"],
    ["show", "ols", "--json"],
    ["diff", "x^2", "--wrt", "x", "--json"],
    ["check", "ols", "gradient", r"-2X^T(y - X\beta)", "--json"],
    ["check-steps", os.path.join(FIXTURES, "ols_wrong_gradient.tex"), "--model", "ols", "--json"],
    ["fit", "ols", "norris", "--target", "y", "--json"],
    ["show", "nope", "--json"],
])
def test_every_command_prints_json_in_one_layout(capsys, args):
    _, out, _ = in_process(capsys, *args)
    assert out == json.dumps(json.loads(out), ensure_ascii=False, indent=2) + "\n"


def test_dash_o_dash_writes_to_stdout(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, out, _ = in_process(capsys, "show", "ridge", "--format", "latex", "-o", "-")
    assert code == 0 and "\\nabla" in out and list(tmp_path.iterdir()) == []


def test_help_and_version_return_0_in_process(capsys):
    assert main(["--help"]) == 0 and "COMMAND" in capsys.readouterr().out


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path):
    from derive.render.output import atomic_path
    target = tmp_path / "notes.tex"
    target.write_text("the old notes")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("half a docu")
        raise RuntimeError("interrupted")
    assert target.read_text() == "the old notes" and [p.name for p in tmp_path.iterdir()] == ["notes.tex"]


def test_a_plot_is_written_whole(tmp_path, capsys):
    target = tmp_path / "fit.png"
    assert main(["fit", "ols", "norris", "--target", "y", "--plot", str(target)]) == 0
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and [p.name for p in tmp_path.iterdir()] == ["fit.png"]
