"""Estimates written with a hat (μ̂, σ̂², p̂) inside a derivation's steps, and the check that gives each its
value from the data before comparing: a step "at the estimates" holds where the hats are the estimates,
not at every value of a free symbol.
"""
from __future__ import annotations

import sympy as sp

from derive.core.numeval import evaluate
from derive.core.steps import Check
from derive.expr.printing import latex, unicode


class Estimate(sp.Symbol):
    """The estimate of a parameter, printed as the parameter with a hat (μ̂, σ̂², p̂): a symbol of its own, so
    that an expression at the estimate is not confused with one at every value of the parameter."""

    def __new__(cls, parameter):
        # the hat's symbol keeps the parameter's assumptions (σ̂² > 0 as σ² > 0)
        return super().__new__(cls, parameter.name + "_hat", **parameter.assumptions0)

    @property
    def parameter(self) -> sp.Symbol:
        return sp.Symbol(self.name[:-len("_hat")], **self.assumptions0)

    def _unicode(self, printer):
        name = unicode(self.parameter)
        return name[:-1] + "̂²" if name.endswith("²") else name[0] + "̂" + name[1:]

    def _latex(self, printer):
        tex = latex(self.parameter)
        if tex.endswith("^{2}"):
            return r"\hat{%s}^{2}" % tex[:-len("^{2}")]
        return r"\hat{%s}" % tex


class MatrixEstimate(sp.MatrixSymbol):
    """The estimate of a vector parameter, printed with a hat (β̂)."""

    def __new__(cls, parameter, *shape):
        if shape:   # rebuilt from its arguments (name, rows, cols), as SymPy's doit() does
            return super().__new__(cls, parameter, *shape)
        return super().__new__(cls, parameter.name + "_hat", *parameter.shape)

    def _unicode(self, printer):
        name = printer._print(sp.MatrixSymbol(self.name[:-len("_hat")], *self.shape))
        return name[0] + "̂" + name[1:]

    def _latex(self, printer):
        return r"\hat{%s}" % printer._print(sp.MatrixSymbol(self.name[:-len("_hat")], *self.shape))


def estimate(parameter):
    """The hatted estimate of a scalar or a vector parameter."""
    return MatrixEstimate(parameter) if parameter.is_Matrix else Estimate(parameter)


class WithEstimates(Check):
    """The check `inner`, with each estimate symbol set to its formula in the data first."""

    def __init__(self, inner: Check, estimates):
        super().__init__(varying=inner.varying)
        self.inner, self.estimates = inner, list(estimates)

    def symbols(self, before, after):
        return self.inner.symbols(before, after) + [formula for _, formula in self.estimates]

    def values(self, before, after, env):
        env = dict(env)
        for symbol, formula in self.estimates:
            env[symbol.name] = evaluate(formula, env)
        return self.inner.values(before, after, env)
