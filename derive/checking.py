r"""Checking a person's work: is an answer the derived result, which line of a derivation is the first
wrong one, and what went wrong.

    >>> from derive.checking import check
    >>> check("ols", "gradient", r"-2X^T(y - X\beta)").correct
    True
    >>> r = check("ols", "gradient", r"X^T(y - X\beta)")
    >>> r.correct
    False
    >>> print(r.diagnosis)
    the sign is flipped and off by a factor of 2: a missing 2 (the answer is −1/2 × the expected gradient; this is the gradient of the ½-scaled loss)

How an answer is judged
-----------------------
1. **Shapes.**  The answer is read by `derive.parse` with the model's symbols; operands that do not fit
   raise `ShapeError` naming them (an inverse of a non-square matrix says so, and what was probably
   meant).  An answer of the wrong shape (1×d for a d×1 gradient) is wrong, and the diagnosis says so.
2. **Symbolically, where cheap.**  Expanded forms that SymPy's canonicalisation makes identical are
   equal (a short time limit; no `simplify`).
3. **Numerically, always otherwise.**  Both sides are evaluated (`derive.numeval`) at random points:
   three draws of every matrix dimension (each different from the one before) and two points per draw,
   with the model's own data domains (binary y for logistic regression, counts for Poisson).  A wrong
   answer agrees with the right one at such points only on a set of measure zero, so "correct" is never
   said of a wrong answer; an answer that cannot be evaluated raises `DeriveError` rather than a guess.

What a wrong answer gets
------------------------
The diagnosis compares values, never strings.  `Comparison` holds both sides' values at the random
points (and the expressions where known, so code output can be diagnosed too); the finders in `FINDERS`
are tried in order, each returning a sentence or None: names the context does not define; a wrong shape
(the transpose of the result, another quantity); another of the model's results (the Hessian given for
the gradient); a constant factor, with 1/n recognised by a factor that changes with n (sign flipped: for
likelihood models "the gradient of the log-likelihood", a missing 2: "the ½-scaled loss", the mean
loss); one term extra, missing, with the wrong sign or factor; equality only for symmetric matrices; a
transpose or the order of a product (variants built structurally from the expected result and from the
answer); a related model's result (ridge without its penalty); a loss off by a term free of β; otherwise
the size of the discrepancy.

Derivations line by line
------------------------
`check_steps` reads a derivation as a person writes it (``align*`` or plain lines) and checks each line
against the one before: equal as functions (``&= …``), or the derivative of it (``\nabla_\beta L = …``,
``\frac{\partial L}{\partial\beta}``, ``⇒ gradient: …``; computed by `derive.calculus` and always checked by
complex-step directional derivatives), or an equation with the same solution (``… = 0``,
``X^TX\beta = X^Ty``, ``\hat\beta = …``; linear equations are solved numerically at each random point).
A wrong line gets the same diagnosis as a wrong answer, relative to the line before it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import Callable, Mapping, Optional, Sequence

import numpy as np
import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.hadamard import HadamardProduct

from .errors import DeriveError, LimitExceeded, NotSupported, ParseError, ShapeError
from .limits import MAX_INPUT_CHARS, time_limit
from .numeval import directional_derivative, evaluate, indexed_key, padded
from .parse import Equation, Label, parse, parse_equation, parse_shapes
from .plain import to_plain
from .printing import latex, unicode
from .steps import Domains
from .symbols import PARAMETER_ALIASES

__all__ = ["check", "check_steps", "CheckResult", "StepsResult", "LineResult", "Comparison", "diagnose",
           "model_context", "ModelContext"]

CHECK_SECONDS = 20.0        # wall clock for one `check` (parsing, sampling, diagnosis)
STEPS_SECONDS = 60.0        # wall clock for a whole `check_steps`
SYMBOLIC_SECONDS = 1.0      # the cheap symbolic attempt; past it, the numeric check decides
DERIVATIVE_SECONDS = 5.0    # a symbolic derivative for a diagnosis (the numeric check needs none)
SIZE_DRAWS = 3              # independent draws of every dimension, each different from the last
POINTS_PER_SIZE = 2         # random points per draw
RTOL = 1e-10                # relative tolerance of "equal": rounding in double precision stays far below
MAX_DIMENSION = 200         # largest explicit matrix size in an answer that is evaluated
MAX_SUM_LENGTH = 10_000     # largest explicit upper limit of a sum in an answer
MAX_VARIANTS = 80           # structural variants tried per diagnosis
MAX_LINES = 200             # lines in a derivation given to check_steps

QUANTITY_NOUNS = {"loss": "loss", "gradient": "gradient", "hessian": "Hessian", "solution": "solution",
                  "update": "Newton update"}
# Models whose loss is a negative log-likelihood: a flipped sign is the log-likelihood's derivative.
LIKELIHOOD_MODELS = {"logistic", "poisson", "gaussian", "bernoulli", "softmax", "mvn"}
# A model's result given for another's: (related model, what the related one lacks).
RELATED_MODELS = {"ridge": [("ols", "without the penalty λ‖β‖²")]}


# ---------------------------------------------------------------------------------------------------
# What a model offers a check: its results, symbols and data domains
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelContext:
    """A model as a check sees it: the matrix-form results, the names an answer may use, the domains."""

    name: str
    results: Mapping[str, sp.Basic]
    symbols: Mapping[str, sp.Basic]
    domains: Domains
    parameter: Optional[sp.Basic]

    @property
    def symbol_list(self) -> str:
        shown = []
        for name, obj in self.symbols.items():
            if name in PARAMETER_ALIASES[1:] or obj.is_integer or isinstance(obj, sp.Pow):
                continue
            text = unicode(obj)
            if text not in shown:
                shown.append(text)
        return ", ".join(shown)


@lru_cache(maxsize=None)
def model_context(model: str) -> ModelContext:
    """The check context of a registered model (NotSupported for an unknown name)."""
    from .derivations import build
    D = build(model, form="matrix")
    found: dict = {}
    for expr in D.results.values():
        labels = set()
        for node in sp.preorder_traversal(expr):
            if isinstance(node, sp.MatrixSymbol):
                found.setdefault(node.name, node)
            elif isinstance(node, sp.IndexedBase):   # x in x_i: the answer's x_i must be the same entries
                found.setdefault(str(node.label), node)
                labels.add(node.label)
        for s in expr.free_symbols:  # bound summation indices are not free
            if isinstance(s, sp.Symbol) and not isinstance(s, sp.Dummy) and s not in labels and \
                    (not s.is_integer or s.is_positive):
                found.setdefault(s.name, s)
    for name, s in list(found.items()):
        base, _, power = name.partition("^")   # the symbol σ² of a model: the answer's \sigma^2 is σ²
        if power == "2" and base.isidentifier() and base not in found and getattr(s, "is_positive", False):
            found[base] = sp.sqrt(s)
    symbols = dict(sorted(found.items(), key=lambda item: (not isinstance(item[1], sp.MatrixSymbol), item[0])))
    parameter = next((symbols[p] for p in ("beta", "W", "theta", "mu")
                      if isinstance(symbols.get(p), sp.MatrixSymbol)), None)
    if parameter is not None and parameter.name == "beta":
        for alias in PARAMETER_ALIASES:
            symbols.setdefault(alias, parameter)
    return ModelContext(model, dict(D.results), symbols, D.domains, parameter)


# ---------------------------------------------------------------------------------------------------
# Random points and values
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
        pinned = Domains({**domains.samplers, **{k: _constant(v) for k, v in dims.items()}})
        for _ in range(points - 1):
            for attempt in range(50):
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


def _constant(value):
    return lambda rng, shape: value


def _dims_text(env) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(env.items()) if isinstance(v, int)) or "scalars only"


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
            raise DeriveError(f"cannot evaluate {what} at random values ({_dims_text(env)}): {error}") from None
        if np.iscomplexobj(value):
            if np.max(np.abs(value.imag), initial=0.0) > 1e-9 * (1 + np.max(np.abs(value.real), initial=0.0)):
                raise DeriveError(f"{what} is not real at random values ({_dims_text(env)})")
            value = value.real
        value = value.astype(float)
        if value.ndim < 2:
            value = value.reshape((1, 1) if value.size == 1 else (-1, 1))
        if not np.all(np.isfinite(value)):
            raise DeriveError(f"{what} is not finite at random values ({_dims_text(env)}): "
                              "a log of a negative number, a division by zero or an overflow")
        out.append(value)
    return out


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
    aa, tt = float(np.sum(a * a)), float(np.sum(t * t))
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


def same_shape(a, b) -> bool:
    sa = a.shape if getattr(a, "is_Matrix", False) else (1, 1)
    sb = b.shape if getattr(b, "is_Matrix", False) else (1, 1)
    return all(sp.simplify(sp.sympify(x) - sp.sympify(y)) == 0 for x, y in zip(sa, sb))


def guard_sizes(expr, text: str) -> None:
    """Refuse explicit sizes too large to evaluate: `ones(10^9, 1)` would ask numpy for 8 GB."""
    for node in sp.preorder_traversal(expr):
        if getattr(node, "is_Matrix", False) and hasattr(node, "shape"):
            for size in node.shape:
                if getattr(size, "is_Integer", False) and size > MAX_DIMENSION:
                    raise LimitExceeded(f"{_short(text)} has a dimension of {size}; derive evaluates explicit sizes "
                                        f"up to {MAX_DIMENSION} (write sizes as names such as n)")
        if isinstance(node, (sp.Sum, sp.Product)):
            for _, low, high in node.limits:
                if (high - low).is_Number and abs(high - low) > MAX_SUM_LENGTH:
                    raise LimitExceeded(f"{_short(text)} has a sum of more than {MAX_SUM_LENGTH} terms; "
                                        "write its limit as a name such as n")


def _short(text: str) -> str:
    text = " ".join(text.split())
    return f'"{text}"' if len(text) <= 60 else f'"{text[:57]}..."'


# ---------------------------------------------------------------------------------------------------
# The symbolic attempt
# ---------------------------------------------------------------------------------------------------
def symbolically_equal(a, b) -> bool:
    """True when expanding both sides makes them identical; False when that does not show it (or is slow)."""
    try:
        with time_limit(SYMBOLIC_SECONDS, "the symbolic comparison"):
            if a == b:
                return True
            return sp.expand(a.doit()) == sp.expand(b.doit())
    except LimitExceeded:
        return False
    except Exception:  # noqa: BLE001 - SymPy may fail on unusual objects; the numeric check decides then
        return False


# ---------------------------------------------------------------------------------------------------
# Comparison and diagnosis
# ---------------------------------------------------------------------------------------------------
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
    return (f"{c.subject} uses {names}, which {verb} not defined here (the symbols are {c.known}); "
            f"write {'it' if len(c.unknown) == 1 else 'them'} out in those symbols")


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
    for name, values in c.others.items():
        if all_close(c.answer_values, values):
            return f"{c.subject} is {name}, not {c.reference}"
    return None


def related_result(c: Comparison) -> Optional[str]:
    for name, values in c.related.items():
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
        with time_limit(SYMBOLIC_SECONDS, "expanding"):
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
    square = sorted({m for e in (c.answer, c.expected) for m in e.atoms(sp.MatrixSymbol)
                     if m.shape[0] == m.shape[1] and m.shape[0] != 1}, key=str)
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
    return (f"not equivalent to {c.reference}: at random values ({_dims_text(c.envs[where])}) they differ by "
            f"up to {worst:.3g} (relative difference {relative:.2g})")


FINDERS: list[Finder] = [unknown_symbols, wrong_shape, mixed_up, constant_factor, term_error,
                         symmetric_only, structural_variant, related_result, parameter_free_difference]


# ---------------------------------------------------------------------------------------------------
# check: one answer against a model's result
# ---------------------------------------------------------------------------------------------------
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
                "answer": {"latex": latex(self.answer), "text": to_plain(self.answer)},
                "expected": {"latex": latex(self.expected), "text": to_plain(self.expected)},
                "diagnosis": self.diagnosis, "method": self.method}

    def to_text(self) -> str:
        noun = QUANTITY_NOUNS.get(self.quantity, self.quantity)
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
    if quantity not in context.results:
        raise NotSupported(f"{model} has no quantity {quantity!r}; its quantities: {', '.join(context.results)}")
    expected = context.results[quantity]
    if isinstance(expected, (sp.Tuple, tuple)):
        raise NotSupported(f"the {model} {quantity} is a pair of results, {unicode(expected)}; "
                           "derive check compares one expression")
    with time_limit(CHECK_SECONDS, f"checking {_short(answer)}"):
        try:
            given = parse(answer, symbols=context.symbols)
        except ShapeError as error:
            raise explained_shape_error(error) from None
        guard_sizes(given, answer)
        for base in _bare_indexed(given):
            raise ParseError(f"{base} is the vector of entries {base}_i here: write {base}_i inside a sum, "
                             f"such as \\sum_{{i=1}}^{{n}} {base}_i")
        noun = QUANTITY_NOUNS.get(quantity, quantity)
        others = {f"the {QUANTITY_NOUNS.get(q, q)} {unicode(e)}": e
                  for q, e in context.results.items() if q != quantity}
        related = {}
        for other_model, lacking in RELATED_MODELS.get(model, ()):
            other = model_context(other_model).results.get(quantity)
            if other is not None:
                related[f"the {other_model.upper()} {noun} {unicode(other)}, {lacking}"] = other
        allowed = set(context.symbols.values())
        unknown = sorted({unicode(s) for s in _named_symbols(given) if s not in allowed}, key=str)
        equal, method, diagnosis = compare(
            given, expected, context.domains, reference=f"the expected {noun}", quantity=quantity, model=model,
            function="the loss", others=others, related=related, parameter=context.parameter, unknown=unknown,
            known=context.symbol_list)
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
        if isinstance(node, sp.MatrixSymbol):
            found.add(node)
        elif isinstance(node, sp.IndexedBase):
            found.add(node)
    found |= {s for s in expr.free_symbols if isinstance(s, sp.Symbol) and not s.is_integer}
    labels = {b.label for b in found if isinstance(b, sp.IndexedBase)}
    return {s for s in found if s not in labels and not isinstance(s, sp.IndexedBase)}


def compare(answer, expected, domains: Domains, *, reference: str, subject: str = "the answer",
            quantity=None, model=None, function=None, others: Mapping[str, sp.Basic] | None = None,
            related: Mapping[str, sp.Basic] | None = None, parameter=None,
            unknown=(), known: str = "", seed: int = 0) -> tuple[bool, str, Optional[str]]:
    """(equal, how it was decided, diagnosis or None) for two expressions of the same symbols."""
    others, related = dict(others or {}), dict(related or {})
    if same_shape(answer, expected) and symbolically_equal(answer, expected):
        return True, "symbolic (identical once multiplied out)", None
    envs = sample_points([answer, expected, *others.values(), *related.values()], domains, seed=seed)
    answer_values = values_of(answer, envs, subject)
    expected_values = values_of(expected, envs, reference)
    method = numeric_method(envs)
    c = Comparison(answer_values, expected_values, envs, answer, expected, reference=reference, subject=subject,
                   quantity=quantity, model=model, function=function, others=_values_by_name(others, envs),
                   related=_values_by_name(related, envs), parameter=parameter, unknown=unknown, known=known)
    if same_shape(answer, expected) and c.equal:
        return True, method, None
    return False, method, diagnose(c)


def _values_by_name(exprs: Mapping[str, sp.Basic], envs) -> dict:
    found = {}
    for name, expr in exprs.items():
        try:
            found[name] = values_of(expr, envs, name)
        except DeriveError:
            continue
    return found


def numeric_method(envs) -> str:
    sizes = {}
    for env in envs:
        for k, v in env.items():
            if isinstance(v, int):
                sizes.setdefault(k, [])
                if v not in sizes[k]:
                    sizes[k].append(v)
    shown = "; ".join(f"{k} ∈ {{{', '.join(map(str, sorted(v)))}}}" for k, v in sorted(sizes.items()))
    return f"numeric at {len(envs)} random points with random sizes" + (f" ({shown})" if shown else "")


def explained_shape_error(error: ShapeError) -> ShapeError:
    """The parser's ShapeError, with the usual intent spelled out for the inverse of a non-square matrix."""
    operand = getattr(error, "operand", None)
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


