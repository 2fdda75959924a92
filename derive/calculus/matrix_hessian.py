"""Hessians with respect to a matrix, in vec form with Kronecker products (Magnus & Neudecker, ch. 2 and 10).

The second derivative of a scalar f(X), X m×n, is a fourth-order tensor; a textbook writes it as the mn×mn
matrix H with d vec(∇f) = H d vec(X), where vec stacks the columns. H is read off the differential of the
gradient term by term:

    P dX Q   ⇒  (Qᵀ ⊗ P) d vec(X)       vec(ABC) = (Cᵀ ⊗ A) vec(B)
    P dXᵀ Q  ⇒  (Qᵀ ⊗ P) K d vec(X)     K vec(X) = vec(Xᵀ), the commutation matrix

so tr(XᵀAX) has the Hessian Iₙ ⊗ (A + Aᵀ) and tr(X²) the Hessian 2K. A term of another form (dX inside an
entrywise product or a function) is refused, naming the term.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from derive.calculus.differentials import _terms, differentiate
from derive.core.numeval import directional_derivative, evaluate
from derive.core.steps import Check, Derivation
from derive.errors import NotSupported
from derive.expr.algebra import add, multiply, split_product
from derive.expr.notation import d, differential_key
from derive.expr.printing import unicode
from derive.expr.symbols import Commutation, Eye


def vec(a) -> np.ndarray:
    """The columns of a stacked into one column."""
    return np.reshape(np.asarray(a), (-1, 1), order="F")


class VecHessianIs(Check):
    """after is the H with vec(d∇f) = H vec(dX), along a random direction U = dX: before is the gradient ∇f
    (`of="function"`, its change along U by a complex step) or its differential d(∇f), whose d-nodes read U."""

    def __init__(self, wrt, of: str = "differential"):
        super().__init__(varying=(wrt,))
        self.wrt, self.of = wrt, of

    def symbols(self, before, after):
        return [before, after, self.wrt]

    def values(self, before, after, env):
        direction = env[differential_key(self.wrt)]
        change = evaluate(before, env) if self.of == "differential" else \
            directional_derivative(before, env, {self.wrt.name: direction})
        return np.asarray(evaluate(after, env)) @ vec(direction), vec(change)


def _product(factors, size):
    if not factors:
        return Eye(size)
    return factors[0] if len(factors) == 1 else sp.MatMul(*factors)


def _kronecker_parts(term, dX):
    """(Qᵀ, c·P, transposed) for the term c·P dX Q (transposed: P dXᵀ Q), or NotSupported naming the term."""
    coefficient, factors = split_product(term)
    hits = [k for k, f in enumerate(factors) if f.has(dX)]
    if len(hits) != 1 or factors[hits[0]] not in (dX, sp.Transpose(dX)) or coefficient.has(dX):
        raise NotSupported(f"the term {unicode(term)} of the gradient's differential is not of the form P dX Q "
                           f"or P dXᵀ Q, so derive cannot write the Hessian with respect to {unicode(dX.arg)} "
                           "in vec form")
    k = hits[0]
    F = factors[k]
    P, Q = factors[:k], factors[k + 1:]
    left = _product(Q, F.cols).T if Q else Eye(F.cols)
    return left, coefficient * _product(P, F.rows), F != dX


def _kronecker(left, right, commutation=None):
    """left ⊗ right (times K) with right's number in front (A ⊗ (−cB) = −c(A ⊗ B)); I ⊗ I is the larger
    identity, which a following K absorbs."""
    coefficient, factors = split_product(right)
    right = _product(factors, right.rows)
    product = [] if isinstance(left, sp.Identity) and isinstance(right, sp.Identity) else \
        [sp.KroneckerProduct(left, right)]
    product += [commutation] if commutation is not None else []
    if not product:
        product = [Eye(left.rows * right.rows)]
    return multiply([coefficient, *product], product[0])


def matrix_hessian(D: Derivation, G, X, lhs, result_lhs):
    """H with d vec(∇f) = H d vec(X): the differential of the gradient G, then its terms in Kronecker form."""
    size = X.rows * X.cols
    if not G.has(X):
        return D.step("constant rule", f"The gradient does not depend on {unicode(X)}: the Hessian is zero.",
                      G, sp.ZeroMatrix(size, size), check=VecHessianIs(X, of="function"), lhs=result_lhs)
    differential = differentiate(D, G, X, lhs)
    dX = d(X)
    groups: dict = {}
    for term in _terms(differential):
        left, right, transposed = _kronecker_parts(term, dX)
        groups.setdefault((left, transposed), []).append(right)
    blocks = []
    for (left, transposed), rights in groups.items():
        blocks.append(_kronecker(left, add(rights, rights[0]), Commutation(X.rows, X.cols) if transposed else None))
    H = blocks[0] if len(blocks) == 1 else sp.MatAdd(*blocks)
    return D.step("read off the Hessian (vec form)",
                  "vec(P dX Q) = (Qᵀ ⊗ P) vec(dX) and vec(P dXᵀ Q) = (Qᵀ ⊗ P)K vec(dX), with K vec(X) = vec(Xᵀ): "
                  "collect d vec(∇f) = H d vec(X).", differential, H, check=VecHessianIs(X), lhs=result_lhs)
