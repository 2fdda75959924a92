r"""The input grammar: what each way of writing means, checked against independent numpy references.

Every accepted spelling (LaTeX and plain, DESIGN §5) is parsed, evaluated with `derive.core.numeval` at random
values, and compared with the same quantity computed directly in numpy: a parse that builds the wrong
expression fails here even when it builds *an* expression.  Structure is checked where it is part of the
contract (names, Indexed, Elementwise, exact rationals), and errors by their messages.
"""
import re

import numpy as np
import pytest
import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf

from derive.core.numeval import evaluate, indexed_key, padded
from derive.errors import DeriveError, NotSupported, ParseError, ShapeError
from derive.expr import symbols as std
from derive.expr.functions import Elementwise, Phi, phi, relu, sigmoid, softplus
from derive.expr.plain import to_plain
from derive.parse import Label, parse, parse_equation, parse_shapes

N, D, M = 5, 3, 2
VECTORS = {"X": ("n", "d"), "y": ("n", 1), "beta": ("d", 1), "x": ("n", 1), "a": ("n", 1), "b": ("n", 1),
           "v": ("n", 1), "A": ("n", "n"), "S": ("n", "n"), "B": ("m", "n"), "eta": ("n", 1)}
SCALARS = {}
INDEXED = {"y": ("n", 1), "x": ("n", 1), "X": ("n", "d"), "beta": ("d", 1), "eta": ("n", 1)}
MODEL = {"X": std.X, "y": std.y, "beta": std.beta, "b": std.beta, "w": std.beta, "theta": std.beta,
         "lambda": std.lam}


class Values(dict):
    """The random values of one test, read as attributes (``e.X``) or items (``e["lambda"]``)."""
    __getattr__ = dict.__getitem__


def sig(z):
    return 1 / (1 + np.exp(-z))


def values(shapes, seed=0) -> Values:
    """Random values for every name a test may use; declared names get arrays of their shapes."""
    rng = np.random.default_rng(seed)
    sizes = {"n": N, "d": D, "m": M, 1: 1}
    env = Values(n=N, d=D, m=M)
    for name in ["x", "y", "z", "t", "c", "p", "mu", "sigma", "lambda", "alpha", "beta", "beta_0", "beta_1",
                 "x1", "x2", "income", "log_income", "S", "a", "b"]:
        env[name] = float(rng.uniform(0.2, 0.9))
    for name, shape in shapes.items():
        rows, cols = (sizes[s] for s in shape)
        env[name] = rng.normal(size=(rows, cols))
        env[indexed_key(name)] = padded(env[name], 1 if cols == 1 else 2)  # what numeval reads for x_i
    if "S" in shapes:  # symmetric positive definite, for log det S and inverses
        g = rng.normal(size=(N, N))
        env["S"] = g @ g.T + N * np.eye(N)
    if "y" in shapes and shapes is INDEXED:
        env["y"] = rng.integers(0, 2, size=(N, 1)).astype(float)
        env[indexed_key("y")] = padded(env["y"], 1)
    return env


