"""Expectations and variances, step by step: the rules, and the course's results that are made of them.

>>> import derive
>>> d = derive.derivation("sigma2-bias")
>>> all(step.verified for step in d.steps), list(d.results)
(True, ['estimator', 'expectation', 'bias', 'unbiased'])

Each step that moves an E[·] is checked by `ExpectedValues`: both sides are computed exactly over points with
the random variables' means and covariances (`derive.core.moments`), so "linearity of expectation" or
"E[u²] = Var(u) + E[u]²" is verified as an equation between numbers, not estimated by simulation.

- `random-vectors`: linearity E[Ax + b] = Aμ + b, E[xxᵀ] = Σ + μμᵀ, Var(aᵀx) = aᵀΣa;
- `sigma2-bias`: the maximum-likelihood variance is biased, E[σ̂²] = (n − 1)σ²/n, and s² = nσ̂²/(n − 1) is not;
- `ols-moments`: under y = Xβ + ε with E[ε] = 0 and Cov(ε) = σ²I, E[β̂] = β and Cov(β̂) = σ²(XᵀX)⁻¹;
- `bias-variance`: the expected squared error of a least-squares prediction at a new point is
  noise + bias² + variance.
"""
from __future__ import annotations

import sympy as sp

from derive.core.moments import Moments
from derive.core.random_points import Domains, IndexIn, dimension, normal, positive, spd
from derive.core.steps import Derivation, ExpectedValues
from derive.derivations.abbreviations import Abbreviation, unfold
from derive.derivations.statements import by_name
from derive.expr.expectation import E
from derive.expr.notation import Notation
from derive.expr.printing import latex, unicode
from derive.expr.prose import prose
from derive.expr.symbols import Eye, Ones, X, beta, d, n

sigma2 = sp.Symbol("sigma^2", positive=True)
mu_scalar = sp.Symbol("mu", real=True)



# ---------------------------------------------------------------------------------------------------
# random-vectors: the rules for a random vector x with mean μ and covariance Σ
# ---------------------------------------------------------------------------------------------------
def random_vectors() -> Derivation:
    x = sp.MatrixSymbol("x", d, 1)
    mu = sp.MatrixSymbol("mu", d, 1)
    Sigma = sp.MatrixSymbol("Sigma", d, d)
    A = sp.MatrixSymbol("A", n, d)
    b = sp.MatrixSymbol("b", n, 1)
    a = sp.MatrixSymbol("a", d, 1)
    D = Derivation("Expectations of a random vector: linearity, second moments, variance of a projection",
                   model="random-vectors", form="matrix",
                   domains=Domains({"d": dimension(2, 5), "n": dimension(2, 5), "Sigma": spd}))
    D.symbols = [(x, "a random vector with mean μ = E[x] and covariance Σ = E[(x − μ)(x − μ)ᵀ]"),
                 (A, "a fixed n×d matrix"), (b, "a fixed n×1 vector"), (a, "a fixed d×1 vector")]
    x_moments = ExpectedValues(Moments(x, mu, Sigma))

    D.section("Linearity")
    affine = E(A * x + b)
    D.step("linearity of expectation", "The expectation is a (weighted) sum, so constants come out of it and it "
           "passes through sums: E[Ax + b] = AE[x] + b.", affine, sp.MatAdd(A * E(x), b), check=x_moments,
           lhs=Notation("E[Ax + b]", r"\mathbb{E}[Ax + b]"))
    D.step("E[x] = μ", "By definition of the mean.", sp.MatAdd(A * E(x), b), A * mu + b, check=x_moments,
           lhs=Notation("E[Ax + b]", r"\mathbb{E}[Ax + b]"))

    D.section("Second moments")
    deviation = sp.MatAdd(x, -mu)
    covariance = E(deviation * deviation.T)
    second = E(x * x.T)
    label = Notation("E[xxᵀ]", r"\mathbb{E}[x x^{\top}]")
    split = sp.MatAdd(covariance, sp.MatMul(mu, E(x).T), sp.MatMul(E(x), mu.T), -mu * mu.T)
    D.step("write x = (x − μ) + μ", "Expand xxᵀ = (x − μ)(x − μ)ᵀ + μxᵀ + xμᵀ − μμᵀ and take expectations "
           "term by term (linearity).", second, split, check=x_moments, lhs=label)
    second_moment = D.step("E[x] = μ", "The two middle terms are μμᵀ each: one survives with the last.", split,
                           sp.MatAdd(Sigma, mu * mu.T), check=x_moments, lhs=label)

    D.section("The variance of a projection")
    projection = (a.T * x)
    variance = E(sp.MatMul(sp.MatAdd(projection, -a.T * mu), sp.MatAdd(projection, -a.T * mu).T))
    label = Notation("Var(aᵀx)", r"\operatorname{Var}(a^{\top} x)")
    inside = E(sp.MatMul(a.T, deviation, deviation.T, a))
    D.step("aᵀx − aᵀμ = aᵀ(x − μ)", "The variance is E[(aᵀx − E[aᵀx])²]; the scalar aᵀ(x − μ) equals its "
           "transpose (x − μ)ᵀa, so its square is aᵀ(x − μ)(x − μ)ᵀa.", variance, inside, check=x_moments, lhs=label)
    var_projection = D.step("linearity of expectation", "a is fixed: Var(aᵀx) = aᵀE[(x − μ)(x − μ)ᵀ]a = aᵀΣa, "
                            "which is ≥ 0 for every a: a covariance matrix is positive semidefinite.", inside,
                            sp.MatMul(a.T, Sigma, a), check=x_moments, lhs=label)
    D.results = {"mean": A * mu + b, "second_moment": second_moment, "variance": var_projection}
    return D


