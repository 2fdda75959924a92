"""The derivation planner: from a model's statement to its verified derivation, by general moves.

The route is the textbook's, whatever the model:

    likelihood → product of independent observations → log of a product → log-density of each
    observation → negative log-likelihood → sums in vector form (xᵢᵀβ, 𝟏ᵀf(Xβ), uᵀu)
    [→ prior: the negative log posterior]  (or: the loss as stated, plus its penalty)
    → per parameter: gradient and Hessian by differentials, collected to textbook form
    → convexity when the Hessian has a recognisable positive semidefinite form, else "not shown"
    → stationarity → a closed form when the equations are linear in the parameter (or solvable for a
      scalar parameter), solved one parameter at a time (σ̂² after β̂), else the Newton update.

Every step is a `Derivation.step`, verified numerically when it is made; the explanations are built from
the move and its operands with `prose`, so they cannot describe an equation other than the one shown.
What the planner cannot do raises `NotSupported` naming the move and the expression.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.hadamard import HadamardProduct

from derive.calculus.differentials import gradient, jacobian
from derive.calculus.matrix_hessian import matrix_hessian
from derive.calculus.textbook_form import order_hadamard, recognise_special_functions, textbook_form, textbook_signs
from derive.core.numeval import evaluate
from derive.core.random_points import BY_ASSUMPTION, Domains, dimension, normal, spd
from derive.core.steps import Derivation, IsGradient, IsJacobian, Nonnegative, SameMinimiser, Scaled, Solves
from derive.derivations.abbreviations import Abbreviation, Named, unfold
from derive.derivations.distributions import multivariate_normal_log_density
from derive.derivations.lemmas import convex_terms, map_reading, sigmoid_facts, uses_sigmoid
from derive.derivations.likelihood import log_likelihood_of_independent
from derive.derivations.matrix_parameters import plan_vector_sample
from derive.derivations.model import Model
from derive.derivations.second_order import (
    DOMAIN_IMAGES,
    at_the_estimates,
    collected_sums,
    jointly_convex,
    positive_by_bounds,
    several_scalars,
    split_fully,
)
from derive.derivations.sentences import prose
from derive.derivations.statement import read_statement
from derive.derivations.vector_form import (
    RowTimes,
    Scalar,
    entry,
    matrix_form,
    scalar,
    split_sums,
    sum_in_vector_form,
    sums_term_by_term,
    vector,
)
from derive.errors import NotSupported, ParseError
from derive.expr.algebra import expand, hadamard, multiply, split_product
from derive.expr.functions import Elementwise, VectorApplication, record_of, sigmoid, with_registry_functions
from derive.expr.notation import Notation, d
from derive.expr.printing import latex, unicode
from derive.expr.prose import Math
from derive.expr.symbols import Eye
from derive.expr.vec import Vec

INDEX = sp.Symbol("i", integer=True)


@dataclass
class Plan:
    """What the planner established, beyond the steps: per parameter its gradient, Hessian and solution
    (an expression in the data and the parameters before it, or None: then Newton), and convexity."""

    model: Model
    derivation: Derivation
    loss: sp.Basic                                    # scalar form (Scalar nodes for 1×1 matrices)
    parameters: list
    gradients: dict = field(default_factory=dict)
    hessians: dict = field(default_factory=dict)
    solutions: dict = field(default_factory=dict)     # parameter → closed form (in the earlier parameters)
    convex: dict = field(default_factory=dict)        # parameter → bool (shown)
    stopped: str | None = None                        # why the derivation ends early, if it does
    statement: object = None                          # the likelihood's Statement, when there is one
    shown_gradients: dict = field(default_factory=dict)   # parameter → the gradient as later steps write it (Xᵀr)
    updates: dict = field(default_factory=dict)           # parameter → its gradient-descent update, where not Newton
    nonnegative: dict = field(default_factory=dict)       # weights S = diag(s) → why sᵢ ≥ 0 (shown by a lemma)
    joint_hessian: object = None                          # several scalar parameters: the matrix of second derivatives
    jointly_convex: bool = False                          # ... shown positive definite at every value


@lru_cache(maxsize=64)
def plan(model: Model) -> Plan:
    """The planned, verified derivation of `model` (cached: a Model is a frozen record)."""
    objects = model.context()
    parameters = model.parameter_objects()
    try:
        statement = read_statement(model.likelihood, objects, model.expression) if model.likelihood else None
    except (NotSupported, ParseError) as error:   # named with the model file's line
        raise model.error("likelihood", str(error)) from None
    D = Derivation(model.title or _default_title(model), model=model.name, form="matrix",
                   domains=_domains(model, statement))
    D.symbols = [(objects[s.name], _describe(model, s, statement)) for s in model.symbols]
    names = ", ".join(unicode(p) for p in parameters)
    loss_label = Notation(f"ℓ({names})", r"\ell(%s)" % ", ".join(latex(p) for p in parameters))
    if statement is not None and statement.rows:   # a sample of vector observations: xᵢ ~ N(μ, Σ)
        return _planned(Plan(model, D, None, parameters, statement=statement),
                        lambda P: plan_vector_sample(P, INDEX, loss_label, _hat))
    if uses_sigmoid(sp.Tuple(*statement.arguments) if statement else model.expression(model.loss)):
        sigmoid_facts(D)
    D.section("The loss")
    loss = _likelihood_loss(D, model, statement, loss_label) if statement else _stated_loss(D, model, loss_label)
    P = Plan(model, D, loss, parameters, statement=statement)
    try:
        for p in parameters:
            _gradient_and_hessian(P, p, loss_label)
        if _several_scalars(P):
            P.joint_hessian = several_scalars(D, P.gradients, P.hessians, parameters)
            P.jointly_convex = jointly_convex(D, P.joint_hessian, parameters, statement)
            if P.jointly_convex:   # convex jointly, so in each parameter: no "convexity in a not shown" beside it
                D.notes = [note for note in D.notes if not note.startswith("Convexity in ")]
                P.convex = dict.fromkeys(parameters, True)
        D.section("Stationarity")
        for p in parameters:
            _solve(P, p)
        if model.likelihood and not (model.prior or model.penalty) and (len(parameters) > 1 or not parameters[0].is_Matrix):
            at_the_estimates(D, P, P.joint_hessian if P.joint_hessian is not None else P.hessians[parameters[0]],
                             _parameter_domains(P.statement))
        if model.penalty and model.loss and len(parameters) == 1:
            map_reading(D, model.expression(model.loss), scalar_form(model.expression(model.penalty)), parameters[0])
    except NotSupported as error:
        # What was derived stands (every step verified); the rest is named, never guessed.
        P.stopped = D.stopped = f"the planner stopped after step {len(D.steps)}: {error}"   # read by `show`
        D.notes.append(f"Not derived further: {P.stopped}.")
        D.results = {"loss": loss_result(loss)}
        return P
    _record_results(P)
    return P


def _planned(P: Plan, route) -> Plan:
    """`route(P)` fills the plan; where it stops, what it derived stands and the rest is named."""
    try:
        return route(P)
    except NotSupported as error:
        P.stopped = P.derivation.stopped = f"the planner stopped after step {len(P.derivation.steps)}: {error}"
        P.derivation.notes.append(f"Not derived further: {P.stopped}.")
        P.derivation.results = {"loss": loss_result(P.loss)} if P.loss is not None else {}
        return P


def _several_scalars(P: Plan) -> bool:
    return len(P.parameters) > 1 and not any(p.is_Matrix for p in P.parameters)


def _parameter_domains(statement) -> dict:
    """parameter → the name of its domain, for each parameter that is an argument of the likelihood's family."""
    if statement is None:
        return {}
    return {a: domain.name for (_, domain), a in zip(statement.family.parameters, statement.arguments)
            if isinstance(a, sp.Symbol)}


def _default_title(model: Model) -> str:
    return f"The model {model.name}"


# ---------------------------------------------------------------------------------------------------
# The loss: as stated, or the negative log-likelihood in vector form
# ---------------------------------------------------------------------------------------------------
def _stated_loss(D: Derivation, model: Model, label):
    loss = scalar_form(model.expression(model.loss))
    if model.penalty:
        penalty = scalar_form(model.expression(model.penalty))
        total = loss + penalty
        D.step("definition", prose("The loss ", loss, " plus the penalty ", penalty, "."), total, total, lhs=label)
        return total
    D.step("definition", prose("The loss as stated: ", loss, "."), loss, loss, lhs=label)
    _categorical_reading(D, model, loss, label)
    return loss