# (text, shapes, reference computed with numpy from the same values)
CASES = [
    # DESIGN §5, LaTeX
    (r"-2X^T(y - X\beta)", VECTORS, lambda e: -2 * e.X.T @ (e.y - e.X @ e.beta)),
    (r"2X^{\top}X\hat{\beta}", VECTORS, lambda e: 2 * e.X.T @ e.X @ e.beta),
    (r"(X^TX)^{-1}X^Ty", VECTORS, lambda e: np.linalg.inv(e.X.T @ e.X) @ e.X.T @ e.y),
    (r"\mathbf{X}^\intercal", VECTORS, lambda e: e.X.T),
    (r"\sigma(z)(1-\sigma(z))", SCALARS, lambda e: sig(e.z) * (1 - sig(e.z))),
    (r"\frac{1}{n}\sum_{i=1}^{n}(y_i - \beta x_i)^2", {"y": ("n", 1), "x": ("n", 1)},
     lambda e: np.mean((e.y - e["beta"] * e.x) ** 2)),
    (r"\log(1+e^{-z})", SCALARS, lambda e: np.log(1 + np.exp(-e.z))),
    (r"\operatorname{tr}(AS)", VECTORS, lambda e: np.trace(e.A @ e.S)),
    # DESIGN §5, plain
    ("-2*X.T*(y - X*beta)", VECTORS, lambda e: -2 * e.X.T @ (e.y - e.X @ e.beta)),
    ("-2 X' (y - X beta)", VECTORS, lambda e: -2 * e.X.T @ (e.y - e.X @ e.beta)),
    ("inv(X'X) X'y", VECTORS, lambda e: np.linalg.inv(e.X.T @ e.X) @ e.X.T @ e.y),
    ("x'*A*x", VECTORS, lambda e: e.x.T @ e.A @ e.x),
    ("tr(A*S)", VECTORS, lambda e: np.trace(e.A @ e.S)),
    ("log(det(S))", VECTORS, lambda e: np.log(np.linalg.det(e.S))),
    # transposes and inverses
    (r"X^{T}y", VECTORS, lambda e: e.X.T @ e.y),
    (r"X^\top y", VECTORS, lambda e: e.X.T @ e.y),
    (r"X^{\top} y", VECTORS, lambda e: e.X.T @ e.y),
    (r"X^{\intercal}y", VECTORS, lambda e: e.X.T @ e.y),
    (r"X^\mathsf{T}y", VECTORS, lambda e: e.X.T @ e.y),
    ("X.T y", VECTORS, lambda e: e.X.T @ e.y),
    ("Xᵀy", VECTORS, lambda e: e.X.T @ e.y),
    ("(y - X beta)'(y - X beta)", VECTORS, lambda e: (e.y - e.X @ e.beta).T @ (e.y - e.X @ e.beta)),
    (r"x^TAx", VECTORS, lambda e: e.x.T @ e.A @ e.x),
    (r"\left(X^TX\right)^{-1}", VECTORS, lambda e: np.linalg.inv(e.X.T @ e.X)),
    ("S^{-1}", VECTORS, lambda e: np.linalg.inv(e.S)),
    ("inv(S)", VECTORS, lambda e: np.linalg.inv(e.S)),
    ("S⁻¹", VECTORS, lambda e: np.linalg.inv(e.S)),
    (r"S^{-T}", VECTORS, lambda e: np.linalg.inv(e.S).T),
    ("S^2", VECTORS, lambda e: e.S @ e.S),
    ("A''", VECTORS, lambda e: e.A),
    # matrix functions
    (r"\log\det S", VECTORS, lambda e: np.log(np.linalg.det(e.S))),
    (r"\log|S|", VECTORS, lambda e: np.log(np.linalg.det(e.S))),
    (r"\det(S)", VECTORS, lambda e: np.linalg.det(e.S)),
    ("logdet(S)", VECTORS, lambda e: np.log(np.linalg.det(e.S))),
    (r"\operatorname{tr}(S^{-1}A)", VECTORS, lambda e: np.trace(np.linalg.inv(e.S) @ e.A)),
    ("trace(A)", VECTORS, lambda e: np.trace(e.A)),
    ("diag(v)", VECTORS, lambda e: np.diag(e.v.ravel())),
    (r"\operatorname{diag}(v) x", VECTORS, lambda e: np.diag(e.v.ravel()) @ e.x),
    ("diag(S)", VECTORS, lambda e: np.diag(e.S).reshape(-1, 1)),
    ("I_n + A", VECTORS, lambda e: np.eye(N) + e.A),
    ("eye(n) - A", VECTORS, lambda e: np.eye(N) - e.A),
    ("ones(n, 1)'x", VECTORS, lambda e: np.sum(e.x)),
    (r"\mathbf{1}^T x", VECTORS, lambda e: np.sum(e.x)),
    ("zeros(n,1) + x", VECTORS, lambda e: e.x),
    # the ones vector: a 1 transposed, bold or given a size, sized by what it meets
    ("1^T x", VECTORS, lambda e: np.sum(e.x)),
    ("1'x", VECTORS, lambda e: np.sum(e.x)),
    ("1ᵀ x + 1.T x", VECTORS, lambda e: 2 * np.sum(e.x)),
    (r"\mathbf{1}^\top x", VECTORS, lambda e: np.sum(e.x)),
    (r"\bm{1}^T A", VECTORS, lambda e: np.sum(e.A, axis=0)),
    (r"A\boldsymbol{1}", VECTORS, lambda e: np.sum(e.A, axis=1)),
    ("x^T 1", VECTORS, lambda e: e.x.T),  # a plain 1 stays a number
    ("1_n' x + x' 1_n", VECTORS, lambda e: 2 * np.sum(e.x)),
    ("1^T log(1 + exp(X beta)) - y^T X beta", VECTORS,
     lambda e: np.sum(np.log(1 + np.exp(e.X @ e.beta))) - e.y.T @ e.X @ e.beta),
    ("1' (1 - y)", VECTORS, lambda e: np.sum(1 - e.y)),
    # sums of entries
    ("sum(x)", VECTORS, lambda e: np.sum(e.x)),
    ("sum(x')", VECTORS, lambda e: np.sum(e.x)),
    (r"\sum a \odot b", VECTORS, lambda e: np.sum(e.a * e.b)),
    ("sum(X)", VECTORS, lambda e: np.sum(e.X)),
    ("sum((y - X beta).^2)", VECTORS, lambda e: np.sum((e.y - e.X @ e.beta) ** 2)),
    # entrywise
    (r"a \odot b", VECTORS, lambda e: e.a * e.b),
    ("a .* b", VECTORS, lambda e: e.a * e.b),
    (r"a \circ b + x", VECTORS, lambda e: e.a * e.b + e.x),
    ("a ./ b", VECTORS, lambda e: e.a / e.b),
    ("a.^2", VECTORS, lambda e: e.a ** 2),
    ("exp(a)", VECTORS, lambda e: np.exp(e.a)),
    (r"e^{X\beta}", VECTORS, lambda e: np.exp(e.X @ e.beta)),
    (r"\tanh(a) + \sin(b)", VECTORS, lambda e: np.tanh(e.a) + np.sin(e.b)),
    # norms and absolute values
    (r"\|x\|^2", VECTORS, lambda e: e.x.T @ e.x),
    (r"\|Ax-b\|_2^2", VECTORS, lambda e: np.sum((e.A @ e.x - e.b) ** 2)),
    ("||A*x - b||^2", VECTORS, lambda e: np.sum((e.A @ e.x - e.b) ** 2)),
    (r"\left\| y - X\beta \right\|^2", VECTORS, lambda e: np.sum((e.y - e.X @ e.beta) ** 2)),
    (r"\lVert x \rVert", VECTORS, lambda e: np.linalg.norm(e.x)),
    (r"\|S\|_F^2", VECTORS, lambda e: np.sum(e.S ** 2)),
    ("|S|", VECTORS, lambda e: np.linalg.det(e.S)),
    # the models' quantities as people write them
    (r"1 - \sigma(X\beta)", VECTORS, lambda e: 1 - sig(e.X @ e.beta)),
    (r"X^T(\sigma(X\beta) - y)", VECTORS, lambda e: e.X.T @ (sig(e.X @ e.beta) - e.y)),
    (r"X^T\operatorname{diag}(\sigma(X\beta)\odot(1-\sigma(X\beta)))X", VECTORS,
     lambda e: e.X.T @ np.diag((sig(e.X @ e.beta) * (1 - sig(e.X @ e.beta))).ravel()) @ e.X),
    (r"-y^T\log\sigma(X\beta) - (1-y)^T\log(1-\sigma(X\beta))", VECTORS,
     lambda e: -e.y.T @ np.log(sig(e.X @ e.beta)) - (1 - e.y).T @ np.log(1 - sig(e.X @ e.beta))),
    (r"\mathbf{1}^T\log(1 + e^{X\beta}) - y^TX\beta", VECTORS,
     lambda e: np.sum(np.log(1 + np.exp(e.X @ e.beta))) - e.y.T @ e.X @ e.beta),
    (r"(X^TX + \lambda I)^{-1}X^Ty", VECTORS,
     lambda e: np.linalg.inv(e.X.T @ e.X + e["lambda"] * np.eye(D)) @ e.X.T @ e.y),
    (r"\|y - X\beta\|^2 + \lambda\|\beta\|^2", VECTORS,
     lambda e: np.sum((e.y - e.X @ e.beta) ** 2) + e["lambda"] * np.sum(e.beta ** 2)),
    (r"X^T(e^{X\beta} - y)", VECTORS, lambda e: e.X.T @ (np.exp(e.X @ e.beta) - e.y)),
    (r"X^T\operatorname{diag}(\exp(X\beta))X", VECTORS, lambda e: e.X.T @ np.diag(np.exp(e.X @ e.beta).ravel()) @ e.X),
    (r"\frac{x^TAx}{x^Tx}", VECTORS, lambda e: (e.x.T @ e.A @ e.x) / (e.x.T @ e.x)),
    (r"x^Tx\,y", VECTORS, lambda e: (e.x.T @ e.x) * e.y),
    ("X^TX/n", VECTORS, lambda e: e.X.T @ e.X / N),
    (r"\frac{1}{2}\beta^TX^TX\beta", VECTORS, lambda e: 0.5 * e.beta.T @ e.X.T @ e.X @ e.beta),
    ("B A x", VECTORS, lambda e: e.B @ e.A @ e.x),
    # scalars: functions, powers, numbers
    (r"\operatorname{softplus}(z)", SCALARS, lambda e: np.log(1 + np.exp(e.z))),
    ("sigmoid(z) + sigma(t)", SCALARS, lambda e: sig(e.z) + sig(e.t)),
    ("σ(z)", SCALARS, lambda e: sig(e.z)),
    (r"\exp(z) + \ln z", SCALARS, lambda e: np.exp(e.z) + np.log(e.z)),
    (r"\sqrt{z} + \sqrt z + sqrt(t)", SCALARS, lambda e: 2 * np.sqrt(e.z) + np.sqrt(e.t)),
    (r"\sin z \cos t", SCALARS, lambda e: np.sin(e.z) * np.cos(e.t)),
    (r"\tan z + \tanh t", SCALARS, lambda e: np.tan(e.z) + np.tanh(e.t)),
    ("asin(z) + acos(z) + atan(z)", SCALARS, lambda e: np.arcsin(e.z) + np.arccos(e.z) + np.arctan(e.z)),
    ("arcsin(z) + arccos(t) + arctan t", SCALARS, lambda e: np.arcsin(e.z) + np.arccos(e.t) + np.arctan(e.t)),
    (r"\arcsin z + \arccos(z) + \arctan\frac{z}{t}", SCALARS,
     lambda e: np.arcsin(e.z) + np.arccos(e.z) + np.arctan(e.z / e.t)),
    (r"sinh(z) + cosh(z) + \sinh t\cosh 2t", SCALARS,
     lambda e: np.sinh(e.z) + np.cosh(e.z) + np.sinh(e.t) * np.cosh(2 * e.t)),
    (r"\log 2\pi\sigma^2", SCALARS, lambda e: np.log(2 * np.pi * e.sigma ** 2)),
    (r"\log_2 z", SCALARS, lambda e: np.log2(e.z)),
    ("x^2 + x**3", SCALARS, lambda e: e.x ** 2 + e.x ** 3),
    ("x^10", SCALARS, lambda e: e.x ** 10),
    ("x²", SCALARS, lambda e: e.x ** 2),
    ("2^{-1} + 2^-2", SCALARS, lambda e: 0.75),
    (r"\frac12 + \frac{1}{4} + \frac1z", SCALARS, lambda e: 0.75 + 1 / e.z),
    ("0.5 + 1e-3 + 1.5e2 + .25", SCALARS, lambda e: 150.751),
    ("2x + 3 x", SCALARS, lambda e: 5 * e.x),
    ("x(1-x)", SCALARS, lambda e: e.x * (1 - e.x)),
    ("-x^2", SCALARS, lambda e: -e.x ** 2),
    ("(-x)^2", SCALARS, lambda e: e.x ** 2),
    ("x^-1 + x^{-2} + x**-3", SCALARS, lambda e: e.x ** -1 + e.x ** -2 + e.x ** -3),
    ("x^y^2", SCALARS, lambda e: e.x ** (e.y ** 2)),
    ("1/2x", SCALARS, lambda e: e.x / 2),
    ("x - -y + +z", SCALARS, lambda e: e.x + e.y + e.z),
    ("2*-x", SCALARS, lambda e: -2 * e.x),
    ("e^{x} + e^x + exp(x)", SCALARS, lambda e: 3 * np.exp(e.x)),
    ("e", SCALARS, lambda e: np.e),
    (r"\pi + pi + π", SCALARS, lambda e: 3 * np.pi),
    (r"\beta + β + beta", SCALARS, lambda e: 3 * e["beta"]),
    (r"\sigma^2 + σ^2", SCALARS, lambda e: 2 * e.sigma ** 2),
    (r"\alpha\beta", SCALARS, lambda e: e.alpha * e["beta"]),
    (r"\lambda + λ + lambda", SCALARS, lambda e: 3 * e["lambda"]),
    (r"x \cdot y + x \times y + x·y + x×y", SCALARS, lambda e: 4 * e.x * e.y),
    (r"x / y + x \div y", SCALARS, lambda e: 2 * e.x / e.y),
    (r"\left[ x + 1 \right] \{y\}", SCALARS, lambda e: (e.x + 1) * e.y),
    (r"{x}^{2}", SCALARS, lambda e: e.x ** 2),
    (r"\beta_0 + \beta_1 x", SCALARS, lambda e: e.beta_0 + e.beta_1 * e.x),
    ("x1*x2 + log(x2)", SCALARS, lambda e: e.x1 * e.x2 + np.log(e.x2)),
    (r"\mu + \mathbf{\mu} + \boldsymbol{\mu} + \bm{\mu}", SCALARS, lambda e: 4 * e.mu),
    # index notation
    (r"\sum_i y_i", INDEXED, lambda e: np.sum(e.y)),
    (r"\sum_i (y_i + 1)", INDEXED, lambda e: np.sum(e.y) + N),
    (r"\sum_{i=1}^{n} y_i x_i", INDEXED, lambda e: (e.y.T @ e.x).item()),
    (r"\sum_{i=1}^n x_{i}^2", INDEXED, lambda e: np.sum(e.x ** 2)),
    (r"\sum_{i=2}^{n} (x_i - x_{i-1})^2", INDEXED, lambda e: np.sum(np.diff(e.x.ravel()) ** 2)),
    (r"\sum_{i=1}^n\sum_{j=1}^d X_{ij}\beta_j", INDEXED, lambda e: np.sum(e.X @ e.beta)),
    (r"\sum_{i,j} X_{i,j}", INDEXED, lambda e: np.sum(e.X)),
    ("sum_{i=1}^{n} (y_i)", INDEXED, lambda e: np.sum(e.y)),
    (r"\prod_{i=1}^{n} p^{y_i}(1-p)^{1-y_i}", INDEXED,
     lambda e: np.prod(e.p ** e.y * (1 - e.p) ** (1 - e.y))),
    (r"-\sum_{i=1}^{n} [y_i\log\sigma(\eta_i) + (1-y_i)\log(1-\sigma(\eta_i))]", INDEXED,
     lambda e: -np.sum(e.y * np.log(sig(e.eta)) + (1 - e.y) * np.log(1 - sig(e.eta)))),
    (r"\frac{1}{n}\sum_{i=1}^{n} x_i - \mu", INDEXED, lambda e: np.mean(e.x) - e.mu),
    (r"\sum_{i=1}^{n} y_i + 1", INDEXED, lambda e: np.sum(e.y) + 1),
    # without a subscript a sum runs over the free indices; a superscript may come first, as in LaTeX
    (r"\sum y_i", INDEXED, lambda e: np.sum(e.y)),
    ("sum(x_i^2)", INDEXED, lambda e: np.sum(e.x ** 2)),
    (r"\sum X_{ij}\beta_j", INDEXED, lambda e: np.sum(e.X @ e.beta)),
    (r"\sum^n_{i=1} x^2_i", INDEXED, lambda e: np.sum(e.x ** 2)),
    (r"\sum^{n}_{i=1} x^{-1}_i", INDEXED, lambda e: np.sum(1 / e.x)),
]


