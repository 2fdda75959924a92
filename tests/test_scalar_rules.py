"""Scalar derivatives, step by step (derive.calculus.scalar_rules), against sympy.diff and finite differences.

Two independent references for every result: SymPy's own `diff` (compared symbolically) and central
differences of the same function written with Python's `math` module (compared numerically). The steps
must name the rule a student would name.
"""
from __future__ import annotations

import math

import pytest
import sympy as sp

import derive
from derive import NotSupported
from derive.calculus.scalar_rules import find_rule, leibniz_derivative
from derive.core.steps import Derivation
from derive.expr.functions import sigmoid, softplus

x, y = sp.symbols("x y")


def _sigmoid(t):
    return 1 / (1 + math.exp(-t))


# (text in derive's syntax, the same function in Python, points in its domain)
CASES = [
    ("x^3 + 2x + 1", lambda t: t ** 3 + 2 * t + 1, (-1.3, 0.4, 2.1)),
    ("sin(x^2)", lambda t: math.sin(t * t), (-1.1, 0.3, 1.7)),
    ("sin(exp(x^2))", lambda t: math.sin(math.exp(t * t)), (-0.9, 0.2, 1.1)),
    ("log(1 + exp(-x))", lambda t: math.log(1 + math.exp(-t)), (-2.0, 0.1, 3.0)),
    ("sigmoid(3x + 1)", lambda t: _sigmoid(3 * t + 1), (-1.0, 0.0, 0.8)),
    ("softplus(2x)", lambda t: math.log1p(math.exp(2 * t)), (-1.0, 0.5, 1.5)),
    ("x/(1 + x^2)", lambda t: t / (1 + t * t), (-2.0, 0.5, 3.0)),
    ("sin(x)/x", lambda t: math.sin(t) / t, (-2.0, 0.7, 3.0)),
    ("x*exp(-x)", lambda t: t * math.exp(-t), (-1.0, 0.5, 2.0)),
    ("x^x", lambda t: t ** t, (0.4, 1.0, 2.5)),
    ("tan(x)", math.tan, (-1.0, 0.2, 1.2)),
    ("sqrt(1 + x^2)", lambda t: math.sqrt(1 + t * t), (-2.0, 0.3, 1.5)),
    ("exp(-x^2/2)", lambda t: math.exp(-t * t / 2), (-1.5, 0.2, 1.0)),
    ("log(x)", math.log, (0.3, 1.0, 4.0)),
    ("log(1 - x)", lambda t: math.log(1 - t), (0.2, 0.5, 0.8)),
    ("tanh(x)^2", lambda t: math.tanh(t) ** 2, (-1.0, 0.3, 2.0)),
    ("cos(3x)*sin(x)", lambda t: math.cos(3 * t) * math.sin(t), (-1.0, 0.3, 2.0)),
    ("2^x", lambda t: 2 ** t, (-1.0, 0.5, 3.0)),
    ("(x^2 + 1)^5", lambda t: (t * t + 1) ** 5, (-1.0, 0.3, 1.2)),
    ("1/(1 + exp(-x))", lambda t: 1 / (1 + math.exp(-t)), (-2.0, 0.0, 2.0)),
    ("Phi(2x)", lambda t: (1 + math.erf(2 * t / math.sqrt(2))) / 2, (-1.0, 0.2, 1.4)),
    ("phi(x^2)", lambda t: math.exp(-t ** 4 / 2) / math.sqrt(2 * math.pi), (-1.0, 0.4, 1.1)),
    ("asin(x/2)", lambda t: math.asin(t / 2), (-1.5, 0.1, 1.2)),
    ("atan(x^2)", lambda t: math.atan(t * t), (-1.5, 0.1, 1.2)),
    ("cosh(x)*sinh(x)", lambda t: math.cosh(t) * math.sinh(t), (-1.5, 0.1, 1.2)),
]


@pytest.mark.parametrize("text, f, points", [
    ("relu(x^2 - 1)", lambda t: max(t * t - 1, 0.0), (-2.0, 0.5, 1.7)),
    ("abs(x^3 - 1)", lambda t: abs(t ** 3 - 1), (-1.0, 0.5, 1.7)),
    ("relu(2x)*x", lambda t: max(2 * t, 0.0) * t, (-1.0, 0.5, 1.7)),
])
def test_functions_with_a_kink_are_differentiated_away_from_it_and_say_so(text, f, points):
    r = derive.diff(text, wrt="x")
    assert all(s.verified for s in r.steps)
    assert any("no derivative at u = 0" in s.explanation for s in r.steps)
    for t in points:
        assert value(r.results["derivative"], t) == pytest.approx(central(f, t), rel=1e-6, abs=1e-7)


