"""Scalar differentiation rules, step by step, in Leibniz notation.

    d/dx[sin(x²)] = cos(x²)·d/dx[x²]        chain rule with u = x²
                  = 2x·cos(x²)              power rule

Each rule is a small record (after SymPy's `manualintegrate`): its docstring and `identity` state the rule
as a student learns it, and `eval()` writes the next line, in which the derivatives still to be taken are
unevaluated `sympy.Derivative(u, x)` nodes. `find_rule(u, x)` tries the finders in order and raises
`NotSupported` naming the sub-expression when none applies, so a derivative is never guessed.

`leibniz_derivative` records the passes as verified steps: each pass applies one rule at every open
d/dx[·] at once, and each line is checked against the complex-step derivative of the original function
(`derive.core.numeval` evaluates a `Derivative` node numerically), so every intermediate line is verified,
not only the answer. Variables other than x are held fixed: the same rules give partial derivatives.

|u|, sign and relu are differentiated where they are differentiable (u ≠ 0), and the step says so.
Not supported (raises `NotSupported`): max/min, piecewise definitions, functions of several
arguments, derivatives inside the input.
"""
from __future__ import annotations

import re

import sympy as sp
from sympy.core.function import AppliedUndef

from derive.core.limits import time_limit
from derive.core.steps import Derivation, Equal
from derive.errors import LimitExceeded, NotSupported
from derive.expr.functions import record_of
from derive.expr.notation import UnknownDerivative

SIMPLIFY_SECONDS = 1.0   # wall-clock budget for each way of tidying one result; past it that way is skipped
SIMPLIFY_MAX_OPS = 120   # sympy.simplify is not tried on results larger than this (it is slow and rarely helps)


def _d(u, x):
    """d/dx[u], written out at once where no line is needed: d/dx c = 0 and d/dx x = 1."""
    if not u.has(x):
        return sp.S.Zero
    if u == x:
        return sp.S.One
    return sp.Derivative(u, x)


def in_variable(text: str, x) -> str:
    """A rule stated in x, restated in the variable at hand: "d/dx xⁿ = n·xⁿ⁻¹" → "d/dy yⁿ = n·yⁿ⁻¹"."""
    name = _show(x)
    if name == "x":
        return text
    text = re.sub(r"/dx(?![A-Za-z])", "/d" + name, text)
    return re.sub(r"(?<![A-Za-z])x(?![A-Za-z])", name, text)


def _show(expr) -> str:
    from derive.expr.printing import unicode
    return unicode(expr)


# ---------------------------------------------------------------------------------------------------
# The rules
# ---------------------------------------------------------------------------------------------------
class Rule:
    """One application of a rule to d/dx[u]; `eval()` is the next line (with d/dx[·] still open inside)."""

    name = "rule"
    identity = ""
    __slots__ = ("u", "x")

    def __init__(self, u, x):
        self.u, self.x = u, x

    def title(self) -> str:
        return self.name

    def explanation(self) -> str:
        return f"{self.name}: {in_variable(self.identity, self.x)}" if self.identity else self.name

    def eval(self) -> sp.Expr:
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}({self.u}, {self.x})"


class ConstantRule(Rule):
    """d/dx c = 0 for c free of x."""
    name, identity = "constant rule", "d/dx c = 0 for anything not depending on x"

    def eval(self):
        return sp.S.Zero


class VariableRule(Rule):
    """d/dx x = 1."""
    name, identity = "d/dx x = 1", "the variable changes at rate 1 with itself"

    def eval(self):
        return sp.S.One


class SumRule(Rule):
    """d/dx[u + v] = d/dx[u] + d/dx[v]."""
    name, identity = "sum rule", "d/dx[u + v] = du/dx + dv/dx"

    def eval(self):
        return sp.Add(*[_d(a, self.x) for a in self.u.args])


class SumOverIndexRule(Rule):
    """d/dx Σᵢ uᵢ = Σᵢ d/dx[uᵢ] when the limits do not depend on x."""
    name, identity = "sum rule", "d/dx Σᵢ uᵢ = Σᵢ duᵢ/dx (the limits do not depend on x)"

    def eval(self):
        return sp.Sum(_d(self.u.function, self.x), *self.u.limits)