@pytest.mark.parametrize("text, shapes, reference", CASES, ids=[c[0] for c in CASES])
def test_parses_to_the_intended_value(text, shapes, reference):
    for seed in (0, 1):
        env = values(shapes, seed)
        got = evaluate(parse(text, shapes), env)
        np.testing.assert_allclose(np.asarray(got, dtype=float).squeeze(),
                                   np.asarray(reference(env), dtype=float).squeeze(), rtol=1e-9, atol=1e-12)


# ---------------------------------------------------------------------------------------------------
# Structure: names, assumptions, types
# ---------------------------------------------------------------------------------------------------
x, z, t, T = sp.symbols("x z t T")
i, j = sp.symbols("i j", integer=True)
n, d = std.n, std.d
A = sp.MatrixSymbol("A", n, n)
xv = sp.MatrixSymbol("x", n, 1)
SHAPES = {"x": ("n", 1), "A": ("n", "n")}


@pytest.mark.parametrize("text, expected", [
    (r"\beta", sp.Symbol("beta")),
    ("β", sp.Symbol("beta")),
    ("beta", sp.Symbol("beta")),
    (r"\hat{\beta}", sp.Symbol("betahat")),      # an estimate is not the parameter (unless a model says so)
    (r"\hat\beta", sp.Symbol("betahat")),
    (r"\tilde\mu", sp.Symbol("mutilde")),
    (r"\mathbf{x}", sp.Symbol("x")),
    (r"\vec{v}", sp.Symbol("v")),
    (r"\bar{x}", sp.Symbol("xbar")),
    (r"\varepsilon", sp.Symbol("epsilon")),
    (r"\Sigma", sp.Symbol("Sigma")),
    ("Σ", sp.Symbol("Sigma")),
    (r"\sigma(z)", sigmoid(z)),
    ("sigma(z)", sigmoid(z)),
    (r"\sigma (z)", sigmoid(z)),
    (r"\sigma\left(z\right)", sigmoid(z)),
    (r"\sigma^2", sp.Symbol("sigma") ** 2),
    (r"\sigma z", sp.Symbol("sigma") * z),
    (r"\sigma_i", sp.Indexed(sp.IndexedBase("sigma"), i)),
    ("softplus(z)", softplus(z)),
    ("0.5", sp.Rational(1, 2)),
    ("1e-3", sp.Rational(1, 1000)),
    ("2^{-1}", sp.Rational(1, 2)),
    ("x_i", sp.Indexed(sp.IndexedBase("x"), i)),
    ("y_{i}", sp.Indexed(sp.IndexedBase("y"), i)),
    ("X_{ij}", sp.Indexed(sp.IndexedBase("X"), i, j)),
    ("x_{i,j}", sp.Indexed(sp.IndexedBase("x"), i, j)),
    (r"\beta_j", sp.Indexed(sp.IndexedBase("beta"), j)),
    ("x_{i+1}", sp.Indexed(sp.IndexedBase("x"), i + 1)),
    (r"\beta_0", sp.Symbol("beta_0")),
    ("x_1", sp.Symbol("x_1")),
    ("x_{12}", sp.Symbol("x_12")),
    (r"\delta_{ij}", sp.KroneckerDelta(i, j)),
    ("x^T", x),                       # a scalar is its own transpose
    ("x'", x),
    ("e", sp.E),
    ("e^{z}", sp.exp(z)),
    (r"\log(1+e^{-z})", sp.log(1 + sp.exp(-z))),
    (r"x \cdot y", x * sp.Symbol("y")),
    ("|z - 2|", sp.Abs(z - 2)),
    ("asin(z) + arccos(z)", sp.asin(z) + sp.acos(z)),
    (r"\arctan z", sp.atan(z)),
    (r"\sinh(z)\cosh z", sp.sinh(z) * sp.cosh(z)),
    ("x^2_i", sp.Indexed(sp.IndexedBase("x"), i) ** 2),  # LaTeX's x^2_i is x_i^2
    ("e^x_i", sp.exp(sp.Indexed(sp.IndexedBase("x"), i))),  # a one-letter exponent keeps its subscript
    (r"\beta^2_0", sp.Symbol("beta_0") ** 2),
    ("x^1'", x),  # an exponent 1 stays a number
])
def test_scalar_structure(text, expected):
    assert parse(text) == expected


