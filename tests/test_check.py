"""derive.check: answers in many notations accepted, wrong answers rejected with the right diagnosis."""
import json

import pytest
import sympy as sp
from verdicts import assert_accepted, assert_rejected

from derive.checking.answers import check
from derive.checking.diagnosis import Comparison, diagnose, variants
from derive.checking.equivalence import compare
from derive.checking.model_context import model_context
from derive.core.random_points import Domains, values_of
from derive.errors import DeriveError, NotSupported, ParseError, ShapeError
from derive.expr.printing import unicode
from derive.parse import parse

CORRECT = [
    # ols gradient: factored, expanded, LaTeX, plain, every transpose spelling, every alias of β
    ("ols", "gradient", r"2X^TX\beta - 2X^Ty"),
    ("ols", "gradient", r"-2X^T(y - X\beta)"),
    ("ols", "gradient", "-2*X.T*(y - X*beta)"),
    ("ols", "gradient", "-2 X' (y - X b)"),
    ("ols", "gradient", r"2X^{\top}X\hat{\beta} - 2X^{\top}y"),
    ("ols", "gradient", r"2\mathbf{X}^\intercal(\mathbf{X}\boldsymbol{\beta} - \mathbf{y})"),
    ("ols", "gradient", r"-2X^{T}y + 2X^{T}Xw"),
    ("ols", "gradient", r"2(X^TX\theta - X^Ty)"),
    ("ols", "gradient", "2XᵀXβ − 2Xᵀy"),
    ("ols", "gradient", r"X^T(X\beta - y) + X^T(X\beta - y)"),
    ("ols", "gradient", r"\frac{4}{2}X^\top(X\beta - y)"),
    ("ols", "hessian", "2X^TX"),
    ("ols", "hessian", "2X'X"),
    ("ols", "hessian", r"X^{\top}X + X^{\top}X"),
    ("ols", "solution", "(X^TX)^{-1}X^Ty"),
    ("ols", "solution", "inv(X'X) X'y"),
    ("ols", "solution", "inv(X.T*X)*X.T*y"),
    ("ols", "solution", r"\left(X^\top X\right)^{-1}X^\top y"),
    ("ols", "solution", "(X'X)^{-1}(X'y)"),
    ("ols", "loss", r"(y - X\beta)^T(y - X\beta)"),
    ("ols", "loss", r"\|y - X\beta\|^2"),
    ("ols", "loss", r"\|y - X\beta\|_2^2"),
    ("ols", "loss", "y'y - 2b'X'y + b'X'Xb"),
    ("ols", "loss", r"\sum_{i=1}^{n}\left(y_i - \sum_{j=1}^{d} X_{ij}\beta_j\right)^2"),
    ("ridge", "gradient", r"2X^TX\beta - 2X^Ty + 2\lambda\beta"),
    ("ridge", "gradient", r"-2X^T(y - X\beta) + 2\lambda b"),
    ("ridge", "gradient", r"2(X^TX + \lambda I)\beta - 2X^Ty"),
    ("ridge", "gradient", "2*(X'*X + lambda*eye(d))*b - 2*X'*y"),
    ("ridge", "hessian", r"2(X^TX + \lambda I)"),
    ("ridge", "hessian", r"2X^TX + 2\lambda I_d"),
    ("ridge", "solution", r"(X^TX + \lambda I)^{-1}X^Ty"),
    ("ridge", "solution", "inv(X'X + lambda*eye(d)) X'y"),
    ("ridge", "loss", r"\|y - X\beta\|^2 + \lambda\|\beta\|^2"),
    ("ridge", "loss", r"(y - X\beta)^T(y - X\beta) + \lambda\beta^T\beta"),
]

