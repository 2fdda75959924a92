"""A catalogue of student answers, derivations and functions, written from the textbook formulas (not from
derive's output): every correct one accepted in the notation a course uses, every classic mistake named.

Counts (asserted at the end): single answers, derivations (tests/fixtures/derivations/), functions
(tests/fixtures/code/students_*.py).
"""
import json
import subprocess
from pathlib import Path

import pytest
from conftest import require_tool
from verdicts import assert_accepted, assert_rejected

from derive.checking.answers import check
from derive.checking.code import calling_convention, check_code
from derive.checking.derivation_lines import answer_parts, inferred_shapes, read_shapes, student_text
from derive.checking.line_checking import check_steps
from derive.checking.mistakes import MISTAKES
from derive.checking.model_context import model_context
from derive.cli import CHECK_CODE_HELP, main

FIXTURES = Path(__file__).parent / "fixtures"
PROBIT = Path(__file__).parent / "fixtures" / "models" / "probit.toml"   # a model file, as a user writes one

# (model, quantity, answer): correct, in the notations courses use
CORRECT = [
    ("ols", "gradient", r"-2\sum_{i=1}^{n}(y_i - \sum_{j=1}^{d} X_{ij}\beta_j) X_{ik}"),
    ("ols", "gradient", r"-2 \sum_{i=1}^{n} \left({y}_{i} - \sum_{j=1}^{d} {X}_{i,j} {\beta}_{j}\right) {X}_{i,k}"),
    ("ols", "gradient", r"2\sum_i X_{ik}(\sum_j X_{ij}\beta_j - y_i)"),
    ("ols", "hessian", r"2\sum_{i=1}^n X_{ik}X_{il}"),
    ("ols", "gradient", "2 * X.T * (X * b - y)"),
    ("ridge", "gradient", r"2\left(\lambda\beta_k - \sum_{i=1}^n (y_i - \sum_{j=1}^d X_{ij}\beta_j)X_{ik}\right)"),
    ("ridge", "hessian", r"2\left(X^\top X + \lambda I\right)"),
    ("logistic", "gradient", r"\sum_{i=1}^{n} X_{ik}\left(\sigma\left(\sum_{j=1}^{d} X_{ij}\beta_j\right) - y_i\right)"),
    ("logistic", "hessian", r"X^TSX"),
    ("logistic", "hessian", r"X^\top S X"),
    ("logistic", "update", r"\beta - (X^TSX)^{-1}X^T(\sigma(X\beta) - y)"),
    ("poisson", "gradient", r"X^T(e^{X\beta} - y)"),
    ("poisson", "gradient", r"-X^T(y - \exp(X\beta))"),
    ("poisson", "hessian", r"X^T\operatorname{diag}(e^{X\beta})X"),
    ("poisson", "hessian", r"X^TSX"),
    ("poisson", "gradient", r"\sum_{i=1}^n X_{ik}(e^{\sum_j X_{ij}\beta_j} - y_i)"),
    ("softmax", "gradient", r"X^T(\mathrm{softmax}(XW) - Y)"),
    ("softmax", "gradient", r"X^T(P - Y)"),
    ("softmax", "gradient", r"X^\top(\operatorname{softmax}(XW) - Y)"),
    ("gaussian", "solution", r"\frac{1}{n}\sum_{i=1}^n (x_i - \bar x)^2"),
    ("gaussian", "solution", r"\frac{1}{n}\sum_{i=1}^n (x_i - \hat\mu)^2"),
    ("gaussian", "solution", r"\frac{1}{n}\sum_{i=1}^n (x_i - \hat{\mu})^2"),
    ("gaussian", "solution", r"\bar{x}"),
    ("gaussian", "solution", r"\frac{1}{n}\sum_{i=1}^n x_i"),
    ("gaussian", "solution", r"(\bar x, \frac{1}{n}\sum_{i=1}^n (x_i - \bar x)^2)"),
    ("gaussian", "solution", r"[\frac{1}{n}\sum_i x_i; \frac{1}{n}\sum_i (x_i - \bar x)^2]"),
    ("gaussian", "solution", "\\hat\\mu = \\frac{1}{n}\\sum_i x_i\n\\hat\\sigma^2 = \\frac{1}{n}\\sum_i (x_i - \\hat\\mu)^2"),
    ("gaussian", "solution", r"\frac{1}{n}\sum_{i=1}^n x_i^2 - \bar x^2"),
    ("gaussian", "gradient", r"[-\frac{1}{\sigma^2}\sum_i (x_i - \mu); \frac{n}{2\sigma^2} - \frac{1}{2\sigma^4}\sum_i (x_i - \mu)^2]"),
    ("gaussian", "gradient", r"(-\frac{1}{\sigma^2}\sum_i (x_i - \mu), \frac{n}{2\sigma^2} - \frac{\sum_i (x_i - \mu)^2}{2(\sigma^2)^2})"),
    ("gaussian", "gradient", r"\frac{n}{2\sigma^2} - \frac{1}{2\sigma^4}\sum_{i=1}^n (x_i - \mu)^2"),
    ("gaussian", "loss", r"\frac{n}{2}\log(2\pi\sigma^2) + \frac{1}{2\sigma^2}\sum_{i=1}^n (x_i - \mu)^2"),
    ("gaussian", "hessian", r"[\frac{n}{\sigma^2}, \frac{1}{\sigma^4}\sum_i (x_i - \mu); \frac{1}{\sigma^4}\sum_i (x_i - \mu), "
     r"\frac{1}{\sigma^6}\sum_i (x_i-\mu)^2 - \frac{n}{2\sigma^4}]"),
    ("bernoulli", "solution", r"\frac{1}{n}\sum_{i=1}^n x_i"),
    ("bernoulli", "gradient", r"-\frac{\sum_i x_i}{p} + \frac{n - \sum_i x_i}{1 - p}"),
    ("mvn", "solution", r"\frac{1}{n}(X - \mathbf{1}\bar x^T)^T(X - \mathbf{1}\bar x^T)"),
    ("mvn", "solution", r"\frac{1}{n}X^T\mathbf{1}"),
    ("mvn", "solution", r"\bar x"),
    ("mvn", "hessian", r"n\Sigma^{-1}"),
    ("mvn", "gradient", r"-n\Sigma^{-1}(\bar x - \mu)"),
    ("gaussian", "gradient", r"-\frac{n}{\sigma^2}(\bar x - \mu)"),
    ("mvn", "gradient", r"-\Sigma^{-1}(X^T\mathbf{1} - n\mu)"),
]