@pytest.mark.parametrize("text, expected", [
    (r"\sin z\cos(t)", sp.sin(z) * sp.cos(t)),  # as \sin z \cos t: a bracketed function is a function too
    (r"\sin z \cos t", sp.sin(z) * sp.cos(t)),
    (r"\sin z\cos(t)^2", sp.sin(z) * sp.cos(t) ** 2),
    (r"\sin 2z\,\cos(t)", sp.sin(2 * z) * sp.cos(t)),
    (r"\log z\sigma(t)", sp.log(z) * sigmoid(t)),
    (r"\log\sigma(z) t", sp.log(sigmoid(z)) * t),  # a function first is the whole argument, as in \log\det S
    (r"\log 2z(1 + t)", sp.log(2 * z * (1 + t))),  # brackets of no function stay in the argument
])
def test_a_function_without_brackets_takes_the_factors_up_to_the_next_function(text, expected):
    assert parse(text) == expected


def test_undeclared_names_are_plain_symbols_equal_to_users_symbols():
    assert parse("x + t") == sp.Symbol("x") + sp.Symbol("t")
    assert parse("x").assumptions0 == sp.Symbol("x").assumptions0


def test_declared_shapes_use_the_standard_dimension_symbols():
    X = parse("X", {"X": ("n", "d")})
    assert X == std.X and X.shape == (std.n, std.d)
    assert parse("c", {"c": (3, 3)}).shape == (3, 3)
    assert parse("c", {"c": ()}) == sp.Symbol("c")
    assert parse("v", {"v": ("n",)}).shape == (std.n, 1)


@pytest.mark.parametrize("text, expected", [
    ("x'*A*x", sp.MatMul(sp.Transpose(xv), A, xv)),
    ("x^TAx", sp.MatMul(sp.Transpose(xv), A, xv)),
    ("A^{-1}", sp.Inverse(A)),
    ("inv(A)", sp.Inverse(A)),
    ("tr(A)", sp.Trace(A)),
    (r"\log\det A", sp.log(sp.Determinant(A))),
    ("|A|", sp.Determinant(A)),
    ("diag(x)", DiagMatrix(xv)),
    ("diag(A)", DiagonalOf(A)),
    ("x .* x", sp.HadamardProduct(xv, xv)),
    (r"x \odot x", sp.HadamardProduct(xv, xv)),
    ("x.^2", sp.HadamardPower(xv, 2)),
    ("exp(x)", Elementwise("exp", xv)),
    (r"\sigma(Ax)", Elementwise("sigmoid", A * xv)),
    (r"1 - \sigma(x)", sp.OneMatrix(n, 1) - Elementwise("sigmoid", xv)),
    (r"\|x\|^2", sp.MatMul(sp.Transpose(xv), xv)),
    ("A A", A * A),
    ("eye(n)", std.Eye(n)),
    ("I_n", std.Eye(n)),
    ("ones(n, 1)", sp.OneMatrix(n, 1)),
    (r"\mathbf{1}_n", sp.OneMatrix(n, 1)),
    ("1_n", sp.OneMatrix(n, 1)),
    ("0_n", sp.ZeroMatrix(n, 1)),
    ("1^T x", sp.OneMatrix(1, n) * xv),
    ("1'x", sp.OneMatrix(1, n) * xv),
    (r"\mathbf{1}^T A", sp.OneMatrix(1, n) * A),
    (r"\bm{1}_n^T", sp.OneMatrix(1, n)),
    (r"\mathbf{1}^T_n", sp.OneMatrix(1, n)),
    ("sum(x)", sp.OneMatrix(1, n) * xv),
    (r"\sum x", sp.OneMatrix(1, n) * xv),
    ("sum(A)", sp.OneMatrix(1, n) * A * sp.OneMatrix(n, 1)),
    (r"\|x\|^2_2", sp.MatMul(sp.Transpose(xv), xv)),
])
def test_matrix_structure(text, expected):
    assert parse(text, SHAPES) == expected


