"""The parameters of a sample of vector observations, as a textbook derives them: for xᵢ ~ N(μ, Σ) a mean
vector μ and a covariance matrix Σ, one gradient per parameter, solved in turn (DESIGN §2 mvn).

    ℓ = (nd/2) log 2π + (n/2) log det Σ + ½ Σᵢ (xᵢ − μ)ᵀΣ⁻¹(xᵢ − μ)            (vector_sample)
    a vector p  each observation's term differentiated (differentials), the gradients summed, the sum in
                matrix form: ∇_μ ℓ = −Σ⁻¹Σᵢ(xᵢ − μ) = −Σ⁻¹(Xᵀ𝟏 − nμ); its Jacobian nΣ⁻¹, positive definite
    a symmetric the quadratic forms as traces (the trace trick), the sum of outer products named A (the
    matrix Σ   scatter matrix), then the lemmas of `lemmas.py`: ∂ log det Σ/∂Σ = Σ⁻ᵀ and ∂ tr(Σ⁻¹A)/∂Σ =
                −Σ⁻ᵀAᵀΣ⁻ᵀ, read for symmetric Σ and A
    stationarity μ̂ = Xᵀ𝟏/n = x̄ (linear in μ); Σ̂ = A/n, and at μ = μ̂ the average outer product of the
                deviations from x̄; the second derivative along every symmetric direction is > 0 at Σ̂

Every step is verified at random points (Σ drawn positive definite, i a random observation); the
explanations are built from the operands with `prose`.
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from derive.calculus.differentials import gradient, jacobian
from derive.core.numeval import directional_derivative, evaluate
from derive.core.random_points import Domains, IndexIn, symmetric
from derive.core.steps import Check, Derivation, IsGradient, Nonnegative, Solves
from derive.derivations.abbreviations import Named, unfold
from derive.derivations.distributions import POSITIVE_DEFINITE
from derive.derivations.lemmas import MATRIX_GRADIENT_LEMMAS, matrix_gradient_lemma
from derive.derivations.sentences import prose
from derive.derivations.vector_form import Scalar, matrix_form
from derive.derivations.vector_sample import Row, SumOver, joined, negative_log_likelihood, rows_of
from derive.errors import NotSupported
from derive.expr.algebra import multiply, split_product
from derive.expr.notation import Notation
from derive.expr.printing import latex, unicode
from derive.expr.prose import Math

SYMMETRIC = ("sym", "pd", "diag")


class AtValue(Check):
    """before has the parameter p free, after has its estimate: equal once p takes that value."""

    def __init__(self, parameter, value):
        super().__init__()
        self.parameter, self.value = parameter, value

    def values(self, before, after, env):
        env = {**env, self.parameter.name: evaluate(self.value, env)}
        return evaluate(before, env), evaluate(after, env)


class Congruent(Check):
    """after = c·M·before·M (an equation multiplied by the invertible M on both sides: the same solutions)."""

    def __init__(self, matrix, factor):
        super().__init__()
        self.matrix, self.factor = matrix, sp.sympify(factor)

    def values(self, before, after, env):
        M = np.asarray(evaluate(self.matrix, env))
        lhs = before.lhs if isinstance(before, sp.Equality) else before
        rhs = after.lhs if isinstance(after, sp.Equality) else after
        return evaluate(self.factor, env) * M @ np.asarray(evaluate(lhs, env)) @ M, evaluate(rhs, env)


class AlongDirection(Check):
    """after = d/dt before(p + tV) at t = 0, for the direction V drawn with the point."""

    def __init__(self, parameter, direction):
        super().__init__()
        self.parameter, self.direction = parameter, direction

    def values(self, before, after, env):
        return (evaluate(after, env), directional_derivative(
            before, env, {self.parameter.name: np.asarray(env[self.direction.name])}))


def plan_vector_sample(P, index, loss_label, hat):
    """Fill the plan `P` of a likelihood of vector observations (P.statement.rows): its loss, per parameter
    its gradient, Hessian (a mean vector's) and closed form, and the results; `hat(p)` labels an estimate."""
    D, statement = P.derivation, P.statement
    if statement.family.name != "N":
        raise NotSupported(f"the {statement.family.title} likelihood of a vector observation is read, but not "
                           "derived yet (derive derives xᵢ ~ N(μ, Σ))")
    for (name, domain), argument in zip(statement.family.parameters, statement.arguments):
        if domain is POSITIVE_DEFINITE and not _declared_positive_definite(P.model, argument):
            raise P.model.error("likelihood", f'in "{statement.text}" the {name} of {statement.family.signature} '
                                f"is {unicode(argument)}, which must be {domain.name}: declare it so "
                                f'({argument.name} = "{" x ".join(map(str, argument.shape))}, pd")')
    count = statement.observed.rows
    D.domains = Domains({**D.domains.samplers, index.name: IndexIn(str(count)), "V": symmetric})
    symmetric_matrices = [P.model.objects()[s.name] for s in P.model.symbols if set(s.assumptions) & set(SYMMETRIC)]
    P.loss = loss = negative_log_likelihood(D, statement, index, loss_label, P.parameters)
    vectors = [p for p in P.parameters if p.is_Matrix and p.cols == 1]
    matrices = [p for p in P.parameters if p.is_Matrix and p.cols != 1]
    if any(p not in symmetric_matrices or p.rows != p.cols for p in matrices) or \
            len(vectors) + len(matrices) != len(P.parameters):
        raise NotSupported("derive derives the mean vector and the symmetric covariance matrix of a vector "
                           f"observation; {', '.join(unicode(p) for p in P.parameters)} are not all such")
    for p in vectors:
        _vector_gradient(P, p, loss, index, loss_label, symmetric_matrices)
    D.section(f"The gradient in {unicode(matrices[0])}" if matrices else "The loss in matrix form")
    named = _scatter_form(P, loss, index, loss_label)
    for p in matrices:
        _matrix_gradient(P, p, named, loss_label)
    D.section("Stationarity")
    for p in vectors:
        P.solutions[p] = _solve_linear(D, P.gradients[p], p, hat)
    in_scatter = {}     # matrix parameter → its closed form in A, before the earlier estimates are put in
    for p in matrices:
        P.solutions[p], in_scatter[p] = _solve_covariance(P, p, index, hat)
    for p in matrices:
        _second_order(P, p, named, in_scatter[p], hat)
    _record(P, named)
    return P


def _declared_positive_definite(model, M) -> bool:
    """A symbol declared pd, or c·I with c > 0 (σ²I_d with σ² declared pos)."""
    if isinstance(M, sp.MatrixSymbol):
        spec = model.symbol(M.name)
        return spec is not None and "pd" in spec.assumptions
    coefficient, factors = split_product(M) if isinstance(M, sp.MatMul) else (sp.S.One, [M])
    return len(factors) == 1 and isinstance(factors[0], sp.Identity) and (coefficient == 1 or coefficient.is_positive)


# ---------------------------------------------------------------------------------------------------
# A vector parameter: each observation's term by differentials, then the sum
# ---------------------------------------------------------------------------------------------------
def _vector_gradient(P, p, loss, index, loss_label, symmetric_matrices):
    D, count = P.derivation, P.statement.observed.rows
    name = unicode(p)
    D.section(f"The gradient in {name}")
    sums = [t for t in sp.Add.make_args(loss) if isinstance(t, sp.Sum) and t.has(p)]
    free = [t for t in sp.Add.make_args(loss) if not t.has(p)]
    if len(sums) != 1 or any(t.has(p) for t in sp.Add.make_args(loss) if not isinstance(t, sp.Sum)):
        raise NotSupported(f"the loss holds {name} outside one sum over the observations: {unicode(loss)}")
    term = sums[0].function
    one = Notation("ℓᵢ", r"\ell_{i}")
    D.step("one observation's term", prose(
        "The gradient of a sum is the sum of the gradients, and ", *joined(free), " ", "do" if len(free) > 1 else
        "does", " not depend on ", p, ": differentiate the term of observation i."), term, term, lhs=one)
    g_i = gradient(D, matrix_form(term), p, lhs=one, result_lhs=Notation(f"∇_{name} ℓᵢ", r"\nabla_{%s} \ell_{i}"
                                                                         % latex(p)))
    g_i = _symmetric(D, g_i, symmetric_matrices, Notation(f"∇_{name} ℓᵢ", r"\nabla_{%s} \ell_{i}" % latex(p)))
    label = Notation(f"∇_{name} ℓ", r"\nabla_{%s} \ell" % latex(p))
    outside, inside = _out_of_sum(g_i, index)
    summed = multiply([*outside, SumOver(inside, index, count)], p)
    D.step("sum over the observations", prose(
        "∇ℓ = Σᵢ ∇ℓᵢ", *([", and ", *_products(outside), " does not depend on i: it comes out of the sum"]
                         if outside else []), "."), loss, summed, check=IsGradient(p), lhs=label)
    stacked = _stacked(inside, index, count)
    g = multiply([*outside, stacked], p)
    X = P.statement.observed
    D.step("the sum in matrix form", prose(
        SumOver(Row(X, index), index, count), " = ", sp.MatMul(X.T, sp.OneMatrix(count, 1)), " (the rows of ", X,
        " added up) and Σᵢ c = nc for c free of i: ", SumOver(inside, index, count), " = ", stacked, "."),
        summed, g, lhs=label)
    P.gradients[p] = P.shown_gradients[p] = g
    D.section(f"The Hessian in {name}")
    H = jacobian(D, g, p, lhs=label, result_lhs=Notation(f"∇²_{name} ℓ", r"\nabla^{2}_{%s} \ell" % latex(p)))
    P.hessians[p] = H
    P.convex[p] = _positive_definite(D, H, p, symmetric_matrices, P.model)


def _products(factors):
    return [multiply(list(factors), factors[-1])] if factors else []


def _symmetric(D: Derivation, expr, symmetric_matrices, label):
    """Σᵀ = Σ (so Σ⁻ᵀ = Σ⁻¹) for every matrix declared symmetric, equal terms then added."""
    for S in symmetric_matrices:
        after = expr.xreplace({sp.Transpose(sp.Inverse(S)): sp.Inverse(S), sp.Inverse(sp.Transpose(S)): sp.Inverse(S),
                               sp.Transpose(S): S})
        after = after.doit(deep=False) if isinstance(after, sp.MatAdd) else after
        if after != expr:
            expr = D.step(f"{unicode(S)} is symmetric", prose(
                S.T, " = ", S, ", so ", sp.Transpose(sp.Inverse(S)), " = ", sp.Inverse(S), ": ", S,
                " is declared symmetric; the equal terms add up."), expr, after, lhs=label)
    return expr


def _out_of_sum(g_i, index):
    """(factors free of i on the left, the rest): −Σ⁻¹(xᵢ − μ) is (−1, Σ⁻¹) times xᵢ − μ."""
    coefficient, factors = split_product(g_i)
    k = 0
    while k < len(factors) - 1 and not rows_of(factors[k], index):
        k += 1
    outside = ([coefficient] if coefficient != 1 else []) + factors[:k]
    inside = factors[k] if k == len(factors) - 1 else sp.MatMul(*factors[k:])
    return outside, inside


def _stacked(summand, index, count):
    """Σᵢ of a sum of rows xᵢ and terms free of i, in matrix form: Σᵢ(xᵢ − μ) = Xᵀ𝟏 − nμ."""
    terms = []
    for t in (summand.args if isinstance(summand, sp.MatAdd) else (summand,)):
        coefficient, factors = split_product(t)
        if len(factors) == 1 and isinstance(factors[0], Row):
            terms.append(multiply([coefficient, factors[0].matrix.T, sp.OneMatrix(count, 1)], t))
        elif not rows_of(t, index):
            terms.append(multiply([count * coefficient, *factors], t))
        else:
            raise NotSupported(f"cannot write Σᵢ {unicode(summand)} in matrix form")
    terms.sort(key=lambda t: not t.has(Row) and not t.has(sp.OneMatrix))   # the data first: Xᵀ𝟏 − nμ
    return sp.MatAdd(*terms, evaluate=False) if len(terms) > 1 else terms[0]


def _positive_definite(D: Derivation, H, p, symmetric_matrices, model) -> bool:
    """c·S⁻¹ with c > 0 and S declared positive definite: vᵀHv = c·vᵀS⁻¹v > 0 for v ≠ 0."""
    coefficient, factors = split_product(H)
    pd = {S for S in symmetric_matrices if "pd" in model.symbol(S.name).assumptions}
    if len(factors) != 1 or not isinstance(factors[0], sp.Inverse) or factors[0].arg not in pd \
            or not (coefficient.is_positive or coefficient == 1):
        D.notes.append(str(prose("Convexity in ", p, " not shown: the Hessian ", H, " is not a positive multiple "
                                 "of the inverse of a positive definite matrix.")))
        return False
    S = factors[0].arg
    v = sp.MatrixSymbol("v", p.rows, 1)
    quadratic = sp.MatMul(v.T, H, v)
    D.step("positive definite", prose(
        S, " is positive definite, so ", sp.Inverse(S), " is (its eigenvalues are the reciprocals), and ",
        coefficient, " > 0: ", quadratic, " > 0 for every ", v, " ≠ 0. So ℓ is strictly convex in ", p,
        " (for any fixed ", S, ") and its stationary point is the minimiser in ", p, "."),
        quadratic, multiply([coefficient, v.T, sp.Inverse(S), v], v), check=Nonnegative())
    return True


# ---------------------------------------------------------------------------------------------------
# A symmetric matrix parameter: the trace trick, the scatter matrix, the lemmas
# ---------------------------------------------------------------------------------------------------
def _scatter_form(P, loss, index, loss_label):
    """Σᵢ c·(xᵢ − μ)ᵀM(xᵢ − μ) = c·tr(MA), A = Σᵢ(xᵢ − μ)(xᵢ − μ)ᵀ = (X − 𝟏μᵀ)ᵀ(X − 𝟏μᵀ) the scatter matrix: the
    trace trick, the sum inside the trace, and A named; the loss in matrix form (as code evaluates it)."""
    D, count, X = P.derivation, P.statement.observed.rows, P.statement.observed
    sums = [t for t in sp.Add.make_args(loss) if isinstance(t, sp.Sum)]
    if len(sums) != 1:
        raise NotSupported(f"the loss holds {len(sums)} sums over the observations, not one: {unicode(loss)}")
    coefficient, quadratic = sums[0].function.as_independent(Scalar)
    form = quadratic.matrix if isinstance(quadratic, Scalar) else None
    if form is None or len(form.args) != 3 or form.args[0] != sp.Transpose(form.args[2]) or rows_of(form.args[1], index):
        raise NotSupported(f"the sum over observations is not a quadratic form (xᵢ − μ)ᵀM(xᵢ − μ): {unicode(sums[0])}")
    M, r = form.args[1], form.args[2]
    outer = sp.MatMul(r, sp.Transpose(r))
    traced = sp.Sum(coefficient * sp.Trace(sp.MatMul(M, r, sp.Transpose(r))), (index, 1, count))
    rest = loss - sums[0]
    D.step("the trace trick", prose(
        "A number is its own trace, and tr(ab) = tr(ba): ", form, " = tr(", sp.MatMul(M, r, sp.Transpose(r)),
        "), which puts ", M, " first and the data in one matrix."), loss, rest + traced, lhs=loss_label)
    scatter = SumOver(outer, index, count)
    linear = rest + coefficient * sp.Trace(sp.MatMul(M, scatter))
    D.step("the trace is linear", prose("Σᵢ tr(", sp.MatMul(M, r, sp.Transpose(r)), ") = tr(",
                                        sp.MatMul(M, scatter), "): the sum moves inside the trace."),
           rest + traced, linear, lhs=loss_label)
    deviations = sp.MatAdd(X, sp.MatMul(-1, sp.OneMatrix(count, 1), sp.Transpose(_constant_part(r, index))))
    stacked = sp.MatMul(sp.Transpose(deviations), deviations)
    taken = {spec.name for spec in P.model.symbols}
    A = Named(*(("A", "A") if "A" not in taken else ("Ã", r"\tilde{A}")), stacked)   # not a declared symbol's name
    free = [p for p in P.parameters if not A.definition.has(p)]
    D.step("the scatter matrix", prose(
        "Name ", A, " = ", scatter, ", the scatter matrix: row i of ", deviations, " is ", sp.Transpose(r),
        ", so ", A, " = ", stacked, ". It is symmetric", *([" and does not depend on ", *joined(free)] if free else []),
        "."), scatter, stacked, lhs=Notation(A.args[0].name, A.args[1].name))
    named = rest + coefficient * sp.Trace(sp.MatMul(M, A))
    D.step("the loss in the scatter matrix", prose("With ", A, " the loss is ", named, "."), linear, named,
           lhs=loss_label)
    return named


def _matrix_gradient(P, S, named, loss_label):
    D = P.derivation
    label = Notation(f"∂ℓ/∂{unicode(S)}", r"\frac{\partial \ell}{\partial %s}" % latex(S))
    general, symmetric_form, reasons, used = [], [], [], []
    applied = []
    for t in sp.Add.make_args(named):
        if not t.has(S):
            continue
        c, f = t.as_independent(S)
        found = matrix_gradient_lemma(f, S)
        if found is None:
            raise NotSupported(f"no lemma gives the gradient of {unicode(f)} in {unicode(S)}")
        applied.append((c, *found))
    applied.sort(key=lambda a: MATRIX_GRADIENT_LEMMAS.index(a[1]))   # log det Σ first, as a textbook writes it
    for c, lemma, operands in applied:
        general.append(multiply([c, lemma.gradient(S, *operands)], S))
        symmetric_form.append(multiply([c, lemma.symmetric(S, *operands)], S))
        reasons.append(lemma.because(S, *operands))
        used.append(lemma.rule)
    raw = sp.MatAdd(*general, evaluate=False)
    D.step("; ".join(used), prose(
        "Term by term, the terms free of ", S, " having gradient 0: ",
        *[part for k, because in enumerate(reasons) for part in ([]if not k else ["; "]) + because], "; so df = "
        "tr(Gᵀd", S, ") and the gradient G is read off."), named, raw, check=IsGradient(S), lhs=label)
    g = sp.MatAdd(*symmetric_form, evaluate=False)
    operands = [o for _, _, found in applied for o in found]      # the scatter matrix A, symmetric
    D.step(" and ".join(unicode(m) for m in (S, *operands)) + (" are" if operands else " is") + " symmetric", prose(
        sp.Transpose(sp.Inverse(S)), " = ", sp.Inverse(S), *[part for o in operands for part in
                                                             (" and ", sp.Transpose(o), " = ", o)], ". (Setting this "
        "gradient to zero, or the one of ", S, " restricted to symmetric matrices, gives the same stationary "
        "points.)"), raw, g, lhs=label)
    P.gradients[S] = P.shown_gradients[S] = g
    P.hessians[S] = None      # the second-order condition is shown along directions (below)
    P.convex[S] = False


def _constant_part(r, index):
    """μ in xᵢ − μ: the part of the deviation free of the observation."""
    terms = [t for t in (r.args if isinstance(r, sp.MatAdd) else (r,)) if not rows_of(t, index)]
    return -sp.MatAdd(*terms) if len(terms) > 1 else -terms[0]


# ---------------------------------------------------------------------------------------------------
# Stationarity
# ---------------------------------------------------------------------------------------------------
def _zero_equation(D: Derivation, g, p):
    D.step("set the gradient to zero", prose("At a minimum of a differentiable function the gradient in ", p,
                                             " vanishes."), g, sp.Eq(g, sp.ZeroMatrix(*p.shape), evaluate=False),
           relation="")
    return sp.Eq(g, sp.ZeroMatrix(*p.shape), evaluate=False)


def _solve_linear(D: Derivation, g, p, hat):
    """−M(b − cp) = 0 with M invertible: b − cp = 0, so p̂ = b/c."""
    stationary = _zero_equation(D, g, p)
    coefficient, factors = split_product(g)
    if len(factors) != 2 or not isinstance(factors[0], sp.Inverse) or not isinstance(factors[1], sp.MatAdd):
        raise NotSupported(f"no closed form for {unicode(p)}: the gradient {unicode(g)} is not M(b − cp)")
    M, linear = factors
    with_p = [t for t in linear.args if t.has(p)]
    free = [t for t in linear.args if not t.has(p)]
    slope = [split_product(t) for t in with_p]
    if len(with_p) != 1 or slope[0][1] != [p] or not free:
        raise NotSupported(f"no closed form for {unicode(p)}: {unicode(linear)} is not b − c{unicode(p)}")
    c = -slope[0][0]
    b = sp.MatAdd(*free) if len(free) > 1 else free[0]
    solution = multiply([1 / c, b], b)
    estimate = Named(*_bar(b), solution) if _is_column_sum(b) else solution
    D.step(f"solve for {unicode(p)}", prose(
        M, " is invertible, so ", linear, " = 0: ", hat(p), " = ", solution,
        *([" = ", estimate, ", the sample mean"] if estimate is not solution else []),
        *([", whatever ", M.arg, " is"] if M.arg != p else []), "."),
        stationary, estimate, check=Solves(p), lhs=hat(p))
    return estimate


def _is_column_sum(b) -> bool:
    """Xᵀ𝟏: the observations added up."""
    return isinstance(b, sp.MatMul) and len(b.args) == 2 and isinstance(b.args[0], sp.Transpose) \
        and isinstance(b.args[1], sp.OneMatrix)


def _bar(b):
    """(x̄, \\bar{x}) for the mean of the rows of X."""
    name = str(b.args[0].arg.name)
    name = name.lower() if name.isupper() else name
    return name + "̄", r"\bar{%s}" % name


def _solve_covariance(P, S, index, hat):
    """(n/2)Σ⁻¹ − ½Σ⁻¹AΣ⁻¹ = 0: multiplied by 2Σ on both sides nΣ − A = 0, Σ̂ = A/n; then at the mean's
    estimate, as the average outer product of the deviations."""
    D, count = P.derivation, P.statement.observed.rows
    g = P.gradients[S]
    stationary = _zero_equation(D, g, S)
    terms = [split_product(t) for t in g.args] if isinstance(g, sp.MatAdd) else []
    alone = [c for c, fs in terms if fs == [sp.Inverse(S)]]
    sandwiched = [(c, fs[1]) for c, fs in terms if len(fs) == 3 and fs[0] == fs[2] == sp.Inverse(S)]
    if len(terms) != 2 or len(alone) != 1 or len(sandwiched) != 1:
        raise NotSupported(f"no closed form for {unicode(S)}: the gradient {unicode(g)} is not "
                           "a·Σ⁻¹ + b·Σ⁻¹AΣ⁻¹")
    a, (b, A) = alone[0], sandwiched[0]
    scale = 1 / sp.Abs(b) if b.could_extract_minus_sign() else 1 / b   # 2 for −½: keep A's sign negative
    multiplied = sp.Eq(sp.MatAdd(sp.MatMul(a * scale, S), sp.MatMul(b * scale, A)), sp.ZeroMatrix(*S.shape),
                       evaluate=False)
    D.step(f"multiply by {unicode(S)} on both sides", prose(
        "Multiply on the left and on the right by ", multiply([scale, S], S), " (", sp.Inverse(S), S, " = I)."),
        stationary, multiplied, check=Congruent(S, scale), relation="")
    solution = multiply([-b / a, A], A)
    D.step(f"solve for {unicode(S)}", prose(
        "The equation is linear in ", S, ": ", hat(S), " = ", solution, ". ", A, " is positive definite when there "
        "are more observations than dimensions and they span the space, so ", hat(S), " is a valid covariance."),
        multiplied, solution, check=Solves(S), lhs=hat(S))
    earlier = [p for p in P.parameters[:P.parameters.index(S)] if A.has(p)]
    if not earlier:
        return solution, solution
    at = {p: P.solutions[p] for p in earlier}
    deviations = unfold(A).xreplace(at)
    at_estimates = multiply([-b / a, *deviations.args], deviations)
    r = _deviation(P, index).xreplace(at)
    by_rows = multiply([-b / a, SumOver(sp.MatMul(r, sp.Transpose(r)), index, count)], A)
    estimates = [part for k, (q, v) in enumerate(at.items()) for part in ([", "] if k else []) + [q, " = ", v]]
    D.step("at " + ", ".join(f"{unicode(q)} = {hat(q).text}" for q in earlier), prose(
        hat(S), " = ", solution, " holds at every ", *joined(earlier), ", so in particular at ", *estimates,
        " (the estimate found above, which does not depend on ", S, "): solved one parameter at a time, ",
        hat(S), " is the average outer product of the deviations from the sample mean, with ", -b / a,
        " (the maximum-likelihood estimate), not 1/(n − 1)."),
        solution, by_rows, check=_AtEstimates(at), lhs=hat(S))
    D.step("in matrix form", prose("Row i of ", deviations.args[1], " is ", sp.Transpose(r), "."),
           by_rows, at_estimates, lhs=hat(S))
    return at_estimates, solution


def _deviation(P, index):
    """xᵢ − μ, the deviation of observation i from the mean argument of its statement."""
    return sp.MatAdd(Row(P.statement.observed, index), -P.statement.arguments[0])


class _AtEstimates(Check):
    """before holds earlier parameters free, after their estimates: equal once they take those values."""

    def __init__(self, estimates):
        super().__init__()
        self.estimates = estimates

    def values(self, before, after, env):
        env = {**env, **{p.name: evaluate(v, env) for p, v in self.estimates.items()}}
        return evaluate(before, env), evaluate(after, env)


def _second_order(P, S, named, in_scatter, hat):
    """φ(t) = ℓ(Σ + tV) for a symmetric direction V: φ″(0) at Σ̂ = A/n is (n/2) tr(Σ̂⁻¹VΣ̂⁻¹V) > 0."""
    D = P.derivation
    D.section(f"Second-order check in {unicode(S)}")
    V = sp.MatrixSymbol("V", *S.shape)
    inv = sp.Inverse(S)
    f = sp.Add(*[t for t in sp.Add.make_args(named) if t.has(S)])
    pieces = {t.as_independent(S)[1]: t.as_independent(S)[0] for t in sp.Add.make_args(f)}
    a = pieces.get(sp.log(sp.Determinant(S)))
    traces = [(c, m) for m, c in pieces.items() if isinstance(m, sp.Trace)]
    if a is None or len(traces) != 1 or len(pieces) != 2:
        P.derivation.notes.append(str(prose("The second-order condition in ", S, " is not shown.")))
        return
    b, trace = traces[0]
    A = trace.arg.args[-1]
    first = a * sp.Trace(sp.MatMul(inv, V)) - b * sp.Trace(sp.MatMul(inv, V, inv, A))
    phi1, phi2 = Notation("φ′(0)", r"\varphi'(0)"), Notation("φ″(0)", r"\varphi''(0)")
    D.step("derivative along a direction", prose(
        "For a symmetric direction ", V, " let φ(t) = ℓ(", sp.MatAdd(S, sp.MatMul(sp.Symbol("t"), V)), "): φ′(0) is "
        "the differential of ℓ with d", S, " = ", V, " (d log det ", S, " = tr(", inv, "d", S, "), d", inv, " = −",
        inv, "(d", S, ")", inv, "); the terms free of ", S, " drop out."),
        f, first, check=AlongDirection(S, V), lhs=phi1)
    second = -a * sp.Trace(sp.MatMul(inv, V, inv, V)) + 2 * b * sp.Trace(sp.MatMul(inv, V, inv, V, inv, A))
    D.step("differentiate again", prose(
        "d", inv, " = −", inv, "V", inv, " in each place ", inv, " occurs; the two terms from tr(",
        sp.MatMul(inv, V, inv, A), ") are equal by tr(AB) = tr(BA) and the symmetry of ", V, ", ", S, " and ", A,
        "."), first, second, check=AlongDirection(S, V), lhs=phi2)
    estimate = Named(hat(S).text, hat(S).latex, in_scatter)
    at_hat = second.xreplace({S: estimate})
    hat_inv = sp.Inverse(estimate)
    positive = a * sp.Trace(sp.MatMul(hat_inv, V, hat_inv, V))   # Σ̂ = (b/a)A, so Σ̂⁻¹A = (a/b)I
    D.step(f"at {unicode(S)} = {hat(S).text}", prose(
        "At ", estimate, " = ", in_scatter, ": ", sp.MatMul(hat_inv, A), " = ", a / b, "I, so the term with ", A,
        " is ", 2 * a, " tr(", sp.MatMul(hat_inv, V, hat_inv, V), "), and the two terms add up to ", positive,
        "."), at_hat, positive, lhs=phi2)
    D.step("positive definite", prose(
        "With ", estimate, " = LLᵀ (Cholesky), tr(", sp.MatMul(hat_inv, V, hat_inv, V), ") = ‖L⁻¹VL⁻ᵀ‖²_F > 0 "
        "for every symmetric V ≠ 0: ℓ curves upwards in every direction at ", estimate, ", a strict local "
        "minimum; it is the only stationary point with ", S, " positive definite, and ℓ grows without bound "
        "towards the boundary (det ", S, " → 0 or ‖", S, "‖ → ∞), so it is the maximum-likelihood estimate."),
        positive, positive, check=Nonnegative(), lhs=phi2)


# ---------------------------------------------------------------------------------------------------
# Results, under the keys DESIGN §2 names
# ---------------------------------------------------------------------------------------------------
def _record(P, loss) -> None:
    """loss, gradient (one per parameter), hessian (the mean's block), solution (one per parameter)."""
    D = P.derivation
    vectors = [p for p in P.parameters if P.hessians.get(p) is not None]
    pair = lambda values: values[0] if len(values) == 1 else sp.Tuple(*values)  # noqa: E731
    shown = {"loss": loss,
             "gradient": pair([P.gradients[p] for p in P.parameters]),
             **({"hessian": pair([P.hessians[p] for p in vectors])} if vectors else {}),
             "solution": pair([P.solutions[p] for p in P.parameters])}
    D.results = {q: unfold(e) for q, e in shown.items()}
    D.shown_results = {q: e for q, e in shown.items() if D.results[q] != e}
    P.solutions = {p: unfold(s) for p, s in P.solutions.items()}
    matrices = [p for p in P.parameters if p not in vectors]
    if len(P.parameters) > 1:
        D.notes.append(str(prose("The results hold one entry per parameter, in the order ", *joined(P.parameters),
                                 "; each solution has the earlier ones substituted (solved one parameter at a time).")))
    if matrices:
        D.notes.append(str(prose(*(["The Hessian is the ", *joined([Math(f"∇²_{unicode(p)} ℓ", r"\nabla^{2}_{%s} \ell"
                                                                       % latex(p)) for p in vectors]), " block; "]
                                   if vectors else []),
                                 "the second-order condition in ", *joined(matrices), " is shown along every "
                                 "symmetric direction.")))
