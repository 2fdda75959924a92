"""Bayes' rule and conjugate priors: the posterior is proportional to likelihood × prior.

>>> import derive
>>> d = derive.derivation("bayes-linear")
>>> all(step.verified for step in d.steps), list(d.results)
(True, ['posterior_mean', 'posterior_covariance', 'posterior_precision', 'map'])

Two moves do the work. *Bayes' rule*: log p(θ | data) = log p(data | θ) + log p(θ) + const, each step checked
as "proportional as densities" (`Proportional`: the logs differ by a term free of θ). *Completing the square*:
a log-density −½θᵀAθ + bᵀθ + const is the Gaussian N(A⁻¹b, A⁻¹), so a Gaussian prior with a Gaussian
likelihood gives a Gaussian posterior. The derivations:

- `bayes-gaussian`: the posterior of a Gaussian mean μ (known σ²) under the prior μ ~ N(μ₀, τ²);
- `bayes-linear`: Bayesian linear regression, β ~ N(0, τ²I), y | β ~ N(Xβ, σ²I) ⇒ β | y ~ N(m, S) with
  S⁻¹ = XᵀX/σ² + I/τ² and m = SXᵀy/σ²; the posterior mode (MAP) is ridge regression with λ = σ²/τ²;
- `beta-bernoulli`: the Beta prior is conjugate to the Bernoulli likelihood, Beta(a + s, b + n − s).
"""
from __future__ import annotations

import sympy as sp

from derive.core.random_points import Domains, IndexIn, binary, dimension, interval, normal, probability
from derive.core.steps import Derivation, Equal, IsGradient, Proportional, Solves
from derive.derivations.abbreviations import Abbreviation, Named, unfold
from derive.derivations.statements import by_name
from derive.expr.notation import Notation
from derive.expr.symbols import Eye, X, beta, d, n, y

sigma2 = sp.Symbol("sigma^2", positive=True)
tau2 = sp.Symbol("tau^2", positive=True)


def complete_the_square(D: Derivation, precision, linear, theta, lhs, inverse=None):
    """Record −½θᵀAθ + bᵀθ = −½(θ − A⁻¹b)ᵀA(θ − A⁻¹b) + ½bᵀA⁻¹b (scalars: −½aθ² + bθ = −½a(θ − b/a)² + b²/(2a));
    returns the mean A⁻¹b. `inverse` is how A⁻¹ is shown (a name such as S), Inverse(A) otherwise."""
    if getattr(theta, "is_Matrix", False):
        inverse = inverse if inverse is not None else sp.Inverse(precision)
        mean = sp.MatMul(inverse, linear)
        shifted = sp.MatAdd(theta, -mean)
        before = sp.MatAdd(sp.MatMul(sp.Rational(-1, 2), theta.T, precision, theta), sp.MatMul(linear.T, theta))
        after = sp.MatAdd(sp.MatMul(sp.Rational(-1, 2), shifted.T, precision, shifted),
                          sp.MatMul(sp.Rational(1, 2), linear.T, inverse, linear))
        why = "With A symmetric: expanding −½(θ − A⁻¹b)ᵀA(θ − A⁻¹b) gives back −½θᵀAθ + bᵀθ − ½bᵀA⁻¹b."
    else:
        mean = Abbreviation("m", "m", linear / precision)
        before = -precision * theta ** 2 / 2 + linear * theta
        after = -precision * (theta - mean) ** 2 / 2 + precision * mean ** 2 / 2
        why = "With m = b/a: expanding −½a(θ − m)² gives back −½aθ² + bθ − ½a m²."
    D.step("complete the square", why, before, after, lhs=lhs)
    return mean


# ---------------------------------------------------------------------------------------------------
# bayes-gaussian: the posterior of a Gaussian mean
# ---------------------------------------------------------------------------------------------------
i = sp.Symbol("i", integer=True)
x_i = sp.IndexedBase("x", shape=(n,))
mu = sp.Symbol("mu", real=True)
mu0 = sp.Symbol("mu_0", real=True)


