"""The independent reference for derivative tests: a problem, random values in its domain, the derived
result evaluated as DESIGN §3 promises (sizes, matrices and scalars put in, `.doit()`, `.evalf()`), and
central differences of the same function written by hand in numpy.

No part of derive's own numerics (its complex-step checker, its code generator) is used as the reference.
Shared by tests/test_matrix_cookbook.py and tests/test_cookbook_suite.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import sympy as sp


@dataclass(frozen=True)
class Case:
    source: str
    text: str
    wrt: str
    shapes: dict                     # name -> dimensions; () declares a scalar
    f: Callable                      # numpy: dict of values -> scalar (or vector, for a Jacobian)
    order: int = 1
    spd: tuple = ()                  # matrices drawn symmetric positive definite (inverses, determinants)
    kind: str = "gradient"           # "gradient", "hessian", "jacobian", "derivative", "second derivative"
    textbook: Optional[str] = None   # the printed result, where the form is part of the promise
    positive: tuple = ()             # names drawn with positive entries (inside logs and square roots)
    # (a shape may end with an assumption of DESIGN §5: ("n", "prob") is drawn on the simplex, by rows for a matrix)
    scalars: tuple = (0.3, 1.5)      # the range of the scalars (the variable of a scalar problem included)


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softplus(z):
    return np.logaddexp(0, z)


def ones(v):
    return np.ones((v.shape[0], 1))


# ---------------------------------------------------------------------------------------------------
# Evaluating a derived result (DESIGN §3) and the finite-difference reference
# ---------------------------------------------------------------------------------------------------
ASSUMPTIONS = ("sym", "pd", "diag", "pos", "prob")


def draw(case: Case, rng) -> tuple[dict, dict]:
    """(sizes by dimension name, values by variable name) at random sizes."""
    dims = sorted({k for shape in case.shapes.values() for k in shape if isinstance(k, str) and k not in ASSUMPTIONS})
    sizes = {k: int(rng.integers(2, 5)) for k in dims}
    values = {}
    for name, declared in case.shapes.items():
        shape = tuple(k for k in declared if k not in ASSUMPTIONS)
        if "prob" in declared:  # probabilities: a column summing to 1, or rows that do
            rows, cols = (tuple(sizes.get(k, k) for k in shape) + (1,))[:2]
            weights = rng.uniform(0.1, 1.0, (rows, cols))
            values[name] = weights / weights.sum(axis=0 if cols == 1 else 1, keepdims=True)
            continue
        if not shape:
            values[name] = float(rng.uniform(*case.scalars))
            continue
        rows, cols = (tuple(sizes.get(k, k) for k in shape) + (1,))[:2]
        if name in case.spd:
            a = rng.standard_normal((rows, rows))
            values[name] = a @ a.T / rows + np.eye(rows)
        elif name in case.positive:
            values[name] = rng.uniform(0.3, 1.5, (rows, cols))
        elif name == "y":
            values[name] = rng.integers(0, 2, (rows, cols)).astype(float)
        else:
            values[name] = rng.standard_normal((rows, cols)) * 0.7
    return sizes, values


def numeric(expr, sizes: dict, values: dict) -> np.ndarray:
    """Sizes, matrices and scalars put into the SymPy result, then .doit() and .evalf() (DESIGN §3)."""
    replace = {}
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.MatrixSymbol):
            replace[node] = sp.ImmutableMatrix(values[node.name])
        elif isinstance(node, sp.Symbol) and node.name in sizes:
            replace[node] = sp.Integer(sizes[node.name])
        elif isinstance(node, sp.Symbol) and node.name in values:
            replace[node] = sp.Float(values[node.name], 30)
    value = sp.sympify(expr).xreplace(replace).doit()
    if isinstance(value, sp.MatrixExpr) and not isinstance(value, sp.MatrixBase):
        value = value.as_explicit()
    return np.array(sp.N(value), dtype=complex).real.reshape(np.shape(value) if hasattr(value, "shape") else ())


def _with(values, wrt, value):
    return {**values, wrt: value}


def central_gradient(f, values, wrt, h=1e-6):
    base = np.asarray(values[wrt], dtype=float)
    out = np.zeros_like(base)
    for idx in np.ndindex(base.shape):
        plus, minus = base.copy(), base.copy()
        plus[idx] += h
        minus[idx] -= h
        shaped = (lambda a: a) if base.ndim else float
        out[idx] = (np.sum(f(_with(values, wrt, shaped(plus)))) - np.sum(f(_with(values, wrt, shaped(minus))))) / (2 * h)
    return out


def central_hessian(f, values, wrt, h=1e-4):
    """The Hessian in vec order (columns stacked, as derive writes a Hessian with respect to a matrix:
    d vec(∇f) = H d vec(X)); for a column vector that is its own order."""
    base = np.asarray(values[wrt], dtype=float)
    x = base.ravel(order="F")
    k = x.size
    H = np.zeros((k, k))

    def at(vector):
        value = vector.reshape(base.shape, order="F") if base.ndim else float(vector[0])
        return float(np.sum(f(_with(values, wrt, value))))

    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h, np.eye(k)[j] * h
            H[i, j] = (at(x + ei + ej) - at(x + ei - ej) - at(x - ei + ej) + at(x - ei - ej)) / (4 * h * h)
    return H


def central_jacobian(f, values, wrt, h=1e-6):
    x = values[wrt].ravel()
    columns = []
    for i in range(x.size):
        e = np.eye(x.size)[i] * h
        plus = f({**values, wrt: (x + e).reshape(values[wrt].shape)})
        minus = f({**values, wrt: (x - e).reshape(values[wrt].shape)})
        columns.append(((plus - minus) / (2 * h)).ravel())
    return np.array(columns).T


def reference(case: Case, values):
    """The finite-difference value of the case's derivative at `values`, and its tolerance."""
    if case.kind in ("gradient", "derivative"):
        return central_gradient(case.f, values, case.wrt), 1e-6
    if case.kind in ("hessian", "second derivative"):
        return central_hessian(case.f, values, case.wrt), 1e-4
    return central_jacobian(case.f, values, case.wrt), 1e-6


def agrees(case: Case, result, rng, draws: int = 2) -> Optional[str]:
    """None when the derived `result` matches central differences at `draws` random sizes, else why not."""
    for _ in range(draws):
        sizes, values = draw(case, rng)
        analytic = numeric(result, sizes, values)
        expected, tolerance = reference(case, values)
        analytic = analytic.reshape(expected.shape)
        scale = 1 + np.max(np.abs(expected))
        if not np.max(np.abs(analytic - expected)) < tolerance * scale * 10:
            return (f"at sizes {sizes}\nanalytic: {analytic.ravel()[:6]}\nnumeric:  {expected.ravel()[:6]}")
    return None
