"""The notation of probability statements: the expectation E[u] of a random expression (a scalar E[u] or a
matrix E[U], taken entrywise), and the bound a ≤ b.

What E[u] is worth numerically depends on the distribution of the random variables in u, which a step's
check supplies (`derive.core.moments`); the node itself only says "the mean of this" and prints as 𝔼 does
in a textbook.
"""
from __future__ import annotations

import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr


class _ExpectationNotation:
    @property
    def arg(self):
        return self.args[0]

    def _latex(self, printer):
        return r"\mathbb{E}\left[%s\right]" % printer._print(self.arg)

    def _unicode(self, printer):
        return "E[%s]" % printer._print(self.arg)

    def _sympystr(self, printer):
        return "E[%s]" % printer._print(self.arg)


class Expectation(_ExpectationNotation, sp.Expr):
    """E[u] for a scalar random expression u."""

    is_commutative = True


class MatrixExpectation(_ExpectationNotation, MatrixExpr):
    """E[U] for a random vector or matrix U, entry by entry."""

    @property
    def shape(self):
        return self.arg.shape

    def doit(self, **hints):
        return self


def E(u):
    """The expectation of u, a scalar or matrix node by the shape of u."""
    return MatrixExpectation(u) if getattr(u, "is_Matrix", False) else Expectation(u)


class AtMost(sp.LessThan):
    """a ≤ b, printed with the sign a textbook uses (SymPy's own text form is `<=`); for bounds such as the
    descent lemma's f(x − ∇f(x)/L) ≤ f(x) − ‖∇f(x)‖²/(2L)."""

    def _unicode(self, printer):
        return "%s ≤ %s" % (printer._print(self.lhs), printer._print(self.rhs))
