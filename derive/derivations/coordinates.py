"""The index and components forms of a planned derivation, by one translation for every model.

The plan's loss is written in summation notation (`derive.calculus.index_form.summation_form`: a product's
entry is a sum over the shared index, xᵢᵀβ is Σⱼ Xᵢⱼβⱼ) and differentiated one coordinate at a time:

    index       ∂ℓ/∂βₖ under the sums, ∂βⱼ/∂βₖ = δⱼₖ summed out by hand, the sums over i collected; then
                the same for ∂²ℓ/∂βₖ∂βₗ; each result is shown to be entry k (entry (k, l)) of the matrix form's
    components  the loss written out for a given d (β₀ … β_{d−1}), and each ∂ℓ/∂βₖ, ∂²ℓ/∂βₖ∂βₗ in turn

Nothing here knows a model: what differs between ols and probit is the plan's loss and results.
"""
from __future__ import annotations

import dataclasses

import sympy as sp

from derive.calculus.index_form import (
    EntryOf,
    IsPartial,
    eliminate_deltas,
    entry_of,
    partial_derivative,
    summation_form,
)
from derive.core.numeval import evaluate
from derive.core.random_points import constant
from derive.core.steps import Check, Derivation, Domains, IndexIn, IsGradient
from derive.derivations.abbreviations import unfold
from derive.derivations.lemmas import sigmoid_facts, uses_sigmoid
from derive.derivations.sentences import prose
from derive.errors import NotSupported
from derive.expr.notation import Notation
from derive.expr.printing import latex, unicode

MAX_COMPONENTS = 6
DEFAULT_COMPONENTS = 2      # `derive show ols --form components` without --dim


def coordinate_derivation(P, form: str, dim: int | None) -> Derivation:
    """The plan `P` in the index form or written out in components (for `dim` features)."""
    if P.stopped:
        raise NotSupported(f"{P.model.name} is derived only in part ({P.stopped}); its {form} form needs the whole "
                           "matrix derivation")
    if P.statement is not None and P.statement.rows:   # a sample of vector observations (xᵢ ~ N(μ, Σ))
        if form != "index":
            raise NotSupported(f"no form {form!r} for {P.model.name}: its parameters are a vector and a matrix, "
                               "written in matrix or index form (forms: matrix, index)")
        from derive.derivations.sample_coordinates import index_form
        return index_form(P)
    vectors = [p for p in P.parameters if p.is_Matrix]
    if any(p.cols != 1 for p in vectors) or len(vectors) > 1:
        raise NotSupported(f"the {form} form is written for one vector parameter and scalar ones, not "
                           f"{', '.join(unicode(p) for p in P.parameters)} (forms: matrix)")
    matrix = P.derivation
    if not vectors and form == "index":   # scalar parameters: every step is already in summation notation (Σᵢ xᵢ)
        return dataclasses.replace(matrix, form="index", steps=list(matrix.steps), results=dict(matrix.results),
                                   notes=list(matrix.notes), sections=list(matrix.sections))
    D = Derivation(matrix.title, model=matrix.model, form=form, domains=_domains(P, form, dim))
    D.symbols = list(matrix.symbols)
    loss_label = next(s.lhs for s in reversed(matrix.steps) if s.lhs is not None and s.lhs.text.startswith("ℓ("))
    if uses_sigmoid(sp.Tuple(*[unfold(g) for g in P.gradients.values()])):
        sigmoid_facts(D)
    D.section("The loss")
    loss = summation_form(P.loss)
    D.step("in summation notation", prose("The loss of the matrix form, ", P.loss, ", entry by entry: the entry "
                                          "of a product is a sum over the index the factors share, (AB)ᵢₖ = "
                                          "Σⱼ AᵢⱼBⱼₖ, so xᵢᵀβ is Σⱼ Xᵢⱼβⱼ."), P.loss, loss, lhs=loss_label)
    if form == "components":
        if not vectors:
            raise NotSupported(f"{P.model.name} has only scalar parameters, already its own components "
                               "(forms: matrix, index)")
        return _components(D, P, loss, loss_label, _size(dim))
    return _index(D, P, loss)


def _size(dim) -> int:
    if dim is None:
        return DEFAULT_COMPONENTS
    if not isinstance(dim, int) or not 1 <= dim <= MAX_COMPONENTS:
        raise NotSupported(f"--dim must be a whole number from 1 to {MAX_COMPONENTS} for the components form, "
                           f"not {dim!r}")
    return dim


def _domains(P, form, dim) -> Domains:
    samplers = dict(P.derivation.domains.samplers)
    for p in P.parameters:
        if p.is_Matrix:
            samplers.update({"k": IndexIn(str(p.rows)), "l": IndexIn(str(p.rows))})
            if form == "components":
                samplers[str(p.rows)] = constant(_size(dim))
    return Domains(samplers)


# ---------------------------------------------------------------------------------------------------
# Summation notation
# ---------------------------------------------------------------------------------------------------
K, L = sp.symbols("k l", integer=True)


