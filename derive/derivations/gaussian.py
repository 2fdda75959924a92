"""Maximum likelihood for an iid Gaussian sample: μ̂ = (1/n)Σᵢ xᵢ and σ̂² = (1/n)Σᵢ(xᵢ − μ̂)².

From the density of N(μ, σ²) to the likelihood of n independent observations (a product), its log (a sum),
the negative log-likelihood ℓ(μ, σ²) = (n/2) log(2πσ²) + (1/(2σ²))Σᵢ(xᵢ − μ)², its gradient in (μ, σ²), the
stationary point, and the Hessian there (positive definite: the stationary point is the minimum of ℓ).

The parameters are two scalars, so both forms use summation notation; the matrix form adds the estimates in
vector notation (𝟏ᵀx/n and (x − μ̂𝟏)ᵀ(x − μ̂𝟏)/n). This module also holds what the closed-form models share:
the hatted estimate symbols and the checks `GradientIn`, `JacobianIn` and `WithEstimates`.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from derive.core.numeval import directional_derivative, evaluate
from derive.core.steps import (
    Check,
    Derivation,
    Domains,
    Equal,
    IndexIn,
    IsGradient,
    Nonnegative,
    Scaled,
    Solves,
    dimension,
    normal,
    positive,
)
from derive.derivations.likelihood import log_likelihood_of_independent
from derive.errors import NotSupported
from derive.expr.notation import Notation
from derive.expr.symbols import n

# ---------------------------------------------------------------------------------------------------
# Shared by the closed-form models
# ---------------------------------------------------------------------------------------------------
HATS = {
    "mu_hat": ("μ̂", r"\hat{\mu}"),
    "sigma_hat^2": ("σ̂²", r"\hat{\sigma}^{2}"),
    "p_hat": ("p̂", r"\hat{p}"),
}


class Estimate(sp.Symbol):
    """An estimate written with a hat (μ̂, σ̂², p̂). `WithEstimates` gives it its value from the data."""

    def _unicode(self, printer):
        return HATS[self.name][0]

    def _latex(self, printer):
        return HATS[self.name][1]


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


class GradientIn(Check):
    """after = (∂before/∂v₁, …, ∂before/∂vₘ)ᵀ for scalar variables vₖ, compared along a random direction."""

    def __init__(self, variables):
        super().__init__()
        self.variables = tuple(variables)

    def _direction(self, env):
        return np.random.default_rng(len(env)).standard_normal(len(self.variables))

    def values(self, before, after, env):
        u = self._direction(env)
        moved = {v.name: u[k] for k, v in enumerate(self.variables)}
        return np.ravel(evaluate(after, env)) @ u, directional_derivative(before, env, moved)


class JacobianIn(GradientIn):
    """after = ∂before/∂(v₁, …, vₘ) for a vector `before` of scalar variables: the Hessian of a gradient."""

    def values(self, before, after, env):
        u = self._direction(env)
        moved = {v.name: u[k] for k, v in enumerate(self.variables)}
        return np.asarray(evaluate(after, env)) @ u, np.ravel(directional_derivative(before, env, moved))


# ---------------------------------------------------------------------------------------------------
# The Gaussian model
# ---------------------------------------------------------------------------------------------------
i = sp.Symbol("i", integer=True)
x_i = sp.IndexedBase("x", shape=(n,))
x = sp.MatrixSymbol("x", n, 1)
mu = sp.Symbol("mu", real=True)
s2 = sp.Symbol("sigma^2", positive=True)
MU_HAT = Estimate("mu_hat", real=True)
S2_HAT = Estimate("sigma_hat^2", positive=True)

DOMAINS = Domains({"n": dimension(3, 8), "mu": normal, "sigma^2": positive, "i": IndexIn("n"),
                   "v_1": normal, "v_2": normal})

LOSS = Notation("ℓ(μ, σ²)", r"\ell(\mu, \sigma^{2})")
LIKELIHOOD = Notation("L(μ, σ²)", r"L(\mu, \sigma^{2})")
LOG_LIKELIHOOD = Notation("log L(μ, σ²)", r"\log L(\mu, \sigma^{2})")


def sample_mean(index=i):
    return sp.Sum(x_i[index], (index, 1, n)) / n


def derivation(form: str = "matrix", dim: int | None = None) -> Derivation:
    if form not in ("matrix", "index"):
        raise NotSupported(f"no form {form!r} for gaussian: its parameters μ and σ² are two scalars, so there "
                           "are no coefficient components to write out (forms: matrix, index)")
    D = Derivation("Gaussian maximum likelihood", model="gaussian", form=form, domains=DOMAINS)
    D.symbols = [(x_i[i], "observation i, for i = 1…n"), (mu, "the mean"), (s2, "the variance, σ² > 0")]

    D.section("The model and its likelihood")
    r = x_i[i] - mu
    density = sp.exp(-r ** 2 / (2 * s2)) / sp.sqrt(2 * sp.pi * s2)
    D.step("Gaussian density", "xᵢ ~ N(μ, σ²), independently for i = 1…n.", density, density,
           lhs=Notation("p(xᵢ | μ, σ²)", r"p(x_i \mid \mu, \sigma^{2})"))
    logs = log_likelihood_of_independent(D, density, i, n, LIKELIHOOD, LOG_LIKELIHOOD, "The likelihood of "
                                         "independent observations is the product of their densities.")
    terms = sp.Sum(-sp.log(2 * sp.pi * s2) / 2 - r ** 2 / (2 * s2), (i, 1, n))
    D.step("log of a product, log eᵘ = u", "log((2πσ²)^{−1/2} eᵘ) = −½ log(2πσ²) + u.", logs, terms,
           lhs=LOG_LIKELIHOOD)
    nll = sp.Sum(sp.log(2 * sp.pi * s2) / 2 + r ** 2 / (2 * s2), (i, 1, n))
    D.step("negative log-likelihood", "The loss is minus the log-likelihood: minimising ℓ maximises L.",
           terms, nll, check=Scaled(-1), lhs=LOSS)
    squares = sp.Sum(r ** 2, (i, 1, n))
    loss = n * sp.log(2 * sp.pi * s2) / 2 + squares / (2 * s2)
    D.step("constants out of the sum", "½ log(2πσ²) does not depend on i, so it adds up to n times itself; "
           "1/(2σ²) is a common factor.", nll, loss, lhs=LOSS)

    D.section("The gradient")
    d_mu = Notation("∂ℓ/∂μ", r"\frac{\partial \ell}{\partial \mu}")
    d_s2 = Notation("∂ℓ/∂σ²", r"\frac{\partial \ell}{\partial \sigma^{2}}")
    residuals = sp.Sum(r, (i, 1, n))
    g_mu = D.step("chain rule", "∂(xᵢ − μ)²/∂μ = −2(xᵢ − μ); the first term does not depend on μ.",
                  loss, -residuals / s2, check=IsGradient(mu), lhs=d_mu)
    g_s2 = D.step("d log u = du/u, d(1/u) = −du/u²", "Treat σ² as the variable: ∂/∂σ² (n/2) log(2πσ²) = n/(2σ²) "
                  "and ∂/∂σ² 1/(2σ²) = −1/(2σ⁴).", loss, n / (2 * s2) - squares / (2 * s2 ** 2),
                  check=IsGradient(s2), lhs=d_s2)
    grad = sp.ImmutableMatrix([g_mu, g_s2])
    D.step("the gradient in (μ, σ²)", "Stack the two partial derivatives.", loss, grad,
           check=GradientIn((mu, s2)), lhs=Notation("∇ℓ(μ, σ²)", r"\nabla \ell(\mu, \sigma^{2})"))

    D.section("The maximum-likelihood estimates")
    stationary_mu = D.step("set ∂ℓ/∂μ to zero", "At the maximum of the likelihood both partial derivatives "
                           "vanish; σ² > 0, so this says Σᵢ(xᵢ − μ) = 0.", g_mu, sp.Eq(g_mu, 0), relation="")
    mean = sample_mean()
    D.step("solve for μ", "Σᵢ(xᵢ − μ) = Σᵢ xᵢ − nμ = 0: the estimate of the mean is the sample mean.",
           stationary_mu, mean, check=Solves(mu), lhs=Notation("μ̂", r"\hat{\mu}"))
    at_mean = g_s2.subs(mu, MU_HAT)
    stationary_s2 = D.step("set ∂ℓ/∂σ² to zero at μ = μ̂", "Put the estimate of μ into the second equation and "
                           "multiply through by 2σ⁴/n > 0.", at_mean, sp.Eq(at_mean, 0), relation="",
                           check=WithEstimates(Equal(), [(MU_HAT, mean)]))
    variance = sp.Sum((x_i[i] - MU_HAT) ** 2, (i, 1, n)) / n
    D.step("solve for σ²", "n/(2σ²) = Σᵢ(xᵢ − μ̂)²/(2σ⁴) gives σ² = (1/n)Σᵢ(xᵢ − μ̂)²: the average squared "
           "deviation, with 1/n (the maximum-likelihood estimate is biased; the unbiased one divides by n − 1).",
           stationary_s2, variance, check=WithEstimates(Solves(s2), [(MU_HAT, mean)]),
           lhs=Notation("σ̂²", r"\hat{\sigma}^{2}"))
    estimates = [(MU_HAT, mean), (S2_HAT, variance)]

    D.section("Second-order check: the Hessian at the estimates")
    hess = Notation("∇²ℓ(μ, σ²)", r"\nabla^{2} \ell(\mu, \sigma^{2})")
    hessian = sp.ImmutableMatrix([[n / s2, residuals / s2 ** 2],
                                  [residuals / s2 ** 2, -n / (2 * s2 ** 2) + squares / s2 ** 3]])
    D.step("differentiate again", "Differentiate each partial derivative with respect to μ and to σ²; the "
           "Hessian is symmetric.", grad, hessian, check=JacobianIn((mu, s2)), lhs=hess)
    at_estimates = hessian.subs({mu: MU_HAT, s2: S2_HAT})
    at_mle = sp.ImmutableMatrix([[n / S2_HAT, 0], [0, n / (2 * S2_HAT ** 2)]])
    D.step("evaluate at (μ̂, σ̂²)", "At the estimates Σᵢ(xᵢ − μ̂) = 0 and Σᵢ(xᵢ − μ̂)² = nσ̂²: the off-diagonal "
           "entries vanish and −n/(2σ̂⁴) + nσ̂²/σ̂⁶ = n/(2σ̂⁴).", at_estimates, at_mle,
           check=WithEstimates(Equal(), estimates), lhs=Notation("∇²ℓ(μ̂, σ̂²)", r"\nabla^{2} \ell(\hat{\mu}, \hat{\sigma}^{2})"))
    v1, v2 = sp.symbols("v_1 v_2", real=True)
    quadratic = (sp.Matrix([[v1, v2]]) * at_mle * sp.Matrix([v1, v2]))[0, 0]
    D.step("positive definite", "For any (v₁, v₂) ≠ 0 the quadratic form n v₁²/σ̂² + n v₂²/(2σ̂⁴) is > 0 (when the "
           "xᵢ are not all equal, σ̂² > 0): (μ̂, σ̂²) is a strict local minimum of ℓ, and as the only stationary "
           "point it is the global minimum, the maximum-likelihood estimate.", quadratic,
           n * v1 ** 2 / S2_HAT + n * v2 ** 2 / (2 * S2_HAT ** 2), check=WithEstimates(Nonnegative(), estimates),
           lhs=Notation("vᵀ∇²ℓ(μ̂, σ̂²)v", r"v^{\top} \nabla^{2} \ell(\hat{\mu}, \hat{\sigma}^{2}) v"))

    if form == "matrix":
        D.section("In vector notation")
        ones = sp.OneMatrix(n, 1)
        D.step("Σᵢ xᵢ = 𝟏ᵀx", "With the sample as the vector x ∈ ℝⁿ.", mean, sp.MatMul(1 / n, ones.T, x),
               lhs=Notation("μ̂", r"\hat{\mu}"))
        deviation = sp.MatAdd(x, sp.MatMul(-1, MU_HAT, ones))
        D.step("Σᵢ uᵢ² = uᵀu", "The deviations from the mean form the vector x − μ̂𝟏.", variance,
               sp.MatMul(1 / n, sp.Transpose(deviation), deviation), check=WithEstimates(Equal(), [(MU_HAT, mean)]),
               lhs=Notation("σ̂²", r"\hat{\sigma}^{2}"))

    solution = sp.ImmutableMatrix([mean, variance.subs(MU_HAT, sample_mean(sp.Symbol("j", integer=True)))])
    D.results = {"loss": loss, "gradient": grad, "hessian": hessian, "solution": solution}
    D.notes.append("The parameter vector is (μ, σ²): the gradient and Hessian are with respect to μ and the "
                   "variance σ² (not σ).")
    D.notes.append("At the estimate the Hessian is diag(n/σ̂², n/(2σ̂⁴)); its inverse, diag(σ̂²/n, 2σ̂⁴/n), is the "
                   "asymptotic covariance of (μ̂, σ̂²).")
    return D