def _categorical_reading(D: Derivation, model: Model, loss, label) -> None:
    """−tr(Yᵀ log softmax(AW)) with the rows of Y probabilities, read as a textbook introduces it: the negative
    log-likelihood of the categorical model P(yᵢ = c | aᵢ) = softmax(aᵢᵀW)_c (Y one-hot), a cross-entropy."""
    coefficient, factors = split_product(loss) if isinstance(loss, sp.MatMul) else (loss, [])
    trace = coefficient if not factors else None
    if not (isinstance(trace, sp.Mul) and len(trace.args) == 2 and trace.args[0] == -1
            and isinstance(trace.args[1], sp.Trace)):
        return
    product = trace.args[1].arg
    if not isinstance(product, sp.MatMul) or len(product.args) != 2 or not isinstance(product.args[0], sp.Transpose):
        return
    Y, logs = product.args[0].arg, product.args[1]
    spec = model.symbol(str(Y)) if isinstance(Y, sp.MatrixSymbol) else None
    if spec is None or "prob" not in spec.assumptions or not (isinstance(logs, Elementwise) and logs.name == "log"
                                                             and isinstance(logs.arg, VectorApplication)
                                                             and logs.arg.name == "softmax" and logs.arg.rowwise):
        return
    probabilities = logs.arg
    scores = probabilities.arg
    D.step("the categorical likelihood", prose(
        "The trace adds the entries: ", Math("ℓ = −Σᵢ Σ_c Y_ic log P_ic", r"\ell = -\sum_{i} \sum_{c} Y_{ic} \log P_{ic}"),
        ", where P = ", probabilities, " holds in row i the softmax of the ", probabilities.cols, " scores ", Math(f"({unicode(scores)})_ic",
                                                                                            r"(%s)_{ic}" % latex(scores)),
        " (positive, summing to 1). When row i of ", Y, " is one-hot, 1 at the class yᵢ of observation i, one term "
        "remains: ", Math("ℓ = −Σᵢ log P_iyᵢ", r"\ell = -\sum_{i} \log P_{i y_{i}}"), ", the negative "
        "log-likelihood of the categorical model P(yᵢ = c) = P_ic, so minimising ℓ maximises the likelihood; with "
        "probabilities in ", Y, " it is their cross-entropy with P."), loss, loss, lhs=label)


def scalar_form(expr):
    return scalar(expr) if getattr(expr, "is_Matrix", False) else expr


def _likelihood_loss(D: Derivation, model: Model, statement, label):
    family, observed = statement.family, statement.observed
    count = observed.rows
    y_i = entry(observed, INDEX, count)
    arguments_i = [entry(a, INDEX, count) for a in statement.arguments]
    _check_domains(model, statement, D.domains)
    names = ", ".join(unicode(p) for p in model.parameter_objects())
    names_tex = ", ".join(latex(p) for p in model.parameter_objects())
    likelihood = Notation(f"L({names})", r"L(%s)" % names_tex)
    log_likelihood = Notation(f"log L({names})", r"\log L(%s)" % names_tex)
    density = family.density(y_i, *arguments_i)
    why = prose("The observations ", y_i, " ~ ", Math(*_family_call(family, arguments_i)),
                ", i = 1, …, n, are independent: the likelihood is the product of their densities.")
    logs = log_likelihood_of_independent(D, density, INDEX, count, likelihood, log_likelihood, why=why)
    log_density = family.log_density(y_i, *arguments_i)
    written = sp.Sum(log_density, (INDEX, 1, count))
    D.step(f"log-density of the {family.title} distribution",
           prose("log(", density, ") = ", log_density, ": the log of a product is the sum of the logs, and "
                 "log eᵘ = u."), logs, written, lhs=log_likelihood)
    negative = sp.Sum(sp.expand(-log_density, deep=False, log=False, power_base=False, power_exp=False), (INDEX, 1, count))
    D.step("negative log-likelihood", prose("Maximising the likelihood is minimising ", label, " = −log L; "
           "the minus sign goes onto each term of the sum."), -written, negative, lhs=label)
    if any(p.is_Matrix for p in model.parameter_objects()):
        loss = sum_in_vector_form(negative.function, INDEX, count)
        D.step("sums in vector form", prose("Σᵢ c = nc, Σᵢ uᵢ² = uᵀu, Σᵢ aᵢbᵢ = aᵀb and Σᵢ f(xᵢᵀβ) = 𝟏ᵀf(Xβ), "
               "with f applied entrywise: the sum over observations as vectors."), negative, loss, lhs=label)
    else:   # a sample and scalar parameters: the sums stay sums, as a textbook writes Σᵢ xᵢ
        loss = sums_term_by_term(negative.function, INDEX, count)
        D.step("sums term by term", prose("Σᵢ(aᵢ + bᵢ) = Σᵢ aᵢ + Σᵢ bᵢ, Σᵢ c·aᵢ = c·Σᵢ aᵢ and Σᵢ c = nc: the "
               "factors that do not depend on the observation come out of the sums."), negative, loss, lhs=label)
    loss = _drop_constant_sums(D, model, loss, label)
    if model.prior:
        loss = _posterior(D, model, loss, label)
    if model.penalty:
        penalty = scalar_form(model.expression(model.penalty))
        penalised = loss + penalty
        D.step("add the penalty", prose("The penalised loss: the negative log-likelihood plus ", penalty, "."),
               penalised, penalised, lhs=label)
        loss = penalised
    return loss


def _drop_constant_sums(D: Derivation, model: Model, loss, label):
    """A sum over observations free of the parameters (Σᵢ log yᵢ!) does not move the minimiser: drop it."""
    parameters = model.parameter_objects()
    sums = [t for t in sp.Add.make_args(loss) if t.has(sp.Sum)]
    if any(t.has(*parameters) for t in sums) and any(p.is_Matrix for p in parameters):
        raise NotSupported(f"cannot write {unicode(sp.Add(*sums))} in vector form")
    constant = sp.Add(*[t for t in sums if not t.has(*parameters)])
    if constant == 0:
        return loss
    if len(parameters) != 1:
        raise NotSupported(f"cannot drop the constant {unicode(constant)} for several parameters at once")
    kept = loss - constant
    c = Notation("c", "c")
    D.step("drop a constant", prose("c = ", constant, " does not depend on ", parameters[0], ", so it does not move "
                                    "the minimiser; the loss below is ", label, " − c."),
           loss, kept, check=SameMinimiser(parameters[0]), lhs=Notation(f"{label.text} − {c.text}",
                                                                          f"{label.latex} - c"))
    return kept


def _family_call(family, arguments):
    inner = ", ".join(unicode(a) for a in arguments)
    inner_tex = ", ".join(latex(a) for a in arguments)
    return f"{family.name}({inner})", r"\operatorname{%s}(%s)" % (family.name, inner_tex)


def _posterior(D: Derivation, model: Model, loss, label):
    """MAP: −log p(θ | data) = ℓ(θ) − log p(θ) + const (Bayes' rule), with the prior's log-density."""
    prior = read_statement(model.prior, model.context(), model.expression)
    if prior.index or prior.observed not in model.parameter_objects():
        raise NotSupported(f'the prior "{model.prior}" must be about a parameter ({", ".join(model.parameters)})')
    if prior.family.name != "N":
        raise NotSupported(f"priors other than N(mean, covariance) are not derived yet (got {prior.family.name})")
    theta = prior.observed
    mean, covariance = prior.arguments
    if getattr(theta, "is_Matrix", False):
        mean = sp.ZeroMatrix(*theta.shape) if mean == 0 else mean
        constant, quadratic = multivariate_normal_log_density(theta, mean, covariance)
        minus_log_prior = -constant + scalar(-quadratic)
    else:
        minus_log_prior = -prior.family.log_density(theta, mean, covariance)
    posterior = loss + minus_log_prior
    D.section("The prior: the MAP estimate")
    D.step("Bayes' rule", prose("p(", theta, " | data) ∝ p(data | ", theta, ") p(", theta, "), so the negative "
           "log posterior is the negative log-likelihood plus −log p(", theta, ") = ", minus_log_prior,
           " (the prior ", Math(*_family_call(prior.family, prior.arguments)), "); its minimiser is the MAP "
           "estimate."), posterior, posterior, lhs=Notation(f"−log p({unicode(theta)} | data)",
                                                            r"-\log p(%s \mid \text{data})" % latex(theta)))
    return posterior


def _check_domains(model: Model, statement, domains: Domains) -> None:
    """A distribution's parameter given as a number (or a value in the file) must lie in its domain; one
    given as an expression must too at random values of the symbols it uses (drawn from their declared
    domains): one value outside proves the statement wrong (a Poisson rate x_i'β that can be negative)."""
    import numpy as np
    values = dict(model.values)
    for (name, domain), argument in zip(statement.family.parameters, statement.arguments):
        number = argument if argument.is_Number else None
        if isinstance(argument, sp.Symbol) and argument.name in values:
            number = values[argument.name]
        if number is not None and not domain.contains(np.asarray(float(number))):
            raise model.error("likelihood", f'in "{statement.text}" the {name} of {statement.family.signature} '
                              f"is {float(number):g}; it must be {domain.name}")
        if number is not None or isinstance(argument, sp.Symbol) or argument.has(sp.Indexed):
            continue   # a symbol is drawn from the parameter's domain itself; entries x_i are read later
        for point in domains.points([argument], seed=0, sizes=2, per_size=2):
            value = np.real(np.asarray(evaluate(argument, point), dtype=complex))
            outside = ~domain.contains(value)
            if outside.any():
                raise model.error("likelihood", f'in "{statement.text}" the {name} of {statement.family.signature} '
                                  f"is {unicode(argument)}, which can be {float(value[outside][0]):.3g}; it must be "
                                  f"{domain.name} (declare the symbols it uses pos, or write it through a function "
                                  "into the domain: exp(x_i' beta) for a rate, sigmoid(x_i' beta) for a probability)")


# ---------------------------------------------------------------------------------------------------
# Gradient, Hessian, convexity: one parameter at a time
# ---------------------------------------------------------------------------------------------------
def _labels(p):
    name, tex = unicode(p), latex(p)
    if p.is_Matrix and p.cols != 1:   # the Hessian of a matrix parameter is that of vec(W) (Magnus & Neudecker)
        return (Notation(f"∇_{name} ℓ", r"\nabla_{%s} \ell" % tex),
                Notation(f"∇²_vec({name}) ℓ", r"\nabla^{2}_{\operatorname{vec}(%s)} \ell" % tex))
    return (Notation(f"∇_{name} ℓ", r"\nabla_{%s} \ell" % tex),
            Notation(f"∇²_{name} ℓ", r"\nabla^{2}_{%s} \ell" % tex)) if p.is_Matrix else \
        (Notation(f"∂ℓ/∂{name}", r"\frac{\partial \ell}{\partial %s}" % tex),
         Notation(f"∂²ℓ/∂{name}²", r"\frac{\partial^{2} \ell}{\partial (%s)^{2}}" % tex))


