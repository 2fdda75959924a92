"""`derive.diff` (DESIGN §3) and what `derive diff` prints (DESIGN §4): behaviour of the API.

The numerical correctness of many identities is tested in test_matrix_cookbook.py and of the scalar
rules in test_scalar_rules.py; here: the "done when" examples, dispatch, Hessians, Python functions as
input, the JSON, and the requests derive must refuse rather than answer wrongly.
"""
from __future__ import annotations

import importlib
import json
import math

import numpy as np
import pytest
import sympy as sp

import derive
from derive import LimitExceeded, NotSupported, ParseError
from derive.calculus.differentiation import DiffDerivation, diff_json
from derive.cli import main
from derive.core.numeval import evaluate
from derive.core.random_points import spd
from derive.expr.functions import Elementwise, sigmoid
from derive.expr.printing import latex, unicode
from derive.expr.symbols import evaluable
from derive.parse import parse

diff_module = importlib.import_module("derive.calculus.differentiation")

n = sp.Symbol("n", integer=True, positive=True)
d = sp.Symbol("d", integer=True, positive=True)
QUADRATIC = {"x": ("n", 1), "A": ("n", "n")}
LOGISTIC = {"X": ("n", "d"), "beta": ("d", 1), "y": ("n", 1)}
LOGISTIC_LOSS = "ones(n,1)'*log(1 + exp(X*beta)) - y'*X*beta"


# ---------------------------------------------------------------------------------------------------
# The "done when" examples
# ---------------------------------------------------------------------------------------------------
def test_quadratic_form_gives_a_plus_a_transpose_x():
    r = derive.diff("x'*A*x", wrt="x", shapes=QUADRATIC, order=1)
    x, A = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("A", n, n)
    assert isinstance(r, derive.Derivation)
    assert r.result == sp.MatMul(sp.MatAdd(A, A.T), x)
    assert unicode(r.result) == "(A + Aᵀ)x"
    assert latex(r.result) == r"\left(A + A^{\top}\right) x"
    assert r.results == {"gradient": r.result}
    assert all(step.verified for step in r.steps)
    assert any("denominator layout" in note.lower() for note in r.notes)


def test_log_det_gives_the_inverse_transpose():
    r = derive.diff("log(det(S))", wrt="S", shapes={"S": ("n", "n")})
    S = sp.MatrixSymbol("S", n, n)
    assert r.result == sp.Inverse(S).T
    assert unicode(r.result) == "S⁻ᵀ"
    assert latex(r.result) == r"S^{-\top}"
    assert r.domains.samplers["S"] is spd   # the checks drew S symmetric positive definite
    # SymPy's own matrix calculus returns 0 here (DESIGN §1); derive does not
    assert sp.log(sp.Determinant(S)).diff(S) == sp.ZeroMatrix(n, n)


def test_a_scalar_plus_a_trace():
    r = derive.diff("c + tr(A*X)", wrt="X", shapes={"A": ("n", "n"), "X": ("n", "n")})
    assert unicode(r.result) == "Aᵀ"


def test_steps_name_their_rules():
    r = derive.diff("x'*A*x", wrt="x", shapes=QUADRATIC)
    names = [s.rule for s in r.steps]
    assert names[:3] == ["definition", "take the differential", "product rule"]
    assert "read off the gradient" in names
    assert names[-1] == "collect terms"


def test_sympy_input():
    x, A = sp.MatrixSymbol("x", n, 1), sp.MatrixSymbol("A", n, n)
    r = derive.diff(x.T * A * x, wrt="x")
    assert unicode(r.result) == "(A + Aᵀ)x"
    r = derive.diff(x.T * A * x, wrt=x)
    assert unicode(r.result) == "(A + Aᵀ)x"


def test_greek_variable_names():
    for wrt in ("beta", "β", r"\beta"):
        r = derive.diff(LOGISTIC_LOSS, wrt=wrt, shapes=LOGISTIC)
        assert unicode(r.result) == "Xᵀ(σ(Xβ) − y)"


def test_the_expression_and_variables_are_recorded():
    r = derive.diff("sin(x^2)", wrt="x")
    assert isinstance(r, DiffDerivation)
    assert r.expression == sp.sin(sp.Symbol("x") ** 2)
    assert r.wrt == (sp.Symbol("x"),)


