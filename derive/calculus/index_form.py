"""Summation notation: partial derivatives ∂/∂βₖ under Σ, and the Kronecker delta summed out by hand.

SymPy differentiates Σⱼ Xᵢⱼβⱼ with respect to βₖ into Σⱼ Xᵢⱼδⱼₖ and, asked to evaluate that, leaves a
Piecewise on whether k lies in the summation range. A student knows it does: Σⱼ Xᵢⱼδⱼₖ = Xᵢₖ.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from derive.core.numeval import evaluate, indexed_key
from derive.core.steps import Check


def partial_derivative(expr, base: sp.IndexedBase, *indices: sp.Symbol):
    """∂expr/∂base_index (∂expr/∂W_km of a matrix), with ∂base_j/∂base_index left as δ_{j,index} (SymPy's own
    rule)."""
    return sp.factor_terms(sp.diff(expr, base[indices]))


def eliminate_deltas(expr):
    """Σⱼ f(j)·δⱼₖ = f(k) for every sum whose summand has a delta on its own index (k within the range)."""
    def delta_on(term, j):
        return next((f for f in sp.Mul.make_args(term) if isinstance(f, sp.KroneckerDelta) and j in f.args), None)

    def sum_out(node):
        if not isinstance(node, sp.Sum):
            return node
        if len(node.limits) > 1:   # Σ_c Σᵢ with δ_cm inside: the sum over c innermost (finite sums commute)
            variables = [limit[0] for limit in node.limits]
            for at, limit in enumerate(node.limits):
                others = node.limits[:at] + node.limits[at + 1:]
                if any(isinstance(a, sp.KroneckerDelta) and limit[0] in a.args
                       for a in sp.preorder_traversal(node.function)) \
                        and not any(sp.Tuple(*o[1:]).has(*variables) for o in node.limits):
                    return sp.Sum(sum_out(sp.Sum(node.function, limit)), *others)
            return node
        j = node.limits[0][0]
        factor = delta_on(node.function, j)
        if factor is not None:
            other = factor.args[1] if factor.args[0] == j else factor.args[0]
            return (node.function / factor).subs(j, other)
        # Σ_c (δ_cm·a_c − b_c)y_c = a_m·y_m − Σ_c b_c·y_c: a delta inside a sum of terms, the sum split first
        terms = sp.Add.make_args(sp.expand(node.function, deep=False, mul=True, multinomial=False, power_exp=False,
                                           power_base=False, log=False))
        if len(terms) > 1 and any(delta_on(t, j) is not None for t in terms):
            return sp.Add(*[sum_out(sp.Sum(t, node.limits[0])) for t in terms])
        return node

    return sp.factor_terms(expr.replace(lambda e: isinstance(e, sp.Sum), sum_out))


class EntryOf(Check):
    """before is entry (row, col) of the matrix after, the subscripts 1-based as in Σᵢ: stacking coordinates.
    A subscript may be a triple (k, m, d): entry (k, m) of a d-row matrix parameter W, in vec(W) order.

    Checks that the d partial derivatives ∂ℓ/∂βₖ (or the d×d second partials) are the matrix result."""

    def __init__(self, row, col=None):
        super().__init__()
        self.row, self.col = row, col

    def values(self, before, after, env):
        return evaluate(before, env), np.asarray(evaluate(after, env))[self._position(self.row, env),
                                                                         self._position(self.col, env)]

    @staticmethod
    def _position(index, env) -> int:
        """0-based: of a subscript k, k − 1; of (k, m, d), entry (k, m) of a d-row matrix in vec order."""
        if index is None:
            return 0
        if isinstance(index, tuple):
            row, col, rows = index
            return (int(env[col.name]) - 1) * int(env[str(rows)]) + int(env[row.name]) - 1
        return int(env[index.name]) - 1


class IsPartial(Check):
    """after = ∂ before / ∂ base[indices] (βₖ, or W_km of a matrix), at random indices in range (complex step
    along that coordinate). The indexed entries are 1-based; where the expression also holds the matrix
    itself (softmax(XW) beside W_jc) its 0-based entry moves with them."""

    def __init__(self, base: sp.IndexedBase, *indices: sp.Symbol):
        super().__init__()
        self.base, self.indices = base, indices

    def values(self, before, after, env):
        name = str(self.base.label)
        at = tuple(int(env[i.name]) for i in self.indices)
        h = 1e-30
        shifted = dict(env)
        key = indexed_key(name)
        if key in env:
            shifted[key] = np.asarray(env[key], dtype=complex).copy()
            shifted[key][at] += 1j * h
        if len(at) == 2 and name in env:   # the matrix view is 0-based
            shifted[name] = np.asarray(env[name], dtype=complex).copy()
            shifted[name][at[0] - 1, at[1] - 1] += 1j * h
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
    from derive.expr.functions import Elementwise, VectorApplication
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
    if isinstance(expr, VectorApplication) and expr.name in _VECTOR_ENTRIES:
        return _VECTOR_ENTRIES[expr.name](expr, row, col, bound)
    raise NotSupported(f"cannot write {unicode(expr)} in summation notation (derive writes sums, products, "
                       "transposes, entrywise functions and diag(·) of vectors and matrices)")


def _scalar_entries(expr, bound):
    """A scalar expression whose parts may be 1×1 matrices (a quadratic form as a number) or traces."""
    if getattr(expr, "is_Matrix", False):
        return entry_of(expr, sp.S.One, sp.S.One, bound)
    holders = [a for a in sp.preorder_traversal(expr) if hasattr(a, "matrix") and getattr(a.matrix, "shape", None) == (1, 1)]
    expr = expr.xreplace({h: entry_of(h.matrix, sp.S.One, sp.S.One, bound) for h in holders}) if holders else expr
    traces = [a for a in sp.preorder_traversal(expr) if isinstance(a, sp.Trace)]
    return expr.xreplace({t: _trace_entries(t, bound) for t in traces}) if traces else expr


def _trace_entries(trace, bound):
    """tr(A) = Σ_c A_cc."""
    c = _fresh(trace.arg.rows, set(bound))
    return sp.Sum(entry_of(trace.arg, c, c, bound | {c.name}), (c, 1, trace.arg.rows))


# Entries of the vector functions, of a column vector z or of each row of a matrix Z (a sum over its columns).
def _over_the_vector(expr, row, bound):
    """(the fresh index e, its range, entry e of the vector that `row` picks: z_e, or Z_row,e of a matrix)."""
    A = expr.arg
    length = A.cols if expr.rowwise else A.rows
    e = _fresh(length, set(bound) | _names(row))
    inside = bound | {e.name} | _names(row)
    return e, length, entry_of(A, row, e, inside) if expr.rowwise else entry_of(A, e, sp.S.One, inside)


def _softmax_entry(expr, row, col, bound):
    """softmax(z)_k = exp(z_k)/Σ_e exp(z_e); of each row of Z, exp(Z_ic)/Σ_e exp(Z_ie)."""
    e, length, z_e = _over_the_vector(expr, row, bound)
    own = entry_of(expr.arg, row, col, bound) if expr.rowwise else entry_of(expr.arg, row, sp.S.One, bound)
    return sp.exp(own) / sp.Sum(sp.exp(z_e), (e, 1, length))


def _logsumexp_entry(expr, row, col, bound):
    """logsumexp(z) = log Σ_e exp(z_e); of each row of Z, entry i is log Σ_e exp(Z_ie)."""
    e, length, z_e = _over_the_vector(expr, row if expr.rowwise else sp.S.One, bound)
    return sp.log(sp.Sum(sp.exp(z_e), (e, 1, length)))


_VECTOR_ENTRIES = {"softmax": _softmax_entry, "logsumexp": _logsumexp_entry}


def _names(index) -> set:
    return {index.name} if isinstance(index, sp.Symbol) else set()


def _fresh(dimension, taken: set) -> sp.Symbol:
    candidates = INDEX_NAMES.get(str(dimension), ()) + SPARE_NAMES
    name = next(c for c in candidates if c not in taken)
    return sp.Symbol(name, integer=True)