# ---------------------------------------------------------------------------------------------------
# check_steps: a derivation line by line
# ---------------------------------------------------------------------------------------------------
@dataclass
class LineResult:
    """One line of a derivation: its 1-based number in the input, its LaTeX, and whether it follows."""

    line: int
    latex: str
    valid: bool
    reason: str
    text: str = ""

    def to_dict(self) -> dict:
        return {"line": self.line, "latex": self.latex, "valid": self.valid, "reason": self.reason}


@dataclass
class StepsResult:
    """The verdict on a derivation: `valid`, the `first_error` line number (or None), and every line."""

    valid: bool
    first_error: Optional[int]
    lines: list

    @property
    def exit_code(self) -> int:
        return 0 if self.valid else 1

    def to_dict(self) -> dict:
        return {"valid": self.valid, "first_error": self.first_error, "lines": [l.to_dict() for l in self.lines]}

    def to_text(self) -> str:
        width = max((len(str(l.line)) for l in self.lines), default=1)
        out = []
        for l in self.lines:
            mark = "✓" if l.valid else "✗"
            out.append(f"line {l.line:>{width}}  {mark}  {l.text}")
            out.append(f"{' ' * (width + 10)}{l.reason}")
        out.append("all lines follow" if self.valid else f"first error: line {self.first_error}")
        return "\n".join(out)