# ---------------------------------------------------------------------------------------------------
# Hessians and Jacobians
# ---------------------------------------------------------------------------------------------------
def test_hessian_of_the_quadratic_form():
    r = derive.diff("x'*A*x", wrt="x", shapes=QUADRATIC, order=2)
    assert list(r.results) == ["gradient", "hessian"]
    assert unicode(r.result) == "A + Aᵀ"


def test_logistic_gradient_and_hessian_in_textbook_form():
    r = derive.diff(LOGISTIC_LOSS, wrt="beta", shapes=LOGISTIC, order=2)
    assert unicode(r.results["gradient"]) == "Xᵀ(σ(Xβ) − y)"
    assert unicode(r.results["hessian"]) == "Xᵀdiag(σ(Xβ) ⊙ (𝟏 − σ(Xβ)))X"
    assert "recognise softplus" in [s.rule for s in r.steps]


def test_ols_hessian_is_two_x_transpose_x():
    r = derive.diff("(y - X*beta)'*(y - X*beta)", wrt="beta", shapes=LOGISTIC, order=2)
    assert unicode(r.results["gradient"]) == "−2Xᵀ(y − Xβ)"
    assert unicode(r.results["hessian"]) == "2XᵀX"


def test_hessian_of_a_linear_function_is_zero():
    r = derive.diff("b'*x", wrt="x", shapes={"b": ("n", 1), "x": ("n", 1)}, order=2)
    assert r.results["hessian"] == sp.ZeroMatrix(n, n)


def test_gradient_of_an_absent_variable_is_zero():
    r = derive.diff("b'*b", wrt="x", shapes={"b": ("n", 1), "x": ("n", 1)})
    assert r.result == sp.ZeroMatrix(n, 1)


def test_jacobian_of_a_vector_function():
    r = derive.diff("sigmoid(A*x)", wrt="x", shapes={"A": ("m", "n"), "x": ("n", 1)})
    assert list(r.results) == ["jacobian"]
    assert unicode(r.result) == "diag(σ(Ax) ⊙ (𝟏 − σ(Ax)))A"


def test_scalar_second_derivative():
    r = derive.diff("sin(x^2)", wrt="x", order=2)
    x = sp.Symbol("x")
    assert list(r.results) == ["derivative", "second derivative"]
    assert sp.simplify(r.result - sp.diff(sp.sin(x ** 2), x, 2)) == 0


# ---------------------------------------------------------------------------------------------------
# Python functions as input
# ---------------------------------------------------------------------------------------------------
def squared_error(w, b, x, y):
    return (y - (w * x + b)) ** 2


def test_python_function_input():
    r = derive.diff(squared_error, wrt="w")
    w, b, x, y = sp.symbols("w b x y")
    assert sp.expand(r.result - sp.diff((y - (w * x + b)) ** 2, w)) == 0
    assert r.source_latex.startswith(r"\mathrm{squared\_error}") or "squared" in r.source_latex
    assert any("squared_error(w, b, x, y)" in note for note in r.notes)
    assert all(step.verified for step in r.steps)


def test_python_function_gradient_in_two_parameters():
    r = derive.diff(squared_error, wrt="w, b", order=2)
    w, b, x, y = sp.symbols("w b x y")
    f = (y - (w * x + b)) ** 2
    assert sp.simplify(r.results["hessian"] - sp.hessian(f, (w, b))) == sp.zeros(2, 2)


def gaussian_density(z):
    return math.exp(-z ** 2 / 2) / math.sqrt(2 * math.pi)


def test_python_function_with_math_module():
    r = derive.diff(gaussian_density, wrt="z")
    z = sp.Symbol("z")
    assert sp.simplify(r.result + z * sp.exp(-z ** 2 / 2) / sp.sqrt(2 * sp.pi)) == 0


def logistic_loss(w, X, y):
    return np.sum(np.logaddexp(0, X @ w)) - y.T @ X @ w


def test_python_function_with_numpy_and_shapes():
    r = derive.diff(logistic_loss, wrt="w", shapes={"w": ("d", 1), "X": ("n", "d"), "y": ("n", 1)}, order=2)
    assert unicode(r.results["gradient"]) == "Xᵀ(σ(Xw) − y)"
    assert unicode(r.results["hessian"]) == "Xᵀdiag(σ(Xw) ⊙ (𝟏 − σ(Xw)))X"


def _branches(x):
    if x > 0:
        return x
    return -x


def _loops(x):
    total = 0
    for xi in x:
        total += xi
    return total


def _unknown_numpy(x):
    return np.linalg.norm(x)


