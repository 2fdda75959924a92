"""What is wrong with an answer that does not equal its reference, in one sentence.

The diagnosis compares values, never strings. `Comparison` holds both sides' values at the random points
(and the expressions where known, so code output can be diagnosed too); the finders in `FINDERS` are tried
in order, each returning a sentence or None: names the context does not define; a wrong shape (the
transpose of the result, another quantity); another of the model's results (the Hessian given for the
gradient); a classic mistake of the catalogue in `derive.checking.mistakes` (1/(n − 1), XᵀX without its
weights, σ(1 + σ), ...); some entries of a vector or matrix wrong and the others right; a constant factor, with 1/n recognised by a factor that changes with n (sign flipped: for
likelihood models "the gradient of the log-likelihood", a missing 2: "the ½-scaled loss", the mean loss);
one term extra, missing, with the wrong sign or factor; equality only for symmetric matrices; a transpose
or the order of a product (variants built structurally from the expected result and from the answer); a
related model's result (ridge without its penalty); a loss off by a term free of β; otherwise the size of
the discrepancy.

An answer whose operands do not fit never gets as far as values: `missing_transpose` names a transpose
that is missing (a wrong answer), and `explained_shape_error` spells out what was probably meant. An answer
that is not finite where the expected result is gets `undefined_answer` (the catalogue, matched by form).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable, Mapping, Optional, Sequence

import numpy as np
import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.hadamard import HadamardProduct

from derive.checking.mistakes import MISTAKES
from derive.checking.model_context import (
    LIKELIHOOD_MODELS,
    QUANTITY_NOUNS,
    model_context,
)
from derive.core.limits import time_limit
from derive.core.random_points import (
    all_close,
    consistent,
    dimensions_text,
    fit_factor,
    values_of,
)
from derive.errors import DeriveError, ShapeError
from derive.expr.printing import unicode

EXPANSION_SECONDS = 1.0     # multiplying an answer out for its terms; past it, the terms as written
MAX_VARIANTS = 80           # structural variants tried per diagnosis


@dataclass
class Comparison:
    """An answer and its reference, as values at shared random points (and as expressions where known).

    `reference` names what the answer should equal in sentences ("the expected gradient", "line 3");
    `subject` names the answer ("the answer", "this line"). `others` are values of quantities the answer
    might have been confused with, by their name ("the Hessian 2XᵀX").
    """

    answer_values: list
    expected_values: list
    envs: list
    answer: Optional[sp.Basic] = None
    expected: Optional[sp.Basic] = None
    reference: str = "the expected result"
    subject: str = "the answer"
    quantity: Optional[str] = None
    model: Optional[str] = None
    function: Optional[str] = None          # what the quantity is a derivative of: "the loss", "line 3"
    others: Mapping[str, list] = field(default_factory=dict)
    related: Mapping[str, list] = field(default_factory=dict)   # results of related models, by name
    parameter: Optional[sp.Basic] = None    # the loss's variable, for "a term free of β"
    unknown: Sequence[str] = ()             # names the answer uses that the context does not define
    known: str = ""                         # the context's symbols, for the message about `unknown`

    @property
    def equal(self) -> bool:
        return all_close(self.answer_values, self.expected_values)


Finder = Callable[[Comparison], Optional[str]]


def diagnose(c: Comparison) -> str:
    """One sentence on what is wrong with an answer that is not equal to its reference."""
    for finder in FINDERS:
        found = finder(c)
        if found:
            return found
    return discrepancy(c)


def unknown_symbols(c: Comparison) -> Optional[str]:
    if not c.unknown:
        return None
    names = ", ".join(c.unknown)
    verb = "is" if len(c.unknown) == 1 else "are"
    means = [name for name in c.unknown if "\u0304" in name]   # x̄: a mean of observations the model lacks
    mean = (f" ({means[0]} is read as the mean of an observed vector {means[0].replace(chr(0x304), '')}, which this "
            "model does not have; the mean of a vector v it has is written sum(v)/n)") if means else ""
    return (f"{c.subject} uses {names}, which {verb} not defined here (the symbols are {c.known}); "
            f"write {'it' if len(c.unknown) == 1 else 'them'} out in those symbols{mean}")


def wrong_shape(c: Comparison) -> Optional[str]:
    a, e = c.answer_values[0], c.expected_values[0]
    if a.shape == e.shape:
        return None
    if all_close([v.T for v in c.answer_values], c.expected_values):
        layout = ""
        if c.quantity == "gradient":
            layout = ": in denominator layout the gradient is a column with the shape of the parameter"
        return (f"{c.subject} is the transpose of {c.reference} ({_shape_of(c.answer, a)} instead of "
                f"{_shape_of(c.expected, e)}){layout}")
    mixed = mixed_up(c)
    if mixed:
        return mixed
    structural = structural_variant(c)
    if structural:
        return structural
    return f"{c.subject} is {_shape_of(c.answer, a)}, but {c.reference} is {_shape_of(c.expected, e)}"


def _shape_of(expr, value) -> str:
    if expr is not None:
        return shape_text(expr)
    return "×".join(str(s) for s in value.shape)


def mixed_up(c: Comparison) -> Optional[str]:
    """Another of the model's results: the Hessian given for the gradient."""
    return _one_of(c, c.others)