CORRECT_LOGISTIC = [
    ("logistic", "gradient", r"X^T(\sigma(X\beta) - y)"),
    ("logistic", "gradient", "X'*(sigmoid(X*b) - y)"),
    ("logistic", "gradient", r"-X^T(y - \sigma(Xw))"),
    ("logistic", "gradient", r"X^T\sigma(X\beta) - X^Ty"),
    ("logistic", "gradient", "X'*(1 ./ (1 + exp(-X*b)) - y)"),
    ("logistic", "hessian", r"X^T \operatorname{diag}(\sigma(X\beta) \odot (1 - \sigma(X\beta))) X"),
    ("logistic", "hessian", "X'*diag(sigmoid(X*b) .* (1 - sigmoid(X*b)))*X"),
    ("logistic", "loss", r"-y^T\log\sigma(X\beta) - (1 - y)^T\log(1 - \sigma(X\beta))"),
    ("logistic", "loss", r"\mathbf{1}^T\log(1 + e^{X\beta}) - y^TX\beta"),
    ("logistic", "update", r"\beta - (X^T\operatorname{diag}(\sigma(X\beta)\odot(1-\sigma(X\beta)))X)^{-1}"
                           r"X^T(\sigma(X\beta) - y)"),
]

# (model, quantity, wrong answer, words the diagnosis must contain)
WRONG = [
    ("ols", "gradient", r"2X^Ty - 2X^TX\beta", ["sign is flipped"]),
    ("ols", "gradient", r"X^T(y - X\beta)", ["sign is flipped", "factor of 2"]),
    ("ols", "gradient", r"X^TX\beta - X^Ty", ["a missing 2", "½-scaled loss"]),
    ("ols", "gradient", r"4X^T(X\beta - y)", ["an extra 2"]),
    ("ols", "gradient", r"\frac{2}{n}X^T(X\beta - y)", ["1/n-scaled", "mean"]),
    ("ols", "gradient", r"\frac{1}{n}X^T(X\beta - y)", ["1/(2n)-scaled"]),
    ("ols", "gradient", r"2X^TX\beta", ["missing the term −2Xᵀy"]),
    ("ols", "gradient", r"2X^TX\beta - 2X^Ty + 2\beta", ["an extra term 2β"]),
    ("ols", "gradient", r"2X^TX\beta + 2X^Ty", ["the term", "wrong sign"]),
    ("ols", "gradient", "2X'X", ["the Hessian 2XᵀX", "not the expected gradient"]),
    ("ols", "gradient", r"(y - X\beta)^T(y - X\beta)", ["the loss"]),
    ("ols", "gradient", r"2\beta^TX^TX - 2y^TX", ["transpose", "1×d", "d×1"]),
    ("ols", "gradient", r"2X^TX\beta - 2X^Ty + 0.000001\beta", ["extra term"]),
    ("ols", "hessian", "X^TX", ["a missing 2"]),
    ("ols", "hessian", "2XX^T", ["order", "2XᵀX"]),
    ("ols", "solution", "(X^TX)^{-1}X^T", ["d×n", "d×1"]),
    ("ols", "solution", "2(X^TX)^{-1}X^Ty", ["an extra 2"]),
    ("ols", "loss", "y'y", ["not equivalent"]),
    ("ridge", "gradient", r"2X^TX\beta - 2X^Ty", ["missing the term 2λβ"]),
    ("ridge", "gradient", r"2X^TX\beta - 2X^Ty + \lambda\beta", ["λ where 2λ is meant", "2λβ"]),
    ("ridge", "gradient", r"2X^TX\beta - 2X^Ty - 2\lambda\beta", ["wrong sign"]),
    ("ridge", "hessian", "2X^TX", ["missing the term 2λI"]),
    ("ridge", "solution", "(X^TX)^{-1}X^Ty", ["OLS solution", "penalty"]),
    ("ridge", "loss", r"\|y - X\beta\|^2 + \lambda\|\beta\|^2 + y^Ty", ["extra term yᵀy", "does not depend on β"]),
]

