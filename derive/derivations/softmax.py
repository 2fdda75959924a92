"""Multinomial (softmax) logistic regression: ℓ(W) = Σᵢ [log Σ_c e^{xᵢᵀw_c} − Σ_c Y_ic xᵢᵀw_c].

The labels are one-hot rows Yᵢ of the n×K matrix Y; the parameters are the columns w_c of W (d×K), one score
xᵢᵀw_c per class. From the categorical likelihood, by the same moves as binary logistic regression, to the
gradient Xᵀ(P − Y), where P = diag(exp(XW)𝟏)⁻¹exp(XW) holds the predicted class probabilities (each row of
exp(XW) divided by its sum: the softmax). The matrix form derives it by differentials; the index form
differentiates coordinate by coordinate with the Kronecker deltas summed out, and goes on to the Hessian
∂²ℓ/∂W_km∂W_lq = Σᵢ XᵢₖXᵢₗ P_im(δ_mq − P_iq) and its convexity (a variance under the class probabilities).
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.hadamard import HadamardProduct

from derive.calculus.differentials import gradient
from derive.calculus.index_form import EntryOf
from derive.core.numeval import evaluate, indexed_key
from derive.core.steps import (
    Check,
    Derivation,
    Domains,
    IndexIn,
    Nonnegative,
    Scaled,
    dimension,
)
from derive.derivations.abbreviations import Named, unfold
from derive.errors import NotSupported
from derive.expr.algebra import factor_common, multiply
from derive.expr.functions import Elementwise
from derive.expr.notation import Notation
from derive.expr.symbols import K, X, d, n


def one_hot_rows(rng, shape):
    """Rows with a single 1: one-hot labels. Column 0 is never chosen, so that the same numbers serve as the
    matrix Y and as the 1-based indexed Y_ic, whose row and column 0 are spare (see steps.Domains)."""
    rows, cols = shape
    values = np.zeros(shape)
    values[np.arange(rows), rng.integers(1, cols, rows)] = 1.0
    return values


class IsPartialEntry(Check):
    """after = ∂ before / ∂ base[row, col], at a random entry (complex step along that entry, both views)."""

    def __init__(self, base: sp.IndexedBase, row: sp.Symbol, col: sp.Symbol):
        super().__init__()
        self.base, self.row, self.col = base, row, col

    def values(self, before, after, env):
        name = str(self.base.label)
        r, c = int(env[self.row.name]), int(env[self.col.name])
        h = 1e-30
        shifted = dict(env)
        key = indexed_key(name)
        if key in env:
            shifted[key] = np.asarray(env[key], dtype=complex)
            shifted[key][r, c] += 1j * h
        if name in env:  # the matrix view is 0-based
            shifted[name] = np.asarray(env[name], dtype=complex)
            shifted[name][r - 1, c - 1] += 1j * h
        return evaluate(after, env), np.imag(evaluate(before, shifted)) / h


i, j, k, l = sp.symbols("i j k l", integer=True)
c, c2, m, q = sp.symbols("c c' m q", integer=True)
W = sp.MatrixSymbol("W", d, K)
Y = sp.MatrixSymbol("Y", n, K)
X_ij = sp.IndexedBase("X", shape=(n, d))
W_jc = sp.IndexedBase("W", shape=(d, K))
Y_ic = sp.IndexedBase("Y", shape=(n, K))
V_jc = sp.IndexedBase("V", shape=(d, K))

DOMAINS = Domains({"n": dimension(4, 7), "d": dimension(2, 3), "K": dimension(2, 3), "Y": one_hot_rows,
                   "i": IndexIn("n"), "k": IndexIn("d"), "l": IndexIn("d"), "m": IndexIn("K"), "q": IndexIn("K")})

LOSS = Notation("ℓ(W)", r"\ell(W)")
GRAD = Notation("∇ℓ(W)", r"\nabla_{W} \ell")
DKM = Notation("∂ℓ/∂W_km", r"\frac{\partial \ell}{\partial W_{km}}")
DKMLQ = Notation("∂²ℓ/∂W_km∂W_lq", r"\frac{\partial^{2} \ell}{\partial W_{km} \partial W_{lq}}")


def score(obs, cls, weights=W_jc):
    """xᵢᵀw_c = Σⱼ Xᵢⱼ W_jc."""
    return sp.Sum(X_ij[obs, j] * weights[j, cls], (j, 1, d))


def normaliser(obs):
    return sp.Sum(sp.exp(score(obs, c2)), (c2, 1, K))


def probability(obs, cls):
    """P_ic = e^{xᵢᵀw_c} / Σ_c′ e^{xᵢᵀw_c′}."""
    return sp.exp(score(obs, cls)) / normaliser(obs)


def derivation(form: str = "matrix", dim: int | None = None) -> Derivation:
    if form == "matrix":
        return _matrix()
    if form == "index":
        return _index()
    raise NotSupported(f"no form {form!r} for softmax: its parameter W is a d×K matrix, written in matrix or "
                       "index form (forms: matrix, index)")


def _describe(D: Derivation) -> None:
    D.symbols = [(X, "n×d data matrix, row i is xᵢᵀ"),
                 (Y, "n×K matrix of one-hot labels: Y_ic = 1 when observation i is in class c, else 0"),
                 (W, "d×K matrix of coefficients, column w_c for class c")]


def _likelihood(D: Derivation) -> sp.Expr:
    """From the categorical model to ℓ(W) = Σᵢ [log Σ_c e^{xᵢᵀw_c} − Σ_c Y_ic xᵢᵀw_c]."""
    D.section("The model and its likelihood")
    P_ic = probability(i, c)
    pick = sp.Sum(Y_ic[i, c] * P_ic, (c, 1, K))
    pmf = sp.Product(P_ic ** Y_ic[i, c], (c, 1, K))
    D.step("categorical model", "P(class c | xᵢ) = P_ic = e^{xᵢᵀw_c}/Σ_c′ e^{xᵢᵀw_c′} (the softmax of the K scores: "
           "positive, summing to 1). The one-hot row Yᵢ picks the probability of the observed class, as on the "
           "left; the product form on the right is the same number, in a form that logs turn into sums.",
           pick, pmf)
    likelihood = sp.Product(pmf, (i, 1, n))
    D.step("independent observations", "Given X the labels are independent, so the likelihood of W is the "
           "product of the n probabilities.", likelihood, likelihood, lhs=Notation("L(W)", r"L(W)"))
    log_likelihood = Notation("log L(W)", r"\log L(W)")
    logs = sp.Sum(Y_ic[i, c] * sp.log(P_ic), (i, 1, n), (c, 1, K))
    D.step("the log of a product is the sum of logs", "log Πᵢ Π_c P_ic^{Y_ic} = Σᵢ Σ_c Y_ic log P_ic.",
           sp.log(likelihood), logs, lhs=log_likelihood)
    split = sp.Sum(Y_ic[i, c] * (score(i, c) - sp.log(normaliser(i))), (i, 1, n), (c, 1, K))
    D.step("log of a quotient", "log P_ic = xᵢᵀw_c − log Σ_c′ e^{xᵢᵀw_c′}.", logs, split, lhs=log_likelihood)
    one_hot = sp.Sum(sp.Sum(Y_ic[i, c] * score(i, c), (c, 1, K)) - sp.log(normaliser(i)), (i, 1, n))
    D.step("one-hot labels sum to 1", "The log-normaliser does not depend on c, and Σ_c Y_ic = 1.", split,
           one_hot, lhs=log_likelihood)
    loss = sp.Sum(sp.log(normaliser(i)) - sp.Sum(Y_ic[i, c] * score(i, c), (c, 1, K)), (i, 1, n))
    D.step("negative log-likelihood", "The loss is minus the log-likelihood: minimising ℓ maximises L.",
           one_hot, loss, check=Scaled(-1), lhs=LOSS)
    return loss


def _matrix() -> Derivation:
    D = Derivation("Softmax regression", model="softmax", form="matrix", domains=DOMAINS)
    _describe(D)
    index_loss = _likelihood(D)
    E = Elementwise("exp", X * W)
    ones_K = sp.OneMatrix(K, 1)
    loss = sp.OneMatrix(1, n) * Elementwise("log", E * ones_K) - sp.OneMatrix(1, n) * HadamardProduct(Y, X * W) * ones_K
    D.step("sums as matrix products", "The scores xᵢᵀw_c are the entries of XW; the row sums Σ_c e^{(XW)_ic} form "
           "exp(XW)𝟏 (𝟏 ∈ ℝᴷ), and 𝟏ᵀlog(·) adds their logs over i (𝟏 ∈ ℝⁿ); Σᵢ Σ_c Y_ic(XW)_ic = 𝟏ᵀ(Y ⊙ XW)𝟏.",
           index_loss, loss, lhs=LOSS)

    D.section("The gradient")
    raw = gradient(D, loss, W, lhs=LOSS, result_lhs=GRAD)
    probabilities = multiply([sp.Inverse(DiagMatrix(E * ones_K)), E], E)
    minus_XtY = sp.MatMul(-1, X.T, Y)
    divided = sp.MatAdd(multiply([X.T, probabilities], E), minus_XtY)
    D.step("divide each row by its sum", "Entry (i, c) of (exp(XW)𝟏)^∘−1 𝟏ᵀ ⊙ exp(XW) is e^{(XW)_ic}/Σ_c′ e^{(XW)_ic′}: "
           "row i of exp(XW) divided by its sum, which is diag(exp(XW)𝟏)⁻¹exp(XW).", raw, divided, lhs=GRAD)
    P = Named("P", "P", probabilities)
    named = sp.MatAdd(sp.MatMul(X.T, P), minus_XtY)  # not X.T*P: the * operator calls doit(), unfolding P
    D.step("the softmax probabilities", "Call P = diag(exp(XW)𝟏)⁻¹exp(XW) the n×K matrix of predicted class "
           "probabilities P_ic (each row is the softmax of xᵢᵀW and sums to 1).", divided, named, lhs=GRAD)
    grad_named = D.step("factor out Xᵀ", "XᵀP − XᵀY = Xᵀ(P − Y): as in binary logistic regression, Xᵀ times the "
                        "residuals, predicted probabilities minus observed labels.", named, factor_common(named), lhs=GRAD)
    grad = unfold(grad_named)
    D.results = {"loss": loss, "gradient": grad}
    _notes(D)
    return D


def _notes(D: Derivation) -> None:
    D.notes.append("Gradients are in denominator layout: ∇ℓ has the shape of W (d×K); column c is Σᵢ (P_ic − Y_ic)xᵢ.")
    D.notes.append("No closed form: XᵀP = XᵀY is nonlinear in W. The loss is convex (see the index form), but "
                   "not strictly: adding the same vector to every column of W leaves P unchanged, so the "
                   "Hessian is singular and the minimiser is unique only after fixing one column (say w_K = 0) "
                   "or adding a penalty.")


def _index() -> Derivation:
    D = Derivation("Softmax regression", model="softmax", form="index", domains=DOMAINS)
    _describe(D)
    loss = _likelihood(D)

    D.section("The gradient, one coordinate at a time")
    deltas = sp.Sum(X_ij[i, j] * sp.KroneckerDelta(j, k), (j, 1, d)) * sp.KroneckerDelta(c, m)
    chain = sp.Sum(sp.Sum(probability(i, c) * deltas, (c, 1, K)) - sp.Sum(Y_ic[i, c] * deltas, (c, 1, K)), (i, 1, n))
    with_deltas = D.step("chain rule", "∂/∂W_km log Σ_c e^{s_c} = Σ_c (e^{s_c}/Σ_c′ e^{s_c′}) ∂s_c/∂W_km with the "
                         "scores s_c = xᵢᵀw_c = Σⱼ Xᵢⱼ W_jc, and ∂W_jc/∂W_km = δⱼₖδ_cm.", loss, chain,
                         check=IsPartialEntry(W_jc, k, m), lhs=DKM)
    grad_km = sp.Sum(sp.Mul(X_ij[i, k], probability(i, m) - Y_ic[i, m], evaluate=False), (i, 1, n))
    D.step("sum out the Kronecker deltas", "Σⱼ Xᵢⱼδⱼₖ = Xᵢₖ and Σ_c f(c)δ_cm = f(m): observation i contributes "
           "Xᵢₖ times its residual P_im − Y_im.", with_deltas, grad_km, lhs=DKM)
    P = multiply([sp.Inverse(DiagMatrix(Elementwise("exp", X * W) * sp.OneMatrix(K, 1))),
                  Elementwise("exp", X * W)], X)
    grad = X.T * (P - Y)
    D.step("stack the coordinates", "Σᵢ Xᵢₖ R_im is entry (k, m) of XᵀR: with R = P − Y, where P = "
           "diag(exp(XW)𝟏)⁻¹exp(XW) holds the probabilities P_im, the d×K partial derivatives form the gradient.",
           grad_km, grad, check=EntryOf(k, m), lhs=GRAD)

    D.section("The Hessian and convexity")
    P_im, P_iq = probability(i, m), probability(i, q)
    delta_l = sp.Sum(X_ij[i, j] * sp.KroneckerDelta(j, l), (j, 1, d))
    second = D.step("quotient rule", "∂P_im/∂W_lq = P_im(δ_mq − P_iq) ∂s/∂W_lq: the numerator e^{s_m} moves only "
                    "when q = m, the normaliser always; Y does not depend on W.", grad_km,
                    sp.Sum(sp.Mul(X_ij[i, k], P_im, sp.KroneckerDelta(m, q) - P_iq, delta_l, evaluate=False), (i, 1, n)),
                    check=IsPartialEntry(W_jc, l, q), lhs=DKMLQ)
    hessian = D.step("sum out the Kronecker delta", "Σⱼ Xᵢⱼδⱼₗ = Xᵢₗ; δ_mq stays: it relates two free class "
                     "subscripts.", second,
                     sp.Sum(sp.Mul(X_ij[i, k], X_ij[i, l], P_im, sp.KroneckerDelta(m, q) - P_iq, evaluate=False),
                            (i, 1, n)), lhs=DKMLQ)
    u_ic = lambda cls: score(i, cls, V_jc)
    P_ic = probability(i, c)
    variance = sp.Sum(sp.Sum(P_ic * u_ic(c) ** 2, (c, 1, K)) - sp.Sum(P_ic * u_ic(c), (c, 1, K)) ** 2, (i, 1, n))
    quadratic = sp.Sum(V_jc[k, m] * hessian * V_jc[l, q], (k, 1, d), (m, 1, K), (l, 1, d), (q, 1, K))
    D.step("a variance is ≥ 0", "For any direction V (d×K), with uᵢ_c = xᵢᵀv_c, the quadratic form is "
           "Σᵢ [Σ_c P_ic uᵢ_c² − (Σ_c P_ic uᵢ_c)²]: for each i the variance of uᵢ_c when the class c is drawn with "
           "probabilities P_ic, so it is ≥ 0. The Hessian is positive semidefinite and ℓ is convex.",
           quadratic, variance, check=Nonnegative())
    D.results = {"loss": loss, "gradient": grad_km, "hessian": hessian}
    D.notes.append("In matrix form: ∇ℓ = Xᵀ(P − Y) with P = diag(exp(XW)𝟏)⁻¹exp(XW); as a matrix acting on vec(W) "
                   "the Hessian is Σᵢ (diag(pᵢ) − pᵢpᵢᵀ) ⊗ xᵢxᵢᵀ, pᵢ the i-th row of P.")
    _notes(D)
    return D