def _index(D: Derivation, P, loss) -> Derivation:
    results = {"loss": loss}
    gradients, hessians = [], []
    for p in P.parameters:
        name = unicode(p)
        if p.is_Matrix:
            base = sp.IndexedBase(p.name, shape=(p.rows,))
            D.section(f"The gradient in {name}, one coordinate at a time")
            first = Notation(f"∂ℓ/∂{name}_k", r"\frac{\partial \ell}{\partial %s_{k}}" % latex(p))
            g = _coordinate(D, loss, base, K, first, P.gradients[p], (K, sp.S.One))
            D.section(f"The Hessian in {name}")
            second = Notation(f"∂²ℓ/∂{name}_k∂{name}_l",
                              r"\frac{\partial^{2} \ell}{\partial %s_{k} \partial %s_{l}}" % (latex(p), latex(p)))
            H = _coordinate(D, g, base, L, second, P.hessians[p], (K, L))
        else:
            D.section(f"The derivatives in {name}")
            g = D.step(f"differentiate in {name}", prose("Term by term; the terms free of ", p, " vanish."), loss,
                       _tidy(sp.diff(loss, p)), check=IsGradient(p), lhs=Notation(f"∂ℓ/∂{name}",
                                                                                 r"\frac{\partial \ell}{\partial %s}" % latex(p)))
            H = D.step(f"differentiate again in {name}", prose("Once more in ", p, "."), g, _tidy(sp.diff(g, p)),
                       check=IsGradient(p), lhs=Notation(f"∂²ℓ/∂{name}²", r"\frac{\partial^{2} \ell}{\partial (%s)^{2}}"
                                                         % latex(p)))
        gradients.append(g)
        hessians.append(H)
    results["gradient"] = gradients[0] if len(gradients) == 1 else sp.Tuple(*gradients)
    results["hessian"] = hessians[0] if len(hessians) == 1 else sp.Tuple(*hessians)
    for quantity in ("solution", "update"):
        if quantity in P.derivation.results:
            results[quantity] = P.derivation.results[quantity]
            D.notes.append(f"The {quantity} is derived in matrix form (derive show {P.model.name}).")
    D.results = results
    return D


def _coordinate(D: Derivation, f, base, index, label, matrix_result, entry):
    """∂f/∂base_index under the sums, the delta summed out, the sums collected, and the result shown to be
    `entry` of the matrix form's `matrix_result` (its textbook form, in summation notation; the matrix as the
    matrix form writes it, XᵀSX with S named there)."""
    with_deltas = D.step("differentiate under the sums", prose(
        "Differentiate each term (the chain rule inside the sums), with ∂", base.label, "ⱼ/∂", base.label, "_",
        index, " = δ_j", index, ", 1 when j = ", index, " and 0 otherwise."),
        f, partial_derivative(f, base, index), check=IsPartial(base, index), lhs=label)
    summed = eliminate_deltas(with_deltas)
    if summed != with_deltas:
        D.step("sum out the Kronecker delta", prose("A sum over j of a term with δ_j", index, " keeps only the term "
                                                    "j = ", index, "."), with_deltas, summed, lhs=label)
    collected = _collect_sums(summed)
    if collected != summed:
        D.step("collect the sums", "Sums over the same index run together: Σᵢ aᵢ + Σᵢ bᵢ = Σᵢ (aᵢ + bᵢ).",
               summed, collected, lhs=label)
    textbook = _collect_sums(eliminate_deltas(entry_of(unfold(matrix_result), *entry, frozenset())))
    if textbook != collected:
        D.step("the textbook form", "The same sum, in the order of the matrix form's result.", collected, textbook,
               lhs=label)
    whole = "gradient" if entry[1] == 1 else "Hessian"
    D.step("stack the coordinates", prose("For ", *(["k = 1, …, d"] if entry[1] == 1 else ["k, l = 1, …, d"]),
                                          " these are the entries of the ", whole, " of the matrix form."),
           textbook, matrix_result, check=EntryOf(*[e for e in entry if e != 1]),
           lhs=Notation("∇ℓ" if entry[1] == 1 else "∇²ℓ", r"\nabla \ell" if entry[1] == 1 else r"\nabla^{2} \ell"))
    return textbook


