"""Least squares, with and without a ridge penalty: L(β) = ‖y − Xβ‖² (+ λ‖β‖²).

The derivation is written as the moves a lecturer makes; the engine computes every expression and
verifies every step. Three forms: vector/matrix notation, summation (index) notation, and explicit
components β₀ … β_{D−1} for checking by hand.
"""
from __future__ import annotations

import sympy as sp

from derive.calculus.index_form import eliminate_deltas, partial_derivative
from derive.calculus.matrix_rules import termwise_gradient
from derive.core.steps import (
    Derivation,
    Domains,
    IndexIn,
    IsGradient,
    IsJacobian,
    Nonnegative,
    SameMinimiser,
    Scaled,
    Solves,
    dimension,
)
from derive.errors import NotSupported
from derive.expr.algebra import combine_transposed, expand, multiply, split_product
from derive.expr.notation import Notation
from derive.expr.symbols import Eye, X, beta, d, lam, n, y

# n > d in every random draw, so a random X has full column rank and XᵀX is invertible.
DOMAINS = Domains({"n": dimension(6, 9), "d": dimension(2, 5), "k": IndexIn("d"), "l": IndexIn("d")})

L = Notation("L(β)", r"L(\beta)")
GRAD = Notation("∇L(β)", r"\nabla_{\beta} L")
HESS = Notation("∇²L(β)", r"\nabla^{2}_{\beta} L")
BETA_HAT = Notation("β̂", r"\hat{\beta}")


def derivation(form: str = "matrix", dim: int | None = None, *, ridge: bool) -> Derivation:
    if form == "matrix":
        return _matrix(ridge)
    if form == "index":
        return _index(ridge)
    if form == "components":
        return _components(ridge, dim or 2)
    raise NotSupported(f"no form {form!r} (forms: matrix, index, components)")


def _title(ridge: bool) -> str:
    return "Ridge regression" if ridge else "Ordinary least squares"


def _describe(D: Derivation, ridge: bool) -> None:
    D.symbols = [(X, "n×d data matrix (one row per observation)"), (y, "n×1 vector of targets"),
                 (beta, "d×1 vector of coefficients")]
    if ridge:
        D.symbols.append((lam, "penalty weight, λ > 0"))