def _gradient_and_hessian(P: Plan, p, loss_label) -> None:
    D = P.derivation
    grad_label, hess_label = _labels(p)
    D.section(f"The gradient in {unicode(p)}")
    if p.is_Matrix:
        f = matrix_form(P.loss)
        f = _softplus_of_negatives(D, recognise_special_functions(D, f, loss_label), loss_label)
        if len(P.parameters) == 1:   # the loss as it is differentiated, the textbook's (𝟏ᵀsoftplus(Xβ) − yᵀXβ)
            P.loss = _flattened(f)
        g = gradient(D, f, p, lhs=loss_label, result_lhs=grad_label)
        g = textbook_form(D, _symmetric(D, g, P.model, grad_label), grad_label)
        g = _mean_residual_form(P, p, g, grad_label)
        _named_probabilities(D, P, g, p, grad_label)
        D.section(f"The Hessian in {unicode(p)}")
        H = _hessian_by_observation(D, P, g, p, hess_label)
        if H is None and p.cols != 1:   # a matrix parameter: the Hessian of vec(W), d vec(∇ℓ) = H d vec(W)
            H = _sandwiched(D, matrix_hessian(D, g, p, grad_label, hess_label), hess_label, P.model,
                            _names_in(P.shown_gradients.get(p)))
        elif H is None:
            H = jacobian(D, g, p, lhs=grad_label, result_lhs=hess_label)
            H = _common_number(D, textbook_form(D, _symmetric(D, H, P.model, hess_label), hess_label), hess_label)
        P.convex[p] = _convexity(D, H, p, P.model, P.nonnegative)
    else:
        g = _scalar_derivative(D, P.loss, p, loss_label, grad_label)
        D.section(f"The second derivative in {unicode(p)}")
        H = _scalar_derivative(D, g, p, grad_label, hess_label)
        P.convex[p] = _scalar_convexity(D, H, p, P.statement)
    P.gradients[p], P.hessians[p] = g, H


def _sandwiched(D: Derivation, H, label, model: Model, names=None):
    """AᵀBA + AᵀCA = AᵀSA with S = B + C: the factors every term shares on both sides taken out and the middle
    named, so that the Hessian reads as a Gram form (whose sign is the middle's), (I ⊗ X)ᵀS(I ⊗ X) for a matrix
    parameter; S written with the `names` earlier steps gave (definition → Named: P for softmax(XW))."""
    terms = [split_product(t) for t in (H.args if isinstance(H, sp.MatAdd) else ())]
    if len(terms) < 2 or any(len(fs) < 3 for _, fs in terms):
        return H
    first, last = terms[0][1][0], terms[0][1][-1]
    if any(fs[0] != first or fs[-1] != last for _, fs in terms):
        return H
    middle = Named(*_free_name(model, "S"), sp.MatAdd(*[multiply([c, *fs[1:-1]], fs[1]) for c, fs in terms])
                   .xreplace(names or {}))
    sandwiched = D.step("common factors on both sides", prose(
        "Every term is ", first, " · … · ", last, ": take them out on the left and on the right, AᵀBA + AᵀCA = "
        "Aᵀ(B + C)A, and name the middle ", middle, " (written out next)."), H, sp.MatMul(first, middle, last),
        lhs=label)
    # NOTE: a line of its own, where a long definition is broken to fit (in a sentence it would overrun the margin)
    D.step("the middle matrix", prose(middle, " is ", middle.rows, " × ", middle.cols, ", built from the terms "
                                      "between the common factors."), middle, middle.definition,
           lhs=Notation(unicode(middle), latex(middle)))
    return sandwiched


def _observation_formula(statement, r):
    """(rᵢ, yᵢ, μᵢ) for an n-vector r of a likelihood whose first argument is the mean μ (Bernoulli's p,
    Poisson's rate, the normal's mean), or None when r has no scalar formula per observation."""
    if statement is None or not statement.index or not statement.arguments:
        return None
    count = statement.observed.rows
    mean = statement.arguments[0]
    if not getattr(mean, "is_Matrix", False) or getattr(r, "shape", None) != (count, 1):
        return None
    try:
        return entry(r, INDEX, count), entry(statement.observed, INDEX, count), entry(mean, INDEX, count)
    except NotSupported:
        return None


def _mean_residual_form(P: Plan, p, g, label):
    """∇ℓ = Aᵀ(w ⊙ (μ − y)): the gradient of a likelihood weights the residuals μᵢ − yᵢ (the mean minus the
    observation) by wᵢ, as a textbook writes a GLM's score. Applied when the gradient is Aᵀr with rᵢ linear in
    yᵢ and zero at yᵢ = μᵢ; logistic and Poisson regression have w = 1 (the canonical link), and their
    gradient stays Aᵀ(μ − y). Other links (probit) name the weighted residuals: ∇ℓ = Aᵀr, with
    rᵢ = wᵢ(μᵢ − yᵢ) on a line of its own."""
    D, statement = P.derivation, P.statement
    coefficient, factors = split_product(g)
    if len(factors) != 2:
        return g
    found = _observation_formula(statement, factors[1])
    if found is None:
        return g
    r_i, y_i, mu_i = found
    r_i = coefficient * r_i
    slope = sp.diff(r_i, y_i)
    if slope.has(y_i) or sp.simplify(r_i.subs(y_i, mu_i)) != 0:
        return g
    w_i = textbook_signs(-slope)
    if w_i != 1 and not w_i.has(INDEX):
        return g          # a weight common to all observations (1/σ²) stays the gradient's factor
    count = statement.observed.rows
    residual = sp.MatAdd(statement.arguments[0], -statement.observed)
    if w_i == 1:
        after = multiply([factors[0], residual], g)
        if after == g:
            return g
        return D.step("weighted residuals", prose(
            "Entry i of the vector is ", r_i, ", linear in ", y_i, " and zero at ", y_i, " = ", mu_i, " (the mean): "
            "it is the residual ", mu_i - y_i, "."), g, after, lhs=label)
    A = factors[0].arg if isinstance(factors[0], sp.Transpose) else None
    if not isinstance(A, sp.MatrixSymbol):
        return g
    weights = vector(w_i, INDEX, count)
    weights = list(weights.args) if isinstance(weights, HadamardProduct) else [weights]
    # one product, φ(Xβ) ⊙ (Φ(Xβ) − y) ⊘ (Φ(Xβ) ⊙ (𝟏 − Φ(Xβ))), as the weights and residual read in a result
    r = Named(*_free_name(P.model, "r"), order_hadamard(hadamard([*weights, residual])))
    after = sp.MatMul(factors[0], r)
    D.step("weighted residuals", prose(
        "Entry i of the vector is linear in ", y_i, " and zero at ", y_i, " = ", mu_i, " (the mean): it is the "
        "residual ", mu_i - y_i, " weighted by wᵢ, and the vector ", r, " of weighted residuals has a line of its "
        "own."), g, after, lhs=label)
    row = RowTimes(A, p, INDEX)
    _observation_term(D, A, p, r, r_i, sp.Mul(_named_terms(w_i, row), _named_terms(mu_i - y_i, row),
                                              evaluate=False))
    return after


def _observation_term(D: Derivation, A, p, r, r_i, shown) -> None:
    """rᵢ on a line of its own, with ηᵢ = aᵢᵀp and the functions of it named (Φᵢ = Φ(ηᵢ))."""
    D.step("one observation's term", prose(
        "The gradient is ", A.T, r, ": entry i of ", r, " depends on ", p, " only through ", *_definitions(shown),
        "."), r_i, shown, lhs=Notation(f"{r.args[0].name}ᵢ", f"{r.args[1].name}_{{i}}"))


