"""A product kept as a textbook writes it: 1/√(2πσ²) · exp(−(x − μ)²/(2σ²)), λˣe^{−λ}/x!, p^x (1 − p)^{1−x}.

SymPy multiplies a density out into its own normal form (√2/(2√π√σ²·exp(…)), every power split over the
factors of its base); `AsWritten` holds the factors in the order given and prints them so, each factor by the
printer in use: a power −½ as 1/√(b), the factors with exponent −1 together as the denominator. Its value is
the product (`doit`, and the evaluator that verifies every step), so the verifier checks what is shown.
"""
from __future__ import annotations

import sympy as sp

from derive.core.numeval import evaluate, rule


class AsWritten(sp.Expr):
    """The product of `factors`, printed factor by factor in their order (see the module)."""

    is_commutative = True
    prints_as_product = True   # in parentheses under Π, as a product is

    def __new__(cls, *factors):
        return super().__new__(cls, *[sp.sympify(f) for f in factors])

    @property
    def value(self):
        return sp.Mul(*self.args)

    def doit(self, **hints):
        return sp.Mul(*[f.doit(**hints) for f in self.args])

    def _eval_is_positive(self):
        return self.value.is_positive

    def _parts(self):
        """(numerator factors, denominator bases): a factor b⁻¹ goes below the line as b."""
        above = [f for f in self.args if not (f.is_Pow and f.exp == -1)]
        below = [f.base for f in self.args if f.is_Pow and f.exp == -1]
        return above, below

    def _unicode(self, printer):
        def one(f):
            if f.is_Pow and f.exp == -sp.S.Half:   # 1/√(2πσ²), not (2πσ²)^(−1/2)
                return "1/" + printer._print(sp.Pow(f.base, sp.S.Half, evaluate=False))
            text = printer._print(f)
            return f"({text})" if isinstance(f, sp.Add) else text
        above, below = self._parts()
        text = "·".join(one(f) for f in above) or "1"
        if below:
            under = "·".join(one(b) for b in below)
            text += "/" + (under if len(below) == 1 and not isinstance(below[0], (sp.Add, sp.Mul)) else f"({under})")
        return text

    def _latex(self, printer):
        def one(f):
            if f.is_Pow and f.exp == -sp.S.Half:
                return r"\frac{1}{\sqrt{%s}}" % printer._print(f.base)
            text = printer._print(f)
            return r"\left(%s\right)" % text if isinstance(f, sp.Add) else text
        above, below = self._parts()
        text = " ".join(one(f) for f in above) or "1"
        return r"\frac{%s}{%s}" % (text, " ".join(one(b) for b in below)) if below else text

    def _sympystr(self, printer):
        return printer._print(self.value)


@rule(AsWritten)
def _as_written(expr, env):
    return evaluate(expr.value, env)
