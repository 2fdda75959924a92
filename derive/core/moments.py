"""Expectations computed exactly: a random vector replaced by a few points with its mean and covariance.

For a random vector x with mean m and covariance C = LLᵀ (dimension k; L = Q√Λ from C's eigendecomposition,
so a singular C such as that of a one-hot vector is fine), the 2k points m ± √k·Lᵢ (Lᵢ the columns of L),
each with weight 1/(2k), have exactly the mean m and the covariance C, and zero third central
moments. So the average of a polynomial over these points *is* its expectation, for every distribution with
those moments when the polynomial has degree ≤ 2 in x (and for the Gaussian up to degree 3). Every
expectation identity of the course (linearity, E[xxᵀ] = C + mmᵀ, Var(aᵀx) = aᵀCa, the bias of σ̂², the mean
and covariance of β̂, the bias–variance decomposition) is of that kind, so its check is exact to rounding
rather than a noisy Monte Carlo estimate. Independent random vectors take every combination of their points.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import sympy as sp

from derive.core.numeval import evaluate, indexed_key, padded, rule
from derive.expr.expectation import Expectation, MatrixExpectation

ENSEMBLE = "E[·] points"   # env key: the (weight, values) pairs that E[·] averages over


@dataclass(frozen=True)
class Moments:
    """A random vector (or scalar) `variable` with mean `mean` and covariance `covariance` (SymPy
    expressions in the other symbols: x with mean μ𝟏 and covariance σ²I, y with mean Xβ and σ²I)."""

    variable: sp.Basic
    mean: sp.Basic
    covariance: sp.Basic

    def points(self, env) -> list[tuple[float, object]]:
        mean = np.real(np.asarray(evaluate(self.mean, env), dtype=complex))
        covariance = np.real(np.atleast_2d(np.asarray(evaluate(self.covariance, env), dtype=complex)))
        k = covariance.shape[0]
        eigenvalues, eigenvectors = np.linalg.eigh((covariance + covariance.T) / 2)
        root = eigenvectors * np.sqrt(np.clip(eigenvalues, 0.0, None) * k)
        shape = np.shape(mean) if np.ndim(mean) else ()
        points = []
        for sign in (1.0, -1.0):
            for column in root.T:
                point = mean + sign * column.reshape(shape) if shape else float(mean + sign * column[0])
                points.append((1.0 / (2 * k), point))
        return points


def ensemble(distributions, env) -> list[tuple[float, dict]]:
    """The (weight, values) pairs of independent random variables: every combination of their points."""
    per_variable = [[(w, {d.variable: value}) for w, value in d.points(env)] for d in distributions]
    combined = []
    for choice in itertools.product(*per_variable):
        weight, values = 1.0, {}
        for w, value in choice:
            weight *= w
            values.update(value)
        combined.append((weight, values))
    return combined


def at_point(env, values) -> dict:
    """env with each random variable set to its value here (as a matrix, and as entries x_i for sums)."""
    moved = dict(env)
    for variable, value in values.items():
        moved[variable.name] = value
        if np.ndim(value) == 2:
            moved[indexed_key(variable.name)] = padded(value, 1 if value.shape[1] == 1 else 2)
    return moved


@rule(Expectation, MatrixExpectation)
def _expectation(expr, env):
    try:
        points = env[ENSEMBLE]
    except KeyError:
        raise ValueError(f"{expr} needs the distribution of its random variables") from None
    total = 0.0
    for weight, values in points:
        total = total + weight * evaluate(expr.arg, at_point(env, values))
    return total
