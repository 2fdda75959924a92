"""Random points, the values of expressions there, and when two such values are equal (or proportional).

A check evaluates both sides (`derive.core.numeval`) at random points: three draws of every matrix dimension
(each different from the one before) and two points per draw, with the model's own data domains (binary y
for logistic regression, counts for Poisson). A wrong answer agrees with the right one at such points only
on a set of measure zero, so "equal" is never said of two different functions; an expression that cannot
be evaluated raises `DeriveError` rather than a guess.
"""
from __future__ import annotations

from typing import Mapping, Optional, Sequence

import numpy as np
import sympy as sp

from derive.core.numeval import evaluate
from derive.core.steps import Domains
from derive.errors import DeriveError, LimitExceeded, NotSupported
from derive.expr.printing import unicode

SIZE_DRAWS = 3              # independent draws of every dimension, each different from the last
POINTS_PER_SIZE = 2         # random points per draw
RTOL = 1e-10                # relative tolerance of "equal": rounding in double precision stays far below
MAX_DIMENSION = 200         # largest explicit matrix size in an answer that is evaluated
MAX_SUM_LENGTH = 10_000     # largest explicit upper limit of a sum in an answer


# ---------------------------------------------------------------------------------------------------
# Random points
# ---------------------------------------------------------------------------------------------------
def sample_points(exprs, domains: Domains, seed: int = 0, sizes: int = SIZE_DRAWS,
                  points: int = POINTS_PER_SIZE) -> list[dict]:
    """Random values for every symbol of `exprs`: `sizes` draws of the dimensions, `points` per draw.

    Each draw gives every dimension a value different from the previous draw where its range allows,
    so that a factor such as 1/n shows up as a factor that changes.
    """
    rng = np.random.default_rng(seed)
    exprs = [e for e in exprs if isinstance(e, sp.Basic)]
    inverted = {node.args[0] for e in exprs for node in sp.preorder_traversal(e)
                if isinstance(node, sp.Inverse) or (isinstance(node, sp.MatPow) and node.exp.is_negative)}
    envs: list[dict] = []
    previous: dict = {}
    for _ in range(sizes):
        for attempt in range(50):
            env = domains.sample(exprs, rng)
            dims = {k: v for k, v in env.items() if isinstance(v, int)}
            fresh = not any(previous.get(k) == v for k, v in dims.items())
            if _invertible(inverted, env) and (fresh or attempt >= 30):
                break
        else:
            shown = ", ".join(unicode(m) for m in sorted(inverted, key=str))
            raise DeriveError(f"no random values make {shown} invertible: is it singular for every size "
                              "(such as XᵀX with X n×d and n < d)?")
        previous = dims
        envs.append(env)
        pinned = Domains({**domains.samplers, **{k: constant(v) for k, v in dims.items()}})
        for _ in range(points - 1):
            for _attempt in range(50):
                extra = pinned.sample(exprs, rng)
                if _invertible(inverted, extra):
                    break
            envs.append(extra)
    return envs


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


def constant(value):
    """A sampler that always draws `value` (a dimension pinned to a size already chosen)."""
    return lambda rng, shape: value


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
