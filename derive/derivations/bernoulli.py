"""Maximum likelihood for an iid Bernoulli sample: p̂ = (1/n)Σᵢ xᵢ, the fraction of ones.

From the probability mass function of Bernoulli(p) to the likelihood of n independent observations, its log,
the negative log-likelihood ℓ(p) = −(Σᵢxᵢ) log p − (n − Σᵢxᵢ) log(1 − p), its derivative, the stationary
point, and the second-order check (ℓ″ ≥ 0: ℓ is convex, so p̂ is the global minimum).
"""
from __future__ import annotations

import sympy as sp

from derive.core.steps import (
    Derivation,
    Domains,
    Equal,
    IndexIn,
    IsGradient,
    Nonnegative,
    Scaled,
    Solves,
    dimension,
    probability,
)
from derive.derivations.gaussian import Estimate, WithEstimates
from derive.derivations.likelihood import log_likelihood_of_independent
from derive.errors import NotSupported
from derive.expr.notation import Notation
from derive.expr.symbols import n


def binary_with_both(rng, shape):
    """0/1 data holding at least one 0 and one 1, so that 0 < p̂ < 1 (as a matrix x or as the indexed xᵢ,
    whose entry 0 is spare: the last two entries are set, and n ≥ 2)."""
    values = rng.integers(0, 2, shape).astype(float)
    values[-1, ...] = 1.0
    values[-2, ...] = 0.0
    return values


i = sp.Symbol("i", integer=True)
x_i = sp.IndexedBase("x", shape=(n,))
x = sp.MatrixSymbol("x", n, 1)
p = sp.Symbol("p", positive=True)
P_HAT = Estimate("p_hat", positive=True)

DOMAINS = Domains({"n": dimension(3, 9), "x": binary_with_both, "p": probability, "i": IndexIn("n")})

LOSS = Notation("ℓ(p)", r"\ell(p)")


def derivation(form: str = "matrix", dim: int | None = None) -> Derivation:
    if form not in ("matrix", "index"):
        raise NotSupported(f"no form {form!r} for bernoulli: its one parameter p is a scalar, so there are no "
                           "coefficient components to write out (forms: matrix, index)")
    D = Derivation("Bernoulli maximum likelihood", model="bernoulli", form=form, domains=DOMAINS)
    D.symbols = [(x_i[i], "observation i, 0 or 1, for i = 1…n"), (p, "the probability of a 1, 0 < p < 1")]

    D.section("The model and its likelihood")
    xi = x_i[i]
    pick = xi * p + (1 - xi) * (1 - p)
    pmf = p ** xi * (1 - p) ** (1 - xi)
    D.step("Bernoulli model", "xᵢ ~ Bernoulli(p): xᵢ = 1 with probability p and xᵢ = 0 with probability 1 − p, as "
           "on the left; because xᵢ ∈ {0, 1}, the power form on the right is the same probability p(xᵢ | p), in "
           "a form that logs turn into sums.", pick, pmf)
    log_likelihood = Notation("log L(p)", r"\log L(p)")
    logs = log_likelihood_of_independent(D, pmf, i, n, Notation("L(p)", r"L(p)"), log_likelihood)
    terms = sp.Sum(xi * sp.log(p) + (1 - xi) * sp.log(1 - p), (i, 1, n))
    D.step("log of a power", "log(aᵘbᵛ) = u log a + v log b.", logs, terms, lhs=log_likelihood)
    nll = -terms
    D.step("negative log-likelihood", "The loss is minus the log-likelihood: minimising ℓ maximises L.",
           terms, nll, check=Scaled(-1), lhs=LOSS)
    ones = sp.Sum(xi, (i, 1, n))
    loss = -ones * sp.log(p) - (n - ones) * sp.log(1 - p)
    D.step("constants out of the sum", "log p and log(1 − p) do not depend on i; Σᵢ(1 − xᵢ) = n − Σᵢ xᵢ is the "
           "number of zeros.", nll, loss, lhs=LOSS)

    D.section("The derivative and the estimate")
    d1 = Notation("dℓ/dp", r"\frac{d\ell}{dp}")
    derivative = D.step("d log u = du/u", "d log p/dp = 1/p and d log(1 − p)/dp = −1/(1 − p).", loss,
                        -ones / p + (n - ones) / (1 - p), check=IsGradient(p), lhs=d1)
    stationary = D.step("set the derivative to zero", "At the maximum of the likelihood the derivative vanishes.",
                        derivative, sp.Eq(derivative, 0), relation="")
    mean = ones / n
    D.step("solve for p", "Multiply by p(1 − p) > 0: −(1 − p)Σᵢxᵢ + p(n − Σᵢxᵢ) = np − Σᵢxᵢ = 0. The estimate "
           "is the fraction of ones.", stationary, mean, check=Solves(p), lhs=Notation("p̂", r"\hat{p}"))

    D.section("Second-order check")
    d2 = Notation("d²ℓ/dp²", r"\frac{d^{2}\ell}{dp^{2}}")
    second = D.step("d(1/u) = −du/u²", "Differentiate again.", derivative,
                    ones / p ** 2 + (n - ones) / (1 - p) ** 2, check=IsGradient(p), lhs=d2)
    D.step("convex", "Both terms are ≥ 0, because 0 ≤ Σᵢxᵢ ≤ n: ℓ is convex on 0 < p < 1, so its stationary "
           "point p̂ is the global minimum (when the sample holds both values, 0 < p̂ < 1).", second, second,
           check=Nonnegative(), lhs=d2)
    at_estimate = second.subs(p, P_HAT)
    D.step("evaluate at p̂", "Σᵢxᵢ = np̂ and n − Σᵢxᵢ = n(1 − p̂): n/p̂ + n/(1 − p̂) = n/(p̂(1 − p̂)), the Fisher "
           "information of the sample.", at_estimate, n / (P_HAT * (1 - P_HAT)),
           check=WithEstimates(Equal(), [(P_HAT, mean)]), lhs=Notation("d²ℓ/dp²(p̂)", r"\frac{d^{2}\ell}{dp^{2}}(\hat{p})"))

    if form == "matrix":
        D.section("In vector notation")
        D.step("Σᵢ xᵢ = 𝟏ᵀx", "With the sample as the vector x ∈ {0, 1}ⁿ.", mean,
               sp.MatMul(1 / n, sp.OneMatrix(n, 1).T, x), lhs=Notation("p̂", r"\hat{p}"))

    D.results = {"loss": loss, "gradient": derivative, "hessian": second, "solution": mean}
    D.notes.append("The inverse of the second derivative at p̂, p̂(1 − p̂)/n, is the variance of p̂.")
    return D