# ---------------------------------------------------------------------------------------------------
# sigma2-bias: E[σ̂²] = (n − 1)σ²/n
# ---------------------------------------------------------------------------------------------------
i, j = sp.symbols("i j", integer=True)
x_vector = sp.MatrixSymbol("x", n, 1)
x_i = sp.IndexedBase("x", shape=(n,))


XBAR = Abbreviation("x̄", r"\bar{x}", sp.Sum(x_i[j], (j, 1, n)) / n)


def sigma2_bias() -> Derivation:
    D = Derivation("The bias of the maximum-likelihood variance: E[σ̂²] = (n − 1)σ²/n", model="sigma2-bias",
                   form="matrix", domains=Domains({"n": dimension(2, 8), "mu": normal, "sigma^2": positive,
                                               "i": IndexIn("n")}))
    D.symbols = [(x_i[i], "observation i, independent, each with mean μ and variance σ², i = 1…n"),
                 (XBAR, "the sample mean (1/n)Σⱼ xⱼ")]
    iid = ExpectedValues(Moments(x_vector, mu_scalar * Ones(n, 1), sigma2 * Eye(n)))
    xbar = XBAR
    estimate = sp.Sum((x_i[i] - xbar) ** 2, (i, 1, n)) / n
    hat = Notation("σ̂²", r"\hat{\sigma}^{2}")
    expected = Notation("E[σ̂²]", r"\mathbb{E}[\hat{\sigma}^{2}]")

    D.section("The estimator")
    D.step("definition", prose("The maximum-likelihood estimate of ", sigma2, " (derive show gaussian) averages the "
           "squared deviations from the sample mean ", xbar, ", with ", 1 / n, "."), estimate, estimate, lhs=hat)
    squares = sp.Sum(x_i[i] ** 2, (i, 1, n))
    expanded = (squares - n * xbar ** 2) / n
    deviations = sp.Sum((x_i[i] - xbar) ** 2, (i, 1, n))
    total = sp.Sum(x_i[i], (i, 1, n))
    D.step("expand the square", prose(
        deviations, " = ", sp.Add(squares, -2 * xbar * total, n * xbar ** 2, evaluate=False), " = ",
        squares - n * xbar ** 2, ", because ", total, " = ", n * xbar, "."), estimate, expanded, lhs=hat)

    D.section("Its expectation")
    linear = (sp.Sum(E(x_i[i] ** 2), (i, 1, n)) - n * E(xbar ** 2)) / n
    D.step("linearity of expectation", "E passes through sums and constant factors.", E(estimate), linear,
           check=iid, lhs=expected)
    moments = sp.Mul(sp.Add(n * (sigma2 + mu_scalar ** 2), -n * (sigma2 / n + mu_scalar ** 2), evaluate=False),
                     1 / n, evaluate=False)
    D.step("E[u²] = Var(u) + E[u]²", prose(
        E(x_i[i] ** 2), " = ", sigma2 + mu_scalar ** 2, ". The mean ", xbar, " has ", E(xbar), " = ", mu_scalar,
        " and, the observations being independent, variance ", sigma2 / n, " (the sum of n variances ", sigma2,
        ", divided by ", n ** 2, "): so ", E(xbar ** 2), " = ", sigma2 / n + mu_scalar ** 2, "."),
        linear, moments, check=iid, lhs=expected)
    mean = (n - 1) * sigma2 / n
    D.step("simplify", "μ² cancels, and nσ² − σ² = (n − 1)σ².", moments, mean, lhs=expected)

    D.section("The bias, and the unbiased estimator")
    bias = D.step("bias", "The bias is E[σ̂²] − σ²: σ̂² underestimates σ² on average, by σ²/n, because the sample "
                  "mean is fitted to the same data (the deviations from it are smaller than those from μ).",
                  E(estimate) - sigma2, -sigma2 / n, check=iid, lhs=Notation("E[σ̂²] − σ²", r"\mathbb{E}[\hat{\sigma}^{2}] - \sigma^{2}"))
    unbiased = sp.Sum((x_i[i] - xbar) ** 2, (i, 1, n)) / (n - 1)
    D.step("Bessel's correction", "Scaling by n/(n − 1) removes the bias: s², the sum of squared deviations divided "
           "by n − 1, has E[s²] = (n/(n − 1))·(n − 1)σ²/n = σ² (numpy.var with ddof=1).", E(unbiased), sigma2, check=iid,
           lhs=Notation("E[s²]", r"\mathbb{E}[s^{2}]"))
    D.results = {"estimator": unfold(estimate), "expectation": mean, "bias": bias, "unbiased": unfold(unbiased)}
    D.notes.append("Only the mean and variance of each xᵢ and their independence were used: the result holds for "
                   "any distribution, not only the Gaussian.")
    return D


