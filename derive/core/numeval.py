"""Numerical evaluation of symbolic expressions with numpy, for verifying derivation steps.

`evaluate(expr, env)` walks a SymPy expression (scalar, matrix, index-notation sums) and computes its
value from numpy arrays: `env` maps symbol names to values, matrix dimensions included. It works in
complex arithmetic too, which is what makes complex-step derivatives exact to rounding: the derivative of
f at x in direction v is Im f(x + i·h·v) / h, with no subtractive cancellation.

This is a checker, not the fitting code: it favours plain, obviously-correct numpy (an explicit inverse
is fine here) over speed or stability.
"""
from __future__ import annotations

import math
import zlib
from typing import Callable, Mapping

import numpy as np
import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.matrices.expressions.diagonal import DiagMatrix, DiagonalOf
from sympy.matrices.expressions.hadamard import HadamardPower, HadamardProduct
from sympy.matrices.expressions.kronecker import KroneckerProduct
from sympy.matrices.expressions.matexpr import MatrixElement

from derive.errors import NotSupported
from derive.expr.functions import REGISTRY, Elementwise, VectorApplication
from derive.expr.notation import Differential, ScalarDifferential, UnknownDerivative, differential_key
from derive.expr.printing import unicode
from derive.expr.vec import Commutation, Vec

COMPLEX_STEP = 1e-30

# Scalar functions come from the registry (derive.expr.functions); the factorial is data-only (Poisson counts);
# Γ, log Γ, B and the polygamma functions ψ⁽ᵏ⁾ (their derivatives) are for Gamma and Beta likelihoods.
NUMPY_FUNCTIONS: dict[type, Callable] = {
    **{record.sympy: record.numpy for record in REGISTRY},
    sp.factorial: lambda x: _factorial(x),
    sp.gamma: lambda x: _gamma(x),
    sp.loggamma: lambda x: _log_gamma(x),
}


def _log_gamma(x):
    """log Γ(x) (Gamma and Beta log-densities): scipy's complex log-gamma, analytic, so exact under a complex
    step; real for real x > 0."""
    from scipy.special import loggamma
    values = np.asarray(x)
    result = loggamma(values.astype(complex))
    result = result if np.iscomplexobj(values) else result.real
    return result[()] if result.ndim == 0 else result


def _gamma(x):
    """Γ(x) = exp(log Γ(x)), exact under a complex step."""
    values = np.asarray(x)
    result = np.exp(_log_gamma(values.astype(complex)))
    return result if np.iscomplexobj(values) else np.real(result)


def _factorial(x):
    """x! = Γ(x + 1) for data such as Poisson counts (real: data are never moved by a complex step)."""
    values = np.asarray(x)
    if np.iscomplexobj(values):
        if np.any(values.imag != 0):
            raise NotSupported("cannot evaluate the factorial of a complex number")
        values = values.real
    result = np.vectorize(math.gamma, otypes=[float])(values + 1.0)
    return float(result) if result.ndim == 0 else result


def _polygamma(order: int, x):
    """ψ⁽ᵏ⁾(x), the derivatives of log Γ (from its `loggamma` record), exact under a complex step."""
    from scipy.special import polygamma
    values = np.asarray(x)
    if np.iscomplexobj(values):
        return polygamma(order, values.real) + 1j * values.imag * polygamma(order + 1, values.real)
    return polygamma(order, values)


Env = Mapping[str, object]
_RULES: dict[type, Callable] = {}


def rule(*types):
    def register(function):
        for t in types:
            _RULES[t] = function
        return function
    return register


def evaluate(expr, env: Env):
    """The numeric value of `expr` (a float/complex or a 2-d array) with the symbols' values from `env`."""
    for cls in type(expr).__mro__:
        if cls in _RULES:
            return _RULES[cls](expr, env)
        if cls in NUMPY_FUNCTIONS:
            return NUMPY_FUNCTIONS[cls](evaluate(expr.args[0], env))
    raise NotSupported(f"cannot evaluate {type(expr).__name__} numerically: {unicode(expr)}")


def dimension(size, env: Env) -> int:
    value = evaluate(sp.sympify(size), env)
    return int(round(value.real if isinstance(value, complex) else value))


@rule(sp.Symbol, sp.MatrixSymbol, sp.Dummy, sp.Idx)
def _symbol(expr, env):
    name = str(expr.label) if isinstance(expr, sp.Idx) else expr.name
    try:
        return env[name]
    except KeyError:
        raise NotSupported(f"no value for {name}") from None


@rule(sp.polygamma)
def _polygamma_rule(expr, env):
    order = expr.args[0]
    if not order.is_Integer:
        raise NotSupported(f"cannot evaluate {unicode(expr)}: the order of ψ must be a whole number")
    result = _polygamma(int(order), evaluate(expr.args[1], env))
    return result[()] if np.ndim(result) == 0 else result


@rule(sp.beta)
def _beta(expr, env):
    """B(a, b) = Γ(a)Γ(b)/Γ(a + b)."""
    a, b = (evaluate(arg, env) for arg in expr.args)
    return _gamma(a) * _gamma(b) / _gamma(a + b)