@pytest.mark.parametrize("fn, shapes, words", [
    (_branches, None, "branches on its arguments"),
    (_loops, {"x": ("n", 1)}, "loops over x"),
    (_loops, None, "loops over or indexes"),
    (_unknown_numpy, None, "numpy.linalg.norm cannot be traced"),
])
def test_python_functions_derive_cannot_trace(fn, shapes, words):
    with pytest.raises(NotSupported, match=words):
        derive.diff(fn, wrt="x", shapes=shapes)


# ---------------------------------------------------------------------------------------------------
# Requests derive refuses (NotSupported, naming what it cannot do), never answering wrongly
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("expr, wrt, shapes, order, words", [
    ("A*X", "X", {"A": ("n", "n"), "X": ("n", "n")}, 1, "matrix expression"),
    ("sigmoid(A*x)", "x", {"A": ("n", "n"), "x": ("n", 1)}, 2, "third-order tensor"),
    ("x'*x + c", "x, c", {"x": ("n", 1)}, 1, "one vector or matrix at a time"),
    ("x'*x", "n", {"x": ("n", 1)}, 1, "is a dimension"),
    ("sin(x)", "x", None, 3, "order 3"),
])
def test_unsupported_requests(expr, wrt, shapes, order, words):
    with pytest.raises(NotSupported, match=words):
        derive.diff(expr, wrt=wrt, shapes=shapes, order=order)


def test_unsupported_form():
    with pytest.raises(NotSupported, match="forms: matrix, components"):
        derive.diff("x^2", wrt="x", form="index")


def test_bad_text_is_a_parse_error():
    with pytest.raises(ParseError):
        derive.diff("x^2 + ", wrt="x")


def test_work_runs_under_a_time_limit(monkeypatch):
    def forever(x):
        while True:
            pass

    monkeypatch.setattr(diff_module, "DIFF_SECONDS", 0.3)
    with pytest.raises(LimitExceeded, match="took longer than"):
        derive.diff(forever, wrt="x")


# ---------------------------------------------------------------------------------------------------
# Components: the matrix result written out for explicit sizes
# ---------------------------------------------------------------------------------------------------
def test_components_form_matches_sympy_hessian():
    r = derive.diff("log(1 + exp(x'*beta)) - y*x'*beta", wrt="beta", shapes={"x": ("d", 1), "beta": ("d", 1)},
                    order=2, form="components", dim=3)
    b, x = sp.symbols("beta_0:3"), sp.symbols("x_0:3")
    y = sp.Symbol("y")
    eta = sum(bi * xi for bi, xi in zip(b, x))
    f = sp.log(1 + sp.exp(eta)) - y * eta
    assert r.form == "components"
    assert r.results["gradient"].shape == (3, 1) and r.results["hessian"].shape == (3, 3)
    point = {s: v for s, v in zip(b + x + (y,), np.linspace(-0.8, 0.9, 7))}
    expected = np.array(sp.hessian(f, b).subs(point).evalf(), dtype=float)
    got = np.array(r.results["hessian"].rewrite(sp.exp).subs(point).evalf(), dtype=float)
    assert np.allclose(got, expected, rtol=1e-12)
    gradient = np.array(r.results["gradient"].rewrite(sp.exp).subs(point).evalf(), dtype=float)
    assert np.allclose(gradient, np.array([[f.diff(bi).subs(point).evalf()] for bi in b], dtype=float))


def test_components_form_needs_every_size():
    with pytest.raises(NotSupported, match="needs a size for n"):
        derive.diff(LOGISTIC_LOSS, wrt="beta", shapes=LOGISTIC, form="components", dim={"d": 2})


# ---------------------------------------------------------------------------------------------------
# The command line's output (DESIGN §4)
# ---------------------------------------------------------------------------------------------------
def test_diff_json_has_the_design_keys():
    r = derive.diff("x'*A*x", wrt="x", shapes=QUADRATIC)
    out = diff_json(r)
    assert set(out) == {"expression", "read_as", "wrt", "result", "steps"}
    assert out["read_as"] == "xᵀ·A·x"
    assert out["wrt"] == "x"
    assert out["expression"] == {"latex": r"x^{\top} A x", "text": "x'*A*x"}
    assert out["result"]["latex"] == r"\left(A + A^{\top}\right) x"
    assert set(out["steps"][0]) == {"rule", "explanation", "latex", "verified"}
    assert all(s["verified"] for s in out["steps"])
    json.dumps(out)  # serialisable as it is