# ---------------------------------------------------------------------------------------------------
# ols-moments: E[β̂] = β, Cov(β̂) = σ²(XᵀX)⁻¹
# ---------------------------------------------------------------------------------------------------
y = sp.MatrixSymbol("y", n, 1)
FULL_RANK = Domains({"n": dimension(6, 9), "d": dimension(2, 5)})   # n > d: XᵀX invertible


def ols_moments() -> Derivation:
    D = Derivation("Least squares is unbiased, with covariance σ²(XᵀX)⁻¹", model="ols-moments",
                   form="matrix", domains=FULL_RANK)
    D.symbols = [(X, "n×d fixed design matrix of full column rank"),
                 (y, "n×1 random targets, y = Xβ + ε with E[ε] = 0 and Cov(ε) = σ²I"), (beta, "the true coefficients")]
    noise = ExpectedValues(Moments(y, X * beta, sigma2 * Eye(n)))
    gram_inverse = sp.Inverse(X.T * X)
    estimate = sp.MatMul(gram_inverse, X.T, y)
    mean_label = Notation("E[β̂]", r"\mathbb{E}[\hat{\beta}]")

    D.section("The mean")
    D.step("linearity of expectation", "β̂ = (XᵀX)⁻¹Xᵀy is a fixed matrix times y.", E(estimate),
           sp.MatMul(gram_inverse, X.T, E(y)), check=noise, lhs=mean_label)
    D.step("E[y] = Xβ", "E[y] = Xβ + E[ε] = Xβ.", sp.MatMul(gram_inverse, X.T, E(y)),
           sp.MatMul(gram_inverse, X.T, X, beta), check=noise, lhs=mean_label)
    unbiased = D.step("(XᵀX)⁻¹XᵀX = I", "β̂ is unbiased: on average it is the true β.",
                      sp.MatMul(gram_inverse, X.T, X, beta), beta, lhs=mean_label)

    D.section("The covariance")
    error = sp.MatAdd(estimate, -beta)
    cov_label = Notation("Cov(β̂)", r"\operatorname{Cov}(\hat{\beta})")
    residual = sp.MatAdd(y, -X * beta)
    sandwich_inner = sp.MatMul(gram_inverse, X.T, E(residual * residual.T), X, gram_inverse)
    D.step("β̂ − β = (XᵀX)⁻¹Xᵀε", "Cov(β̂) = E[(β̂ − β)(β̂ − β)ᵀ], and β̂ − β = (XᵀX)⁻¹Xᵀ(y − Xβ); take the fixed "
           "matrices out of E (XᵀX is symmetric, so its inverse is too).", E(error * error.T), sandwich_inner,
           check=noise, lhs=cov_label)
    sandwich = sp.MatMul(sigma2, gram_inverse, X.T, X, gram_inverse)
    D.step("Cov(ε) = σ²I", "E[εεᵀ] = σ²I: the errors are uncorrelated with a common variance.", sandwich_inner,
           sandwich, check=noise, lhs=cov_label)
    covariance = D.step("(XᵀX)⁻¹XᵀX = I", "The sandwich collapses: the standard errors of derive fit are the "
                        "square roots of its diagonal, with σ² estimated from the residuals.", sandwich,
                        sp.MatMul(sigma2, gram_inverse), lhs=cov_label)
    D.results = {"mean": unbiased, "covariance": covariance}
    D.notes.append("Normality of ε was not used: unbiasedness and the covariance need only E[ε] = 0 and "
                   "Cov(ε) = σ²I (the Gauss-Markov theorem).")
    return D