class ConstantMultipleRule(Rule):
    """d/dx[c·u] = c·d/dx[u] for c free of x."""
    name, identity = "constant multiple rule", "d/dx[c·u] = c·du/dx"

    def eval(self):
        c, rest = self.u.as_independent(self.x, as_Add=False)
        return c * _d(rest, self.x)


class ProductRule(Rule):
    """d/dx[u·v] = d/dx[u]·v + u·d/dx[v] (for more factors, one term per factor)."""
    name, identity = "product rule", "d/dx[uv] = (du/dx)·v + u·(dv/dx)"

    def eval(self):
        c, rest = self.u.as_independent(self.x, as_Add=False)
        factors = sp.Mul.make_args(rest)
        terms = [sp.Mul(*factors[:k], _d(f, self.x), *factors[k + 1:]) for k, f in enumerate(factors)]
        return c * sp.Add(*terms)


class QuotientRule(Rule):
    """d/dx[u/v] = (d/dx[u]·v − u·d/dx[v]) / v²."""
    name, identity = "quotient rule", "d/dx[u/v] = ((du/dx)·v − u·(dv/dx))/v²"

    def parts(self):
        c, rest = self.u.as_independent(self.x, as_Add=False)
        numerator, denominator = [], []
        for f in sp.Mul.make_args(rest):
            if f.is_Pow and f.exp.is_Number and f.exp.is_negative:
                denominator.append(f.base ** -f.exp)
            else:
                numerator.append(f)
        return c, sp.Mul(*numerator), sp.Mul(*denominator)

    def eval(self):
        c, u, v = self.parts()
        return c * (_d(u, self.x) * v - u * _d(v, self.x)) / v ** 2


class PowerRule(Rule):
    """d/dx xⁿ = n·xⁿ⁻¹ for a constant n."""
    name, identity = "power rule", "d/dx xⁿ = n·xⁿ⁻¹"

    def eval(self):
        base, n = self.u.args
        return n * base ** (n - 1)


class ExponentialRule(Rule):
    """d/dx aˣ = aˣ·ln a for a constant base a (eˣ is its own derivative)."""

    @property
    def name(self):
        return "exponential rule"

    @property
    def identity(self):
        return "d/dx eˣ = eˣ" if self._base() == sp.E else "d/dx aˣ = aˣ·ln a"

    def _base(self):
        return sp.E if isinstance(self.u, sp.exp) else self.u.base

    def eval(self):
        a = self._base()
        return self.u if a == sp.E else self.u * sp.log(a)


class LogarithmicDifferentiationRule(Rule):
    """d/dx[u^v] = u^v·(d/dx[v]·ln u + v·d/dx[u]/u), from u^v = e^{v ln u} (u > 0)."""
    name, identity = ("logarithmic differentiation",
                      "uᵛ = e^{v·ln u}, so d/dx uᵛ = uᵛ·((dv/dx)·ln u + v·(du/dx)/u), for u > 0")

    def eval(self):
        u, v = self.u.args
        return self.u * (_d(v, self.x) * sp.log(u) + v * _d(u, self.x) / u)


class FunctionRule(Rule):
    """d/dx f(x) = f′(x) for a known f (sin, log, σ, ...), from the registry of scalar functions."""

    def title(self):
        return f"d/d{_show(self.x)} {_show(self.u)} = {_show(self.eval())}"

    def explanation(self):
        record = _function_entry(self.u)
        return f"the derivative of {record.describe()}: {_rule_words(record)}"

    def eval(self):
        return _function_entry(self.u).derivative(self.u.args[0])


class UnknownFunctionRule(Rule):
    """d/dx f(x) = f′(x) for a function f known only by its name (and d/dx f′(x) = f″(x))."""

    def title(self):
        return f"d/d{_show(self.x)} {_show(self.u)} = {_show(self.eval())}"

    def explanation(self):
        return f"the function {_unknown_name(self.u)} is unknown: its derivative is written {_show(self.eval())}"

    def eval(self):
        return _unknown_derivative(self.u)


def _unknown_name(u) -> str:
    return u.name if isinstance(u, UnknownDerivative) else type(u).__name__


def _unknown_derivative(u):
    """f′(v) for f(v), f″(v) for f′(v)."""
    if isinstance(u, UnknownDerivative):
        return UnknownDerivative(u.name, u.order + 1, u.point)
    return UnknownDerivative(type(u).__name__, 1, u.args[0])