WRONG_LOGISTIC = [
    ("logistic", "gradient", r"X^T(y - \sigma(X\beta))",
     ["sign is flipped", "gradient of the log-likelihood", "negative log-likelihood"]),
    ("logistic", "gradient", r"X^T\sigma(X\beta)", ["missing the term −Xᵀy"]),
    ("logistic", "gradient", r"(\sigma(X\beta) - y)^TX", ["transpose"]),
    ("logistic", "gradient", r"X^T \operatorname{diag}(\sigma(X\beta) \odot (1 - \sigma(X\beta))) X", ["Hessian"]),
    ("logistic", "gradient", r"\frac{1}{n}X^T(\sigma(X\beta) - y)", ["1/n-scaled"]),
    ("logistic", "loss", r"y^T\log\sigma(X\beta) + (1 - y)^T\log(1 - \sigma(X\beta))", ["log-likelihood"]),
    ("logistic", "hessian", r"X^T\operatorname{diag}(\sigma(X\beta))X", ["σ′ = σ(1 − σ)", "1 − σ is missing"]),
    ("logistic", "hessian", r"-X^T \operatorname{diag}(\sigma(X\beta) \odot (1 - \sigma(X\beta))) X",
     ["Hessian of the log-likelihood"]),
]


# the models beyond least squares and logistic regression: one of each verdict
CORRECT_OTHER = [
    ("gaussian", "loss", r"\frac{n}{2}\log(2\pi\sigma^2) + \frac{1}{2\sigma^2}\sum_{i=1}^{n}(x_i - \mu)^2"),
    ("bernoulli", "solution", r"\frac{1}{n}\sum_{i=1}^{n} x_i"),
    ("softmax", "gradient", r"X^T(\operatorname{diag}(\exp(XW)\mathbf{1}_K)^{-1}\exp(XW) - Y)"),
]
WRONG_OTHER = [
    ("gaussian", "loss", r"-\frac{n}{2}\log(2\pi\sigma^2) - \frac{1}{2\sigma^2}\sum_{i=1}^{n}(x_i - \mu)^2",
     ["log-likelihood"]),
    ("bernoulli", "gradient", r"\frac{\sum_{i=1}^n x_i}{p} - \frac{n - \sum_{i=1}^n x_i}{1-p}", ["log-likelihood"]),
]


@pytest.mark.parametrize("model, quantity, answer", CORRECT + CORRECT_LOGISTIC + CORRECT_OTHER)
def test_correct_answers_are_accepted(model, quantity, answer):
    assert_accepted(model, quantity, answer)


@pytest.mark.parametrize("model, quantity, answer, words", WRONG + WRONG_LOGISTIC + WRONG_OTHER)
def test_wrong_answers_are_rejected_with_the_right_diagnosis(model, quantity, answer, words):
    assert_rejected(model, quantity, answer, words)


@pytest.mark.parametrize("factor", ["1.0000001", "1.000000001", "0.99999999"])
def test_a_tiny_factor_is_not_correct(factor):
    result = check("ols", "gradient", rf"{factor}(2X^TX\beta - 2X^Ty)")
    assert not result.correct
    assert "constant factor" in result.diagnosis


def test_the_inverse_of_a_non_square_matrix_is_named():
    for answer in ("X^{-1}y", "inv(X)*y"):
        with pytest.raises(ShapeError, match=r"X \(n×d\) is not square, so X⁻¹ does not exist: did you mean \(XᵀX\)⁻¹\?"):
            check("ols", "solution", answer)


@pytest.mark.parametrize("answer, operands", [
    ("X^TX^Ty", "cannot multiply"),
    (r"2X^TX\beta - 2X^Ty + \sigma(X\beta)", "cannot add"),
    (r"X^Ty(X^TX)^{-1}", "cannot multiply"),
])
def test_dimension_errors_name_the_operands(answer, operands):
    with pytest.raises(ShapeError, match=operands):
        check("ols", "gradient", answer)


