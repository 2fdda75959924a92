"""What every format shares about a derivation's layout: its sections, and each step's left-hand side."""
from __future__ import annotations

from derive.expr.printing import latex


def left_side(step):
    """What a step shows left of its equals sign: its `lhs` (L(β), ∇ℓ) or else the expression before it."""
    return step.lhs if step.lhs is not None else step.before


def sections(derivation):
    """[(heading or None, [(step number, step)])] in order: the steps under each section heading."""
    starts = dict(derivation.sections)
    groups, current = [], (None, [])
    for k, step in enumerate(derivation.steps):
        if k in starts:
            if current[1] or current[0]:
                groups.append(current)
            current = (starts[k], [])
        current[1].append((k + 1, step))
    groups.append(current)
    return groups


def formula(step) -> str:
    """A step's formula as one line of LaTeX: `lhs = after`, or the equation itself for an equation step."""
    if step.relation == "":
        return latex(step.after)
    return f"{latex(left_side(step))} = {latex(step.after)}"