def bayes_gaussian() -> Derivation:
    D = Derivation("The posterior of a Gaussian mean (conjugate Gaussian prior)", model="bayes-gaussian", form="matrix",
                   domains=Domains({"n": dimension(2, 8), "mu": normal, "mu_0": normal, "i": IndexIn("n")}))
    D.symbols = [(x_i[i], "observation i, xᵢ | μ ~ N(μ, σ²) independently, σ² known"),
                 (mu, "the unknown mean, with prior μ ~ N(μ₀, τ²)")]
    total = sp.Sum(x_i[i], (i, 1, n))
    log_likelihood = sp.Sum(-sp.log(2 * sp.pi * sigma2) / 2 - (x_i[i] - mu) ** 2 / (2 * sigma2), (i, 1, n))
    log_prior = -sp.log(2 * sp.pi * tau2) / 2 - (mu - mu0) ** 2 / (2 * tau2)
    label = Notation("log p(μ | x)", r"\log p(\mu \mid x)")
    D.section("Bayes' rule")
    precision = Abbreviation("a", "a", n / sigma2 + 1 / tau2)
    linear = Abbreviation("b", "b", total / sigma2 + mu0 / tau2)
    quadratic = -precision * mu ** 2 / 2 + linear * mu
    D.step("posterior ∝ likelihood × prior", "p(μ | x) = p(x | μ)p(μ)/p(x), and p(x) does not depend on μ. In logs, "
           "collect the terms in μ² and μ, with a = n/σ² + 1/τ² and b = Σᵢxᵢ/σ² + μ₀/τ²; the rest is a constant "
           "in μ.", log_likelihood + log_prior, quadratic, check=Proportional(mu, logs=True), lhs=label)
    D.section("Completing the square")
    mean = complete_the_square(D, precision, linear, mu, label)
    posterior_variance = 1 / precision
    log_posterior = -sp.log(2 * sp.pi * posterior_variance) / 2 - (mu - mean) ** 2 / (2 * posterior_variance)
    D.step("a Gaussian in μ", "The log-density of N(m, v) is −(μ − m)²/(2v) + const: the posterior is Gaussian, "
           "its precision the sum of the data's n/σ² and the prior's 1/τ².", quadratic, log_posterior,
           check=Proportional(mu, logs=True), lhs=label)
    weighted = (n * tau2 * total / n + sigma2 * mu0) / (n * tau2 + sigma2)
    D.step("the posterior mean", "m = b/a with numerator and denominator multiplied by σ²τ²: a weighted average of the "
           "sample mean Σᵢxᵢ/n and the prior mean μ₀, with weights nτ² and σ²; as n grows it tends to the sample "
           "mean.", mean, weighted,
           lhs=Notation("E[μ | x]", r"\mathbb{E}[\mu \mid x]"))
    D.results = {"posterior_mean": unfold(weighted), "posterior_variance": unfold(posterior_variance)}
    return D