def central(f, t, h=1e-6):
    return (f(t + h) - f(t - h)) / (2 * h)


def second_central(f, t, h=1e-4):
    return (f(t + h) - 2 * f(t) + f(t - h)) / (h * h)


def value(expr, t):
    return complex(expr.subs(x, t).rewrite(sp.exp).evalf()).real


def same_function(a, b):
    """a = b symbolically (σ and softplus written out)."""
    return sp.simplify((a - b).rewrite(sp.exp)) == 0


@pytest.mark.parametrize("text, f, points", CASES, ids=[c[0] for c in CASES])
def test_derivative_matches_sympy_and_finite_differences(text, f, points):
    r = derive.diff(text, wrt="x")
    assert r.steps and all(s.verified for s in r.steps)
    result = r.results["derivative"]
    assert not result.has(sp.Derivative)
    assert same_function(result, sp.diff(r.expression, x)), (result, sp.diff(r.expression, x))
    for t in points:
        assert value(result, t) == pytest.approx(central(f, t), rel=1e-6, abs=1e-7)


@pytest.mark.parametrize("text, f, points", CASES[:12], ids=[c[0] for c in CASES[:12]])
def test_second_derivative_matches_finite_differences(text, f, points):
    r = derive.diff(text, wrt="x", order=2)
    second = r.results["second derivative"]
    assert same_function(second, sp.diff(r.expression, x, 2))
    for t in points:
        assert value(second, t) == pytest.approx(second_central(f, t), rel=1e-4, abs=1e-4)
    assert r.result == second


# ---------------------------------------------------------------------------------------------------
# The steps name their rules
# ---------------------------------------------------------------------------------------------------
def rules(text, wrt="x"):
    return [s.rule for s in derive.diff(text, wrt=wrt).steps]


def test_chain_rule_names_the_inner_function():
    assert rules("sin(x^2)") == ["chain rule with u = x²", "power rule"]


def test_nested_chain_rules_go_one_level_per_step():
    steps = rules("sin(exp(x^2))")
    assert steps[0] == "chain rule with u = exp(x²)"
    assert steps[1] == "chain rule with u = x²"
    assert steps[2] == "power rule"


def test_quotient_rule():
    assert rules("sin(x)/x")[0] == "quotient rule"


def test_product_rule():
    assert rules("x*exp(-x)")[0] == "product rule"


def test_sum_then_power_and_constant_multiple():
    assert rules("x^3 + 2x + 1")[:2] == ["sum rule", "power rule, constant multiple rule"]


def test_sigmoid_rule_names_sigma_prime():
    r = derive.diff("sigmoid(3x + 1)", wrt="x")
    assert r.steps[0].rule == "chain rule with u = 1 + 3x"
    assert "σ(u)(1 − σ(u))" in r.steps[0].explanation
    assert sp.simplify(r.result - 3 * sigmoid(3 * x + 1) * (1 - sigmoid(3 * x + 1))) == 0


def test_power_rule_states_the_identity():
    step = derive.diff("x^5", wrt="x").steps[0]
    assert step.rule == "power rule"
    assert "d/dx xⁿ = n·xⁿ⁻¹" in step.explanation
    assert derive.diff("x^5", wrt="x").result == 5 * x ** 4


def test_basic_function_rule_is_named_by_its_formula():
    assert rules("sin(x)") == ["d/dx sin(x) = cos(x)"]


def test_x_to_the_x_uses_logarithmic_differentiation():
    r = derive.diff("x^x", wrt="x")
    assert r.steps[0].rule == "logarithmic differentiation"
    assert same_function(r.result, x ** x * (sp.log(x) + 1))


def test_leibniz_lines_hold_open_derivatives_until_the_end():
    D = Derivation("t")
    leibniz_derivative(D, sp.sin(x ** 2), x)
    assert D.steps[0].before == sp.Derivative(sp.sin(x ** 2), x)
    assert D.steps[0].after == sp.cos(x ** 2) * sp.Derivative(x ** 2, x)
    assert D.steps[-1].after == 2 * x * sp.cos(x ** 2)


def test_final_result_is_simplified():
    assert derive.diff("log(1 + exp(-x))", wrt="x").result == -1 / (sp.exp(x) + 1)
    assert derive.diff("x/(1 + x)", wrt="x").result == (x + 1) ** -2


def test_simplification_never_introduces_new_functions():
    r = derive.diff("1/(1 + exp(-w*x))", wrt="w")
    assert not r.result.has(sp.cosh, sp.sinh)


# ---------------------------------------------------------------------------------------------------
# Partial derivatives, gradients, Hessians and Jacobians of scalar functions
# ---------------------------------------------------------------------------------------------------
def test_partial_derivative_holds_the_other_variable_fixed():
    r = derive.diff("x^2*y + sin(x*y)", wrt="x")
    assert sp.simplify(r.result - (2 * x * y + y * sp.cos(x * y))) == 0
    assert r.results.keys() == {"derivative"}