def test_bad_requests_raise_one_line_errors():
    with pytest.raises(NotSupported, match="loss, gradient, hessian, solution"):
        check("ols", "update", "X")
    with pytest.raises(NotSupported, match="unknown model"):
        check("no-such-model", "gradient", "X")
    with pytest.raises(ParseError, match="column"):
        check("ols", "gradient", r"2X^T(y - X\beta})")


@pytest.mark.parametrize("answer", [
    "9**9**9**9",
    "ones(1000000000, 1)",
    r"\sum_{i=1}^{100000000} i",
    "(" * 150 + "1" + ")" * 150,
    "x" * 5000,
])
def test_hostile_input_fails_fast(answer):
    with pytest.raises(DeriveError):
        check("ols", "loss", answer)


def test_to_dict_is_the_documented_json():
    result = check("ols", "gradient", r"X^T(y - X\beta)")
    data = json.loads(json.dumps(result.to_dict()))
    assert {"correct", "model", "quantity", "answer", "expected", "diagnosis"} <= set(data)
    assert data["correct"] is False and data["model"] == "ols" and data["quantity"] == "gradient"
    assert "latex" in data["answer"] and "latex" in data["expected"]
    assert data["expected"]["latex"] == r"-2 X^{\top} \left(y - X \beta\right)"
    assert isinstance(data["diagnosis"], str)
    good = check("ols", "gradient", "2X'Xb - 2X'y").to_dict()
    assert good["correct"] is True and good["diagnosis"] is None


def test_text_output_says_the_verdict_and_how():
    text = check("ols", "gradient", r"X^TX\beta - X^Ty").to_text()
    assert text.startswith("wrong: ")
    assert "diagnosis: off by a factor of 2" in text
    assert "checked: numeric at 6 random points" in text
    assert check("ols", "hessian", "2X'X").to_text().startswith("correct: ")


def test_the_method_says_how_it_was_decided():
    assert check("ols", "solution", "inv(X'X) X'y").method.startswith("symbolic")
    numeric = check("ols", "loss", r"\sum_{i=1}^{n}(y_i - \sum_{j=1}^{d} X_{ij}\beta_j)^2").method
    assert numeric.startswith("numeric at 6 random points with random sizes")


def test_random_sizes_change_between_draws():
    context = model_context("ols")
    envs = context.domains.points([context.results["gradient"]])
    assert len({env["n"] for env in envs}) >= 2 and len({env["d"] for env in envs}) >= 2


def test_variants_toggle_transposes_and_reorder_products():
    shapes = {"A": ("n", "n"), "B": ("n", "n"), "x": ("n", 1)}
    expected = parse("A*B*x", shapes)
    made = {unicode(v) for v, *_ in variants(expected)}
    assert {"BAx", "AᵀBx", "ABᵀx"} <= made
    equal, _, diagnosis = compare(parse("B*A*x", shapes), expected, Domains(), reference="the expected result")
    assert not equal and "wrong order" in diagnosis


def test_symmetric_only_answers_are_explained():
    shapes = {"A": ("n", "n"), "x": ("n", 1)}
    equal, _, diagnosis = compare(parse("2*A*x", shapes), parse("(A + A')*x", shapes), Domains(),
                                  reference="the expected result")
    assert not equal and "only when A is symmetric" in diagnosis


def test_diagnosis_works_from_values_alone():
    context = model_context("ols")
    expected = context.results["gradient"]
    envs = context.domains.points([expected])
    values = values_of(expected, envs)
    c = Comparison([-v for v in values], values, envs, expected=expected, reference="the expected gradient")
    assert diagnose(c).startswith("the sign is flipped")
    c = Comparison([v / env["n"] for v, env in zip(values, envs)], values, envs, expected=expected,
                   reference="the expected gradient", quantity="gradient", function="the loss")
    assert diagnose(c).startswith("1/n-scaled")


def test_the_answer_is_returned_as_sympy():
    result = check("ols", "gradient", r"-2X^T(y - X\beta)")
    assert isinstance(result.answer, sp.Basic) and isinstance(result.expected, sp.Basic)