def test_identity_takes_its_size_from_what_it_meets():
    got = parse(r"X^TX + \lambda I", {"X": ("n", "d")})
    assert got == std.X.T * std.X + sp.Symbol("lambda") * std.Eye(std.d)
    assert parse("I A", SHAPES) == A


def test_a_transposed_1_is_the_ones_vector_sized_by_what_it_meets():
    """1ᵀ log(1 + e^{Xβ}) − yᵀXβ, the logistic loss as people type it: 1ᵀ is the row of ones (it used to
    be read as the number 1, and the difference of an n×1 and a 1×1 was refused)."""
    shapes = {"X": ("n", "d"), "beta": ("d", 1), "y": ("n", 1)}
    got = parse("1^T log(1 + exp(X beta)) - y^T X beta", shapes)
    assert got == parse(r"\mathbf{1}^T\log(1 + e^{X\beta}) - y^TX\beta", shapes)
    assert got == parse("ones(n, 1)'*log(1 + exp(X*beta)) - y'*X*beta", shapes)
    assert sp.OneMatrix(1, n) in got.atoms(sp.OneMatrix) and got.shape == (1, 1)
    # a plain 1 keeps its meaning: a number, added to every entry of a vector
    assert parse(r"1 - \sigma(X\beta)", shapes) == parse(r"ones(n, 1) - \sigma(X\beta)", shapes)
    with pytest.raises(ParseError, match="cannot tell the size of I or 1"):
        parse("1^T")


def test_sum_of_a_scalar_without_an_index_is_refused():
    with pytest.raises(ParseError, match="sum needs an index"):
        parse("sum(2)")
    with pytest.raises(ParseError, match="sum takes one argument"):
        parse("sum(x, y)")
    with pytest.raises(NotSupported):
        parse(r"\sum_i A", SHAPES)


def test_every_scalar_function_applies_entrywise_to_a_vector():
    assert parse("asin(x)", SHAPES) == Elementwise("asin", xv)
    assert parse("sqrt(x)", SHAPES) == sp.HadamardPower(xv, sp.S.Half)


def test_a_declared_T_makes_x_to_the_T_a_power():
    assert parse("x^T", {"T": ()}) == x ** T
    assert parse("x^{T}", {"T": ()}) == x ** T


def test_a_declared_sigma_is_never_the_sigmoid():
    sigma = sp.Symbol("sigma", positive=True)
    assert parse(r"\sigma(z)", symbols={"sigma": sigma}) == sigma * z
    assert parse(r"sigma(z - 1)", {"sigma": ()}) == sp.Symbol("sigma") * (z - 1)


def test_runs_of_declared_names_split():
    assert parse("Xbeta", {"X": ("n", "d"), "beta": ("d", 1)}) == std.X * std.beta
    assert parse("xy", {"x": (), "y": ()}) == x * sp.Symbol("y")
    assert parse("Xb", symbols=MODEL) == std.X * std.beta


def test_declared_names_may_contain_underscores():
    income = sp.Symbol("log_income")
    assert parse("2*log_income + 1", symbols={"log_income": income}) == 2 * income + 1


def test_model_context_aliases_and_hat():
    assert parse(r"2X^TX\hat{\beta}", symbols=MODEL) == 2 * std.X.T * std.X * std.beta
    assert parse("2X'Xb", symbols=MODEL) == 2 * std.X.T * std.X * std.beta
    for alias in ("w", "theta", r"\theta", "θ", r"\boldsymbol{\beta}"):
        assert parse(f"X {alias}", symbols=MODEL) == std.X * std.beta
    assert parse(r"\lambda", symbols=MODEL) is std.lam
    assert parse("b_j", symbols=MODEL) == parse(r"\beta_j", symbols=MODEL)


def test_one_symbol_per_name_in_sums():
    e = parse(r"\frac{1}{n}\sum_{i=1}^{n} y_i")
    ns = [s for s in e.atoms(sp.Symbol) if s.name == "n"]
    assert ns == [std.n]
    assert e == sp.Sum(sp.Indexed(sp.IndexedBase("y"), i), (i, 1, std.n)) / std.n


def test_sum_limits_default_to_one_and_the_indexed_dimension():
    y = sp.IndexedBase("y", shape=(std.n,))
    assert parse(r"\sum_i y_i", INDEXED) == sp.Sum(sp.Indexed(y, i), (i, 1, std.n))
    assert parse(r"\sum_{j} \beta_j", INDEXED).limits == ((j, 1, std.d),)
    assert parse(r"\sum_{i=0}^{n-1} x_{i+1}", INDEXED).limits == ((i, 0, std.n - 1),)


def test_sum_body_uses_the_integer_index():
    e = parse(r"\sum_{i=1}^{n} i")
    assert e == sp.Sum(i, (i, 1, std.n))
    assert sp.expand(e.doit() - std.n * (std.n + 1) / 2) == 0


def test_explicit_matrices():
    a, b, c = sp.symbols("a b c")
    assert parse("[a, b; c, 1]") == sp.ImmutableMatrix([[a, b], [c, 1]])
    assert parse("[a; b]").shape == (2, 1)
    assert parse("[a + 1]") == a + 1  # brackets of one entry only group
    assert parse("[1, 2] [3; 4]") == sp.ImmutableMatrix([[11]])
    with pytest.raises(ShapeError):
        parse("[a, b; c]")


def test_a_context_symbol_named_like_a_power():
    """The Gaussian model's variance is one symbol, "sigma^2"; σ² in its context means that symbol."""
    s2 = sp.Symbol("sigma^2", positive=True)
    context = {"sigma^2": s2}
    assert parse(r"\frac{1}{2\sigma^2}", symbols=context) == 1 / (2 * s2)
    assert parse(r"\sigma(z)", symbols=context) == sp.Symbol("sigma") * z  # sigma is a name there
    assert to_plain(s2 ** 2) == "(sigma^2)^2"
    assert parse(to_plain(sp.log(s2) / s2 ** 2), symbols=context) == sp.log(s2) / s2 ** 2


def test_primed_indices():
    c1 = sp.Symbol("c'", integer=True)
    W = sp.IndexedBase("W")
    assert parse("sum_{c'=1}^{K} (W_{j,c'})") == sp.Sum(sp.Indexed(W, j, c1), (c1, 1, std.K))


