"""Prose with mathematics in it: a sentence whose formulas are SymPy expressions, printed per format.

An explanation such as "Multiply both sides by (XᵀX)⁻¹, which exists when X has full column rank" is built
from its words and its formulas,

    >>> import sympy as sp
    >>> from derive.expr import symbols as S
    >>> p = prose("Multiply both sides by ", sp.Inverse(S.X.T * S.X), ", which exists when ", S.X,
    ...           " has full column rank.")
    >>> str(p)
    'Multiply both sides by (XᵀX)⁻¹, which exists when X has full column rank.'
    >>> p.latex
    'Multiply both sides by $\\\\left(X^{\\\\top} X\\\\right)^{-1}$, which exists when $X$ has full column rank.'

so that each format sets the formulas as mathematics (italic variables, real minus signs) and the prose
cannot name an expression other than the one computed. A `Prose` *is* its Unicode text (a `str`), so code
that only needs text treats it as one; renderers that can do better read `.latex` (LaTeX text mode with
`$…$` spans, which Markdown/KaTeX and HTML use too).
"""
from __future__ import annotations

import re

import sympy as sp

from derive.expr.printing import latex, unicode

# LaTeX text-mode escapes for the words (never for the formulas, which come from the LaTeX printer)
_TEXT_ESCAPES = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
                 "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}


_ADJACENT_FORMULAS = re.compile(r"(?<!\\)\$(\s*)\$")


class Math:
    """A formula given as both notations, for what is not one SymPy expression (`σ′ = σ(1 − σ)` as an
    equation chain, `i = 1, …, n`)."""

    __slots__ = ("text", "latex")

    def __init__(self, text: str, latex: str):
        self.text, self.latex = text, latex


class Prose(str):
    """Unicode text of a sentence, with `.latex`: the same sentence as LaTeX text with `$…$` formulas."""

    latex: str

    def __new__(cls, text: str, latex_text: str):
        self = super().__new__(cls, text)
        self.latex = latex_text
        return self

    def __add__(self, other):
        return prose(self, other)

    def __radd__(self, other):
        return prose(other, self)


def escape_text(words: str) -> str:
    return "".join(_TEXT_ESCAPES.get(c, c) for c in words)


def prose(*parts) -> Prose:
    """Join words (str), formulas (SymPy expressions or `Math`) and other `Prose` into one sentence."""
    text, tex = [], []
    for part in parts:
        if isinstance(part, Prose):
            text.append(str(part))
            tex.append(part.latex)
        elif isinstance(part, str):
            text.append(part)
            tex.append(escape_text(part))
        elif isinstance(part, Math):
            text.append(part.text)
            tex.append(f"${part.latex}$")
        elif isinstance(part, (sp.Basic, int)):
            text.append(unicode(part))
            tex.append(f"${latex(part)}$")
        else:
            raise TypeError(f"prose() takes words, SymPy expressions, Math and Prose, not {type(part).__name__}")
    # formulas separated by nothing but spaces are one formula ($A$ $=$ $B$ is $A = B$)
    return Prose("".join(text), _ADJACENT_FORMULAS.sub(r"\1", "".join(tex)))