def wrong_entries(c: Comparison) -> Optional[str]:
    """Some entries of a vector or matrix right and others wrong: which, and what is wrong with the first."""
    if any(a.shape != e.shape or a.size < 2 for a, e in zip(c.answer_values, c.expected_values)):
        return None
    if len({a.shape for a in c.answer_values}) != 1:
        return None
    wrong = np.zeros(c.answer_values[0].shape, dtype=bool)
    for a, e in zip(c.answer_values, c.expected_values):
        wrong |= ~np.isclose(a, e, rtol=1e-8, atol=1e-10 * max(1.0, float(np.max(np.abs(e)))))
    if wrong.all() or not wrong.any():
        return None
    positions = [tuple(int(k) + 1 for k in index) for index in zip(*np.nonzero(wrong))]
    column = wrong.shape[1] == 1
    names = [str(p[0]) if column else f"({p[0]}, {p[1]})" for p in positions]
    text = f"entr{'y' if len(names) == 1 else 'ies'} {_listed(names)} of {c.subject} {'is' if len(names) == 1 else 'are'} wrong"
    if isinstance(c.answer, sp.MatrixBase) and isinstance(c.expected, sp.MatrixBase):
        row, col = (k - 1 for k in (positions[0] if not column else (positions[0][0], 1)))
        entry = Comparison([a[row:row + 1, col:col + 1] for a in c.answer_values],
                           [e[row:row + 1, col:col + 1] for e in c.expected_values], c.envs, c.answer[row, col],
                           c.expected[row, col], reference=f"entry {names[0]} of {c.reference}", subject="it",
                           quantity=c.quantity, model=c.model, function=c.function, parameter=c.parameter)
        text += f" (the others are right); entry {names[0]}: {diagnose(entry)}"
    else:
        text += " (the others are right)"
    return text


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def catalogued_mistake(c: Comparison) -> Optional[str]:
    """A classic mistake of `derive.checking.mistakes`: the answer equals the expected result transformed by it."""
    if c.expected is None:
        return None
    for mistake in MISTAKES:
        if not mistake.applies_to(c.quantity):
            continue
        for change in mistake.variants(c.expected):
            try:
                if all_close(c.answer_values, values_of(change.variant, c.envs, "a variant")):
                    return mistake.sentence(change, c.reference, c.subject, c.parameter)
            except DeriveError:
                continue
    return None


def undefined_answer(answer, expected, error: DeriveError, *, quantity=None, reference: str,
                     subject: str = "the answer", parameter=None) -> str:
    """The diagnosis of an answer that cannot be evaluated where the expected result can (a log of a
    negative number): a classic mistake it is identical to, else where it fails."""
    for mistake in MISTAKES:
        if not mistake.applies_to(quantity):
            continue
        for change in mistake.variants(expected):
            if _identical(change.variant, answer):
                return mistake.sentence(change, reference, subject, parameter)
    return f"{error}, where {reference} is defined"


def _identical(a, b) -> bool:
    try:
        with time_limit(EXPANSION_SECONDS, "comparing"):
            return a == b or sp.expand(a.doit()) == sp.expand(b.doit())
    except Exception:  # noqa: BLE001 - not shown identical
        return False


def related_result(c: Comparison) -> Optional[str]:
    """A related model's result: ridge's gradient without the penalty."""
    return _one_of(c, c.related)


