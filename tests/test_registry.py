"""Every scalar and vector function in the registries works in every part of derive that meets it.

One record per function (derive.expr.functions.REGISTRY); this walks each record through each walker:
the parser (plain and LaTeX), the printers (text, LaTeX, plain text that re-parses), the numeric
evaluator (value, and exactness under a complex step), the code generator used by `fit`, the component
writer, the scalar differentiation rules, the matrix (elementwise) rules, and SymPy's own tools.
A gap in any of them fails here, so a new function is one record and never an edit elsewhere.
References are independent: Python's `math`, mpmath (ψ, ψ′) and central differences, never derive's own output.
"""
from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy as sp

import derive
from derive.core.numeval import evaluate
from derive.expr.functions import REGISTRY, VECTOR_REGISTRY, Elementwise, VectorApplication
from derive.expr.plain import to_plain
from derive.expr.printing import latex, unicode
from derive.fitting.codegen import lambdify
from derive.parse import parse

x = sp.Symbol("x")
n = sp.Symbol("n", integer=True, positive=True)
v = sp.MatrixSymbol("v", n, 1)

# Independent values, written with Python's math module (by the record's name).
REFERENCE = {
    "exp": math.exp, "log": math.log, "sin": math.sin, "cos": math.cos, "tan": math.tan, "sinh": math.sinh,
    "cosh": math.cosh, "tanh": math.tanh, "asin": math.asin, "acos": math.acos, "atan": math.atan,
    "abs": abs, "sign": lambda t: math.copysign(1.0, t), "sigmoid": lambda t: 1 / (1 + math.exp(-t)),
    "softplus": lambda t: math.log1p(math.exp(t)), "relu": lambda t: max(t, 0.0),
    "step": lambda t: 1.0 if t > 0 else 0.0, "Phi": lambda t: (1 + math.erf(t / math.sqrt(2))) / 2,
    "phi": lambda t: math.exp(-t * t / 2) / math.sqrt(2 * math.pi),
    "loggamma": math.lgamma, "digamma": lambda t: float(mpmath.digamma(t)),
    "trigamma": lambda t: float(mpmath.psi(1, t)),
}
POINTS = {"real": (-0.7, 0.4, 1.3), "positive": (0.3, 1.2, 2.5), "unit": (-0.6, 0.2, 0.7)}
RECORDS = pytest.mark.parametrize("record", REGISTRY, ids=[r.name for r in REGISTRY])


def central(f, t, h=1e-6):
    return (f(t + h) - f(t - h)) / (2 * h)


def test_every_record_has_an_independent_reference():
    assert {r.name for r in REGISTRY} == set(REFERENCE)


@RECORDS
def test_parser_reads_every_spelling(record):
    for word in record.words:
        assert parse(f"{word}(x)") == record.sympy(x), word
        if record.latex_command:
            assert parse(f"\\{word}(x)") == record.sympy(x), word
    assert parse(f"{record.name}(v)", {"v": ("n", 1)}) == Elementwise(record.name, v)


@RECORDS
def test_printers_use_the_record_and_plain_text_reparses(record):
    applied, entrywise = record.sympy(x), Elementwise(record.name, v)
    assert parse(to_plain(applied)) == applied
    assert parse(to_plain(entrywise), {"v": ("n", 1)}) == entrywise
    if record.name != "abs":  # |x| for a scalar
        assert unicode(applied).startswith(record.text) and unicode(entrywise).startswith(record.text)
        assert record.latex in latex(entrywise)
        assert record.latex in latex(applied) or record.name == "exp"  # e^{x} for a scalar


@RECORDS
def test_numeric_value_and_complex_step(record):
    f = REFERENCE[record.name]
    for t in POINTS[record.domain]:
        assert evaluate(record.sympy(x), {"x": t}) == pytest.approx(f(t), rel=1e-12, abs=1e-14)
        assert record.fitted(np.array([t]))[0] == pytest.approx(f(t), rel=1e-12, abs=1e-14)
        stepped = record.numpy(np.array([t + 1e-30j]))[0]
        assert stepped.imag / 1e-30 == pytest.approx(central(f, t), rel=1e-6, abs=1e-8)