# (model, quantity, answer, words the diagnosis must contain): the classic mistakes, named
WRONG = [
    ("gaussian", "solution", r"\frac{1}{n-1}\sum_{i=1}^n (x_i - \bar x)^2", ["the MLE divides by n", "unbiased"]),
    ("gaussian", "solution", r"(\bar x, \frac{1}{n-1}\sum_{i=1}^n (x_i - \bar x)^2)", ["σ̂²", "unbiased", "μ̂ is right"]),
    ("mvn", "solution", r"\frac{1}{n-1}(X - \mathbf{1}\bar x^T)^T(X - \mathbf{1}\bar x^T)", ["unbiased"]),
    ("logistic", "hessian", r"X^TX", ["missing its weights", "S = diag"]),
    ("logistic", "hessian", r"X^T\operatorname{diag}(\sigma(X\beta)\odot(1 + \sigma(X\beta)))X", ["σ(1 + σ)"]),
    ("logistic", "hessian", r"X^T\operatorname{diag}(\sigma(X\beta))X", ["1 − σ is missing"]),
    ("poisson", "hessian", r"X^TX", ["missing its weights"]),
    ("ridge", "solution", r"(X^TX + \lambda)^{-1}X^Ty", ["λI", "every entry"]),
    ("ridge", "hessian", r"2(X^TX + \lambda)", ["λI", "every entry"]),
    ("ridge", "gradient", r"-2X^T(y - X\beta) + \lambda\beta", ["λ where 2λ is meant"]),
    ("ridge", "solution", r"(X^TX + 2\lambda I)^{-1}X^Ty", ["2λ where λ is meant"]),
    ("ridge", "gradient", r"-2X^T(y - X\beta) + 4\lambda\beta", ["2λ where λ is meant"]),
    ("gaussian", "gradient", r"[-\frac{1}{\sigma^2}\sum_i (x_i-\mu); \frac{n}{\sigma} - \frac{1}{\sigma^3}\sum_i (x_i-\mu)^2]", ["part 2", "∂/∂σ in place of ∂/∂σ²"]),
    ("gaussian", "gradient", r"\frac{n}{\sigma} - \frac{1}{\sigma^3}\sum_i (x_i-\mu)^2", ["∂/∂σ in place of ∂/∂σ²"]),
    ("softmax", "gradient", r"X^T(\exp(XW) - Y)", ["normaliser"]),
    ("poisson", "gradient", r"X^T(\log(X\beta) - y)", ["log and exp are mixed up"]),
    ("poisson", "gradient", r"X^T(\exp(X\beta) - \log y)", ["log and exp are mixed up"]),
    ("poisson", "gradient", r"X^T(X\beta - y)", ["the exp is missing"]),
    ("ols", "gradient", r"-2X(y - X\beta)", ["Xᵀ is needed", "X is n×d and y − Xβ is n×1"]),
    ("ols", "gradient", r"-2(y - X\beta)X", ["Xᵀ(y − Xβ) is meant"]),
    ("logistic", "gradient", r"X(\sigma(X\beta) - y)", ["Xᵀ is needed"]),
    ("ols", "gradient", r"-2\sum_{i=1}^{n}(y_i - \sum_{j=1}^{d} X_{ij}\beta_j)", ["1×1 (a scalar)", "d×1"]),
    ("logistic", "gradient", r"\sum_{i=1}^{n} X_{ik}\left(y_i - \sigma\left(\sum_{j=1}^{d} X_{ij}\beta_j\right)\right)", ["sign is flipped"]),
    ("gaussian", "solution", r"\frac{1}{n}\sum_{i=1}^n (x_i - \mu)^2", ["uses μ, the unknown parameter", "μ̂"]),
    ("bernoulli", "solution", r"\frac{1}{n-1}\sum_{i=1}^n x_i", ["unbiased"]),
    ("gaussian", "hessian", r"[\frac{n}{\sigma^2}, \frac{1}{\sigma^4}\sum_i (x_i - \mu); \frac{1}{\sigma^4}\sum_i (x_i - \mu), "
     r"\frac{1}{\sigma^6}\sum_i (x_i-\mu)^2 + \frac{n}{2\sigma^4}]", ["entry (2, 2)", "the others are right", "wrong sign"]),
    ("gaussian", "hessian", r"[\frac{n}{\sigma^2}, 0; 0, \frac{1}{\sigma^6}\sum_i (x_i-\mu)^2 - \frac{n}{2\sigma^4}]",
     ["entries (1, 2) and (2, 1)", "zero"]),
    ("mvn", "gradient", r"\Sigma^{-1}(X^T\mathbf{1} - n\mu)", ["sign is flipped"]),
    ("softmax", "gradient", r"X^T(Y - P)", ["sign is flipped"]),
    ("logistic", "update", r"\beta - (X^TX)^{-1}X^T(\sigma(X\beta) - y)", ["weights"]),
    ("ridge", "loss", r"\|y - X\beta\|^2 + \lambda\|\beta\|", ["not"]),
    ("ols", "hessian", r"2XX^T", ["order"]),
    ("ols", "gradient", r"2X^TX\beta - 2y^TX", ["a transpose is missing", "2Xᵀy is probably meant"]),
    (str(PROBIT), "gradient", r"X^T(\Phi(X\beta) - y)", ["weights", "canonical link"]),
]
# (file, options, first wrong line or None, words its reason must contain)
DERIVATIONS = [
    ("ols_so_hence.txt", {"model": "ols"}, None, ""),
    ("ols_markdown_prose.md", {"model": "ols"}, None, ""),
    ("ols_align_remarks.tex", {"model": "ols"}, None, ""),
    ("ols_dropped_term.tex", {"model": "ols"}, 3, "missing the term βᵀXᵀXβ"),
    ("ols_sign_slip.txt", {"model": "ols"}, 2, "wrong sign"),
    ("ols_gram_slip.txt", {"model": "ols"}, 4, "XᵀX (d×d) is probably meant"),
    ("ols_forgot_transpose.txt", {"model": "ols"}, 2, "Xᵀ is needed"),
    ("inferred_xxt_slip.txt", {}, 2, "cannot multiply"),
    ("ridge_correct.tex", {"model": "ridge"}, None, ""),
    ("ridge_half_penalty.txt", {"model": "ridge"}, 2, "λ where 2λ is meant"),
    ("logistic_correct.txt", {"model": "logistic"}, None, ""),
    ("logistic_unweighted_hessian.txt", {"model": "logistic"}, 3, "missing its weights"),
    ("logistic_sigma_plus.txt", {"model": "logistic"}, 3, "σ(1 + σ)"),
    ("poisson_log_for_exp.txt", {"model": "poisson"}, 3, "log and exp are mixed up"),
    ("gaussian_sigma2.tex", {"model": "gaussian"}, None, ""),
    ("gaussian_unbiased.tex", {"model": "gaussian"}, 4, "unbiased"),
    ("gaussian_mu.md", {"model": "gaussian"}, None, ""),
    ("logdet.txt", {"shapes": "S:dxd"}, None, ""),
    ("quadratic_form_correct.txt", {}, None, ""),
    ("quadratic_form_unsymmetric.txt", {"shapes": "x:n, A:nxn"}, 2, "symmetric"),
    ("ols_text_connectives.txt", {"model": "ols"}, None, ""),
    ("gaussian_mean_xbar.txt", {"model": "gaussian"}, None, ""),
    ("logistic_named_weights.txt", {"model": "logistic"}, None, ""),
    ("quadratic_plus_linear_row.txt", {"shapes": "x:n, A:nxn, b:n"}, 2, "the column b is probably meant"),
    ("trace_missing_transpose.txt", {"shapes": "X:nxn, A:nxn"}, 2, "a transpose is missing or misplaced"),
    ("wls_missing_weights.txt", {"shapes": "X:nxd, y:n, W:nxn sym, b:d"}, 2, "W is missing"),
    ("wls_forgot_transpose.txt", {"shapes": "X:nxd, y:n, W:nxn sym, b:d"}, 2, "Xᵀ is needed: X is n×d and W is n×n"),
]