def _one_of(c: Comparison, candidates: Mapping[str, list]) -> Optional[str]:
    for name, values in candidates.items():
        if all_close(c.answer_values, values):
            return f"{c.subject} is {name}, not {c.reference}"
    return None


def parameter_free_difference(c: Comparison) -> Optional[str]:
    """A loss that differs by a term free of the parameter: same gradient, not the same function."""
    if c.quantity != "loss" or c.parameter is None or c.answer is None or c.expected is None:
        return None
    rng = np.random.default_rng(1)
    moved = [{**env, c.parameter.name: env[c.parameter.name] + rng.standard_normal(np.shape(env[c.parameter.name]))}
             for env in c.envs if c.parameter.name in env]
    if len(moved) != len(c.envs):
        return None
    try:
        here = [a - e for a, e in zip(c.answer_values, c.expected_values)]
        there = [a - e for a, e in zip(values_of(c.answer, moved), values_of(c.expected, moved))]
    except DeriveError:
        return None
    if all_close(here, there, 1e-7):
        return (f"{c.subject} differs from {c.reference} by a term that does not depend on {unicode(c.parameter)}: "
                "it has the same gradient and minimiser, but it is not the same function")
    return None


def constant_factor(c: Comparison) -> Optional[str]:
    ks = [fit_factor(a, e) for a, e in zip(c.answer_values, c.expected_values)]
    if any(k is None for k in ks):
        return None
    k = consistent(ks)
    if k is not None and abs(k) < 1e-12:
        shown_expected = f" {shown(c.expected)}" if c.expected is not None else ""
        return f"{c.subject} is zero, but {c.reference}{shown_expected} is not zero in general"
    if k is not None:
        return describe_factor(c, k, None)
    for name in _varying_dimensions(c.envs):
        for power in (1, -1):
            scaled = consistent([k * env[name] ** power for k, env in zip(ks, c.envs)])
            if scaled is not None:
                return describe_factor(c, scaled, (name, power))
    return None


def _varying_dimensions(envs) -> list[str]:
    names = [k for k, v in envs[0].items() if isinstance(v, int)]
    varying = [k for k in names if len({env.get(k) for env in envs}) > 1]
    return sorted(varying, key=lambda k: (k != "n", k))


def describe_factor(c: Comparison, k: float, dimension) -> str:
    """A sentence for answer = k × reference, or (k / nᵖ) × reference when `dimension` is (n, p)."""
    f = nice_number(k)
    flipped = k < 0
    derivative_of = bool(c.function) and c.quantity in ("gradient", "hessian")
    noun = QUANTITY_NOUNS.get(c.quantity or "", "")
    if dimension is None:
        if f == -1:
            if c.model in LIKELIHOOD_MODELS and c.quantity in ("gradient", "hessian"):
                return (f"the sign is flipped: this is the {noun} of the log-likelihood, "
                        "not of the loss (the negative log-likelihood)")
            if c.model in LIKELIHOOD_MODELS and c.quantity == "loss":
                return "the sign is flipped: this is the log-likelihood; the loss is the negative log-likelihood"
            return f"the sign is flipped: {c.subject} is −1 × {c.reference}"
        shown = fraction_text(f) if f is not None else f"{k:.10g}".replace("-", "−")
        if f is not None and abs(f) in (Fraction(1, 2), Fraction(2)):
            missing = abs(f) == Fraction(1, 2)
            text = (f"off by a factor of 2: {'a missing 2' if missing else 'an extra 2'} "
                    f"({c.subject} is {shown} × {c.reference}")
            if missing and derivative_of:
                text += f"; this is the {noun} of the ½-scaled {_bare(c.function)}"
            text += ")"
        else:
            text = f"off by a constant factor: {c.subject} is {shown} × {c.reference}"
        return ("the sign is flipped and " + text) if flipped and f != -1 else text
    name, power = dimension
    magnitude = abs(f) if f is not None else None
    if power == 1:   # k·n is constant: the answer is (s/n) × reference
        if magnitude is None:
            factor = f"{abs(k):.6g}/{name}"
        elif magnitude.denominator == 1:
            factor = f"{magnitude.numerator}/{name}"
        else:
            factor = f"{magnitude.numerator}/({magnitude.denominator}{name})"
        text = f"{factor}-scaled: {c.subject} is {factor} × {c.reference}"
        if derivative_of:
            text += f"; this is the {noun} of the {factor}-scaled {_bare(c.function)}"
            if name == "n" and magnitude == 1:
                text += " (the mean over the n observations), not of the sum"
    else:            # k/n is constant: the answer is (s·n) × reference
        if magnitude is None:
            factor = f"{abs(k):.6g}{name}"
        else:
            factor = (f"{magnitude.numerator if magnitude.numerator != 1 else ''}{name}"
                      + (f"/{magnitude.denominator}" if magnitude.denominator != 1 else ""))
        text = f"off by a factor of {factor}: {c.subject} is {factor} × {c.reference}"
    return ("the sign is flipped and " + text) if flipped else text