# ---------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------
def test_design_example_message():
    with pytest.raises(ParseError) as error:
        parse(r"-2X^T(y - X\beta})", VECTORS)
    # DESIGN §5 shows this message; the brace is the 17th character of the input (columns count from 1).
    assert str(error.value).startswith("unexpected '}' at column 17 in " + r'"-2X^T(y - X\beta})"')


@pytest.mark.parametrize("text, message", [
    ("X X", "cannot multiply X (n×d) by X (n×d)"),
    ("y + beta", "cannot add y (n×1) and beta (d×1)"),
    ("y - beta", "cannot subtract beta (d×1) from y (n×1)"),
    ("inv(X)", "inverse of a non-square matrix X (n×d)"),
    ("X^{-1}", "inverse of a non-square matrix X (n×d)"),
    ("tr(X)", "trace of a non-square matrix X (n×d)"),
    ("det(X'y)", "determinant of a non-square matrix X'*y (d×1)"),
    ("x^2", "cannot raise x (n×1) to the power 2: it is not square"),
    ("a .* beta", "cannot multiply a (n×1) and beta (d×1) entrywise"),
    ("y / X", "cannot divide y by the matrix X (n×d)"),
    ("X (y - X beta)", "cannot multiply X (n×d) by -X*beta + y (n×1)"),
])
def test_shape_errors_name_the_operands(text, message):
    with pytest.raises(ShapeError) as error:
        parse(text, VECTORS)
    assert str(error.value).startswith(message)


@pytest.mark.parametrize("text, message", [
    (r"2 \foo", r'unknown command \foo at column 3 in "2 \foo"'),
    ("(x + 1", """unbalanced '(' at column 1 in "(x + 1": no ')' closes it"""),
    ("x + 1)", """unexpected ')' at column 6 in "x + 1)\""""),
    ("x + * y", """unexpected '*' at column 5 in "x + * y": expected a number, a name or '('"""),
    ("x +", """unexpected end of input at column 4 in "x +\""""),
    ("(x]", """unexpected ']' at column 3 in "(x]": expected ')' to close the '(' at column 1"""),
    ("x = 1", """unexpected '=' at column 3 in "x = 1": an equation is not an expression"""),
    (r"\nabla L", "unexpected '\\nabla' at column 1"),
    (r"\sigma'(z)", "unexpected '\\sigma''"),
    ("x_i_j", "unexpected '_' at column 4"),
    (r"\sqrt[1]{x}", "unexpected '[' at column 6"),
    (r"\sum_i x_i", "the range of i is unknown"),
    ("I + 1", "cannot tell the size of I"),
    ("", 'empty expression ""'),
    ("x +\n* y", "unexpected '*' at line 2, column 1"),
    (r"\operatorname{foo}(x)", r"unknown function \operatorname{foo}"),
    ("tr(x, y)", "tr takes one argument, not 2"),
    ("1/0", "division by zero at column 2"),
])
def test_syntax_errors_name_the_place(text, message):
    with pytest.raises(ParseError) as error:
        parse(text)
    assert str(error.value).startswith(message)
    assert "\n" not in str(error.value) and "lark" not in str(error.value).lower()


def test_unsupported_norm():
    with pytest.raises(NotSupported):
        parse(r"\|x\|_1", SHAPES)


def test_matrix_sums_are_not_supported():
    with pytest.raises(NotSupported):
        parse(r"\sum_{i=1}^{n} A", SHAPES)


# ---------------------------------------------------------------------------------------------------
# Equations and shapes
# ---------------------------------------------------------------------------------------------------
def test_equation_with_function_label():
    e = parse_equation(r"L(\beta) = (y - X\beta)^T(y - X\beta)", symbols=MODEL)
    r = std.y - std.X * std.beta
    assert e.label == Label("function", r"L(\beta)")
    assert len(e.sides) == 1 and not e.continued
    env = values(VECTORS)
    np.testing.assert_allclose(evaluate(e.sides[0], env), evaluate(r.T * r, env))


@pytest.mark.parametrize("text, kind", [
    (r"\nabla_\beta L = -2X^T(y - X\beta)", "gradient"),
    (r"\frac{\partial L}{\partial \beta} &= -2X^T(y-X\beta)", "gradient"),
    (r"\frac{dL}{d\beta} = -2X^T(y-X\beta)", "gradient"),
    (r"\nabla^2 L = 2X^TX", "hessian"),
    (r"\frac{\partial^2 L}{\partial\beta\partial\beta^T} = 2X^TX", "hessian"),
    (r"\hat{\beta} = (X^TX)^{-1}X^Ty", "estimate"),
    (r"\hat\sigma^2 = \frac1n\sum_{i=1}^n (y_i - \mu)^2", "estimate"),
    (r"\ell(\beta, \sigma) = \sigma", "function"),
    (r"\ell(\mu, \sigma^2) = -\frac{n}{2}\log(2\pi\sigma^2)", "function"),
    (r"\ell(\mu, \sigma^{2}) = \mu", "function"),
    (r"L(\beta_0, \beta_1) = \beta_0", "function"),
    (r"\nabla^2_\beta L = 2X^TX", "hessian"),
    (r"\nabla_\beta^2 L = 2X^TX", "hessian"),  # was read as a gradient
    (r"\nabla^{2}_{\beta} L(\beta) = 2X^TX", "hessian"),
    ("∇²L = 2X^TX", "hessian"),
    (r"\hat\sigma^{2} = \frac1n\sum_{i=1}^n (y_i - \mu)^2", "estimate"),
])
def test_equation_labels(text, kind):
    e = parse_equation(text, symbols=MODEL)
    assert e.label.kind == kind and len(e.sides) == 1


def test_continued_align_line():
    e = parse_equation(r"  &= y^Ty - 2\beta^TX^Ty + \beta^TX^TX\beta \\", symbols=MODEL)
    assert e.continued and e.label is None and len(e.sides) == 1
    e = parse_equation(r"&= 2x \nonumber \\")
    assert e.sides == (2 * x,)


def test_chain_of_equalities_without_label():
    e = parse_equation("2X'Xb = 2X'y", symbols=MODEL)
    assert e.sides == (2 * std.X.T * std.X * std.beta, 2 * std.X.T * std.y) and e.label is None
    assert parse_equation("a = b = c").sides == sp.symbols("a b c")
    assert parse_equation("x^2").sides == (x ** 2,)


@pytest.mark.parametrize("text", ["x = ", "= = x", "(x = 1)", "x = y)"])
def test_bad_equations(text):
    with pytest.raises(ParseError):
        parse_equation(text)


def test_equation_errors_count_columns_in_the_original_line():
    with pytest.raises(ParseError) as error:
        parse_equation(r"& = x + * y \\")
    assert "column 9" in str(error.value)


@pytest.mark.parametrize("text, expected", [
    ("x:n, A:nxn, B:mxn, c:1", {"x": ("n", 1), "A": ("n", "n"), "B": ("m", "n"), "c": ()}),
    ("A: n×n; x: 3", {"A": ("n", "n"), "x": (3, 1)}),
    ("S:(n, n), \\beta:d, W:d*K", {"S": ("n", "n"), "beta": ("d", 1), "W": ("d", "K")}),
    ("M:3x3, u:1x1, β:d", {"M": (3, 3), "u": (1, 1), "beta": ("d", 1)}),
    ("", {}),
    ("x:n,", {"x": ("n", 1)}),
])
def test_parse_shapes(text, expected):
    assert parse_shapes(text) == expected