# (model, quantity, function in tests/fixtures/code/students_*.py, correct, words of the diagnosis or note)
FUNCTIONS = [
    ("ols", "gradient", "linear:ols_gradient_dot", True, "(n, 1) column"),
    ("ols", "gradient", "linear:ols_gradient_sum", True, ""),
    ("ols", "gradient", "linear:ols_gradient_no_two", False, "a missing 2"),
    ("ols", "gradient", "linear:ols_gradient_flipped", False, "sign is flipped"),
    ("ols", "gradient", "linear:ols_gradient_column_y", True, "y = np.ravel(y)"),
    ("ols", "loss", "linear:ols_loss_sum", True, ""),
    ("ols", "solution", "linear:ols_solution_solve", True, ""),
    ("ridge", "gradient", "linear:ridge_gradient_half_penalty", False, "λ where 2λ is meant"),
    ("ridge", "solution", "linear:ridge_solution_double_lambda", False, "2λ where λ is meant"),
    ("ridge", "solution", "linear:ridge_solution", True, ""),
    ("logistic", "gradient", "glm:logistic_gradient_expit", True, ""),
    ("logistic", "gradient", "glm:logistic_gradient_overflowing", False, "|Xβ| up to 800"),
    ("logistic", "hessian", "glm:logistic_hessian_unweighted", False, "missing its weights"),
    ("logistic", "hessian", "glm:logistic_hessian_plus", False, "σ(1 + σ)"),
    ("logistic", "hessian", "glm:logistic_hessian_weighted", True, ""),
    ("logistic", "loss", "glm:logistic_loss_logaddexp", True, ""),
    ("poisson", "gradient", "glm:poisson_gradient", True, ""),
    ("poisson", "gradient", "glm:poisson_gradient_no_exp", False, "the exp is missing"),
    ("softmax", "gradient", "glm:softmax_gradient_stable", True, ""),
    ("softmax", "gradient", "glm:softmax_gradient_unnormalised", False, "normaliser"),
    ("gaussian", "solution", "likelihood:gaussian_mle", True, ""),
    ("gaussian", "solution", "likelihood:gaussian_variance", True, ""),
    ("gaussian", "solution", "likelihood:gaussian_variance_unbiased", False, "unbiased"),
    ("gaussian", "gradient", "likelihood:gaussian_gradient_sigma", False, "∂/∂σ in place of ∂/∂σ²"),
    ("mvn", "solution", "likelihood:mvn_mle", True, ""),
    ("mvn", "solution", "likelihood:mvn_covariance", True, ""),
    ("mvn", "solution", "likelihood:mvn_covariance_unbiased", False, "unbiased"),
    ("mvn", "gradient", "likelihood:mvn_gradient", True, ""),
    ("mvn", "gradient", "likelihood:mvn_gradient_sign", False, "part 2, ∂ℓ/∂Σ, is wrong"),
]


