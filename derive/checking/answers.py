r"""Checking a person's work: is an answer the derived result of a model, and if not, what went wrong.

    >>> from derive.checking.answers import check
    >>> check("ols", "gradient", r"-2X^T(y - X\beta)").correct
    True
    >>> r = check("ols", "gradient", r"X^T(y - X\beta)")
    >>> r.correct
    False
    >>> print(r.diagnosis)
    the sign is flipped and off by a factor of 2: a missing 2 (the answer is −1/2 × the expected gradient; this is the gradient of the ½-scaled loss)

The answer is read by `derive.parse` with the model's symbols (`derive.checking.model_context`); operands that do
not fit raise `ShapeError` naming them (an inverse of a non-square matrix says so, and what was probably
meant). It is then compared with the model's result by `derive.checking.equivalence`: symbolically where cheap,
otherwise at random points (`derive.core.random_points`), and a wrong answer gets a one-sentence diagnosis
(`derive.checking.diagnosis`) that also considers the model's other results and those of related models.

The other checks of a person's work: a derivation line by line (`check_steps`, from
`derive.checking.line_checking`, importable from here too) and a numpy function (`derive.checking.code`).
"""
from __future__ import annotations

import dataclasses
import html
from dataclasses import dataclass
from typing import Optional

import sympy as sp

from derive.checking.derivation_lines import answer_parts, read_as, student_text
from derive.checking.diagnosis import explained_shape_error, missing_transpose, shape_text
from derive.checking.equivalence import compare, same_shape
from derive.checking.index_notation import as_components
from derive.checking.line_checking import check_steps
from derive.checking.model_context import (
    confusable_results,
    estimate_name,
    model_context,
    quantity_noun,
)
from derive.core.limits import time_limit
from derive.core.random_points import guard_sizes, short_quote
from derive.errors import ParseError, ShapeError
from derive.expr.printing import latex, unicode
from derive.parse import parse
from derive.render.formats import expression_dict

__all__ = ["check", "check_steps", "CheckResult"]

CHECK_SECONDS = 20.0        # wall clock for one `check` (parsing, sampling, diagnosis)


@dataclass
class CheckResult:
    """The verdict on one answer: `correct` (also its truth value), and for a wrong answer a `diagnosis`.

    `answer` is the expression as read (None when its operands do not fit, so that it has no value);
    `part` names the part of a pair the answer was taken as (σ̂² of the gaussian solution (μ̂, σ̂²)).
    """

    correct: bool
    model: str
    quantity: str
    answer: Optional[sp.Basic]
    expected: sp.Basic
    diagnosis: Optional[str]
    method: str
    answer_text: str = ""   # the answer as typed
    part: Optional[str] = None
    where: str = ""         # what the names of the answer stand for: "S = diag(σ(Xβ) ⊙ (𝟏 − σ(Xβ)))"
    shown: Optional[sp.Basic] = None   # the expected result as the derivation writes it (Σᵢ, x̄), when it differs

    @property
    def expected_shown(self) -> sp.Basic:
        return self.expected if self.shown is None else self.shown

    def __bool__(self) -> bool:
        return self.correct

    @property
    def exit_code(self) -> int:
        """The command line's exit code: 0 correct, 1 wrong."""
        return 0 if self.correct else 1

    @property
    def read_as(self) -> Optional[str]:
        if self.answer is None:
            return None
        return read_as(self.answer) + (f", with {self.where}" if self.where else "")

    @property
    def noun(self) -> str:
        """What the answer should be: "the gradient", or for a part of a pair "σ̂², part of the solution"."""
        noun = quantity_noun(self.quantity)
        return f"{self.part}, part of the {noun}" if self.part else f"the {noun}"

    def to_dict(self) -> dict:
        answer = expression_dict(self.answer) if self.answer is not None else {"latex": None, "text": None}
        return {"correct": self.correct, "model": self.model, "quantity": self.quantity,
                "answer": {**answer, "read_as": self.read_as, "typed": self.answer_text},
                "expected": expression_dict(self.expected_shown), "part": self.part,
                "diagnosis": self.diagnosis, "method": self.method}

    def to_text(self) -> str:
        shown = read_as(self.answer) if self.answer is not None else " ".join(self.answer_text.split())
        if self.correct:
            lines = [f"correct: {shown} is {self.noun} of {self.model}"]
        else:
            lines = [f"wrong: {shown} is not {self.noun} of {self.model}"]
        if self.answer is not None:
            lines.append(f"  read as: {self.read_as}")
        lines.append(f"  expected: {unicode(self.expected_shown)}")
        if not self.correct:
            lines.append(f"  diagnosis: {self.diagnosis}")
        lines.append(f"  checked: {self.method}")
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """Jupyter: the verdict, with the expected result and the answer side by side."""
        verdict = "correct" if self.correct else "wrong"
        colour = "#1a7f37" if self.correct else "#cf222e"
        given = f"$${latex(self.answer)}$$" if self.answer is not None else html.escape(self.answer_text)
        rows = [f"<p><b style='color:{colour}'>{verdict}</b>: {html.escape(self.noun)} of "
                f"{html.escape(self.model)}</p>",
                "<table><tr><th>expected</th><th>given</th></tr>",
                f"<tr><td>$${latex(self.expected_shown)}$$</td><td>{given}</td></tr></table>"]
        if self.diagnosis:
            rows.append(f"<p>diagnosis: {html.escape(self.diagnosis)}</p>")
        rows.append(f"<p><small>checked: {html.escape(self.method)}</small></p>")
        return "".join(rows)


