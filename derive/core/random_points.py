"""Random points: the one sampler of every check, the values of expressions there, and when two such
values are equal (or proportional).

A domain (`Domains`) says how each symbol is drawn: a sampler per name (binary y for logistic regression,
counts for Poisson, an SPD matrix inside a log det), with defaults for dimensions, matrices and scalars.
`Domains.points` is the one way derive draws values, for every step check, answer check, line check and
code check: several draws of every matrix dimension (each different from the one before), points per
draw, every inverted matrix well-conditioned, and a random direction dv for each variable of a
differential. A wrong answer agrees with the right one at such points only on a set of measure zero, so
"equal" is never said of two different functions; an expression that cannot be evaluated raises
`DeriveError` rather than a guess.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional, Sequence

import numpy as np
import sympy as sp

from derive.core.numeval import evaluate, indexed_key, padded
from derive.errors import DeriveError, LimitExceeded, NotSupported
from derive.expr.notation import Differential, differential_key
from derive.expr.printing import unicode

SIZE_DRAWS = 3              # independent draws of every dimension, each different from the last
POINTS_PER_SIZE = 2         # random points per draw
RTOL = 1e-10                # relative tolerance of "equal": rounding in double precision stays far below
MAX_DIMENSION = 200         # largest explicit matrix size in an answer that is evaluated
MAX_SUM_LENGTH = 10_000     # largest explicit upper limit of a sum in an answer
ATTEMPTS = 50               # draws tried for a point whose inverted matrices are well-conditioned
FRESH_ATTEMPTS = 30         # of those, the draws that also insist on sizes different from the last draw's


# ---------------------------------------------------------------------------------------------------
# Samplers: how one kind of value is drawn (rng, shape) -> value; shape () for a scalar
# ---------------------------------------------------------------------------------------------------
Sampler = Callable[[np.random.Generator, tuple], object]


def interval(low: float, high: float) -> Sampler:
    """Entries uniform in [low, high]."""
    return lambda rng, shape: rng.uniform(low, high, shape) if shape else float(rng.uniform(low, high))


def normal(rng, shape):
    return rng.standard_normal(shape) if shape else float(rng.standard_normal())


positive = interval(0.5, 2.0)
probability = interval(0.1, 0.9)


def binary(rng, shape):
    return rng.integers(0, 2, shape).astype(float)


def counts(rng, shape):
    return rng.poisson(3.0, shape).astype(float)


def spd(rng, shape):
    """A well-conditioned symmetric positive-definite matrix."""
    a = rng.standard_normal(shape)
    return a @ a.T / shape[0] + np.eye(shape[0])


def symmetric(rng, shape):
    a = rng.standard_normal(shape)
    return (a + a.T) / 2


def diagonal(rng, shape):
    return np.diag(rng.uniform(0.5, 2.0, shape[0]))


def on_simplex(rng, shape):
    """Entries in (0, 1) summing to 1: over the column of a vector, along each row of a matrix."""
    axis = 0 if shape[1] == 1 else 1
    weights = rng.uniform(0.1, 1.0, shape)
    return weights / weights.sum(axis=axis, keepdims=True)


# What a declared assumption (``S:nxn pd``, DESIGN §5) draws.
BY_ASSUMPTION: dict[str, Sampler] = {"sym": symmetric, "pd": spd, "spd": spd, "diag": diagonal, "pos": positive,
                                     "prob": on_simplex}


def dimension(low: int, high: int) -> Sampler:
    return lambda rng, shape: int(rng.integers(low, high + 1))


def constant(value) -> Sampler:
    """A sampler that always draws `value` (a dimension pinned to a size already chosen)."""
    return lambda rng, shape: value


DEFAULT_DIMENSION = dimension(2, 5)


@dataclass(frozen=True)
class IndexIn:
    """A free subscript ranging over 1…dimension (or 0…dimension−1 with low=0)."""

    dimension: str
    low: int = 1


# ---------------------------------------------------------------------------------------------------
# The sampler
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Domains:
    """How to draw values: a sampler per symbol name; dimensions, matrices and scalars have defaults."""

    samplers: Mapping[str, Sampler] = field(default_factory=dict)

    def points(self, exprs, seed: int = 0, sizes: int = SIZE_DRAWS, per_size: int = POINTS_PER_SIZE,
               directions=()) -> list[dict]:
        """Values for every symbol of `exprs` at `sizes` draws of the dimensions, `per_size` points each.

        Each draw gives every dimension a value different from the previous draw where its range allows
        (so that a factor such as 1/n shows up as a factor that changes); every matrix an expression
        inverts is well-conditioned at every point (else the numbers lie); each variable in `directions`,
        and each leaf dv of a differential in `exprs`, gets a random direction under `differential_key`.
        """
        rng = np.random.default_rng(seed)
        exprs = [e for e in exprs if isinstance(e, sp.Basic)]
        inverted = {node.args[0] for e in exprs for node in sp.preorder_traversal(e)
                    if isinstance(node, sp.Inverse) or (isinstance(node, sp.MatPow) and node.exp.is_negative)}
        varying = set(directions) | _differential_leaves(exprs)
        symbols = set().union(*(_free_symbols(e) for e in exprs))   # found once, drawn at every point
        envs: list[dict] = []
        previous: dict = {}
        for _ in range(sizes):
            env = self._invertible_point(symbols, inverted, rng, previous)
            previous = dimensions(env)
            pinned = Domains({**self.samplers, **{k: constant(v) for k, v in previous.items()}})
            draw = [env] + [pinned._invertible_point(symbols, inverted, rng) for _ in range(per_size - 1)]
            for point in draw:
                for v in sorted(varying, key=str):
                    point[differential_key(v)] = rng.standard_normal(np.shape(point[v.name]))
            envs.extend(draw)
        return envs

    def _invertible_point(self, symbols, inverted, rng, previous: Optional[dict] = None) -> dict:
        """One point at which every inverted matrix is well-conditioned, at sizes new next to `previous`."""
        for attempt in range(ATTEMPTS):
            env = self._point(symbols, rng)
            fresh = previous is None or attempt >= FRESH_ATTEMPTS or \
                not any(previous.get(k) == v for k, v in dimensions(env).items())
            if fresh and _invertible(inverted, env):
                return env
        shown = ", ".join(unicode(m) for m in sorted(inverted, key=str))
        raise DeriveError(f"no random values make {shown} invertible: is it singular for every size "
                          "(such as XᵀX with X n×d and n < d)?")

    def _point(self, symbols, rng: np.random.Generator) -> dict:
        """Values for `symbols` (the `_free_symbols` of the expressions), dimensions first."""
        dims = {s for s in symbols if isinstance(s, sp.Symbol) and s.is_integer
                and not isinstance(self.samplers.get(s.name), IndexIn)}
        for s in symbols:
            if isinstance(s, (sp.MatrixSymbol, sp.IndexedBase)):
                dims |= {k for k in sp.Tuple(*s.shape).free_symbols if isinstance(k, sp.Symbol)}
        env: dict = {}
        for s in sorted(dims, key=str):
            env[s.name] = self.samplers.get(s.name, DEFAULT_DIMENSION)(rng, ())
        # Matrices before indexed arrays: X_ij in a sum then reads the same numbers as the matrix X.
        order = lambda s: (isinstance(s, sp.IndexedBase), str(s))
        for s in sorted(symbols - dims, key=order):
            name = str(s.label) if isinstance(s, sp.IndexedBase) else s.name
            sampler = self.samplers.get(name)
            if isinstance(sampler, IndexIn):  # a free subscript such as k in ∂L/∂β_k: any index in range
                env[name] = int(rng.integers(sampler.low, int(env[sampler.dimension]) + sampler.low))
            elif isinstance(s, sp.IndexedBase):
                shape = tuple(int(evaluate(sp.sympify(k), env)) for k in s.shape)
                env[indexed_key(name)] = padded(env[name], len(shape)) if name in env else \
                    (sampler or normal)(rng, tuple(k + 1 for k in shape))
            elif isinstance(s, sp.MatrixSymbol):
                shape = tuple(int(evaluate(sp.sympify(k), env)) for k in s.shape)
                env[name] = (sampler or normal)(rng, shape)
            else:
                env[name] = (sampler or positive)(rng, ())
        return env


def _free_symbols(expr) -> set:
    """The symbols an expression needs values for: scalars, dimensions, matrices, indexed arrays, free indices."""
    if not isinstance(expr, sp.Basic):
        return set()
    found = {n for n in sp.preorder_traversal(expr) if isinstance(n, (sp.MatrixSymbol, sp.IndexedBase))}
    labels = {b.label for b in found if isinstance(b, sp.IndexedBase)}
    found |= {s for s in expr.free_symbols
              if isinstance(s, sp.Symbol) and s not in labels}
    return found


def _differential_leaves(exprs) -> set:
    """The variables v whose leaf dv appears in a differential: each needs a direction to evaluate against."""
    return {n.arg for e in exprs for n in sp.preorder_traversal(e)
            if isinstance(n, Differential) and isinstance(n.arg, (sp.MatrixSymbol, sp.Symbol))}


def _invertible(matrices, env) -> bool:
    """Every matrix that an expression inverts is well-conditioned at this point (else the numbers lie)."""
    for m in matrices:
        try:
            with np.errstate(all="ignore"):
                value = np.asarray(evaluate(m, env), dtype=complex)
            if value.ndim == 2 and (value.shape[0] != value.shape[1] or np.linalg.cond(value) > 1e8):
                return False
            if value.ndim < 2 and abs(value) < 1e-8:
                return False
        except Exception:  # noqa: BLE001 - a matrix that cannot be evaluated here is a problem for values_of
            return True
    return True


def dimensions(env) -> dict:
    """The sizes drawn for a point, by name in alphabetical order ({"d": 3, "n": 7})."""
    return {k: v for k, v in sorted(env.items()) if isinstance(v, int)}


def dimensions_text(env) -> str:
    return ", ".join(f"{k}={v}" for k, v in dimensions(env).items()) or "scalars only"


def numeric_method(envs) -> str:
    """How a numeric check was made, for the reader: the number of points and the sizes drawn."""
    sizes = {}
    for env in envs:
        for k, v in env.items():
            if isinstance(v, int):
                sizes.setdefault(k, [])
                if v not in sizes[k]:
                    sizes[k].append(v)
    shown = "; ".join(f"{k} ∈ {{{', '.join(map(str, sorted(v)))}}}" for k, v in sorted(sizes.items()))
    return f"numeric at {len(envs)} random points with random sizes" + (f" ({shown})" if shown else "")


# ---------------------------------------------------------------------------------------------------
# Values at the points
# ---------------------------------------------------------------------------------------------------
def guard_sizes(expr, text: str) -> None:
    """Refuse explicit sizes too large to evaluate: `ones(10^9, 1)` would ask numpy for 8 GB."""
    for node in sp.preorder_traversal(expr):
        if getattr(node, "is_Matrix", False) and hasattr(node, "shape"):
            for size in node.shape:
                if getattr(size, "is_Integer", False) and size > MAX_DIMENSION:
                    raise LimitExceeded(f"{short_quote(text)} has a dimension of {size}; derive evaluates explicit "
                                        f"sizes up to {MAX_DIMENSION} (write sizes as names such as n)")
        if isinstance(node, (sp.Sum, sp.Product)):
            for _, low, high in node.limits:
                if (high - low).is_Number and abs(high - low) > MAX_SUM_LENGTH:
                    raise LimitExceeded(f"{short_quote(text)} has a sum of more than {MAX_SUM_LENGTH} terms; "
                                        "write its limit as a name such as n")


def short_quote(text: str) -> str:
    """The user's text, quoted on one line and cut to a length a message can carry."""
    text = " ".join(text.split())
    return f'"{text}"' if len(text) <= 60 else f'"{text[:57]}..."'