@dataclass
class _Line:
    number: int
    sides: list
    label: object
    continued: bool
    derivative: Optional[str]     # "gradient" / "hessian" when the line differentiates
    variable_text: Optional[str]  # the variable named in the label (\nabla_\beta, L(\beta)), as text
    source: str
    named: bool = False           # the line starts with a bare name for its value (L = ...)


@dataclass
class _Chain:
    """What later lines are checked against: the latest function, gradient and equation of the derivation."""

    expr: object = None
    order: int = 0                 # 0 a function, 1 a gradient, 2 a Hessian, -1 an equation
    line: int = 0
    functions: dict = field(default_factory=dict)   # order -> (expr, line)
    equation: Optional[tuple] = None                # (residual, line, variable)
    variable: object = None                         # what the latest derivative was taken with respect to


_ENVIRONMENT = re.compile(r"\\(?:begin|end)\{[A-Za-z*]+\}(?:\{[^}]*\})?|\$\$|\\\[|\\\]")
_IMPLIES = re.compile(r"^(\s*&?\s*)(\\Rightarrow|\\implies|\\Longrightarrow|\\therefore|⇒|=>)")
_WORD_LABEL = re.compile(r"^(\s*&?\s*)(gradient|hessian|Hessian)\s*(?:[:=])", re.IGNORECASE)
_ANNOTATION = re.compile(r"\\(?:tag|label)\{[^}]*\}")
# A remark after the mathematics: `&& \text{definition}`, `\quad (\text{expand, } y^TX\beta = ...)`
_REMARK_TEXT = re.compile(r"\\(?:text|textrm|textit|textbf|mbox)\{(?!(?:tr|det|diag|log|exp|sigmoid)\})")
_NABLA_VARIABLE = re.compile(r"\\nabla(?:\^\{?2\}?)?_\{?\s*(\\?[A-Za-zα-ωΑ-Ω]+)")
_PARTIAL_VARIABLE = re.compile(r"\\partial\s*(\\?[A-Za-zα-ωΑ-Ω]+(?:\^2|\^\{2\})?)")
_FUNCTION_VARIABLE = re.compile(r"\((.*)\)\s*$")
_FUNCTION_LABEL = re.compile(r"^(\s*(\\?[A-Za-z]+|[α-ωℓ])\s*\\?(?:left)?\((?:[^()=]|\([^()=]*\))*\\?(?:right)?\))"
                             r"\s*&?\s*=")


