"""Maximum likelihood for an iid multivariate normal sample: μ̂ = (1/n)Σᵢ xᵢ, Σ̂ = (1/n)Σᵢ(xᵢ − μ̂)(xᵢ − μ̂)ᵀ.

The sample x₁ … xₙ ∈ ℝᵈ is stored as the rows of the n×d matrix X. The negative log-likelihood is
ℓ(μ, Σ) = (nd/2) log 2π + (n/2) log det Σ + ½ tr(Σ⁻¹A), with the scatter matrix A = Σᵢ(xᵢ − μ)(xᵢ − μ)ᵀ =
(X − 𝟏μᵀ)ᵀ(X − 𝟏μᵀ). Its gradient in Σ comes from two differentials, d log det Σ = tr(Σ⁻¹dΣ) and
d Σ⁻¹ = −Σ⁻¹(dΣ)Σ⁻¹, which give ∂/∂Σ log det Σ = Σ⁻ᵀ and ∂/∂Σ tr(Σ⁻¹A) = −Σ⁻ᵀAᵀΣ⁻ᵀ (Σ⁻¹ and −Σ⁻¹AΣ⁻¹
for symmetric Σ and A). SymPy's own `diff` returns 0 for the first; `derive.calculus.differentials` derives both.

The matrix form works with (μ, Σ). The index form uses the precision Ω = Σ⁻¹ (the quadratic form is then
linear in the parameter), differentiates entry by entry, and gets Σ̂ = Ω̂⁻¹ back by the invariance of the
maximum-likelihood estimate.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.matrices.expressions.matexpr import MatrixExpr

from derive.calculus.differentials import differentiate, gradient, jacobian
from derive.calculus.index_form import EntryOf, IsPartial
from derive.core.numeval import (
    directional_derivative,
    evaluate,
    indexed_key,
    padded,
    rule,
)
from derive.core.steps import (
    Check,
    Derivation,
    Domains,
    Equal,
    IndexIn,
    Nonnegative,
    ReadsOff,
    Scaled,
    Solves,
    dimension,
    spd,
)
from derive.derivations.abbreviations import Named, unfold
from derive.derivations.likelihood import log_likelihood_of_independent
from derive.errors import NotSupported
from derive.expr.algebra import multiply
from derive.expr.notation import Differential, Notation
from derive.expr.symbols import X, d, n


def symmetric(rng, shape):
    """A random symmetric matrix (a direction in the space of covariance matrices)."""
    a = rng.standard_normal(shape)
    return (a + a.T) / 2


class Row(MatrixExpr):
    """xᵢ, observation i as a d×1 column: row i of the data matrix, transposed (i from 1 to n)."""

    prints_as_symbol = True

    def __new__(cls, matrix, index):
        return super().__new__(cls, matrix, sp.sympify(index))

    @property
    def shape(self):
        return (self.args[0].cols, sp.S.One)

    def doit(self, **hints):
        return self

    def _unicode(self, printer):
        return "%s_%s" % (str(self.args[0].name).lower(), printer._print(self.args[1]))

    def _latex(self, printer):
        return "%s_{%s}" % (str(self.args[0].name).lower(), printer._print(self.args[1]))

    _sympystr = _unicode


@rule(Row)
def _evaluate_row(expr, env):
    matrix = np.asarray(evaluate(expr.args[0], env))
    return matrix[int(evaluate(expr.args[1], env)) - 1, :].reshape(-1, 1)


class InverseEntry(sp.Expr):
    """(M⁻¹)_{rc}, an entry of the inverse of the matrix M, with 1-based subscripts as in Σᵢ."""

    def __new__(cls, matrix, row, col):
        return super().__new__(cls, matrix, sp.sympify(row), sp.sympify(col))

    def _unicode(self, printer):
        return "(%s⁻¹)_%s%s" % (printer._print(self.args[0]), printer._print(self.args[1]), printer._print(self.args[2]))

    def _latex(self, printer):
        return r"\left(%s^{-1}\right)_{%s %s}" % tuple(printer._print(a) for a in self.args)

    _sympystr = _unicode


@rule(InverseEntry)
def _evaluate_inverse_entry(expr, env):
    inverse = np.linalg.inv(np.asarray(evaluate(expr.args[0], env)))
    return inverse[int(evaluate(expr.args[1], env)) - 1, int(evaluate(expr.args[2], env)) - 1]


class AlongDirection(Check):
    """after = d/dt before(v + tV) at t = 0, for a fixed direction V (also the second derivative of the
    original function when before is already a first directional derivative along V)."""

    def __init__(self, variable, direction):
        super().__init__()
        self.variable, self.direction = variable, direction

    def values(self, before, after, env):
        return (evaluate(after, env),
                directional_derivative(before, env, {self.variable.name: np.asarray(env[self.direction.name])}))


i, j, k, l = sp.symbols("i j k l", integer=True)
mu = sp.MatrixSymbol("mu", d, 1)
Sigma = sp.MatrixSymbol("Sigma", d, d)
V = sp.MatrixSymbol("V", d, d)
v = sp.MatrixSymbol("v", d, 1)
ones = sp.OneMatrix(n, 1)
x_i = Row(X, i)

DOMAINS = Domains({"n": dimension(6, 9), "d": dimension(2, 4), "Sigma": spd, "Omega": spd, "V": symmetric,
                   "i": IndexIn("n"), "k": IndexIn("d"), "l": IndexIn("d")})

LOSS = Notation("ℓ(μ, Σ)", r"\ell(\mu, \Sigma)")
LIKELIHOOD = Notation("L(μ, Σ)", r"L(\mu, \Sigma)")
LOG_LIKELIHOOD = Notation("log L(μ, Σ)", r"\log L(\mu, \Sigma)")
GRAD_MU = Notation("∇_μ ℓ", r"\nabla_{\mu} \ell")
GRAD_SIGMA = Notation("∂ℓ/∂Σ", r"\frac{\partial \ell}{\partial \Sigma}")
HESS_MU = Notation("∇²_μ ℓ", r"\nabla^{2}_{\mu} \ell")


def derivation(form: str = "matrix", dim: int | None = None) -> Derivation:
    if form == "matrix":
        return _matrix()
    if form == "index":
        return _index()
    raise NotSupported(f"no form {form!r} for mvn: its parameters are a vector μ and a d×d matrix Σ, written in "
                       "matrix or index form (forms: matrix, index)")


def _describe(D: Derivation) -> None:
    D.symbols = [(X, "n×d data matrix, row i is the observation xᵢᵀ"), (mu, "d×1 mean vector"),
                 (Sigma, "d×d covariance matrix, symmetric positive definite")]


def centred(m=mu):
    """X − 𝟏μᵀ: row i is (xᵢ − μ)ᵀ."""
    return sp.MatAdd(X, sp.MatMul(-1, ones, sp.Transpose(m)))


def scatter(m=mu):
    R = centred(m)
    return sp.MatMul(sp.Transpose(R), R)


def inverse_times_scatter(matrix=Sigma, m=mu):
    """Σ⁻¹(X − 𝟏μᵀ)ᵀ(X − 𝟏μᵀ), one flat product."""
    R = centred(m)
    return sp.MatMul(sp.Inverse(matrix), sp.Transpose(R), R)


def _likelihood(D: Derivation) -> sp.Expr:
    """From xᵢ ~ N(μ, Σ) to ℓ(μ, Σ) = (nd/2) log 2π + (n/2) log det Σ + ½ tr(Σ⁻¹(X − 𝟏μᵀ)ᵀ(X − 𝟏μᵀ))."""
    D.section("The model and its likelihood")
    r = sp.MatAdd(x_i, -mu)
    quadratic = sp.MatMul(sp.Transpose(r), sp.Inverse(Sigma), r)
    log_det = sp.log(sp.Determinant(Sigma))
    density = (2 * sp.pi) ** (-d / 2) * sp.Determinant(Sigma) ** sp.Rational(-1, 2) * \
        sp.exp(sp.MatMul(sp.Rational(-1, 2), quadratic))
    D.step("multivariate normal density", "xᵢ ~ N(μ, Σ) in ℝᵈ, independently for i = 1…n; Σ is symmetric "
           "positive definite.", density, density, lhs=Notation("p(xᵢ | μ, Σ)", r"p(x_i \mid \mu, \Sigma)"))
    logs = log_likelihood_of_independent(D, density, i, n, LIKELIHOOD, LOG_LIKELIHOOD, "The likelihood of "
                                         "independent observations is the product of their densities.")
    terms = sp.Sum(-d * sp.log(2 * sp.pi) / 2 - log_det / 2 - sp.Trace(quadratic) / 2, (i, 1, n))
    D.step("log of a product, log eᵘ = u", "log(ab eᵘ) = log a + log b + u; the 1×1 quadratic form is a scalar, "
           "written as its own trace.", logs, terms, lhs=LOG_LIKELIHOOD)
    outer = sp.MatMul(sp.Inverse(Sigma), r, sp.Transpose(r))
    cyclic = sp.Sum(-d * sp.log(2 * sp.pi) / 2 - log_det / 2 - sp.Trace(outer) / 2, (i, 1, n))
    D.step("tr(AB) = tr(BA)", "Move (xᵢ − μ)ᵀ to the end: tr((xᵢ − μ)ᵀΣ⁻¹(xᵢ − μ)) = tr(Σ⁻¹(xᵢ − μ)(xᵢ − μ)ᵀ), "
           "the trace trick.", terms, cyclic, lhs=LOG_LIKELIHOOD)
    nll = sp.Sum(d * sp.log(2 * sp.pi) / 2 + log_det / 2 + sp.Trace(outer) / 2, (i, 1, n))
    D.step("negative log-likelihood", "The loss is minus the log-likelihood: minimising ℓ maximises L.",
           cyclic, nll, check=Scaled(-1), lhs=LOSS)
    summed = n * d * sp.log(2 * sp.pi) / 2 + n * log_det / 2 + sp.Sum(sp.Trace(outer), (i, 1, n)) / 2
    D.step("constants out of the sum", "The first two terms do not depend on i.", nll, summed, lhs=LOSS)
    loss = n * d * sp.log(2 * sp.pi) / 2 + n * log_det / 2 + sp.Trace(inverse_times_scatter()) / 2
    D.step("stack the observations", "The trace is linear, and Σᵢ(xᵢ − μ)(xᵢ − μ)ᵀ = (X − 𝟏μᵀ)ᵀ(X − 𝟏μᵀ) because row "
           "i of X − 𝟏μᵀ is (xᵢ − μ)ᵀ.", summed, loss, lhs=LOSS)
    return loss


def _matrix() -> Derivation:
    D = Derivation("Multivariate normal maximum likelihood", model="mvn", form="matrix", domains=DOMAINS)
    _describe(D)
    loss = _likelihood(D)

    D.section("The mean")
    differential = differentiate(D, loss, mu, LOSS)
    dmu = Differential(mu)
    R = centred()
    column = sp.MatMul(sp.Inverse(Sigma), sp.Transpose(R), ones)          # Σ⁻¹(X − 𝟏μᵀ)ᵀ𝟏
    dl = Notation("dℓ", r"\mathrm{d}\ell")
    merged = D.step("tr(Aᵀ) = tr(A), Σ⁻¹ symmetric", "The two terms are transposes of each other inside the trace "
                    "(Σ and so Σ⁻¹ are symmetric): they are equal, and ½ + ½ = 1.", differential,
                    -sp.Trace(sp.MatMul(column, sp.Transpose(dmu))), lhs=dl, check=Equal(varying=(mu,)))
    canonical = D.step("tr(abᵀ) = bᵀa", "For vectors a, b the trace of the outer product is the inner product: "
                       "dℓ = gᵀdμ.", merged, sp.MatMul(-1, sp.Transpose(column), dmu), lhs=dl,
                       check=Equal(varying=(mu,)))
    raw = D.step("read off the gradient", "dℓ = gᵀdμ, so ∇_μ ℓ = g (denominator layout: the shape of μ).",
                 canonical, multiply([sp.S.NegativeOne, column], column), check=ReadsOff(mu), lhs=GRAD_MU)
    total = sp.MatAdd(sp.MatMul(X.T, ones), sp.MatMul(-1, n, mu))
    grad_mu = D.step("(X − 𝟏μᵀ)ᵀ𝟏 = Xᵀ𝟏 − nμ", "𝟏ᵀ𝟏 = n; Xᵀ𝟏 = Σᵢ xᵢ is the sum of the observations.", raw,
                     sp.MatMul(-1, sp.Inverse(Sigma), total), lhs=GRAD_MU)
    zero = sp.ZeroMatrix(d, 1)
    stationary = D.step("set the gradient to zero", "At the maximum of the likelihood the gradient vanishes.",
                        grad_mu, sp.Eq(grad_mu, zero, evaluate=False), relation="")
    mean = sp.MatMul(1 / n, X.T, ones)
    D.step("solve for μ", "Σ⁻¹ is invertible, so Xᵀ𝟏 − nμ = 0: the estimate is the sample mean "
           "(1/n)Σᵢ xᵢ, whatever Σ is.", stationary, mean, check=Solves(mu), lhs=Notation("μ̂", r"\hat{\mu}"))
    hessian_mu = jacobian(D, grad_mu, mu, lhs=GRAD_MU, result_lhs=HESS_MU)
    D.step("positive definite", "nΣ⁻¹ is positive definite (Σ is), so ℓ is strictly convex in μ for fixed Σ: μ̂ is "
           "its minimum: for any v ≠ 0, vᵀ(nΣ⁻¹)v > 0.", sp.MatMul(v.T, hessian_mu, v),
           multiply([v.T, hessian_mu, v], v), check=Nonnegative())

    D.section("The covariance")
    A = Named("A", "A", scatter())
    named_loss = n * d * sp.log(2 * sp.pi) / 2 + n * sp.log(sp.Determinant(Sigma)) / 2 + \
        sp.Trace(sp.MatMul(sp.Inverse(Sigma), A)) / 2
    D.step("the scatter matrix", "Write A = (X − 𝟏μᵀ)ᵀ(X − 𝟏μᵀ) = Σᵢ(xᵢ − μ)(xᵢ − μ)ᵀ; it is symmetric and does "
           "not depend on Σ.", loss, named_loss, lhs=LOSS)
    raw_sigma = gradient(D, named_loss, Sigma, lhs=LOSS, result_lhs=GRAD_SIGMA)
    half = sp.Rational(1, 2)
    inv = sp.Inverse(Sigma)
    grad_sigma = sp.MatAdd(sp.MatMul(n / 2, inv), sp.MatMul(-half, inv, A, inv))
    D.step("Σ and A are symmetric", "Σ⁻ᵀ = Σ⁻¹ and Aᵀ = A: ∂ log det Σ/∂Σ = Σ⁻¹ and ∂ tr(Σ⁻¹A)/∂Σ = −Σ⁻¹AΣ⁻¹. "
           "(Restricting to symmetric changes dΣ gives the same stationary points.)", raw_sigma, grad_sigma,
           lhs=GRAD_SIGMA)
    zero_dd = sp.ZeroMatrix(d, d)
    stationary = D.step("set the gradient to zero", "At the maximum of the likelihood the gradient vanishes.",
                        grad_sigma, sp.Eq(grad_sigma, zero_dd, evaluate=False), relation="")
    solution = sp.MatMul(1 / n, A)
    D.step("solve for Σ", "Multiply by 2Σ on the left and on the right: nΣ − A = 0. A is positive definite when "
           "n > d and the observations span ℝᵈ, so Σ̂ is a valid covariance.", stationary, solution,
           check=Solves(Sigma), lhs=Notation("Σ̂", r"\hat{\Sigma}"))
    mu_hat = Named("μ̂", r"\hat{\mu}", mean)
    at_mean = sp.MatMul(1 / n, *scatter(mu_hat).args)
    D.step("at μ = μ̂", "μ̂ does not depend on Σ, so put it into A: the estimate is the average outer product of "
           "the deviations from the sample mean (with 1/n, not 1/(n − 1)).", solution.xreplace({A: A}),
           at_mean, check=_AtMean(mu, mean), lhs=Notation("Σ̂", r"\hat{\Sigma}"))
    D.step("row by row", "Row i of X − 𝟏μ̂ᵀ is (xᵢ − μ̂)ᵀ.", at_mean,
           sp.Sum(sp.MatMul(sp.MatAdd(x_i, -mu_hat), sp.Transpose(sp.MatAdd(x_i, -mu_hat))), (i, 1, n)) / n,
           lhs=Notation("Σ̂", r"\hat{\Sigma}"))

    D.section("Second-order check in Σ")
    sigma_hat = Named("Σ̂", r"\hat{\Sigma}", solution)
    _second_order(D, A, sigma_hat)

    covariance = unfold(at_mean)
    D.results = {"loss": loss, "gradient": sp.Tuple(grad_mu, unfold(grad_sigma)), "hessian": hessian_mu,
                 "solution": sp.Tuple(mean, covariance)}
    D.notes.append("The results hold pairs for the two parameters: gradient (∇_μ ℓ, ∂ℓ/∂Σ) and solution (μ̂, Σ̂); "
                   "the Hessian is the μ-block ∂²ℓ/∂μ∂μᵀ = nΣ⁻¹.")
    D.notes.append("SymPy's own matrix calculus gives 0 for ∂ log det Σ/∂Σ; here it is read off d log det Σ = "
                   "tr(Σ⁻¹dΣ), and every line is checked numerically.")
    return D


class _AtMean(Check):
    """before has μ free; after has μ̂: equal once μ takes the value μ̂."""

    def __init__(self, variable, value):
        super().__init__()
        self.variable, self.value = variable, value

    def values(self, before, after, env):
        env = {**env, self.variable.name: evaluate(self.value, env)}
        return evaluate(before, env), evaluate(after, env)


def _second_order(D: Derivation, A, sigma_hat) -> None:
    """φ(t) = ℓ(Σ + tV) for a symmetric direction V: φ″(0) at Σ̂ is (n/2) tr(Σ̂⁻¹VΣ̂⁻¹V) > 0."""
    inv = sp.Inverse(Sigma)
    f = n * sp.log(sp.Determinant(Sigma)) / 2 + sp.Trace(sp.MatMul(inv, A)) / 2
    first = n * sp.Trace(sp.MatMul(inv, V)) / 2 - sp.Trace(sp.MatMul(inv, V, inv, A)) / 2
    phi1 = Notation("φ′(0)", r"\varphi'(0)")
    D.step("derivative along a direction", "For a symmetric direction V let φ(t) = ℓ(Σ + tV); by the differentials "
           "above φ′(0) = (n/2) tr(Σ⁻¹V) − ½ tr(Σ⁻¹VΣ⁻¹A) (the terms free of Σ drop out).", f, first,
           check=AlongDirection(Sigma, V), lhs=phi1)
    second = -n * sp.Trace(sp.MatMul(inv, V, inv, V)) / 2 + sp.Trace(sp.MatMul(inv, V, inv, V, inv, A))
    phi2 = Notation("φ″(0)", r"\varphi''(0)")
    D.step("differentiate again", "d Σ⁻¹ = −Σ⁻¹(dΣ)Σ⁻¹ with dΣ = V; the two terms of d tr(Σ⁻¹VΣ⁻¹A) are equal by "
           "tr(AB) = tr(BA) and symmetry.", first, second, check=AlongDirection(Sigma, V), lhs=phi2)
    hat_inv = sp.Inverse(sigma_hat)
    at_hat = second.xreplace({Sigma: sigma_hat})
    positive = n * sp.Trace(sp.MatMul(hat_inv, V, hat_inv, V)) / 2
    D.step("at Σ = Σ̂ = A/n", "Σ̂⁻¹A = nI, so the second term is n tr(Σ̂⁻¹VΣ̂⁻¹V).", at_hat, positive, lhs=phi2)
    D.step("positive definite", "With Σ̂ = LLᵀ (Cholesky), tr(Σ̂⁻¹VΣ̂⁻¹V) = ‖L⁻¹VL⁻ᵀ‖²_F > 0 for every symmetric "
           "V ≠ 0: ℓ curves upwards in every direction at Σ̂, a strict minimum; as the only stationary point with "
           "Σ positive definite, it is the maximum-likelihood estimate.", positive, positive, check=Nonnegative(),
           lhs=phi2)


# ---------------------------------------------------------------------------------------------------
# Summation notation, with the precision Ω = Σ⁻¹ (often written Λ) as the parameter
# ---------------------------------------------------------------------------------------------------
Omega = sp.MatrixSymbol("Omega", d, d)
X_ij = sp.IndexedBase("X", shape=(n, d))
mu_j = sp.IndexedBase("mu", shape=(d,))
Omega_jk = sp.IndexedBase("Omega", shape=(d, d))
j2 = sp.Symbol("j'", integer=True)


def _index() -> Derivation:
    D = Derivation("Multivariate normal maximum likelihood", model="mvn", form="index", domains=DOMAINS)
    D.symbols = [(X_ij[i, j], "component j of observation i (row i of the n×d data matrix X)"),
                 (mu_j[j], "component j of the mean"),
                 (Omega_jk[j, k], "the precision matrix Ω = Σ⁻¹, symmetric positive definite")]
    D.section("The loss in the precision Ω = Σ⁻¹")
    deviation = lambda a: X_ij[i, a] - mu_j[a]
    form = sp.Sum(deviation(j) * Omega_jk[j, j2] * deviation(j2), (j, 1, d), (j2, 1, d))
    log_det = sp.log(sp.Determinant(Omega))
    loss = n * d * sp.log(2 * sp.pi) / 2 - n * log_det / 2 + sp.Sum(form, (i, 1, n)) / 2
    in_sigma = n * d * sp.log(2 * sp.pi) / 2 + n * sp.log(sp.Determinant(sp.Inverse(Omega))) / 2 + \
        sp.Trace(sp.MatMul(Omega, *scatter().args)) / 2
    D.step("negative log-likelihood", "As in the matrix form, ℓ = (nd/2) log 2π + (n/2) log det Σ + "
           "½ Σᵢ (xᵢ − μ)ᵀΣ⁻¹(xᵢ − μ). With Ω = Σ⁻¹, log det Σ = −log det Ω, and the quadratic forms are written "
           "out as sums over the components j, j′.", in_sigma, loss, lhs=Notation("ℓ(μ, Ω)", r"\ell(\mu, \Omega)"))

    D.section("The mean")
    dk = Notation("∂ℓ/∂μ_k", r"\frac{\partial \ell}{\partial \mu_{k}}")
    deltas = sp.Sum(-sp.KroneckerDelta(j, k) * Omega_jk[j, j2] * deviation(j2)
                    - deviation(j) * Omega_jk[j, j2] * sp.KroneckerDelta(j2, k), (j, 1, d), (j2, 1, d))
    with_deltas = D.step("product rule", "∂(Xᵢⱼ − μⱼ)/∂μₖ = −δⱼₖ, in each of the two factors.", loss,
                         sp.Sum(deltas, (i, 1, n)) / 2, check=_partial(mu_j, k), lhs=dk)
    summed = sp.Sum(-sp.Sum(Omega_jk[k, j] * deviation(j), (j, 1, d)) / 2
                    - sp.Sum(deviation(j) * Omega_jk[j, k], (j, 1, d)) / 2, (i, 1, n))
    D.step("sum out the Kronecker deltas", "Σⱼ δⱼₖ f(j) = f(k), once in each term (the summation letter j′ renamed "
           "j).", with_deltas, summed, lhs=dk)
    grad_k = -sp.Sum(Omega_jk[k, j] * sp.Sum(deviation(j), (i, 1, n)), (j, 1, d))
    D.step("Ω is symmetric", "Ωⱼₖ = Ωₖⱼ: the two terms are equal; exchange the order of the sums.", summed, grad_k,
           lhs=dk, check=_Symmetric(Equal()))
    grad_mu = sp.MatMul(-1, Omega, sp.MatAdd(sp.MatMul(X.T, ones), sp.MatMul(-1, n, mu)))
    D.step("stack the coordinates", "Σⱼ Ωₖⱼ tⱼ is entry k of Ωt, with tⱼ = Σᵢ(Xᵢⱼ − μⱼ), t = Xᵀ𝟏 − nμ.", grad_k,
           grad_mu, check=_Symmetric(EntryOf(k)), lhs=GRAD_MU)
    mean = sp.MatMul(1 / n, X.T, ones)
    D.step("solve for μ", "Ω is invertible, so Σᵢ(Xᵢⱼ − μⱼ) = 0 for every j: μ̂ⱼ = (1/n)Σᵢ Xᵢⱼ, the sample mean.",
           sp.Eq(grad_mu, sp.ZeroMatrix(d, 1), evaluate=False), mean, check=_Symmetric(Solves(mu)),
           lhs=Notation("μ̂", r"\hat{\mu}"))

    D.section("The precision, and the covariance")
    dkl = Notation("∂ℓ/∂Ω_kl", r"\frac{\partial \ell}{\partial \Omega_{kl}}")
    grad_kl = -n * InverseEntry(Omega, l, k) / 2 + sp.Sum(deviation(k) * deviation(l), (i, 1, n)) / 2
    D.step("Jacobi's formula; the form is linear in Ω", "∂ log det Ω/∂Ωₖₗ = (Ω⁻¹)ₗₖ (from d log det Ω = tr(Ω⁻¹dΩ)), "
           "and ∂Ωⱼⱼ′/∂Ωₖₗ = δⱼₖδⱼ′ₗ picks the term j = k, j′ = l of the double sum.", loss, grad_kl,
           check=_Symmetric(IsPartial(Omega_jk, k, l)), lhs=dkl)
    grad_omega = sp.MatAdd(sp.MatMul(-n / 2, sp.Transpose(sp.Inverse(Omega))), sp.MatMul(sp.S.Half, *scatter().args))
    D.step("stack the coordinates", "(Ω⁻¹)ₗₖ is entry (k, l) of Ω⁻ᵀ, and Σᵢ(Xᵢₖ − μₖ)(Xᵢₗ − μₗ) is entry (k, l) of "
           "the scatter matrix (X − 𝟏μᵀ)ᵀ(X − 𝟏μᵀ).", grad_kl, grad_omega, check=_Symmetric(EntryOf(k, l)),
           lhs=Notation("∂ℓ/∂Ω", r"\frac{\partial \ell}{\partial \Omega}"))
    covariance = sp.MatMul(1 / n, *scatter().args)
    solution = sp.Inverse(covariance)
    D.step("solve for Ω", "Ω⁻ᵀ = Ω⁻¹ = (1/n)(X − 𝟏μᵀ)ᵀ(X − 𝟏μᵀ): invert.", sp.Eq(grad_omega, sp.ZeroMatrix(d, d),
           evaluate=False), solution, check=_Symmetric(Solves(Omega)), lhs=Notation("Ω̂", r"\hat{\Omega}"))
    kl_hat = sp.Sum((X_ij[i, k] - sp.Sum(X_ij[j, k], (j, 1, n)) / n) * (X_ij[i, l] - sp.Sum(X_ij[j, l], (j, 1, n)) / n),
                    (i, 1, n)) / n
    D.step("invariance of the maximum-likelihood estimate", "Σ = Ω⁻¹ is a one-to-one reparametrisation, so "
           "Σ̂ = Ω̂⁻¹; at μ = μ̂ its entry (k, l) is (1/n)Σᵢ(Xᵢₖ − μ̂ₖ)(Xᵢₗ − μ̂ₗ), with μ̂ₖ = (1/n)Σⱼ Xⱼₖ.",
           kl_hat, unfold(sp.MatMul(1 / n, *scatter(Named("μ̂", r"\hat{\mu}", mean)).args)), check=EntryOf(k, l),
           lhs=Notation("Σ̂", r"\hat{\Sigma}"))

    hessian = D.step("differentiate ∂ℓ/∂μₖ again", "∂/∂μₗ of −Σⱼ Ωₖⱼ Σᵢ(Xᵢⱼ − μⱼ) is nΩₖₗ: positive definite, so "
                     "μ̂ is the minimum in μ.", grad_k, n * Omega_jk[k, l], check=_Symmetric(_partial(mu_j, l)),
                     lhs=Notation("∂²ℓ/∂μ_k∂μ_l", r"\frac{\partial^{2} \ell}{\partial \mu_{k} \partial \mu_{l}}"))
    D.results = {"loss": loss, "gradient": sp.Tuple(grad_k, grad_kl), "hessian": hessian,
                 "solution": sp.Tuple(mean, unfold(sp.MatMul(1 / n, *scatter(Named("μ̂", r"\hat{\mu}", mean)).args)))}
    D.notes.append("The results hold pairs for the two parameters: gradient (∂ℓ/∂μₖ, ∂ℓ/∂Ωₖₗ) and solution "
                   "(μ̂, Σ̂ = Ω̂⁻¹); the Hessian is the μ-block ∂²ℓ/∂μₖ∂μₗ = nΩₖₗ.")
    D.notes.append("The second-order check in the covariance is in the matrix form.")
    return D


def _partial(base, index):
    from derive.calculus.index_form import IsPartial
    return IsPartial(base, index)


class _Symmetric(Check):
    """The check `inner` with Ω and its indexed view Ωⱼₖ the same symmetric matrix (they are sampled apart
    when only one of them occurs)."""

    def __init__(self, inner: Check):
        super().__init__(varying=inner.varying)
        self.inner = inner

    def symbols(self, before, after):
        return self.inner.symbols(before, after) + [Omega, Omega_jk[1, 1]]

    def values(self, before, after, env):
        env = {**env, indexed_key("Omega"): padded(np.asarray(env["Omega"]), 2)}
        return self.inner.values(before, after, env)