def _matrix(ridge: bool) -> Derivation:
    D = Derivation(_title(ridge), model="ridge" if ridge else "ols", form="matrix", domains=DOMAINS)
    _describe(D, ridge)
    residual = y - X * beta
    loss = sp.MatMul(sp.Transpose(residual), residual)
    if ridge:
        loss = sp.MatAdd(loss, sp.MatMul(lam, beta.T, beta))

    D.section("The loss")
    D.step("definition", "The sum of squared residuals ‖y − Xβ‖² is the inner product of the residual with itself"
           + (", plus the penalty λ‖β‖² = λβᵀβ." if ridge else "."), loss, loss, lhs=L)
    expanded = D.step("expand", "Multiply out the product, using (AB)ᵀ = BᵀAᵀ.", loss, expand(loss), lhs=L)
    combined = D.step("a scalar equals its transpose",
                      "yᵀXβ is 1×1, so it equals its transpose βᵀXᵀy; the two cross terms combine.",
                      expanded, combine_transposed(expanded, beta), lhs=L)

    D.section("The gradient")
    raw, identities = termwise_gradient(combined, beta)
    D.step("gradient term by term",
           "Differentiate term by term (" + "; ".join(f"{i.name}, {i.source}" for i in identities) + ").",
           combined, raw, check=IsGradient(beta), lhs=GRAD)
    A = X.T * X
    multiplied_out = D.step("XᵀX is symmetric", "(XᵀX)ᵀ = XᵀX, so (XᵀX + (XᵀX)ᵀ)β = 2XᵀXβ.", raw, raw.doit(),
                            lhs=GRAD)
    data_term = sp.MatMul(-2, X.T, residual)     # −2Xᵀ(y − Xβ), the form of DESIGN §2 (and of the planner)
    grad = D.step("collect the residual", "2XᵀXβ − 2Xᵀy = −2Xᵀ(y − Xβ): the gradient is −2Xᵀ times the residual"
                  + (", plus the penalty's 2λβ." if ridge else "."), multiplied_out,
                  sp.MatAdd(sp.MatMul(2 * lam, beta), data_term) if ridge else data_term, lhs=GRAD)

    D.section("The normal equations")
    zero = sp.ZeroMatrix(*beta.shape)
    stationary = D.step("set the gradient to zero",
                        "At a minimum of a differentiable function the gradient vanishes.",
                        grad, sp.Eq(grad, zero, evaluate=False), relation="")
    penalised = sp.MatAdd(A, sp.MatMul(lam, Eye(d))) if ridge else A
    normal = sp.Eq(multiply([penalised, beta], beta), X.T * y, evaluate=False)
    D.step("normal equations", "Divide by 2 and move Xᵀy to the right-hand side"
           + (" (λβ = λIβ collects with XᵀXβ)." if ridge else "."),
           stationary, normal, check=Scaled(sp.Rational(1, 2)), relation="")

    D.section("Second-order condition")
    hessian = jacobian_of_gradient(D, multiplied_out)
    v = sp.MatrixSymbol("v", d, 1)
    quadratic = multiply([v.T, hessian, v], hessian)
    Xv = X * v
    squares = sp.MatMul(2, sp.Transpose(Xv), Xv)
    if ridge:
        squares = sp.MatAdd(squares, sp.MatMul(2 * lam, v.T, v))
    D.step("positive semidefinite", (
        "For any v, vᵀHv = 2‖Xv‖² + 2λ‖v‖², which is > 0 for v ≠ 0 because λ > 0: H is positive definite, "
        "so XᵀX + λI is invertible even when X is rank deficient, and L is strictly convex."
        if ridge else
        "For any v, vᵀHv = 2(Xv)ᵀ(Xv) = 2‖Xv‖² ≥ 0: H is positive semidefinite, so L is convex and every "
        "stationary point is a minimum; H is positive definite when X has full column rank."),
        quadratic, squares, check=Nonnegative())

    D.section("The solution")
    solution = sp.MatMul(sp.Inverse(penalised), X.T, y)
    D.step("solve the normal equations",
           "Multiply both sides by (XᵀX + λI)⁻¹, which exists for λ > 0 (above)." if ridge else
           "Multiply both sides by (XᵀX)⁻¹, which exists when X has full column rank (n ≥ d, no column a "
           "combination of the others).", normal, solution, check=Solves(beta), lhs=BETA_HAT)
    D.results = {"loss": loss, "gradient": grad, "hessian": hessian, "solution": solution}
    if ridge:
        _map_reading(D)
    D.notes.append("Gradients are in denominator layout: ∇L has the shape of β (d×1).")
    return D


def jacobian_of_gradient(D: Derivation, grad):
    """H = ∂(∇L)/∂βᵀ, term by term: ∂(Aβ)/∂βᵀ = A, constants vanish."""
    hessian = _linear_coefficient(grad, beta)
    D.step("∂(Aβ)/∂βᵀ = A", "The gradient is linear in β: differentiate each term (Matrix Cookbook (70)); "
           "terms free of β vanish.", grad, hessian, check=IsJacobian(beta), lhs=HESS)
    return hessian


def _linear_coefficient(expr, v):
    """A for an expression Av + c linear in v (c free of v), with a common numeric factor taken out: 2(XᵀX + λI)."""
    parts = []
    for t in (expr.args if isinstance(expr, sp.MatAdd) else (expr,)):
        if not t.has(v):
            continue
        coefficient, factors = split_product(t)
        if factors[-1] != v or any(f.has(v) for f in factors[:-1]):
            raise NotSupported(f"the term {t} is not of the form Aβ")
        parts.append((coefficient, factors[:-1] or [Eye(v.rows)]))
    parts.sort(key=lambda p: isinstance(p[1][0], sp.Identity))  # XᵀX + λI, as textbooks write it
    common = sp.gcd_list([c.as_coeff_Mul()[0] for c, _ in parts]) if len(parts) > 1 else 1
    terms = [multiply([c / common] + f, v) for c, f in parts]
    total = terms[0] if len(terms) == 1 else sp.MatAdd(*terms)
    return total if common == 1 else sp.MatMul(common, total)


