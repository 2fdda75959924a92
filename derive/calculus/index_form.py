"""Summation notation: partial derivatives ∂/∂βₖ under Σ, and the Kronecker delta summed out by hand.

SymPy differentiates Σⱼ Xᵢⱼβⱼ with respect to βₖ into Σⱼ Xᵢⱼδⱼₖ and, asked to evaluate that, leaves a
Piecewise on whether k lies in the summation range. A student knows it does: Σⱼ Xᵢⱼδⱼₖ = Xᵢₖ.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from derive.core.numeval import evaluate, indexed_key
from derive.core.steps import Check


def partial_derivative(expr, base: sp.IndexedBase, index: sp.Symbol):
    """∂expr/∂base_index, with ∂base_j/∂base_index left as δ_{j,index} (SymPy's own rule)."""
    return sp.factor_terms(sp.diff(expr, base[index]))


def eliminate_deltas(expr):
    """Σⱼ f(j)·δⱼₖ = f(k) for every sum whose summand has a delta on its own index (k within the range)."""
    def sum_out(node):
        if not isinstance(node, sp.Sum) or len(node.limits) != 1:
            return node
        j = node.limits[0][0]
        for factor in sp.Mul.make_args(node.function):
            if isinstance(factor, sp.KroneckerDelta) and j in factor.args:
                other = factor.args[1] if factor.args[0] == j else factor.args[0]
                return (node.function / factor).subs(j, other)
        return node

    return sp.factor_terms(expr.replace(lambda e: isinstance(e, sp.Sum), sum_out))


class IsPartial(Check):
    """after = ∂ before / ∂ base_index, at a random index in range (complex step along that coordinate)."""

    def __init__(self, base: sp.IndexedBase, index: sp.Symbol):
        super().__init__()
        self.base, self.index = base, index

    def values(self, before, after, env):
        key = indexed_key(str(self.base.label))
        direction = np.zeros(np.shape(env[key]))
        direction[env[self.index.name]] = 1.0
        shifted = {**env}
        h = 1e-30
        shifted[key] = np.asarray(env[key], dtype=complex) + 1j * h * direction
        return evaluate(after, env), np.imag(evaluate(before, shifted)) / h