def values_of(expr, envs, what: str = "the answer") -> list[np.ndarray]:
    """`expr` evaluated at each point as a real 2-d array (scalars as 1×1); DeriveError when it cannot be."""
    out = []
    for env in envs:
        try:
            with np.errstate(all="ignore"):
                value = np.asarray(evaluate(expr, env))
        except NotSupported as error:
            raise NotSupported(f"cannot evaluate {what} numerically: {error}") from None
        except (np.linalg.LinAlgError, ValueError, ZeroDivisionError, OverflowError, TypeError,
                IndexError, KeyError) as error:
            raise DeriveError(f"cannot evaluate {what} at random values ({dimensions_text(env)}): {error}") from None
        if np.iscomplexobj(value):
            if np.max(np.abs(value.imag), initial=0.0) > 1e-9 * (1 + np.max(np.abs(value.real), initial=0.0)):
                raise DeriveError(f"{what} is not real at random values ({dimensions_text(env)})")
            value = value.real
        value = value.astype(float)
        if value.ndim < 2:
            value = value.reshape((1, 1) if value.size == 1 else (-1, 1))
        if not np.all(np.isfinite(value)):
            raise DeriveError(f"{what} is not finite at random values ({dimensions_text(env)}): "
                              "a log of a negative number, a division by zero or an overflow")
        out.append(value)
    return out


