"""How derive read an expression, shown back to the user before any answer: ``read as: a·x²``.

Every command that reads what a person typed echoes this line (and a ``read_as`` field in JSON), so a
reading is never a guess the user cannot see.  It is the textbook Unicode form with every product marked
by ``·``: the product a·x and a name ``ax`` must never look alike, nor X·b and a matrix named ``Xb``.
"""
from __future__ import annotations

import sympy as sp

from derive.expr.printing import TextbookTextPrinter, negate


class _ReadingPrinter(TextbookTextPrinter):
    """The textbook printer with every product written with ·."""

    def _factor(self, f) -> str:
        return self._wrap(f) if isinstance(f, (sp.Add, sp.MatAdd)) else self._print(f)

    def _print_Mul(self, expr):
        if expr.could_extract_minus_sign():
            return "−" + self._print(-expr)
        if expr.as_numer_denom()[1] != 1:
            return super()._print_Mul(expr)
        return "·".join(self._factor(f) for f in sp.Mul.make_args(expr))

    def _print_MatMul(self, expr):
        coefficient, matrices = expr.as_coeff_matrices()
        if coefficient.could_extract_minus_sign():
            return "−" + self._print(negate(expr))
        factors = ([] if coefficient == 1 else [coefficient]) + list(matrices)
        return "·".join(self._factor(f) for f in factors)


_PRINTER = _ReadingPrinter()


def reading(expr) -> str:
    """The expression as derive read it, every product marked: ``a·x²``, ``Xᵀ·(σ(X·β) − y)``, ``f(x²)``.

    >>> from derive.parse import parse
    >>> reading(parse("a x^2"))
    'a·x²'
    """
    return _PRINTER.doprint(expr)
