"""The distributions a model statement may name, each declared once: its density as a textbook writes it,
its log-density, the domain of each parameter and the support of the data.

A `Domain` serves three purposes: it draws random values where a derivation step is verified (so a
Bernoulli observation is 0 or 1 there, a variance is positive), it validates values given in a model file or
at fit time, and it names itself in messages ("a probability in (0, 1)").
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import sympy as sp

from derive.core.random_points import Sampler, binary, counts, normal, on_simplex, positive, probability, spd
from derive.derivations.as_written import AsWritten
from derive.derivations.vector_form import Scalar
from derive.errors import NotSupported
from derive.expr.functions import apply


@dataclass(frozen=True)
class Domain:
    """A set of values: how it is named, how to draw from it, and how to test a number for membership."""

    name: str
    sample: Sampler
    contains: Callable[[np.ndarray], np.ndarray]


REAL = Domain("a real number", normal, lambda v: np.isfinite(v))
POSITIVE = Domain("a positive number", positive, lambda v: np.isfinite(v) & (v > 0))
UNIT_INTERVAL = Domain("a probability in (0, 1)", probability, lambda v: (v > 0) & (v < 1))
def _binary_with_both(rng, shape):
    """0/1 data holding both values (the last two entries 1 and 0), so that an estimate such as p̂ = x̄ lies
    inside (0, 1) where a step is verified; a scalar is 0 or 1."""
    values = binary(rng, shape)
    if shape and values.shape[0] >= 2:
        values[-1, ...], values[-2, ...] = 1.0, 0.0
    return values


BINARY = Domain("0 or 1", _binary_with_both, lambda v: (v == 0) | (v == 1))
COUNTS = Domain("a count 0, 1, 2, …", counts, lambda v: (v >= 0) & (v == np.round(v)))


def _trials(rng, shape):
    """Binomial data drawn with m = 5 trials in mind: a count 0…5 (m is a data value of its own)."""
    return rng.integers(0, 6, shape).astype(float) if shape else float(rng.integers(0, 6))


def _pow(base, exponent):
    return sp.Pow(base, exponent, evaluate=False)


def _normal_density(x, mean, variance):
    """1/√(2πσ²) · exp(−(x − μ)²/(2σ²)), kept as written (SymPy would print √2/(2√π√σ²))."""
    return AsWritten(_pow(2 * sp.pi * variance, -sp.S.Half), sp.exp(-(x - mean) ** 2 / (2 * variance)))


@dataclass(frozen=True)
class Distribution:
    """A family of densities p(x; θ): `density` and `log_density` map (x, *θ) to scalar SymPy expressions."""

    name: str
    title: str
    parameters: tuple             # (name, Domain) per parameter, in the order they are written
    support: Domain
    density: Callable
    log_density: Callable

    @property
    def signature(self) -> str:
        return f"{self.name}({', '.join(p for p, _ in self.parameters)})"


DISTRIBUTIONS = {d.name: d for d in (
    Distribution("N", "normal", (("mean", REAL), ("variance", POSITIVE)), REAL,
                 _normal_density,
                 lambda x, m, v: -sp.log(2 * sp.pi * v) / 2 - (x - m) ** 2 / (2 * v)),
    Distribution("Bernoulli", "Bernoulli", (("p", UNIT_INTERVAL),), BINARY,
                 lambda x, p: AsWritten(_pow(p, x), _pow(1 - p, 1 - x)),
                 lambda x, p: x * sp.log(p) + (1 - x) * sp.log(1 - p)),
    Distribution("Binomial", "binomial", (("m", COUNTS), ("p", UNIT_INTERVAL)),
                 Domain("a count 0, 1, …, m", _trials, COUNTS.contains),
                 lambda x, m, p: AsWritten(sp.binomial(m, x), _pow(p, x), _pow(1 - p, m - x)),
                 lambda x, m, p: sp.log(sp.binomial(m, x)) + x * sp.log(p) + (m - x) * sp.log(1 - p)),
    Distribution("Poisson", "Poisson", (("rate", POSITIVE),), COUNTS,
                 lambda x, r: AsWritten(_pow(r, x), sp.exp(-r), _pow(sp.factorial(x), -1)),
                 lambda x, r: x * sp.log(r) - r - sp.log(sp.factorial(x))),
    Distribution("Exponential", "exponential", (("rate", POSITIVE),), POSITIVE,
                 lambda x, r: AsWritten(r, sp.exp(-r * x)),
                 lambda x, r: sp.log(r) - r * x),
    Distribution("Gamma", "gamma", (("shape", POSITIVE), ("rate", POSITIVE)), POSITIVE,
                 lambda x, a, b: AsWritten(_pow(b, a), _pow(x, a - 1), sp.exp(-b * x), _pow(sp.gamma(a), -1)),
                 lambda x, a, b: a * sp.log(b) + (a - 1) * sp.log(x) - b * x - sp.loggamma(a)),
    Distribution("Beta", "beta", (("a", POSITIVE), ("b", POSITIVE)), UNIT_INTERVAL,
                 lambda x, a, b: AsWritten(_pow(x, a - 1), _pow(1 - x, b - 1), _pow(sp.beta(a, b), -1)),
                 lambda x, a, b: (a - 1) * sp.log(x) + (b - 1) * sp.log(1 - x) - sp.loggamma(a) - sp.loggamma(b)
                 + sp.loggamma(a + b)),
)}
# Spellings people use for the same family
ALIASES = {"Normal": "N", "Gaussian": "N", "Bern": "Bernoulli", "Exp": "Exponential", "Pois": "Poisson",
           "Binom": "Binomial", "Cat": "Categorical"}


def distribution(name: str, multivariate: bool = False) -> Distribution:
    """The family called `name` (or a usual alias), of a scalar observation or (`multivariate`) of a vector
    one; NotSupported naming the families there are."""
    families = MULTIVARIATE if multivariate else DISTRIBUTIONS
    found = families.get(ALIASES.get(name, name))
    if found is None:
        kind = "of a vector observation (a row of a matrix)" if multivariate else "of a scalar observation"
        raise NotSupported(f"unknown distribution {name!r} {kind}; distributions: "
                           + ", ".join(d.signature for d in families.values()))
    return found


# ---------------------------------------------------------------------------------------------------
# Families of a vector observation xᵢ (a row of a matrix, as a column): the multivariate normal and the
# categorical with one-hot yᵢ
# ---------------------------------------------------------------------------------------------------
def _positive_definite(M) -> bool:
    M = np.asarray(M, dtype=float)
    if M.ndim != 2 or M.shape[0] != M.shape[1] or not np.allclose(M, M.T) or not np.all(np.isfinite(M)):
        return False
    try:
        np.linalg.cholesky(M)
    except np.linalg.LinAlgError:
        return False
    return True


def _one_hot(rng, shape):
    """Rows with one 1 each (a class per observation)."""
    rows, classes = shape
    Y = np.zeros(shape)
    Y[np.arange(rows), rng.integers(0, classes, rows)] = 1.0
    return Y


def _one_hot_rows(Y):
    """Per row: every entry 0 or 1 and one 1."""
    Y = np.atleast_2d(np.asarray(Y, dtype=float))
    return np.all((Y == 0) | (Y == 1), axis=1) & (Y.sum(axis=1) == 1)


REAL_VECTORS = Domain("a real vector", normal, lambda v: np.all(np.isfinite(v), axis=-1))
POSITIVE_DEFINITE = Domain("a positive definite matrix", spd, lambda v: np.asarray(_positive_definite(v)))
ONE_HOT = Domain("a one-hot row (one 1, the rest 0)", _one_hot, _one_hot_rows)
PROBABILITY_VECTORS = Domain("a vector of probabilities summing to 1", on_simplex,
                             lambda v: np.all(v > 0, axis=-1) & np.isclose(np.sum(v, axis=-1), 1))


def _quadratic_form(x, mean, covariance, coefficient=1):
    """c(x − μ)ᵀΣ⁻¹(x − μ) as a number (1×1)."""
    r = sp.MatAdd(x, -mean) if mean != 0 else x
    return Scalar(sp.MatMul(*([coefficient] if coefficient != 1 else []), sp.Transpose(r), sp.Inverse(covariance), r))


def _multivariate_normal_density(x, mean, covariance):
    """(2π)^(−d/2) det(Σ)^(−1/2) exp(−½(x − μ)ᵀΣ⁻¹(x − μ)), kept as written (the −½ inside the exponent's
    1×1 matrix, so that the exponential is printed in the numerator)."""
    return sp.Mul(_pow(2 * sp.pi, -x.rows / 2), _pow(sp.Determinant(covariance), -sp.S.Half),
                  sp.exp(_quadratic_form(x, mean, covariance, -sp.S.Half)), evaluate=False)


def _multivariate_normal_log_density(x, mean, covariance):
    """−(d/2) log 2π − ½ log det Σ − ½(x − μ)ᵀΣ⁻¹(x − μ)."""
    return -x.rows * sp.log(2 * sp.pi) / 2 - sp.log(sp.Determinant(covariance)) / 2 \
        - _quadratic_form(x, mean, covariance) / 2


def _categorical_density(y, p):
    """Πₖ pₖ^(yₖ) for a one-hot y: exp(yᵀ log p), the product of the entries of p to the powers yₖ."""
    return sp.exp(_categorical_log_density(y, p))


def _categorical_log_density(y, p):
    """yᵀ log p = Σₖ yₖ log pₖ: the log of the probability of the observed class."""
    return Scalar(sp.MatMul(sp.Transpose(y), apply(sp.log, p)))


MULTIVARIATE = {d.name: d for d in (
    Distribution("N", "multivariate normal", (("mean", REAL_VECTORS), ("covariance", POSITIVE_DEFINITE)),
                 REAL_VECTORS, _multivariate_normal_density, _multivariate_normal_log_density),
    Distribution("Categorical", "categorical", (("p", PROBABILITY_VECTORS),), ONE_HOT,
                 _categorical_density, _categorical_log_density),
)}


def multivariate_normal_log_density(x, mean, covariance):
    """log N(x; m, Σ) = −½ log det(2πΣ) − ½(x − m)ᵀΣ⁻¹(x − m), for a d-vector x; with Σ = c·I (independent
    coordinates of variance c), as a textbook writes it: −(d/2) log(2πc) − (x − m)ᵀ(x − m)/(2c)."""
    r = x - mean if mean != 0 else x
    scale, identity = _scaled_identity(covariance)
    if identity is not None:
        return -x.rows * sp.log(2 * sp.pi * scale) / 2, sp.MatMul(-1 / (2 * scale), r.T, r)
    return (-sp.log(sp.Determinant(2 * sp.pi * covariance)) / 2,
            sp.MatMul(-sp.S.Half, r.T, sp.Inverse(covariance), r))


def _scaled_identity(covariance):
    """(c, I) when the covariance is c·I (or I), else (None, None)."""
    if isinstance(covariance, sp.Identity):
        return sp.S.One, covariance
    if isinstance(covariance, sp.MatMul):
        coefficient, matrices = covariance.as_coeff_matrices()   # the coefficient holds every scalar factor
        if len(matrices) == 1 and isinstance(matrices[0], sp.Identity):
            return coefficient, matrices[0]
    return None, None