# ---------------------------------------------------------------------------------------------------
# bayes-linear: β | y ~ N(m, S)
# ---------------------------------------------------------------------------------------------------
def bayes_linear() -> Derivation:
    D = Derivation("Bayesian linear regression: Gaussian prior, Gaussian posterior", model="bayes-linear", form="matrix",
                   domains=Domains({"n": dimension(2, 8), "d": dimension(2, 5)}))
    D.symbols = [(X, "n×d data matrix"), (y, "n×1 targets, y | β ~ N(Xβ, σ²I), σ² known"),
                 (beta, "d×1 coefficients, with prior β ~ N(0, τ²I)")]
    residual = sp.MatAdd(y, -X * beta)
    log_likelihood = sp.MatAdd(sp.MatMul(-1 / (2 * sigma2), residual.T, residual),
                               sp.MatMul(-n * sp.log(2 * sp.pi * sigma2) / 2, sp.OneMatrix(1, 1)))
    log_prior = sp.MatAdd(sp.MatMul(-1 / (2 * tau2), beta.T, beta),
                          sp.MatMul(-d * sp.log(2 * sp.pi * tau2) / 2, sp.OneMatrix(1, 1)))
    label = Notation("log p(β | y)", r"\log p(\beta \mid y)")
    D.section("Bayes' rule")
    joint = sp.MatAdd(log_likelihood, log_prior)
    D.step("posterior ∝ likelihood × prior", "p(β | y) = p(y | β)p(β)/p(y), and p(y) does not depend on β: up to a "
           "constant the log-posterior is the log-likelihood plus the log-prior (Gaussian log-densities).",
           joint, sp.MatAdd(sp.MatMul(-1 / (2 * sigma2), residual.T, residual), sp.MatMul(-1 / (2 * tau2), beta.T, beta)),
           check=Proportional(beta, logs=True), lhs=label)
    precision_matrix = sp.MatAdd(sp.MatMul(1 / sigma2, X.T, X), sp.MatMul(1 / tau2, Eye(d)))
    precision = Named("S⁻¹", r"S^{-1}", precision_matrix)
    covariance = Named("S", "S", sp.Inverse(precision_matrix))
    linear = Named("b", "b", sp.MatMul(1 / sigma2, X.T, y))
    quadratic = sp.MatAdd(sp.MatMul(sp.Rational(-1, 2), beta.T, precision, beta), sp.MatMul(linear.T, beta))
    D.step("collect the terms in β", "Expand (y − Xβ)ᵀ(y − Xβ) = yᵀy − 2yᵀXβ + βᵀXᵀXβ; yᵀy is a constant in β. "
           "The quadratic terms share the matrix S⁻¹ = XᵀX/σ² + I/τ² (the posterior precision), the linear ones "
           "the vector b = Xᵀy/σ².",
           sp.MatAdd(sp.MatMul(-1 / (2 * sigma2), residual.T, residual), sp.MatMul(-1 / (2 * tau2), beta.T, beta)),
           quadratic, check=Proportional(beta, logs=True), lhs=label)
    D.section("Completing the square")
    mean = complete_the_square(D, precision, linear, beta, label, inverse=covariance)
    deviation = sp.MatAdd(beta, -mean)
    gaussian = sp.MatMul(sp.Rational(-1, 2), deviation.T, precision, deviation)
    D.step("a Gaussian in β", "−½(β − m)ᵀS⁻¹(β − m) is, up to a constant, the log-density of N(m, S): the posterior "
           "is Gaussian with covariance S = (XᵀX/σ² + I/τ²)⁻¹ and mean m = Sb = SXᵀy/σ².",
           quadratic, gaussian, check=Proportional(beta, logs=True), lhs=label)
    D.section("The posterior mode is ridge regression")
    D.step("the mode of a Gaussian is its mean", "The log-posterior's gradient −S⁻¹(β − m) vanishes at β = m: the "
           "maximum a posteriori (MAP) estimate is m.", sp.MatMul(-1, precision, deviation),
           mean, check=Solves(beta), lhs=Notation("β_MAP", r"\beta_{\mathrm{MAP}}"))
    ridge_lambda = sigma2 / tau2
    ridge = sp.MatMul(sp.Inverse(sp.MatAdd(X.T * X, sp.MatMul(ridge_lambda, Eye(d)))), X.T, y)
    D.step("multiply through by σ²", "(XᵀX/σ² + I/τ²)⁻¹Xᵀy/σ² = (XᵀX + (σ²/τ²)I)⁻¹Xᵀy: the ridge solution with "
           "λ = σ²/τ² (derive show ridge). A vague prior (τ² → ∞) gives back least squares.", mean, ridge,
           lhs=Notation("β_MAP", r"\beta_{\mathrm{MAP}}"))
    D.results = {"posterior_mean": unfold(mean), "posterior_covariance": unfold(covariance),
                 "posterior_precision": precision_matrix, "map": ridge}
    return D


# ---------------------------------------------------------------------------------------------------
# beta-bernoulli: Beta(a, b) prior, Bernoulli data ⇒ Beta(a + s, b + n − s)
# ---------------------------------------------------------------------------------------------------
p = sp.Symbol("p", positive=True)
a, b = sp.symbols("a b", positive=True)


