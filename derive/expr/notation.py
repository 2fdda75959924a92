"""Notation nodes: expressions that are typography or calculus notation rather than algebra.

`Notation` is a name shown on the left of a step (L(β), ∇_β L); `d(u)` is the differential of u, with the
leaf dv for a variable. Their numeric meaning (a differential is a complex-step directional derivative)
lives with every other node's in `derive.core.numeval`.
"""
from __future__ import annotations

import sympy as sp
from sympy.core.symbol import Str
from sympy.matrices.expressions.matexpr import MatrixExpr

from derive.errors import NotSupported


class Notation(sp.Expr):
    """A name shown on the left of a step (L(β), ∇_β L, H): typography only, never evaluated."""

    def __new__(cls, text: str, latex: str):
        return super().__new__(cls, Str(text), Str(latex))

    @property
    def text(self) -> str:
        return self.args[0].name

    @property
    def latex(self) -> str:
        return self.args[1].name

    def _latex(self, printer):
        return self.latex

    def _sympystr(self, printer):
        return self.args[0].name


def differential_key(variable) -> str:
    """The env key holding the direction dv that the differential leaf d(v) evaluates to."""
    return "d " + variable.name


class _DifferentialNotation:
    """What d(u) and its leaf dv share: the argument, and how they print."""

    @property
    def arg(self):
        return self.args[0]

    @property
    def is_leaf(self) -> bool:
        return isinstance(self.arg, (sp.MatrixSymbol, sp.Symbol))

    def _eval_derivative(self, s):
        """A leaf dv is a direction, free of every variable: its derivative is 0. A compound d(u) is taken
        with respect to its derivation's variable, which the node does not record: refused, not guessed."""
        if not self.is_leaf:
            raise NotSupported(f"cannot differentiate the differential {sp.sstr(self)} with respect to {s}: "
                               "write it out in the leaves dv first (derive's differential steps do)")
        return sp.S.Zero

    def _latex(self, printer):
        inner = printer._print(self.arg)
        return r"\mathrm{d}%s" % inner if self.is_leaf else r"\mathrm{d}\left(%s\right)" % inner

    def _sympystr(self, printer):
        inner = printer._print(self.arg)
        return "d%s" % inner if self.is_leaf else "d(%s)" % inner


class Differential(_DifferentialNotation, MatrixExpr):
    """d(U), the differential of a matrix expression; d(X) for a symbol X is the leaf dX."""

    @property
    def shape(self):
        return self.arg.shape

    def _eval_transpose(self):
        return sp.Transpose(self)  # shown as (dU)ᵀ; pushing ᵀ inside is the transpose rule's job

    def doit(self, **hints):
        return self


class ScalarDifferential(_DifferentialNotation, sp.Expr):
    """d(u) for a scalar expression u; d(x) for a scalar symbol x is the leaf dx."""

    is_commutative = True


def d(u):
    return Differential(u) if getattr(u, "is_Matrix", False) else ScalarDifferential(u)


class UnknownDerivative(sp.Expr):
    """f′(u), f″(u): the derivative of order k of a function known only by its name, at u.

    The chain rule gives d/dx f(u) = f′(u)·du/dx with f unknown; this is the f′(u).  Under `.doit()` it is
    SymPy's own `Subs(Derivative(f(z), z), z, u)`, and SymPy's `diff` differentiates it (f″(u)·u′)."""

    def __new__(cls, name: str, order, u):
        return super().__new__(cls, Str(name), sp.Integer(order), sp.sympify(u))

    @property
    def name(self) -> str:
        return self.args[0].name

    @property
    def order(self) -> int:
        return int(self.args[1])

    @property
    def point(self):
        return self.args[2]

    @property
    def free_symbols(self):
        return self.point.free_symbols

    def _eval_derivative(self, x):
        return UnknownDerivative(self.name, self.order + 1, self.point) * self.point.diff(x)

    def doit(self, **hints):
        z = sp.Dummy("z")
        return sp.Subs(sp.Derivative(sp.Function(self.name)(z), (z, self.order)), z, self.point).doit(**hints)

    def _eval_subs(self, old, new):
        if old == self:
            return new
        return UnknownDerivative(self.name, self.order, self.point._subs(old, new))

    def _primes(self) -> str:
        return "'" * self.order

    def _latex(self, printer):
        return r"%s%s\left(%s\right)" % (self.name, self._primes(), printer._print(self.point))

    def _sympystr(self, printer):
        return "%s%s(%s)" % (self.name, self._primes(), printer._print(self.point))

    def _unicode(self, printer):
        primes = {1: "′", 2: "″", 3: "‴"}.get(self.order, "′" * self.order)
        return "%s%s(%s)" % (self.name, primes, printer._print(self.point))


class NameForDefinition:
    """What a short name for a longer formula shares, scalar or matrix (x̄, S = diag(…)): its arguments are
    (text, latex, definition), and it prints as its name in every notation."""

    @property
    def definition(self):
        return self.args[2]

    def _eval_derivative(self, s):
        return sp.diff(self.definition, s)   # the name stands for its definition

    def _latex(self, printer):
        return self.args[1].name

    def _unicode(self, printer):
        return self.args[0].name

    def _sympystr(self, printer):
        return self.args[0].name