@pytest.mark.parametrize("text, wrt, shapes, order", [
    ("x'*A*x", "x", QUADRATIC, 1),
    ("log(det(S))", "S", {"S": ("n", "n")}, 1),
    (LOGISTIC_LOSS, "beta", LOGISTIC, 1),
    ("sin(x^2)*exp(-x)", "x", None, 1),
    ("a'*inv(S)*b", "S", {"a": ("n", 1), "b": ("n", 1), "S": ("n", "n")}, 1),
    ("sum(exp(x))", "x", {"x": ("n", 1)}, 2),                     # diag(exp(x)) in the Hessian
    ("log(1 + exp(x'*a))", "x", {"x": ("n", 1), "a": ("n", 1)}, 2),  # diag of a 1×1
    ("x'*diag(x)*x", "x", {"x": ("n", 1)}, 2),
    ("f(x^2)", "x", None, 2),
    ("log(sum(exp(x)))", "x", {"x": ("n", 1)}, 2),                 # diag(softmax(x)) − softmax(x)softmax(x)ᵀ
    ("-y'*log(softmax(z))", "z", {"z": ("n", 1), "y": ("n", 1, "prob")}, 1),
    ("||A*x - b||", "x", {"x": ("n", 1), "A": ("m", "n"), "b": ("m", 1)}, 1),   # a divisor ‖Ax − b‖
    ("tr(X'*A*X)", "X", {"X": ("n", "m"), "A": ("n", "n")}, 2),    # kron(eye(m), A + A')
    ("tr(X^2)", "X", {"X": ("n", "n")}, 2),                        # the commutation matrix
    ("det(X)", "X", {"X": ("n", "n")}, 2),                         # vec(X⁻ᵀ)vec(X⁻ᵀ)ᵀ
    ("sum(exp(A*X))", "X", {"X": ("n", "m"), "A": ("k", "n")}, 2),  # diag(vec(exp(AX)))
])
def test_json_text_parses_back_to_the_result(text, wrt, shapes, order):
    r = derive.diff(text, wrt=wrt, shapes=shapes, order=order)
    out = diff_json(r)
    assert evaluable(parse(out["result"]["text"], shapes)) == r.result  # derive's 𝟏, I, diag: the same values
    assert parse(out["expression"]["text"], shapes) == r.expression


