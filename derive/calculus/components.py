"""`form="components"`: a matrix-form derivative written out entry by entry for explicit sizes.

Deriving in matrix form and then multiplying out is much faster than differentiating the written-out
function entry by entry; the written-out result is checked against the matrix form at random entries.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.hadamard import HadamardPower, HadamardProduct

from derive.core.numeval import evaluate
from derive.core.random_points import Domains, constant
from derive.core.steps import Check, Derivation, Step
from derive.errors import NotSupported
from derive.expr.functions import Elementwise
from derive.expr.notation import Notation
from derive.expr.printing import unicode

COMPONENT_CHECKS = 3       # random entries compared per point when checking a written-out result


def write_components(D: Derivation, variables, dim) -> None:
    """Replace each vector/matrix result of `D` (a `diff` derivation: it knows its `.expression`) by its
    explicit entries for the sizes `dim`, a verified step each."""
    if not isinstance(variables[0], sp.MatrixSymbol):
        return  # scalar derivatives are already written in components
    if dim is None:
        raise NotSupported("form='components' needs the sizes: dim=50 or dim={'d': 50}")
    dimensions = sorted(dimension_symbols(D.expression) | dimension_symbols(variables[0]), key=str)
    sizes = {}
    for s in dimensions:
        value = dim.get(s.name) if isinstance(dim, Mapping) else dim
        if value is None:
            raise NotSupported(f"form='components' needs a size for {s.name}: dim={{'{s.name}': ...}}")
        if not isinstance(value, (int, np.integer)) or not 1 <= int(value) <= 200:
            raise NotSupported(f"the size of {s.name} must be a whole number from 1 to 200, not {value!r}")
        sizes[s] = int(value)
    matrices = {n for n in sp.preorder_traversal(D.expression) if isinstance(n, sp.MatrixSymbol)} | {variables[0]}
    explicit = {M: _explicit(M, sizes) for M in matrices}
    fixed = Domains({**D.domains.samplers, **{s.name: constant(k) for s, k in sizes.items()}})
    D.section("Components (" + ", ".join(f"{s.name} = {k}" for s, k in sizes.items()) + ")")
    for name in [q for q in D.results if q in ("gradient", "hessian", "jacobian")]:
        matrix_form = D.results[name]
        written = _expand(matrix_form, explicit, sizes)
        step = Step("write out the components", f"Put the entries of {', '.join(sorted(M.name for M in matrices))} "
                    f"into the {name} and multiply out: entry by entry, as one would check by hand.",
                    matrix_form, written, lhs=Notation(name, r"\text{%s}" % name),
                    check=ComponentsOf(explicit), domains=fixed).verify(seed=len(D.steps))
        D.steps.append(step)
        D.results[name] = written
    D.form = "components"


def _explicit(M, sizes):
    rows, cols = (int(sp.sympify(k).xreplace(sizes)) for k in M.shape)
    if cols == 1:
        return sp.ImmutableMatrix([[sp.Symbol(f"{M.name}_{i}")] for i in range(rows)])
    sep = "" if rows <= 10 and cols <= 10 else "_"
    return sp.ImmutableMatrix([[sp.Symbol(f"{M.name}_{i}{sep}{j}") for j in range(cols)] for i in range(rows)])


def _expand(expr, explicit, sizes):
    """expr with explicit matrices put in, multiplied out node by node (shared sub-results computed once)."""
    memo: dict = {}

    def go(e):
        if e in memo:
            return memo[e]
        memo[e] = value = _explicit_node(e, go, explicit, sizes)
        return value

    value = go(expr)
    return sp.ImmutableMatrix(value) if isinstance(value, sp.MatrixBase) else value


def _explicit_node(e, go, explicit, sizes):
    if isinstance(e, sp.MatrixSymbol):
        return explicit[e]
    if not e.args:
        return e.xreplace(sizes)
    shape = tuple(int(sp.sympify(k).xreplace(sizes)) for k in e.shape) if e.is_Matrix else None
    if isinstance(e, sp.OneMatrix):
        return sp.ones(*shape)
    if isinstance(e, sp.ZeroMatrix):
        return sp.zeros(*shape)
    if isinstance(e, sp.Identity):
        return sp.eye(shape[0])
    if isinstance(e, sp.MatAdd):
        total = go(e.args[0])
        for a in e.args[1:]:
            total = total + go(a)
        return total
    if isinstance(e, sp.MatMul):
        scalar, product = sp.S.One, None
        for a in e.args:
            value = go(a)
            if isinstance(value, sp.MatrixBase):
                product = value if product is None else product * value
            else:
                scalar = scalar * value
        return product if scalar == 1 else product.applyfunc(lambda t: scalar * t)
    if isinstance(e, sp.Transpose):
        return go(e.arg).T
    if isinstance(e, sp.Inverse):
        return go(e.arg).inv()
    if isinstance(e, HadamardProduct):
        total = go(e.args[0])
        for a in e.args[1:]:
            total = total.multiply_elementwise(go(a))
        return total
    if isinstance(e, HadamardPower):
        k = go(e.exp)
        return go(e.base).applyfunc(lambda t: t ** k)
    if isinstance(e, Elementwise):
        return go(e.arg).applyfunc(e.function)
    if isinstance(e, DiagMatrix):
        return sp.diag(*list(go(e.args[0])))
    if isinstance(e, sp.Trace):
        return go(e.arg).trace()
    if isinstance(e, sp.Determinant):
        return go(e.arg).det()
    if isinstance(e, sp.MatPow):
        return go(e.base) ** int(go(e.exp))
    if e.is_Matrix:
        raise NotSupported(f"cannot write {unicode(e)} out in components")
    args = [go(a) for a in e.args]
    if any(isinstance(a, sp.MatrixBase) for a in args):   # a 1×1 matrix inside a scalar formula
        args = [a[0, 0] if isinstance(a, sp.MatrixBase) and a.shape == (1, 1) else a for a in args]
    return e.func(*args)


class ComponentsOf(Check):
    """after is before written out entry by entry: the same numbers, at random entries (checked spot-wise,
    since a written-out 50×50 Hessian has thousands of entries)."""

    def __init__(self, explicit):
        super().__init__()
        self.explicit = explicit

    def symbols(self, before, after):
        return [before]

    def values(self, before, after, env):
        filled = dict(env)
        for M, entries in self.explicit.items():
            if M.name not in env:  # a matrix the result does not depend on (the Hessian of xᵀAx has no x)
                continue
            values = np.atleast_2d(np.asarray(env[M.name], dtype=float))
            for (i, j), s in np.ndenumerate(np.array(entries.tolist(), dtype=object)):
                filled[s.name] = float(values[i, j])
        left = np.atleast_2d(np.asarray(evaluate(before, env)))
        if not isinstance(after, sp.MatrixBase):
            return left.ravel(), np.ravel(evaluate(after, filled))
        rng = np.random.default_rng(len(env))
        picks = [tuple(int(rng.integers(0, k)) for k in after.shape) for _ in range(COMPONENT_CHECKS)]
        return (np.array([left[i, j] for i, j in picks]),
                np.array([evaluate(after[i, j], filled) for i, j in picks]))


def dimension_symbols(expression) -> set:
    """The sizes (n, d, ...) in the shapes of the matrices of expression."""
    found = set()
    for node in sp.preorder_traversal(expression):
        if isinstance(node, (sp.MatrixSymbol, sp.OneMatrix, sp.ZeroMatrix, sp.Identity)):
            found |= {s for s in sp.Tuple(*node.shape).free_symbols if isinstance(s, sp.Symbol)}
    return found