def _hessian_by_observation(D: Derivation, P: Plan, g, p, label):
    """g = Aᵀr with entry i of r a function of ηᵢ = aᵢᵀp alone (and the data), as a GLM's score: then
    dr = s ⊙ A dp with sᵢ = ∂rᵢ/∂ηᵢ, and H = AᵀSA with S = diag(s). One scalar derivative per observation,
    the weights named and defined on a line of their own as a textbook writes them (XᵀSX, S = diag(sᵢ)),
    where differentiating the whole vector would spread the quotient rule over every line; None when g
    has no such form (or r is linear in p: then the differentials are short)."""
    coefficient, factors = split_product(g)
    if coefficient != 1 or len(factors) != 2 or not isinstance(factors[0], sp.Transpose) \
            or not isinstance(factors[0].arg, sp.MatrixSymbol) or not factors[1].has(Elementwise):
        return None
    A, r = factors[0].arg, factors[1]
    stated = r if isinstance(r, Named) else None       # rᵢ stated with the gradient already (a weighted residual)
    r = _definition(r)
    found = _observation_formula(P.statement, r)
    if found is None:
        return None
    r_i, y_i, mu_i = found
    row = RowTimes(A, p, INDEX)
    eta = sp.Symbol("eta_i", real=True)     # ηᵢ as a variable, to differentiate in
    r_eta, mu_eta = r_i.xreplace({row: eta}), mu_i.xreplace({row: eta})
    if r_eta.has(p) or not r_eta.has(eta):
        return None
    count = P.statement.observed.rows
    r_named = stated or Named(*_free_name(P.model, "r"), r)
    P.shown_gradients[p] = sp.MatMul(A.T, r_named)
    if stated is None:
        _observation_term(D, A, p, r_named, r_i, _named_terms(r_i, row))
    s_eta = _expected_plus_residual(sp.diff(r_eta, eta), y_i, mu_eta)
    lemmas = list(dict.fromkeys(record_of(f).rule for f in sp.preorder_traversal(r_eta) if record_of(f) is not None))
    S = Named(*_free_name(P.model, "S"), DiagMatrix(vector(s_eta.xreplace({eta: row}), INDEX, count)))
    s_label = Notation(f"{S.args[0].name.lower()}ᵢ", f"{S.args[1].name.lower()}_{{i}}")
    how = [" (", "; ".join(lemmas), ")"] if lemmas else []
    mu_shown = _named_terms(mu_eta, eta)
    # the score rᵢ, linear in yᵢ, has mean 0: it vanishes at yᵢ = μᵢ only when μᵢ is the mean of yᵢ (not for
    # the exponential's rate), and only then is the first term the expected information
    at_the_mean = sp.cancel(r_eta.subs(y_i, mu_eta)) == 0
    split = ["; at ", y_i, " = ", mu_shown, " the first term is the expected information, and the second, a "
             "multiple of the residual ", mu_shown - y_i, ", vanishes in expectation"] \
        if isinstance(s_eta, sp.Add) and s_eta.has(y_i) and at_the_mean else []
    eta_shown = _named_terms(eta, eta)
    quotient = any(isinstance(e, sp.Pow) and e.exp.is_negative for e in sp.preorder_traversal(r_eta))
    D.step("differentiate one observation's term", prose(
        s_label, " = ", Math(f"∂{r_named.args[0].name}ᵢ/∂ηᵢ", r"\partial %s_{i}/\partial \eta_{i}" % r_named.args[1].name),
        ", by the chain", " and quotient rules" if quotient else " rule",
        *how, *split, "."),
        _named_terms(r_eta, eta), _named_terms(s_eta, eta), check=IsGradient(eta), lhs=s_label)
    H = sp.MatMul(A.T, S, A)
    D.step("chain rule, observation by observation", prose(
        "d", r_named, "ᵢ = ", s_label, " d", eta_shown, " with d", eta_shown, " = ", RowTimes(A, d(p), INDEX),
        ", so d", r_named, " = ", S, A, "d", p, " and d(", A.T, r_named, ") = ", H, "d", p, ", with ", S,
        " = diag(", s_label, "), the weights of the observations."), g, H, check=IsJacobian(p), lhs=label)
    if not _positive_entries(s_eta):
        _convex_observations(P, p, S, eta, row, (r_eta, r_named), (s_eta, s_label))
    return H


def _convex_observations(P: Plan, p, S, eta, row, r, s) -> None:
    """sᵢ ≥ 0 when the loss of one observation, ℓᵢ = −log p(yᵢ | ηᵢ), is a convex function of ηᵢ: rᵢ = ∂ℓᵢ/∂ηᵢ
    (a verified step) makes sᵢ = ∂²ℓᵢ/∂ηᵢ², and ℓᵢ is a nonnegative combination of functions that lemmas
    show convex (−log Φ: Φ is log-concave), plus terms linear in ηᵢ. Records why in P.nonnegative; says
    nothing when ℓᵢ is not of that form (the convexity step then says it is not shown)."""
    D, statement = P.derivation, P.statement
    (r_eta, r_named), (s_eta, s_label) = r, s
    count = statement.observed.rows
    y_i = entry(statement.observed, INDEX, count)
    arguments = [entry(a, INDEX, count).xreplace({row: eta}) for a in statement.arguments]
    loss_i = -statement.family.log_density(y_i, *arguments)
    found = convex_terms(loss_i, eta, statement.family.support.name)
    if found is None:
        return
    proofs, terms = found
    D.section(f"Convexity in {unicode(p)}")
    loss_label = Notation("ℓᵢ(ηᵢ)", r"\ell_{i}(\eta_{i})")
    D.step("one observation's loss", prose(
        "Observation i adds ", loss_label, " = ", _named_terms(loss_i, eta), " to the loss, and its derivative in "
        "ηᵢ is ", Math(f"{r_named.args[0].name}ᵢ", f"{r_named.args[1].name}_{{i}}"), ": so ", s_label, " = "
        "∂²ℓᵢ/∂ηᵢ², which is ≥ 0 wherever ℓᵢ is convex in ηᵢ."), _named_terms(loss_i, eta),
        _named_terms(r_eta, eta), check=IsGradient(eta), lhs=Notation("∂ℓᵢ/∂ηᵢ", r"\partial \ell_{i}/\partial \eta_{i}"))
    for prove in proofs:
        prove(D)
    combination = sp.Add(*[w * f for w, f in terms])
    linear = [" + terms at most linear in ηᵢ"] if sp.expand(loss_i - combination) != 0 else []
    weights = []
    for k, (w, f) in enumerate(terms):
        weights += [", " if 0 < k < len(terms) - 1 else " and " if k else "", "the weight ", _named_terms(w, eta),
                    " of ", _named_terms(f, eta)]
    D.step("a convex loss per observation", prose(
        loss_label, " = ", _named_terms(combination, eta), *linear, ": ", *weights, " are" if len(terms) > 1 else " is",
        " ≥ 0 for every ", y_i,
        " (", statement.family.support.name, ") and the function", "s are" if len(terms) > 1 else " is",
        " convex (above), so ", loss_label,
        " is convex and ", s_label, " ≥ 0 for every ηᵢ."), _named_terms(s_eta, eta), _named_terms(s_eta, eta),
        check=Nonnegative(), lhs=s_label)
    P.nonnegative[S] = ("", S, " has nonnegative diagonal entries (each observation's loss is convex in ηᵢ)")


def _expected_plus_residual(s, y_i, mu):
    """s, linear in the observation yᵢ, written e + c(μᵢ − yᵢ): e its value at yᵢ = μᵢ (free of yᵢ), c the
    multiple of the residual; s simplified as it is when it does not hold yᵢ (or not linearly)."""
    slope = sp.diff(s, y_i)
    if slope == 0 or slope.has(y_i):
        return textbook_signs(s)
    return sp.Add(textbook_signs(s.subs(y_i, mu)), sp.Mul(textbook_signs(-slope), mu - y_i, evaluate=False),
                  evaluate=False)


def _named_terms(expr, eta):
    """expr with ηᵢ named (standing for `eta`, xᵢᵀβ or the variable ηᵢ), and every one-letter function of it
    (σ(ηᵢ), Φ(ηᵢ)) by that letter with the subscript, as a textbook writes σᵢ and Φᵢ."""
    named_eta = Abbreviation("ηᵢ", r"\eta_{i}", eta)
    expr = expr.xreplace({eta: named_eta})

    def letter(f):
        record = record_of(f)
        return Abbreviation(record.text + "ᵢ", record.latex + "_{i}", f)
    return expr.replace(lambda e: record_of(e) is not None and len(record_of(e).text) == 1
                        and e.args[0] == named_eta, letter)


def _definitions(expr) -> list:
    """"ηᵢ = xᵢᵀβ (with Φᵢ = Φ(ηᵢ) and φᵢ = φ(ηᵢ))": the names in expr, as the parts of a sentence."""
    names = sorted(expr.atoms(Abbreviation), key=lambda a: (a.args[0].name != "ηᵢ", a.args[0].name))
    first, others = [names[0], " = ", names[0].definition], [(a, " = ", a.definition) for a in names[1:]]
    return first + ([" (with ", *_joined(others), ")"] if others else [])


def _free_name(model: Model, name: str):
    """(text, latex) of a name for a matrix the derivation introduces: `name` (S in DESIGN's XᵀSX), or with a
    tilde when the model declares a symbol of that name."""
    taken = {spec.name for spec in model.symbols}
    return (name, name) if name not in taken else (name + "̃", r"\tilde{%s}" % name)


def _common_number(D: Derivation, H, label):
    """2λI + 2XᵀX = 2(XᵀX + λI): a number every term shares taken out, the data term first (as for ridge)."""
    if not isinstance(H, sp.MatAdd):
        return H
    split = [split_product(t) for t in H.args]
    numbers = {sp.Mul(*[f for f in sp.Mul.make_args(c) if f.is_number]) for c, _ in split}
    if len(numbers) != 1 or numbers == {1}:
        return H
    number = numbers.pop()
    terms = sorted(H.args, key=lambda t: isinstance(split_product(t)[1][-1], sp.Identity))
    inside = sp.MatAdd(*[multiply([split_product(t)[0] / number, *split_product(t)[1]], t) for t in terms],
                       evaluate=False)
    return D.step("common factor", prose("Every term has the factor ", number, ": take it out."), H,
                  sp.MatMul(number, inside), lhs=label)


def _flattened(expr):
    """Products of products as one product and the sum's terms in SymPy's order (yᵀ(Xβ) is yᵀXβ): the
    same expression whichever route built it."""
    flat = expr.replace(lambda e: isinstance(e, sp.MatMul), lambda e: sp.MatMul(*e.args).doit(deep=False))
    return flat.doit(deep=False) if isinstance(flat, sp.MatAdd) else flat