@pytest.mark.parametrize("model, quantity, answer", CORRECT)
def test_correct_answers_in_course_notation_are_accepted(model, quantity, answer):
    assert_accepted(model, quantity, answer)


@pytest.mark.parametrize("model, quantity, answer, words", WRONG)
def test_classic_mistakes_are_named(model, quantity, answer, words):
    assert_rejected(model, quantity, answer, words)


@pytest.mark.parametrize("name, options, first_error, words", DERIVATIONS)
def test_derivations_as_students_write_them(name, options, first_error, words):
    result = check_steps((FIXTURES / "derivations" / name).read_text(), **options)
    assert result.first_error == first_error, result.to_text()
    if first_error is not None:
        reason = next(line.reason for line in result.lines if line.line == first_error)
        assert words in reason, reason


@pytest.mark.parametrize("model, quantity, function, correct, words", FUNCTIONS)
def test_functions_as_students_write_them(model, quantity, function, correct, words):
    module, name = function.split(":")
    result = check_code(model, quantity, f"{FIXTURES / 'code' / f'students_{module}.py'}:{name}")
    assert result.correct is correct, result.to_text()
    assert words in (result.diagnosis or result.note or ""), result.to_text()


def test_the_catalogue_counts():
    models = {model for model, *_ in CORRECT + WRONG}
    assert len(CORRECT) + len(WRONG) >= 60 and models >= {"ols", "ridge", "logistic", "poisson", "softmax",
                                                          "gaussian", "bernoulli", "mvn"}
    assert len(DERIVATIONS) >= 20 and len(FUNCTIONS) >= 20