@pytest.mark.parametrize("text, part", [
    ("x", '"x"'), ("x:", '""'), ("x:n x", '"n x"'), ("x:n:n", '"n:n"'), ("x:nxnxn", '"nxnxn"'),
    ("1x:n", '"1x"'), ("x:0", '"0"'), ("x:n,x:d", "x is declared twice"), ("x:n-1", '"n-1"'),
])
def test_parse_shapes_errors_name_the_bad_part(text, part):
    with pytest.raises(ParseError) as error:
        parse_shapes(text)
    assert part in str(error.value)


def test_parsed_shapes_feed_parse():
    shapes = parse_shapes("x:n, A:nxn")
    assert parse("x'Ax", shapes) == sp.MatMul(sp.Transpose(xv), A, xv)


# ---------------------------------------------------------------------------------------------------
# Round trip through the plain printer
# ---------------------------------------------------------------------------------------------------
ROUND_TRIP = [
    r"-2X^T(y - X\beta)", r"2X^TX\beta - 2X^Ty", r"(X^TX)^{-1}X^Ty", r"(X^TX + \lambda I)^{-1}X^Ty",
    r"(y - X\beta)^T(y - X\beta)", r"\|y - X\beta\|^2 + \lambda\|\beta\|^2", r"X^T(\sigma(X\beta) - y)",
    r"X^T\operatorname{diag}(\sigma(X\beta)\odot(1-\sigma(X\beta)))X", r"X^T(e^{X\beta} - y)",
    r"\mathbf{1}^T\log(1 + e^{X\beta}) - y^TX\beta", r"-y^T\log\sigma(X\beta) - (1-y)^T\log(1-\sigma(X\beta))",
    r"\log\det S + \operatorname{tr}(S^{-1}A)", "-inv(S)' A' inv(S)'", "x'*A*x + 1", "a .* b ./ x",
    "(a .* b) .^ 2", "A^3 - 2 A^{-2}", "diag(S) + diag(v) x", r"\frac{x^TAx}{x^Tx}", r"S^{-T} + I_n",
    r"\sigma(z)(1-\sigma(z))", r"\log(1+e^{-z})", r"\frac{1}{n}\sum_{i=1}^{n}(y_i - \beta x_i)^2",
    r"\sum_{i=1}^n\sum_{j=1}^d X_{ij}\beta_j + \prod_{i=1}^{n} p^{y_i}", r"\beta_0 + \beta_1 x_{i+1}",
    r"x^{1/2} + x^{-1} + x^{-3} + \sqrt{2} + e^{x^2} + \pi", r"-\frac{(x-\mu)^2}{2\sigma^2} - \log\sigma",
    r"\delta_{ij} + |z| + \tan(z)", "softplus(z) + 2^x + x^y^z", r"\sin z \cos t + \tanh(x)",
    r"2\sum_{i=1}^{n} y_i x_i - 1", r"\|x\|", "ones(n,1)'x", "zeros(n, 1) + exp(v)",
    "1^T log(1 + exp(X beta)) - y^T X beta", "sum(A) + 1_n' x + sum(x)", r"\arctan z + \sinh(z) - acos(z)",
]
ROUND_TRIP_SHAPES = {"X": ("n", "d"), "y": ("n", 1), "beta": ("d", 1), "A": ("n", "n"), "S": ("n", "n"),
                     "x": ("n", 1), "a": ("n", 1), "b": ("n", 1), "v": ("n", 1)}


def shapes_for(text):
    """Matrices for the matrix texts, scalars for the scalar ones (which use x, y, beta as scalars)."""
    scalar_texts = {r"\sigma(z)(1-\sigma(z))", r"\log(1+e^{-z})", r"\beta_0 + \beta_1 x_{i+1}",
                    r"x^{1/2} + x^{-1} + x^{-3} + \sqrt{2} + e^{x^2} + \pi", r"-\frac{(x-\mu)^2}{2\sigma^2} - \log\sigma",
                    r"\delta_{ij} + |z| + \tan(z)", "softplus(z) + 2^x + x^y^z", r"\sin z \cos t + \tanh(x)",
                    r"\arctan z + \sinh(z) - acos(z)"}
    if text in scalar_texts:
        return {}
    if "_i" in text or "_{ij}" in text:
        return {"y": ("n", 1), "x": ("n", 1), "X": ("n", "d"), "beta": ("d", 1)} if "X_" in text else \
            {"y": ("n", 1), "x": ("n", 1)}
    return ROUND_TRIP_SHAPES


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_plain_text_parses_back_to_the_same_expression(text):
    shapes = shapes_for(text)
    e = parse(text, shapes)
    plain = to_plain(e)
    assert plain.isascii() and "\\" not in plain, plain
    again = parse(plain, shapes)
    assert again == e, f"{text!r} -> {plain!r} -> {again}"


def test_round_trip_corpus_is_large():
    assert len(ROUND_TRIP) >= 25


def test_plain_printing_of_engine_style_expressions():
    X, y, beta, lam = std.X, std.y, std.beta, std.lam
    r = y - X * beta
    sigma_Xb = Elementwise("sigmoid", X * beta)
    built = [
        2 * X.T * X * beta - 2 * X.T * y,
        r.T * r + lam * beta.T * beta,
        X.T * (sigma_Xb - y),
        X.T * DiagMatrix(sp.HadamardProduct(sigma_Xb, sp.OneMatrix(std.n, 1) - sigma_Xb)) * X,
        sp.Inverse(X.T * X + lam * sp.Identity(std.d)) * X.T * y,
        2 * (X.T * X + lam * sp.Identity(std.d)),
        sp.Transpose(r) * r,
    ]
    for e in built:
        text = to_plain(e)
        again = parse(text, symbols=MODEL)
        assert again == e or _numerically_equal(again, e), text
    assert to_plain(sp.Inverse(X.T * X) * X.T * y) == "inv(X'*X)*X'*y"
    assert to_plain(-2 * X.T * r) in ("-2*X'*(-X*beta + y)", "-2*X'*(y - X*beta)")
    assert to_plain(Elementwise("sigmoid", X * beta)) == "sigmoid(X*beta)"
    assert to_plain(sp.HadamardProduct(X * beta, y)) == "(X*beta) .* y"
    assert to_plain(sp.Sum(sp.Indexed(sp.IndexedBase("y"), i), (i, 1, std.n)) * 2) == "2*(sum_{i=1}^{n} (y_{i}))"
    assert to_plain(sp.ImmutableMatrix([[1, x], [x ** 2, 0]])) == "[1, x; x^2, 0]"


def _numerically_equal(a, b):
    env = values({"X": ("n", "d"), "y": ("n", 1), "beta": ("d", 1)})
    return np.allclose(evaluate(a, env), evaluate(b, env))


