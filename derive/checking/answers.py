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

from dataclasses import dataclass
from typing import Optional

import sympy as sp

from derive.checking.diagnosis import explained_shape_error
from derive.checking.equivalence import compare
from derive.checking.line_checking import check_steps
from derive.checking.model_context import (
    confusable_results,
    model_context,
    quantity_noun,
)
from derive.core.limits import time_limit
from derive.core.random_points import guard_sizes, short_quote
from derive.errors import NotSupported, ParseError, ShapeError
from derive.expr.printing import unicode
from derive.parse import parse
from derive.render.formats import expression_dict

__all__ = ["check", "check_steps", "CheckResult"]

CHECK_SECONDS = 20.0        # wall clock for one `check` (parsing, sampling, diagnosis)


@dataclass
class CheckResult:
    """The verdict on one answer: `correct`, and for a wrong answer a `diagnosis` in plain words."""

    correct: bool
    model: str
    quantity: str
    answer: sp.Basic
    expected: sp.Basic
    diagnosis: Optional[str]
    method: str
    answer_text: str = ""   # the answer as typed

    @property
    def exit_code(self) -> int:
        """The command line's exit code: 0 correct, 1 wrong."""
        return 0 if self.correct else 1

    def to_dict(self) -> dict:
        return {"correct": self.correct, "model": self.model, "quantity": self.quantity,
                "answer": expression_dict(self.answer), "expected": expression_dict(self.expected),
                "diagnosis": self.diagnosis, "method": self.method}

    def to_text(self) -> str:
        noun = quantity_noun(self.quantity)
        if self.correct:
            lines = [f"correct: {unicode(self.answer)} is the {noun} of {self.model}",
                     f"  expected: {unicode(self.expected)}"]
        else:
            lines = [f"wrong: {unicode(self.answer)} is not the {noun} of {self.model}",
                     f"  expected: {unicode(self.expected)}",
                     f"  diagnosis: {self.diagnosis}"]
        lines.append(f"  checked: {self.method}")
        return "\n".join(lines)


def check(model: str, quantity: str, answer: str) -> CheckResult:
    r"""Is `answer` (LaTeX or plain text) the `quantity` of `model`?

    Raises `NotSupported` for an unknown model or quantity, `ParseError` for text that is not an
    expression, `ShapeError` for operands that do not fit (naming them), `DeriveError` when the answer
    cannot be evaluated, `LimitExceeded` past the time limit.

    >>> check("ols", "solution", "inv(X'X) X'y").correct
    True
    """
    context = model_context(model)
    expected = context.result(quantity)
    if isinstance(expected, (sp.Tuple, tuple)):
        raise NotSupported(f"the {model} {quantity} is a pair of results, {unicode(expected)}; "
                           "derive check compares one expression")
    with time_limit(CHECK_SECONDS, f"checking {short_quote(answer)}"):
        try:
            given = parse(answer, symbols=context.symbols)
        except ShapeError as error:
            raise explained_shape_error(error) from None
        guard_sizes(given, answer)
        for base in _bare_indexed(given):
            raise ParseError(f"{base} is the vector of entries {base}_i here: write {base}_i inside a sum, "
                             f"such as \\sum_{{i=1}}^{{n}} {base}_i")
        others, related = confusable_results(context, quantity)
        allowed = set(context.symbols.values())
        unknown = sorted({unicode(s) for s in _named_symbols(given) if s not in allowed}, key=str)
        equal, method, diagnosis = compare(
            given, expected, context.domains, reference=f"the expected {quantity_noun(quantity)}", quantity=quantity,
            model=model, function="the loss", others=others, related=related, parameter=context.parameter,
            unknown=unknown, known=context.symbol_list)
    return CheckResult(equal, model, quantity, given, expected, diagnosis, method, answer)


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
