r"""An answer in index notation, with free indices, as the vector or matrix of its components.

``∂L/∂β_k = −2Σᵢ(yᵢ − Σⱼ Xᵢⱼβⱼ)Xᵢₖ`` (what ``derive show ols --form index`` prints) is the k-th entry of
the gradient for every k: with one free index it is a d×1 vector, with two (k, l) a d×d matrix, the
shape of the quantity it is compared with. `IndexComponents` is that vector; `derive.core.numeval`
evaluates it entry by entry, binding the free indices (1-based, as written).

    >>> from derive.checking.answers import check
    >>> check("ols", "gradient", r"-2\sum_{i=1}^{n}(y_i - \sum_{j=1}^{d} X_{ij}\beta_j) X_{ik}").correct
    True
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr

from derive.core.numeval import dimension, evaluate, rule


class IndexComponents(MatrixExpr):
    """The matrix whose entry (k, l) is `component` with its free indices bound to k (and l), from 1."""

    def __new__(cls, component, indices, rows, cols):
        return super().__new__(cls, sp.sympify(component), sp.Tuple(*indices), sp.sympify(rows), sp.sympify(cols))

    @property
    def component(self):
        return self.args[0]

    @property
    def indices(self):
        return tuple(self.args[1])

    @property
    def shape(self):
        return self.args[2], self.args[3]


@rule(IndexComponents)
def _components(expr, env):
    rows, cols = (dimension(size, env) for size in expr.shape)
    values = np.empty((rows, cols), dtype=complex)
    names = [str(index) for index in expr.indices]
    for r in range(rows):
        for c in range(cols):
            bound = dict(zip(names, (r + 1, c + 1)))
            values[r, c] = evaluate(expr.component, {**env, **bound})
    return values


def free_indices(expr) -> list:
    """The integer symbols of a scalar that no sum binds (k in Σᵢ Xᵢₖyᵢ), dimensions such as n excluded."""
    if getattr(expr, "is_Matrix", False) or not isinstance(expr, sp.Basic):
        return []
    return sorted((s for s in expr.free_symbols if isinstance(s, sp.Symbol) and s.is_integer and not s.is_positive),
                  key=lambda s: s.name)


def as_components(expr, like):
    """`expr` with free indices as the matrix of its components in the shape of `like`; else `expr` itself."""
    indices = free_indices(expr)
    shape = like.shape if getattr(like, "is_Matrix", False) else None
    if not indices or shape is None or len(indices) > 2 or (len(indices) == 1 and shape[1] != 1):
        return expr
    return IndexComponents(expr, indices, *shape)