# ---------------------------------------------------------------------------------------------------
# Speed
# ---------------------------------------------------------------------------------------------------
TYPICAL = [r"-2X^T(y - X\beta)", r"(X^TX + \lambda I)^{-1}X^Ty", r"X^T(\sigma(X\beta) - y)",
           r"\frac{1}{n}\sum_{i=1}^{n}(y_i - \mu)^2", "inv(X'X) X'y", r"\log(1+e^{-z})",
           r"-y^T\log\sigma(X\beta) - (1-y)^T\log(1-\sigma(X\beta))"]


def test_importing_the_grammar_does_not_build_the_parser():
    import subprocess
    import sys
    code = ("import derive.parse, derive.parse.grammar as g; assert g.lalr_parser.cache_info().currsize == 0; "
            "import sys; assert 'lark' not in sys.modules, 'lark imported at import time'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=str(__import__("pathlib").Path(__file__).parents[1]))


def _run_diff(env_changes, tmp_path):
    """`derive diff` in a fresh process (so nothing is cached in memory), with the environment changed."""
    import os
    import subprocess
    import sys
    from pathlib import Path
    env = {k: v for k, v in os.environ.items() if k not in ("DERIVE_CACHE_DIR", "XDG_CACHE_HOME")}
    env.update(HOME=str(tmp_path / "home"), **env_changes)
    return subprocess.run([sys.executable, "-m", "derive", "diff", "x'*A*x", "--wrt", "x", "--shapes", "x:n, A:nxn"],
                          env=env, capture_output=True, text=True, cwd=str(Path(__file__).parents[1]))


def _files(directory):
    return {p for p in directory.rglob("*") if "__pycache__" not in p.parts}


def test_the_parser_is_kept_in_the_user_cache_and_never_in_the_package(tmp_path):
    from pathlib import Path

    import derive
    package = Path(derive.__file__).parent
    before = _files(package)
    first = _run_diff({"XDG_CACHE_HOME": str(tmp_path / "xdg")}, tmp_path)
    assert first.returncode == 0 and "(A + Aᵀ)x" in first.stdout, first.stderr
    entries = list((tmp_path / "xdg" / "derive").glob("lark-parser-*"))
    assert len(entries) == 1 and entries[0].stat().st_size > 0
    assert _files(package) == before
    again = _run_diff({"XDG_CACHE_HOME": str(tmp_path / "xdg")}, tmp_path)  # read back from the cache
    assert again.returncode == 0 and again.stdout == first.stdout
    without_xdg = _run_diff({}, tmp_path)  # the default place: ~/.cache/derive
    assert without_xdg.returncode == 0 and list((tmp_path / "home" / ".cache" / "derive").glob("lark-parser-*"))


def test_a_corrupt_or_unwritable_parser_cache_is_no_cache(tmp_path):
    cache = tmp_path / "cache"
    fresh = _run_diff({"DERIVE_CACHE_DIR": str(cache)}, tmp_path)
    [entry] = cache.glob("lark-parser-*")
    for garbage in (b"", b"not a pickle", entry.read_bytes()[:100]):
        entry.write_bytes(garbage)
        run = _run_diff({"DERIVE_CACHE_DIR": str(cache)}, tmp_path)
        assert (run.returncode, run.stdout, run.stderr) == (0, fresh.stdout, "")
        assert entry.stat().st_size > len(garbage)  # rebuilt and saved again
    blocked = tmp_path / "a-file"
    blocked.write_text("a cache directory cannot be made under a file")
    run = _run_diff({"DERIVE_CACHE_DIR": str(blocked / "derive")}, tmp_path)
    assert (run.returncode, run.stdout, run.stderr) == (0, fresh.stdout, "")


def test_every_failure_is_a_derive_error():
    for text in ["x +", "((", r"\frac", "x_", "^2", "'", ".", "x..y", "|x", "||", "\\", "_", "{}", "()", "f(,)",
                 r"\left(", r"\hat", r"\sum", r"\sum_{i=1}", "x^", "ones(x, y z)", "eye(n, n)", "a,b"]:
        with pytest.raises(DeriveError):
            parse(text, SHAPES)


# ---------------------------------------------------------------------------------------------------
# Read as people write, never misread (issue 12)
# ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("text, expected", [
    (r"\sin^2 x", sp.sin(x) ** 2),
    (r"\cos^{2}(3x)", sp.cos(3 * x) ** 2),
    (r"\tan^{-1} x", sp.atan(x)),
    (r"\sqrt[3]{x}", x ** sp.Rational(1, 3)),
    (r"\|x\|", sp.Abs(x)),
    (r"\bar x", sp.Symbol("xbar")),
    (r"\hat\mu", sp.Symbol("muhat")),
    ("f(x^2)", sp.Function("f")(x ** 2)),
    ("g(x) + h(2, x)", sp.Function("g")(x) + sp.Function("h")(2, x)),
    ("x(1 - x)", x * (1 - x)),                  # any other letter before ( multiplies
    ("relu(x) + Phi(x) + phi(x)", relu(x) + Phi(x) + phi(x)),
])
def test_notation_people_write(text, expected):
    assert parse(text) == expected


def test_matrix_notation_people_write():
    shapes = {"A": (2, 2), "x": (2, 1)}
    A2, x2 = sp.MatrixSymbol("A", 2, 2), sp.MatrixSymbol("x", 2, 1)
    assert parse("A @ x", shapes) == A2 * x2
    assert parse(r"\begin{pmatrix} 1 & t \\ t & 2 \end{pmatrix}") == sp.ImmutableMatrix([[1, t], [t, 2]])
    assert parse_equation(r"x^T \begin{bmatrix} 1 & 0 \\ 0 & 1 \end{bmatrix} x \\", shapes).sides[0] == \
        x2.T * sp.ImmutableMatrix([[1, 0], [0, 1]]) * x2


@pytest.mark.parametrize("text, words", [
    ("ax^2", "could be the product a·x or one name ax"),
    ("xy", "could be the product x·y"),
    ("lamb", "l·a·m·b"),
    ("nsin(y)", "for the product n·sin(…) write n*sin(…)"),
    ("factorial(10)", "unknown function 'factorial'"),
    ("d/dx x^2", "write the function alone and name the variable separately"),
    (r"\frac{d}{dx} x^2", "name the variable separately"),
    (r"\partial x^2", "name the variable separately"),
    ("import os", "is Python, not mathematics"),
    ("lambda: x", "Python"),
    (r"\sinh^{-1} x", "inverse functions of sin, cos and tan only"),
])
def test_misreadings_are_refused_naming_the_readings(text, words):
    with pytest.raises(ParseError, match=re.escape(words)):
        parse(text)


def test_declared_names_settle_a_run_of_letters():
    assert parse("ax", {"ax": ()}) == sp.Symbol("ax")
    assert parse("ax", {"x": ("n", 1)}) == sp.Symbol("a") * xv  # next to a declared name: a product
    with pytest.raises(NotSupported, match="pseudo-inverse"):
        parse("X^+", {"X": ("n", "d")})