ABOVE_ONE = interval(1.2, 4.0)   # a, b > 1: the posterior has an interior mode


def beta_bernoulli() -> Derivation:
    D = Derivation("The Beta prior is conjugate to the Bernoulli likelihood", model="beta-bernoulli", form="matrix",
                   domains=Domains({"n": dimension(2, 9), "x": binary, "p": probability, "a": ABOVE_ONE,
                                    "b": ABOVE_ONE, "i": IndexIn("n")}))
    D.symbols = [(x_i[i], "observation i, 0 or 1, xᵢ | p ~ Bernoulli(p) independently"),
                 (p, "the probability of a 1, with prior p ~ Beta(a, b), a, b > 0")]
    successes = Abbreviation("s", "s", sp.Sum(x_i[i], (i, 1, n)))
    label = Notation("p(p | x)", r"p(p \mid x)")
    D.section("Likelihood and prior")
    pmf_product = sp.Product(p ** x_i[i] * (1 - p) ** (1 - x_i[i]), (i, 1, n))
    likelihood = p ** successes * (1 - p) ** (n - successes)
    D.step("independent observations", "The likelihood is the product of p^xᵢ(1 − p)^(1 − xᵢ); the exponents add up "
           "to s = Σᵢxᵢ ones and n − s zeros.", pmf_product, likelihood, lhs=Notation("p(x | p)", r"p(x \mid p)"))
    prior = p ** (a - 1) * (1 - p) ** (b - 1) / sp.Symbol("B(a, b)", positive=True)
    D.section("The posterior")
    kernel = p ** (a + successes - 1) * (1 - p) ** (b + n - successes - 1)
    D.step("posterior ∝ likelihood × prior", "p(p | x) = p(x | p)p(p)/p(x); the Beta(a, b) density is "
           "p^(a−1)(1 − p)^(b−1)/B(a, b), and the constants B(a, b) and p(x) do not depend on p. Powers of p add.",
           likelihood * prior, kernel, check=Proportional(p), lhs=label)
    D.step("a Beta kernel", "p^(α−1)(1 − p)^(β−1) is the Beta(α, β) density up to its constant: the posterior is "
           "Beta(a + s, b + n − s). The prior counts as a − 1 ones and b − 1 zeros seen before the data.", kernel,
           kernel, check=Proportional(p), lhs=label)
    D.section("Its mode and mean")
    log_kernel = (a + successes - 1) * sp.log(p) + (b + n - successes - 1) * sp.log(1 - p)
    slope = D.step("d log u = du/u", "The mode maximises the log-density.", log_kernel,
                   (a + successes - 1) / p - (b + n - successes - 1) / (1 - p), check=IsGradient(p),
                   lhs=Notation("d log p(p | x)/dp", r"\frac{d \log p(p \mid x)}{dp}"))
    mode = (a + successes - 1) / (a + b + n - 2)
    D.step("solve for p", "Multiply by p(1 − p): (a + s − 1)(1 − p) = (b + n − s − 1)p. With a = b = 1 (a uniform "
           "prior) the mode is s/n, the maximum-likelihood estimate.", sp.Eq(slope, 0), mode, check=Solves(p),
           lhs=Notation("p_MAP", r"p_{\mathrm{MAP}}"))
    mean = (a + successes) / (a + b + n)
    D.step("the mean of a Beta", "Beta(α, β) has mean α/(α + β) (∫p·p^(α−1)(1 − p)^(β−1)dp = B(α + 1, β)).", mean,
           mean, check=Equal(), lhs=Notation("E[p | x]", r"\mathbb{E}[p \mid x]"))
    D.results = {"posterior_a": unfold(a + successes), "posterior_b": unfold(b + n - successes),
                 "posterior_mean": unfold(mean), "map": unfold(mode)}
    return D


DERIVATIONS = {"bayes-gaussian": bayes_gaussian, "bayes-linear": bayes_linear, "beta-bernoulli": beta_bernoulli}

derivation = by_name(DERIVATIONS)