def _bare(function: Optional[str]) -> str:
    return (function or "function").removeprefix("the ")


def term_error(c: Comparison) -> Optional[str]:
    """answer = expected + k·t for one term t of either side: an extra, missing, sign-flipped or mis-scaled term."""
    if any(a.shape != e.shape for a, e in zip(c.answer_values, c.expected_values)):
        return None
    differences = [a - e for a, e in zip(c.answer_values, c.expected_values)]
    scales = [max(np.max(np.abs(a)), np.max(np.abs(e))) for a, e in zip(c.answer_values, c.expected_values)]

    def factor_of(term) -> Optional[Fraction]:
        try:
            t_values = values_of(term, c.envs, "a term")
        except DeriveError:
            return None
        k = consistent([fit_factor(diff, t, scale) for diff, t, scale in zip(differences, t_values, scales)])
        # a difference of two values is known to fewer digits than the values themselves
        return nice_number(k, 1e-6) if k is not None else None

    for term in terms_of(c.answer):
        f = factor_of(term)
        if f == 1:
            return f"an extra term {shown(term)}" + _free_of_parameter_note(c, term)
        if f == 2:
            return f"the term {shown(term)} has the wrong sign"
    for term in terms_of(c.expected):
        f = factor_of(term)
        if f is None or f == 0:
            continue
        if f == -1:
            return f"missing the term {shown(term)}"
        if f == -2:
            return f"the term {shown(term)} has the wrong sign"
        replaced = sp.MatMul(as_sympy(1 + f), term).doit() if term.is_Matrix else sp.Mul(as_sympy(1 + f), term)
        return f"the term {shown(term)} has the wrong factor: {c.subject} has {shown(replaced)} in its place"
    return None


def shown(term) -> str:
    """A term in Unicode, a 1×1 all-ones matrix times a scalar shown as the scalar."""
    if isinstance(term, sp.MatMul):
        coefficient, matrices = term.as_coeff_matrices()
        if all(isinstance(m, sp.OneMatrix) and m.shape == (1, 1) for m in matrices):
            return unicode(coefficient)
    if isinstance(term, sp.OneMatrix) and term.shape == (1, 1):
        return "1"
    return unicode(term)


def _free_of_parameter_note(c: Comparison, term) -> str:
    if c.quantity == "loss" and c.model is not None:
        parameter = model_context(c.model).parameter
        if parameter is not None and not term.has(parameter):
            return f" (it does not depend on {unicode(parameter)}, so the gradient is unchanged)"
    return ""


def terms_of(expr) -> list:
    """The terms of a sum, as written and multiplied out (Xᵀ(σ(Xβ) − y) gives Xᵀσ(Xβ) and −Xᵀy)."""
    if expr is None:
        return []
    found = []
    candidates = list(expr.args) if isinstance(expr, (sp.MatAdd, sp.Add)) else []
    try:
        with time_limit(EXPANSION_SECONDS, "expanding"):
            expanded = sp.expand(expr.doit())
        candidates += list(expanded.args) if isinstance(expanded, (sp.MatAdd, sp.Add)) else []
    except Exception:  # noqa: BLE001 - expansion is only a source of candidate terms
        pass
    for t in candidates:
        if t not in found:
            found.append(t)
    return found[:30]


def structural_variant(c: Comparison) -> Optional[str]:
    """A transpose toggled or a product reversed: in the expected result (matching the answer) or in the
    answer (then matching the expected result)."""
    for variant, before, after, kind in variants(c.expected):
        try:
            if all_close(c.answer_values, values_of(variant, c.envs, "a variant")):
                return (f"{_kind_text(kind)}: {c.subject} equals {c.reference} with {unicode(before)} written as "
                        f"{unicode(after)}")
        except DeriveError:
            continue
    for variant, before, after, kind in variants(c.answer):
        try:
            if all_close(values_of(variant, c.envs, "a variant"), c.expected_values):
                return (f"{_kind_text(kind)}: with {unicode(after)} in place of {unicode(before)}, "
                        f"{c.subject} would equal {c.reference}")
        except DeriveError:
            continue
    return None