# ---------------------------------------------------------------------------------------------------
# The mistake catalogue: every line of it is exercised by a wrong answer above
# ---------------------------------------------------------------------------------------------------
def test_every_mistake_in_the_catalogue_is_named_by_some_wrong_answer():
    named = " ".join(check(model, quantity, answer).diagnosis for model, quantity, answer, _ in WRONG)
    for mistake in MISTAKES:
        opening = mistake.message.split(":")[0].split("{")[0].strip()
        assert opening in named, f"no wrong answer shows the mistake {mistake.message!r}"


def test_messages_print_the_users_notation_not_sympys():
    result = check("ols", "gradient", r"-2X(y - X\beta)")
    assert "y − Xβ" in result.diagnosis and "-X*beta" not in result.diagnosis


# ---------------------------------------------------------------------------------------------------
# The result objects
# ---------------------------------------------------------------------------------------------------
def test_a_wrong_result_is_falsy_and_shows_how_the_answer_was_read():
    wrong = check("logistic", "hessian", "X^TX")
    assert not wrong and bool(check("logistic", "hessian", "X^TSX"))
    text = check("logistic", "hessian", "X^TSX").to_text()
    assert "read as: XᵀSX, with S = diag(σ(Xβ) ⊙ (𝟏 − σ(Xβ)))" in text
    data = json.loads(json.dumps(wrong.to_dict()))
    assert data["answer"]["read_as"] == "XᵀX" and data["correct"] is False


