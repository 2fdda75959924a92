"""derive.checking.code: a person's numpy function, run in a child process, against the derived formula."""
import json
from pathlib import Path

import pytest

from derive.checking.code import argument_names, check_code
from derive.errors import DeriveError, NotSupported

CODE = Path(__file__).parent / "fixtures" / "code"


def target(file: str, function: str) -> str:
    return f"{CODE / file}:{function}"


def test_correct_least_squares_gradient():
    result = check_code("ols", "gradient", target("least_squares.py", "ols_gradient"))
    assert result.correct and result.exit_code == 0 and result.diagnosis is None
    assert len(result.cases) == 8 and result.max_relative_error < 1e-12   # 6 random inputs, 2 with a large |Xβ|
    assert [c.note for c in result.cases][-2:] == ["|Xβ| up to 30", "|Xβ| up to 800"]
    assert len({c.sizes["n"] for c in result.cases}) >= 2
    assert result.call == "ols_gradient(beta, X, y)"
    assert result.function_latex and r"\mathrm{ols\_gradient}" in result.function_latex


def test_a_missing_factor_is_found():
    result = check_code("ols", "gradient", target("least_squares.py", "ols_gradient_half"))
    assert not result.correct and result.exit_code == 1
    assert "a missing 2" in result.diagnosis
    assert all(abs(c.max_relative_error - 0.5) < 1e-9 for c in result.cases)


def test_ridge_takes_lam_as_the_fourth_argument():
    assert argument_names("ridge") == ["beta", "X", "y", "lambda"]
    result = check_code("ridge", "gradient", target("least_squares.py", "ridge_gradient"))
    assert result.correct and result.call == "ridge_gradient(beta, X, y, lam)"
    wrong = check_code("ridge", "gradient", target("least_squares.py", "ridge_gradient_no_penalty_factor"))
    assert not wrong.correct and "λ where 2λ is meant" in wrong.diagnosis


@pytest.mark.parametrize("function", ["gradient", "gradient_column"])
def test_correct_logistic_gradient(function):
    result = check_code("logistic", "gradient", target("logistic_gradient.py", function))
    assert result.correct, result.diagnosis


@pytest.mark.parametrize("function, words", [
    ("gradient_log_likelihood", "gradient of the log-likelihood"),
    ("gradient_mean", "1/n-scaled"),
])
def test_subtly_wrong_logistic_gradients(function, words):
    result = check_code("logistic", "gradient", target("logistic_gradient.py", function))
    assert not result.correct and words in result.diagnosis


def test_logistic_hessian():
    assert check_code("logistic", "hessian", target("logistic_gradient.py", "hessian")).correct


@pytest.mark.parametrize("file, function, message", [
    ("logistic_gradient.py", "gradient_raises", r"calling it raised ValueError: .* \(line \d+\) at random input 1"),
    ("logistic_gradient.py", "gradient_wrong_shape", r"returned an array of shape \(\d, 2\) at d=\d, n=\d; "
                                                     r"the gradient has shape"),
    ("logistic_gradient.py", "no_such_function", "has no function no_such_function .functions: gradient"),
    ("broken_import.py", "gradient", "importing it raised SyntaxError"),
])
def test_errors_in_the_code_are_one_line(file, function, message):
    model = "logistic"
    with pytest.raises(DeriveError, match=message) as caught:
        check_code(model, "gradient", target(file, function))
    assert "\n" not in str(caught.value)


def test_an_endless_loop_is_stopped():
    with pytest.raises(DeriveError, match="did not finish within 2 s"):
        check_code("ols", "gradient", target("logistic_gradient.py", "gradient_forever"), timeout=2)


@pytest.mark.parametrize("spec, message", [
    ("least_squares.py", "write FILE.py:FUNCTION"),
    ("nowhere.py:f", "no file"),
    ("notes.txt:f", "not a Python file"),
    ("least_squares.py:not-a-name", "not a Python function name"),
])
def test_bad_targets(spec, message):
    with pytest.raises(DeriveError, match=message):
        check_code("ols", "gradient", spec)


def test_unknown_quantity():
    with pytest.raises(NotSupported, match="its quantities"):
        check_code("ols", "update", target("least_squares.py", "ols_gradient"))


def test_json_and_text_say_it_runs_your_code():
    result = check_code("ols", "gradient", target("least_squares.py", "ols_gradient_half"))
    data = json.loads(json.dumps(result.to_dict()))
    assert data["correct"] is False and data["runs_your_code"] is True
    assert data["function"]["name"] == "ols_gradient_half" and data["function"]["latex"]
    assert data["expected"]["latex"] == r"-2 X^{\top} \left(y - X \beta\right)"
    assert len(data["cases"]) == 8 and "max_relative_error" in data["cases"][0]
    text = result.to_text()
    assert text.startswith("This runs your own code")
    assert "diagnosis: off by a factor of 2" in text


def test_scalar_parameter_models():
    assert argument_names("gaussian") == ["mu", "sigma^2", "x"]
    result = check_code("gaussian", "gradient", target("gaussian.py", "grad"))
    assert result.correct and result.call == "grad(mu, sigma2, x)"
    assert check_code("gaussian", "solution", target("gaussian.py", "mle")).correct
    assert check_code("bernoulli", "gradient", target("gaussian.py", "bern")).correct
