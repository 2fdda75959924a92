"""Plain-text printing that `derive.parse` reads back: the ``text`` of ``derive diff --json``.

>>> import sympy as sp
>>> n, d = sp.symbols("n d", integer=True, positive=True)
>>> X, y = sp.MatrixSymbol("X", n, d), sp.MatrixSymbol("y", n, 1)
>>> to_plain(sp.Inverse(X.T * X) * X.T * y)
"inv(X'*X)*X'*y"

The syntax is the plain half of derive's input grammar: ``*`` for every product, ``'`` for the
transpose, ``^`` for powers, ``.*`` and ``.^`` entrywise, ``inv tr det diag`` for the matrix
functions, ``eye(n)``, ``ones(n, 1)``, ``zeros(n, k)`` for the constant matrices, ``sigmoid`` for σ
(``sigma`` might be a declared name), Greek letters by name (``beta``, ``lambda``), ``x_{i}`` for an
indexed entry, ``sum_{i=1}^{n} (...)`` for a sum and ``[a, b; c, d]`` for an explicit matrix.  Parentheses are added where the grammar needs
them and only there, with two deliberate exceptions that keep the text unambiguous to a reader too:
an entrywise product inside a product is bracketed, and so is a sum that is a factor, because a sum's
body reaches to the end of its product.

`parse(to_plain(e), shapes)` equals `e` for the expressions `parse` produces, given the same shapes
(and the same `symbols`, where symbols carry assumptions).
"""
from __future__ import annotations

import re

import sympy as sp
from sympy.printing.precedence import PRECEDENCE, precedence
from sympy.printing.str import StrPrinter

_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*'*")


def to_plain(expr) -> str:
    """`expr` as plain text in derive's input syntax."""
    return PlainPrinter().doprint(expr)


def _plain_precedence(expr) -> int:
    if isinstance(expr, (sp.Sum, sp.Product)):
        return PRECEDENCE["Add"]  # as a factor it needs brackets: its body would swallow what follows
    if isinstance(expr, sp.HadamardProduct):
        return PRECEDENCE["Mul"] - 1  # bracketed inside * products, where .* and * would otherwise mix
    return precedence(expr)