def _kind_text(kind: str) -> str:
    return {"transpose": "a transpose is missing or misplaced",
            "order": "the factors of a product are in the wrong order"}[kind]


def variants(expr):
    """(variant, sub-expression before, after, kind) with one transpose toggled or one product reordered,
    keeping only variants whose shapes fit."""
    if expr is None or not getattr(expr, "is_Matrix", False) and not expr.has(sp.MatrixSymbol):
        return []
    found = []
    seen = set()

    def visit(node, rebuild):
        if len(found) >= MAX_VARIANTS:
            return
        for after, kind in _local_variants(node):
            candidate = _rebuilt(rebuild, after)
            if candidate is not None and candidate not in seen and _fits(candidate):
                seen.add(candidate)
                found.append((candidate, node, after, kind))
        if isinstance(node, (sp.MatrixSymbol, sp.Symbol)) or not node.args:
            return
        for k, child in enumerate(node.args):
            if isinstance(child, sp.Basic) and (getattr(child, "is_Matrix", False) or child.has(sp.MatrixSymbol)):
                def inner(new, node=node, k=k):
                    args = list(node.args)
                    args[k] = new
                    return rebuild(node.func(*args))
                visit(child, inner)

    visit(expr, lambda e: e)
    return found


def _rebuilt(rebuild, new):
    try:
        return rebuild(new)
    except Exception:  # noqa: BLE001 - a variant SymPy refuses to build is not a candidate
        return None


def _local_variants(node):
    out = []
    if isinstance(node, sp.Transpose):
        out.append((node.arg, "transpose"))
    elif isinstance(node, sp.MatrixSymbol) and node.shape[1] != 1:
        out.append((sp.Transpose(node), "transpose"))
    if isinstance(node, sp.MatMul):
        coefficient, matrices = node.as_coeff_matrices()
        matrices = list(matrices)
        if len(matrices) >= 2:
            orders = [list(reversed(matrices))]
            for k in range(len(matrices) - 1):
                swapped = matrices[:]
                swapped[k], swapped[k + 1] = swapped[k + 1], swapped[k]
                orders.append(swapped)
            for order in orders:
                if order != matrices:
                    out.append((sp.MatMul(coefficient, *order) if coefficient != 1 else sp.MatMul(*order), "order"))
    return out


def _fits(expr) -> bool:
    """Every product, sum and inverse in `expr` has shapes that fit (symbolically)."""
    for node in sp.preorder_traversal(expr):
        if isinstance(node, sp.MatMul):
            matrices = [a for a in node.args if getattr(a, "is_Matrix", False)]
            if any(sp.simplify(a.shape[1] - b.shape[0]) != 0 for a, b in zip(matrices, matrices[1:])):
                return False
        elif isinstance(node, (sp.MatAdd, HadamardProduct)):
            shapes = [a.shape for a in node.args if getattr(a, "is_Matrix", False)]
            if any(s != shapes[0] for s in shapes):
                return False
        elif isinstance(node, (sp.Inverse, sp.Trace, sp.Determinant)):
            if node.args[0].shape[0] != node.args[0].shape[1]:
                return False
        elif isinstance(node, DiagMatrix):
            if node.args[0].shape[1] != 1 and node.args[0].shape[0] != 1:
                return False
    return True