def _normal_name(name: str) -> str:
    return name.lstrip("\\")
# \nabla^2_\beta as \nabla_\beta^2 (same length, so columns in messages do not move)
_NABLA_SQUARED = re.compile(r"\\nabla(\^\{?2\}?)(_(?:\{[^}]*\}|\\[A-Za-z]+|[A-Za-z]))")


def _blank(match) -> str:
    return " " * len(match.group())


def _without_remark(line: str) -> str:
    """The line with a prose remark at its end blanked out, from the separator before it (&&, \\quad)."""
    remark = _REMARK_TEXT.search(line)
    if not remark:
        return line
    separators = [m.start() for m in re.finditer(r"&&|\\qquad|\\quad", line[:remark.start()])]
    start = separators[-1] if separators else remark.start()
    if not separators and line[:start].rstrip().endswith("("):   # (\text{...})
        start = line[:start].rstrip().rfind("(")
    return line[:start] + " " * (len(line) - start)


def _uncomment(line: str) -> str:
    m = re.search(r"(?<!\\)%", line)
    return line[:m.start()] + " " * (len(line) - m.start()) if m else line


def _read_lines(text: str, shapes, symbols) -> list:
    """The derivation's lines as parsed equations, with their line numbers; ParseError names the line."""
    if len(text) > MAX_LINES * MAX_INPUT_CHARS:
        raise LimitExceeded(f"the derivation is longer than {MAX_LINES * MAX_INPUT_CHARS} characters")
    raw_lines = text.splitlines()
    lines = []
    for number, raw in enumerate(raw_lines, start=1):
        if len(raw) > MAX_INPUT_CHARS:   # before any regular expression sees it
            raise LimitExceeded(f"line {number} is longer than {MAX_INPUT_CHARS} characters")
        line = _ENVIRONMENT.sub(_blank, _uncomment(raw))
        line = _ANNOTATION.sub(_blank, line)
        line = _without_remark(line)
        line = re.sub(r"[,.;]\s*(\\\\)?\s*$", lambda m: " " * len(m.group()), line)
        squared = bool(_NABLA_SQUARED.search(line))
        line = _NABLA_SQUARED.sub(lambda m: r"\nabla" + m.group(2) + m.group(1), line)
        if not line.strip() or line.strip() == "\\\\":
            continue
        if len(lines) >= MAX_LINES:
            raise LimitExceeded(f"the derivation has more than {MAX_LINES} lines")
        derivative = None
        implied = _IMPLIES.match(line)
        if implied:
            line = line[:implied.start(2)] + " " * len(implied.group(2)) + line[implied.end(2):]
        word = _WORD_LABEL.match(line)
        if word:
            derivative = word.group(2).lower()
            line = line[:word.start(2)] + " " * (word.end() - word.start(2)) + line[word.end():]
        function_label = _FUNCTION_LABEL.match(line)
        if function_label and _normal_name(function_label.group(2)) not in {**(shapes or {}), **(symbols or {})}:
            # f(x, σ²) = …: a label the grammar reads only for plain names inside the brackets
            line = " " * function_label.end(1) + line[function_label.end(1):]
        else:
            function_label = None
        try:
            equation = parse_equation(line, shapes, symbols=symbols)
            if function_label:
                equation = Equation(equation.sides, Label("function", function_label.group(1).strip()), False)
        except ShapeError as error:
            lines.append(_Line(number, [], None, line.lstrip().startswith(("=", "&")), derivative, None, raw))
            lines[-1].sides = explained_shape_error(error)
            continue
        except DeriveError as error:
            raise type(error)(f"line {number}: {error}") from None
        label, sides = equation.label, list(equation.sides)
        variable_text, named = None, False
        if label is not None and label.kind in ("gradient", "hessian"):
            derivative = "hessian" if squared else label.kind
            found = _NABLA_VARIABLE.findall(label.text) or _PARTIAL_VARIABLE.findall(label.text)
            if found:
                variable_text = found[-1]
        elif label is not None and label.kind == "function":
            arguments = _FUNCTION_VARIABLE.search(label.text)
            if arguments and "," not in arguments.group(1) and arguments.group(1).strip():
                variable_text = arguments.group(1).strip()
        elif label is None and len(sides) >= 2 and _is_bare_name(sides[0], sides[1:], shapes, symbols):
            sides, named = sides[1:], True   # "L = ...": L names the value, like L(β) = ...
        if derivative and not sides:
            raise ParseError(f"line {number}: nothing after the {derivative}")
        lines.append(_Line(number, sides, label, equation.continued, derivative, variable_text, raw, named))
    return lines


