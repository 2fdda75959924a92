"""derive.check_steps: the first wrong line of a derivation, with line numbers of the input file."""
import json
from pathlib import Path

import pytest

from derive.checking.answers import check_steps
from derive.errors import LimitExceeded, NotSupported, ParseError

FIXTURES = Path(__file__).parent / "fixtures"


def steps(name: str, **options):
    return check_steps((FIXTURES / name).read_text(), **options)


def test_a_correct_latex_derivation_is_valid_to_the_solution():
    result = steps("ols_correct.tex", model="ols")
    assert result.valid and result.first_error is None and result.exit_code == 0
    # line 1 is a % comment and line 2 \begin{align*}: the first expression is line 3
    assert [l.line for l in result.lines] == [3, 4, 5, 6, 7, 8]
    assert all(l.valid for l in result.lines)
    reasons = [l.reason for l in result.lines]
    assert reasons[2] == "the gradient of line 4 with respect to β"
    assert "set to zero" in reasons[3]
    assert reasons[5].startswith("solves")


def test_the_first_wrong_line_is_found_and_diagnosed():
    result = steps("ols_wrong_gradient.tex", model="ols")
    assert not result.valid and result.first_error == 6 and result.exit_code == 1
    wrong = next(l for l in result.lines if l.line == 6)
    assert "the term −2Xᵀy has the wrong factor" in wrong.reason
    assert "−Xᵀy in its place" in wrong.reason
    # a later line is checked against the line before it, as written
    assert next(l for l in result.lines if l.line == 8).valid


def test_plain_derivations_are_read_too():
    result = steps("ols_plain_correct.txt", model="ols")
    assert result.valid, [l.reason for l in result.lines if not l.valid]
    assert [l.line for l in result.lines] == [1, 2, 4, 5, 6, 7]   # the blank line 3 is skipped
    wrong = steps("ols_plain_wrong_expansion.txt", model="ols")
    assert wrong.first_error == 3
    assert "the term −2βᵀXᵀy has the wrong factor" in wrong.lines[2].reason


def test_a_dimension_error_marks_its_line_and_the_next_line_compares_with_the_last_good_one():
    result = steps("ridge_dimension_error.tex", model="ridge")
    assert result.first_error == 5
    bad = next(l for l in result.lines if l.line == 5)
    assert not bad.valid and bad.reason.startswith("dimension error: cannot multiply")
    after = next(l for l in result.lines if l.line == 6)
    assert after.valid and after.reason == "equal to line 4"


def test_remarks_and_labels_are_skipped():
    result = steps("annotated.tex", model="ols")
    assert result.valid, [l.reason for l in result.lines]
    assert [l.line for l in result.lines] == [3, 4, 5, 6]


def test_index_notation_is_differentiated():
    result = steps("index_form.tex", model="ols")
    assert result.valid, [l.reason for l in result.lines]


def test_shapes_instead_of_a_model():
    result = steps("quadratic_form.txt", shapes="x:n, A:nxn, b:n")
    assert result.first_error == 3
    assert "only when A is symmetric" in result.lines[2].reason
    assert result.lines[1].reason == "the gradient of line 1 with respect to x"
    same = check_steps((FIXTURES / "quadratic_form.txt").read_text(),
                       shapes={"x": ("n", 1), "A": ("n", "n"), "b": ("n", 1)})
    assert same.first_error == 3


def test_derivatives_in_two_scalar_parameters():
    result = steps("gaussian_sigma2.tex", model="gaussian")
    assert result.first_error == 4
    assert result.lines[1].reason == "the derivative of line 2 with respect to μ"
    assert "has the wrong factor" in result.lines[2].reason


def test_logistic_derivation_with_hessian():
    result = steps("logistic_correct.tex", model="logistic")
    assert result.valid, [l.reason for l in result.lines]
    assert result.lines[-1].reason == "the derivative of line 4 with respect to βᵀ"


def test_logistic_sign_error_is_the_log_likelihood():
    result = steps("logistic_wrong_sign.tex", model="logistic")
    assert result.first_error == 3
    assert "gradient of the log-likelihood" in result.lines[1].reason


@pytest.mark.parametrize("line, words", [
    (r"&= y^Ty - 2\beta^TX^Ty + \beta^TX^TX\beta", None),
    (r"&= y^Ty + 2\beta^TX^Ty + \beta^TX^TX\beta", "wrong sign"),
    (r"&= y^Ty - 2\beta^TX^Ty", "missing the term βᵀXᵀXβ"),
    (r"&= 2y^Ty - 4\beta^TX^Ty + 2\beta^TX^TX\beta", "an extra 2"),
])
def test_one_line_table(line, words):
    text = "\\begin{align*}\nL(\\beta) &= (y - X\\beta)^T(y - X\\beta) \\\\\n" + line + "\n\\end{align*}\n"
    result = check_steps(text, model="ols")
    if words is None:
        assert result.valid
    else:
        assert result.first_error == 3 and words in result.lines[1].reason, result.lines[1].reason


def test_equations_are_checked_by_their_solutions():
    base = "L = (y - X b)'(y - X b)\n=> gradient: 2X'X b - 2X'y\n"
    assert check_steps(base + "X'X b = X'y\nb = inv(X'X) X'y\n", model="ols").valid
    wrong = check_steps(base + "X'X b = 2 X'y\n", model="ols")
    assert wrong.first_error == 3 and "factor of 2" in wrong.lines[2].reason
    wrong = check_steps(base + "X'X b = X'y\nb = inv(X X') X'y\n", model="ols")
    assert wrong.first_error == 4


def test_to_dict_is_the_documented_json():
    data = json.loads(json.dumps(steps("ols_wrong_gradient.tex", model="ols").to_dict()))
    assert set(data) == {"valid", "first_error", "lines", "warnings"}
    assert data["valid"] is False and data["first_error"] == 6
    assert set(data["lines"][0]) == {"line", "latex", "valid", "reason"}
    assert data["lines"][0]["latex"] == r"\left(y - X \beta\right)^{\top} \left(y - X \beta\right)"


def test_text_output_marks_each_line():
    text = steps("ols_wrong_gradient.tex", model="ols").to_text()
    assert "line 6  ✗" in text and text.endswith("first error: line 6")


def test_errors_name_the_line():
    with pytest.raises(ParseError, match=r"^line 3: unexpected"):
        check_steps("% comment\nL = x^2\n  = x^2 + }\n", shapes="")
    with pytest.raises(ParseError):
        check_steps("\\begin{align*}\n\\end{align*}\n", model="ols")
    with pytest.raises(NotSupported):
        check_steps("x", model="ols", shapes="x:n")
    with pytest.raises(LimitExceeded):
        check_steps("= x\n" * 1000, shapes="")


def test_scalar_calculus_without_shapes():
    assert check_steps("f(x) = x^3 + \\sin x\n\\frac{\\partial f}{\\partial x} = 3x^2 + \\cos x\n").valid
    wrong = check_steps("f(x) = x^3\n\\frac{\\partial f}{\\partial x} = x^2\n")
    assert wrong.first_error == 2
    assert wrong.lines[1].reason == "off by a constant factor: this line is 1/3 × the derivative of line 1 with respect to x"