def symmetric_only(c: Comparison) -> Optional[str]:
    """Equal once every square matrix is made symmetric: the answer assumed Aᵀ = A."""
    if c.answer is None or c.expected is None:
        return None
    # only matrices the expected result has both as A and as Aᵀ (A + Aᵀ): where it has Aᵀ alone, as in
    # ∂tr(AX)/∂X = Aᵀ, the transpose itself is what is missing (structural_variant says so)
    transposed = {t.arg for t in sp.preorder_traversal(c.expected) if isinstance(t, sp.Transpose)}
    square = sorted({m for e in (c.answer, c.expected) for m in e.atoms(sp.MatrixSymbol)
                     if m.shape[0] == m.shape[1] and m.shape[0] != 1
                     and (m not in transposed or _appears_untransposed(c.expected, m))}, key=str)
    if not square:
        return None
    envs = []
    for env in c.envs:
        env = dict(env)
        for m in square:
            env[m.name] = (env[m.name] + env[m.name].T) / 2
        envs.append(env)
    try:
        if all_close(values_of(c.answer, envs), values_of(c.expected, envs)):
            names = ", ".join(unicode(m) for m in square)
            return (f"{c.subject} equals {c.reference} only when {names} {'is' if len(square) == 1 else 'are'} "
                    "symmetric, which nothing here says")
    except DeriveError:
        return None
    return None


def _appears_untransposed(expr, m) -> bool:
    """m occurs in expr other than as the argument of a transpose."""
    if expr == m:
        return True
    if isinstance(expr, sp.Transpose) and expr.arg == m:
        return False
    return any(_appears_untransposed(a, m) for a in expr.args if isinstance(a, sp.Basic))


def discrepancy(c: Comparison) -> str:
    worst, where = -1.0, 0
    for k, (a, e) in enumerate(zip(c.answer_values, c.expected_values)):
        if a.shape != e.shape:
            continue
        error = float(np.max(np.abs(a - e), initial=0.0))
        if error > worst:
            worst, where = error, k
    a, e = c.answer_values[where], c.expected_values[where]
    relative = worst / max(float(np.max(np.abs(e), initial=0.0)), 1e-300)
    return (f"not equivalent to {c.reference}: at random values ({dimensions_text(c.envs[where])}) they differ by "
            f"up to {worst:.3g} (relative difference {relative:.2g})")


FINDERS: list[Finder] = [unknown_symbols, wrong_shape, mixed_up, catalogued_mistake, wrong_entries, constant_factor,
                         term_error,
                         symmetric_only, structural_variant, related_result, parameter_free_difference]


# ---------------------------------------------------------------------------------------------------
# Numbers and shapes as a sentence writes them
# ---------------------------------------------------------------------------------------------------
def nice_number(x: float, tolerance: float = 1e-10) -> Optional[Fraction]:
    """x as a small fraction (2, 1/2, −1/3) when it is one."""
    f = Fraction(x).limit_denominator(48)
    return f if abs(float(f) - x) <= tolerance * max(1.0, abs(x)) and abs(f.numerator) <= 1000 else None


def fraction_text(f: Fraction) -> str:
    text = str(f.numerator) if f.denominator == 1 else f"{f.numerator}/{f.denominator}"
    return text.replace("-", "−")


def as_sympy(f: Fraction) -> sp.Rational:
    return sp.Rational(f.numerator, f.denominator)


def shape_text(expr) -> str:
    if not getattr(expr, "is_Matrix", False):
        return "1×1 (a scalar)"
    return "×".join(unicode(s) for s in expr.shape)


# ---------------------------------------------------------------------------------------------------
# Operands that do not fit: the answer cannot be evaluated, so the parser's error is the diagnosis
# ---------------------------------------------------------------------------------------------------
def missing_transpose(error: ShapeError) -> Optional[str]:
    """For a product or sum whose operands do not fit but would with one of them transposed (X(y − Xβ) with X
    n×d, 2XᵀXβ − 2yᵀX): the diagnosis, naming the transpose that is needed; None for any other shape error."""
    if getattr(error, "operation", None) in ("add", "subtract") and isinstance(error.operand, tuple):
        hint = _row_for_column_hint(*error.operand)
        return f"a transpose is missing{hint}" if hint else None
    if getattr(error, "operation", None) != "multiply" or not isinstance(error.operand, tuple):
        return None
    a, b = (_without_scalar(m) for m in error.operand)
    sizes = f"{unicode(a)} is {_size(a)} and {unicode(b)} is {_size(b)}"
    # only the classic slip: a data matrix (n×d) before something with n rows, where its transpose was meant
    if _is_data_matrix(a) and _same(a.shape[0], b.shape[0]):
        return f"{unicode(a)}ᵀ is needed: {sizes}, so {_named(a)}{_named(b)} cannot be multiplied"
    if _is_column(a) and _is_data_matrix(b) and _same(a.shape[0], b.shape[0]):
        return (f"{unicode(b)}ᵀ{_named(a)} is meant: {sizes}, so {_named(a)}{_named(b)} cannot be multiplied "
                "(the factors are in the wrong order and the matrix needs a transpose)")
    return None


