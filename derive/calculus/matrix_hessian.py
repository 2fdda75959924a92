"""Hessians with respect to a matrix, in vec form with Kronecker products (Magnus & Neudecker, ch. 2 and 10).

The second derivative of a scalar f(X), X m×n, is a fourth-order tensor; a textbook writes it as the mn×mn
matrix H with d vec(∇f) = H d vec(X), where vec stacks the columns. H is read off the differential of the
gradient term by term:

    P dX Q        ⇒  (Qᵀ ⊗ P) d vec(X)              vec(ABC) = (Cᵀ ⊗ A) vec(B)
    P dXᵀ Q       ⇒  (Qᵀ ⊗ P) K d vec(X)            K vec(X) = vec(Xᵀ), the commutation matrix
    P (B ⊙ dX) Q  ⇒  (Qᵀ ⊗ P) diag(vec(B)) d vec(X)  vec(B ⊙ dX) = vec(B) ⊙ vec(dX)
    P diag(g) B Q  ⇒  (Qᵀ ⊗ P) diag(vec(B))(𝟏 ⊗ I) J       diag(g)B = (g𝟏ᵀ) ⊙ B, g = J d vec(X)
    tr(Gᵀ dX) M   ⇒  vec(M) vec(G)ᵀ d vec(X)         tr(Gᵀ dX) = vec(G)ᵀ vec(dX)

so tr(XᵀAX) has the Hessian Iₙ ⊗ (A + Aᵀ), tr(X²) the Hessian 2K and 𝟏ᵀexp(X)𝟏 the Hessian diag(vec(exp(X))).
A term of another form is refused, naming the term.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.hadamard import HadamardProduct

from derive.calculus.differentials import _terms, differentiate, gradient_coefficient
from derive.core.numeval import directional_derivative, evaluate
from derive.core.steps import Check, Derivation
from derive.errors import NotSupported
from derive.expr.algebra import add, hadamard, multiply, split_product
from derive.expr.notation import d, differential_key
from derive.expr.printing import unicode
from derive.expr.symbols import Eye
from derive.expr.vec import Commutation, Vec


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


def _unsupported(term, dX):
    return NotSupported(f"the term {unicode(term)} of the gradient's differential is not of the form P dX Q, "
                        f"P dXᵀ Q, P (B ⊙ dX) Q or tr(Gᵀ dX)M, so derive cannot write the Hessian with respect to "
                        f"{unicode(dX.arg)} in vec form")


def _kronecker_parts(term, dX):
    """(Qᵀ, c·P, the factor after the Kronecker product or None) with vec(term) = (Qᵀ ⊗ cP)·factor·vec(dX), for
    c·P F Q with F = dX (no factor), dXᵀ (K) or B ⊙ dX (diag(vec(B))); or NotSupported naming the term."""
    coefficient, factors = split_product(term)
    hits = [k for k, f in enumerate(factors) if f.has(dX)]
    if len(hits) != 1 or coefficient.has(dX):
        raise _unsupported(term, dX)
    k = hits[0]
    F, P, Q = factors[k], factors[:k], factors[k + 1:]
    inner = [a for a in _entrywise_factors(F) if a.has(dX)] if isinstance(F, HadamardProduct) else []
    if F == dX:
        after = None
    elif F == sp.Transpose(dX):
        after = Commutation(dX.rows, dX.cols)
    elif len(inner) == 1:   # B ⊙ G(dX): diag(vec(B)) times the vec form of G
        outer = hadamard([a for a in _entrywise_factors(F) if not a.has(dX)])
        inside = vec_jacobian(inner[0], dX)
        after = DiagMatrix(Vec(outer)) if isinstance(inside, sp.Identity) else \
            multiply([DiagMatrix(Vec(outer)), inside], outer)
    elif isinstance(F, DiagMatrix) and F.args[0].cols == 1 and Q and not Q[0].has(dX):
        # diag(g(dX))B = (g𝟏ᵀ) ⊙ B: diag(vec(B))(𝟏 ⊗ I) times the vec form of g (a column, its own vec)
        F, Q = Q[0], Q[1:]
        spread = sp.KroneckerProduct(sp.OneMatrix(F.cols, 1), Eye(F.rows))
        after = multiply([DiagMatrix(Vec(F)), spread, vec_jacobian(factors[k].args[0], dX)], F)
    else:
        raise _unsupported(term, dX)
    left = _product(Q, F.cols).T if Q else Eye(F.cols)
    return left, coefficient * _product(P, F.rows), after


def vec_jacobian(expr, dX):
    """H with vec(expr) = H vec(dX), for a differential linear in dX, its terms of the forms above."""
    groups: dict = {}
    blocks = []
    for term in _terms(expr):
        outer = _outer_part(term, dX)
        if outer is not None:
            blocks.append(outer)
            continue
        left, right, after = _kronecker_parts(term, dX)
        groups.setdefault((left, after), []).append(right)
    for (left, after), rights in groups.items():
        blocks.append(_kronecker(left, add(rights, rights[0]), after))
    return blocks[0] if len(blocks) == 1 else sp.MatAdd(*blocks)


def _entrywise_factors(product) -> list:
    """The factors of A ⊙ (B ⊙ C), nested products flattened."""
    return [f for a in product.args for f in (_entrywise_factors(a) if isinstance(a, HadamardProduct) else [a])]


def _outer_part(term, dX):
    """c·vec(M)vec(G)ᵀ for the term tr(Gᵀ dX)·M (a scalar differential times a constant matrix), else None;
    numbers stay out of vec(·): vec(cA) = c vec(A)."""
    coefficient, factors = split_product(term)
    if not coefficient.has(dX) or any(f.has(dX) for f in factors):
        return None
    number, gradient_factors = split_product(gradient_coefficient(coefficient, dX))
    G = _product(gradient_factors, dX.rows)
    return multiply([number, Vec(_product(factors, term.rows)), Vec(G).T], G)


def _kronecker(left, right, after=None):
    """(left ⊗ right)·after with right's number in front (A ⊗ (−cB) = −c(A ⊗ B)); I ⊗ I is the larger
    identity, which a following factor absorbs."""
    coefficient, factors = split_product(right)
    right = _product(factors, right.rows)
    product = [] if isinstance(left, sp.Identity) and isinstance(right, sp.Identity) else \
        [sp.KroneckerProduct(left, right)]
    product += [after] if after is not None else []
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
    H = vec_jacobian(differential, dX)
    return D.step("read off the Hessian (vec form)",
                  "vec(P dX Q) = (Qᵀ ⊗ P) vec(dX), vec(P dXᵀ Q) = (Qᵀ ⊗ P)K vec(dX) with K vec(X) = vec(Xᵀ), "
                  "vec(B ⊙ dX) = diag(vec(B)) vec(dX), vec(diag(g)B) = diag(vec(B))(𝟏 ⊗ I)g and "
                  "tr(Gᵀ dX) = vec(G)ᵀ vec(dX): collect d vec(∇f) = H d vec(X).", differential, H, check=VecHessianIs(X), lhs=result_lhs)
