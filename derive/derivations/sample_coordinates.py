"""The index form of a vector sample's derivation (xᵢ ~ N(μ, Σ)), from its plan: summation notation over the
coordinates j of each observation, with the precision Ω = Σ⁻¹ (often written Λ) as the matrix parameter.

In Ω the quadratic form Σⱼ Σⱼ′ (Xᵢⱼ − μⱼ)Ωⱼⱼ′(Xᵢⱼ′ − μⱼ′) is linear in the parameter, so each ∂/∂Ωₖₗ picks one
term; ∂ log det Ω/∂Ωₖₗ = (Ω⁻¹)ₗₖ is the log-determinant lemma entry by entry. Σ̂ = Ω̂⁻¹ by the invariance of
the maximum-likelihood estimate. The second-order check in the covariance stays in the matrix form.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from derive.calculus.index_form import EntryOf, IsPartial
from derive.core.numeval import evaluate, indexed_key, padded, rule
from derive.core.random_points import Domains, IndexIn, spd
from derive.core.steps import Check, Derivation, Equal, Solves
from derive.derivations.abbreviations import Abbreviation, unfold
from derive.derivations.sentences import prose
from derive.errors import NotSupported
from derive.expr.notation import Notation
from derive.expr.printing import latex, unicode
from derive.expr.prose import Math


class InverseEntry(sp.Expr):
    """(M⁻¹)_{rc}, an entry of the inverse of the matrix M, with 1-based subscripts as in Σᵢ."""

    def __new__(cls, matrix, row, col):
        return super().__new__(cls, matrix, sp.sympify(row), sp.sympify(col))

    def _unicode(self, printer):
        return "(%s⁻¹)_%s%s" % tuple(printer._print(a) for a in self.args)

    def _latex(self, printer):
        return r"\left(%s^{-1}\right)_{%s %s}" % tuple(printer._print(a) for a in self.args)

    _sympystr = _unicode


@rule(InverseEntry)
def _evaluate_inverse_entry(expr, env):
    inverse = np.linalg.inv(np.asarray(evaluate(expr.args[0], env)))
    return inverse[int(evaluate(expr.args[1], env)) - 1, int(evaluate(expr.args[2], env)) - 1]


class OneSymmetricMatrix(Check):
    """The check `inner` with the matrix Ω and its indexed view Ωⱼₖ the same symmetric matrix (they are drawn
    apart when only one of them occurs)."""

    def __init__(self, inner: Check, matrix, view):
        super().__init__(varying=inner.varying)
        self.inner, self.matrix, self.view = inner, matrix, view

    def symbols(self, before, after):
        return self.inner.symbols(before, after) + [self.matrix, self.view]

    def values(self, before, after, env):
        env = {**env, indexed_key(self.matrix.name): padded(np.asarray(env[self.matrix.name]), 2)}
        return self.inner.values(before, after, env)


def index_form(P) -> Derivation:
    """The plan `P` of xᵢ ~ N(μ, Σ) (mean vector, then covariance) in summation notation."""
    vectors = [p for p in P.parameters if p.cols == 1]
    matrices = [p for p in P.parameters if p.cols != 1]
    if len(vectors) != 1 or len(matrices) != 1 or P.parameters != [*vectors, *matrices]:
        raise NotSupported("the index form of a vector sample is written for a mean vector and then a covariance "
                           "matrix (forms: matrix)")
    mu, Sigma, X = vectors[0], matrices[0], P.statement.observed
    n, d = X.shape
    i, j, j2, k, l = sp.symbols("i j j' k l", integer=True)
    Omega = sp.MatrixSymbol("Omega", d, d)
    X_ij, mu_j = sp.IndexedBase(X.name, shape=(n, d)), sp.IndexedBase(mu.name, shape=(d,))
    Omega_jk = sp.IndexedBase("Omega", shape=(d, d))
    symmetric = lambda check: OneSymmetricMatrix(check, Omega, Omega_jk[1, 1])  # noqa: E731
    matrix = P.derivation
    D = Derivation(matrix.title, model=matrix.model, form="index", domains=Domains({
        **matrix.domains.samplers, "Omega": spd, "i": IndexIn(str(n)), "k": IndexIn(str(d)), "l": IndexIn(str(d))}))
    D.symbols = [(X_ij[i, j], f"component j of observation i (row i of the {unicode(n)}×{unicode(d)} data matrix "
                              f"{unicode(X)})"),
                 (mu_j[j], "component j of the mean"),
                 (Omega_jk[j, k], f"the precision matrix Ω = {unicode(sp.Inverse(Sigma))}, symmetric positive definite")]

    D.section(f"The loss in the precision Ω = {unicode(sp.Inverse(Sigma))}")
    deviation = lambda a: X_ij[i, a] - mu_j[a]  # noqa: E731
    form = sp.Sum(deviation(j) * Omega_jk[j, j2] * deviation(j2), (j, 1, d), (j2, 1, d))
    constant = sp.Add(*[t for t in sp.Add.make_args(P.derivation.results["loss"]) if not t.has(mu, Sigma)])
    log_det = sp.log(sp.Determinant(Omega))
    half_n = _coefficient_of(P.derivation.results["loss"], sp.log(sp.Determinant(Sigma)))
    loss = constant - half_n * log_det + sp.Sum(form, (i, 1, n)) / 2
    in_sigma = unfold(P.derivation.results["loss"]).xreplace({Sigma: sp.Inverse(Omega)})
    label = Notation(f"ℓ({unicode(mu)}, Ω)", r"\ell(%s, \Omega)" % latex(mu))
    D.step("negative log-likelihood", prose(
        "The loss of the matrix form with Ω = ", sp.Inverse(Sigma), ": log det ", Sigma, " = −log det Ω, and the "
        "quadratic form of observation i written out over its coordinates j, j′, ",
        Math(f"(xᵢ − {unicode(mu)})ᵀΩ(xᵢ − {unicode(mu)})", r"(x_{i} - %s)^{\top}\Omega(x_{i} - %s)" % (latex(mu),
                                                                                                     latex(mu))),
        " = ", form, "."), in_sigma, loss, lhs=label)

    D.section(f"The gradient in {unicode(mu)}")
    dk = Notation(f"∂ℓ/∂{unicode(mu)}_k", r"\frac{\partial \ell}{\partial %s_{k}}" % latex(mu))
    deltas = sp.Sum(-sp.KroneckerDelta(j, k) * Omega_jk[j, j2] * deviation(j2)
                    - deviation(j) * Omega_jk[j, j2] * sp.KroneckerDelta(j2, k), (j, 1, d), (j2, 1, d))
    with_deltas = D.step("product rule", prose(
        "∂(", deviation(j), ")/∂", mu_j[k], " = −δ_jk in each of the two factors; the terms free of ", mu,
        " vanish."), loss, sp.Sum(deltas, (i, 1, n)) / 2, check=IsPartial(mu_j, k), lhs=dk)
    summed = sp.Sum(-sp.Sum(Omega_jk[k, j] * deviation(j), (j, 1, d)) / 2
                    - sp.Sum(deviation(j) * Omega_jk[j, k], (j, 1, d)) / 2, (i, 1, n))
    D.step("sum out the Kronecker deltas", prose("Σⱼ δ_jk f(j) = f(k), once in each term (the summation letter j′ "
                                                 "renamed j)."), with_deltas, summed, lhs=dk)
    grad_k = -sp.Sum(Omega_jk[k, j] * sp.Sum(deviation(j), (i, 1, n)), (j, 1, d))
    D.step("Ω is symmetric", prose(Omega_jk[j, k], " = ", Omega_jk[k, j], ": the two terms are equal; exchange the "
                                   "order of the sums."), summed, grad_k, lhs=dk, check=symmetric(Equal()))
    ones = sp.OneMatrix(n, 1)
    total = sp.MatAdd(sp.MatMul(X.T, ones), sp.MatMul(-1, n, mu), evaluate=False)
    grad_mu = sp.MatMul(-1, Omega, total)
    D.step("stack the coordinates", prose(
        "Σⱼ ", Omega_jk[k, j], " tⱼ is entry k of Ωt, with tⱼ = ", sp.Sum(deviation(j), (i, 1, n)), ", t = ", total,
        "."), grad_k, grad_mu, check=symmetric(EntryOf(k)), lhs=Notation(f"∇_{unicode(mu)} ℓ",
                                                                           r"\nabla_{%s} \ell" % latex(mu)))
    mean = unfold(P.solutions[mu])
    hat_mu = Notation(unicode(mu) + "̂", r"\hat{%s}" % latex(mu))
    D.step(f"solve for {unicode(mu)}", prose(
        "Ω is invertible, so Σᵢ(", deviation(j), ") = 0 for every j: ", hat_mu, " = ", mean,
        ", the sample mean, whatever Ω is."),
        sp.Eq(grad_mu, sp.ZeroMatrix(d, 1), evaluate=False), mean, check=symmetric(Solves(mu)), lhs=hat_mu)
    hessian = D.step(f"differentiate ∂ℓ/∂{unicode(mu)}_k again", prose(
        "∂/∂", mu_j[l], " of ", grad_k, " is ", n * Omega_jk[k, l], ": n times the precision, positive definite, so ",
        hat_mu, " is the minimum in ", mu, "."), grad_k, n * Omega_jk[k, l], check=symmetric(IsPartial(mu_j, l)),
        lhs=Notation(f"∂²ℓ/∂{unicode(mu)}_k∂{unicode(mu)}_l",
                     r"\frac{\partial^{2} \ell}{\partial %s_{k} \partial %s_{l}}" % (latex(mu), latex(mu))))

    D.section("The precision, and the covariance")
    dkl = Notation("∂ℓ/∂Ω_kl", r"\frac{\partial \ell}{\partial \Omega_{kl}}")
    scatter_kl = sp.Sum(deviation(k) * deviation(l), (i, 1, n))
    grad_kl = -half_n * InverseEntry(Omega, l, k) + scatter_kl / 2
    D.step("log-determinant lemma; the form is linear in Ω", prose(
        "∂ log det Ω/∂", Omega_jk[k, l], " = ", InverseEntry(Omega, l, k), " (from d log det Ω = tr(Ω⁻¹dΩ)), and ∂",
        Omega_jk[j, j2], "/∂", Omega_jk[k, l], " = δ_jk δ_j′l picks the term j = k, j′ = l of the double sum."),
        loss, grad_kl, check=symmetric(IsPartial(Omega_jk, k, l)), lhs=dkl)
    deviations = sp.MatAdd(X, sp.MatMul(-1, ones, mu.T))
    scatter = sp.MatMul(sp.Transpose(deviations), deviations)
    grad_omega = sp.MatAdd(sp.MatMul(-half_n, sp.Transpose(sp.Inverse(Omega))), sp.MatMul(sp.S.Half, scatter),
                           evaluate=False)
    D.step("stack the coordinates", prose(
        InverseEntry(Omega, l, k), " is entry (k, l) of Ω⁻ᵀ, and ", scatter_kl, " is entry (k, l) of the scatter "
        "matrix ", scatter, "."), grad_kl, grad_omega, check=symmetric(EntryOf(k, l)),
        lhs=Notation("∂ℓ/∂Ω", r"\frac{\partial \ell}{\partial \Omega}"))
    covariance = sp.MatMul(1 / n, scatter)
    D.step("solve for Ω", prose("Ω⁻ᵀ = Ω⁻¹ = ", covariance, ": invert."),
           sp.Eq(grad_omega, sp.ZeroMatrix(d, d), evaluate=False), sp.Inverse(covariance),
           check=symmetric(Solves(Omega)), lhs=Notation("Ω̂", r"\hat{\Omega}"))
    bar = lambda a: sp.Sum(X_ij[j, a], (j, 1, n)) / n  # noqa: E731
    hat_entry = lambda a: Abbreviation(f"{unicode(mu)}̂_{a}", r"\hat{%s}_{%s}" % (latex(mu), a), bar(a))  # noqa: E731
    entry_hat = sp.Sum((X_ij[i, k] - hat_entry(k)) * (X_ij[i, l] - hat_entry(l)), (i, 1, n)) / n
    shown = matrix.displayed_results()["solution"][1]      # with x̄, as the matrix form writes it
    estimate = unfold(P.solutions[Sigma])
    hat_sigma = Notation(unicode(Sigma) + "̂", r"\hat{%s}" % latex(Sigma))
    D.step("invariance of the maximum-likelihood estimate", prose(
        unicode(Sigma), " = Ω⁻¹ is a one-to-one reparametrisation, so ", hat_sigma, " = Ω̂⁻¹; at ", mu, " = ",
        hat_mu, " its entry (k, l) is ", entry_hat, ", with ", hat_entry(k), " = ", bar(k), "."),
        entry_hat, shown, check=EntryOf(k, l), lhs=hat_sigma)
    D.results = {"loss": loss, "gradient": sp.Tuple(grad_k, grad_kl), "hessian": hessian,
                 "solution": sp.Tuple(mean, estimate)}
    D.shown_results = {"solution": sp.Tuple(mean, shown)}
    D.notes.append(str(prose(
        "The results hold one entry per parameter: gradient (", dk, ", ", dkl, ") and solution (", hat_mu, ", ",
        hat_sigma, " = Ω̂⁻¹); the Hessian is the ", mu, "-block ", n * Omega_jk[k, l], ". The second-order check in ",
        "the covariance is in the matrix form.")))
    return D


def _coefficient_of(expr, term):
    """c in expr = c·term + (terms free of it): n/2 of (n/2) log det Σ."""
    return sp.Add(*[t.as_independent(term)[0] for t in sp.Add.make_args(expr) if t.has(term)])
