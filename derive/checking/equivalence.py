"""Is an expression equivalent to its reference, and if not, what is wrong with it.

1. **Shapes.**  Expressions of different shapes are never equal (a 1×d answer for a d×1 gradient is
   wrong, and the diagnosis says so).
2. **Symbolically, where cheap.**  Expanded forms that SymPy's canonicalisation makes identical are
   equal (a short time limit; no `simplify`).
3. **Numerically, always otherwise.**  Both sides are evaluated at random points (`derive.core.random_points`);
   where they differ, `derive.checking.diagnosis` says how.
"""
from __future__ import annotations

from typing import Mapping, Optional

import sympy as sp

from derive.checking.diagnosis import Comparison, diagnose, undefined_answer
from derive.core.limits import time_limit
from derive.core.random_points import (
    Domains,
    numeric_method,
    values_by_name,
    values_of,
)
from derive.errors import DeriveError, NotSupported

SYMBOLIC_SECONDS = 1.0      # the cheap symbolic attempt; past it, the numeric check decides


def compare(answer, expected, domains: Domains, *, reference: str, subject: str = "the answer",
            quantity=None, model=None, function=None, others: Mapping[str, sp.Basic] | None = None,
            related: Mapping[str, sp.Basic] | None = None, parameter=None,
            unknown=(), known: str = "", seed: int = 0) -> tuple[bool, str, Optional[str]]:
    """(equal, how it was decided, diagnosis or None) for two expressions of the same symbols.

    The keywords after `domains` are those of `Comparison`, with `others` and `related` as expressions.
    """
    others, related = dict(others or {}), dict(related or {})
    if same_shape(answer, expected) and symbolically_equal(answer, expected):
        return True, "symbolic (identical once multiplied out)", None
    envs = domains.points([answer, expected, *others.values(), *related.values()], seed=seed)
    expected_values = values_of(expected, envs, reference)
    method = numeric_method(envs)
    try:
        answer_values = values_of(answer, envs, subject)
    except NotSupported:
        raise
    except DeriveError as error:   # not finite where the expected result is: a wrong answer, diagnosed
        return False, method, undefined_answer(answer, expected, error, quantity=quantity, reference=reference,
                                               subject=subject, parameter=parameter)
    c = Comparison(answer_values, expected_values, envs, answer, expected, reference=reference, subject=subject,
                   quantity=quantity, model=model, function=function, others=values_by_name(others, envs),
                   related=values_by_name(related, envs), parameter=parameter, unknown=unknown, known=known)
    if same_shape(answer, expected) and c.equal:
        return True, method, None
    return False, method, diagnose(c)


def same_shape(a, b) -> bool:
    """Equal shapes, symbolically (n×d and n×d); a scalar counts as 1×1."""
    sa = a.shape if getattr(a, "is_Matrix", False) else (1, 1)
    sb = b.shape if getattr(b, "is_Matrix", False) else (1, 1)
    return all(sp.simplify(sp.sympify(x) - sp.sympify(y)) == 0 for x, y in zip(sa, sb))


def symbolically_equal(a, b) -> bool:
    """True when expanding both sides makes them identical; False when that does not show it (or is slow)."""
    try:
        with time_limit(SYMBOLIC_SECONDS, "the symbolic comparison"):
            if a == b:
                return True
            return sp.expand(a.doit()) == sp.expand(b.doit())
    except Exception:  # noqa: BLE001 - past the time limit, or SymPy failing: the numeric check decides
        return False