def check(model: str, quantity: str, answer) -> CheckResult:
    r"""Is `answer` (LaTeX or plain text, or a SymPy expression in the model's symbols) the `quantity` of `model`?

    A result that is a pair (the gaussian solution (μ̂, σ̂²), the mvn gradient) accepts either part alone,
    named, or both as ``[a; b]``, ``(a, b)`` or two lines. Raises `NotSupported` for an unknown model or
    quantity, `ParseError` for text that is not an expression, `ShapeError` for operands that do not fit
    (naming them) unless a transpose is what is missing (then the answer is wrong, and the diagnosis says
    which), `DeriveError` when the answer cannot be evaluated, `LimitExceeded` past the time limit.

    >>> check("ols", "solution", "inv(X'X) X'y").correct
    True
    >>> print(check("gaussian", "solution", r"\frac{1}{n}\sum_{i=1}^n (x_i - \bar x)^2").part)
    σ̂²
    """
    context = model_context(model)
    result = _verdict(context, quantity, answer)
    shown = context.shown_result(quantity, result.part)
    return result if shown is None or shown == result.expected else dataclasses.replace(result, shown=shown)


def _verdict(context, quantity: str, answer) -> CheckResult:
    """`check`'s verdict, its expected result as the results hold it (plain SymPy, vector form)."""
    expected = context.result(quantity)
    text = answer if isinstance(answer, str) else unicode(answer)
    with time_limit(CHECK_SECONDS, f"checking {short_quote(text)}"):
        symbols, pair = context.answer_symbols(quantity), bool(context.parts(quantity))
        try:
            written = _read_answer(answer, symbols, pair)
        except ShapeError as error:
            if error.operation == "scalar on a square matrix":
                # XᵀX + λ: a student's answer is read as written (λ in every entry), so that the catalogue
                # can say what is wrong with it (the identity is missing) rather than refuse it
                written = _read_answer(answer, symbols, pair, scalar_on_square="every entry")
            else:
                written = None
            transpose = None if written is not None else missing_transpose(error)
            if written is None and transpose is None:
                raise explained_shape_error(error) from None
            if written is None:
                return CheckResult(False, context.name, quantity, None, expected, transpose, "the shapes of the operands",
                                   text)
        meanings = context.meanings(quantity)
        given = [w.xreplace(meanings) for w in written] if isinstance(written, list) else written.xreplace(meanings)
        parameters = _parameters_in_estimate(context, quantity, given)
        if parameters:
            return CheckResult(False, context.name, quantity, written, expected, parameters, "the answer's symbols", text,
                               where=_where(written, meanings))
        parts = context.parts(quantity)
        if parts:
            return _check_pair(context, quantity, given, parts, text, written)
        if isinstance(given, list):
            raise ParseError(f"the {context.name} {quantity_noun(quantity)} is one result, but {short_quote(text)} "
                             f"has {len(given)} parts")
        equal, method, diagnosis = _compare(context, quantity, given, expected)
    return CheckResult(equal, context.name, quantity, written, expected, diagnosis, method, text,
                       where=_where(written, meanings))


def _parameters_in_estimate(context, quantity: str, given) -> Optional[str]:
    """An estimate written with the unknown parameter it estimates (σ̂² with μ, not μ̂): the diagnosis."""
    if quantity != "solution":
        return None
    pieces = given if isinstance(given, list) else [given]
    expected = context.result(quantity)
    unknowns = [p for p in context.parameters if any(g.has(p) for g in pieces) and not expected.has(p)]
    if not unknowns:
        return None
    several = len(unknowns) > 1
    return (f"the answer uses {', '.join(unicode(p) for p in unknowns)}, the unknown parameter{'s' if several else ''}: "
            f"an estimate is a function of the data alone, so write {', '.join(estimate_name(p) for p in unknowns)} "
            f"(the estimate{'s' if several else ''}) in {'their' if several else 'its'} place")


def _where(written, meanings) -> str:
    """"S = diag(…)" for each name of the answer that stands for a longer expression."""
    used = [p for p in meanings if any(w.has(p) for w in (written if isinstance(written, list) else [written]))]
    return ", ".join(f"{unicode(p)} = {unicode(meanings[p])}" for p in used)