def _is_bare_name(first, rest, shapes, symbols) -> bool:
    """A left side that only names the value: an undeclared scalar name used nowhere else on the line."""
    if not isinstance(first, sp.Symbol) or first.is_integer:
        return False
    if first.name in (shapes or {}) or first.name in (symbols or {}):
        return False
    return not any(isinstance(side, sp.Basic) and side.has(first) for side in rest)


def check_steps(text: str, model: Optional[str] = None, shapes=None) -> StepsResult:
    r"""Check a derivation line by line; returns the first wrong line and a reason for every line.

    `text` is an ``align``/``align*`` environment or plain lines; blank lines, ``\begin``/``\end`` and
    ``%`` comments are skipped. The first line is an expression (optionally ``L(\beta) = ...``), each
    following line starts with ``=`` or ``&=`` (equal to the line before), or differentiates it
    (``\nabla_\beta L = ...``, ``\frac{\partial L}{\partial\beta} = ...``, ``\Rightarrow \nabla ...``,
    ``⇒ gradient: ...``), or sets a gradient to zero and solves (``... = 0``, ``X^TX\beta = X^Ty``,
    ``\hat\beta = (X^TX)^{-1}X^Ty``). With `model` the model's symbols are known; otherwise `shapes`
    (a dict or the ``--shapes`` text) declares the matrices. Line numbers count every line of `text`.
    """
    if model is not None and shapes:
        raise NotSupported("give either a model or shapes, not both")
    if model is not None:
        context = model_context(model)
        symbols, domains, parameter, known_shapes = dict(context.symbols), context.domains, context.parameter, None
    else:
        known_shapes = parse_shapes(shapes) if isinstance(shapes, str) else dict(shapes or {})
        symbols, domains, parameter = None, Domains(), None
    with time_limit(STEPS_SECONDS, "checking the derivation"):
        lines = _read_lines(text, known_shapes, symbols)
        if not lines:
            raise ParseError("the derivation has no lines to check")
        checker = _StepChecker(domains, parameter, known_shapes, symbols, model)
        results = [checker.line(line) for line in lines]
    first = next((r.line for r in results if not r.valid), None)
    return StepsResult(first is None, first, results)


