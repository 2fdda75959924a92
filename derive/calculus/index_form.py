"""Summation notation: partial derivatives ∂/∂βₖ under Σ, and the Kronecker delta summed out by hand.

SymPy differentiates Σⱼ Xᵢⱼβⱼ with respect to βₖ into Σⱼ Xᵢⱼδⱼₖ and, asked to evaluate that, leaves a
Piecewise on whether k lies in the summation range. A student knows it does: Σⱼ Xᵢⱼδⱼₖ = Xᵢₖ.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from derive.core.numeval import evaluate, indexed_key
from derive.core.steps import Check


def partial_derivative(expr, base: sp.IndexedBase, index: sp.Symbol):
    """∂expr/∂base_index, with ∂base_j/∂base_index left as δ_{j,index} (SymPy's own rule)."""
    return sp.factor_terms(sp.diff(expr, base[index]))


def eliminate_deltas(expr):
    """Σⱼ f(j)·δⱼₖ = f(k) for every sum whose summand has a delta on its own index (k within the range)."""
    def sum_out(node):
        if not isinstance(node, sp.Sum) or len(node.limits) != 1:
            return node
        j = node.limits[0][0]
        for factor in sp.Mul.make_args(node.function):
            if isinstance(factor, sp.KroneckerDelta) and j in factor.args:
                other = factor.args[1] if factor.args[0] == j else factor.args[0]
                return (node.function / factor).subs(j, other)
        return node

    return sp.factor_terms(expr.replace(lambda e: isinstance(e, sp.Sum), sum_out))


class EntryOf(Check):
    """before is entry (row, col) of the matrix after, the subscripts 1-based as in Σᵢ: stacking coordinates.

    Checks that the d partial derivatives ∂ℓ/∂βₖ (or the d×d second partials) are the matrix result."""

    def __init__(self, row, col=None):
        super().__init__()
        self.row, self.col = row, col

    def values(self, before, after, env):
        r = int(env[self.row.name]) - 1
        c = int(env[self.col.name]) - 1 if self.col is not None else 0
        return evaluate(before, env), np.asarray(evaluate(after, env))[r, c]


class IsPartial(Check):
    """after = ∂ before / ∂ base_index, at a random index in range (complex step along that coordinate)."""

    def __init__(self, base: sp.IndexedBase, index: sp.Symbol):
        super().__init__()
        self.base, self.index = base, index

    def values(self, before, after, env):
        key = indexed_key(str(self.base.label))
        direction = np.zeros(np.shape(env[key]))
        direction[env[self.index.name]] = 1.0
        shifted = {**env}
        h = 1e-30
        shifted[key] = np.asarray(env[key], dtype=complex) + 1j * h * direction
        return evaluate(after, env), np.imag(evaluate(before, shifted)) / h


# ---------------------------------------------------------------------------------------------------
# A matrix expression in summation notation
# ---------------------------------------------------------------------------------------------------
# Index names by dimension, as a textbook uses them: i over the n observations, j over the d features;
# k and l are kept free for the coordinates of a derivative (∂/∂βₖ, ∂²/∂βₖ∂βₗ).
INDEX_NAMES = {"n": ("i", "r", "s"), "d": ("j", "p", "q"), "K": ("c", "e")}
SPARE_NAMES = ("a", "b", "t", "u")


def summation_form(expr):
    """The scalar (1×1) matrix expression `expr` in summation notation: (y − Xβ)ᵀ(y − Xβ) ↦
    Σᵢ(yᵢ − Σⱼ Xᵢⱼβⱼ)², 𝟏ᵀf(Xβ) ↦ Σᵢ f(Σⱼ Xᵢⱼβⱼ); vectors are x_i, matrices X_ij, sums run from 1."""
    return entry_of(expr, sp.S.One, sp.S.One, frozenset())


def entry_of(expr, row, col, bound: frozenset):
    """Entry (row, col) (1-based indices or the number 1) of the matrix expression, as a scalar in Indexed
    entries and Sums; `bound` are the index names in use around it (a new sum takes another name)."""
    from sympy.matrices.expressions.diagonal import DiagMatrix
    from sympy.matrices.expressions.hadamard import HadamardPower, HadamardProduct

    from derive.errors import NotSupported
    from derive.expr.functions import Elementwise
    from derive.expr.printing import unicode

    if not getattr(expr, "is_Matrix", False):
        return _scalar_entries(expr, bound)
    if isinstance(expr, sp.MatrixSymbol):
        rows, cols = expr.shape
        if cols == 1:
            return sp.IndexedBase(expr.name, shape=(rows,))[row]
        if rows == 1:
            return sp.IndexedBase(expr.name, shape=(cols,))[col]
        return sp.IndexedBase(expr.name, shape=(rows, cols))[row, col]
    if isinstance(expr, sp.Transpose):
        return entry_of(expr.arg, col, row, bound)
    if isinstance(expr, sp.MatAdd):
        return sp.Add(*[entry_of(a, row, col, bound) for a in expr.args])
    if isinstance(expr, sp.MatMul):
        scalars = sp.Mul(*[a for a in expr.args if not a.is_Matrix])
        factors = [a for a in expr.args if a.is_Matrix]
        indices, limits, taken = [row], [], set(bound) | _names(row) | _names(col)
        for f in factors[:-1]:
            inner = f.shape[1]
            if inner == 1:
                indices.append(sp.S.One)
                continue
            j = _fresh(inner, taken)
            taken.add(j.name)
            indices.append(j)
            limits.append((j, 1, inner))
        indices.append(col)
        inside = frozenset(taken)
        # nested from the right, as yᵀ(Xβ) is read: Σᵢ yᵢ Σⱼ Xᵢⱼβⱼ
        product = entry_of(factors[-1], indices[-2], col, inside)
        for m in range(len(factors) - 2, -1, -1):
            product = entry_of(factors[m], indices[m], indices[m + 1], inside) * product
            summed = [limit for limit in limits if limit[0] == indices[m + 1]]
            if summed:
                product = sp.Sum(product, summed[0])
        return _scalar_entries(scalars, bound) * product
    if isinstance(expr, (sp.Identity,)):
        return sp.KroneckerDelta(row, col)
    if isinstance(expr, sp.OneMatrix):
        return sp.S.One
    if isinstance(expr, sp.ZeroMatrix):
        return sp.S.Zero
    if isinstance(expr, Elementwise):
        return expr.function(entry_of(expr.arg, row, col, bound))
    if isinstance(expr, HadamardProduct):
        return sp.Mul(*[entry_of(a, row, col, bound) for a in expr.args])
    if isinstance(expr, HadamardPower):
        return entry_of(expr.base, row, col, bound) ** expr.exp
    if isinstance(expr, DiagMatrix):
        return sp.KroneckerDelta(row, col) * entry_of(expr.args[0], row, sp.S.One, bound)
    raise NotSupported(f"cannot write {unicode(expr)} in summation notation (derive writes sums, products, "
                       "transposes, entrywise functions and diag(·) of vectors and matrices)")


def _scalar_entries(expr, bound):
    """A scalar expression whose parts may be 1×1 matrices (a quadratic form as a number)."""
    if getattr(expr, "is_Matrix", False):
        return entry_of(expr, sp.S.One, sp.S.One, bound)
    holders = [a for a in sp.preorder_traversal(expr) if hasattr(a, "matrix") and getattr(a.matrix, "shape", None) == (1, 1)]
    return expr.xreplace({h: entry_of(h.matrix, sp.S.One, sp.S.One, bound) for h in holders}) if holders else expr


def _names(index) -> set:
    return {index.name} if isinstance(index, sp.Symbol) else set()


def _fresh(dimension, taken: set) -> sp.Symbol:
    candidates = INDEX_NAMES.get(str(dimension), ()) + SPARE_NAMES
    name = next(c for c in candidates if c not in taken)
    return sp.Symbol(name, integer=True)