def test_hat_mu_is_kept_as_the_estimate_and_echoed():
    result = check("gaussian", "solution", r"\frac{1}{n}\sum_{i=1}^n (x_i - \hat\mu)^2")
    assert result and result.part == "σ̂²"
    assert "μ̂" in result.read_as and "with μ̂ = " in result.read_as


def test_jupyter_shows_the_verdict_with_expected_and_given_side_by_side():
    html = check("ols", "gradient", r"X^T(y - X\beta)")._repr_html_()
    assert "wrong" in html and "<th>expected</th><th>given</th>" in html
    assert r"-2 X^{\top} \left(y - X \beta\right)" in html and "sign is flipped" in html


def test_a_sympy_expression_is_accepted_as_the_answer():
    context = model_context("ols")
    X, beta, y = (context.symbols[name] for name in ("X", "beta", "y"))
    assert check("ols", "gradient", -2 * X.T * (y - X * beta))
    assert not check("ols", "gradient", X.T * (y - X * beta))
    with pytest.raises(Exception, match="cannot check a float"):
        check("ols", "gradient", 2.0)


def test_the_mistake_exit_codes_on_the_command_line(capsys):
    assert main(["check", "poisson", "gradient", r"X^T(\log(X\beta) - y)"]) == 1
    assert "log and exp are mixed up" in capsys.readouterr().out
    assert main(["check", "ols", "gradient", r"-2X(y - X\beta)", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["diagnosis"].startswith("Xᵀ is needed")


def test_check_steps_warns_when_names_are_taken_as_scalars():
    result = check_steps("f = A^T x\n= x^T A\n")
    assert result.warnings and "taken as scalars" in result.warnings[0]
    assert result.to_dict()["warnings"] == result.warnings


def test_check_steps_reads_pd_from_shapes_and_samples_under_det_positive_definite():
    text = "f(S) = log(det(S))\n\\nabla_S f = S^{-1}\n"
    assert check_steps(text, shapes="S:dxd pd").valid
    assert check_steps("f(S) = log(det(S))\n\\nabla_S f = S^{-T}\n", shapes="S:dxd, Sigma:dxd").valid


# ---------------------------------------------------------------------------------------------------
# check-code: the calling convention everywhere, valid LaTeX of the function
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("model", ["ols", "ridge", "logistic", "poisson", "softmax", "gaussian", "bernoulli", "mvn"])
def test_help_states_each_models_calling_convention(model):
    assert calling_convention(model) in CHECK_CODE_HELP


def test_arguments_in_another_order_get_the_convention():
    target = f"{FIXTURES / 'code' / 'students_linear.py'}:ols_gradient_data_first"
    with pytest.raises(Exception) as error:
        check_code("ols", "gradient", target)
    assert "takes its arguments as (X, y, beta)" in str(error.value)
    assert "derive calls ols_gradient_data_first(beta, X, y)" in str(error.value)
    assert "matmul" not in str(error.value)


def test_the_functions_latex_keeps_sum_receivers_and_transposes_and_katex_reads_it():
    result = check_code("ols", "loss", f"{FIXTURES / 'code' / 'students_linear.py'}:ols_loss_sum")
    assert r"\sum \mathopen{}\left( \mathopen{}\left( y - X \beta \mathclose{}\right)^{2} \mathclose{}\right)" \
        in result.function_latex
    gradient = check_code("ols", "gradient", f"{FIXTURES / 'code' / 'students_linear.py'}:ols_gradient_dot")
    assert "X^{\\top}" in gradient.function_latex and "X.T" not in gradient.function_latex
    node = require_tool("node")
    npm = require_tool("npm")
    root = subprocess.run([npm, "root", "-g"], capture_output=True, text=True).stdout.strip()
    script = "const k = require('katex'); for (const t of JSON.parse(process.argv[1])) k.renderToString(t, " \
             "{throwOnError: true, displayMode: true});"
    latex = [result.function_latex, gradient.function_latex]
    subprocess.run([node, "-e", script, json.dumps(latex)], check=True, env={"NODE_PATH": root, "PATH": "/usr/bin:/bin"})


def test_a_pair_returned_as_a_tuple_or_one_part():
    pair = check_code("mvn", "solution", f"{FIXTURES / 'code' / 'students_likelihood.py'}:mvn_mle")
    one = check_code("mvn", "solution", f"{FIXTURES / 'code' / 'students_likelihood.py'}:mvn_covariance")
    assert pair.correct and pair.part is None and one.correct and one.part == "Σ̂"


# ---------------------------------------------------------------------------------------------------
# Student notation, before parsing
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, parts", [
    (r"(\bar x, \frac{1}{n}\sum_i (x_i - \bar x)^2)", [r"\bar x", r" \frac{1}{n}\sum_i (x_i - \bar x)^2"]),
    (r"[a; b]", ["a", " b"]),
    ("\\hat\\mu = a\n\\hat\\sigma^2 = b", [" a", " b"]),
    (r"\frac{1}{n}\sum_{i=1}^{n} x_i", [r"\frac{1}{n}\sum_{i=1}^{n} x_i"]),
    (r"(X^TX)^{-1}X^Ty", [r"(X^TX)^{-1}X^Ty"]),
    (r"inv(X'X + lambda*eye(d)) X'y", [r"inv(X'X + lambda*eye(d)) X'y"]),
])
def test_a_pair_is_split_as_people_write_it(text, parts):
    assert answer_parts(text) == parts


def test_student_text_keeps_hats_that_name_estimates_and_spells_out_softmax():
    assert student_text(r"(x_i - \hat{\mu})^2", {"muhat"}).split() == ["(x_i", "-", "muhat", ")^2"]
    assert student_text(r"\hat\beta", {"muhat"}) == r"\hat\beta"
    assert student_text(r"\mathrm{softmax}(XW)", set()) == r"(diag(exp(XW)\mathbf{1})^{-1}exp(XW))"


def test_shapes_with_assumptions_and_shapes_read_off_a_derivation():
    shapes, samplers = read_shapes("S:dxd pd, x:n, s2:pos")
    assert shapes == {"S": ("d", "d"), "x": ("n", 1)} and set(samplers) == {"S", "s2"}
    assert inferred_shapes(r"(y - X\beta)^T(y - X\beta)")[0] == {"X": ("n", "d"), "y": ("n", 1), "beta": ("d", 1)}
    assert inferred_shapes("x^TAx")[0] == {"x": ("n", 1), "A": ("n", "n")}
    assert inferred_shapes("a b^T")[0] is None and "b is transposed" in inferred_shapes("a b^T")[1]