class PlainPrinter(StrPrinter):
    """SymPy's str printer, changed where derive's grammar reads differently from Python."""

    # Not "_sympystr": SymPy objects' own str methods (Indexed prints x[i]) would win over ours.
    printmethod = "_plain"

    def _print_Basic(self, expr):
        own = getattr(expr, "_sympystr", None)  # derive's own objects print themselves
        return own(self) if own is not None else super()._print_Basic(expr)

    def parenthesize(self, item, level, strict=False):
        p = _plain_precedence(item)
        if p < level or (not strict and p <= level):
            return "(%s)" % self._print(item)
        return self._print(item)

    def _atomic(self, expr) -> str:
        """`expr` ready for a postfix mark (' or ^): bracketed unless it is a name or a call."""
        text = self._print(expr)
        if isinstance(expr, (sp.Symbol, sp.MatrixSymbol, sp.Indexed)) or \
                (text.endswith(")") and _balanced_call(text)):
            return text
        return "(%s)" % text

    def _exponent(self, exponent) -> str:
        if (exponent.is_Integer and exponent >= 0) or (isinstance(exponent, sp.Symbol) and len(exponent.name) == 1):
            return self._print(exponent)
        return "(%s)" % self._print(exponent)

    def _print_Symbol(self, expr):
        # A name the grammar cannot read as one word (the variance "sigma^2") is bracketed, so that its
        # powers print as (sigma^2)^2 and read back right; a context that knows "sigma^2" restores it.
        if _IDENTIFIER.fullmatch(expr.name):
            return expr.name
        return "(%s)" % expr.name

    # -- scalars ------------------------------------------------------------------------------------
    def _print_Pow(self, expr, rational=False):
        if expr.exp is sp.S.Half:
            return "sqrt(%s)" % self._print(expr.base)
        if expr.exp is sp.S.NegativeOne:
            return "1/%s" % self.parenthesize(expr.base, PRECEDENCE["Pow"], strict=False)
        return "%s^%s" % (self.parenthesize(expr.base, PRECEDENCE["Pow"], strict=False), self._exponent(expr.exp))

    def _print_Exp1(self, expr):
        return "exp(1)"

    def _print_ImaginaryUnit(self, expr):
        return "sqrt(-1)"

    def _print_Abs(self, expr):
        return "abs(%s)" % self._print(expr.args[0])

    def _print_KroneckerDelta(self, expr):
        return "delta_{%s,%s}" % (self._print(expr.args[0]), self._print(expr.args[1]))

    def _print_Elementwise(self, expr):
        return "%s(%s)" % (expr.name, self._print(expr.arg))

    _print_VectorApplication = _print_Elementwise

    def _print_Indexed(self, expr):
        indices = ",".join(self._print(i).replace(" ", "") for i in expr.indices)
        return "%s_{%s}" % (self._print(expr.base.label), indices)

    def _print_Sum(self, expr):
        return self._big_operator("sum", expr)

    def _print_Product(self, expr):
        return self._big_operator("prod", expr)

    def _big_operator(self, word: str, expr) -> str:
        text = "(%s)" % self._print(expr.function)
        for index, lower, upper in expr.limits:
            text = "%s_{%s=%s}^{%s} %s" % (word, self._print(index), self._print(lower).replace(" ", ""),
                                            self._print(upper), text)
        return text

    def _print_Equality(self, expr):
        return "%s = %s" % (self._print(expr.lhs), self._print(expr.rhs))

    # -- matrices -----------------------------------------------------------------------------------
    def _print_Transpose(self, expr):
        return self._atomic(expr.arg) + "'"

    def _print_Inverse(self, expr):
        return "inv(%s)" % self._print(expr.arg)

    def _print_MatPow(self, expr):
        return "%s^%s" % (self._atomic(expr.base), self._exponent(expr.exp))

    def _print_Trace(self, expr):
        return "tr(%s)" % self._print(expr.arg)

    def _print_Determinant(self, expr):
        return "det(%s)" % self._print(expr.arg)

    def _print_KroneckerProduct(self, expr):
        return "kron(%s)" % ", ".join(self._print(a) for a in expr.args)

    def _print_HadamardProduct(self, expr):
        return " .* ".join(self.parenthesize(a, PRECEDENCE["Mul"], strict=False) for a in expr.args)

    def _print_HadamardPower(self, expr):
        return "%s.^%s" % (self._atomic(expr.base), self._exponent(expr.exp))

    def _print_DiagMatrix(self, expr):
        return "diag(%s)" % self._print(expr.args[0])

    def _print_DiagonalOf(self, expr):
        return "diag(%s)" % self._print(expr.arg)

    def _print_MatrixBase(self, expr):
        """[a, b; c, d]: rows separated by semicolons (a 1×1 matrix [a] reads back as its entry)."""
        return "[%s]" % "; ".join(", ".join(self._print(e) for e in row) for row in expr.tolist())

    _print_ImmutableDenseMatrix = _print_MutableDenseMatrix = _print_MatrixBase

    def _print_Identity(self, expr):
        return "eye(%s)" % self._print(expr.rows)

    def _print_OneMatrix(self, expr):
        return "ones(%s, %s)" % (self._print(expr.rows), self._print(expr.cols))

    def _print_ZeroMatrix(self, expr):
        return "zeros(%s, %s)" % (self._print(expr.rows), self._print(expr.cols))


def _balanced_call(text: str) -> bool:
    """True for ``name(...)`` whose last bracket closes the first: a call, safe to transpose."""
    opening = text.find("(")
    if opening <= 0 or not (text[0].isalpha()) or not text[:opening].replace("_", "").isalnum():
        return False
    depth = 0
    for k, c in enumerate(text[opening:], opening):
        depth += {"(": 1, ")": -1}.get(c, 0)
        if depth == 0:
            return k == len(text) - 1
    return False


__all__ = ["to_plain", "PlainPrinter"]
