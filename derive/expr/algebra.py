"""Algebraic moves on matrix expressions, written the way a person does them on paper.

SymPy's own canonicalisation reorders terms and pushes transposes into sums; these helpers build and
rewrite products and sums without that, so each step of a derivation shows what a textbook shows.
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.hadamard import HadamardPower, HadamardProduct


def zero_like(u):
    return sp.ZeroMatrix(*u.shape) if u.is_Matrix else sp.S.Zero


def add(terms, like):
    terms = [t for t in terms if not (t == 0 or isinstance(t, sp.ZeroMatrix))]
    if not terms:
        return zero_like(like)
    if like.is_Matrix:
        return terms[0] if len(terms) == 1 else sp.MatAdd(*terms)
    return sp.Add(*terms)


def multiply(factors, like):
    """The product of the factors, nested matrix products flattened and their coefficients pulled out."""
    flat = []
    for f in factors:
        flat.extend(f.args if isinstance(f, sp.MatMul) else [f])
    scalars = [f for f in flat if not f.is_Matrix and f != 1]
    matrices = [f for f in flat if f.is_Matrix]
    if like.is_Matrix:
        return sp.MatMul(*scalars, *matrices) if (len(scalars) + len(matrices)) > 1 else (scalars + matrices)[0]
    return sp.Mul(*factors)


def split_product(term):
    """(scalar coefficient, matrix factors) of a product, nested products flattened: 𝟏ᵀ(2(a ⊙ b)) is
    (2, [𝟏ᵀ, a ⊙ b])."""
    if isinstance(term, sp.MatMul):
        coefficient, matrices = term.as_coeff_matrices()
        factors = []
        for m in matrices:
            inner, parts = split_product(m) if isinstance(m, sp.MatMul) else (sp.S.One, [m])
            coefficient, factors = coefficient * inner, factors + parts
        return coefficient, factors
    return sp.S.One, [term]


def hadamard(factors):
    """A ⊙ B ⊙ …, leaving out the all-ones factors (𝟏 is the identity of ⊙)."""
    # (a 1×1 identity, the empty product around a vector dv, is the 1×1 all-ones matrix too)
    kept = [f for f in factors if not isinstance(f, sp.OneMatrix) and not (isinstance(f, sp.Identity) and f.rows == 1)]
    if not kept:
        return factors[0]
    return kept[0] if len(kept) == 1 else HadamardProduct(*kept)


def transpose_shallow(expr):
    """Aᵀ written as a person would: (cPQ)ᵀ = cQᵀPᵀ, (Aᵀ)ᵀ = A, a sum kept whole as (…)ᵀ."""
    if isinstance(expr, sp.MatMul):
        coefficient, matrices = expr.as_coeff_matrices()
        return multiply([coefficient] + [transpose_shallow(m) for m in reversed(matrices)], expr)
    if isinstance(expr, sp.Transpose):
        return expr.arg
    if isinstance(expr, (sp.MatrixSymbol, sp.OneMatrix, sp.Identity, sp.ZeroMatrix, sp.Inverse)):
        return expr.T
    return sp.Transpose(expr)


def factor_common(expr):
    """Pull a matrix factor shared by every term out of a sum: AB − AC = A(B − C), BA − CA = (B − C)A."""
    if not isinstance(expr, sp.MatAdd):
        return expr
    split = [split_product(t) for t in expr.args]
    if all(len(m) > 1 for _, m in split):
        first = split[0][1][0]
        if all(m[0] == first for _, m in split):
            rest = sp.MatAdd(*[multiply([c] + m[1:], expr) for c, m in split])
            return multiply([first, factor_common(rest)], expr)
        last = split[0][1][-1]
        if all(m[-1] == last for _, m in split):
            rest = sp.MatAdd(*[multiply([c] + m[:-1], expr) for c, m in split])
            return multiply([factor_common(rest), last], expr)
    return expr


def expand(expr):
    """Multiply out every product of sums, transposes distributed: (y − Xβ)ᵀ(y − Xβ) = yᵀy − yᵀXβ − …"""
    return sp.expand(expr.doit())


def is_symmetric(A) -> bool:
    """Aᵀ = A by structure: MᵀM, I, sums and scalar multiples of symmetric matrices."""
    if isinstance(A, sp.MatAdd):
        return all(is_symmetric(t) for t in A.args)
    return bool(A.is_square) and transpose_shallow(A) == A


def combine_transposed(expr, v):
    """Write each 1×1 term with vᵀ in front where its transpose has it there (yᵀXβ = βᵀXᵀy), then collect."""
    terms = []
    for t in (expr.args if isinstance(expr, sp.MatAdd) else (expr,)):
        flipped = transpose_shallow(t)
        starts_with_v = lambda e: split_product(e)[1][0] == v.T
        terms.append(flipped if starts_with_v(flipped) and not starts_with_v(t) else t)
    return sp.MatAdd(*terms).doit()


def as_scalar(m):
    """The number a 1×1 matrix expression stands for, as a scalar: (xᵀx)^∘(−1/2) becomes (xᵀx)^(−1/2),
    so that it may scale a vector or matrix of any size (a 1×1 matrix may not)."""
    if isinstance(m, HadamardPower):
        return as_scalar(m.base) ** m.exp
    if isinstance(m, sp.MatMul):
        coefficient, factors = split_product(m)
        if all(f.shape == (1, 1) for f in factors):
            return coefficient * sp.Mul(*[as_scalar(f) for f in factors])
    if isinstance(m, sp.Inverse):
        return 1 / as_scalar(m.arg)
    if isinstance(m, (sp.Identity, sp.OneMatrix)):
        return sp.S.One
    if isinstance(m, HadamardProduct):
        return sp.Mul(*[as_scalar(f) for f in m.args])
    return sp.Trace(m)