def _map_reading(D: Derivation) -> None:
    """Ridge as maximum a posteriori: y | β ~ N(Xβ, σ²I) and the prior β ~ N(0, τ²I)."""
    sigma2, tau2 = sp.symbols("sigma^2 tau^2", positive=True)
    D.section("The MAP reading: ridge is a Gaussian prior")
    residual = y - X * beta
    rss = sp.MatMul(sp.Transpose(residual), residual)
    neg_log_posterior = sp.MatAdd(sp.MatMul(1 / (2 * sigma2), rss), sp.MatMul(1 / (2 * tau2), beta.T, beta))
    posterior = Notation("−log p(β | y)", r"-\log p(\beta \mid y)")
    D.step("Bayes' rule", "p(β | y) ∝ p(y | β) p(β); with y | β ~ N(Xβ, σ²I) and β ~ N(0, τ²I) the negative log "
           "posterior is a sum of two quadratic forms, up to terms free of β.",
           _gaussian_negative_log_posterior(sigma2, tau2), neg_log_posterior,
           check=SameMinimiser(beta), lhs=posterior)
    ridge_loss = sp.MatAdd(rss, sp.MatMul(sigma2 / tau2, beta.T, beta))
    D.step("scale by 2σ²", "Multiplying by the positive constant 2σ² does not move the minimiser: "
           "this is the ridge loss with λ = σ²/τ².", neg_log_posterior, ridge_loss,
           check=SameMinimiser(beta, 1 / (2 * sigma2)), lhs=Notation("2σ²(−log p(β | y))",
                                                                      r"2\sigma^{2}\left(-\log p(\beta \mid y)\right)"))


def _gaussian_negative_log_posterior(sigma2, tau2):
    """−Σᵢ log N(yᵢ; xᵢᵀβ, σ²) − Σⱼ log N(βⱼ; 0, τ²), written from the densities entry by entry."""
    i, j = sp.symbols("i j", integer=True)
    Xi, yi, bj = sp.IndexedBase("X", shape=(n, d)), sp.IndexedBase("y", shape=(n,)), sp.IndexedBase("beta", shape=(d,))
    mean = sp.Sum(Xi[i, j] * bj[j], (j, 1, d))

    def log_normal(x, mu, var):
        return -sp.log(2 * sp.pi * var) / 2 - (x - mu) ** 2 / (2 * var)

    return -sp.Sum(log_normal(yi[i], mean, sigma2), (i, 1, n)) - sp.Sum(log_normal(bj[j], 0, tau2), (j, 1, d))


# ---------------------------------------------------------------------------------------------------
# Summation notation
# ---------------------------------------------------------------------------------------------------
def _index(ridge: bool) -> Derivation:
    D = Derivation(_title(ridge), model="ridge" if ridge else "ols", form="index", domains=DOMAINS)
    _describe(D, ridge)
    i, j = sp.symbols("i j", integer=True)
    k, l = sp.symbols("k l", integer=True)
    Xi, yi, bj = sp.IndexedBase("X", shape=(n, d)), sp.IndexedBase("y", shape=(n,)), sp.IndexedBase("beta", shape=(d,))
    loss = sp.Sum((yi[i] - sp.Sum(Xi[i, j] * bj[j], (j, 1, d))) ** 2, (i, 1, n))
    if ridge:
        loss = loss + lam * sp.Sum(bj[j] ** 2, (j, 1, d))
    D.section("The loss")
    D.step("definition", "The squared residual of observation i is (yᵢ − Σⱼ Xᵢⱼβⱼ)²; sum over i"
           + (" and add λΣⱼ βⱼ²." if ridge else "."), loss, loss, lhs=L)

    D.section("The gradient, one coordinate at a time")
    dk = Notation("∂L/∂β_k", r"\frac{\partial L}{\partial \beta_{k}}")
    with_deltas = D.step("chain rule", "Differentiate under the sums: ∂(u²)/∂βₖ = 2u ∂u/∂βₖ, and ∂βⱼ/∂βₖ = δⱼₖ "
                         "(1 when j = k, else 0).", loss, partial_derivative(loss, bj, k),
                         check=_partial(bj, k), lhs=dk)
    grad = D.step("sum out the Kronecker delta", "Σⱼ Xᵢⱼδⱼₖ keeps only the term j = k: it is Xᵢₖ.",
                  with_deltas, eliminate_deltas(with_deltas), lhs=dk)

    D.section("The Hessian")
    dkl = Notation("∂²L/∂β_k∂β_l", r"\frac{\partial^{2} L}{\partial \beta_{k} \partial \beta_{l}}")
    second = D.step("differentiate again", "Only the residual depends on β: ∂/∂βₗ of −Σⱼ Xᵢⱼβⱼ is −Xᵢₗ.",
                    grad, partial_derivative(grad, bj, l), check=_partial(bj, l), lhs=dkl)
    hessian = D.step("sum out the Kronecker delta", "Σⱼ Xᵢⱼδⱼₗ = Xᵢₗ.", second, eliminate_deltas(second), lhs=dkl)
    D.results = {"loss": loss, "gradient": grad, "hessian": hessian}
    D.notes.append("Setting every ∂L/∂βₖ to zero gives the d normal equations Σᵢ Xᵢₖ(yᵢ − Σⱼ Xᵢⱼβⱼ)"
                   + (" = λβₖ" if ridge else " = 0") + ", the k-th row of the matrix form.")
    return D


