"""Poisson regression with the log link: ℓ(β) = Σᵢ [e^{xᵢᵀβ} − yᵢxᵢᵀβ] (+ Σᵢ log yᵢ!, free of β).

The model yᵢ | xᵢ ~ Poisson(λᵢ) with log λᵢ = xᵢᵀβ gives, by the same moves as logistic regression (both are
generalised linear models with the canonical link), the gradient Xᵀ(exp(Xβ) − y), the Hessian
Xᵀdiag(exp(Xβ))X (positive semidefinite: the loss is convex), and, since exp is nonlinear in β, no closed
form: the Newton / IRLS update.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from derive.core.numeval import evaluate, indexed_key, padded
from derive.core.steps import (
    Check,
    Derivation,
    Domains,
    IndexIn,
    Scaled,
    counts,
    dimension,
)
from derive.derivations.likelihood import log_likelihood_of_independent
from derive.derivations.logistic import (
    GLM,
    LIKELIHOOD,
    LOG_LIKELIHOOD,
    LOSS,
    glm_derivation,
    i,
    n,
    y_i,
)
from derive.expr.symbols import X, beta, y


class FreeOfBeta(Check):
    """before − after does not depend on β: dropping it does not move the minimiser (nor any derivative)."""

    def values(self, before, after, env):
        moved = dict(env)
        rng = np.random.default_rng(len(env))
        for name in ("beta", indexed_key("beta")):
            if name in env:
                moved[name] = np.asarray(env[name]) + rng.standard_normal(np.shape(env[name]))
        if "beta" in env and indexed_key("beta") in env:  # both views of β move together
            moved[indexed_key("beta")] = padded(moved["beta"], np.ndim(env[indexed_key("beta")]))
        for name in [key for key in env if key.startswith("beta_")]:  # components β₀ … β_{D−1}
            moved[name] = env[name] + rng.standard_normal()
        return (evaluate(before, env) - evaluate(after, env),
                evaluate(before, moved) - evaluate(after, moved))


def _describe(D: Derivation) -> None:
    D.symbols = [(X, "n×d data matrix, row i is xᵢᵀ"), (y, "n×1 vector of counts yᵢ ∈ {0, 1, 2, …}"),
                 (beta, "d×1 vector of coefficients")]


def _no_facts(D: Derivation) -> None:
    """exp needs no lemmas: (eᶻ)′ = eᶻ."""


def poisson_likelihood(D: Derivation, eta) -> sp.Expr:
    """From yᵢ ~ Poisson(e^{ηᵢ}) to the loss Σᵢ [e^{ηᵢ} − yᵢηᵢ]; eta(i) is the linear predictor."""
    D.section("The model and its likelihood")
    e, yi = eta(i), y_i[i]
    rate = sp.exp(e)
    pmf = rate ** yi * sp.exp(-rate) / sp.factorial(yi)
    D.step("Poisson model, log link", "yᵢ | xᵢ ~ Poisson(λᵢ) has P(yᵢ) = λᵢ^{yᵢ}e^{−λᵢ}/yᵢ!; the log link "
           "log λᵢ = xᵢᵀβ keeps the rate positive for every β, λᵢ = e^{xᵢᵀβ}; (eᵘ)ʸ e^{−v} = e^{yu − v}.",
           pmf, sp.exp(yi * e - rate) / sp.factorial(yi))
    logs = log_likelihood_of_independent(D, pmf, i, n, LIKELIHOOD, LOG_LIKELIHOOD, "Given X the counts are "
                                         "independent, so the likelihood of β is the product of the n probabilities.")
    expanded = sp.Sum(yi * e - rate - sp.log(sp.factorial(yi)), (i, 1, n))
    D.step("log of a power, log eᵘ = u", "log(λʸe^{−λ}/y!) = y log λ − λ − log y!, and log λᵢ = xᵢᵀβ.",
           logs, expanded, lhs=LOG_LIKELIHOOD)
    nll = sp.Sum(rate - yi * e + sp.log(sp.factorial(yi)), (i, 1, n))
    D.step("negative log-likelihood", "The loss is minus the log-likelihood: minimising ℓ maximises L.",
           expanded, nll, check=Scaled(-1), lhs=LOSS)
    loss = sp.Sum(rate - yi * e, (i, 1, n))
    D.step("drop the constant", "Σᵢ log yᵢ! does not depend on β: it changes neither the minimiser nor any "
           "derivative, so the loss is taken without it.", nll, loss, check=FreeOfBeta(), lhs=LOSS)
    return loss


# n > d in every random draw, so a random X has full column rank and XᵀSX is invertible.
DOMAINS = Domains({"n": dimension(6, 9), "d": dimension(2, 4), "y": counts,
                   "i": IndexIn("n"), "k": IndexIn("d"), "l": IndexIn("d")})

POISSON = GLM(
    model="poisson", title="Poisson regression", domains=DOMAINS, describe=_describe, facts=_no_facts,
    likelihood=poisson_likelihood, cumulant="exp", cumulant_text="exp",
    score=sp.exp, mean=sp.exp, mean_rewrite=None, variance=sp.exp,
    mean_text="exp(Xβ)", variance_text="e^{xᵢᵀβ}", weights_text="diag(exp(Xβ))",
    weights_why="the fitted Poisson means λᵢ (which are also their variances)",
    chain_text="Differentiate observation by observation: ∂/∂βₖ e^{ηᵢ} = e^{ηᵢ} ∂ηᵢ/∂βₖ, with ηᵢ = xᵢᵀβ;",
    second_text="∂e^{ηᵢ}/∂βₗ = e^{ηᵢ} ∂ηᵢ/∂βₗ;",
    no_closed_form="exp is nonlinear in β, so these d equations have no closed-form solution (and no finite one "
                   "when some direction v has Xv ≤ 0 with yᵢ = 0 wherever (Xv)ᵢ < 0): solve them iteratively.",
    notes=("H = XᵀSX with S = diag(exp(Xβ)), the fitted means; (XᵀSX)⁻¹ at the estimate is the usual "
           "covariance of β̂.",
           "The loss omits Σᵢ log yᵢ!, which is free of β; add it back for the log-likelihood value itself."),
)


def derivation(form: str = "matrix", dim: int | None = None) -> Derivation:
    return glm_derivation(POISSON, form, dim)