@RECORDS
def test_generated_code_and_components(record):
    f = REFERENCE[record.name]
    ts = np.array(POINTS[record.domain])
    g = lambdify(Elementwise(record.name, v), [v])
    assert np.allclose(np.ravel(g(ts)), [f(t) for t in ts], rtol=1e-12, atol=1e-14)


@RECORDS
def test_scalar_rule_differentiates_it_and_is_verified(record):
    r = derive.diff(f"{record.name}(x/2 + 0.1)" if record.domain != "positive" else f"{record.name}(x^2 + 1)",
                    wrt="x")
    assert all(s.verified for s in r.steps)
    f = REFERENCE[record.name]
    inner = (lambda t: t / 2 + 0.1) if record.domain != "positive" else (lambda t: t * t + 1)
    result = r.results["derivative"]
    for t in POINTS[record.domain]:
        expected = central(lambda s: f(inner(s)), t)
        got = evaluate(result, {"x": t})
        assert complex(got).real == pytest.approx(expected, rel=1e-6, abs=1e-8), (record.name, t)
    if record.caveat:
        assert any(record.caveat in s.explanation for s in r.steps)


def _entrywise_derivative_exists(record) -> bool:
    """Whether f′ is written with registry functions only (ψ′′s derivative ψ″ = polygamma(2, u) is not)."""
    z = sp.Symbol("z")
    return all(isinstance(f, tuple(r.sympy for r in REGISTRY)) for f in record.derivative(z).atoms(sp.Function))


@RECORDS
def test_elementwise_gradient_is_verified_and_written_in_components(record):
    text = f"sum({record.name}(x .* x + 2))" if record.domain == "positive" else f"sum({record.name}(x/4))"
    if not _entrywise_derivative_exists(record):
        with pytest.raises(derive.NotSupported, match=f"cannot differentiate {record.name} entrywise"):
            derive.diff(text, wrt="x", shapes="x:n")
        return
    r = derive.diff(text, wrt="x", shapes="x:n", form="components", dim=2)
    assert all(s.verified for s in r.steps)
    assert r.form == "components"


@RECORDS
def test_sympy_lambdify_and_pycode_accept_it(record):
    f = REFERENCE[record.name]
    t = POINTS[record.domain][1]
    assert sp.lambdify(x, record.sympy(x), modules=["scipy", "numpy"])(t) == pytest.approx(f(t), rel=1e-12)
    g = sp.lambdify(v, Elementwise(record.name, v), modules=["scipy", "numpy"])
    assert np.allclose(np.ravel(g(np.array([[t], [t / 2]]))), [f(t), f(t / 2)], rtol=1e-12)
    assert sp.pycode(record.sympy(x))


# ---------------------------------------------------------------------------------------------------
# Vector functions (softmax, logsumexp): of a column vector, and of each row of a matrix
# ---------------------------------------------------------------------------------------------------
def _softmax_reference(values, axis):
    from scipy.special import softmax
    return softmax(values, axis=axis)


def _logsumexp_reference(values, axis):
    from scipy.special import logsumexp
    return logsumexp(values, axis=axis, keepdims=True)


# Independent values (scipy.special), and a scalar function of a vector for the differentiation walk,
# written by hand in numpy.
VECTOR_REFERENCE = {"softmax": _softmax_reference, "logsumexp": _logsumexp_reference}
VECTOR_EXAMPLE = {
    "softmax": ("a'*softmax(v)", lambda a, t: np.sum(a * np.exp(t) / np.exp(t).sum())),
    "logsumexp": ("logsumexp(v) + a'*v", lambda a, t: np.log(np.exp(t).sum()) + np.sum(a * t)),
}
VECTOR_RECORDS = pytest.mark.parametrize("record", VECTOR_REGISTRY, ids=[r.name for r in VECTOR_REGISTRY])
V = sp.MatrixSymbol("V", n, 3)
COLUMN = np.array([[-0.7], [0.4], [1.3]])
ROWS = np.array([[-0.7, 0.4, 1.3], [2.0, -1.0, 0.5]])


