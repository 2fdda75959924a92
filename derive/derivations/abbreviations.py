"""A scalar shown by a short name (x̄, ŷ₀) inside a derivation's steps and evaluated by its definition.

Typography, as a textbook writes "Σᵢ(xᵢ − x̄)² with x̄ = (1/n)Σⱼxⱼ": SymPy would otherwise multiply the
definition out into every formula. Results never hold one (`unfold` replaces each by its definition), so
they stay plain SymPy that `.doit()` evaluates. The matrix counterpart is `derive.derivations.logistic.Named`.
"""
from __future__ import annotations

import sympy as sp
from sympy.core.symbol import Str

from derive.core.numeval import evaluate, rule
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


def unfold(expr):
    """expr with every abbreviation replaced by its definition (a 1×1 matrix by its one entry)."""
    def definition(a):
        inner = unfold(a.definition)
        return inner[0, 0] if getattr(inner, "is_Matrix", False) else inner
    return expr.replace(lambda e: isinstance(e, Abbreviation), definition)
