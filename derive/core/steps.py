"""Steps and derivations, and the machine check every step passes before it is recorded.

A `Step` says that one expression becomes another by a named rule. Each step carries a *check*, the
relation its two sides must satisfy (equal as functions, one the gradient of the other, one solving the
other, ...). The check runs when the step is made, numerically at random points with matrix dimensions
drawn at random (at least two size draws), and symbolically where that is cheap. A step that fails raises
`VerificationError`: it is a bug, never a result.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import sympy as sp

from derive.core.moments import ENSEMBLE, ensemble
from derive.core.numeval import directional_derivative, evaluate
from derive.core.random_points import (  # noqa: F401 - the domain vocabulary the models import from here
    Domains,
    IndexIn,
    binary,
    counts,
    dimension,
    dimensions_text,
    normal,
    positive,
    probability,
    spd,
)
from derive.errors import VerificationError
from derive.expr.notation import Notation, differential_key

SIZE_DRAWS = 2       # independent draws of every matrix dimension
POINT_DRAWS = 2      # random points per size draw
RTOL = 1e-7          # complex-step derivatives are exact to rounding, so this is generous


# ---------------------------------------------------------------------------------------------------
# Checks: the relation between a step's two sides, tested numerically
# ---------------------------------------------------------------------------------------------------
class Check:
    """A relation `before → after` must satisfy, compared as two numbers (or arrays) at random points.

    `varying` names the variables of a differential: each gets a random direction dv, which the d-nodes
    in either side evaluate against.
    """

    def __init__(self, varying=()):
        self.varying = tuple(varying)

    def values(self, before, after, env) -> tuple:
        raise NotImplementedError

    def symbols(self, before, after) -> list:
        return [before, after]


class Equal(Check):
    """before = after, as functions of every symbol."""

    def values(self, before, after, env):
        return evaluate(before, env), evaluate(after, env)


class DerivativeIs(Check):
    """after is the derivative of before with respect to v, checked along a random direction u = dv.

    One check for every way a derivation states a derivative (`form`):
      "gradient"      ⟨after, u⟩ = d/dt before(v + t·u)       (∇f, and df/dx for a scalar)
      "jacobian"      after · u  = d/dt before(v + t·u)       (∂g/∂vᵀ, the Hessian when before is a gradient)
      "differential"  after      = d/dt before(v + t·u)       (after is d(before), its d-nodes read u)
    With `of="differential"`, before is itself a differential linear in dv (its d-nodes read u) and after
    the derivative read off it: d f = ⟨after, dv⟩ or d g = after · dv.  The change along u is always the
    complex-step directional derivative of `derive.core.numeval`, exact to rounding.
    """

    FORMS = ("gradient", "jacobian", "differential")

    def __init__(self, wrt, form: str = "gradient", of: str = "function"):
        if form not in self.FORMS or of not in ("function", "differential"):
            raise ValueError(f"no derivative check {form!r} of a {of!r}")
        super().__init__(varying=(wrt,))
        self.wrt, self.form, self.of = wrt, form, of

    def symbols(self, before, after):
        return [before, after, self.wrt]  # v is drawn even where a side no longer holds it (a zero gradient)

    def values(self, before, after, env):
        u = env[differential_key(self.wrt)]
        change = evaluate(before, env) if self.of == "differential" else \
            directional_derivative(before, env, {self.wrt.name: u})
        claimed = evaluate(after, env)
        if self.form == "gradient":
            claimed = np.sum(np.real(claimed) * u)
        elif self.form == "jacobian":
            claimed = np.asarray(claimed) @ u
        return claimed, change


# The names the derivations were written with, kept as thin aliases of the one check above.
class IsGradient(DerivativeIs):
    """after = ∇_v before: `DerivativeIs(wrt, "gradient")`."""

    def __init__(self, wrt):
        super().__init__(wrt, "gradient")


class IsJacobian(DerivativeIs):
    """after = ∂ before / ∂vᵀ: `DerivativeIs(wrt, "jacobian")`."""

    def __init__(self, wrt):
        super().__init__(wrt, "jacobian")


class ReadsOff(DerivativeIs):
    """before is a differential linear in dv, after the gradient read off it: `DerivativeIs(wrt, of="differential")`."""

    def __init__(self, wrt):
        super().__init__(wrt, "gradient", of="differential")


class ReadsOffJacobian(DerivativeIs):
    """before is d g, linear in dv, after the J with d g = J dv: `DerivativeIs(wrt, "jacobian", of="differential")`."""

    def __init__(self, wrt):
        super().__init__(wrt, "jacobian", of="differential")


class SameMinimiser(Check):
    """before and factor·after differ by a term free of v: the same derivative along every direction dv, so
    the same minimiser (the change along dv is `DerivativeIs`'s complex step)."""

    def __init__(self, wrt, factor=1):
        super().__init__(varying=(wrt,))
        self.wrt, self.factor = wrt, sp.sympify(factor)

    def symbols(self, before, after):
        return [before, after, self.wrt]

    def values(self, before, after, env):
        u = {self.wrt.name: env[differential_key(self.wrt)]}
        return (directional_derivative(before, env, u),
                evaluate(self.factor, env) * directional_derivative(after, env, u))


class Scaled(Check):
    """An equation rewritten: residual(after) = factor · residual(before), so both have the same solutions."""

    def __init__(self, factor):
        super().__init__()
        self.factor = sp.sympify(factor)

    def values(self, before, after, env):
        return evaluate(self.factor, env) * evaluate(before, env), evaluate(after, env)


class Solves(Check):
    """after is the solution v̂ (or the equation v = v̂), and putting it for v makes the equation `before` hold."""

    def __init__(self, wrt):
        super().__init__()
        self.wrt = wrt

    def values(self, before, after, env):
        solution = after.rhs if isinstance(after, sp.Equality) else after
        solved = {**env, self.wrt.name: np.real(evaluate(solution, env))}
        residual = evaluate(before, solved)
        return residual, np.zeros_like(residual)


class Nonnegative(Check):
    """before = after, and after is ≥ 0 at every point (a quadratic form shown to be a squared norm)."""

    def values(self, before, after, env):
        left, right = evaluate(before, env), evaluate(after, env)
        if np.any(np.real(right) < -RTOL * (1 + np.abs(right))):
            return left, np.nan
        return left, right




# ---------------------------------------------------------------------------------------------------
# Steps and derivations
# ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One move of a derivation: `before` becomes `after` by `rule`; `verified` once its check passed."""

    rule: str
    explanation: str
    before: sp.Basic
    after: sp.Basic
    lhs: Optional[sp.Basic] = None     # shown on the left instead of `before` (L(β), ∇_β L, ...)
    relation: str = "="                # how the two sides are printed: "=", "⇒", or "" for an equation
    verified: bool = False
    symbolic: bool = False             # also proved by SymPy (an `Equal` step small enough to expand)
    check: Check = field(default_factory=lambda: Equal(), repr=False, compare=False)
    domains: Domains = field(default_factory=Domains, repr=False, compare=False)

    def verify(self, seed: int = 0) -> "Step":
        """This step, verified: raises `VerificationError` when its check fails at any random point."""
        exprs = self.check.symbols(self.before, self.after)
        for env in self.domains.points(exprs, seed=seed, sizes=SIZE_DRAWS, per_size=POINT_DRAWS,
                                       directions=self.check.varying):
            try:
                with np.errstate(all="ignore"):
                    left, right = self.check.values(self.before, self.after, env)
            except (np.linalg.LinAlgError, ValueError, ZeroDivisionError) as error:
                raise VerificationError(
                    f"step '{self.rule}' could not be evaluated: {error}") from error
            left, right = np.asarray(left), np.asarray(right)
            scale = 1.0 + max(np.max(np.abs(left), initial=0.0), np.max(np.abs(right), initial=0.0))
            if left.shape != right.shape and left.size != right.size:
                raise VerificationError(
                    f"step '{self.rule}' changes the shape: {left.shape} vs {right.shape}")
            error = np.max(np.abs(left.ravel() - right.ravel()), initial=0.0)
            if not np.isfinite(error) or error > RTOL * scale:
                raise VerificationError(
                    f"step '{self.rule}' failed its check ({type(self.check).__name__}) at "
                    f"random sizes {dimensions_text(env)}: {left.ravel()[:3]} vs {right.ravel()[:3]}")
        symbolic = isinstance(self.check, Equal) and not self.check.varying and proved_equal(self.before, self.after)
        return dataclasses.replace(self, verified=True, symbolic=symbolic)


_SLOW_TO_EXPAND = {"HadamardProduct", "HadamardPower", "Elementwise", "DiagMatrix", "DiagonalOf"}
SYMBOLIC_OPS = 40  # larger expressions are left to the numeric check: expanding them costs more than it tells


def proved_equal(before, after) -> bool:
    """Whether SymPy shows before − after = 0 by expanding: cheap, and only ever extra evidence (SymPy
    cannot prove every identity, so a failure here means nothing; the numeric check is the judge)."""
    if isinstance(before, sp.Equality) or isinstance(after, sp.Equality) or before.is_Matrix != after.is_Matrix:
        return False
    if sp.count_ops(before) + sp.count_ops(after) > SYMBOLIC_OPS:
        return False
    if any(e.has(sp.Sum, sp.Product, sp.Derivative, sp.Indexed, Notation) for e in (before, after)):
        return False
    # entrywise products and diag() expand into SymPy's array machinery: seconds for no proof
    if any(n.is_Matrix and type(n).__name__ in _SLOW_TO_EXPAND for e in (before, after) for n in sp.preorder_traversal(e)):
        return False
    difference = sp.expand((before - after).doit())
    return difference == 0 or isinstance(difference, sp.ZeroMatrix)


@dataclass
class Derivation:
    """An ordered list of verified steps and the results they establish (quantity name → expression)."""

    title: str
    model: Optional[str] = None
    form: str = "matrix"
    domains: Domains = field(default_factory=Domains)
    steps: list = field(default_factory=list)
    results: dict = field(default_factory=dict)
    symbols: list = field(default_factory=list)   # (symbol, description) pairs shown before the steps
    notes: list = field(default_factory=list)     # sentences shown after the steps
    sections: list = field(default_factory=list)  # (index of first step, heading)
    # quantity → the result as the steps wrote it, with the names they defined (XᵀSX, S = diag(sᵢ) above);
    # what the documents print. `results` stay plain SymPy, every name replaced by its definition.
    shown_results: dict = field(default_factory=dict)

    def displayed_results(self) -> dict:
        """The results as a reader sees them: each in the steps' own names where it has them."""
        return {q: self.shown_results.get(q, e) for q, e in self.results.items()}

    def step(self, rule: str, explanation: str, before, after, *, check: Check | None = None,
             lhs=None, relation: str = "="):
        """Record the move before → after, verified now; returns `after` so moves chain."""
        made = Step(rule, explanation, before, after, lhs=lhs, relation=relation,
                    check=check or Equal(), domains=self.domains).verify(seed=len(self.steps))
        self.steps.append(made)
        return after

    def section(self, heading: str) -> None:
        self.sections.append((len(self.steps), heading))

    @property
    def result(self):
        """The last result recorded (for one-quantity derivations such as `derive.diff`)."""
        return list(self.results.values())[-1]

    # Rendering lives in render.py; these delegate so that a Derivation displays itself.
    def to_text(self) -> str:
        from derive.render.formats import to_text
        return to_text(self)

    def to_latex(self, standalone: bool = False) -> str:
        from derive.render.formats import to_latex
        return to_latex(self, standalone=standalone)

    def to_markdown(self) -> str:
        from derive.render.formats import to_markdown
        return to_markdown(self)

    def to_dict(self) -> dict:
        from derive.render.formats import to_dict
        return to_dict(self)

    def _repr_latex_(self) -> str:
        from derive.render.latex import jupyter
        return jupyter(self)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        from derive.render.html import fragment
        return fragment(self)

    def __repr__(self) -> str:
        # a short summary: the steps themselves are what str(), the rich displays and the renderers show
        results = ", ".join(self.results) or "no results"
        return f"<Derivation {self.title!r} ({self.form} form): {len(self.steps)} verified steps; {results}>"

    def __str__(self) -> str:
        return self.to_text()


# ---------------------------------------------------------------------------------------------------
# Checks for the course's relations beyond derivatives: expectations, densities, stationary points, eigenpairs
# ---------------------------------------------------------------------------------------------------
class ExpectedValues(Check):
    """before = after, with every E[·] the exact mean over the random variables' `Moments` (independent of
    each other): equal in expectation, checked without Monte Carlo noise (derive.core.moments)."""

    def __init__(self, *distributions, inner: Check | None = None):
        self.inner = inner or Equal()
        super().__init__(varying=self.inner.varying)
        self.distributions = distributions

    def symbols(self, before, after):
        return self.inner.symbols(before, after) + [m for d in self.distributions for m in (d.mean, d.covariance)]

    def values(self, before, after, env):
        return self.inner.values(before, after, {**env, ENSEMBLE: ensemble(self.distributions, env)})


class Proportional(Check):
    """before ∝ after as densities in the variables: log before − log after is free of them, so the
    derivatives of the two logs along a random direction agree. With logs=True the sides are log-densities."""

    def __init__(self, *variables, logs: bool = False):
        super().__init__()
        self.variables, self.logs = variables, logs

    def values(self, before, after, env):
        rng = np.random.default_rng(len(env))
        moved = {v.name: rng.standard_normal(np.shape(env[v.name])) for v in self.variables}
        log = (lambda e: e) if self.logs else sp.log
        return (directional_derivative(log(before), env, moved),
                directional_derivative(log(after), env, moved))


class StationaryPoint(Check):
    """after names a point, a tuple of Eq(variable, value), at which the scalar function `before` (a
    Lagrangian) is stationary: its derivative along every direction in every variable vanishes there."""

    def values(self, before, after, env):
        at = dict(env)
        for equation in after:
            at[equation.lhs.name] = np.real(evaluate(equation.rhs, at))
        rng = np.random.default_rng(len(env))
        slopes = [directional_derivative(before, at, {e.lhs.name: rng.standard_normal(np.shape(at[e.lhs.name]))})
                  for e in after]
        slopes = np.real(np.ravel(slopes))
        return slopes, np.zeros_like(slopes)


class AtEigenpair(Check):
    """The check `inner` with `value` and the unit `vector` set to an eigenpair of the symmetric `matrix`:
    a random one, or (largest=True) the one with the largest eigenvalue."""

    def __init__(self, matrix, value, vector=None, inner: Check | None = None, largest: bool = False):
        self.inner = inner or Equal()
        super().__init__(varying=self.inner.varying)
        self.matrix, self.value, self.vector, self.largest = matrix, value, vector, largest

    def symbols(self, before, after):
        return self.inner.symbols(before, after) + [self.matrix]

    def values(self, before, after, env):
        eigenvalues, eigenvectors = np.linalg.eigh(np.real(evaluate(self.matrix, env)))
        k = len(eigenvalues) - 1 if self.largest else int(np.random.default_rng(len(env)).integers(len(eigenvalues)))
        at = {**env, self.value.name: float(eigenvalues[k])}
        if self.vector is not None:
            at[self.vector.name] = eigenvectors[:, [k]]
        return self.inner.values(before, after, at)


class Holds(Check):
    """after is an inequality (a ≤ b, a < b, a ≥ b, a > b) that holds at every random point; before is what
    it bounds, for the record."""

    def values(self, before, after, env):
        left, right = np.real(evaluate(after.lhs, env)), np.real(evaluate(after.rhs, env))
        slack = right - left if isinstance(after, (sp.LessThan, sp.StrictLessThan)) else left - right
        tolerance = RTOL * (1 + np.abs(left) + np.abs(right))
        return np.where(slack >= -tolerance, 0.0, np.nan), np.zeros_like(slack)