class _StepChecker:
    """Walks the lines, keeping the chain of expressions each new line is checked against."""

    def __init__(self, domains, parameter, shapes, symbols, model):
        self.domains, self.parameter, self.shapes, self.symbols, self.model = domains, parameter, shapes, symbols, model
        self.chain: Optional[_Chain] = None
        self.function_variable = None   # the variable of the latest L(β) = … line
        self.seed = 0

    # -- one line ---------------------------------------------------------------------------------------
    def line(self, line: _Line) -> LineResult:
        if isinstance(line.sides, ShapeError):
            # the next line is compared with the last line that could be read
            return LineResult(line.number, "", False, f"dimension error: {line.sides}", " ".join(line.source.split()))
        shown_latex = " = ".join(latex(s) for s in line.sides)
        shown_text = " = ".join(unicode(s) for s in line.sides)
        if line.label is not None:
            shown_text = f"{' '.join(line.label.text.split())} = {shown_text}"
        elif line.derivative:
            shown_text = f"⇒ {line.derivative}: {shown_text}"
        elif line.continued:
            shown_text = f"= {shown_text}"
        try:
            for side in line.sides:
                guard_sizes(side, line.source)
            valid, reason = self.judge(line)
        except LimitExceeded:
            raise
        except DeriveError as error:
            raise type(error)(f"line {line.number}: {error}") from None
        return LineResult(line.number, shown_latex, valid, reason, shown_text)

    def judge(self, line: _Line) -> tuple[bool, str]:
        sides = line.sides
        chain = self.chain
        if line.variable_text and not line.derivative:
            self.function_variable = self.variable(line)
        if chain is None:
            if line.derivative:
                raise NotSupported(f"the first line is a {line.derivative}: start with the function it is of")
            if len(sides) >= 2 and isinstance(sides[0], (sp.Symbol, sp.MatrixSymbol)) and \
                    not any(side.has(sides[0]) for side in sides[1:]):
                sides = sides[1:]   # "β = …" first: β names the value the lines go on to rewrite
            self.chain = _Chain(sides[0], 0, line.number, {0: (sides[0], line.number)})
            return self.rest(line, sides, 0, "the starting expression")
        if line.derivative:
            return self.derivative_line(line)
        if line.label is not None and line.label.kind == "estimate":
            return self.solution_line(line, sides)
        if not line.continued and len(sides) >= 2 and (chain.order >= 1 or chain.order == -1):
            return self.equation_line(line, sides[0], sides[1], sides[2:])
        if chain.order == -1:
            if len(sides) == 1:
                raise NotSupported("after an equation write the next equation (both sides) or β̂ = …")
            return self.equation_line(line, sides[0], sides[1], sides[2:])
        if line.label is not None and line.label.kind == "function" and 0 in chain.functions:
            reference, ref_line = chain.functions[0]
        else:
            reference, ref_line = chain.expr, chain.line
        ok, reason = self.equal(reference, sides[0], f"line {ref_line}", function=None)
        order = chain.order if not (line.label is not None and line.label.kind == "function") else 0
        return self.rest(line, sides, order, reason, ok)

    def rest(self, line: _Line, sides, order: int, reason: str, ok: bool = True) -> tuple[bool, str]:
        """Record the line's last side in the chain, checking any further sides (a = b = c) on the way."""
        for before, after in zip(sides, sides[1:]):
            if self.is_zero(after) and order >= 1:
                self.chain = _Chain(None, -1, line.number, dict(self.chain.functions),
                                    (before, line.number, self.variable(line, before)))
                return ok, reason if not ok else f"{reason}; set to zero" if reason else "set to zero"
            this_ok, why = self.equal(before, after, "the side before it", function=None)
            if ok and not this_ok:
                ok, reason = False, why
        last = sides[-1]
        functions = dict(self.chain.functions) if self.chain else {}
        functions[order] = (last, line.number)
        for higher in [k for k in functions if k > order]:
            if order == 0:
                del functions[higher]
        self.chain = _Chain(last, order, line.number, functions, None)
        return ok, reason

    @staticmethod
    def is_zero(expr) -> bool:
        return expr == 0 or isinstance(expr, sp.ZeroMatrix)

    # -- equality -----------------------------------------------------------------------------------------
    def equal(self, before, after, reference: str, function) -> tuple[bool, str]:
        self.seed += 1
        equal, method, diagnosis = compare(after, before, self.domains, reference=reference, subject="this line",
                                           function=function, model=self.model, seed=self.seed)
        return (True, f"equal to {reference}") if equal else (False, diagnosis)

    # -- derivatives --------------------------------------------------------------------------------------
    def variable(self, line: _Line, expr=None):
        if line.variable_text:
            try:
                return parse(line.variable_text, self.shapes, symbols=self.symbols)
            except DeriveError:
                raise ParseError(f"cannot read the variable {line.variable_text}") from None
        if self.function_variable is not None:
            return self.function_variable
        if self.parameter is not None:
            return self.parameter
        candidates = sorted({m for m in (expr.atoms(sp.MatrixSymbol) if expr is not None else ())
                             if m.shape[1] == 1}, key=str)
        if len(candidates) == 1:
            return candidates[0]
        raise NotSupported("cannot tell which variable the derivative is with respect to: name it, as in "
                           r"\nabla_x f or \frac{\partial f}{\partial x}")

    def derivative_line(self, line: _Line) -> tuple[bool, str]:
        chain = self.chain
        order = 1 if line.derivative == "gradient" else 2
        functions = chain.functions
        named = self.variable(line) if line.variable_text else None
        if order in functions and chain.order == order and (named is None or named == chain.variable):
            reference, ref_line = functions[order]              # ∇L written again: a restatement
            ok, reason = self.equal(reference, line.sides[0], f"line {ref_line}", None)
            result = self.rest(line, line.sides, order, reason, ok)
            self.chain.variable = chain.variable
            return result
        if order - 1 in functions:
            base, base_line = functions[order - 1]
        elif order == 2 and 0 in functions:
            base, base_line = functions[0]
        else:
            raise NotSupported(f"no function above line {line.number} to take the {line.derivative} of")
        variable = self.variable(line, base)
        if not base.has(variable):
            raise NotSupported(f"line {base_line} does not depend on {unicode(variable)}")
        if order == 2 and chain.order == 1 and named is not None and chain.variable is not None \
                and named != chain.variable:
            raise NotSupported("mixed second derivatives are not checked: differentiate a gradient with respect "
                               "to the variable it was taken with respect to")
        second = order == 2 and (order - 1) not in functions
        ok, reason = self.derivative_check(base, base_line, line.sides[0], variable, second)
        result = self.rest(line, line.sides, order, reason, ok)
        self.chain.variable = variable
        return result

    def derivative_check(self, base, base_line, answer, variable, second: bool) -> tuple[bool, str]:
        of_gradient = getattr(base, "is_Matrix", False) and base.shape[1] == 1 and base.shape != (1, 1)
        what = "Hessian" if second or of_gradient else "gradient" if getattr(variable, "is_Matrix", False) \
            else "derivative"
        v = unicode(variable)
        if of_gradient:
            noun = f"the derivative of line {base_line} with respect to {v}ᵀ"
        else:
            noun = f"the {what} of line {base_line} with respect to {v}"
        envs = sample_points([base, answer, variable], self.domains, seed=self.seed)
        self.seed += 1
        if second:   # the Hessian of a function: its gradient first, checked, then the Jacobian of that
            base = self.checked_derivative(base, variable, envs)
            if base is None:
                raise NotSupported(f"cannot take the Hessian of line {base_line}: write its gradient first")
        # The complex step decides; a symbolic derivative that agrees with it serves the diagnosis.
        expected_values = [numeric_derivative(base, variable, env) for env in envs]
        expected = self.checked_derivative(base, variable, envs, expected_values)
        answer_values = values_of(answer, envs, "this line")
        c = Comparison(answer_values, expected_values, envs, answer, expected, reference=noun, subject="this line",
                       quantity="hessian" if what == "Hessian" else "gradient", model=self.model,
                       function=f"line {base_line}")
        if c.equal:
            return True, noun
        return False, diagnose(c)

    def checked_derivative(self, f, variable, envs, values=None):
        """∂f/∂v as an expression (derive.calculus, or SymPy's diff for scalars), kept only when it equals
        the complex-step derivative at every point; None where neither gives one."""
        if values is None:
            values = [numeric_derivative(f, variable, env) for env in envs]
        for make in (_scalar_derivative, self.calculus_derivative):   # SymPy's diff keeps a scalar's terms whole
            candidate = make(f, variable)
            if candidate is None:
                continue
            try:
                if all_close(values_of(candidate, envs), values, 1e-8):
                    return candidate
            except DeriveError:
                continue
        return None

    def calculus_derivative(self, f, variable):
        """∇f (∂f/∂vᵀ for a vector f) by derive.calculus, each of its steps verified; None where it cannot."""
        from .calculus import gradient, jacobian
        from .steps import Derivation, Notation
        scratch = Derivation("check", domains=self.domains)
        name = Notation("f", "f")
        try:
            with time_limit(DERIVATIVE_SECONDS, "differentiating"):
                is_vector = getattr(f, "is_Matrix", False) and f.shape[1] == 1 and f.shape != (1, 1)
                if is_vector:
                    return jacobian(scratch, f, variable, lhs=name)
                return gradient(scratch, f, variable, lhs=name)
        except (DeriveError, TypeError, AttributeError, ValueError):
            return None

    # -- equations -----------------------------------------------------------------------------------------
    def equation_line(self, line: _Line, lhs, rhs, more) -> tuple[bool, str]:
        chain = self.chain
        residual = _difference(lhs, rhs)
        if chain.order == -1:
            reference, ref_line, variable = chain.equation
            what = f"the equation of line {ref_line}"
        else:
            reference, ref_line = chain.expr, chain.line
            variable = self.variable(line, reference)
            what = f"line {ref_line} set to zero"
        ok, reason = self.same_solutions(reference, residual, variable, what)
        self.chain = _Chain(None, -1, line.number, dict(chain.functions), (residual, line.number, variable))
        if more:
            raise NotSupported("write one equation per line")
        return ok, reason

    def solution_line(self, line: _Line, sides) -> tuple[bool, str]:
        chain = self.chain
        if chain.order == -1:
            reference, ref_line, variable = chain.equation
            what = f"the equation of line {ref_line}"
        elif chain.order >= 1:
            reference, ref_line = chain.expr, chain.line
            variable = self.variable(line, reference)
            what = f"line {ref_line} set to zero"
        else:
            raise NotSupported("an estimate (β̂ = …) needs a gradient or an equation above it to solve")
        solution = sides[0]
        if solution.has(variable):
            raise NotSupported(f"the estimate on line {line.number} still contains {unicode(variable)}")
        ok, reason = self.same_solutions(reference, _difference(variable, solution), variable, what,
                                         solution=solution)
        for before, after in zip(sides, sides[1:]):
            this_ok, why = self.equal(before, after, "the side before it", None)
            if ok and not this_ok:
                ok, reason = False, why
        self.chain = _Chain(sides[-1], 3, line.number, dict(chain.functions), chain.equation)
        return ok, reason

    def same_solutions(self, old, new, variable, what: str, solution=None) -> tuple[bool, str]:
        """Do the equations old = 0 and new = 0 (in `variable`) have the same solution?"""
        envs = sample_points([old, new, variable], self.domains, seed=self.seed)
        self.seed += 1
        old_solutions = [linear_solution(old, variable, env) for env in envs]
        new_solutions = [linear_solution(new, variable, env) for env in envs]
        if all(s is not None for s in old_solutions + new_solutions):
            c = Comparison(new_solutions, old_solutions, envs, reference=f"the solution of {what}",
                           subject="this line's solution", quantity="solution", model=self.model,
                           answer=solution)
            if c.equal:
                return True, f"the same solution as {what}" if solution is None else f"solves {what}"
            return False, diagnose(c)
        # Nonlinear in the variable: accept a constant multiple of the same equation, nothing else.
        old_values, new_values = values_of(old, envs, what), values_of(new, envs, "this line")
        k = consistent([fit_factor(b, a) for a, b in zip(old_values, new_values)])
        if k is not None and abs(k) > 1e-12:
            return True, f"{what}, multiplied by {fraction_text(nice_number(k)) if nice_number(k) else f'{k:.6g}'}"
        raise NotSupported(f"cannot check this equation against {what}: it is nonlinear in {unicode(variable)} "
                           "and not a constant multiple of it")


