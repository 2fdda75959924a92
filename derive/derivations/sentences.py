"""The derivations' sentences: `derive.expr.prose` with the words' own symbols (≥, ‖v‖², Σᵢ, ∂βⱼ/∂βₖ) set as
mathematics in LaTeX too, so that a sentence written in Unicode typesets."""
from __future__ import annotations

from derive.expr.prose import Prose
from derive.expr.prose import prose as sentence
from derive.render.latex import prose as latex_prose


def prose(*parts) -> Prose:
    """A sentence of words and formulas; each plain string's LaTeX is its Unicode mathematics set as LaTeX."""
    return sentence(*[Prose(p, latex_prose(p)) if type(p) is str else p for p in parts])
