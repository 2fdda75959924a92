"""The value of a derived result written in summation notation (Σᵢ over the observations xᵢ), at a sample:
each Σ a vectorised sum, correctly rounded (math.fsum), never term by term. The model-file fit uses it for
the sums a derivation moves out of its loss (the constant n·log(2π)/2 of a Gaussian, Σᵢ log xᵢ! of a Poisson).
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from derive.errors import NotSupported

_FUNCTIONS = {sp.log: np.log, sp.exp: np.exp}


def value_of_sums(expr, scalars, sample, index=None):
    """The value of a derived result in summation notation: scalars by name, x[i] as the sample (a vector
    over i inside Σᵢ), each Σ a correctly rounded sum."""
    if isinstance(expr, sp.MatrixBase):
        return np.array([[value_of_sums(e, scalars, sample, index) for e in row] for row in expr.tolist()])
    if expr.is_number:  # a constant: 2, 1/2, π
        return float(expr)
    if isinstance(expr, sp.Symbol):
        if str(expr) not in scalars:
            raise NotSupported(f"no value for {expr} in the derived result")
        return scalars[str(expr)]
    if isinstance(expr, sp.Indexed):
        if expr.indices != (index,):
            raise NotSupported(f"cannot evaluate {expr} outside its sum")
        return sample
    if isinstance(expr, sp.Sum):
        (i, low, high), *rest = expr.limits
        if rest or low != 1 or str(high) != "n":
            raise NotSupported(f"cannot evaluate the sum {expr}")
        terms = np.broadcast_to(value_of_sums(expr.function, scalars, sample, i), sample.shape)
        return math.fsum(terms.tolist())
    if isinstance(expr, sp.Add):
        return sum((value_of_sums(a, scalars, sample, index) for a in expr.args), 0.0)
    if isinstance(expr, sp.Mul):
        return math.prod((value_of_sums(a, scalars, sample, index) for a in expr.args), start=1.0)
    if isinstance(expr, sp.Pow):
        return value_of_sums(expr.base, scalars, sample, index) ** value_of_sums(expr.exp, scalars, sample, index)
    if isinstance(expr, sp.log) and isinstance(expr.args[0], sp.factorial):
        from scipy.special import gammaln  # log(k!) = log Γ(k + 1): k! itself overflows beyond k = 170
        return gammaln(value_of_sums(expr.args[0].args[0], scalars, sample, index) + 1.0)
    if type(expr) in _FUNCTIONS:
        return _FUNCTIONS[type(expr)](value_of_sums(expr.args[0], scalars, sample, index))
    raise NotSupported(f"cannot evaluate {type(expr).__name__} in a derived result: {expr}")