class ChainRule(Rule):
    """d/dx f(u) = f′(u)·d/dx[u], with the outer derivative f′ from the power, exponential or function rule."""
    name = "chain rule"

    def __init__(self, u, x, inner, outer: str, outer_derivative):
        super().__init__(u, x)
        self.inner, self.outer, self.outer_derivative = inner, outer, outer_derivative

    __slots__ = ("inner", "outer", "outer_derivative")

    def title(self):
        return f"chain rule with u = {_show(self.inner)}"

    def explanation(self):
        return f"chain rule: d/dx f(u) = f′(u)·du/dx, with u = {_show(self.inner)} and {self.outer}"

    def eval(self):
        return self.outer_derivative * _d(self.inner, self.x)


def _function_entry(f):
    """The registry's record of f (derive.expr.functions), or NotSupported naming f."""
    record = record_of(f)
    if record is None:
        raise NotSupported(f"no differentiation rule for the function {type(f).__name__}: {_show(f)}")
    return record


def _rule_words(record) -> str:
    """The rule as stated, with where it fails to hold (relu at 0)."""
    return f"{record.rule} ({record.caveat})" if record.caveat else record.rule


# ---------------------------------------------------------------------------------------------------
# Finders: each returns a rule or None; `find_rule` tries them in order
# ---------------------------------------------------------------------------------------------------
def _constant(u, x):
    return ConstantRule(u, x) if not u.has(x) else None


def _variable(u, x):
    return VariableRule(u, x) if u == x else None


def _sum(u, x):
    if isinstance(u, sp.Add):
        return SumRule(u, x)
    if isinstance(u, sp.Sum) and not any(sp.Tuple(*limit[1:]).has(x) for limit in u.limits):
        return SumOverIndexRule(u, x)
    return None


def _product(u, x):
    if not isinstance(u, sp.Mul):
        return None
    c, rest = u.as_independent(x, as_Add=False)
    dependent = sp.Mul.make_args(rest)
    if len(dependent) == 1:
        return ConstantMultipleRule(u, x)
    quotient = QuotientRule(u, x)
    _, numerator, denominator = quotient.parts()
    if denominator != 1 and numerator.has(x) and denominator.has(x):
        return quotient
    return ProductRule(u, x)


def _power(u, x):
    if not isinstance(u, sp.Pow):
        return None
    base, n = u.args
    if not n.has(x):
        if base == x:
            return PowerRule(u, x)
        return ChainRule(u, x, base, f"the power rule d/du uⁿ = n·uⁿ⁻¹ (n = {_show(n)})", n * base ** (n - 1))
    if not base.has(x):
        if n == x:
            return ExponentialRule(u, x)
        outer = "d/du eᵘ = eᵘ" if base == sp.E else "d/du aᵘ = aᵘ·ln a"
        return ChainRule(u, x, n, f"the exponential rule {outer}", u * sp.log(base) if base != sp.E else u)
    return LogarithmicDifferentiationRule(u, x)


def _function(u, x):
    record = record_of(u)
    if record is not None:
        inner = u.args[0]
        if inner == x:
            return FunctionRule(u, x)
        return ChainRule(u, x, inner, _rule_words(record), record.derivative(inner))
    return None


def _unknown_function(u, x):
    unknown = isinstance(u, UnknownDerivative) or (isinstance(u, AppliedUndef) and len(u.args) == 1)
    if not unknown:
        return None
    inner = u.point if isinstance(u, UnknownDerivative) else u.args[0]
    if inner == x:
        return UnknownFunctionRule(u, x)
    outer = _unknown_derivative(u)
    return ChainRule(u, x, inner, f"the function {_unknown_name(u)} unknown, so its derivative is written "
                     f"{_show(outer)}", outer)


FINDERS = (_constant, _variable, _sum, _product, _power, _function, _unknown_function)


def find_rule(u, x) -> Rule:
    """The rule that takes d/dx[u] one level down, or NotSupported naming u."""
    for finder in FINDERS:
        found = finder(u, x)
        if found is not None:
            return found
    raise NotSupported(_unsupported(u, x))