def cli(capsys, *args):
    code = main(["diff", *args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_formats(capsys):
    code, out, _ = cli(capsys, "x'*A*x", "--wrt", "x", "--shapes", "x:n, A:nxn", "--order", "2", "--json")
    assert code == 0 and json.loads(out)["result"]["text"] == "A + A'"
    _, text, _ = cli(capsys, "sin(x^2)", "--wrt", "x")
    assert "chain rule with u = x²" in text and "2·x·cos(x²)" in text
    assert r"\frac{d}{d x}" in cli(capsys, "sin(x^2)", "--wrt", "x", "--format", "latex")[1]
    assert "**chain rule with $u = x^{2}$**" in cli(capsys, "sin(x^2)", "--wrt", "x", "--format", "markdown")[1]
    code, _, err = cli(capsys, "x", "--wrt", "x", "--format", "pdf")
    assert code == 2 and "invalid choice" in err


def test_a_scalar_inside_a_matrix_expression():
    """The Gaussian log-likelihood in σ²: −(n/2)log σ² − ‖y − Xβ‖²/(2σ²), against central differences."""
    shapes = "X:nxd, y:n, b:d"
    r = derive.diff("-(n/2)*log(s2) - ||y - X*b||^2/(2*s2)", wrt="s2", shapes=shapes, order=2)
    assert all(s.verified for s in r.steps)
    rng = np.random.default_rng(3)
    X, y, b = rng.normal(size=(6, 2)), rng.normal(size=(6, 1)), rng.normal(size=(2, 1))
    rss = float(np.sum((y - X @ b) ** 2))
    f = lambda s2: -(6 / 2) * np.log(s2) - rss / (2 * s2)
    env = {"X": X, "y": y, "b": b, "n": 6, "d": 2, "s2": 1.7}
    h = 1e-5
    assert float(np.real(evaluate(r.results["derivative"], env))) == pytest.approx((f(1.7 + h) - f(1.7 - h)) / (2 * h),
                                                                                    rel=1e-6)
    assert float(np.real(evaluate(r.results["second derivative"], env))) == \
        pytest.approx((f(1.7 + h) - 2 * f(1.7) + f(1.7 - h)) / h ** 2, rel=1e-4)
    assert derive.diff("tr(A*X)", wrt="c", shapes="A:nxn, X:nxn").results["derivative"] == 0


def test_cli_echoes_how_it_read_the_input(capsys):
    code, out, _ = cli(capsys, "a x^2 + 2y", "--wrt", "x")
    assert code == 0 and out.splitlines()[0] in ("read as: a·x² + 2·y", "read as: 2·y + a·x²")
    code, out, err = cli(capsys, "sin(x^2)", "--wrt", "x", "--format", "latex")
    assert "read as: sin(x²)" in err and "read as" not in out  # the document stays clean
    code, out, _ = cli(capsys, "f(x^2)", "--wrt", "x", "--json")
    assert json.loads(out)["read_as"] == "f(x²)" and json.loads(out)["result"]["text"] == "2*x*f'(x^2)"
    code, _, err = cli(capsys, "ax^2", "--wrt", "x")
    assert code == 2 and "a·x or one name ax" in err and "Traceback" not in err


def test_wrt_lists_several_scalars_in_json():
    out = diff_json(derive.diff("x*y", wrt="x, y"))
    assert out["wrt"] == "x, y"
    assert parse(out["result"]["text"]) == sp.Matrix([[sp.Symbol("y")], [sp.Symbol("x")]])


def test_elementwise_objects_stay_textbook_notation():
    r = derive.diff("ones(n,1)'*exp(A*x)", wrt="x", shapes={"A": ("n", "n"), "x": ("n", 1)})
    assert isinstance(r.result.args[-1], Elementwise)
    assert not r.result.has(sp.Lambda)
    assert sigmoid(0) == sp.S.Half


def _helper_sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _uses_a_helper(w, x):
    return _helper_sigmoid(w * x)


def test_python_function_calling_a_helper():
    r = derive.diff(_uses_a_helper, wrt="w")
    w, x = sp.symbols("w x")
    assert sp.simplify(r.result - sp.diff(1 / (1 + sp.exp(-w * x)), w)) == 0


def test_context_symbols_are_used():
    from derive.expr.symbols import X, beta, y
    r = derive.diff("(y - X*b)'*(y - X*b)", wrt="b", symbols={"X": X, "y": y, "b": beta})
    assert r.wrt == (beta,)
    assert unicode(r.result) == "−2Xᵀ(y − Xβ)"


def test_undefined_points_are_refused_not_misreported():
    with pytest.raises(NotSupported, match="is not real"):
        derive.diff("sqrt(-x^2 - 1)", wrt="x")


@pytest.mark.parametrize("text, wrt", [
    ("9^{9^{9^{9}}}", "x"),
    ("(" * 5000 + "x" + ")" * 5000, "x"),
    ("x" * 100_000, "x"),
    ("__import__('os').system('touch pwned')", "x"),
    ("x^2", "__import__('os')"),
])
def test_hostile_input_fails_with_a_derive_error(text, wrt, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    code, out, err = cli(capsys, text, "--wrt", wrt, "--order", "2", "--json")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert json.loads(out)["error"]["message"] in err  # with --json, the error is JSON on stdout too
    assert list(tmp_path.iterdir()) == []


def test_a_power_tower_is_checked_where_it_is_finite():
    """x^(x^(x^(x^x))) overflows for x > 1.5: the checks draw x where it is finite, so every step is verified."""
    r = derive.diff("x^(x^(x^(x^x)))", wrt="x")
    assert all(s.verified for s in r.steps)
    f = lambda t: t ** (t ** (t ** (t ** t)))
    h = 1e-6
    assert float(evaluate(r.result, {"x": 0.6})) == pytest.approx((f(0.6 + h) - f(0.6 - h)) / (2 * h), rel=1e-5)


def test_components_of_a_result_free_of_the_variable():
    """The Hessian of xᵀAx holds no x: writing it out must not need a value for x."""
    r = derive.diff("x'*A*x", "x", {"x": ("n", 1), "A": ("n", "n")}, order=2, form="components", dim=2)
    A = r.result.free_symbols
    assert all(step.verified for step in r.steps) and len(A) == 4


@pytest.mark.parametrize("text, wrt, shapes, quantity, expected", [
    ("(y - X*b)'*W*(y - X*b)", "b", "X:nxd, y:n, b:d, W:nxn sym", "gradient", "−2XᵀW(y − Xb)"),
    ("(y - X*b)'*W*(y - X*b)", "b", "X:nxd, y:n, b:d, W:nxn sym", "hessian", "2XᵀWX"),
    ("log(det(S))", "S", "S:nxn pd", "gradient", "S⁻¹"),
    ("tr(inv(S)*A)", "S", "S:nxn pd, A:nxn sym", "gradient", "−S⁻¹AS⁻¹"),
    ("x'*D*x", "x", "x:n, D:nxn diag", "gradient", "2Dx"),
])
def test_assumptions_in_the_shapes_are_used_in_results(text, wrt, shapes, quantity, expected):
    r = derive.diff(text, wrt=wrt, shapes=shapes, order=2 if quantity == "hessian" else 1)
    assert all(s.verified for s in r.steps)
    assert unicode(r.results[quantity]) == expected


def test_declared_matrices_are_drawn_as_declared():
    from derive.parse import parse_shapes
    with pytest.raises(ParseError, match="assumptions are sym, pd, diag"):
        parse_shapes("W:nxn symmetric")
    with pytest.raises(ParseError, match="square matrix"):
        parse(r"W", {"W": ("n", "d", "sym")})
    s2 = parse("s2", parse_shapes("s2:pos"))
    assert s2.is_positive


def test_hessian_with_respect_to_a_matrix_is_in_vec_form():
    r = derive.diff("tr(X'*A*X)", wrt="X", shapes="X:nxm, A:nxn", order=2)
    assert all(s.verified for s in r.steps)
    assert unicode(r.results["hessian"]) == "Iₘ ⊗ (A + Aᵀ)"
    assert latex(r.results["hessian"]) == r"I_{m} \otimes \left(A + A^{\top}\right)"
    assert any("vec(P dX Q) = (Qᵀ ⊗ P) vec(dX)" in s.explanation for s in r.steps)
    assert any("d vec(∂f/∂X) = H d vec(X)" in note for note in r.notes)


# ---------------------------------------------------------------------------------------------------
# Issue #12: norm(v) reads as ‖v‖; diag(x)x collects with x^∘2 (references: central differences of numpy)
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("numpy_spelling, bars", [("norm(x)", "||x||"), ("norm(x)^2", "||x||^2"),
                                                  ("norm(A*x - b)", "||A*x - b||"), ("norm(x - b)^4", "||x - b||^4")])
def test_norm_of_a_vector_reads_as_its_bars(numpy_spelling, bars):
    shapes = {"x": ("n", 1), "b": ("n", 1), "A": ("n", "n")}
    assert parse(numpy_spelling, shapes=shapes) == parse(bars, shapes=shapes)


def test_the_gradient_of_norm_is_central_differences_of_numpy():
    from finite_differences import Case, agrees
    case = Case("norm(v)", "norm(A*x - b)", "x", {"x": ("n",), "A": ("m", "n"), "b": ("m",)},
                lambda v: np.linalg.norm(v["A"] @ v["x"] - v["b"]))
    r = derive.diff(case.text, wrt="x", shapes=case.shapes)
    assert unicode(r.result) == "Aᵀ(Ax − b)/‖Ax − b‖"
    assert agrees(case, r.result, np.random.default_rng(12)) is None


def test_norm_takes_one_argument():
    with pytest.raises(ParseError, match="norm takes one argument"):
        parse("norm(x, 1)", shapes={"x": ("n", 1)})


@pytest.mark.parametrize("order, kind, expected", [(1, "gradient", "3x^∘2"), (2, "hessian", "6diag(x)")])
def test_x_diag_x_x_collects_to_three_x_squared(order, kind, expected):
    # xᵀdiag(x)x = Σᵢ xᵢ³: diag(x)x = x ⊙ x, so 2diag(x)x + x^∘2 = 3x^∘2
    from finite_differences import Case, agrees
    case = Case("#12", "x'diag(x)x", "x", {"x": ("n",)}, lambda v: np.sum(v["x"] ** 3), order=order, kind=kind)
    r = derive.diff(case.text, wrt="x", shapes=case.shapes, order=order)
    assert unicode(r.results[kind]) == expected and all(s.verified for s in r.steps)
    assert agrees(case, r.results[kind], np.random.default_rng(13)) is None


def test_diag_times_a_vector_stays_where_nothing_collects():
    r = derive.diff("a'diag(b)x", wrt="x", shapes={"x": ("n",), "a": ("n",), "b": ("n",)})
    assert unicode(r.result) == "diag(b)a"
