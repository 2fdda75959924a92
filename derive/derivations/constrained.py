"""Constrained optimisation by Lagrange multipliers, and the course's derivations that use it.

>>> import derive
>>> d = derive.derivation("pca")
>>> all(step.verified for step in d.steps), list(d.results)
(True, ['objective', 'lagrangian', 'stationarity', 'eigen_equation'])

The move: to optimise f(v) subject to equality constraints gⱼ(v) = 0, form the Lagrangian
𝓛 = f + Σⱼ λⱼgⱼ, set its gradient in every variable to zero (in λⱼ that gives back gⱼ = 0), and solve,
the multipliers included. Three derivations are statements of it:

- `categorical`: the MLE of category probabilities, −cᵀlog p subject to 𝟏ᵀp = 1, gives p̂ = c/Σₖcₖ;
- `pca`: the direction of largest variance, vᵀSv subject to vᵀv = 1, gives Sv = λv (the top eigenvector);
- `min-norm`: the shortest solution of an underdetermined system, ½wᵀw subject to Xw = y, gives
  w = Xᵀ(XXᵀ)⁻¹y, the pseudo-inverse solution.

For inequality constraints hᵢ(v) ≤ 0 the same Lagrangian with multipliers μᵢ ≥ 0 gives the KKT conditions
(a note on each derivation says so); the stationarity part is this move.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import sympy as sp

from derive.calculus.differentiation import diff
from derive.calculus.matrix_rules import termwise_gradient
from derive.core.random_points import Domains, counts, dimension, interval, spd
from derive.core.steps import AtEigenpair, Derivation, Equal, IsGradient, Nonnegative, Scaled, Solves, StationaryPoint
from derive.derivations.estimates import WithEstimates
from derive.derivations.statements import by_name
from derive.expr.algebra import expand
from derive.expr.functions import Elementwise
from derive.expr.notation import Notation
from derive.expr.printing import latex, unicode
from derive.expr.prose import Math, prose
from derive.expr.symbols import Diag, Ones, X, d, n, y

KKT_NOTE = ("With inequality constraints hᵢ(v) ≤ 0 as well, the same Lagrangian with multipliers μᵢ ≥ 0 gives "
            "the KKT conditions: stationarity ∇𝓛 = 0, feasibility hᵢ ≤ 0, μᵢ ≥ 0, and complementary slackness "
            "μᵢhᵢ = 0 (a constraint that is not tight has multiplier 0).")


@dataclass(frozen=True)
class Constraint:
    """g(v) = 0, or g(v) ≤ 0 entrywise when `inequality`, with its multiplier (a scalar for a 1×1
    constraint, a vector for a system; ≥ 0 for an inequality)."""

    residual: sp.Basic
    multiplier: sp.Basic
    inequality: bool = False

    @property
    def relation(self):
        """How the constraint ends in a sentence: " = 0", or ≤ 0 set as mathematics."""
        return prose(" ", Math("≤ 0", r"\leq 0")) if self.inequality else " = 0"


def lagrange_conditions(D: Derivation, objective, constraints, variables):
    """Record 𝓛 = f + Σⱼ λⱼgⱼ and its gradient in each variable, and in each equality's multiplier; returns
    (𝓛, {variable or multiplier: gradient})."""
    terms = [objective] + [_times(c.multiplier, c.residual) for c in constraints]
    lagrangian = sp.MatAdd(*terms)
    arguments = list(variables) + [c.multiplier for c in constraints]
    label = Notation("𝓛(%s)" % ", ".join(unicode(a) for a in arguments),
                     r"\mathcal{L}(%s)" % ", ".join(latex(a) for a in arguments))
    conditions = [part for j, con in enumerate(constraints) for part in ([", "] if j else []) + [con.residual, con.relation]]
    inequalities = any(c.inequality for c in constraints)
    D.step("Lagrangian", prose(
        "To optimise ", objective, " subject to ", *conditions, ", add each constraint times its own multiplier"
        + (" (nonnegative for an inequality)" if inequalities else "") + ": at a constrained optimum the gradient "
        "of the objective is a combination of the constraints' gradients, which is what a zero gradient of the "
        "Lagrangian says."),
        lagrangian, lagrangian, lhs=label)
    gradients = {}
    for v in variables:
        gradient, why = _gradient(lagrangian, v)
        gradients[v] = D.step(f"stationarity in {unicode(v)}", why, lagrangian, gradient, check=IsGradient(v),
                              lhs=_derivative_label(v))
    for c in (c for c in constraints if not c.inequality):   # an inequality's multiplier is not free (KKT)
        gradients[c.multiplier] = D.step(
            f"stationarity in {unicode(c.multiplier)}", prose(
                "The Lagrangian is linear in the multiplier ", c.multiplier, ": its derivative is the constraint "
                "itself, so setting it to zero gives back ", c.residual, " = 0."),
            lagrangian, c.residual, check=IsGradient(c.multiplier), lhs=_derivative_label(c.multiplier))
    return lagrangian, gradients


def _times(multiplier, residual):
    if getattr(multiplier, "is_Matrix", False):
        return sp.MatMul(multiplier.T, residual)
    return sp.MatMul(multiplier, residual)


def _gradient(expr, v):
    """(∇_v expr, the sentence saying how): term by term from the identity table, else by differentials; for a
    scalar v in which expr is linear, its coefficient."""
    if not getattr(v, "is_Matrix", False):
        terms = sp.MatAdd.make_args(sp.diff(expr, v))
        coefficient = sp.MatAdd(*[t for t in terms if not (t == 0 or isinstance(t, sp.ZeroMatrix))])
        return coefficient, prose("The Lagrangian is linear in ", v, ": its derivative is the coefficient of ", v, ".")
    found = termwise_gradient(expand(expr), v)
    if found is not None:
        gradient, identities = found
        return gradient, "Differentiate term by term (" + "; ".join(f"{i.name}, {i.source}" for i in identities) + ")."
    return diff(expr, v).result, prose("Take the differential of the Lagrangian in ", v, " and read the gradient "
                                       "off its canonical form (derive diff shows each rule).")


def _derivative_label(v) -> Notation:
    """∇_v 𝓛 for a vector v, ∂𝓛/∂v for a scalar."""
    if getattr(v, "is_Matrix", False):
        return Notation(f"∇_{unicode(v)} 𝓛", r"\nabla_{%s} \mathcal{L}" % latex(v))
    return Notation(f"∂𝓛/∂{unicode(v)}", r"\frac{\partial \mathcal{L}}{\partial %s}" % latex(v))


# ---------------------------------------------------------------------------------------------------
# categorical: p̂ₖ = cₖ / Σⱼcⱼ
# ---------------------------------------------------------------------------------------------------
K = sp.Symbol("K", integer=True, positive=True)
k = sp.Symbol("k", integer=True)
c = sp.MatrixSymbol("c", K, 1)
p = sp.MatrixSymbol("p", K, 1)
multiplier = sp.Symbol("lambda", real=True)


# p off the simplex, positive entries only: the constraint 𝟏ᵀp = 1 is the Lagrangian's job
_probabilities = interval(0.2, 1.0)


def _positive_counts(rng, shape):
    return counts(rng, shape) + 1.0   # every category seen at least once, so p̂ₖ > 0


def categorical() -> Derivation:
    D = Derivation("Categorical maximum likelihood (a Lagrange multiplier for Σp = 1)", model="categorical",
                   form="matrix", domains=Domains({"K": dimension(2, 6), "c": _positive_counts, "p": _probabilities}))
    D.symbols = [(c, "the counts: cₖ observations fell in category k, k = 1…K"),
                 (p, "the category probabilities, pₖ > 0 with Σₖ pₖ = 1"), (multiplier, "the Lagrange multiplier")]
    D.section("The likelihood")
    ones = Ones(K, 1)
    total = sp.Sum(sp.Indexed(sp.IndexedBase("c", shape=(K,)), k), (k, 1, K))
    loss = sp.MatMul(-1, c.T, Elementwise("log", p))
    D.step("negative log-likelihood", "Each observation in category k has probability pₖ, so the likelihood is "
           "Πₖ pₖ^{cₖ} and the negative log-likelihood is −Σₖ cₖ log pₖ, written with the elementwise log.", loss, loss,
           lhs=Notation("ℓ(p)", r"\ell(p)"))
    D.section("The Lagrangian and its stationary point")
    constraint = Constraint(sp.MatAdd(ones.T * p, -sp.OneMatrix(1, 1)), multiplier)
    lagrangian, gradients = lagrange_conditions(D, loss, [constraint], [p])
    gradient = D.step("the textbook form", "Entry k of the gradient is −cₖ/pₖ + λ: the vector c divided entrywise "
                      "by p is diag(p)⁻¹c.", gradients[p], sp.MatAdd(sp.MatMul(multiplier, ones),
                                                                       -sp.MatMul(sp.Inverse(Diag(p)), c)),
                      lhs=Notation("∇_p 𝓛", r"\nabla_{p} \mathcal{L}"))
    stationary = D.step("set the gradient to zero", "At the constrained optimum ∇_p 𝓛 = 0: cₖ/pₖ = λ for every k.",
                        gradient, sp.Eq(gradient, sp.ZeroMatrix(K, 1), evaluate=False), relation="")
    in_multiplier = D.step("solve for p", "pₖ = cₖ/λ: every probability is proportional to its count, with one "
                           "constant λ still to find.", stationary, sp.MatMul(1 / multiplier, c), check=Solves(p),
                           lhs=Notation("p", "p"))
    feasibility = sp.Eq(sp.MatAdd(sp.MatMul(1 / multiplier, ones.T, c), -sp.OneMatrix(1, 1)), sp.ZeroMatrix(1, 1),
                        evaluate=False)
    D.step("put p into the constraint", "𝟏ᵀp = 1 with p = c/λ gives 𝟏ᵀc/λ = 1.",
           constraint.residual.subs(p, in_multiplier), feasibility, relation="")
    D.step("solve for the multiplier", "λ = 𝟏ᵀc = Σₖ cₖ: the multiplier is the number of observations n.",
           feasibility, total, check=Solves(multiplier), lhs=Notation("λ̂", r"\hat{\lambda}"))
    solution = sp.MatMul(1 / total, c)
    D.step("the estimate", "p̂ = c/n, the observed fractions; with λ̂ = n, (p̂, λ̂) is a stationary point of 𝓛 "
           "in every variable.", lagrangian, sp.Tuple(sp.Eq(p, solution), sp.Eq(multiplier, total)),
           check=StationaryPoint(), relation="")
    D.section("Second-order check")
    u = sp.MatrixSymbol("u", K, 1)
    curvature = sp.MatMul(u.T, Diag(sp.HadamardProduct(c, sp.HadamardPower(p, -2))), u)
    D.step("convex", "The Hessian of 𝓛 in p is diag(cₖ/pₖ²), positive definite: the negative log-likelihood is "
           "convex and the constraint linear, so the stationary point is the global minimum.", curvature, curvature,
           check=Nonnegative(), lhs=Notation("uᵀ∇²_p 𝓛 u", r"u^{\top} \nabla^{2}_{p} \mathcal{L}\, u"))
    D.results = {"loss": loss, "lagrangian": lagrangian, "stationarity": gradient, "multiplier": total,
                 "solution": solution}
    D.notes.append(KKT_NOTE + " Here pₖ ≥ 0 is never tight (every pₖ = cₖ/n > 0 when cₖ > 0).")
    return D


# ---------------------------------------------------------------------------------------------------
# pca: max vᵀSv subject to vᵀv = 1 ⇒ Sv = λv
# ---------------------------------------------------------------------------------------------------
S = sp.MatrixSymbol("S", d, d)
v = sp.MatrixSymbol("v", d, 1)
u = sp.MatrixSymbol("u", d, 1)
eigenvalue = sp.Symbol("lambda", real=True)
largest = sp.Symbol("lambda_1", real=True)


def pca() -> Derivation:
    D = Derivation("Principal components: the direction of largest variance", model="pca", form="matrix",
                   domains=Domains({"d": dimension(2, 6), "S": spd}))
    D.symbols = [(S, "the d×d sample covariance matrix of the centred data, symmetric and positive semidefinite"),
                 (v, "a direction, a unit vector"), (eigenvalue, "the Lagrange multiplier")]
    D.section("The problem")
    variance = sp.MatMul(v.T, S, v)
    D.step("variance along v", "The projections of the centred data onto a unit vector v have sample variance "
           "vᵀSv; the first principal component maximises it over unit vectors.", variance, variance,
           lhs=Notation("Var(Xv)", r"\operatorname{Var}(Xv)"))
    D.section("The Lagrangian and its stationary points")
    constraint = Constraint(sp.MatAdd(sp.OneMatrix(1, 1), -sp.MatMul(v.T, v)), eigenvalue)
    lagrangian, gradients = lagrange_conditions(D, variance, [constraint], [v])
    gradient = D.step("S is symmetric", "Sᵀ = S, so (S + Sᵀ)v = 2Sv.", gradients[v],
                      sp.MatAdd(sp.MatMul(2, S, v), sp.MatMul(-2, eigenvalue, v)),
                      lhs=Notation("∇_v 𝓛", r"\nabla_{v} \mathcal{L}"))
    stationary = sp.Eq(gradient, sp.ZeroMatrix(d, 1), evaluate=False)
    D.step("set the gradient to zero", "At a constrained optimum ∇_v 𝓛 = 0.", gradient, stationary, relation="")
    eigen = sp.Eq(sp.MatMul(S, v), sp.MatMul(eigenvalue, v), evaluate=False)
    D.step("the eigenvalue equation", "Divide by 2: the stationary directions are the eigenvectors of S, and the "
           "multiplier λ is the eigenvalue.", stationary, eigen, check=Scaled(sp.Rational(1, 2)), relation="")
    D.step("every eigenpair is stationary", "For each unit eigenvector v of S with eigenvalue λ, ∇_v 𝓛 = 0 "
           "holds, and vᵀv = 1 is the other condition.", gradient, sp.ZeroMatrix(d, 1), check=AtEigenpair(S, eigenvalue, v),
           lhs=Notation("∇_v 𝓛", r"\nabla_{v} \mathcal{L}"))
    D.section("Which eigenvector")
    D.step("the variance is the eigenvalue", "At a stationary point vᵀSv = vᵀ(λv) = λvᵀv = λ.", variance,
           eigenvalue, check=AtEigenpair(S, eigenvalue, v), lhs=Notation("vᵀSv", r"v^{\top} S v"))
    gap = sp.MatAdd(sp.MatMul(largest, u.T, u), -sp.MatMul(u.T, S, u))
    D.step("no direction does better", "Write u = Σₖ aₖqₖ in the orthonormal eigenvectors qₖ of S: "
           "uᵀSu = Σₖ λₖaₖ² ≤ λ₁Σₖ aₖ² = λ₁uᵀu. So over unit vectors vᵀSv is largest, λ₁, at the eigenvector of "
           "the largest eigenvalue.", gap, gap, check=AtEigenpair(S, largest, inner=Nonnegative(), largest=True),
           lhs=Notation("λ₁uᵀu − uᵀSu", r"\lambda_{1} u^{\top} u - u^{\top} S u"))
    D.results = {"objective": variance, "lagrangian": lagrangian, "stationarity": gradient,
                 "eigen_equation": sp.MatAdd(S * v, sp.MatMul(-1, eigenvalue, v, evaluate=False))}
    D.notes.append("The k-th principal component maximises vᵀSv over unit vectors orthogonal to the first k − 1: "
                   "one more multiplier per orthogonality constraint gives the k-th eigenvector. Numerically, take "
                   "the SVD of the centred data matrix, never the eigenvectors of a formed XᵀX.")
    D.notes.append(KKT_NOTE)
    return D


# ---------------------------------------------------------------------------------------------------
# min-norm: min ½wᵀw subject to Xw = y ⇒ w = Xᵀ(XXᵀ)⁻¹y
# ---------------------------------------------------------------------------------------------------
w = sp.MatrixSymbol("w", d, 1)
nu = sp.MatrixSymbol("nu", n, 1)


def min_norm() -> Derivation:
    # n < d in every draw: more unknowns than equations, and a random X has full row rank.
    D = Derivation("The minimum-norm solution of an underdetermined system", model="min-norm", form="matrix",
                   domains=Domains({"n": dimension(2, 4), "d": dimension(5, 8)}))
    D.symbols = [(X, "n×d, with n < d and full row rank: Xw = y has infinitely many solutions"),
                 (y, "n×1 right-hand side"), (w, "d×1 unknown"), (nu, "n×1 vector of Lagrange multipliers")]
    D.section("The problem and its Lagrangian")
    objective = sp.MatMul(sp.Rational(1, 2), w.T, w)
    constraint = Constraint(sp.MatAdd(y, -sp.MatMul(X, w)), nu)
    lagrangian, gradients = lagrange_conditions(D, objective, [constraint], [w])
    D.section("Solving the stationarity conditions")
    stationary = sp.Eq(gradients[w], sp.ZeroMatrix(d, 1), evaluate=False)
    D.step("set ∇_w 𝓛 to zero", "The minimiser is a combination of the rows of X.", gradients[w], stationary,
           relation="")
    in_multiplier = D.step("solve for w", "w = Xᵀν.", stationary, sp.MatMul(X.T, nu), check=Solves(w),
                           lhs=Notation("w", "w"))
    feasible = sp.Eq(y, sp.MatMul(X, X.T, nu), evaluate=False)
    D.step("put w into the constraint", "Xw = y with w = Xᵀν gives XXᵀν = y.",
           constraint.residual.subs(w, in_multiplier), feasible, relation="")
    multipliers = sp.MatMul(sp.Inverse(sp.MatMul(X, X.T)), y)
    D.step("solve for the multipliers", "XXᵀ (n×n) is invertible when X has full row rank.", feasible, multipliers,
           check=Solves(nu), lhs=Notation("ν̂", r"\hat{\nu}"))
    solution = sp.MatMul(X.T, sp.Inverse(sp.MatMul(X, X.T)), y)
    D.step("the minimum-norm solution", "w = Xᵀν̂ = Xᵀ(XXᵀ)⁻¹y = X⁺y, the pseudo-inverse applied to y; "
           "(ŵ, ν̂) is a stationary point of 𝓛.", lagrangian, sp.Tuple(sp.Eq(w, solution), sp.Eq(nu, multipliers)),
           check=StationaryPoint(), relation="")
    D.step("it solves the system", "Xŵ = XXᵀ(XXᵀ)⁻¹y = y.", sp.MatMul(X, solution), y, check=Equal(),
           lhs=Notation("Xŵ", r"X\hat{w}"))
    D.results = {"lagrangian": lagrangian, "stationarity": gradients[w], "solution": solution}
    D.notes.append("The objective is strictly convex and the constraint linear, so this stationary point is the "
                   "minimum: any other solution is ŵ + z with Xz = 0, and ‖ŵ + z‖² = ‖ŵ‖² + ‖z‖² because ŵ = Xᵀν̂ "
                   "is orthogonal to z.")
    return D



# ---------------------------------------------------------------------------------------------------
# svm-dual: the hard-margin support vector machine, by the KKT conditions
# ---------------------------------------------------------------------------------------------------
alpha = sp.MatrixSymbol("alpha", n, 1)
offset = sp.Symbol("b", real=True)
labels = sp.MatrixSymbol("y", n, 1)


def _signs(rng, shape):
    return np.where(rng.uniform(size=shape) < 0.5, -1.0, 1.0)


def svm_dual() -> Derivation:
    D = Derivation("The hard-margin support vector machine and its dual (KKT)", model="svm-dual", form="matrix",
                   domains=Domains({"n": dimension(3, 8), "d": dimension(2, 4), "y": _signs}))
    D.symbols = [(X, "n×d, one training point per row (xᵢᵀ)"), (labels, "n×1 labels yᵢ ∈ {−1, +1}"),
                 (w, "d×1 normal of the separating hyperplane wᵀx + b = 0"), (offset, "its offset"),
                 (alpha, "n×1 multipliers αᵢ ≥ 0, one per margin constraint")]
    ones = Ones(n, 1)
    signs = Diag(labels)
    margins = sp.MatMul(signs, sp.MatAdd(X * w, sp.MatMul(offset, ones)))
    D.section("The primal problem and its Lagrangian")
    constraint = Constraint(sp.MatAdd(ones, -margins), alpha, inequality=True)
    objective = sp.MatMul(sp.Rational(1, 2), w.T, w)
    lagrangian, gradients = lagrange_conditions(D, objective, [constraint], [w, offset])
    d_offset = D.step("diag(y)𝟏 = y", "The labels times the ones vector are the labels.", gradients[offset],
                      sp.MatMul(-1, labels.T, alpha), lhs=Notation("∂𝓛/∂b", r"\frac{\partial \mathcal{L}}{\partial b}"))
    D.section("Stationarity")
    weights = sp.MatMul(X.T, signs, alpha)
    D.step("solve ∇_w 𝓛 = 0 for w", "w = Σᵢ αᵢyᵢxᵢ: the normal is a combination of the training points, weighted "
           "by their multipliers.", sp.Eq(gradients[w], sp.ZeroMatrix(d, 1), evaluate=False), weights,
           check=Solves(w), lhs=Notation("ŵ", r"\hat{w}"))
    D.step("∂𝓛/∂b = 0", "The multipliers of the two classes balance: Σᵢ αᵢyᵢ = 0.", d_offset,
           sp.Eq(sp.MatMul(labels.T, alpha), sp.ZeroMatrix(1, 1), evaluate=False), check=Scaled(-1), relation="")
    D.section("The dual")
    gram = sp.MatMul(alpha.T, signs, X, X.T, signs, alpha)
    substituted = sp.MatAdd(sp.MatMul(ones.T, alpha), sp.MatMul(sp.Rational(-1, 2), gram),
                            sp.MatMul(-1, offset, labels.T, alpha, evaluate=False))
    dual_label = Notation("𝓛(ŵ, b, α)", r"\mathcal{L}(\hat{w}, b, \alpha)")
    D.step("put w = XᵀDα into 𝓛", "½ŵᵀŵ = ½αᵀDXXᵀDα and αᵀDXŵ = αᵀDXXᵀDα (D = diag(y)); what is left of "
           "αᵀ(𝟏 − D(Xw + b𝟏)) is 𝟏ᵀα − b yᵀα.", lagrangian.subs(w, weights), substituted, lhs=dual_label)
    projected = sp.MatAdd(alpha, -sp.MatMul(labels, sp.Inverse(labels.T * labels), labels.T, alpha))
    dual = sp.MatAdd(sp.MatMul(ones.T, alpha), sp.MatMul(sp.Rational(-1, 2), gram))
    D.step("on yᵀα = 0", "The term b·yᵀα vanishes where stationarity in b holds: the dual maximises "
           "𝟏ᵀα − ½αᵀDXXᵀDα over α ≥ 0 with yᵀα = 0, a quadratic program in the data only through XXᵀ (the "
           "kernel trick replaces XXᵀ by any kernel matrix).", substituted, dual,
           check=WithEstimates(Equal(), [(alpha, projected)]), lhs=Notation("g(α)", r"g(\alpha)"))
    D.notes.append("KKT: at the optimum αᵢ ≥ 0, yᵢ(xᵢᵀŵ + b) ≥ 1 and αᵢ(yᵢ(xᵢᵀŵ + b) − 1) = 0: only the points on "
                   "the margin (the support vectors) have αᵢ > 0, and any of them gives b = yᵢ − xᵢᵀŵ.")
    D.results = {"lagrangian": lagrangian, "stationarity": gradients[w], "weights": weights, "dual": dual}
    return D


DERIVATIONS = {"categorical": categorical, "pca": pca, "min-norm": min_norm, "svm-dual": svm_dual}

derivation = by_name(DERIVATIONS)

