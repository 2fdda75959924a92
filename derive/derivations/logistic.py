"""Logistic regression from the Bernoulli likelihood: ℓ(β) = Σᵢ [log(1 + e^{xᵢᵀβ}) − yᵢxᵢᵀβ].

The derivation starts from the model yᵢ | xᵢ ~ Bernoulli(σ(xᵢᵀβ)), writes the likelihood of independent
observations as a product, takes logs, and simplifies the negative log-likelihood with three facts about σ
(each a verified step of its own). The gradient Xᵀ(σ(Xβ) − y) and the Hessian XᵀSX follow by differentials
(matrix form) or coordinate by coordinate with the Kronecker delta summed out (index form); S has a positive
diagonal, so the loss is convex. The stationarity equations are nonlinear in β and have no closed form: the
derivation ends with the Newton step, which is a weighted least-squares fit (IRLS).

This module also holds what the other likelihood models share (`Named`, `EntryOf`, the index symbols and
the Newton/IRLS section), so that `poisson`, `softmax` and `mvn` read the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix

from derive.calculus.differentials import gradient, jacobian
from derive.calculus.index_form import IsPartial
from derive.core.numeval import evaluate
from derive.core.steps import (
    Check,
    Derivation,
    Domains,
    IndexIn,
    IsGradient,
    Nonnegative,
    Scaled,
    Solves,
    binary,
    dimension,
    normal,
)
from derive.derivations.abbreviations import Named, unfold
from derive.derivations.likelihood import log_likelihood_of_independent
from derive.errors import NotSupported
from derive.expr.algebra import factor_common, multiply
from derive.expr.functions import Elementwise, sigmoid
from derive.expr.notation import Notation
from derive.expr.symbols import X, beta, d, n, y


# ---------------------------------------------------------------------------------------------------
# Shared by the likelihood models
# ---------------------------------------------------------------------------------------------------
class EntryOf(Check):
    """before is entry (row, col) of the matrix after, the subscripts 1-based as in Σᵢ: stacking coordinates.

    Checks that the d partial derivatives ∂ℓ/∂βₖ (or the d×d second partials) are the matrix result."""

    def __init__(self, row, col=None):
        super().__init__()
        self.row, self.col = row, col

    def values(self, before, after, env):
        r = int(env[self.row.name]) - 1
        c = int(env[self.col.name]) - 1 if self.col is not None else 0
        return evaluate(before, env), np.asarray(evaluate(after, env))[r, c]


# Summation notation: i runs over observations, j over features; k, l are free coordinates of β.
i, j, k, l = sp.symbols("i j k l", integer=True)
X_ij = sp.IndexedBase("X", shape=(n, d))
y_i = sp.IndexedBase("y", shape=(n,))
beta_j = sp.IndexedBase("beta", shape=(d,))
v_j = sp.IndexedBase("v", shape=(d,))
z = sp.Symbol("z", real=True)


def linear_predictor(obs, Xb=X_ij, b=beta_j):
    """xᵢᵀβ = Σⱼ Xᵢⱼβⱼ."""
    return sp.Sum(Xb[obs, j] * b[j], (j, 1, d))


LOSS = Notation("ℓ(β)", r"\ell(\beta)")
LIKELIHOOD = Notation("L(β)", r"L(\beta)")
LOG_LIKELIHOOD = Notation("log L(β)", r"\log L(\beta)")
GRAD = Notation("∇ℓ(β)", r"\nabla_{\beta} \ell")
HESS = Notation("∇²ℓ(β)", r"\nabla^{2}_{\beta} \ell")
BETA_NEW = Notation("β_new", r"\beta_{\text{new}}")
DK = Notation("∂ℓ/∂β_k", r"\frac{\partial \ell}{\partial \beta_{k}}")
DKL = Notation("∂²ℓ/∂β_k∂β_l", r"\frac{\partial^{2} \ell}{\partial \beta_{k} \partial \beta_{l}}")


def name_weights(D: Derivation, hessian, text: str, why: str):
    """Write Xᵀdiag(w)X as XᵀSX, S = diag(w); returns (S, XᵀSX)."""
    diagonal = next(a for a in hessian.args if isinstance(a, DiagMatrix))
    S = Named("S", "S", diagonal)
    named = multiply([X.T, S, X], hessian)
    D.step("name the weights", f"Write S = {text}, the n×n diagonal matrix of {why}: H = XᵀSX.",
           hessian, named, lhs=HESS)
    return S, named


def convexity_matrix(D: Derivation, S, hessian_named, weight_i, weight_text: str):
    """vᵀXᵀSXv = (Xv)ᵀS(Xv) = Σᵢ sᵢ(xᵢᵀv)² ≥ 0: the Hessian is positive semidefinite."""
    v = sp.MatrixSymbol("v", d, 1)
    regrouped = sp.MatMul(sp.Transpose(X * v), S, X * v)
    D.step("regroup", "For any direction v ∈ ℝᵈ, vᵀXᵀSXv = (Xv)ᵀS(Xv).",
           multiply([v.T, hessian_named, v], hessian_named), regrouped)
    squares = sp.Sum(sp.Mul(weight_i, linear_predictor(i, b=v_j) ** 2, evaluate=False), (i, 1, n))
    D.step("positive semidefinite", f"S is diagonal with entries sᵢ = {weight_text} > 0, so (Xv)ᵀS(Xv) = "
           "Σᵢ sᵢ(xᵢᵀv)² ≥ 0: the Hessian is positive semidefinite at every β, so ℓ is convex and every "
           "stationary point is a global minimum (positive definite, and the minimum unique, when X has "
           "full column rank).", regrouped, squares, check=Nonnegative())


def convexity_index(D: Derivation, hessian_kl, weight_i, weight_text: str):
    """Σₖ Σₗ vₖ Hₖₗ vₗ = Σᵢ sᵢ(Σₖ Xᵢₖvₖ)² ≥ 0, in summation notation."""
    form = sp.Sum(v_j[k] * hessian_kl * v_j[l], (k, 1, d), (l, 1, d))
    squares = sp.Sum(sp.Mul(weight_i, linear_predictor(i, b=v_j) ** 2, evaluate=False), (i, 1, n))
    D.step("positive semidefinite", f"For any v ∈ ℝᵈ the double sum factors observation by observation into "
           f"Σᵢ sᵢ(Σⱼ Xᵢⱼvⱼ)² with sᵢ = {weight_text} > 0, which is ≥ 0: the Hessian is positive semidefinite, "
           "so ℓ is convex and every stationary point is a global minimum.", form, squares, check=Nonnegative())


def newton_section(D: Derivation, grad, hessian_named, S, mean, mean_text: str, why_no_closed_form: str):
    """Stationarity, why it has no closed form, the Newton step and its reading as weighted least squares.

    grad = Xᵀ(mean − y) and hessian_named = XᵀSX; returns the Newton update with S unfolded (plain SymPy)."""
    D.section("No closed form: Newton's method, or iteratively reweighted least squares")
    zero = sp.ZeroMatrix(d, 1)
    D.step("set the gradient to zero", "At the minimum of the convex loss the gradient vanishes: "
           f"Xᵀ{mean_text} = Xᵀy. {why_no_closed_form}", grad, sp.Eq(grad, zero, evaluate=False), relation="")
    Delta = sp.MatrixSymbol("Delta", d, 1)
    linearised = sp.Eq(sp.MatAdd(grad, sp.MatMul(hessian_named, Delta)), zero, evaluate=False)
    step = multiply([sp.S.NegativeOne, sp.Inverse(hessian_named), grad], grad)
    D.step("Newton step", "Linearise the gradient about the current β, ∇ℓ(β + Δ) ≈ ∇ℓ(β) + HΔ (the Hessian "
           "is the Jacobian of the gradient), and solve for the Δ that makes it zero; XᵀSX is invertible when X "
           "has full column rank, because S > 0.", linearised, sp.Eq(Delta, step, evaluate=False),
           check=Solves(Delta), relation="")
    update = sp.MatAdd(beta, step)
    D.step("Newton update", "Move β by Δ and repeat until the gradient is zero (to rounding).",
           update, update, lhs=BETA_NEW)

    A = hessian_named
    inserted = sp.MatAdd(multiply([sp.Inverse(A), A, beta], A), step)
    D.step("insert the identity", "β = (XᵀSX)⁻¹(XᵀSX)β.", update, inserted, lhs=BETA_NEW)
    working = sp.MatAdd(X * beta, sp.MatMul(sp.Inverse(S), sp.MatAdd(y, -mean)))
    collected = multiply([sp.Inverse(A), X.T, S, working], A)
    D.step("collect", f"Take (XᵀSX)⁻¹XᵀS out of both terms: Xᵀ({mean_text} − y) = −XᵀSS⁻¹(y − {mean_text}).",
           inserted, collected, lhs=BETA_NEW)
    z_named = Named("z", "z", working)
    wls = multiply([sp.Inverse(A), X.T, S, z_named], A)
    D.step("working response", f"Call z = Xβ + S⁻¹(y − {mean_text}) the working response.",
           collected, wls, lhs=BETA_NEW)
    b = sp.MatrixSymbol("b", d, 1)
    D.step("weighted least squares", "(XᵀSX)⁻¹XᵀSz solves XᵀSXb = XᵀSz, the normal equations of the weighted "
           "least-squares problem min_b (z − Xb)ᵀS(z − Xb): each Newton step is a weighted regression of z on X "
           "with weights S recomputed from the current β (iteratively reweighted least squares, IRLS).",
           sp.Eq(multiply([A, b], A), multiply([X.T, S, z_named], A), evaluate=False), wls,
           check=Solves(b), lhs=BETA_NEW)
    return unfold(update)


# ---------------------------------------------------------------------------------------------------
# Generalised linear models with canonical link: ℓ(β) = Σᵢ [b(ηᵢ) − yᵢηᵢ], ηᵢ = xᵢᵀβ
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GLM:
    """What distinguishes one canonical-link GLM from another in the derivation (logistic, Poisson)."""

    model: str
    title: str
    domains: Domains
    describe: Callable          # (Derivation) -> None: the symbols table
    facts: Callable             # (Derivation) -> None: scalar lemmas, or nothing
    likelihood: Callable        # (Derivation, eta) -> index-form loss Σᵢ [b(ηᵢ) − yᵢηᵢ]
    cumulant: str               # Elementwise name of b: "softplus" or "exp"
    cumulant_text: str          # "softplus(u) = log(1 + eᵘ)", for the vector-form step
    score: Callable             # eta -> b′(η) as it comes out of the chain rule
    mean: Callable              # eta -> the fitted mean, b′(η) in its textbook form
    mean_rewrite: Optional[tuple]  # (rule, explanation) turning `score` into `mean`, or None
    variance: Callable          # eta -> b″(η)
    mean_text: str              # "σ(Xβ)"
    variance_text: str          # "σ(xᵢᵀβ)(1 − σ(xᵢᵀβ))"
    weights_text: str           # "diag(σ(Xβ) ⊙ (𝟏 − σ(Xβ)))"
    weights_why: str            # "the Bernoulli variances σᵢ(1 − σᵢ)"
    chain_text: str             # the chain-rule sentence for ∂/∂βₖ b(ηᵢ)
    second_text: str            # the chain-rule sentence for ∂/∂βₗ b′(ηᵢ)
    no_closed_form: str
    notes: tuple

    def mean_matrix(self):
        return Elementwise({"softplus": "sigmoid", "exp": "exp"}[self.cumulant], X * beta)

    def variance_matrix(self):
        u = X * beta
        if self.cumulant == "exp":
            return Elementwise("exp", u)
        s = Elementwise("sigmoid", u)
        return sp.HadamardProduct(s, sp.OneMatrix(*u.shape) - s)

    def gradient(self):
        return X.T * (self.mean_matrix() - y)

    def hessian(self):
        return X.T * DiagMatrix(self.variance_matrix()) * X


def glm_derivation(glm: GLM, form: str, dim: int | None) -> Derivation:
    if form == "matrix":
        return _glm_matrix(glm)
    if form == "index":
        return _glm_index(glm)
    if form == "components":
        return _glm_components(glm, 2 if dim is None else dim)
    raise NotSupported(f"no form {form!r} for {glm.model} (forms: matrix, index, components)")


def _glm_matrix(glm: GLM) -> Derivation:
    D = Derivation(glm.title, model=glm.model, form="matrix", domains=glm.domains)
    glm.describe(D)
    glm.facts(D)
    index_loss = glm.likelihood(D, linear_predictor)
    loss = sp.OneMatrix(1, n) * Elementwise(glm.cumulant, X * beta) - y.T * X * beta
    D.step("sums as vector products", f"xᵢᵀβ is entry i of Xβ; Σᵢ f(uᵢ) = 𝟏ᵀf(u) for {glm.cumulant_text} "
           "applied entrywise, and Σᵢ yᵢ(Xβ)ᵢ = yᵀXβ.", index_loss, loss, lhs=LOSS)

    D.section("The gradient")
    raw = gradient(D, loss, beta, lhs=LOSS, result_lhs=GRAD)
    grad = D.step("factor out Xᵀ", f"Xᵀa − Xᵀb = Xᵀ(a − b): the gradient is Xᵀ times the residuals "
                  f"{glm.mean_text} − y.", raw, factor_common(raw), lhs=GRAD)

    D.section("The Hessian and convexity")
    hessian = jacobian(D, grad, beta, lhs=GRAD, result_lhs=HESS)
    S, named = name_weights(D, hessian, glm.weights_text, glm.weights_why)
    convexity_matrix(D, S, named, glm.variance(linear_predictor(i)), glm.variance_text)

    update = newton_section(D, grad, named, S, glm.mean_matrix(), glm.mean_text, glm.no_closed_form)
    D.results = {"loss": loss, "gradient": grad, "hessian": hessian, "update": update}
    D.notes.append("Gradients are in denominator layout: ∇ℓ has the shape of β (d×1).")
    D.notes.extend(glm.notes)
    return D


def _glm_index(glm: GLM) -> Derivation:
    D = Derivation(glm.title, model=glm.model, form="index", domains=glm.domains)
    glm.describe(D)
    glm.facts(D)
    loss = glm.likelihood(D, linear_predictor)
    eta = linear_predictor(i)

    D.section("The gradient, one coordinate at a time")
    delta_k = sp.Sum(X_ij[i, j] * sp.KroneckerDelta(j, k), (j, 1, d))
    with_deltas = D.step("chain rule", glm.chain_text + " ∂ηᵢ/∂βₖ = Σⱼ Xᵢⱼ ∂βⱼ/∂βₖ with ∂βⱼ/∂βₖ = δⱼₖ "
                         "(1 when j = k, else 0).", loss, sp.Sum((glm.score(eta) - y_i[i]) * delta_k, (i, 1, n)),
                         check=IsPartial(beta_j, k), lhs=DK)
    grad_k = D.step("sum out the Kronecker delta", "Σⱼ Xᵢⱼδⱼₖ keeps only the term j = k: it is Xᵢₖ.",
                    with_deltas, sp.Sum(sp.Mul(X_ij[i, k], glm.score(eta) - y_i[i], evaluate=False), (i, 1, n)),
                    lhs=DK)
    if glm.mean_rewrite:
        rule_name, why = glm.mean_rewrite
        grad_k = D.step(rule_name, why, grad_k,
                        sp.Sum(sp.Mul(X_ij[i, k], glm.mean(eta) - y_i[i], evaluate=False), (i, 1, n)), lhs=DK)
    grad = glm.gradient()
    D.step("stack the coordinates", f"Σᵢ Xᵢₖrᵢ is entry k of Xᵀr: with the residuals r = {glm.mean_text} − y the "
           "d partial derivatives form the gradient.", grad_k, grad, check=EntryOf(k), lhs=GRAD)

    D.section("The Hessian and convexity")
    delta_l = sp.Sum(X_ij[i, j] * sp.KroneckerDelta(j, l), (j, 1, d))
    second = D.step("chain rule", glm.second_text + " ∂ηᵢ/∂βₗ = Σⱼ Xᵢⱼδⱼₗ; yᵢ does not depend on β.", grad_k,
                    sp.Sum(sp.Mul(X_ij[i, k], glm.variance(eta), delta_l, evaluate=False), (i, 1, n)),
                    check=IsPartial(beta_j, l), lhs=DKL)
    hessian_kl = D.step("sum out the Kronecker delta", "Σⱼ Xᵢⱼδⱼₗ = Xᵢₗ.", second,
                        sp.Sum(sp.Mul(X_ij[i, k], X_ij[i, l], glm.variance(eta), evaluate=False), (i, 1, n)),
                        lhs=DKL)
    hessian = glm.hessian()
    D.step("stack the coordinates", "Σᵢ Xᵢₖ sᵢ Xᵢₗ is entry (k, l) of Xᵀdiag(s)X.", hessian_kl, hessian,
           check=EntryOf(k, l), lhs=HESS)
    convexity_index(D, hessian_kl, glm.variance(eta), glm.variance_text)
    S, named = name_weights(D, hessian, glm.weights_text, glm.weights_why)

    update = newton_section(D, grad, named, S, glm.mean_matrix(), glm.mean_text, glm.no_closed_form)
    D.results = {"loss": loss, "gradient": grad_k, "hessian": hessian_kl, "update": update}
    D.notes.append(f"In matrix form: ∇ℓ = Xᵀ({glm.mean_text} − y) and ∇²ℓ = XᵀSX with S = {glm.weights_text}.")
    return D


def components_setup(dim: int):
    """(coefficient symbols β₀…β_{D−1}, their X, the linear predictor as a function of i)."""
    if not 1 <= dim <= 6:
        raise NotSupported(f"--dim must be between 1 and 6 for the components form, not {dim}")
    b = sp.symbols(f"beta_0:{dim}", real=True)
    Xc = sp.IndexedBase("X", shape=(n, dim))
    return b, Xc, (lambda obs: sum(Xc[obs, c] * b[c] for c in range(dim)))


def _glm_components(glm: GLM, dim: int) -> Derivation:
    b, Xc, eta_of = components_setup(dim)
    samplers = {name: sampler for name, sampler in glm.domains.samplers.items() if name not in ("d", "k", "l")}
    D = Derivation(glm.title, model=glm.model, form="components", domains=Domains(samplers))
    glm.describe(D)
    D.symbols = [(Xc[i, 0], f"entry (i, j) of the n×{dim} data matrix, j = 0…{dim - 1}")] + D.symbols[1:2] + \
        [(bk, "coefficient") for bk in b]
    glm.facts(D)
    loss = glm.likelihood(D, eta_of)
    eta = eta_of(i)
    D.section("The partial derivatives")
    grads = []
    for c, bc in enumerate(b):
        lhs = Notation(f"∂ℓ/∂β{c}", r"\frac{\partial \ell}{\partial \beta_{%d}}" % c)
        grads.append(D.step("chain rule", glm.chain_text + f" ∂ηᵢ/∂β{c} = Xᵢ{c}.", loss,
                            sp.Sum(sp.Mul(Xc[i, c], glm.mean(eta) - y_i[i], evaluate=False), (i, 1, n)),
                            check=IsGradient(bc), lhs=lhs))
    D.section("The Hessian")
    hessian = sp.zeros(dim, dim)
    for r in range(dim):
        for c in range(r, dim):
            lhs = Notation(f"∂²ℓ/∂β{r}∂β{c}", r"\frac{\partial^{2} \ell}{\partial \beta_{%d} \partial \beta_{%d}}" % (r, c))
            entry = sp.Sum(sp.Mul(Xc[i, r], Xc[i, c], glm.variance(eta), evaluate=False), (i, 1, n))
            hessian[r, c] = hessian[c, r] = D.step("chain rule", glm.second_text + f" ∂ηᵢ/∂β{c} = Xᵢ{c}.",
                                                   grads[r], entry, check=IsGradient(b[c]), lhs=lhs)
    D.results = {"loss": loss, "gradient": sp.ImmutableMatrix(grads), "hessian": sp.ImmutableMatrix(hessian)}
    D.notes.append("No closed form: the Newton step β ← β − H⁻¹∇ℓ with these entries is derived in the matrix form.")
    return D


# ---------------------------------------------------------------------------------------------------
# Logistic regression
# ---------------------------------------------------------------------------------------------------
def _describe(D: Derivation) -> None:
    D.symbols = [(X, "n×d data matrix, row i is xᵢᵀ"), (y, "n×1 vector of labels yᵢ ∈ {0, 1}"),
                 (beta, "d×1 vector of coefficients"), (sigmoid(z), "the logistic function 1/(1 + e^{−z})")]


def sigmoid_facts(D: Derivation) -> None:
    """The facts about σ the derivation uses, each checked on its own: scalar z, any real value."""
    D.section("Facts about the logistic function σ")
    sigma = Notation("σ(z)", r"\sigma(z)")
    D.step("definition", "The logistic function maps the real line onto (0, 1).", sigmoid(z),
           1 / (1 + sp.exp(-z)), lhs=sigma)
    D.step("multiply by eᶻ/eᶻ", "Multiply numerator and denominator by eᶻ.", 1 / (1 + sp.exp(-z)),
           sp.exp(z) / (1 + sp.exp(z)), lhs=sigma)
    D.step("symmetry", "1 − eᶻ/(1 + eᶻ) = 1/(1 + eᶻ) = σ(−z).", 1 - sigmoid(z), sigmoid(-z))
    D.step("log σ(z) = z − log(1 + eᶻ)", "log(eᶻ/(1 + eᶻ)) = log eᶻ − log(1 + eᶻ).",
           sp.log(sigmoid(z)), z - sp.log(1 + sp.exp(z)))
    D.step("log(1 − σ(z)) = −log(1 + eᶻ)", "1 − σ(z) = 1/(1 + eᶻ), and log(1/a) = −log a.",
           sp.log(1 - sigmoid(z)), -sp.log(1 + sp.exp(z)))
    derivative = Notation("σ′(z)", r"\sigma'(z)")
    raw = D.step("quotient rule", "d/dz eᶻ/(1 + eᶻ) = [eᶻ(1 + eᶻ) − eᶻ·eᶻ]/(1 + eᶻ)².", sp.exp(z) / (1 + sp.exp(z)),
                 sp.exp(z) / (1 + sp.exp(z)) ** 2, check=IsGradient(z), lhs=derivative)
    D.step("σ′ = σ(1 − σ)", "eᶻ/(1 + eᶻ)² = [eᶻ/(1 + eᶻ)]·[1/(1 + eᶻ)] = σ(z)σ(−z), and σ(−z) = 1 − σ(z).",
           raw, _sigmoid_variance(z), lhs=derivative)
    softplus_derivative = Notation("d/dz log(1 + eᶻ)", r"\frac{d}{dz} \log\left(1 + e^{z}\right)")
    raw = D.step("chain rule", "d log u = du/u with u = 1 + eᶻ.", sp.log(1 + sp.exp(z)),
                 sp.exp(z) / (1 + sp.exp(z)), check=IsGradient(z), lhs=softplus_derivative)
    D.step("definition of σ", "eᶻ/(1 + eᶻ) = σ(z) (above).", raw, sigmoid(z), lhs=softplus_derivative)


def bernoulli_likelihood(D: Derivation, eta) -> sp.Expr:
    """From yᵢ ~ Bernoulli(σ(ηᵢ)) to the loss Σᵢ [log(1 + e^{ηᵢ}) − yᵢηᵢ]; eta(i) is the linear predictor."""
    D.section("The model and its likelihood")
    e, yi = eta(i), y_i[i]
    s = sigmoid(e)
    pick = yi * s + (1 - yi) * (1 - s)
    pmf = s ** yi * (1 - s) ** (1 - yi)
    D.step("Bernoulli model", "yᵢ | xᵢ ~ Bernoulli(σ(xᵢᵀβ)): yᵢ = 1 with probability σ(xᵢᵀβ) and yᵢ = 0 with "
           "probability 1 − σ(xᵢᵀβ), as on the left; because yᵢ ∈ {0, 1}, the power form on the right is the "
           "same probability p(yᵢ | xᵢ, β), in a form that logs turn into sums.", pick, pmf)
    logs = log_likelihood_of_independent(D, pmf, i, n, LIKELIHOOD, LOG_LIKELIHOOD, "Given X the labels are "
                                         "independent, so the likelihood of β is the product of the n probabilities.")
    expanded = sp.Sum(yi * sp.log(s) + (1 - yi) * sp.log(1 - s), (i, 1, n))
    D.step("log of a power", "log(aᵘbᵛ) = u log a + v log b.", logs, expanded, lhs=LOG_LIKELIHOOD)
    nll = -expanded
    D.step("negative log-likelihood", "The loss is minus the log-likelihood: minimising ℓ maximises L.",
           expanded, nll, check=Scaled(-1), lhs=LOSS)
    softplus_i = sp.log(1 + sp.exp(e))
    substituted = -sp.Sum(yi * (e - softplus_i) + (1 - yi) * (-softplus_i), (i, 1, n))
    D.step("log σ(z) = z − log(1 + eᶻ), log(1 − σ(z)) = −log(1 + eᶻ)", "Use the facts about σ above with "
           "z = xᵢᵀβ.", nll, substituted, lhs=LOSS)
    loss = sp.Sum(softplus_i - yi * e, (i, 1, n))
    D.step("collect terms", "log(1 + e^{xᵢᵀβ}) appears with total weight yᵢ + (1 − yᵢ) = 1; move the minus sign "
           "inside the sum.", substituted, loss, lhs=LOSS)
    return loss


def _sigmoid_variance(eta):
    return sp.Mul(sigmoid(eta), 1 - sigmoid(eta), evaluate=False)


# n > d in every random draw, so a random X has full column rank and XᵀSX is invertible.
DOMAINS = Domains({"n": dimension(6, 9), "d": dimension(2, 4), "y": binary, "z": normal,
                   "i": IndexIn("n"), "k": IndexIn("d"), "l": IndexIn("d")})

LOGISTIC = GLM(
    model="logistic", title="Logistic regression", domains=DOMAINS, describe=_describe, facts=sigmoid_facts,
    likelihood=bernoulli_likelihood, cumulant="softplus", cumulant_text="softplus(u) = log(1 + eᵘ)",
    score=lambda eta: sp.exp(eta) / (1 + sp.exp(eta)), mean=sigmoid,
    mean_rewrite=("eᶻ/(1 + eᶻ) = σ(z)", "By the definition of σ: observation i contributes Xᵢₖ times its residual "
                  "σ(xᵢᵀβ) − yᵢ."),
    variance=_sigmoid_variance, mean_text="σ(Xβ)", variance_text="σ(xᵢᵀβ)(1 − σ(xᵢᵀβ))",
    weights_text="diag(σ(Xβ) ⊙ (𝟏 − σ(Xβ)))", weights_why="the Bernoulli variances σᵢ(1 − σᵢ)",
    chain_text="Differentiate observation by observation: ∂/∂βₖ log(1 + e^{ηᵢ}) = e^{ηᵢ}/(1 + e^{ηᵢ}) · ∂ηᵢ/∂βₖ, "
               "with ηᵢ = xᵢᵀβ;",
    second_text="σ′ = σ(1 − σ) (above), so ∂σ(ηᵢ)/∂βₗ = σ(ηᵢ)(1 − σ(ηᵢ)) ∂ηᵢ/∂βₗ;",
    no_closed_form="σ is nonlinear in β, so these d equations have no closed-form solution (and no finite one "
                   "at all when a hyperplane separates the classes): solve them iteratively.",
    notes=("H = XᵀSX with S = diag(σ(Xβ) ⊙ (𝟏 − σ(Xβ))), the variances of the fitted Bernoulli labels; "
           "(XᵀSX)⁻¹ at the estimate is the usual covariance of β̂.",),
)


def derivation(form: str = "matrix", dim: int | None = None) -> Derivation:
    return glm_derivation(LOGISTIC, form, dim)
