"""Whole-term gradient identities, the textbook's shortcut for sums of linear and quadratic forms.

Each identity says what the gradient of one kind of term is, with its source in The Matrix Cookbook
(Petersen & Pedersen, 2012; equation numbers of that edition). `termwise_gradient` applies them term by
term and names the identities used; a term none of them matches is left to the differential engine
(`derive.calculus.differentials`), so this table can stay small without ever being wrong.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import sympy as sp

from derive.expr.algebra import split_product


@dataclass(frozen=True)
class Identity:
    name: str
    source: str
    gradient: Callable  # (matrix factors of the term, the variable) -> gradient, or None if no match


def _constant(factors, v):
    return sp.ZeroMatrix(*v.shape) if not any(f.has(v) for f in factors) else None


def _linear(factors, v):
    """aᵀv or vᵀa, a free of v: the gradient is a."""
    if len(factors) >= 2 and factors[0] == v.T and not any(f.has(v) for f in factors[1:]):
        return sp.MatMul(*factors[1:]) if len(factors) > 2 else factors[1]
    if len(factors) >= 2 and factors[-1] == v and not any(f.has(v) for f in factors[:-1]):
        return sp.MatMul(*factors[:-1]).T if len(factors) > 2 else factors[0].T
    return None


def _quadratic(factors, v):
    """vᵀAv, A free of v: the gradient is (A + Aᵀ)v, which is 2Av when A is symmetric."""
    if len(factors) >= 2 and factors[0] == v.T and factors[-1] == v \
            and not any(f.has(v) for f in factors[1:-1]):
        if len(factors) == 2:
            return 2 * v
        A = sp.MatMul(*factors[1:-1]) if len(factors) > 3 else factors[1]
        return sp.MatMul(sp.MatAdd(A, sp.Transpose(A)), v)
    return None


IDENTITIES = [
    Identity("∂c/∂v = 0", "a term free of v", _constant),
    Identity("∂(aᵀv)/∂v = ∂(vᵀa)/∂v = a", "Matrix Cookbook (69)", _linear),
    Identity("∂(vᵀAv)/∂v = (A + Aᵀ)v", "Matrix Cookbook (81)", _quadratic),
]


def term_gradient(term, v) -> Optional[tuple]:
    """(gradient, identity) for one term c·F₁…Fₘ of a scalar, or None when no identity matches."""
    coefficient, factors = split_product(term)
    if coefficient.has(v):
        return None
    for identity in IDENTITIES:
        found = identity.gradient(factors, v)
        if found is not None:
            return (found if coefficient == 1 else coefficient * found), identity
    return None


def termwise_gradient(expr, v):
    """(∇expr, identities used) when every term matches an identity, else None."""
    terms = expr.args if isinstance(expr, sp.MatAdd) else (expr,)
    found = [term_gradient(t, v) for t in terms]
    if any(f is None for f in found):
        return None
    gradients = [g for g, _ in found if not isinstance(g, sp.ZeroMatrix)]
    used = []
    for _, identity in found:
        if identity not in used:
            used.append(identity)
    total = sp.MatAdd(*gradients) if len(gradients) > 1 else (gradients[0] if gradients else sp.ZeroMatrix(*v.shape))
    return total, used
