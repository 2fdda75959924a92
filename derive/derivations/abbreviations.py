"""A scalar or a matrix shown by a short name (x̄, ηᵢ, S = diag(…)) inside a derivation's steps and
evaluated by its definition.

Typography, as a textbook writes "Σᵢ(xᵢ − x̄)² with x̄ = (1/n)Σⱼxⱼ" or "XᵀSX with S = diag(sᵢ)": SymPy
would otherwise multiply the definition out into every formula. Results never hold one (`unfold` replaces
each by its definition), so they stay plain SymPy that `.doit()` evaluates.
"""
from __future__ import annotations

import sympy as sp
from sympy.core.symbol import Str
from sympy.matrices.expressions.matexpr import MatrixExpr

from derive.core.numeval import evaluate, rule
from derive.expr.algebra import multiply
from derive.expr.notation import NameForDefinition


class Abbreviation(NameForDefinition, sp.Expr):
    """A scalar named `text` (`latex` in LaTeX) that stands for `definition` (a scalar or a 1×1 matrix)."""

    is_commutative = True
    prints_as_symbol = True   # x̄², not (x̄)²

    def __new__(cls, text, latex, definition):
        text, latex = (a if isinstance(a, Str) else Str(a) for a in (text, latex))
        return super().__new__(cls, text, latex, sp.sympify(definition))

    def doit(self, **hints):
        # Keeps the name while symbols remain; once numbers replace them (DESIGN §3), it is its value.
        value = self.definition.doit(**hints)
        if isinstance(value, sp.MatrixBase):
            return value[0, 0]
        return value if not value.free_symbols and not value.has(sp.MatrixSymbol) else self


@rule(Abbreviation)
def _abbreviation(expr, env):
    value = evaluate(expr.definition, env)
    return value.item() if getattr(value, "shape", None) == (1, 1) else value


class Named(NameForDefinition, MatrixExpr):
    """A matrix named `text` (`latex` in LaTeX) that stands for `definition` (S, z, P)."""

    prints_as_symbol = True   # printed like a symbol: XᵀSX, S⁻¹, not (S)⁻¹

    def __new__(cls, text, latex, definition):
        text, latex = (a if isinstance(a, Str) else Str(a) for a in (text, latex))  # func(*args) rebuilds
        return super().__new__(cls, text, latex, sp.sympify(definition))

    @property
    def shape(self):
        return self.definition.shape

    def _entry(self, i, j, **kwargs):
        return self.definition._entry(i, j, **kwargs)

    def doit(self, **hints):
        # Keeps the name (SymPy's * and − call doit() on every operand); `unfold` removes it.
        return self


@rule(Named)
def _evaluate_named(expr, env):
    return evaluate(expr.definition, env)


def unfold(expr):
    """expr with every abbreviation replaced by its definition (a scalar's 1×1 matrix by its one entry, a
    matrix's products flattened: A(BC)D is ABCD)."""
    def definition(a):
        inner = unfold(a.definition)
        return inner[0, 0] if isinstance(a, Abbreviation) and getattr(inner, "is_Matrix", False) else inner
    return flatten_products(expr.replace(lambda e: isinstance(e, (Abbreviation, Named)), definition))


def flatten_products(expr):
    """A(BC)D → ABCD inside every matrix product (SymPy keeps nested products apart until doit())."""
    if not getattr(expr, "args", None) or isinstance(expr, Named):
        return expr
    args = [flatten_products(a) for a in expr.args]
    if isinstance(expr, sp.MatMul):
        return multiply(args, expr)
    return expr.func(*args) if args != list(expr.args) else expr