def _difference(a, b):
    if getattr(a, "is_Matrix", False) or getattr(b, "is_Matrix", False):
        if not getattr(b, "is_Matrix", False):
            b = b * sp.OneMatrix(*a.shape) if b != 0 else sp.ZeroMatrix(*a.shape)
        if not getattr(a, "is_Matrix", False):
            a = a * sp.OneMatrix(*b.shape) if a != 0 else sp.ZeroMatrix(*b.shape)
        if not same_shape(a, b):
            raise ShapeError("the two sides of the equation have different shapes: "
                             f"{shape_text(a)} and {shape_text(b)}")
        return sp.MatAdd(a, sp.MatMul(-1, b))
    return a - b


def _scalar_derivative(f, variable):
    """df/dx by SymPy for a scalar f of a scalar x (sums and indexed entries included); None otherwise."""
    if getattr(f, "is_Matrix", False) or not isinstance(variable, sp.Symbol):
        return None
    try:
        with time_limit(DERIVATIVE_SECONDS, "differentiating"):
            return sp.diff(f, variable)
    except Exception:  # noqa: BLE001 - only a candidate; the complex step decides
        return None


def numeric_derivative(f, variable, env) -> np.ndarray:
    """∇f (same shape as the variable) for scalar f, or ∂f/∂vᵀ for a column f, by complex steps."""
    name = variable.name
    shape = np.shape(env[name])
    columns = []
    for index in np.ndindex(*shape):
        unit = np.zeros(shape)
        unit[index] = 1.0
        with np.errstate(all="ignore"):
            columns.append(np.asarray(directional_derivative(f, env, {name: unit}), dtype=float))
    if all(c.size == 1 for c in columns):
        return np.array([c.item() for c in columns]).reshape(shape if len(shape) == 2 else (-1, 1) if shape else (1, 1))
    if len(shape) == 2 and shape[1] == 1:
        return np.column_stack([c.ravel() for c in columns])
    raise NotSupported("derivatives of a matrix with respect to a matrix are not checked")