def _read_answer(answer, symbols, pair: bool, scalar_on_square: str = "refuse"):
    """The answer as SymPy (a list for a pair written as parts, when a pair is expected); a SymPy answer is
    taken as it is."""
    if not isinstance(answer, str):
        if not isinstance(answer, sp.Basic):
            raise ParseError(f"cannot check a {type(answer).__name__}: give the answer as text or a SymPy expression")
        given = [answer]
    else:
        pieces = answer_parts(answer) if pair else [answer]
        given = [parse(student_text(piece, symbols), symbols=symbols, scalar_on_square=scalar_on_square)
                 for piece in pieces]
    for piece in given:
        guard_sizes(piece, answer if isinstance(answer, str) else unicode(answer))
        for base in _bare_indexed(piece):
            raise ParseError(f"{base} is the vector of entries {base}_i here: write {base}_i inside a sum, "
                             f"such as \\sum_{{i=1}}^{{n}} {base}_i")
    return given[0] if len(given) == 1 else given


def _compare(context, quantity: str, given, expected, part: Optional[str] = None):
    """(equal, method, diagnosis) of one answer against one expected expression."""
    others, related = confusable_results(context, quantity)
    allowed = set(context.answer_symbols(quantity).values())
    unknown = sorted({unicode(s) for s in _named_symbols(given) if s not in allowed}, key=str)
    noun = part or quantity_noun(quantity)
    return compare(as_components(given, expected), expected, context.domains, reference=f"the expected {noun}",
                   quantity=quantity, model=context.name, function="the loss", others=others, related=related,
                   parameter=context.parameter, unknown=unknown, known=context.symbol_list)


def _check_pair(context, quantity: str, given, parts, text: str, written) -> CheckResult:
    """A pair checked part by part: one part alone is taken as the part it equals (or is closest to)."""
    expected = context.result(quantity)
    pieces = given if isinstance(given, list) else list(given) \
        if isinstance(given, sp.MatrixBase) and len(given) == len(parts) else [given]
    if len(pieces) == 1:
        verdicts = [(name, _compare(context, quantity, pieces[0], value, name)) for name, value in parts
                    if same_shape(pieces[0], value)]
        if not verdicts:
            shapes = " and ".join(f"{name} {shape_text(value)}" for name, value in parts)
            return CheckResult(False, context.name, quantity, pieces[0], expected,
                               f"the answer is {shape_text(pieces[0])}, but the {quantity_noun(quantity)} is the "
                               f"pair {shapes}", "the shapes", text)
        # the part it equals; else the one whose diagnosis names a mistake; else the last (σ̂², not μ̂)
        name, (equal, method, diagnosis) = next(
            (verdict for verdict in verdicts if verdict[1][0]),
            next((verdict for verdict in verdicts if not (verdict[1][2] or "").startswith("not equivalent")), verdicts[-1]))
        return CheckResult(equal, context.name, quantity, written, parts_value(parts, name), diagnosis, method,
                           text, part=name, where=_where(written, context.meanings(quantity)))
    if len(pieces) != len(parts):
        raise ParseError(f"the {context.name} {quantity_noun(quantity)} is the pair "
                         f"({', '.join(n for n, _ in parts)}), but {short_quote(text)} has {len(pieces)} parts")
    wrong, method = [], ""
    for k, ((name, value), piece) in enumerate(zip(parts, pieces), start=1):
        equal, method, diagnosis = _compare(context, quantity, piece, value, name)
        if not equal:
            wrong.append(f"part {k}, {name}, is wrong: {diagnosis}")
    right = [name for (name, _), piece in zip(parts, pieces) if not any(f", {name}," in w for w in wrong)]
    diagnosis = "; ".join(wrong) + (f" ({', '.join(right)} {'is' if len(right) == 1 else 'are'} right)"
                                    if wrong and right else "") if wrong else None
    written = written if isinstance(written, list) else list(written)
    shown = sp.Tuple(*written) if any(getattr(p, "is_Matrix", False) for p in written) else sp.ImmutableMatrix(written)
    return CheckResult(not wrong, context.name, quantity, shown, expected, diagnosis, method, text,
                       where=_where(written, context.meanings(quantity)))


def parts_value(parts, name):
    return next(value for n, value in parts if n == name)


def _bare_indexed(expr) -> list:
    """IndexedBase objects used without a subscript (x where the model has entries x_i)."""
    if isinstance(expr, sp.Indexed):
        return []
    if isinstance(expr, sp.IndexedBase):
        return [expr]
    found = []
    for arg in expr.args:
        if isinstance(arg, sp.Basic):
            found += _bare_indexed(arg)
    return found


def _named_symbols(expr) -> set:
    """The symbols an expression names (matrices, scalars, indexed arrays by their matrix), no bound indices."""
    found = set()
    for node in sp.preorder_traversal(expr):
        if isinstance(node, (sp.MatrixSymbol, sp.IndexedBase)):
            found.add(node)
    found |= {s for s in expr.free_symbols if isinstance(s, sp.Symbol) and not s.is_integer}
    labels = {b.label for b in found if isinstance(b, sp.IndexedBase)}
    return {s for s in found if s not in labels and not isinstance(s, sp.IndexedBase)}