def _softplus_of_negatives(D: Derivation, f, label):
    """softplus(−u) = softplus(u) − u, multiplied out: (𝟏 − y)ᵀsoftplus(Xβ) + yᵀsoftplus(−Xβ) = 𝟏ᵀsoftplus(Xβ) − yᵀXβ."""
    negative = lambda e: isinstance(e, Elementwise) and e.name == "softplus" and e.arg.could_extract_minus_sign()  # noqa: E731
    if not f.has(Elementwise) or not any(negative(e) for e in sp.preorder_traversal(f)):
        return f
    split = f.replace(negative, lambda e: sp.MatAdd(Elementwise("softplus", -e.arg), e.arg))
    D.step("softplus(−u) = softplus(u) − u", prose("log(1 + e⁻ᵘ) = log(1 + eᵘ) − u, entrywise; multiplied out, the "
           "terms in softplus combine."), f, expand(split), lhs=label)
    return expand(split)


def _symmetric(D: Derivation, expr, model: Model, label):
    """Wᵀ = W for every matrix declared symmetric (sym, pd, diag), as one step per matrix."""
    objects = model.objects()
    for spec in model.symbols:
        if not set(spec.assumptions) & {"sym", "pd", "diag"}:
            continue
        W = objects[spec.name]
        after = _combine_like_terms(expr.xreplace({sp.Transpose(W): W}))
        if after != expr:
            kind = {"sym": "symmetric", "pd": "positive definite", "diag": "diagonal"}
            why = next(kind[a] for a in spec.assumptions if a in kind)
            expr = D.step(f"{unicode(W)} is symmetric", prose(W.T, " = ", W, ": ", W, " is declared ", why, "."),
                          expr, after, lhs=label)
    return expr


def _combine_like_terms(expr):
    """−XᵀW(y − Xβ) − XᵀW(y − Xβ) = −2XᵀW(y − Xβ): equal terms of a matrix sum added (nothing else)."""
    if not isinstance(expr, sp.MatAdd):
        return expr
    counts: dict = {}
    for t in expr.args:
        coefficient, factors = split_product(t)
        key = factors[0] if len(factors) == 1 else sp.MatMul(*factors)
        counts[key] = counts.get(key, 0) + coefficient
    terms = [multiply([c, k], k) for k, c in counts.items() if c != 0]
    return terms[0] if len(terms) == 1 else sp.MatAdd(*terms)


def _scalar_derivative(D: Derivation, f, p, lhs, result_lhs):
    """∂f/∂p term by term for a scalar parameter p (the terms free of p, quadratic forms included, vanish)."""
    terms = [t for t in sp.Add.make_args(f) if t.has(p)]
    derivative = with_registry_functions(sp.diff(f, p))   # ψ(a), not SymPy's polygamma(0, a)
    # Σᵢ(2μ − 2xᵢ)/(2σ²) = −Σᵢ(xᵢ − μ)/σ²: the numbers out of the sums, the residual as it is written
    derivative = collected_sums(derivative, INDEX, holding=[p])
    parts = []
    for t in terms:
        parts += ["; " if parts else "", Math(f"∂({unicode(t)})/∂{unicode(p)}",
                                               r"\frac{\partial}{\partial %s}\left(%s\right)" % (latex(p), latex(t))),
                  " = ", collected_sums(with_registry_functions(sp.diff(t, p)), INDEX, holding=[p])]
    why = prose("Term by term (", *parts, "); terms free of ", p, " vanish.")
    return D.step(f"differentiate in {unicode(p)}", why, f, derivative, check=IsGradient(p), lhs=result_lhs)


def _convexity(D: Derivation, H, p, model: Model, nonnegative=None) -> bool:
    """vᵀHv ≥ 0 for every v when H is a sum of positive multiples of AᵀSA (S ⪰ 0) and of I: shown as a
    sum of squares; otherwise the derivation says "convexity not shown" (never claims it)."""
    terms = list(H.args) if isinstance(H, sp.MatAdd) else [H]
    outer = sp.S.One
    if len(terms) == 1 and isinstance(H, sp.MatMul):
        coefficient, factors = split_product(H)
        if len(factors) == 1 and isinstance(factors[0], sp.MatAdd):   # 2(XᵀX + λI)
            outer, terms = coefficient, list(factors[0].args)
    v = sp.MatrixSymbol("v", p.rows * p.cols, 1)   # a direction in vec(p) for a matrix parameter
    squares, reasons = [], []
    for t in terms:
        found = _square_form(t, v, model, nonnegative or {})
        if found is None:
            D.notes.append(str(prose("Convexity in ", p, " not shown: the Hessian term ", t, " is not of a form "
                                     "derive recognises as positive semidefinite (a positive multiple of AᵀSA "
                                     "with S ⪰ 0, or of I).")))
            return False
        squares.append(found[0])
        reasons += [r for r in found[1] if r not in reasons]
    if not (outer.is_positive or outer == 1):
        D.notes.append(str(prose("Convexity in ", p, " not shown: the factor ", outer, " is not known to be positive.")))
        return False
    quadratic = multiply([v.T, H, v], H)
    total = squares[0] if len(squares) == 1 else sp.MatAdd(*squares)
    total = total if outer == 1 else sp.MatMul(outer, total)
    D.step("positive semidefinite", prose("For any ", v, ": ", quadratic, " = ", total, " ≥ 0, because ",
                                          *_joined(reasons), ". So ℓ is convex in ", p, " and every stationary "
                                          "point is a global minimum."), quadratic, total, check=Nonnegative())
    return True


def _joined(reasons):
    parts = []
    for k, reason in enumerate(reasons):
        parts += ([", " if k < len(reasons) - 1 else " and "] if k else []) + list(reason)
    return parts


def _square_form(term, v, model: Model, nonnegative):
    """(c(Av)ᵀS(Av) or c vᵀv, reasons) for a Hessian term c·AᵀSA or c·I with c > 0 and S ⪰ 0, else None."""
    coefficient, factors = split_product(term)
    if not (coefficient.is_positive or coefficient == 1):
        return None
    reason = [] if coefficient.is_number else [("", coefficient, " > 0")]
    if len(factors) == 1 and isinstance(factors[0], sp.Identity):
        return _scaled(coefficient, sp.MatMul(v.T, v)), reason + [("vᵀv = ‖v‖² ≥ 0",)]
    if len(factors) < 2 or factors[0] != sp.Transpose(factors[-1]).doit() and factors[0] != factors[-1].T:
        return None
    A, middle = factors[-1], factors[1:-1]
    Av = multiply([A, v], A)
    if not middle:
        return _scaled(coefficient, sp.MatMul(sp.Transpose(Av), Av)), reason + [(sp.Transpose(Av), Av, " = ‖", Av, "‖² ≥ 0")]
    if len(middle) != 1:
        return None
    S = middle[0]
    why = nonnegative.get(S) or _positive_semidefinite(S, model)
    if why is None:
        return None
    return _scaled(coefficient, sp.MatMul(sp.Transpose(Av), S, Av)), reason + [why]


def _scaled(coefficient, expr):
    return expr if coefficient == 1 else sp.MatMul(coefficient, *expr.args)


def _positive_semidefinite(S, model: Model):
    """Why S ⪰ 0 (a declared pd or positive diagonal matrix, diag(w) with w > 0), or None."""
    if isinstance(S, sp.MatrixSymbol):
        spec = model.symbol(S.name)
        if spec and "pd" in spec.assumptions:
            return ("", S, " is positive definite")
        return None
    if isinstance(_definition(S), DiagMatrix):
        w = _definition(S).args[0]
        if _positive_entries(entry(w, INDEX, w.rows)):
            return ("", S, " has positive diagonal entries")
    probabilities = _softmax_covariance(_definition(S))
    if probabilities is not None:
        block = Math("diag(pᵢ) − pᵢpᵢᵀ", r"\operatorname{diag}(p_{i}) - p_{i} p_{i}^{\top}")
        return ("", S, " holds, up to the order of its rows and columns, one block ", block, " per observation, ",
                Math("pᵢ", "p_{i}"), " the row i of ", probabilities, " (positive, summing to 1), and ",
                Math("uᵀ(diag(pᵢ) − pᵢpᵢᵀ)u = Σₖ pᵢₖuₖ² − (Σₖ pᵢₖuₖ)²",
                     r"u^{\top}(\operatorname{diag}(p_{i}) - p_{i} p_{i}^{\top})u = \sum_{k} p_{ik} u_{k}^{2} - "
                     r"\left(\sum_{k} p_{ik} u_{k}\right)^{2}"),
                " ≥ 0 is the variance of u under the probabilities ", Math("pᵢ", "p_{i}"))
    return None


def _softmax_covariance(S):
    """P = softmax(Z) when S = diag(p) − diag(p)(𝟏 ⊗ I)(𝟏ᵀ ⊗ I)diag(p) with p = vec(P), the vec form of the
    covariance diag(pᵢ) − pᵢpᵢᵀ of each row pᵢ of P (the softmax Hessian's middle), else None."""
    if not isinstance(S, sp.MatAdd) or len(S.args) != 2:
        return None
    diagonal_part, outer = sorted(S.args, key=lambda t: len(split_product(t)[1]))
    coefficient, factors = split_product(outer)
    if not isinstance(diagonal_part, DiagMatrix) or coefficient != -1 or len(factors) != 4 \
            or factors[0] != diagonal_part or factors[3] != diagonal_part:
        return None
    p = diagonal_part.args[0]
    P = _definition(p.arg) if isinstance(p, Vec) else None
    if not isinstance(P, VectorApplication) or P.name != "softmax" or not P.rowwise:
        return None
    spread = sp.KroneckerProduct(sp.OneMatrix(P.cols, 1), Eye(P.rows))
    return P if factors[1] == spread and factors[2] == spread.T.doit() else None