def _unsupported(u, x) -> str:
    what = type(u).__name__
    if isinstance(u, sp.Piecewise):
        return f"no differentiation rule for a piecewise definition: {_show(u)}"
    if isinstance(u, sp.Function) and len(u.args) != 1:
        return f"no differentiation rule for {what} of {len(u.args)} arguments: {_show(u)}"
    if isinstance(u, sp.Function):
        return f"no differentiation rule for the function {what}: {_show(u)}"
    if isinstance(u, sp.Derivative):
        return f"derivatives inside the expression are not supported: {_show(u)}"
    return f"no differentiation rule for {what}: {_show(u)} (with respect to {_show(x)})"


# ---------------------------------------------------------------------------------------------------
# Passes and the recorded derivation
# ---------------------------------------------------------------------------------------------------
def leibniz_pass(expr) -> tuple[sp.Expr, list[Rule]]:
    """Apply one rule at every open d/dx[u] in expr; returns (the next line, the rules applied)."""
    applied: list[Rule] = []

    def go(e):
        if isinstance(e, sp.Derivative):
            (x, count), = e.variable_count
            if count != 1:
                raise NotSupported(f"derivatives inside the expression are not supported: {_show(e)}")
            found = find_rule(e.expr, x)
            applied.append(found)
            return found.eval()
        if not e.args or not e.has(sp.Derivative):
            return e
        return e.func(*[go(a) for a in e.args])

    return go(expr), applied


def _titles(rules) -> tuple[str, str]:
    titles, explanations = [], []
    for r in rules:
        if r.title() not in titles:
            titles.append(r.title())
        if r.explanation() not in explanations:
            explanations.append(r.explanation())
    return ", ".join(titles), "; ".join(explanations) + "."


class EqualIn(Equal):
    """before = after, with the variables sampled even where a side no longer holds them (d/dy[x²] = 0)."""

    def __init__(self, variables=()):
        super().__init__()
        self.extra = tuple(variables)

    def symbols(self, before, after):
        return [before, after, *self.extra]


MAX_PASSES = 200  # one pass per level of nesting; input size limits keep real expressions far below this


def leibniz_derivative(D: Derivation, f, x, lhs=None, *, start=None, variables=()) -> sp.Expr:
    """Record d/dx[f] step by step, rule by rule, then its simplified form; returns the simplified derivative.

    `start` is the first line (default d/dx[f]); `lhs` what the lines are shown equal to (default `start`).
    `variables` are sampled in every check (the other variables of a partial derivative)."""
    current = start if start is not None else sp.Derivative(f, x)
    check = EqualIn((x, *variables))
    if lhs is not None and lhs != current:   # a second derivative: say which derivative is differentiated
        D.step("differentiate the derivative", f"Differentiate {_show(f)} with respect to {_show(x)}.",
               current, current, lhs=lhs, check=check)
    lhs = lhs if lhs is not None else current
    if not f.has(x):
        return D.step("constant rule", f"{_show(f)} does not depend on {_show(x)}: its derivative is 0.",
                      current, sp.S.Zero, lhs=lhs, check=check)
    for _ in range(MAX_PASSES):
        if not current.has(sp.Derivative):
            break
        after, applied = leibniz_pass(current)
        title, why = _titles(applied)
        current = D.step(title, why[0].upper() + why[1:], current, after, lhs=lhs, check=check)
    simplified = simplest(current)
    if simplified != current:
        current = D.step("simplify", "Collect the factors and terms.", current, simplified, lhs=lhs, check=check)
    return current


def simplest(expr):
    """The shortest of a few equivalent forms (as written, factored, simplified), within a time budget.

    A form that brings in functions the expression did not have (σ′ written with cosh) is not simpler
    for a reader, however short."""
    candidates = [expr]
    functions = _function_types(expr)
    transforms = (sp.factor, sp.simplify) if sp.count_ops(expr) <= SIMPLIFY_MAX_OPS else (sp.factor,)
    for transform in transforms:
        try:
            with time_limit(SIMPLIFY_SECONDS, "simplifying"):
                candidate = transform(expr)
        except (LimitExceeded, RecursionError, sp.PolynomialError, TypeError, ValueError):
            continue
        if _function_types(candidate) <= functions:
            candidates.append(candidate)
    return min(candidates, key=lambda e: (sp.count_ops(e), len(str(e))))


def _function_types(expr) -> set:
    return {type(f) for f in expr.atoms(sp.Function)}