def _partial(base, index):
    from derive.calculus.index_form import IsPartial
    return IsPartial(base, index)


# ---------------------------------------------------------------------------------------------------
# Explicit components, for checking by hand
# ---------------------------------------------------------------------------------------------------
def _components(ridge: bool, dim: int) -> Derivation:
    if not 1 <= dim <= 6:
        raise NotSupported(f"--dim must be between 1 and 6 for the components form, not {dim}")
    D = Derivation(_title(ridge), model="ridge" if ridge else "ols", form="components",
                   domains=Domains({"n": dimension(6, 9)}))
    i = sp.symbols("i", integer=True)
    Xi, yi = sp.IndexedBase("X", shape=(n, dim)), sp.IndexedBase("y", shape=(n,))
    b = sp.symbols(f"beta_0:{dim}")
    D.symbols = [(Xi[i, 0], f"entry (i, j) of the n×{dim} data matrix"), (yi[i], "target of observation i")] + \
        [(bk, "coefficient") for bk in b]
    prediction = sum(Xi[i, k] * b[k] for k in range(dim))
    loss = sp.Sum((yi[i] - prediction) ** 2, (i, 1, n))
    if ridge:
        loss = loss + lam * sum(bk ** 2 for bk in b)
    D.section("The loss")
    D.step("definition", f"The model predicts ŷᵢ = {' + '.join(f'β{k}Xᵢ{k}' for k in range(dim))}; "
           "square the residuals and sum" + (", plus λ times the sum of squared coefficients." if ridge else "."),
           loss, loss, lhs=L)
    D.section("The partial derivatives")
    gradient = []
    for k, bk in enumerate(b):
        lhs = Notation(f"∂L/∂β{k}", r"\frac{\partial L}{\partial \beta_{%d}}" % k)
        gk = _collect_sum(sp.diff(loss, bk))
        gradient.append(D.step("chain rule", f"∂(u²)/∂β{k} = 2u·∂u/∂β{k}, and ∂u/∂β{k} = −Xᵢ{k} for the residual u.",
                               loss, gk, check=IsGradient(bk), lhs=lhs))
    D.section("The Hessian")
    hessian = sp.Matrix(dim, dim, lambda r, c: _collect_sum(sp.diff(gradient[r], b[c])))
    for r in range(dim):
        for c in range(r, dim):
            lhs = Notation(f"∂²L/∂β{r}∂β{c}", r"\frac{\partial^{2} L}{\partial \beta_{%d} \partial \beta_{%d}}" % (r, c))
            D.step("differentiate again", f"Only the residual depends on β{c}.", gradient[r], hessian[r, c],
                   check=IsGradient(b[c]), lhs=lhs)
    D.results = {"loss": loss, "gradient": sp.ImmutableMatrix(gradient), "hessian": sp.ImmutableMatrix(hessian)}
    D.notes.append(f"Setting the {dim} partial derivatives to zero gives {dim} linear equations in "
                   f"{', '.join(f'β{k}' for k in range(dim))}: the normal equations written out.")
    return D


def _collect_sum(expr):
    """Tidy a derivative of Σᵢ(…): pull constant factors out of the sum, keep the summand factored."""
    return sp.factor_terms(expr)