@rule(sp.Number, sp.NumberSymbol)
def _number(expr, env):
    return complex(expr) if expr.is_real is False else float(expr)


@rule(type(sp.I))
def _imaginary(expr, env):
    return 1j


@rule(sp.Add, sp.MatAdd)
def _add(expr, env):
    values = [evaluate(a, env) for a in expr.args]
    total = values[0]
    for v in values[1:]:
        total = total + v
    return total


@rule(sp.Mul)
def _mul(expr, env):
    total = 1.0
    for a in expr.args:
        total = total * evaluate(a, env)
    return total


@rule(sp.MatMul)
def _matmul(expr, env):
    scalar, matrices = 1.0, []
    for a in expr.args:
        value = evaluate(a, env)
        if a.is_Matrix:
            matrices.append(value)
        else:
            scalar = scalar * value
    product = matrices[0]
    for m in matrices[1:]:
        product = product @ m
    return scalar * product


@rule(sp.Pow)
def _pow(expr, env):
    base = evaluate(expr.base, env)
    if expr.exp.is_Integer and np.iscomplexobj(base):
        return _integer_power(base, int(expr.exp))
    return base ** evaluate(expr.exp, env)


def _integer_power(base, k: int):
    """base^k by repeated squaring. NOTE: not complex ** k, which for |k| > 100 goes through polar form and
    loses the complex step's tiny imaginary part when the base is negative ((x + 1)^1000 at x < −1)."""
    if k < 0:
        return 1 / _integer_power(base, -k)
    result, square = base * 0 + 1, base
    while k:
        if k & 1:
            result = result * square
        square = square * square
        k >>= 1
    return result


@rule(sp.Transpose)
def _transpose(expr, env):
    return evaluate(expr.arg, env).T


@rule(sp.Inverse)
def _inverse(expr, env):
    return np.linalg.inv(evaluate(expr.arg, env))


@rule(sp.MatPow)
def _matpow(expr, env):
    base = evaluate(expr.base, env)
    exponent = int(evaluate(expr.exp, env))
    if exponent < 0:
        base, exponent = np.linalg.inv(base), -exponent
    return np.linalg.matrix_power(base, exponent)


@rule(sp.Trace)
def _trace(expr, env):
    return np.trace(evaluate(expr.arg, env))


@rule(sp.Determinant)
def _det(expr, env):
    return np.linalg.det(evaluate(expr.arg, env))


@rule(HadamardProduct)
def _hadamard(expr, env):
    total = evaluate(expr.args[0], env)
    for a in expr.args[1:]:
        total = total * evaluate(a, env)
    return total


@rule(HadamardPower)
def _hadamard_power(expr, env):
    return evaluate(expr.base, env) ** evaluate(expr.exp, env)


@rule(Elementwise)
def _elementwise(expr, env):
    return expr.record.numpy(evaluate(expr.arg, env))


@rule(Commutation)
def _commutation(expr, env):
    m, n = (dimension(k, env) for k in expr.args)
    return np.array(expr.explicit(m, n), dtype=float)


@rule(Vec)
def _vec(expr, env):
    return np.reshape(np.asarray(evaluate(expr.arg, env)), (-1, 1), order="F")


@rule(KroneckerProduct)
def _kronecker(expr, env):
    value = evaluate(expr.args[0], env)
    for factor in expr.args[1:]:
        value = np.kron(value, evaluate(factor, env))
    return value


@rule(VectorApplication)
def _vector_function(expr, env):
    return expr.record.numpy(np.asarray(evaluate(expr.arg, env)), expr.axis)


@rule(DiagMatrix)
def _diag_matrix(expr, env):
    return np.diag(np.ravel(evaluate(expr.args[0], env)))


@rule(DiagonalOf)
def _diagonal_of(expr, env):
    return np.diag(evaluate(expr.arg, env)).reshape(-1, 1)


@rule(sp.Identity)
def _identity(expr, env):
    return np.eye(dimension(expr.rows, env))


@rule(sp.ZeroMatrix)
def _zeros(expr, env):
    return np.zeros((dimension(expr.rows, env), dimension(expr.cols, env)))


@rule(sp.OneMatrix)
def _ones(expr, env):
    return np.ones((dimension(expr.rows, env), dimension(expr.cols, env)))


@rule(MatrixElement)
def _matrix_element(expr, env):
    parent, i, j = expr.args
    return evaluate(parent, env)[dimension(i, env), dimension(j, env)]


@rule(sp.ImmutableMatrix, sp.MutableDenseMatrix)
def _explicit_matrix(expr, env):
    return np.array([[evaluate(e, env) for e in row] for row in expr.tolist()])