def _collect_sums(expr):
    """Σᵢ aᵢ + c·Σᵢ bᵢ = Σᵢ (aᵢ + c·bᵢ) for sums over the same range, each summand's common factors taken out;
    nothing else rewritten (SymPy's sum_simplify would turn exp(Σⱼ uⱼ) into Πⱼ exp(uⱼ))."""
    expr = _tidy(expr)
    terms = sp.Add.make_args(sp.expand(expr, deep=False, mul=True, multinomial=False, power_exp=False,
                                       power_base=False, log=False))
    by_limits, rest = {}, []
    for t in terms:
        sums = [f for f in sp.Mul.make_args(t) if isinstance(f, sp.Sum)]
        coefficient = sp.Mul(*[f for f in sp.Mul.make_args(t) if not isinstance(f, sp.Sum)])
        if len(sums) == 1 and len(sums[0].limits) == 1 and not coefficient.has(sums[0].limits[0][0]):
            by_limits.setdefault(sums[0].limits, []).append(coefficient * sums[0].function)
        else:
            rest.append(t)
    if not any(len(v) > 1 for v in by_limits.values()):
        return expr
    collected = [sp.Sum(sp.factor_terms(sp.Add(*v)), limits) for limits, v in by_limits.items()]
    return sp.factor_terms(sp.Add(*collected, *rest))


def _tidy(expr):
    return sp.factor_terms(expr)


# ---------------------------------------------------------------------------------------------------
# Components, for checking by hand
# ---------------------------------------------------------------------------------------------------
class Reindexed(Check):
    """after is before written out with 0-based coordinates (β₀ ↔ β₁, Xᵢ₀ ↔ Xᵢ₁): equal once shifted."""

    def __init__(self, shift):
        super().__init__()
        self.shift = shift

    def symbols(self, before, after):
        return [before, self.shift(after)]

    def values(self, before, after, env):
        return evaluate(before, env), evaluate(self.shift(after), env)


def _listed(symbols) -> list:
    parts = []
    for k, symbol in enumerate(symbols):
        parts += ([", "] if k else []) + [symbol]
    return parts


def _components(D: Derivation, P, loss, label, dim: int) -> Derivation:
    p = next(q for q in P.parameters if q.is_Matrix)
    count = p.rows
    coefficients = [sp.Symbol(f"{p.name}_{c}", real=True) for c in range(dim)]
    base = sp.IndexedBase(p.name, shape=(count,))

    def written(expr):
        """Sums over the d coordinates written out, 0-based: Σⱼ Xᵢⱼβⱼ ↦ β₀Xᵢ₀ + … (other sums kept)."""
        def out(s):
            j, low, high = s.limits[0]
            if high != count or len(s.limits) != 1:
                return s
            return sp.Add(*[s.function.xreplace({j: c}) for c in range(dim)])
        expanded = expr.replace(lambda e: isinstance(e, sp.Sum) and e.limits[0][2] == count, out)
        return expanded.xreplace({base[c]: coefficients[c] for c in range(dim)}).subs(count, dim)

    def shifted(expr):
        """The 0-based written-out expression read with 1-based entries (β₀ is β₁, Xᵢ₀ is Xᵢ₁)."""
        moved = expr.xreplace({coefficients[c]: base[c + 1] for c in range(dim)})
        return moved.replace(lambda e: isinstance(e, sp.Indexed) and len(e.indices) == 2 and e.indices[1].is_Integer,
                             lambda e: e.base[e.indices[0], e.indices[1] + 1])

    row = sp.IndexedBase(next(iter(loss.atoms(sp.IndexedBase) - {base}), sp.IndexedBase("X")).label)
    written_row = sp.Add(*[coefficients[c] * row[sp.Symbol("i", integer=True), c] for c in range(dim)])
    out = D.step("write out the coordinates", prose("With ", count, " = ", dim, " coordinates ",
                                                    *_listed(coefficients), ", numbered from 0: a sum over j is "
                                                    "written out term by term (Σⱼ Xᵢⱼβⱼ is ", written_row, ")."),
                 loss, written(loss), check=Reindexed(shifted), lhs=label)
    D.section("The partial derivatives")
    gradient = []
    for b in coefficients:
        gradient.append(D.step(f"differentiate in {unicode(b)}", prose("The chain rule inside the sum over i; the "
                                                                       "terms free of ", b, " vanish."),
                               out, _collect_sums(sp.diff(out, b)), check=IsGradient(b),
                               lhs=Notation(f"∂ℓ/∂{unicode(b)}", r"\frac{\partial \ell}{\partial %s}" % latex(b))))
    D.section("The Hessian")
    hessian = [[None] * dim for _ in range(dim)]
    for r in range(dim):
        for c in range(r, dim):
            a, b = coefficients[r], coefficients[c]
            hessian[r][c] = hessian[c][r] = D.step(
                "differentiate again", prose("∂/∂", b, " of ∂ℓ/∂", a, "."), gradient[r],
                _collect_sums(sp.diff(gradient[r], b)),
                check=IsGradient(b), lhs=Notation(f"∂²ℓ/∂{unicode(a)}∂{unicode(b)}",
                                                  r"\frac{\partial^{2} \ell}{\partial %s \partial %s}" % (latex(a), latex(b))))
    D.results = {"loss": out, "gradient": sp.ImmutableMatrix(gradient), "hessian": sp.ImmutableMatrix(hessian)}
    D.notes.append(str(prose("Setting the ", dim, " partial derivatives to zero gives the stationarity equations of "
                             "the matrix form, written out.")))
    return D