# ---------------------------------------------------------------------------------------------------
# bias-variance: E[(y₀ − ŷ₀)²] = σ² + bias² + variance
# ---------------------------------------------------------------------------------------------------
f = sp.MatrixSymbol("f", n, 1)
x0 = sp.MatrixSymbol("x_0", d, 1)
f0 = sp.Symbol("f_0", real=True)
y0 = sp.Symbol("y_0", real=True)


def bias_variance() -> Derivation:
    D = Derivation("The bias-variance decomposition of the expected squared error", model="bias-variance",
                   form="matrix", domains=Domains({**FULL_RANK.samplers, "f_0": normal}))
    D.symbols = [(X, "n×d fixed design (for example polynomial features of degree d − 1)"),
                 (f, "n×1 true mean of the targets, y = f + ε with Cov(ε) = σ²I (f need not be of the form Xβ)"),
                 (x0, "the features of a new point, whose target y₀ = f₀ + ε₀ is independent of y"),
                 (f0, "the true mean at the new point")]
    random = ExpectedValues(Moments(y, f, sigma2 * Eye(n)), Moments(y0, f0, sigma2))
    gram_inverse = sp.Inverse(X.T * X)
    prediction = Abbreviation("ŷ₀", r"\hat{y}_0", sp.MatMul(x0.T, gram_inverse, X.T, y))
    label = Notation("E[(y₀ − ŷ₀)²]", r"\mathbb{E}[(y_0 - \hat{y}_0)^{2}]")
    D.section("Three sources of error")
    step1 = sigma2 + E((f0 - prediction) ** 2)
    D.step("the noise of the new target", "y₀ − ŷ₀ = ε₀ + (f₀ − ŷ₀) with ε₀ independent of ŷ₀ and E[ε₀] = 0: the "
           "cross term has mean zero and E[ε₀²] = σ².", E((y0 - prediction) ** 2), step1, check=random, lhs=label)
    step2 = sigma2 + (f0 - E(prediction)) ** 2 + E((prediction - E(prediction)) ** 2)
    D.step("add and subtract E[ŷ₀]", "f₀ − ŷ₀ = (f₀ − E[ŷ₀]) − (ŷ₀ − E[ŷ₀]); the first part is fixed and the second "
           "has mean zero, so the cross term vanishes: noise + bias² + variance.", step1, step2, check=random,
           lhs=label)
    mean_prediction = sp.MatMul(x0.T, gram_inverse, X.T, f)
    variance = sp.MatMul(sigma2, x0.T, gram_inverse, x0)
    shown_mean = Abbreviation(unicode(mean_prediction), latex(mean_prediction), mean_prediction)
    shown_variance = Abbreviation(unicode(variance), latex(variance), variance)
    D.step("the least-squares prediction", "E[ŷ₀] = x₀ᵀ(XᵀX)⁻¹Xᵀf, and Var(ŷ₀) = x₀ᵀ(XᵀX)⁻¹Xᵀ(σ²I)X(XᵀX)⁻¹x₀ = "
           "σ²x₀ᵀ(XᵀX)⁻¹x₀ (derive show ols-moments). More features lower the bias and raise the variance.",
           step2, sigma2 + (f0 - shown_mean) ** 2 + shown_variance, check=random, lhs=label)
    # As 1×1 matrices, the way derive reads an answer such as "f_0 - x_0'(X'X)^{-1}X'f".
    bias = sp.MatAdd(sp.MatMul(f0, sp.OneMatrix(1, 1)), -mean_prediction)
    D.results = {"bias": bias, "variance": variance,
                 "expected_error": sp.MatAdd(sp.MatMul(sigma2, sp.OneMatrix(1, 1)), sp.MatMul(bias.T, bias), variance)}
    return D


DERIVATIONS = {"random-vectors": random_vectors, "sigma2-bias": sigma2_bias, "ols-moments": ols_moments,
               "bias-variance": bias_variance}

derivation = by_name(DERIVATIONS)
