"""What a good textbook adds beyond the plan, as named lemmas the planner applies where their premises hold.

    sigmoid_facts   the model uses the logistic function σ: its definition, σ(−z) = 1 − σ(z), the logs of σ
                    and 1 − σ, and σ′ = σ(1 − σ), each a verified step of its own
    map_reading     the loss is ‖y − Xβ‖² plus κ‖β‖²: it is the negative log posterior of y | β ~ N(Xβ, σ²I)
                    with the prior β ~ N(0, τ²I), scaled by 2σ², for κ = σ²/τ² (ridge is a MAP estimate)
    convex_terms    a loss Σₖ cₖ fₖ(η) + a + bη with cₖ ≥ 0 on the data's support and each fₖ convex on the real
                    line, by a lemma of CONVEX_FUNCTIONS (−log Φ and −log(1 − Φ): Φ is log-concave; −log σ and
                    −log(1 − σ); exp), each proved by verified steps: then the loss is convex in η

(IRLS, the reading of a GLM's Newton step as a weighted least-squares fit, is the planner's own move.)

The matrix-gradient lemmas of DESIGN §2 are records (`MatrixGradientLemma`): LOG_DETERMINANT,
∂ log det Σ/∂Σ = Σ⁻ᵀ, and TRACE_OF_INVERSE, ∂ tr(Σ⁻¹A)/∂Σ = −Σ⁻ᵀAᵀΣ⁻ᵀ, each with its symmetric reading
(Σ⁻¹ and −Σ⁻¹AΣ⁻¹) and the differential it comes from; `derive.derivations.matrix_parameters` applies them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import sympy as sp

from derive.core.steps import Derivation, IsGradient, Nonnegative, SameMinimiser
from derive.derivations.sentences import prose
from derive.expr.functions import Elementwise, Phi, phi, sigmoid, with_registry_functions
from derive.expr.notation import Notation
from derive.expr.printing import latex, unicode
from derive.expr.prose import Math

z = sp.Symbol("z", real=True)


def uses_sigmoid(expr) -> bool:
    return any(isinstance(e, sigmoid) or isinstance(e, Elementwise) and e.name == "sigmoid"
               for e in sp.preorder_traversal(expr))


def sigmoid_facts(D: Derivation) -> None:
    """The facts about σ a derivation with σ uses, each checked on its own: scalar z, any real value."""
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
           raw, sp.Mul(sigmoid(z), 1 - sigmoid(z), evaluate=False), lhs=derivative)
    softplus_derivative = Notation("d/dz log(1 + eᶻ)", r"\frac{d}{dz} \log\left(1 + e^{z}\right)")
    raw = D.step("chain rule", "d log u = du/u with u = 1 + eᶻ.", sp.log(1 + sp.exp(z)),
                 sp.exp(z) / (1 + sp.exp(z)), check=IsGradient(z), lhs=softplus_derivative)
    D.step("definition of σ", "eᶻ/(1 + eᶻ) = σ(z) (above).", raw, sigmoid(z), lhs=softplus_derivative)


def least_squares_parts(loss, parameter):
    """(y, X) when `loss` is (y − Xβ)ᵀ(y − Xβ) for the vector parameter β, else None."""
    if not isinstance(loss, sp.MatMul) or len(loss.args) != 2 or loss.args[0] != sp.Transpose(loss.args[1]):
        return None
    residual = loss.args[1]
    if not isinstance(residual, sp.MatAdd) or len(residual.args) != 2:
        return None
    data = [a for a in residual.args if not a.has(parameter)]
    fitted = [-a for a in residual.args if a.has(parameter)]
    if len(data) != 1 or len(fitted) != 1 or fitted[0] != sp.MatMul(fitted[0].args[0], parameter) \
            or not isinstance(data[0], sp.MatrixSymbol):
        return None
    return data[0], fitted[0].args[0]


def map_reading(D: Derivation, loss, penalty, parameter) -> None:
    """Premises: `loss` is (y − Xβ)ᵀ(y − Xβ) and `penalty` κβᵀβ with κ > 0 a symbol; then the penalised loss is
    2σ² times the negative log posterior of y | β ~ N(Xβ, σ²I), β ~ N(0, τ²I), with κ = σ²/τ²."""
    parts = least_squares_parts(loss, parameter)
    kappa = sp.Mul(*[f for f in sp.Mul.make_args(penalty) if not f.is_Matrix and not hasattr(f, "matrix")])
    squares = [f for f in sp.Mul.make_args(penalty) if hasattr(f, "matrix")]
    if parts is None or len(squares) != 1 or squares[0].matrix != sp.MatMul(parameter.T, parameter) \
            or not kappa.is_Symbol or not kappa.is_positive:
        return
    y, X = parts
    sigma2, tau2 = sp.symbols("sigma^2 tau^2", positive=True)
    D.section("The MAP reading: the penalty is a Gaussian prior")
    residual = y - X * parameter
    rss = sp.MatMul(sp.Transpose(residual), residual)
    neg_log_posterior = sp.MatAdd(sp.MatMul(1 / (2 * sigma2), rss), sp.MatMul(1 / (2 * tau2), parameter.T, parameter))
    posterior = Notation(f"−log p({unicode(parameter)} | {y.name})", r"-\log p(%s \mid %s)" % (latex(parameter), y.name))
    D.step("Bayes' rule", prose("p(", parameter, " | ", y, ") ∝ p(", y, " | ", parameter, ") p(", parameter, "); with ",
                                y, " | ", parameter, " ~ N(", X * parameter, ", σ²I) and ", parameter, " ~ N(0, τ²I) "
                                "the negative log posterior is a sum of two quadratic forms, up to terms free of ",
                                parameter, "."),
           _gaussian_negative_log_posterior(y, X, parameter, sigma2, tau2), neg_log_posterior,
           check=SameMinimiser(parameter), lhs=posterior)
    penalised = sp.MatAdd(rss, sp.MatMul(sigma2 / tau2, parameter.T, parameter))
    D.step("scale by 2σ²", prose("Multiplying by the positive constant 2σ² does not move the minimiser: this is the "
                                 "penalised loss with ", kappa, " = σ²/τ², so its minimiser is the MAP estimate, and "
                                 "a stronger prior (smaller τ²) is a larger ", kappa, "."),
           neg_log_posterior, penalised, check=SameMinimiser(parameter, 1 / (2 * sigma2)),
           lhs=Notation(f"2σ²(−log p({unicode(parameter)} | {y.name}))",
                        r"2\sigma^{2}\left(-\log p(%s \mid %s)\right)" % (latex(parameter), y.name)))


def _gaussian_negative_log_posterior(y, X, beta, sigma2, tau2):
    """−Σᵢ log N(yᵢ; xᵢᵀβ, σ²) − Σⱼ log N(βⱼ; 0, τ²), written from the densities entry by entry."""
    n, d = X.shape
    i, j = sp.symbols("i j", integer=True)
    Xi, yi, bj = (sp.IndexedBase(X.name, shape=(n, d)), sp.IndexedBase(y.name, shape=(n,)),
                  sp.IndexedBase(beta.name, shape=(d,)))
    mean = sp.Sum(Xi[i, j] * bj[j], (j, 1, d))

    def log_normal(x, mu, var):
        return -sp.log(2 * sp.pi * var) / 2 - (x - mu) ** 2 / (2 * var)

    return -sp.Sum(log_normal(yi[i], mean, sigma2), (i, 1, n)) - sp.Sum(log_normal(bj[j], 0, tau2), (j, 1, d))


# ---------------------------------------------------------------------------------------------------
# Convex functions of one real variable: the lemmas that show a GLM's per-observation loss convex
# ---------------------------------------------------------------------------------------------------
def _convex_by_second_derivative(D: Derivation, rule: str, f, second, why, before_sign=None) -> None:
    """f″ ≥ 0 on the real line, so f is convex: f′ and f″ each a verified derivative step, then the sign of f″
    at every point drawn, with `why` (a Prose) it holds everywhere (`before_sign`: a step the reason rests on)."""
    first = D.step("derivative", prose("The derivative of ", f, " by the chain rule."), f,
                   with_registry_functions(sp.diff(f, z)), check=IsGradient(z),
                   lhs=Notation(f"d/dz ({unicode(f)})", r"\frac{d}{dz}\left(%s\right)" % latex(f)))
    label = Notation(f"d²/dz² ({unicode(f)})", r"\frac{d^{2}}{dz^{2}}\left(%s\right)" % latex(f))
    D.step("derivative again", prose("The derivative of ", first, "."), first, second, check=IsGradient(z), lhs=label)
    if before_sign is not None:
        before_sign(D)
    D.step(rule, prose(why, " So ", f, " is convex in ", z, "."), second, second, check=Nonnegative(), lhs=label)


def minus_log_Phi_is_convex(D: Derivation) -> None:
    """(−log Φ)″ = φ(z)(zΦ(z) + φ(z))/Φ(z)² > 0: Φ is log-concave (Bagnoli & Bergstrom 2005, Theorem 1)."""
    rising = z * Phi(z) + phi(z)

    def increasing(D):
        D.step("an increasing function", prose(
            "The derivative of ", rising, " is ", Math("Φ(z) + zφ(z) − zφ(z)", r"\Phi(z) + z\phi(z) - z\phi(z)"), " = ", Phi(z), " > 0, and ",
            rising, " tends to 0 as ", Math("z → −∞", r"z \to -\infty"), ": it is positive for every ", z, "."),
            rising, Phi(z), check=IsGradient(z),
            lhs=Notation("d/dz (zΦ(z) + φ(z))", r"\frac{d}{dz}\left(z\Phi(z) + \phi(z)\right)"))
    _convex_by_second_derivative(D, "Φ is log-concave", -sp.log(Phi(z)), phi(z) * rising / Phi(z) ** 2,
                                 prose(phi(z), " > 0, ", rising, " > 0 (above) and ", Phi(z) ** 2, " > 0: the "
                                       "second derivative is positive."), increasing)


def minus_log_one_minus_Phi_is_convex(D: Derivation) -> None:
    """−log(1 − Φ(z)) = −log Φ(−z): the convex −log Φ after the reflection z ↦ −z, which keeps convexity."""
    D.step("1 − Φ is log-concave", prose(
        "The standard normal density is even, so ", 1 - Phi(z), " = P(Z > ", z, ") = P(Z < ", -z, ") = ", Phi(-z),
        ": ", -sp.log(1 - Phi(z)), " is the convex ", -sp.log(Phi(z)), " (above) at ", -z, ", and replacing ", z,
        " by ", -z, " keeps a function convex."), -sp.log(1 - Phi(z)), -sp.log(Phi(-z)))


def minus_log_sigmoid_is_convex(D: Derivation) -> None:
    """(−log σ)″ = σ(1 − σ) > 0: σ is log-concave."""
    _convex_by_second_derivative(D, "σ is log-concave", -sp.log(sigmoid(z)), sigmoid(z) * (1 - sigmoid(z)),
                                 prose(sigmoid(z) * (1 - sigmoid(z)), " > 0, as 0 < ", sigmoid(z), " < 1."))


def minus_log_one_minus_sigmoid_is_convex(D: Derivation) -> None:
    """−log(1 − σ(z)) = −log σ(−z): the convex −log σ after the reflection z ↦ −z."""
    D.step("1 − σ is log-concave", prose(
        1 - sigmoid(z), " = ", sigmoid(-z), ": ", -sp.log(1 - sigmoid(z)), " is the convex ", -sp.log(sigmoid(z)),
        " (above) at ", -z, ", and replacing ", z, " by ", -z, " keeps a function convex."),
        -sp.log(1 - sigmoid(z)), -sp.log(sigmoid(-z)))


def exp_is_convex(D: Derivation) -> None:
    _convex_by_second_derivative(D, "exp is convex", sp.exp(z), sp.exp(z), prose(sp.exp(z), " > 0."))


# f convex on the real line → the lemmas that show it, in the order they are recorded (each once)
CONVEX_FUNCTIONS = (
    (lambda u: -sp.log(Phi(u)), (minus_log_Phi_is_convex,)),
    (lambda u: -sp.log(1 - Phi(u)), (minus_log_Phi_is_convex, minus_log_one_minus_Phi_is_convex)),
    (lambda u: -sp.log(sigmoid(u)), (minus_log_sigmoid_is_convex,)),
    (lambda u: -sp.log(1 - sigmoid(u)), (minus_log_sigmoid_is_convex, minus_log_one_minus_sigmoid_is_convex)),
    (lambda u: sp.exp(u), (exp_is_convex,)),
)


def convex_terms(loss, eta, support):
    """(proofs, terms) when `loss`, a function of the real η and the observation, is Σₖ cₖ fₖ(η) + a + bη with
    each fₖ convex (CONVEX_FUNCTIONS) and each cₖ ≥ 0 for every observation in `support` (a Domain's name:
    0 or 1, a count, a positive number): a sum of nonnegative multiples of convex functions, plus terms linear
    in η, is convex. `terms` are the (cₖ, fₖ(η)), `proofs` the lemmas that show each fₖ convex; None when the
    loss is not of that form."""
    by_function: dict = {}
    for term in sp.Add.make_args(sp.expand(loss, log=False, power_exp=False, power_base=False)):
        coefficient, varying = term.as_independent(eta, as_Add=False)
        if varying == 1 or sp.diff(varying, eta, 2) == 0:
            continue                     # free of η, or linear in it: convex whatever its sign
        by_function[varying] = by_function.get(varying, 0) + coefficient
    proofs, terms = [], []
    for varying, coefficient in by_function.items():
        found = next(((f(eta), lemmas, sign) for f, lemmas in CONVEX_FUNCTIONS for sign in (1, -1)
                      if sign * varying == f(eta)), None)
        if found is None:
            return None
        convex, lemmas, sign = found
        weight = sp.factor(sign * coefficient)
        if not _nonnegative_on(weight, support):
            return None
        proofs += lemmas
        terms.append((weight, convex))
    order = [lemma for _, lemmas in CONVEX_FUNCTIONS for lemma in lemmas]
    return (sorted(dict.fromkeys(proofs), key=order.index), terms) if terms else None


def _nonnegative_on(weight, support: str) -> bool:
    """Whether `weight` (a formula in the observation) is ≥ 0 for every observation in the support."""
    observations = weight.atoms(sp.Indexed)
    if support == "0 or 1":       # linear in the observation: ≥ 0 at both ends is ≥ 0 on [0, 1]
        return all(weight.xreplace({o: sp.Integer(v) for o in observations}).is_nonnegative for v in (0, 1))
    kind = {"a count 0, 1, 2, …": {"nonnegative": True, "integer": True}, "a positive number": {"positive": True}}
    return support in kind and weight.xreplace({o: sp.Dummy(**kind[support]) for o in observations}).is_nonnegative


# ---------------------------------------------------------------------------------------------------
# Gradients with respect to a square matrix Σ (Magnus & Neudecker; Minka, "Old and New Matrix Algebra")
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MatrixGradientLemma:
    """∂f/∂Σ for a term f of one shape: `match(f, Σ)` gives its operands (None when f has another shape),
    `gradient(Σ, *operands)` the general result and `symmetric(Σ, *operands)` the one for symmetric Σ and
    operands; `because(Σ, *operands)` is the differential it is read off, as the parts of a sentence."""

    rule: str
    match: Callable
    gradient: Callable
    symmetric: Callable
    because: Callable


def _log_det_of(f, S):
    return () if f == sp.log(sp.Determinant(S)) else None


def _trace_of_inverse_times(f, S):
    """(A,) for tr(Σ⁻¹A) with A free of Σ."""
    if not isinstance(f, sp.Trace) or not isinstance(f.arg, sp.MatMul):
        return None
    first, *rest = f.arg.args
    if first != sp.Inverse(S) or not rest:
        return None
    A = sp.MatMul(*rest) if len(rest) > 1 else rest[0]
    return None if A.has(S) else (A,)


def _dS(S):
    return Math(f"d{unicode(S)}", r"\mathrm{d}%s" % latex(S))


LOG_DETERMINANT = MatrixGradientLemma(
    "∂ log det Σ/∂Σ = Σ⁻ᵀ", _log_det_of,
    lambda S: sp.Transpose(sp.Inverse(S)),
    lambda S: sp.Inverse(S),
    lambda S: ["d log det ", S, " = tr(", sp.Inverse(S), _dS(S), ") (Jacobi's formula)"])
TRACE_OF_INVERSE = MatrixGradientLemma(
    "∂ tr(Σ⁻¹A)/∂Σ = −Σ⁻ᵀAᵀΣ⁻ᵀ", _trace_of_inverse_times,
    lambda S, A: sp.MatMul(-1, sp.Transpose(sp.Inverse(S)), sp.Transpose(A), sp.Transpose(sp.Inverse(S))),
    lambda S, A: sp.MatMul(-1, sp.Inverse(S), A, sp.Inverse(S)),
    lambda S, A: ["d", sp.Inverse(S), " = −", sp.Inverse(S), "(", _dS(S), ")", sp.Inverse(S), ", so d tr(",
                  sp.MatMul(sp.Inverse(S), A), ") = −tr(", sp.MatMul(sp.Inverse(S), A, sp.Inverse(S)), _dS(S), ")"])
MATRIX_GRADIENT_LEMMAS = (LOG_DETERMINANT, TRACE_OF_INVERSE)


def matrix_gradient_lemma(f, S):
    """(lemma, operands) for the first lemma whose shape the term f has, else None."""
    for lemma in MATRIX_GRADIENT_LEMMAS:
        operands = lemma.match(f, S)
        if operands is not None:
            return lemma, operands
    return None