def softmax_blocks(H):
    """(A, P) when H = (I ⊗ Aᵀ)S(I ⊗ A) with S the softmax covariance of the rows of P = softmax(AW): the
    Hessian of vec(W) the plan derives for softmax regression, whose block (k, l) is
    Aᵀdiag(pₖ ⊙ (δₖₗ𝟏 − pₗ))A (pₖ column k of P), so that a fit evaluates it without the nK×nK matrix S;
    else None."""
    coefficient, factors = split_product(H)
    if coefficient != 1 or len(factors) != 3 or not all(isinstance(f, sp.KroneckerProduct) for f in factors[::2]):
        return None
    (I, At), S, (I_right, A) = factors[0].args, factors[1], factors[2].args
    if I != I_right or not isinstance(I, sp.Identity) or At != A.T:
        return None
    P = _softmax_covariance(_definition(S))
    return (A, P) if P is not None and P.arg.args[:-1] == (A,) else None


def _definition(M):
    """What a named matrix stands for (S = diag(s)); any other matrix itself."""
    return M.definition if isinstance(M, Named) else M


def _positive_entries(e) -> bool:
    """Whether the scalar formula is positive for all values: exp > 0, 0 < σ < 1, products and sums of such."""
    if e.is_positive:
        return True
    if isinstance(e, (sp.exp, sigmoid)):
        return True
    if isinstance(e, sp.Mul):
        return all(_positive_entries(a) for a in e.args)
    if isinstance(e, sp.Add):
        if all(_positive_entries(a) for a in e.args):
            return True
        others = [a for a in e.args if a != sp.S.One]
        return len(others) == 1 and len(e.args) == 2 and isinstance(-others[0], sigmoid)   # 1 − σ(u) > 0
    return False


def _scalar_convexity(D: Derivation, H, p, statement=None) -> bool:
    if H.is_positive:
        D.step("positive second derivative", prose(H, " > 0 for every ", p, " in its domain, so ℓ is convex in ",
                                                   p, "."), H, H, check=Nonnegative())
        return True
    bounded, bounds = positive_by_bounds(H)
    if bounds:   # n·ψ′(a) > 0 by a known bound of the special function
        D.step("positive second derivative", prose(H, " > 0 for every ", p, " in its domain (", *bounds, "), so ℓ is "
                                                   "convex in ", p, "."), H, H, check=Nonnegative())
        return True
    reasons = _nonnegative_terms(H, p, statement)
    if reasons is not None:
        D.step("nonnegative second derivative", prose(H, " ≥ 0 for every ", p, " in its domain: ", *_joined(reasons),
                                                      ". So ℓ is convex in ", p, " and its stationary point is the "
                                                      "minimiser in ", p, "."), H, H, check=Nonnegative())
        return True
    D.notes.append(str(prose("Convexity in ", p, " not shown: derive does not show that the second derivative ",
                             H, " is positive for every value.")))
    return False


# ---------------------------------------------------------------------------------------------------
# Stationarity: closed form, one parameter at a time, else Newton
# ---------------------------------------------------------------------------------------------------
def _hat(p):
    name, tex = unicode(p), latex(p)
    if name.endswith("²"):
        return Notation(name[:-1] + "̂²", r"\hat{%s}^{2}" % tex.split("^")[0])
    return Notation(name + "̂", r"\hat{%s}" % tex)


def _solve(P: Plan, p) -> None:
    D = P.derivation
    g, H = P.gradients[p], P.hessians[p]
    _require_differentiable(g, p)
    zero = sp.ZeroMatrix(*p.shape) if p.is_Matrix else sp.S.Zero
    D.step("set the gradient to zero", prose("At a minimum of a differentiable function the ",
                                             "gradient" if p.is_Matrix else "derivative", " in ", p, " vanishes."),
           g, sp.Eq(g, zero, evaluate=False), relation="")
    stationary = sp.Eq(g, zero, evaluate=False)
    if p.is_Matrix and not H.has(p):
        P.solutions[p] = _linear_solution(D, stationary, H, p)
    elif not p.is_Matrix:
        P.solutions[p] = _scalar_solution(D, stationary, p, P.parameters[:P.parameters.index(p)], P.statement)
        if P.solutions[p] is None:
            _newton(D, g, H, p)
        elif not P.convex[p] and not _several_scalars(P):   # several: the joint argument at the estimates
            _second_order_at(D, H, p, P.solutions[p])
    elif p.cols != 1:
        P.solutions[p] = None
        P.updates[p] = _gradient_descent(D, P, g, p)
    else:
        P.solutions[p] = None
        _newton(D, P.shown_gradients.get(p, g), H, p)


def _require_differentiable(g, p) -> None:
    """Stationarity finds a minimum of a differentiable loss only: a gradient with sign or step in it (of |u|,
    relu) jumps, so ∇ = 0 may have no solution and its Hessian is 0 wherever it exists (no Newton step)."""
    for e in sp.preorder_traversal(g):
        record = record_of(e)
        if record is not None and record.caveat:
            raise NotSupported(f"the gradient in {unicode(p)} contains {record.describe()}, and "
                               f"{record.caveat.split(';')[0]}: the loss is not differentiable everywhere, so "
                               "setting the gradient to zero (or a "
                               "Newton step) does not find its minimum; a subgradient or linear-programming method "
                               "is needed")


def _linear_solution(D: Derivation, stationary, H, p):
    """g = Hp + g(0) with H free of p: the normal equations Ap = b (H = cA), and p̂ = A⁻¹b."""
    g = stationary.lhs
    at_zero = _tidy(g.subs(p, sp.ZeroMatrix(*p.shape)).doit())
    c, A = _common_factor(H)
    b = _tidy(sp.MatMul(-1 / c, at_zero).doit()) if at_zero != 0 else sp.ZeroMatrix(*p.shape)
    normal = sp.Eq(multiply([A, p], A), b, evaluate=False)
    scaling = [] if c == 1 else (["multiply by ", 1 / c, " and "] if (1 / c).is_Symbol or (1 / c).is_Integer
                                 else ["divide by ", c, " and "])
    D.step("normal equations", prose("The gradient is linear in ", p, " (its Hessian is free of ", p, "): ",
                                     *scaling, "move the terms free of ", p, " to the right-hand side."),
           stationary, normal, check=Scaled(1 / c), relation="")
    solution = multiply([sp.Inverse(A), b], b)
    why = prose("Multiply both sides by ", sp.Inverse(A), ", which exists when ", A, " is positive definite "
                "(full column rank of the data).")
    ridge = _ridge_reading(A, p)
    D.step("solve the linear equations", why + ridge if ridge else why, normal, solution, check=Solves(p), lhs=_hat(p))
    return solution


def _common_factor(H):
    """(c, A) with H = cA: c the scalar coefficient of H, or for a sum that of its first term that is not a
    multiple of I, so that the data term stands alone (XᵀX + (σ²/τ²)I, as a textbook writes ridge)."""
    if isinstance(H, sp.MatMul):
        coefficient, factors = split_product(H)
        if coefficient != 1:
            return coefficient, factors[0] if len(factors) == 1 else sp.MatMul(*factors)
    if isinstance(H, sp.MatAdd):
        terms = sorted(H.args, key=lambda t: isinstance(split_product(t)[1][-1], sp.Identity))
        coefficient = split_product(terms[0])[0]
        if coefficient != 1 and coefficient.is_positive:
            scaled = [multiply([split_product(t)[0] / coefficient, *split_product(t)[1]], t) for t in terms]
            return coefficient, sp.MatAdd(*scaled, evaluate=False)
    return sp.S.One, H


def _ridge_reading(A, p):
    """'(XᵀX + κI)p = Xᵀy is ridge regression with λ = κ' when A has that form (the MAP reading of ridge)."""
    if not isinstance(A, sp.MatAdd) or len(A.args) != 2:
        return None
    gram, ridge = sorted(A.args, key=lambda t: isinstance(split_product(t)[1][-1], sp.Identity))
    kappa, identity = split_product(ridge)
    _, factors = split_product(gram)
    if len(identity) == 1 and isinstance(identity[0], sp.Identity) and len(factors) == 2 and \
            factors[0] == factors[1].T and kappa.is_positive and not kappa.is_number:
        return prose(" These are the normal equations of ridge regression with λ = ", kappa, ": the penalty is the "
                     "prior's, and a stronger prior (smaller variance) is a larger λ.")
    return None


def _tidy(expr):
    """Products flattened and numeric factors multiplied out (a sign, a 2), nothing else changed."""
    if isinstance(expr, sp.MatMul):
        coefficient, factors = split_product(expr)
        return multiply([coefficient, *factors], expr)
    if isinstance(expr, sp.MatAdd):
        return sp.MatAdd(*[_tidy(t) for t in expr.args])
    return expr


def _named_mean(solution, statement):
    """(1/n)Σᵢ xᵢ as the sample mean x̄, the name a textbook gives it (σ̂² = (1/n)Σᵢ(xᵢ − x̄)² then reads so)."""
    if statement is None or not statement.index or not solution.has(sp.Sum):
        return solution
    observed = statement.observed
    x_i = entry(observed, INDEX, observed.rows)
    mean = sp.Sum(x_i, (INDEX, 1, observed.rows)) / observed.rows
    if sp.expand(split_fully(solution) - mean) != 0:   # Σᵢxᵢ/(Σᵢ(1 − xᵢ) + Σᵢxᵢ) is Σᵢxᵢ/n; simplify takes a second
        return solution
    return Abbreviation(observed.name + "̄", r"\bar{%s}" % latex(observed), mean)


