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

import numpy as np
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
from derive.core.random_points import constant, on_simplex
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
    if len(vectors) > 1 or vectors and vectors[0].cols != 1 and (form == "components" or len(P.parameters) > 1):
        raise NotSupported(f"the {form} form is written for one vector parameter and scalar ones"
                           f"{' or one matrix parameter alone' if form == 'index' else ''}, not "
                           f"{', '.join(unicode(p) for p in P.parameters)} (forms: matrix"
                           f"{', index' if len(P.parameters) == 1 else ''})")
    matrix = P.derivation
    if not vectors and form == "index":   # scalar parameters: every step is already in summation notation (Σᵢ xᵢ)
        return dataclasses.replace(matrix, form="index", steps=list(matrix.steps), results=dict(matrix.results),
                                   notes=list(matrix.notes), sections=list(matrix.sections))
    D = Derivation(matrix.title, model=matrix.model, form=form, domains=_domains(P, form, dim))
    D.symbols = list(matrix.symbols)
    labels = [s.lhs for s in matrix.steps if s.lhs is not None and s.lhs.text.startswith("ℓ(")]
    loss_label = next((s.lhs for s in reversed(matrix.steps) if s.lhs in labels and s.after == P.loss), labels[-1])
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
            if p.cols != 1:
                samplers.update({"m": IndexIn(str(p.cols)), "q": IndexIn(str(p.cols))})
            if form == "components":
                samplers[str(p.rows)] = constant(_size(dim))
    for spec in P.model.symbols:
        if "prob" in spec.assumptions and len(spec.shape) == 2 and spec.shape[1] != 1:
            samplers[spec.name] = _indexable_rows_of_probabilities
    return Domains(samplers)


def _indexable_rows_of_probabilities(rng, shape):
    """Rows of probabilities whose first column is 0, so that the same draw is a matrix Y whose rows sum to 1
    and, drawn alone with its spare row and column 0 (see steps.Domains), an indexed Y_ic with Σ_c Y_ic = 1."""
    values = np.zeros(shape)
    values[:, 1:] = on_simplex(rng, (shape[0], shape[1] - 1))
    return values


# ---------------------------------------------------------------------------------------------------
# Summation notation
# ---------------------------------------------------------------------------------------------------
K, L = sp.symbols("k l", integer=True)
M, Q = sp.symbols("m q", integer=True)   # the columns (classes) of a matrix parameter: ∂ℓ/∂W_km, ∂²ℓ/∂W_km∂W_lq


def _index(D: Derivation, P, loss) -> Derivation:
    results = {"loss": loss}
    gradients, hessians = [], []
    for p in P.parameters:
        name = unicode(p)
        if p.is_Matrix and p.cols != 1:
            g, H = _matrix_coordinates(D, P, p, loss)
        elif p.is_Matrix:
            base = sp.IndexedBase(p.name, shape=(p.rows,))
            D.section(f"The gradient in {name}, one coordinate at a time")
            first = Notation(f"∂ℓ/∂{name}_k", r"\frac{\partial \ell}{\partial %s_{k}}" % latex(p))
            g = _coordinate(D, loss, base, K, first, P.gradients[p], (K, sp.S.One), P.model)
            D.section(f"The Hessian in {name}")
            second = Notation(f"∂²ℓ/∂{name}_k∂{name}_l",
                              r"\frac{\partial^{2} \ell}{\partial %s_{k} \partial %s_{l}}" % (latex(p), latex(p)))
            H = _coordinate(D, g, base, L, second, P.hessians[p], (K, L), P.model)
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


def _matrix_coordinates(D: Derivation, P, p, loss):
    """∂ℓ/∂W_km and ∂²ℓ/∂W_km∂W_lq of a matrix parameter W (d×K): the gradient is entry (k, m) of the matrix
    form's; the second partials are the entries of its Hessian of vec(W), at row (m − 1)d + k, column (q − 1)d + l."""
    name, base = unicode(p), sp.IndexedBase(p.name, shape=p.shape)
    D.section(f"The gradient in {name}, one coordinate at a time")
    first = Notation(f"∂ℓ/∂{name}_km", r"\frac{\partial \ell}{\partial %s_{km}}" % latex(p))
    g = _coordinate(D, loss, base, (K, M), first, P.gradients[p], (K, M), P.model)
    D.section(f"The Hessian in {name}")
    second = Notation(f"∂²ℓ/∂{name}_km∂{name}_lq",
                      r"\frac{\partial^{2} \ell}{\partial %s_{km} \partial %s_{lq}}" % (latex(p), latex(p)))
    H = _coordinate(D, g, base, (L, Q), second, P.hessians[p], ((K, M, p.rows), (L, Q, p.rows)), P.model)
    return g, H