def test_gradient_and_hessian_of_two_variables():
    f = x ** 2 * y + sp.sin(x * y)
    r = derive.diff("x^2*y + sin(x*y)", wrt="x, y", order=2)
    grad, hess = r.results["gradient"], r.results["hessian"]
    assert grad.shape == (2, 1) and hess.shape == (2, 2)
    assert sp.simplify(grad - sp.Matrix([f.diff(x), f.diff(y)])) == sp.zeros(2, 1)
    assert sp.simplify(hess - sp.hessian(f, (x, y))) == sp.zeros(2, 2)
    assert hess == hess.T
    assert r.result == hess


def test_jacobian_of_a_vector_of_functions():
    r = derive.diff("x*y, x + y^2, exp(x)", wrt="x, y")
    assert r.result == sp.Matrix([[y, x], [1, 2 * y], [sp.exp(x), 0]])
    assert r.steps[-1].rule == "stack the partial derivatives"


def test_jacobian_from_sympy_input():
    g = sp.Matrix([sp.sin(x * y), x ** 2])
    r = derive.diff(g, wrt=[x, y])
    assert sp.simplify(r.result - g.jacobian([x, y])) == sp.zeros(2, 2)


def test_derivative_of_a_constant_is_zero():
    assert derive.diff("3*y^2", wrt="x").result == 0
    assert derive.diff("3", wrt="x").result == 0


# ---------------------------------------------------------------------------------------------------
# What the rules do not do
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("expr, words", [
    (sp.Max(x, y), "no differentiation rule"),
    (sp.Piecewise((x, x > 0), (0, True)), "piecewise"),
    (sp.floor(x), "floor"),
])
def test_unsupported_functions_name_the_subexpression(expr, words):
    with pytest.raises(NotSupported, match=words):
        derive.diff(expr, wrt="x")


def test_find_rule_says_which_rule():
    assert type(find_rule(x ** 2, x)).__name__ == "PowerRule"
    assert type(find_rule(sp.sin(x ** 2), x)).__name__ == "ChainRule"
    assert type(find_rule(sp.sin(x) / x, x)).__name__ == "QuotientRule"
    assert type(find_rule(softplus(x), x)).__name__ == "FunctionRule"
    assert type(find_rule(y, x)).__name__ == "ConstantRule"


def test_open_derivatives_evaluate_numerically_by_the_complex_step():
    from derive.core.numeval import evaluate
    value = evaluate(sp.cos(x ** 2) * sp.Derivative(x ** 2, x), {"x": 1.3})
    assert value == pytest.approx(math.cos(1.69) * 2.6, rel=1e-14)
    with pytest.raises(NotSupported):
        evaluate(sp.Derivative(x ** 3, (x, 2)), {"x": 1.0})


def test_rules_are_restated_in_the_variable_at_hand():
    step = derive.diff("y^3", wrt="y").steps[0]
    assert "d/dy yⁿ = n·yⁿ⁻¹" in step.explanation


def test_derivative_of_a_sum_over_observations():
    r = derive.diff(r"\frac{1}{n}\sum_{i=1}^{n}(y_i - b x_i)^2", wrt="b", order=2)
    assert "sum rule" in [s.rule for s in r.steps]
    i = sp.Symbol("i", integer=True)
    n = sp.Symbol("n", integer=True, positive=True)
    xs = sp.IndexedBase("x", shape=(n,))
    assert sp.simplify(r.result - 2 * sp.Sum(xs[i] ** 2, (i, 1, n)) / n) == 0


def test_high_powers_are_checked_where_they_are_representable():
    r = derive.diff("(x + 1)^1000", wrt="x", order=2)
    assert r.result == 999000 * (x + 1) ** 998


@pytest.mark.parametrize("text, expected", [
    ("f(x^2)", "2·x·f′(x²)"),
    ("sin(g(x))", "cos(g(x))·g′(x)"),
    ("h(x)^2", "2·h(x)·h′(x)"),
    ("f'(3x)", "3·f″(3x)"),
])
def test_unknown_functions_are_differentiated_by_the_chain_rule(text, expected):
    """f(x²) is f applied to x², never the product f·x²; each step is checked with a stand-in function."""
    from derive.expr.printing import unicode
    r = derive.diff(text, wrt="x")
    assert all(s.verified for s in r.steps)
    assert unicode(r.results["derivative"]) == expected
    f = sp.Function("f")
    assert sp.simplify(derive.diff("f(x^2)", wrt="x").results["derivative"].doit() - sp.diff(f(x ** 2), x)) == 0