def _scalar_solution(D: Derivation, stationary, p, solved_before, statement=None):
    """The stationarity equation of a scalar parameter solved exactly (quadratic forms held as numbers)."""
    equation = split_sums(stationary.lhs, INDEX)   # Σᵢ(xᵢ − μ) = Σᵢ xᵢ − nμ: the parameter out of the sums
    held = {s: sp.Dummy(positive=None) for s in equation.atoms(Scalar, sp.Sum) if not s.has(p)}
    try:
        solutions = sp.solve(equation.xreplace(held), p)
    except NotImplementedError:   # transcendental in p (ψ(a) = log b − …): no closed form
        solutions = []
    back = {v: k for k, v in held.items()}
    solutions = [s.xreplace(back) for s in solutions]
    if len(solutions) != 1:
        D.notes.append(str(prose("No closed-form solution for ", p, " (the equation is transcendental in ", p, ").")
                           if not solutions else prose("No single closed-form solution for ", p, " (",
                                                       len(solutions), " roots).")))
        return None
    solution = _named_mean(solutions[0], statement)
    earlier = [q for q in solved_before if solution.has(q)]
    after = prose(" It holds at every value of ", *_joined([(q,) for q in earlier]), ", so in particular at the "
                  "estimate found above: solved one parameter at a time.") if earlier else ""
    named = prose(" It is the sample mean, ", solution, " = ", solution.definition, ".") \
        if isinstance(solution, Abbreviation) else ""
    D.step("solve for " + unicode(p), prose("The equation is solved exactly for ", p, ".") + named + after,
           stationary, solution, check=Solves(p), lhs=_hat(p))
    return solution


def _second_order_at(D: Derivation, H, p, solution) -> None:
    """The second derivative at the stationary point, where convexity was not shown: positive there (with
    every sum of squares uᵀu > 0) makes it a minimum, the only stationary point, so the minimum along p."""
    at = H.subs(p, solution)
    squares = {s: sp.Dummy(positive=True) for s in at.atoms(Scalar) if _is_sum_of_squares(s.matrix)}
    squares.update({s: sp.Dummy(positive=True) for s in at.atoms(sp.Sum)
                    if s.function.is_Pow and s.function.exp == 2})   # Σᵢ(xᵢ − μ)² > 0 unless every xᵢ = μ
    simplified = sp.factor(sp.simplify(at.xreplace(squares))).xreplace({v: k for k, v in squares.items()})
    if not simplified.xreplace(squares).is_positive:
        D.notes.append(str(prose("The second derivative in ", p, " at the stationary point, ", simplified,
                                 ", is not shown to be positive.")))
        return
    reasons = [(s, " > 0") for s in squares if simplified.has(s)]
    why = prose("At ", _hat(p), " the second derivative is ", simplified, " > 0",
                *([" (", *_joined(reasons), " unless the fit is exact)"] if reasons else []),
                ": the only stationary point is a minimum, so it is the minimiser in ", p, ".")
    D.step("second-order condition", why, at, simplified,
           lhs=Notation(f"∂²ℓ/∂{unicode(p)}² at {_hat(p).text}", r"\left.\frac{\partial^{2} \ell}{\partial "
                        r"(%s)^{2}}\right|_{%s}" % (latex(p), _hat(p).latex)))


def _nonnegative_terms(H, p, statement):
    """Why each term of H is ≥ 0 for every value of the parameter p in its domain and every sample in the
    support (Σᵢ xᵢ ≥ 0 and Σᵢ(1 − xᵢ) ≥ 0 for xᵢ ∈ {0, 1}, 1/p² > 0), or None where a term is not shown."""
    if statement is None or not statement.index:
        return None
    domain = next((d.name for (_, d), a in zip(statement.family.parameters, statement.arguments) if a == p), None)
    image = DOMAIN_IMAGES.get(domain)
    if image is None:
        return None
    s = sp.Dummy("s", positive=True)
    reasons = []
    for term in sp.Add.make_args(H):
        sums = [f for f in sp.Mul.make_args(term) if isinstance(f, sp.Sum)]
        rest = sp.Mul(*[f for f in sp.Mul.make_args(term) if not isinstance(f, sp.Sum)])
        if not rest.xreplace({p: image(s)}).is_positive:
            return None
        for total in sums:
            why = _nonnegative_sum(total, statement)
            if why is None:
                return None
            if why not in reasons:
                reasons.append(why)
    reasons.append((p, " is ", domain, ", so the other factors are positive"))
    return reasons


def _nonnegative_sum(total, statement):
    """(reason,) when every term of the sum over observations is ≥ 0 on the support of the observations."""
    observed = statement.observed
    entries = [e for e in total.function.atoms(sp.Indexed) if str(e.base.label) == observed.name]
    support = statement.family.support.name
    if support == "0 or 1":
        values = [{e: sp.Integer(v) for e in entries} for v in (0, 1)]
        if all(total.function.xreplace(v).is_nonnegative for v in values):
            return (total, " ≥ 0 (each ", entries[0] if entries else "term", " is 0 or 1)")
        return None
    kind = {"a count 0, 1, 2, …": {"nonnegative": True, "integer": True}, "a positive number": {"positive": True}}
    if support in kind and total.function.xreplace({e: sp.Dummy(**kind[support]) for e in entries}).is_nonnegative:
        return (total, " ≥ 0 (each observation is ", support, ")")
    return None


def _is_sum_of_squares(M) -> bool:
    """uᵀu (a squared norm)."""
    return isinstance(M, sp.MatMul) and len(M.args) == 2 and M.args[0] == sp.Transpose(M.args[1])


def _newton(D: Derivation, g, H, p):
    """No closed form: linearise the gradient and solve for the step (Newton; IRLS for a GLM)."""
    if p.is_Matrix:
        Delta = sp.MatrixSymbol("Delta", *p.shape)
        linearised = sp.Eq(sp.MatAdd(g, sp.MatMul(H, Delta)), sp.ZeroMatrix(*p.shape), evaluate=False)
        step = multiply([sp.S.NegativeOne, sp.Inverse(H), g], g)
    else:
        Delta = sp.Symbol("Delta", real=True)
        linearised = sp.Eq(g + H * Delta, 0, evaluate=False)
        step = -g / H
    D.step("Newton step", prose("The equations are nonlinear in ", p, ": no closed form. Linearise the gradient "
           "about the current ", p, ", ∇ℓ(", p, " + Δ) ≈ ∇ℓ(", p, ") + HΔ, and solve for the Δ that makes it zero."),
           linearised, sp.Eq(Delta, step, evaluate=False), check=Solves(Delta), relation="")
    update = sp.MatAdd(p, step) if p.is_Matrix else p + step
    new = Notation(f"{unicode(p)}_new", r"%s_{\text{new}}" % latex(p))
    D.step("Newton update", prose("Move ", p, " by Δ and repeat until the gradient is zero (to rounding)."),
           update, update, lhs=new)
    if p.is_Matrix:
        _irls_reading(D, g, H, p, update, new)


def _gradient_descent(D: Derivation, P: Plan, g, p):
    """A matrix parameter without a closed form (softmax regression's W): where the loss sees W only through
    softmax(XW), W + a𝟏ᵀ has the same loss (a verified step), so the Hessian is singular and the Newton step
    −H⁻¹g does not exist; the update that needs no Hessian is a gradient step."""
    if _only_through_softmax(P.model.expression(P.model.loss) if P.model.loss else P.loss, p):
        a = sp.MatrixSymbol("a", p.rows, 1)
        shift = sp.MatMul(a, sp.OneMatrix(1, p.cols))
        stated = scalar_form(P.model.expression(P.model.loss))
        D.step("softmax ignores a common shift", prose(
            Math("softmax(z + c𝟏) = softmax(z)", r"\operatorname{softmax}(z + c\mathbf{1}) = \operatorname{softmax}(z)"),
            ": the exponentials and their sum share the factor ", Math("eᶜ", "e^{c}"), ". So the loss is the same at ", p, " and ", sp.MatAdd(p, shift), " for every ", a, ": ", p, " is determined only up to such "
            "a shift, the Hessian is singular along ", Vec(shift), ", and the Newton step −H⁻¹g does not exist. "
            "Fixing one class (its column of ", p, " zero, the reference class) or columns that sum to zero makes "
            "the minimiser unique."), stated.xreplace({p: sp.MatAdd(p, shift)}), stated,
            lhs=Notation(f"ℓ({unicode(p)} + {unicode(shift)})", r"\ell(%s + %s)" % (latex(p), latex(shift))))
    eta = sp.Symbol("eta", positive=True)
    update = sp.MatAdd(p, multiply([-eta, g], g))
    convex = "; ℓ is convex, so the steps (small enough: η at most 1/L, L a bound on the curvature) reach its " \
        "minimum" if P.convex.get(p) else ""
    D.step("gradient-descent update", prose(
        "The equations ", sp.Eq(g, sp.ZeroMatrix(*p.shape), evaluate=False), " are nonlinear in ", p, ": no closed "
        "form. Step against the gradient with a step size ", eta, " > 0 and repeat until the gradient is zero (to "
        "rounding)", convex, "."), update, update, lhs=Notation(f"{unicode(p)}_new", r"%s_{\text{new}}" % latex(p)))
    return update