def _coordinate(D: Derivation, f, base, index, label, matrix_result, entry, model):
    """∂f/∂base_index under the sums, the delta summed out, the sums collected, and the result shown to be
    `entry` of the matrix form's `matrix_result` (its textbook form, in summation notation; the matrix as the
    matrix form writes it, XᵀSX with S named there). `index` is one subscript (βₖ) or a pair (W_km); an entry
    (k, m, d) is the position (m − 1)d + k in vec form, where the result has no textbook form in sums."""
    indices = index if isinstance(index, tuple) else (index,)
    if len(indices) == 1:
        rule = ["∂", base.label, "ⱼ/∂", base.label, "_", index, " = δ_j", index, ", 1 when j = ", index]
    else:
        name, (row, col) = str(base.label), indices
        rule = [Notation(f"∂{name}_jc/∂{name}_{row}{col} = δ_j{row}δ_c{col}",
                         r"\partial %s_{jc}/\partial %s_{%s%s} = \delta_{j%s}\delta_{c%s}" % (name, name, row, col, row, col)),
                ", 1 when j = ", row, " and c = ", col]
    with_deltas = D.step("differentiate under the sums", prose(
        "Differentiate each term (the chain rule inside the sums), with ", *rule, " and 0 otherwise."),
        f, partial_derivative(f, base, *indices), check=IsPartial(base, *indices), lhs=label)
    summed = eliminate_deltas(with_deltas)
    if summed != with_deltas:
        D.step("sum out the Kronecker delta", prose("A sum over j of a term with δ_j", indices[0], " keeps only the "
                                                    "term j = ", indices[0], *([] if len(indices) == 1 else [
                                                        ", and likewise δ_c", indices[1], " in a sum over c"]), "."),
               with_deltas, summed, lhs=label)
    collected = _collect_sums(summed)
    if collected != summed:
        D.step("collect the sums", "Sums over the same index run together: Σᵢ aᵢ + Σᵢ bᵢ = Σᵢ (aᵢ + bᵢ).",
               summed, collected, lhs=label)
    collected = _rows_sum_to_one(D, collected, model, label)
    vec = any(isinstance(e, tuple) for e in entry)
    textbook = collected if vec else _collect_sums(eliminate_deltas(entry_of(unfold(matrix_result), *entry,
                                                                               frozenset())))
    if textbook != collected:
        D.step("the textbook form", "The same sum, in the order of the matrix form's result.", collected, textbook,
               lhs=label)
    gradient = not isinstance(entry[1], tuple) and (entry[1] == 1 or len(indices) == 2)
    D.step("stack the coordinates", prose("For ", _ranges(entry), " these are the entries of the ",
                                          "gradient" if gradient else "Hessian", " of the matrix form",
                                          *([] if not vec else [" (of vec(", base.label, "), entry (", _vec_position(
                                              entry[0]), ", ", _vec_position(entry[1]), "))"]), "."),
           textbook, matrix_result, check=EntryOf(*[e for e in entry if e != 1]),
           lhs=Notation("∇ℓ" if gradient else "∇²ℓ", r"\nabla \ell" if gradient else r"\nabla^{2} \ell"))
    return textbook


def _ranges(entry) -> str:
    if isinstance(entry[0], tuple):
        return "k, l = 1, …, d and m, q = 1, …, K"
    if entry[1] == 1:
        return "k = 1, …, d"
    return "k = 1, …, d and m = 1, …, K" if entry == (K, M) else "k, l = 1, …, d"


def _vec_position(entry):
    row, col, rows = entry
    return (col - 1) * rows + row


def _rows_sum_to_one(D: Derivation, expr, model, label):
    """Σ_c Y_ic·f = f for f free of c and Y declared prob (each row sums to 1), as a step when it applies."""
    rows = {sp.IndexedBase(s.name) for s in model.symbols if "prob" in s.assumptions and len(s.shape) == 2}
    names = {str(r.label) for r in rows}

    def summed_out(node):
        c = node.limits[0][0]
        factors = sp.Mul.make_args(node.function)
        picked = [f for f in factors if isinstance(f, sp.Indexed) and str(f.base.label) in names and f.indices[-1] == c]
        rest = sp.Mul(*[f for f in factors if f not in picked])
        return rest if len(node.limits) == 1 and len(picked) == 1 and not rest.has(c) else node

    simpler = sp.factor_terms(expr.replace(lambda e: isinstance(e, sp.Sum), summed_out)) if names else expr
    if simpler == expr:
        return expr
    return D.step("probabilities sum to 1", prose("Each row of ", *_listed(sorted(names)), " holds probabilities "
                                                  "(declared prob, as one-hot labels are), so Σ_c Y_ic = 1."),
                  expr, simpler, lhs=label)


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