def values_by_name(exprs: Mapping[str, sp.Basic], envs) -> dict:
    """The values of named expressions, leaving out those that cannot be evaluated (they are only
    candidates for what an answer might be)."""
    found = {}
    for name, expr in exprs.items():
        try:
            found[name] = values_of(expr, envs, name)
        except DeriveError:
            continue
    return found


# ---------------------------------------------------------------------------------------------------
# Equal, or equal up to a constant factor
# ---------------------------------------------------------------------------------------------------
def close(a: np.ndarray, b: np.ndarray, rtol: float = RTOL) -> bool:
    """a = b up to rounding: same shape, and entries within rtol of the larger magnitude."""
    if a.shape != b.shape:
        return False
    scale = max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0))
    return bool(np.max(np.abs(a - b), initial=0.0) <= rtol * scale + 1e-12)


def all_close(xs, ys, rtol: float = RTOL) -> bool:
    return len(xs) == len(ys) and all(close(a, b, rtol) for a, b in zip(xs, ys))


ANY = float("nan")   # fit_factor at a point where both sides vanish: every k fits there


def fit_factor(a: np.ndarray, t: np.ndarray, scale: float = 0.0) -> Optional[float]:
    """k with a = k·t exactly (up to rounding); ANY when a = t = 0; None when no k fits.

    `scale` is the size of the numbers `a` was computed from (a difference of two values carries their
    rounding error, not its own).
    """
    if a.shape != t.shape:
        return None
    tolerance = RTOL * max(scale, float(np.max(np.abs(a), initial=0.0))) + 1e-13
    tt = float(np.sum(t * t))
    if np.sqrt(tt) <= tolerance:
        return ANY if np.max(np.abs(a), initial=0.0) <= tolerance else None
    k = float(np.sum(a * t)) / tt
    return k if float(np.max(np.abs(a - k * t), initial=0.0)) <= tolerance + RTOL * abs(k) * np.max(np.abs(t)) else None


def consistent(ks: Sequence[Optional[float]]) -> Optional[float]:
    """The common value of the ks (all equal up to rounding, ANY fitting every value), or None."""
    if not ks or any(k is None for k in ks):
        return None
    known = [k for k in ks if not np.isnan(k)]
    if not known:
        return None
    k0 = known[0]
    return k0 if all(abs(k - k0) <= 1e-7 * max(1.0, abs(k0)) for k in known) else None
