"""The second order of a likelihood's scalar parameters, as a textbook ends a maximum-likelihood derivation.

- Several scalars (μ and σ², a Gamma's shape and rate): the joint Hessian with its mixed partial derivatives,
  and joint convexity where it can be shown (positive leading minors, with known bounds of special functions;
  or an exponential family with natural parameters linear in the parameters, ∇²ℓ = n Cov(T)).
- At the estimates, where every parameter has a closed form: the Hessian there, reduced with what the
  estimates satisfy (Σᵢ(xᵢ − μ̂) = 0, Σᵢ(xᵢ − μ̂)² = nσ̂²), positive definite; why the stationary point is the
  global minimum (the profile argument, one parameter at a time, each inequality a verified step); and the
  inverse Hessian at the MLE as the asymptotic covariance. A vector and scalars (β, σ²) by blocks: the cross
  block vanishes at β̂.
- Sums collected as a textbook writes a derivative (−Σᵢ(xᵢ − μ)/σ²), for the planner's scalar derivatives.

The planner calls these with its `Plan`; every sentence is built from the move's operands, and every claim is
a verified step (inequalities by `Nonnegative` at random data, each estimate given its value from the data by
`WithEstimates`).
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from derive.calculus.textbook_form import textbook_signs
from derive.core.numeval import directional_derivative, evaluate
from derive.core.steps import Check, Derivation, Equal, IsGradient, Nonnegative
from derive.derivations.abbreviations import unfold
from derive.derivations.estimates import WithEstimates, estimate
from derive.derivations.sentences import prose
from derive.derivations.vector_form import Scalar
from derive.expr.algebra import multiply, split_product
from derive.expr.functions import trigamma, with_registry_functions
from derive.expr.notation import Notation, differential_key
from derive.expr.printing import latex, unicode

INDEX = sp.Symbol("i", integer=True)   # the observations' index, as the planner writes Σᵢ

# A parameter's domain as the image of an unconstrained positive s (p = s/(1 + s) is in (0, 1)), so that
# SymPy's assumptions decide the sign of 1 − p, 1/(1 − p)² and p̂(1 − p̂) (here and in the planner's convexity).
DOMAIN_IMAGES = {"a probability in (0, 1)": lambda s: s / (1 + s), "a positive number": lambda s: s}


# ---------------------------------------------------------------------------------------------------
# Sums collected as a textbook writes a derivative: −Σᵢ(xᵢ − μ)/σ², not (2μn − 2Σᵢxᵢ)/(2σ²)
# ---------------------------------------------------------------------------------------------------
def collected_sums(expr, index, holding):
    """Each Σᵢ in expr that holds one of `holding` with its factors free of i outside and its summand's
    numbers taken out, the observation's term first with a plus sign: Σᵢ(2μ − 2xᵢ)/(2σ²) = −Σᵢ(xᵢ − μ)/σ²;
    Σᵢ c = nc."""
    return expr.replace(lambda e: isinstance(e, sp.Sum) and e.limits[0][0] == index
                        and (e.has(*holding) or not e.function.has(index)),
                        lambda e: _collected(e.function, index, e.limits[0][2]))


def _collected(summand, index, count):
    if not summand.has(index):
        return count * summand
    outside, inside = (summand.as_independent(index, as_Add=False) if isinstance(summand, sp.Mul)
                       else (sp.S.One, summand))
    content, inner = sp.factor_terms(inside).as_content_primitive()
    observed = [t for t in sp.Add.make_args(inner) if t.has(index)]
    if observed and observed[0].could_extract_minus_sign():   # xᵢ − μ, as the residual is written
        content, inner = -content, -inner
    return outside * content * sp.Sum(inner, (index, 1, count))


# ---------------------------------------------------------------------------------------------------
# Several scalar parameters: the joint Hessian
# ---------------------------------------------------------------------------------------------------
def _names(parameters) -> tuple[str, str]:
    return ", ".join(unicode(p) for p in parameters), ", ".join(latex(p) for p in parameters)


def several_scalars(D: Derivation, gradients: dict, hessians: dict, parameters) -> sp.ImmutableMatrix:
    """The Hessian in all the scalar parameters: the second derivatives found one parameter at a time on the
    diagonal, and each mixed partial ∂²ℓ/∂θⱼ∂θₖ differentiated from the gradient (equal in both orders,
    Schwarz), as a verified step; then the matrix, checked as the Jacobian of the gradient."""
    D.section("The Hessian in " + _names(parameters)[0])
    k = len(parameters)
    H = [[hessians[p] if a == b else None for b, p in enumerate(parameters)] for a in range(k)]
    for a in range(k):
        for b in range(a + 1, k):
            p, q = parameters[a], parameters[b]
            mixed = collected_sums(with_registry_functions(sp.diff(gradients[p], q)), INDEX, [*parameters])
            label = Notation(f"∂²ℓ/∂{unicode(p)}∂{unicode(q)}",
                             r"\frac{\partial^{2} \ell}{\partial %s \, \partial %s}" % (latex(p), latex(q)))
            H[a][b] = H[b][a] = D.step(
                "mixed partial derivative",
                prose("Differentiate ∂ℓ/∂", p, " in ", q, "; the second derivatives of a smooth function do not "
                      "depend on the order (Schwarz), so this is also ∂²ℓ/∂", q, "∂", p, "."),
                gradients[p], mixed, check=IsGradient(q),
                lhs=label)
    matrix = sp.ImmutableMatrix(H)
    text, tex = _names(parameters)
    D.step("the Hessian matrix", prose("The second derivatives in rows and columns ", text, ": the derivative of "
           "the gradient (", text, ") in each parameter, symmetric."),
           sp.ImmutableMatrix([gradients[p] for p in parameters]), matrix, check=_JacobianIn(parameters),
           lhs=Notation(f"∇²ℓ({text})", r"\nabla^{2} \ell(%s)" % tex))
    return matrix


class _JacobianIn(Check):
    """after = ∂before/∂(θ₁, …, θₖ) for a column `before` of functions of the scalars θ: compared along a random
    direction u, after·u against the change of before along u (the complex step of `derive.core.numeval`)."""

    def __init__(self, parameters):
        super().__init__(varying=parameters)
        self.parameters = tuple(parameters)

    def symbols(self, before, after):
        return [before, after, *self.parameters]

    def values(self, before, after, env):
        u = np.array([env[differential_key(p)] for p in self.parameters], dtype=float).reshape(-1)
        change = directional_derivative(before, env, {p.name: u[j] for j, p in enumerate(self.parameters)})
        return np.asarray(evaluate(after, env)) @ u, np.ravel(change)


# ---------------------------------------------------------------------------------------------------
# Joint convexity: the Hessian positive definite at every value, by its leading principal minors
# ---------------------------------------------------------------------------------------------------
def _trigamma_bound(u):
    """ψ′(u) > 1/u + 1/(2u²) for u > 0 (H. Alzer, Math. Comp. 66 (1997): ψ′(u) − 1/u − 1/(2u²) is completely
    monotonic), as ψ′(u) = 1/u + 1/(2u²) + t with t > 0."""
    return 1 / u + 1 / (2 * u ** 2) + sp.Dummy("t", positive=True), prose(
        "ψ′(", u, ") > 1/", u, " + 1/(2", u, "²) for ", u, " > 0 (Alzer 1997)")


# The known lower bounds of special functions on their domains, each as a substitution and its citation.
LOWER_BOUNDS = {trigamma: _trigamma_bound}


def positive_by_bounds(expr):
    """(True, the bounds used) when expr is positive for every value of its symbols, each special function of
    the table replaced by its lower bound plus a positive slack (so that SymPy's assumptions decide a sign the
    bound implies); (False, []) otherwise."""
    replaced, reasons = {}, []
    for f in expr.atoms(*LOWER_BOUNDS):
        if f.args[0].is_positive:
            replaced[f], reason = LOWER_BOUNDS[type(f)](f.args[0])
            reasons.append(reason)
    if not replaced or not sp.simplify(expr.xreplace(replaced)).is_positive:
        return bool(expr.is_positive), []
    return True, reasons


def jointly_convex(D: Derivation, H, parameters, statement=None) -> bool:
    """Whether ℓ is shown jointly convex in the scalar parameters: by the leading principal minors of H, or as
    an exponential family whose natural parameters are linear in them; recorded as verified steps. False, and
    nothing recorded, otherwise."""
    return _positive_minors(D, H, parameters) or _exponential_family(D, H, parameters, statement)


def _quadratic_form(H, parameters):
    v = sp.ImmutableMatrix([sp.Symbol(f"v_{k + 1}", real=True) for k in range(H.rows)])
    text = ", ".join(unicode(p) for p in parameters)
    return sp.expand((v.T * H * v)[0, 0]), Notation(f"vᵀ∇²ℓ({text})v", r"v^{\top} \nabla^{2} \ell(%s) v" % ", ".join(
        latex(p) for p in parameters))


def _exponential_family(D: Derivation, H, parameters, statement) -> bool:
    """log p(x; θ) = η(θ)ᵀT(x) − A(θ) + h(x) with η linear in θ: every term holding both the observation and a
    parameter is linear in the parameters (a Beta's (a − 1) log x, a Gamma's −bx). Then the observations' terms
    vanish in the Hessian, ∇²ℓ = n∇²A(θ), and ∇²A is the covariance of the sufficient statistics T(x), ⪰ 0:
    ℓ is jointly convex (the theorem of exponential families; the sign checked at random points)."""
    if statement is None or not statement.index or any(a not in parameters for a in statement.arguments):
        return False
    x = sp.Symbol("x", real=True)
    log_density = sp.expand(statement.family.log_density(x, *statement.arguments))
    terms = sp.Add.make_args(log_density)
    mixed = [t for t in terms if t.has(x) and t.has(*parameters)]
    if not mixed or any(sp.diff(t, p, q) != 0 for t in mixed for p in parameters for q in parameters):
        return False
    normaliser = -sp.Add(*[t for t in terms if not t.has(x)])
    n = statement.observed.rows
    second = sp.ImmutableMatrix(H.rows, H.cols, lambda j, k: with_registry_functions(
        sp.diff(normaliser, parameters[j], parameters[k])))
    curvature = sp.MatMul(n, second, evaluate=False)   # n∇²A, as the sentence says
    statistics = [sp.factor(sp.diff(sp.Add(*mixed), p)) for p in parameters]
    text = ", ".join(unicode(p) for p in parameters)
    _, label = _quadratic_form(H, parameters)
    D.step("exponential family", prose(
        "The log-density is ", sp.Add(*mixed), " − A(", text, ") + h(x) with A(", text, ") = ", with_registry_functions(
            normaliser), ": an exponential family whose natural parameters are linear in (", text, "), so the "
        "observations' terms vanish in the second derivatives and the Hessian is n∇²A."),
        H, curvature, lhs=Notation(f"∇²ℓ({text})", r"\nabla^{2} \ell(%s)" % ", ".join(latex(p) for p in parameters)))
    quadratic, _ = _quadratic_form(n * second, parameters)
    D.step("positive semidefinite", prose(
        "∇²A is the covariance matrix of the sufficient statistics (", ", ".join(unicode(t) for t in statistics),
        "), and a covariance matrix is positive semidefinite: ℓ is jointly convex in (", text, "), and a "
        "stationary point is the global minimum."), quadratic, quadratic, check=Nonnegative(), lhs=label)
    return True


def _positive_minors(D: Derivation, H, parameters) -> bool:
    """vᵀHv > 0 for every v ≠ 0 and every value of the scalar parameters, when each leading principal minor of
    H is positive there (Sylvester's criterion), with the known bounds of special functions (aψ′(a) > 1 for a
    Gamma's shape); recorded as a verified step (the quadratic form ≥ 0 at random points)."""
    minors = [sp.factor(H[:k, :k].det()) for k in range(1, H.rows + 1)]
    reasons = []
    for m in minors:
        positive, used = positive_by_bounds(m)
        if not positive:
            return False
        reasons += [r for r in used if str(r) not in map(str, reasons)]
    quadratic, label = _quadratic_form(H, parameters)
    text = ", ".join(unicode(p) for p in parameters)
    D.step("positive definite at every value", prose(
        "The leading principal minors of the Hessian, ", *_joined([(m,) for m in minors]), ", are positive for "
        "every (", text, ") in the domain", *([" (", *_joined([(r,) for r in reasons]), ")"] if reasons else []),
        ": the Hessian is positive definite everywhere (Sylvester's criterion), so ℓ is jointly convex in (", text,
        ") and a stationary point is the global minimum."), quadratic, quadratic, check=Nonnegative(), lhs=label)
    return True


# ---------------------------------------------------------------------------------------------------
# At the estimates
# ---------------------------------------------------------------------------------------------------
def at_the_estimates(D: Derivation, P, hessian, parameter_domains: dict) -> None:
    """Where every scalar parameter has a closed form: the Hessian at the estimates, positive (definite)
    there, the global minimum (several parameters: the profile argument), and its inverse, the asymptotic
    covariance. Says nothing where the Hessian does not reduce to the estimates (a sum it cannot name)."""
    parameters = P.parameters
    hats = {p: estimate(p) for p in parameters}
    estimates, relations = _estimates_and_relations(P, hats)
    if estimates is None:
        return
    if any(p.is_Matrix for p in parameters):
        _blocks_at_the_estimates(D, P, hats, estimates, relations)
        return
    at = hessian.xreplace(hats)
    reduced = _reduced(at, relations)
    if reduced.has(sp.Sum) or reduced.has(*parameters):
        return
    several = len(parameters) > 1
    text = ", ".join(unicode(h) for h in hats.values())
    tex = ", ".join(latex(h) for h in hats.values())
    label = Notation(f"∇²ℓ({text})", r"\nabla^{2} \ell(%s)" % tex) if several else \
        Notation(f"∂²ℓ/∂{unicode(parameters[0])}² at {text}", r"\left.\frac{\partial^{2} \ell}{\partial (%s)^{2}}"
                 r"\right|_{%s}" % (latex(parameters[0]), tex))
    D.section("At the estimate" + ("s" if several else ""))
    facts = [(sp.Eq(k, v, evaluate=False),) for k, v in _shown_relations(relations, at)]
    D.step("evaluate at the estimate" + ("s" if several else ""),
           prose("Put ", *_joined([(h, " = ", f) for h, f in estimates]), " into the "
                 "second derivative" + ("s" if several else ""),
                 *([", where ", *_joined(facts)] if facts else []), "."),
           at, reduced, check=WithEstimates(Equal(), estimates), lhs=label)
    positive = _positivity(reduced, hats, parameter_domains)
    if several:
        if not positive:
            D.notes.append(str(prose("The Hessian at the estimates, ", reduced, ", is not shown to be positive "
                                     "definite.")))
            return
        _positive_definite(D, reduced, estimates, hats, parameter_domains, label)
        _global_minimum(D, P, hats, estimates, relations)
    elif not positive:
        return
    _asymptotic_covariance(D, reduced, hats, estimates, label)


def _blocks_at_the_estimates(D: Derivation, P, hats, estimates, relations) -> None:
    """A vector parameter β and scalars (the Gaussian linear model's σ²): each cross derivative ∂(∇_β ℓ)/∂θ is
    zero at the estimates, because ∇_β ℓ(β̂, θ) = 0 at every θ (β̂ does not depend on θ); so the Hessian there is
    block diagonal, and its inverse, the asymptotic covariance, is the inverse of each block."""
    vectors = [p for p in P.parameters if p.is_Matrix]
    scalars = [p for p in P.parameters if not p.is_Matrix]
    if len(vectors) != 1 or vectors[0].cols != 1 or P.solutions[vectors[0]].has(*scalars):
        return
    b = vectors[0]
    D.section("At the estimates")
    blocks = {}
    for q in scalars:
        cross = sp.diff(P.gradients[b], q)
        label = Notation(f"∂(∇_{unicode(b)} ℓ)/∂{unicode(q)}", r"\frac{\partial \nabla_{%s} \ell}{\partial %s}" % (
            latex(b), latex(q)))
        gradient = Notation(f"∇_{unicode(b)} ℓ", r"\nabla_{%s} \ell" % latex(b))
        D.step("cross derivative", prose("Differentiate ", gradient, " in ", q, ": the block of the Hessian between ",
                                         b, " and ", q, "."), P.gradients[b], cross, check=_VectorDerivativeIn(q),
               lhs=label)
        at = cross.xreplace(hats)
        at_estimate = Notation(f"∇_{unicode(b)} ℓ({unicode(hats[b])}, {unicode(q)})",
                               r"\nabla_{%s} \ell(%s, %s)" % (latex(b), latex(hats[b]), latex(q)))
        D.step("zero at the estimates", prose(
            at_estimate, " = 0 at every ", q, " (", hats[b], " = ", P.solutions[b],
            " does not depend on ", q, "), so its derivative in ", q, " is zero there too: the cross block "
            "vanishes."), at, sp.ZeroMatrix(*b.shape), check=WithEstimates(Equal(), estimates),
            lhs=Notation(f"{label.text} at {unicode(hats[b])}", r"\left.%s\right|_{%s}" % (label.latex,
                                                                                       latex(hats[b]))))
    for q in scalars:
        at = P.hessians[q].xreplace(hats)
        blocks[q] = _reduced(at, relations)
        if blocks[q].has(sp.Sum, Scalar, *P.parameters) or not blocks[q].is_positive:
            return
        facts = [(sp.Eq(k, v, evaluate=False),) for k, v in relations.items() if at.has(k)]
        second = Notation(f"∂²ℓ/∂{unicode(q)}²", r"\frac{\partial^{2} \ell}{\partial (%s)^{2}}" % latex(q))
        D.step("evaluate at the estimates", prose("Put the estimates into ", second,
                                                   *([", where ", *_joined(facts)] if facts else []), "."),
               at, blocks[q], check=WithEstimates(Equal(), estimates),
               lhs=Notation(f"{second.text} at {unicode(hats[q])}",
                            r"\left.%s\right|_{%s}" % (second.latex, latex(hats[q]))))
    _global_minimum(D, P, hats, estimates, relations)
    vector_block = P.hessians[b].xreplace(hats)
    coefficient, factors = split_product(vector_block)
    inverse = multiply([1 / coefficient, sp.Inverse(factors[0] if len(factors) == 1 else sp.MatMul(*factors))],
                       vector_block)
    D.step("asymptotic covariance", prose(
        "At the estimates the Hessian is block diagonal, with ", vector_block, " for ", b, " and ",
        *_joined([(blocks[q], " for ", q) for q in scalars]), ": its inverse, the asymptotic covariance of the "
        "estimates, is the inverse of each block, ", inverse, " for ", hats[b], " (its diagonal's square roots are "
        "the standard errors) and ", *_joined([(textbook_signs(1 / blocks[q]), " for ", hats[q]) for q in scalars]),
        "."), sp.Inverse(vector_block), inverse, check=WithEstimates(Equal(), estimates),
        lhs=Notation(f"Cov({unicode(hats[b])})", r"\operatorname{Cov}(%s)" % latex(hats[b])))


class _VectorDerivativeIn(Check):
    """after = ∂before/∂θ for a vector `before` and a scalar θ: after·u against the change of before along u."""

    def __init__(self, parameter):
        super().__init__(varying=(parameter,))
        self.parameter = parameter

    def symbols(self, before, after):
        return [before, after, self.parameter]

    def values(self, before, after, env):
        u = float(np.real(np.ravel(env[differential_key(self.parameter)])[0]))
        return np.asarray(evaluate(after, env)) * u, directional_derivative(before, env, {self.parameter.name: u})


def _estimates_and_relations(P, hats):
    """(hat, its formula in the data with the earlier hats) per parameter, and what the estimates say of the
    data's sums: each closed form θ̂ = f(Σ) that holds one sum Σ solved for it (Σᵢ xᵢ = nμ̂, Σᵢ(xᵢ − μ̂)² = nσ̂²)."""
    estimates, relations = [], {}
    earlier = {}
    for p in P.parameters:
        solution = P.solutions.get(p)
        if solution is None:
            return None, None
        formula = unfold(solution).xreplace(earlier)
        estimates.append((hats[p], formula))
        earlier[p] = hats[p]
        sums = list(formula.atoms(sp.Sum, Scalar))   # Σᵢ(xᵢ − μ̂)², or (y − Xβ̂)ᵀ(y − Xβ̂)
        if len(sums) == 1:
            held = sp.Dummy("s")
            solved = sp.solve(formula.xreplace({sums[0]: held}) - hats[p], held)
            if len(solved) == 1:
                relations[sums[0]] = solved[0]
    return estimates, relations


def split_fully(expr):
    """Every Σᵢ term by term, each term's factors free of i outside: Σᵢ(1 − xᵢ) = n − Σᵢ xᵢ."""
    def split(total):
        summand, (index, _, count) = total.function, total.limits[0]
        terms = sp.Add.make_args(sp.expand(summand, deep=False, log=False, power_base=False, power_exp=False,
                                           multinomial=False))
        parts = [t.as_independent(index, as_Add=False) for t in terms]
        return sp.Add(*[out * (count * inside if not inside.has(index) else sp.Sum(inside, (index, 1, count)))
                        for out, inside in parts])
    return expr.replace(lambda e: isinstance(e, sp.Sum) and e.limits[0][0] == INDEX, split)


def _reduced(expr, relations):
    """expr with each sum the estimates determine replaced (after the sums are split term by term where no
    relation matches them whole), simplified entry by entry."""
    def one(e):
        e = e.xreplace(relations)
        e = split_fully(e).xreplace(relations) if e.has(sp.Sum) else e
        return textbook_signs(e)
    return expr.applyfunc(one) if isinstance(expr, sp.MatrixBase) else one(expr)


def _shown_relations(relations, at):
    """The relations the reduction uses, as equations Σ = value: those whose sum (or a sum splitting into it)
    occurs at the estimates."""
    split = split_fully(at) if not isinstance(at, sp.MatrixBase) else at.applyfunc(split_fully)
    shown = []
    for total, value in relations.items():
        if at.has(total):
            shown.append((total, value))
        elif split.has(total):   # Σᵢ(xᵢ − μ̂) = Σᵢ xᵢ − nμ̂ = 0
            for s in sorted(at.atoms(sp.Sum), key=unicode):
                if split_fully(s).has(total) and s not in relations:
                    shown.append((s, sp.factor(split_fully(s).xreplace(relations))))
    return list(dict.fromkeys(shown))


def _joined(reasons):
    parts = []
    for k, reason in enumerate(reasons):
        parts += ([", " if k < len(reasons) - 1 else " and "] if k else []) + list(reason)
    return parts


def _in_domain(expr, hats, parameter_domains):
    """expr with each hat written as the image of a positive s in its parameter's domain (p̂ = s/(1 + s))."""
    images = {}
    for p, h in hats.items():
        image = DOMAIN_IMAGES.get(parameter_domains.get(p))
        if image is not None:
            images[h] = image(sp.Dummy(positive=True))
    return expr.xreplace(images)


def _positivity(H, hats, parameter_domains) -> bool:
    """Whether H (a number, or a matrix by its leading principal minors, Sylvester) is positive for every value
    of the estimates in their parameters' domains."""
    n = sp.Symbol("n", integer=True, positive=True)
    values = _in_domain(H, hats, parameter_domains)
    minors = [values[:k, :k].det() for k in range(1, values.rows + 1)] if isinstance(values, sp.MatrixBase) \
        else [values]
    return all(sp.simplify(m.xreplace({sp.Symbol("n", integer=True): n})).is_positive for m in minors)


def _positive_definite(D: Derivation, H, estimates, hats, parameter_domains, label) -> None:
    """vᵀHv > 0 for v ≠ 0: a sum of squares with positive weights for a diagonal H, else by its leading
    principal minors (Sylvester's criterion)."""
    v = [sp.Symbol(f"v_{k + 1}", real=True) for k in range(H.rows)]
    vector = sp.ImmutableMatrix(v)
    quadratic = (vector.T * H * vector)[0, 0]
    text = ", ".join(unicode(h) for h in hats.values())
    if H.is_diagonal():
        squares = sp.Add(*[H[k, k] * v[k] ** 2 for k in range(H.rows)], evaluate=False)
        why = prose("For any v = (", ", ".join(unicode(x) for x in v), ") ≠ 0 the quadratic form is a sum of squares "
                    "with the positive weights ", *_joined([(H[k, k],) for k in range(H.rows)]),
                    ": the Hessian is positive definite at (", text, "), a strict local minimum of ℓ.")
    else:
        minors = [sp.factor(H[:k, :k].det()) for k in range(1, H.rows + 1)]
        squares = quadratic
        why = prose("Its leading principal minors ", *_joined([(m,) for m in minors]), " are positive (Sylvester's "
                    "criterion): the Hessian is positive definite at (", text, "), a strict local minimum of ℓ.")
    D.step("positive definite", why, quadratic, squares, check=WithEstimates(Nonnegative(), estimates),
           lhs=Notation(f"vᵀ{label.text}v", r"v^{\top} %s v" % label.latex))


def _loss_label(values):
    text = ", ".join(unicode(v) for v in values)
    return Notation(f"ℓ({text})", r"\ell(%s)" % ", ".join(latex(v) for v in values))


def _global_minimum(D: Derivation, P, hats, estimates, relations) -> None:
    """The profile argument, one parameter at a time in the order they were solved: for θ₁, convex in θ₁ at
    every value of the others with its minimiser θ̂₁ free of them, ℓ(θ₁, θ₂) ≥ ℓ(θ̂₁, θ₂); for θ₂ at θ̂₁, either
    convex, or a derivative with the sign of θ₂ − θ̂₂, ℓ(θ̂₁, θ₂) ≥ ℓ(θ̂₁, θ̂₂). Each inequality a verified step;
    a note instead where a condition fails (a local minimum is then all that is shown)."""
    parameters = P.parameters
    loss = P.loss
    links = []
    for j, p in enumerate(parameters):
        later = parameters[j + 1:]
        fixed = {q: hats[q] for q in parameters[:j]}
        before, after = [*fixed.values(), *parameters[j:]], [*fixed.values(), hats[p], *later]
        if P.solutions[p].has(*later):
            D.notes.append(str(prose("The global minimum is not shown: ", hats[p], " depends on ",
                                     *_joined([(q,) for q in later]), ".")))
            return
        if P.convex[p]:
            why = prose(*(["For every ", *_joined([(q,) for q in later]), ", "] if later else []),
                        "ℓ is convex in ", p, " (shown above) and stationary at ", hats[p],
                        *([", which does not depend on ", *_joined([(q,) for q in later])] if later else []),
                        ": so ", _loss_label(before), " ≥ ", _loss_label(after), ".")
        else:
            derivative = _reduced(collected_sums(P.gradients[p].xreplace(fixed), INDEX, [p]), relations)
            factor = sp.factor(sp.simplify(derivative / (p - hats[p])))
            if factor.has(hats[p]) or not _in_domain(factor, {p: hats[p]}, {}).is_positive:
                D.notes.append(str(prose("The global minimum is not shown: the derivative in ", p, " at ",
                                         *_joined([(h,) for h in fixed.values()]), ", ", derivative,
                                         ", is not shown to have the sign of ", p - hats[p], ".")))
                return
            signed = sp.Mul(factor, p - hats[p], evaluate=False)
            D.step("sign of the derivative", prose(
                "With ", *_joined([(h,) for h in fixed.values()]), " in place the derivative in ", p, " is ", factor,
                " > 0 times ", p - hats[p], ": ℓ decreases in ", p, " below ", hats[p], " and increases above it."),
                P.gradients[p].xreplace(fixed), signed, check=WithEstimates(Equal(), estimates),
                lhs=Notation(f"∂ℓ/∂{unicode(p)} at {', '.join(unicode(h) for h in fixed.values())}",
                             r"\left.\frac{\partial \ell}{\partial %s}\right|_{%s}" % (
                                 latex(p), ", ".join(latex(h) for h in fixed.values()))))
            why = prose("So ", hats[p], " is the minimiser of ", _loss_label(before), " over ", p,
                        *([" for every ", *_joined([(q,) for q in later])] if later else []), ": ",
                        _loss_label(before), " ≥ ", _loss_label(after), ".")
        difference = loss.xreplace(fixed) - loss.xreplace({**fixed, p: hats[p]})
        D.step("minimum in " + unicode(p), why, difference, _simplified_difference(difference, relations),
               check=WithEstimates(Nonnegative(), estimates),
               lhs=Notation(f"{_loss_label(before).text} − {_loss_label(after).text}",
                            f"{_loss_label(before).latex} - {_loss_label(after).latex}"))
        links.append(_loss_label(after))
    chain = [_loss_label(parameters)]
    for link in links:
        chain += [" ≥ ", link]
    difference = loss - loss.xreplace(hats)
    D.step("global minimum", prose("Chaining the inequalities, ", *chain, " for every (", ", ".join(
        unicode(p) for p in parameters), "): the stationary point is the global minimum of ℓ, the maximum-likelihood "
        "estimate."), difference, difference, check=WithEstimates(Nonnegative(), estimates),
        lhs=Notation(f"ℓ({', '.join(unicode(p) for p in parameters)}) − {links[-1].text}",
                     r"\ell(%s) - %s" % (", ".join(latex(p) for p in parameters), links[-1].latex)))


def _simplified_difference(difference, relations):
    """ℓ(θ) − ℓ(θ̂) in the estimates, as a textbook shows it is ≥ 0: the sums the estimates determine replaced,
    either whole (Σᵢ(xᵢ − μ̂)² = nσ̂²: n(σ̂²/σ² − 1 − log σ̂² + log σ²)/2) or after the squares are multiplied
    out (Σᵢ(xᵢ − μ)² − Σᵢ(xᵢ − μ̂)² = n(μ − μ̂)² with Σᵢ xᵢ = nμ̂); else with the terms that cancel gone."""
    whole = sp.factor_terms(sp.expand(sp.expand_log(difference.xreplace(relations), force=True)), clear=False)
    if not whole.has(sp.Sum, Scalar):   # a quadratic form multiplied out is no clearer: (y − Xβ)ᵀ(y − Xβ) stays
        return whole
    expanded = split_fully(sp.expand(difference, deep=False, log=False, power_base=False, power_exp=False)
                      .replace(lambda e: isinstance(e, sp.Sum), lambda e: sp.Sum(sp.expand(e.function), *e.limits)))
    multiplied = sp.factor(expanded.xreplace(relations))
    if not multiplied.has(sp.Sum, Scalar):
        return multiplied
    return sp.expand(difference, deep=False, log=False, power_base=False, power_exp=False, multinomial=False)


def _asymptotic_covariance(D: Derivation, H, hats, estimates, label) -> None:
    """The inverse Hessian of the negative log-likelihood at the MLE: the asymptotic covariance of the estimates
    (their variances on the diagonal; the standard errors are the square roots)."""
    several = isinstance(H, sp.MatrixBase)
    inverse = H.inv().applyfunc(textbook_signs) if several else textbook_signs(1 / H)
    variances = [inverse[k, k] for k in range(inverse.rows)] if several else [inverse]
    text = ", ".join(unicode(h) for h in hats.values())
    tex = ", ".join(latex(h) for h in hats.values())
    errors = [sp.Pow(v, sp.S.Half, evaluate=False) for v in variances]   # √(σ̂²/n), not √σ̂²/√n
    D.step("asymptotic covariance", prose(
        "The inverse of the Hessian of the negative log-likelihood at the maximum-likelihood estimate (the "
        "observed information) is the asymptotic ", "covariance" if several else "variance", " of the estimate",
        "s" if several else "", ": the standard error", "s" if several else "", " of ",
        *_joined([(h,) for h in hats.values()]), " are " if several else " is ", *_joined([(e,) for e in errors]),
        *([" (the square roots of the diagonal)"] if several else []), "."),
        sp.Inverse(H) if several else 1 / H, inverse, check=WithEstimates(Equal(), estimates),
        lhs=Notation(f"{'Cov' if several else 'Var'}({text})", r"\operatorname{%s}(%s)" % (
            "Cov" if several else "Var", tex)))
