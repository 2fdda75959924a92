"""The tail probabilities and quantiles that p-values and confidence intervals need, with the standard
library alone (SciPy is not a dependency): the standard normal and Student's t.

Student's t tail is the regularised incomplete beta function, P(|T| > t) = I_x(ν/2, 1/2) with
x = ν/(ν + t²), evaluated by its continued fraction (modified Lentz; Numerical Recipes §6.4), which
converges quickly for x < (a + 1)/(a + b + 2) and by the symmetry I_x(a, b) = 1 − I_{1−x}(b, a)
otherwise: about 15 significant digits. Quantiles are Newton's method on the tail, from the normal
quantile.
"""
from __future__ import annotations

import math
from statistics import NormalDist

_NORMAL = NormalDist()


def normal_two_sided(z: float) -> float:
    """P(|Z| > |z|) for a standard normal Z."""
    return math.erfc(abs(z) / math.sqrt(2))


def normal_quantile(p: float) -> float:
    return _NORMAL.inv_cdf(p)


def t_two_sided(t: float, df: float) -> float:
    """P(|T| > |t|) for Student's t with `df` degrees of freedom."""
    if math.isinf(t):
        return 0.0
    x = df / (df + t * t)
    return regularized_beta(x, df / 2, 0.5)


def t_quantile(p: float, df: float) -> float:
    """The t with P(T ≤ t) = p, for 0.5 ≤ p < 1 (the upper quantiles intervals use)."""
    if not 0.5 <= p < 1:
        raise ValueError("t_quantile needs 0.5 <= p < 1")
    if p == 0.5:
        return 0.0
    tail = 2 * (1 - p)  # the two-sided tail probability to reach
    t = max(normal_quantile(p), 1e-3)
    for _ in range(100):
        # d/dt P(|T| > t) = −2 f(t), f the density
        error = t_two_sided(t, df) - tail
        step = error / (2 * _t_density(t, df))
        t_next = t + step
        if t_next <= 0:
            t_next = t / 2
        if abs(t_next - t) <= 1e-15 * t:
            return t_next
        t = t_next
    return t


def _t_density(t: float, df: float) -> float:
    log_c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    return math.exp(log_c - (df + 1) / 2 * math.log1p(t * t / df))


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), the regularised incomplete beta function."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_fraction(x, a, b) / a
    return 1 - math.exp(log_front) * _beta_fraction(1 - x, b, a) / b


def _beta_fraction(x, a, b):
    """The continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10_000):
        m2 = 2 * m
        for numerator in (m * (b - m) * x / ((a + m2 - 1) * (a + m2)),
                          -(a + m) * (a + b + m) * x / ((a + m2) * (a + m2 + 1))):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1) < 1e-16:
            break
    return h