def _named_probabilities(D: Derivation, P: Plan, g, p, label) -> None:
    """Aᵀ(softmax(Ap) − Y) as a textbook writes it, Aᵀ(P − Y) with P the matrix of predicted class probabilities:
    a step naming P (which `check` then reads in an answer), and the gradient later steps show."""
    softmaxes = {e for e in sp.preorder_traversal(g) if isinstance(e, VectorApplication) and e.name == "softmax"
                 and e.rowwise and e.arg.has(p)}
    if len(softmaxes) != 1:
        return
    probabilities = softmaxes.pop()
    named = Named(*_free_name(P.model, "P"), probabilities)
    shown = g.xreplace({probabilities: named})
    D.step("the predicted probabilities", prose(
        "Call ", named, " = ", probabilities, " the ", Math(f"{unicode(probabilities.rows)}×{unicode(probabilities.cols)}",
                                                             rf"{latex(probabilities.rows)} \times {latex(probabilities.cols)}"), " matrix of "
        "predicted class probabilities (row i is the softmax of the scores of observation i, positive and summing "
        "to 1): the gradient is ", shown, ", the data times the residuals, predicted probabilities minus the "
        "observed ones, as in binary logistic regression."), g, shown, lhs=label)
    P.shown_gradients[p] = shown


def _names_in(expr) -> dict:
    """definition → name for each Named matrix in `expr` (P in the gradient Xᵀ(P − Y) shown), for later steps."""
    return {} if expr is None else {e.definition: e for e in sp.preorder_traversal(expr) if isinstance(e, Named)}


def _only_through_softmax(loss, p) -> bool:
    """Whether p enters the loss only as the argument of a row-wise softmax of A·p."""
    inside = [e for e in sp.preorder_traversal(loss) if isinstance(e, VectorApplication) and e.name == "softmax"
              and e.rowwise and e.arg.has(p)]
    if not inside or any(not isinstance(e.arg, sp.MatMul) or e.arg.args[-1] != p or
                         sp.MatMul(*e.arg.args[:-1]).has(p) for e in inside):
        return False
    return not loss.xreplace({e: sp.ZeroMatrix(*e.shape) for e in inside}).has(p)


def _irls_reading(D: Derivation, g, H, p, update, label) -> None:
    """For g = Aᵀr and H = Aᵀdiag(w)A (a GLM), the Newton update is a weighted least-squares fit:
    p_new = (AᵀSA)⁻¹AᵀSz with S = diag(w) and the working response z = Ap − S⁻¹r (IRLS)."""
    g_coefficient, g_factors = split_product(g)
    h_coefficient, h_factors = split_product(H)
    if g_coefficient != 1 or h_coefficient != 1 or len(g_factors) != 2 or len(h_factors) != 3:
        return
    At, r = g_factors
    if h_factors[0] != At or h_factors[2].T != At or not isinstance(_definition(h_factors[1]), DiagMatrix):
        return
    A, S = h_factors[2], h_factors[1]
    z = sp.MatAdd(sp.MatMul(A, p), sp.MatMul(-1, sp.Inverse(S), r))
    weighted = sp.MatMul(sp.Inverse(H), At, S, z)
    named = S if isinstance(S, Named) else sp.MatrixSymbol("S", *S.shape)   # the weights' name
    zed = sp.MatrixSymbol("z", *r.shape)
    D.step("iteratively reweighted least squares", prose(
        *([] if S is named else ["With S = ", S, " the Hessian is ", sp.MatMul(At, named, A), "; "]), "The update is the weighted least-squares "
        "fit ", sp.MatMul(sp.Inverse(sp.MatMul(At, named, A)), At, named, zed), " to the working response z = ",
        sp.MatAdd(sp.MatMul(A, p), sp.MatMul(-1, sp.Inverse(named), r)), ": Newton's method for this likelihood "
        "is IRLS, one weighted least-squares solve per step."), update, weighted, lhs=label)


def _as_vectors(expr):
    """A result's sums over observations in vector form (Σᵢ xᵢ = 𝟏ᵀx, Σᵢ(xᵢ − x̄)² = (x − x̄𝟏)ᵀ(x − x̄𝟏)), innermost
    first: the steps write a sample's sums as a textbook does, the results as the matrix expressions that
    code is generated from (and that `.doit()` evaluates)."""
    return expr.replace(lambda e: isinstance(e, sp.Sum) and e.limits[0][0] == INDEX,
                        lambda e: sum_in_vector_form(e.function, INDEX, e.limits[0][2]))


def loss_result(loss):
    """The loss as a result: one quadratic form is its 1×1 matrix ((y − Xβ)ᵀW(y − Xβ)); a sum of numbers and
    quadratic forms stays a scalar (n log(2πσ²)/2 + (y − Xβ)ᵀ(y − Xβ)/(2σ²)), whose `Scalar` parts `.doit()`."""
    if isinstance(loss, Scalar):
        return loss.matrix
    coefficient, factors = split_product(loss) if isinstance(loss, sp.MatMul) else (None, None)
    if factors == [sp.OneMatrix(1, 1)]:   # c·𝟏 (1×1) of a trace loss: the number c, −tr(Yᵀ log softmax(XW))
        return coefficient
    return loss


def _record_results(P: Plan) -> None:
    """results: loss, gradient, hessian, solution (each parameter's, the earlier ones substituted) or update."""
    ps = P.parameters
    solutions, substituted = {}, {}
    for p in ps:
        s = P.solutions[p]
        if s is not None:
            substituted[p] = s.xreplace(solutions) if solutions else s
            solutions[p] = substituted[p]

    def one_or_tuple(values):
        # several scalars: a column, as (μ, σ²) is one vector of parameters; a vector and a scalar: a pair
        if len(values) == 1:
            return values[0]
        return sp.ImmutableMatrix(values) if _several_scalars(P) else sp.Tuple(*values)

    results = {"loss": loss_result(P.loss),
               "gradient": one_or_tuple([P.gradients[p] for p in ps]),
               "hessian": P.joint_hessian if P.joint_hessian is not None else one_or_tuple([P.hessians[p] for p in ps])}
    if len(substituted) == len(ps):
        results["solution"] = one_or_tuple([substituted[p] for p in ps])
    else:
        updates = [P.updates[p] if p in P.updates else
                   sp.MatAdd(p, multiply([sp.S.NegativeOne, sp.Inverse(P.hessians[p]),
                                          P.shown_gradients.get(p, P.gradients[p])], p))
                   if p.is_Matrix else p - P.gradients[p] / P.hessians[p] for p in ps if P.solutions[p] is None]
        results["update"] = one_or_tuple(updates)
    if len(ps) > 1:
        P.derivation.notes.append("The results hold one entry per parameter, in the order "
                                  + ", ".join(unicode(p) for p in ps) + "; each solution has the earlier ones "
                                  "substituted (solved one parameter at a time).")
    P.derivation.results = {quantity: _as_vectors(unfold(expr)) for quantity, expr in results.items()}
    # what code is generated from (derive.fitting): the solutions as plain matrix expressions, as the results
    P.solutions = {p: _as_vectors(unfold(s)) if s is not None and s.has(sp.Sum, Abbreviation) else s
                   for p, s in P.solutions.items()}
    P.derivation.shown_results = {q: e for q, e in results.items() if P.derivation.results[q] != e}


# ---------------------------------------------------------------------------------------------------
# Verification domains and descriptions, from the declarations
# ---------------------------------------------------------------------------------------------------
# What a declared matrix of a model file draws, the first of these assumptions deciding: the shared table,
# except that a symmetric matrix is drawn positive definite, as the planner has always drawn a model file's
# weights W (so that a weighted normal matrix XᵀWX is invertible at every point).
MATRIX_ASSUMPTIONS = ("pd", "sym", "diag", "prob")
MATRIX_SAMPLERS = {**BY_ASSUMPTION, "sym": spd}


def _domains(model: Model, statement) -> Domains:
    samplers = {}
    objects = model.objects()
    dims = set()
    for spec in model.symbols:
        dims |= {k for k in spec.shape if isinstance(k, str)}
        obj = objects[spec.name]
        declared = next((a for a in MATRIX_ASSUMPTIONS if a in spec.assumptions), None)
        if spec.shape and declared:
            samplers[spec.name] = MATRIX_SAMPLERS[declared]
        elif "pos" in spec.assumptions:
            samplers[getattr(obj, "name", spec.name)] = BY_ASSUMPTION["pos"]
    if statement is not None:
        samplers[statement.observed.name] = statement.family.support.sample
        for (_, domain), argument in zip(statement.family.parameters, statement.arguments):
            if isinstance(argument, sp.Symbol):
                samplers[argument.name] = domain.sample
    for name in dims:
        samplers.setdefault(name, dimension(6, 9) if name == "n" else dimension(2, 4))
    for p in model.parameter_objects():
        if p.is_Matrix:
            samplers.setdefault(p.name, normal)
    return Domains(samplers)


def _describe(model: Model, spec, statement) -> str:
    words = []
    if spec.shape:
        rows, cols = spec.shape
        words.append(f"{rows}×1 vector" if cols == 1 else f"{rows}×{cols} matrix")
    else:
        words.append("scalar")
    words += [{"pd": "positive definite", "sym": "symmetric", "diag": "diagonal", "pos": "positive",
               "prob": "each row probabilities (one-hot or a distribution)" if spec.shape[1:] != (1,)
               else "probabilities (summing to 1)"}[a]
              for a in spec.assumptions]
    if spec.name in model.parameters:
        words.append("the parameter")
    elif statement is not None and statement.observed.name == spec.name and statement.rows:
        words.append(f"observed: row i is the observation {unicode(statement.observation(INDEX))}ᵀ")
    elif statement is not None and statement.observed.name == spec.name:
        words.append(f"observed ({statement.family.support.name} each)")
    return ", ".join(words)