def test_every_vector_record_has_an_independent_reference():
    assert {r.name for r in VECTOR_REGISTRY} == set(VECTOR_REFERENCE) == set(VECTOR_EXAMPLE)


@VECTOR_RECORDS
def test_parser_reads_a_vector_function_and_refuses_a_scalar(record):
    assert parse(f"{record.name}(v)", {"v": ("n", 1)}) == VectorApplication(record.name, v)
    assert parse(f"\\operatorname{{{record.name}}}(V)", {"V": ("n", 3)}) == VectorApplication(record.name, V)
    with pytest.raises(derive.ParseError, match="function of a vector"):
        parse(f"{record.name}(x)")


@VECTOR_RECORDS
def test_vector_function_printers_and_plain_text_reparses(record):
    applied = VectorApplication(record.name, v)
    assert unicode(applied) == f"{record.name}(v)" and unicode(applied.T) == f"{record.name}(v)ᵀ"
    assert latex(applied) == r"\operatorname{%s}\left(v\right)" % record.name
    assert parse(to_plain(applied), {"v": ("n", 1)}) == applied
    assert VectorApplication(record.name, V).shape == ((n, 1) if record.scalar else (n, 3))


@VECTOR_RECORDS
def test_vector_function_values_are_stable_and_exact_under_a_complex_step(record):
    reference = VECTOR_REFERENCE[record.name]
    for values, symbol, axis in ((COLUMN, v, 0), (ROWS, V, 1)):
        got = evaluate(VectorApplication(record.name, symbol), {symbol.name: values, "n": values.shape[0]})
        assert np.allclose(got, reference(values, axis), rtol=1e-13, atol=0)
        huge = values * 1000  # e^{1300} overflows a float: the max-shifted forms never form it
        assert np.allclose(record.numpy(huge, axis), reference(huge, axis), rtol=1e-13, atol=1e-300)
        direction = np.random.default_rng(1).standard_normal(values.shape)
        stepped = record.numpy(values + 1e-30j * direction, axis).imag / 1e-30
        central_difference = (reference(values + 1e-6 * direction, axis)
                              - reference(values - 1e-6 * direction, axis)) / 2e-6
        assert np.allclose(stepped, central_difference, rtol=1e-6, atol=1e-9)


@VECTOR_RECORDS
def test_vector_function_explicit_value_and_generated_code(record):
    reference = VECTOR_REFERENCE[record.name]
    for values, symbol, axis in ((COLUMN, v, 0), (ROWS, V, 1)):
        explicit = VectorApplication(record.name, sp.ImmutableMatrix(values)).doit()  # DESIGN §3
        assert np.allclose(np.array(explicit.evalf(), dtype=float), reference(values, axis), rtol=1e-12)
        code = lambdify(VectorApplication(record.name, symbol), [symbol])
        assert np.allclose(np.ravel(code(values)), np.ravel(reference(values, axis)), rtol=1e-13)


@VECTOR_RECORDS
def test_vector_function_differential_is_verified_against_finite_differences(record):
    text, f = VECTOR_EXAMPLE[record.name]
    r = derive.diff(text, wrt="v", shapes="v:n, a:n")
    assert all(s.verified for s in r.steps)
    assert any(f"{record.name} rule" in s.rule and record.rule in s.explanation for s in r.steps)
    a = np.array([[0.3], [-1.1], [0.8]])
    gradient = np.array(r.results["gradient"].subs(n, 3).xreplace(
        {sp.MatrixSymbol("v", 3, 1): sp.ImmutableMatrix(COLUMN), sp.MatrixSymbol("a", 3, 1): sp.ImmutableMatrix(a)})
        .doit().evalf(), dtype=float)
    expected = [(f(a, COLUMN + 1e-6 * e) - f(a, COLUMN - 1e-6 * e)) / 2e-6 for e in np.eye(3)[:, :, None]]
    assert np.allclose(gradient.ravel(), expected, rtol=1e-6, atol=1e-8)