def _is_data_matrix(m) -> bool:
    return isinstance(m, sp.MatrixSymbol) and not _same(m.shape[0], m.shape[1])


def _is_column(m) -> bool:
    return m.shape[1] == 1 and m.shape[0] != 1


def _size(m) -> str:
    return "×".join(unicode(s) for s in m.shape)


def _row_for_column_hint(a, b) -> str:
    """": bᵀ is a row; b is meant" when one operand is a column and the other the same vector transposed."""
    for column, row in ((a, b), (b, a)):
        if _is_column(column) and row.shape == column.shape[::-1]:
            meant = row.arg if isinstance(row, sp.Transpose) else _tidied_transpose(row)
            return f": {unicode(row)} is a row; the column {unicode(meant)} is probably meant"
    return ""


def _tidied_transpose(m):
    """(2yᵀX)ᵀ as 2Xᵀy."""
    try:
        return sp.Transpose(m).doit()
    except Exception:  # noqa: BLE001 - shown as a transpose
        return sp.Transpose(m)


def _gram_hint(*operands) -> Optional[str]:
    """XXᵀ (n×n) inside an operand where XᵀX (d×d) is the usual matrix."""
    for operand in operands:
        for node in sp.preorder_traversal(operand):
            if isinstance(node, sp.MatMul):
                _, matrices = node.as_coeff_matrices()
                for left, right in zip(matrices, matrices[1:]):
                    if _is_data_matrix(left) and right == left.T:
                        return (f"{unicode(node)} is {unicode(left.shape[0])}×{unicode(left.shape[0])}; "
                                f"{unicode(left.T * left)} ({unicode(left.shape[1])}×{unicode(left.shape[1])}) is "
                                "probably meant")
    return None


def _without_scalar(m):
    if isinstance(m, sp.MatMul):
        _, matrices = m.as_coeff_matrices()
        return matrices[0] if len(matrices) == 1 else sp.MatMul(*matrices)
    return m


def _same(a, b) -> bool:
    return sp.simplify(a - b) == 0


def _named(m) -> str:
    text = unicode(m)
    return text if isinstance(m, sp.MatrixSymbol) else f"({text})"


def explained_shape_error(error: ShapeError) -> ShapeError:
    """The parser's ShapeError, with the usual intent spelled out: for the inverse of a non-square matrix,
    for a product whose operands do not fit (in textbook notation, naming a transpose that is missing or a
    Gram matrix XXᵀ written for XᵀX)."""
    operand = getattr(error, "operand", None)
    if getattr(error, "operation", None) == "multiply" and isinstance(operand, tuple):
        a, b = operand
        message = f"cannot multiply {unicode(a)} ({_size(a)}) by {unicode(b)} ({_size(b)})"
        hint = missing_transpose(error) or _gram_hint(a, b)
        return ShapeError(message + (f": {hint}" if hint else ""), operation="multiply", operand=operand)
    if getattr(error, "operation", None) in ("add", "subtract") and isinstance(operand, tuple):
        a, b = operand
        if error.operation == "subtract":
            return ShapeError(f"cannot subtract {unicode(b)} ({_size(b)}) from {unicode(a)} ({_size(a)})"
                              + _row_for_column_hint(a, b), operation="subtract", operand=operand)
        return ShapeError(f"cannot add {unicode(a)} ({_size(a)}) and {unicode(b)} ({_size(b)})"
                          + _row_for_column_hint(a, b), operation="add", operand=operand)
    if getattr(error, "operation", None) == "inverse" and operand is not None and operand.is_Matrix:
        rows, cols = operand.shape
        name = unicode(operand)
        wrapped = name if isinstance(operand, sp.MatrixSymbol) else f"({name})"
        if isinstance(operand, sp.MatrixSymbol):
            gram = f"({name}ᵀ{name})⁻¹" if sp.simplify(rows - cols) != 0 else None
            hint = f": did you mean {gram}?" if gram else ""
        else:
            hint = ""
        message = f"{name} ({unicode(rows)}×{unicode(cols)}) is not square, so {wrapped}⁻¹ does not exist{hint}"
        return ShapeError(message, operation="inverse", operand=operand)
    return error