def linear_solution(residual, variable, env) -> Optional[np.ndarray]:
    """v with residual(v) = 0 when the residual is linear in v with an invertible coefficient; else None."""
    name = variable.name
    shape = np.shape(env[name])

    def at(v):
        moved = {**env, name: v}
        if indexed_key(name) in env:  # the indexed view β_j of the same numbers moves with them
            moved[indexed_key(name)] = padded(np.asarray(v, dtype=float), np.ndim(env[indexed_key(name)]))
        with np.errstate(all="ignore"):
            value = np.asarray(evaluate(residual, moved), dtype=complex)
        return np.real(value).reshape(-1)

    zero = np.zeros(shape)
    try:
        c = at(zero)
        columns = []
        for index in np.ndindex(*shape):
            unit = np.zeros(shape)
            unit[index] = 1.0
            columns.append(at(unit) - c)
        J = np.column_stack(columns)
        probe = np.asarray(env[name], dtype=float)
        if not close(at(probe), J @ probe.reshape(-1) + c, 1e-7):
            return None
        if J.shape[0] != J.shape[1] or np.linalg.cond(J) > 1e10:
            return None
        return np.linalg.solve(J, -c).reshape(shape if len(shape) == 2 else (-1, 1) if shape else (1, 1))
    except (np.linalg.LinAlgError, ValueError, TypeError, ZeroDivisionError, IndexError, KeyError, NotSupported):
        return None