@rule(sp.Indexed)
def _indexed(expr, env):
    """x_i, X_ij: indexed arrays (env key "x[]") carry one spare leading entry per axis (see steps.Domains),
    so 1-based sums (Σ_{i=1}^{n}) and 0-based components (β₀ … β_{D−1}) both index them directly."""
    name = str(expr.base.label)
    key = indexed_key(name)
    array = env[key] if key in env else padded(np.asarray(evaluate(expr.base.label, env)), len(expr.indices))
    return array[tuple(dimension(i, env) for i in expr.indices)]


@rule(sp.KroneckerDelta)
def _kronecker(expr, env):
    i, j = (dimension(a, env) for a in expr.args[:2])
    return 1.0 if i == j else 0.0


@rule(sp.Sum, sp.Product)
def _sum(expr, env):
    combine = np.add if isinstance(expr, sp.Sum) else np.multiply
    (index, low, high), *rest = expr.limits
    body = expr.func(expr.function, *rest) if rest else expr.function
    total = 0.0 if isinstance(expr, sp.Sum) else 1.0
    env = {**env}
    for indexed in body.atoms(sp.Indexed):  # 1-based views of plain arrays, made once, not per term
        name = str(indexed.base.label)
        if indexed_key(name) not in env and name in env:
            env[indexed_key(name)] = padded(env[name], len(indexed.indices))
    for k in range(dimension(low, env), dimension(high, env) + 1):
        total = combine(total, evaluate(body, {**env, str(index): k}))
    return total


@rule(sp.Derivative)
def _derivative(expr, env):
    """d/dx u for one scalar symbol x, first order (the Leibniz-style lines of derive.calculus.scalar_rules), by the complex step.

    Only at real points: a complex step inside another complex step would not be exact."""
    (variable, count), *others = expr.variable_count
    if others or count != 1 or not isinstance(variable, sp.Symbol):
        raise NotSupported(f"cannot evaluate the derivative {unicode(expr)} numerically (first order in one scalar "
                           "only)")
    if any(np.iscomplexobj(v) for v in env.values()):
        raise NotSupported(f"cannot evaluate the derivative {unicode(expr)} inside a complex-step derivative")
    return directional_derivative(expr.expr, env, {variable.name: 1.0})


def stand_in(name: str, order: int, t):
    """The function an unknown f stands for in the checks, and its derivatives: a fixed analytic function
    chosen by the name, f(t) = sin(at + b) + t³/4 + e^{t/2}, so a step that holds for every f holds for it
    and a wrong rule fails (exact under a complex step, like every other function here)."""
    k = zlib.crc32(name.encode()) % 7
    a, b = 0.8 + 0.1 * k, 0.3 + 0.05 * k
    cubic = math.perm(3, order) * t ** (3 - order) / 4 if order <= 3 else 0 * t
    return a ** order * np.sin(a * t + b + order * np.pi / 2) + cubic + 0.5 ** order * np.exp(t / 2)


@rule(AppliedUndef)
def _unknown_function(expr, env):
    if len(expr.args) != 1:
        raise NotSupported(f"cannot evaluate the unknown function {unicode(expr)} of {len(expr.args)} arguments")
    return stand_in(type(expr).__name__, 0, evaluate(expr.args[0], env))


@rule(UnknownDerivative)
def _unknown_derivative(expr, env):
    return stand_in(expr.name, expr.order, evaluate(expr.point, env))


@rule(sp.Equality)
def _equation(expr, env):
    """An equation evaluates to its residual, lhs − rhs: zero exactly where it holds."""
    return evaluate(expr.lhs, env) - evaluate(expr.rhs, env)


@rule(Differential, ScalarDifferential)
def _differential(expr, env):
    """The leaf dv is the direction; any other d(u) is u's directional derivative along the directions."""
    if expr.is_leaf:
        return env[differential_key(expr.arg)]
    directions = {key[2:]: value for key, value in env.items() if key.startswith("d ")}
    return directional_derivative(expr.arg, env, directions)


def indexed_key(name: str) -> str:
    """The env key of the indexed array x (as in x_i), kept apart from the matrix x."""
    return name + "[]"


def padded(matrix, rank: int):
    """The matrix as a 1-based indexed array: entry [i, j] is matrix[i − 1, j − 1] (row and column 0 spare).
    A column vector (k×1) indexed by one subscript is read as the k numbers it holds."""
    values = np.asarray(matrix)
    if rank == 1 and values.ndim == 2:
        values = values[:, 0]
    padded = np.zeros(tuple(k + 1 for k in values.shape), dtype=values.dtype)
    padded[(slice(1, None),) * rank] = values
    return padded


def directional_derivative(expr, env: Env, directions: Mapping[str, np.ndarray]):
    """d expr in the given directions, by the complex step: exact to rounding for analytic expressions."""
    h = COMPLEX_STEP
    shifted = dict(env)
    for name, v in directions.items():
        shifted[name] = np.asarray(env[name], dtype=complex) + 1j * h * v
        if indexed_key(name) in env:  # the indexed view x_i of the same numbers moves with them
            shifted[indexed_key(name)] = padded(shifted[name], np.ndim(env[indexed_key(name)]))
    return np.imag(evaluate(expr, shifted)) / h
