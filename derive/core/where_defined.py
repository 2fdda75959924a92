"""Where a function is defined: the random points at which `derive.diff` checks its steps.

A step is checked by evaluating both sides at random points; at a point where the function is complex,
infinite or huge the comparison says nothing. So before differentiating, `choose_domains` tries a few
ranges of values until the function is real and finite at every trial point, and draws matrices inside an
inverse or determinant symmetric positive definite. When no range works, `Unverifiable` carries the
samplers to try anyway and the reason, which `diff` reports if a check then fails.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import sympy as sp

from derive.core.numeval import evaluate
from derive.core.random_points import BY_ASSUMPTION, Domains, dimension, interval, positive, spd
from derive.errors import DeriveError
from derive.expr.printing import unicode

HUGE = 1e100               # values beyond this at the check points leave no room for derivatives' growth


def real_scalars(f) -> tuple:
    """The real scalar symbols of f (not sizes, subscripts or the names of indexed arrays)."""
    labels = {b.label for b in f.atoms(sp.IndexedBase)}
    return tuple(sorted((s for s in f.free_symbols if isinstance(s, sp.Symbol) and not s.is_integer
                         and s not in labels), key=str))


def _in_inverse_or_det(expression) -> set:
    """Square matrix symbols that appear as (or transposed as) the argument of an inverse or determinant."""
    found = set()
    for node in sp.preorder_traversal(expression):
        if isinstance(node, (sp.Inverse, sp.Determinant)) or (isinstance(node, sp.MatPow) and node.exp.is_negative):
            arg = node.args[0]
            arg = arg.arg if isinstance(arg, sp.Transpose) else arg
            if isinstance(arg, sp.MatrixSymbol):
                found.add(arg.name)
    return found


def _sizes_for_inverses(expression) -> dict:
    """Dimension samplers that make every inverted or determinant's product full rank: XᵀX with X n×d is
    invertible only for n ≥ d, so n is drawn from 6…9 and d from 2…4 (the sizes a regression has)."""
    tall, small = set(), set()
    for node in sp.preorder_traversal(expression):
        if isinstance(node, (sp.Inverse, sp.Determinant)) or (isinstance(node, sp.MatPow) and node.exp.is_negative):
            size = node.args[0].shape[0]
            for m in node.args[0].atoms(sp.MatrixSymbol):
                for k, other in (m.shape, m.shape[::-1]):
                    if k == size and other != size and isinstance(other, sp.Symbol):
                        tall.add(other.name)
                        small |= {s.name for s in sp.sympify(size).free_symbols}
    return {**{name: dimension(2, 4) for name in small - tall}, **{name: dimension(6, 9) for name in tall}}


def _declared(matrices) -> dict:
    """Samplers for the matrices declared sym, pd, diag or prob: the checks draw what was declared."""
    return {m.name: BY_ASSUMPTION[m.assumption] for m in matrices if getattr(m, "assumption", None) in BY_ASSUMPTION}


def _spd_or(sampler):
    return lambda rng, shape: spd(rng, shape) if len(shape) == 2 and shape[0] == shape[1] else sampler(rng, shape)


SCALAR_RANGES = [(0.5, 2.0), (0.1, 0.9), (1.5, 3.0), (-2.0, -0.5), (3.0, 6.0), (-0.9, -0.1), (6.0, 12.0),
                 (-6.0, -2.0), (15.0, 40.0), (150.0, 400.0)]


def choose_domains(expression, variables) -> Domains:
    """Samplers under which the function is finite and real at random points (so its checks are meaningful).

    Matrices inside an inverse, det or log det are symmetric positive definite; scalars are tried in a few
    ranges in turn (0.5…2 first, then 0.1…0.9 for log(1 − x), ...)."""
    matrices = {n.name: n for n in sp.preorder_traversal(expression) if isinstance(n, sp.MatrixSymbol)}
    scalars = {s.name for s in real_scalars(expression)}
    scalars |= {v.name for v in variables if isinstance(v, sp.Symbol)}
    special = _in_inverse_or_det(expression)
    sizes = _sizes_for_inverses(expression)
    declared = _declared(matrices.values())
    attempts = []
    for low, high in SCALAR_RANGES:
        samplers = {name: interval(low, high) for name in scalars}
        attempts.append({**sizes, **samplers, **{name: spd for name in special}, **declared})
    # inside a square root or logarithm of a product (√(xᵀy)): positive entries make it positive
    attempts.append({**sizes, **{name: interval(0.5, 2.0) for name in scalars},
                     **{name: _spd_or(positive) for name in matrices}, **declared})
    problems = []
    for seed, samplers in enumerate(attempts, start=2024):
        domains = Domains(samplers)
        problem = _problem_at_random_points(expression, domains, seed)
        if problem is None:
            return domains
        problems.append(problem)
    return Unverifiable(attempts[0], f"cannot check the steps: {unicode(expression)} {problems[0]} at the random "
                         "points tried (several ranges of values), so no step could be verified")


@dataclass(frozen=True)
class Unverifiable(Domains):
    """The samplers to try when no range made the function real and finite, and what went wrong."""

    problem: str = ""


def _problem_at_random_points(expression, domains, seed: int) -> Optional[str]:
    """None when the expression is real and finite at random points (four size draws, two points each),
    else what went wrong."""
    try:
        with np.errstate(all="ignore"):
            for env in domains.points([expression], seed=seed, sizes=4, per_size=2):
                value = np.asarray(evaluate(expression, env))
                if np.iscomplexobj(value) and np.any(np.abs(value.imag) > 0):
                    return "is not real"
                if not np.all(np.isfinite(value)):
                    return "is not finite"
                if np.max(np.abs(value), initial=0.0) > HUGE:
                    return "is too large to compute with"
    except DeriveError as error:
        return f"cannot be evaluated ({error})"
    except (ValueError, TypeError, ZeroDivisionError, np.linalg.LinAlgError, OverflowError) as error:
        return f"cannot be evaluated ({error})"
    return None
