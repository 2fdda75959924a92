r"""A derivation checked line by line: the first wrong line, and a reason for every line.

`check_steps` reads a derivation as a person writes it (`derive.checking.derivation_lines`) and checks each line
against the one before: equal as functions (``&= …``), or the derivative of it (``\nabla_\beta L = …``,
``\frac{\partial L}{\partial\beta}``, ``⇒ gradient: …``; computed by `derive.calculus.differentials` and always checked by
complex-step directional derivatives), or an equation with the same solution (``… = 0``,
``X^TX\beta = X^Ty``, ``\hat\beta = …``; linear equations are solved numerically at each random point).
A wrong line gets the same diagnosis as a wrong answer (`derive.checking.diagnosis`), relative to the line before it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import sympy as sp

from derive.checking.derivation_lines import WrittenLine, inferred_shapes, read_lines, read_shapes
from derive.checking.diagnosis import (
    Comparison,
    diagnose,
    fraction_text,
    nice_number,
    shape_text,
    undefined_answer,
)
from derive.checking.equivalence import compare, same_shape
from derive.checking.model_context import model_context
from derive.core.limits import time_limit
from derive.core.numeval import directional_derivative, evaluate, indexed_key, padded
from derive.core.random_points import (
    Domains,
    all_close,
    close,
    consistent,
    fit_factor,
    guard_sizes,
    spd,
    values_of,
)
from derive.errors import (
    DeriveError,
    LimitExceeded,
    NotSupported,
    ParseError,
    ShapeError,
)
from derive.expr.printing import latex, unicode
from derive.parse import parse

STEPS_SECONDS = 60.0        # wall clock for a whole `check_steps`
DERIVATIVE_SECONDS = 5.0    # a symbolic derivative for a diagnosis (the numeric check needs none)


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
    warnings: list = field(default_factory=list)   # what the check assumed: names taken as scalars

    @property
    def exit_code(self) -> int:
        return 0 if self.valid else 1

    def to_dict(self) -> dict:
        return {"valid": self.valid, "first_error": self.first_error, "lines": [l.to_dict() for l in self.lines],
                "warnings": self.warnings}

    def to_text(self) -> str:
        width = max((len(str(l.line)) for l in self.lines), default=1)
        out = [f"warning: {w}" for w in self.warnings]
        for l in self.lines:
            mark = "✓" if l.valid else "✗"
            out.append(f"line {l.line:>{width}}  {mark}  {l.text}")
            out.append(f"{' ' * (width + 10)}{l.reason}")
        out.append("all lines follow" if self.valid else f"first error: line {self.first_error}")
        return "\n".join(out)


@dataclass
class _Chain:
    """What later lines are checked against: the latest function, gradient and equation of the derivation."""

    expr: object = None
    order: int = 0                 # 0 a function, 1 a gradient, 2 a Hessian, -1 an equation
    line: int = 0
    functions: dict = field(default_factory=dict)   # order -> (expr, line)
    equation: Optional[tuple] = None                # (residual, line, variable)
    variable: object = None                         # what the latest derivative was taken with respect to


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
    warnings: list[str] = []
    if model is not None:
        context = model_context(model)
        # S, P and x̄ read as the derivation names them (the estimate μ̂ is a line's label here, not a name)
        symbols, domains, parameter, known_shapes = (context.answer_symbols("gradient"), context.domains,
                                                     context.parameter, None)
        meanings = context.meanings("gradient")
    else:
        known_shapes, samplers = read_shapes(shapes)
        meanings = {}
        if not known_shapes:
            inferred, warning = inferred_shapes(text)
            known_shapes = inferred or {}
            warnings += [warning] if warning else []
        symbols, parameter = None, None
    with time_limit(STEPS_SECONDS, "checking the derivation"):
        lines = [line.with_meanings(meanings) for line in read_lines(text, known_shapes, symbols)]
        if not lines:
            raise ParseError("the derivation has no lines to check")
        if model is None:
            domains = Domains({**_positive_definite_where_needed(lines), **samplers})
        checker = _StepChecker(domains, parameter, known_shapes, symbols, model)
        results = [checker.line(line) for line in lines]
    first = next((r.line for r in results if not r.valid), None)
    return StepsResult(first is None, first, results, warnings)


def _positive_definite_where_needed(lines) -> dict:
    """A sampler drawing symmetric positive-definite values for each matrix whose determinant is taken (log det S
    and its derivative S⁻ᵀ are real only where det S > 0)."""
    found = {}
    for line in lines:
        for side in line.sides:
            for node in sp.preorder_traversal(side):
                if isinstance(node, sp.Determinant) and isinstance(node.arg, sp.MatrixSymbol):
                    found[node.arg.name] = spd
    return found


class _StepChecker:
    """Walks the lines, keeping the chain of expressions each new line is checked against."""

    def __init__(self, domains, parameter, shapes, symbols, model):
        self.domains, self.parameter, self.shapes, self.symbols, self.model = domains, parameter, shapes, symbols, model
        self.chain: Optional[_Chain] = None
        self.function_variable = None   # the variable of the latest L(β) = … line
        self.seed = 0

    # -- one line ---------------------------------------------------------------------------------------
    def line(self, line: WrittenLine) -> LineResult:
        if line.shape_error is not None:
            # the next line is compared with the last line that could be read
            return LineResult(line.number, "", False, f"dimension error: {line.shape_error}",
                              " ".join(line.source.split()))
        written = line.written or line.sides
        shown_latex = " = ".join(latex(s) for s in written)
        shown_text = " = ".join(unicode(s) for s in written)
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

    def judge(self, line: WrittenLine) -> tuple[bool, str]:
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

    def rest(self, line: WrittenLine, sides, order: int, reason: str, ok: bool = True) -> tuple[bool, str]:
        """Record the line's last side in the chain, checking any further sides (a = b = c) on the way."""
        for before, after in zip(sides, sides[1:]):
            if self.is_zero(after) and order >= 1:
                self.chain = _Chain(None, -1, line.number, dict(self.chain.functions),
                                    (before, line.number, self.variable(line, before)))
                return ok, reason if not ok else f"{reason}; set to zero" if reason else "set to zero"
            ok, reason = self.next_side(before, after, ok, reason)
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
        equal, _, diagnosis = compare(after, before, self.domains, reference=reference, subject="this line",
                                      function=function, model=self.model, seed=self.seed)
        return (True, f"equal to {reference}") if equal else (False, diagnosis)

    def next_side(self, before, after, ok: bool, reason: str) -> tuple[bool, str]:
        """A further side (a = b = c) against the one before it; the line's first failure stays its reason."""
        this_ok, why = self.equal(before, after, "the side before it", function=None)
        return (False, why) if ok and not this_ok else (ok, reason)

    # -- derivatives --------------------------------------------------------------------------------------
    def variable(self, line: WrittenLine, expr=None):
        if line.variable_text:
            try:
                return parse(line.variable_text, self.shapes, symbols=self.symbols)
            except DeriveError:
                raise ParseError(f"cannot read the variable {line.variable_text}") from None
        if not line.derivative and self.chain is not None and self.chain.variable is not None:
            return self.chain.variable   # an equation or estimate after ∂ℓ/∂σ²: solved for σ²
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

    def derivative_line(self, line: WrittenLine) -> tuple[bool, str]:
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
        of_gradient = _is_column(base)
        what = "Hessian" if second or of_gradient else "gradient" if getattr(variable, "is_Matrix", False) \
            else "derivative"
        v = unicode(variable)
        if of_gradient:
            noun = f"the derivative of line {base_line} with respect to {v}ᵀ"
        else:
            noun = f"the {what} of line {base_line} with respect to {v}"
        envs = self.domains.points([base, answer, variable], seed=self.seed)
        self.seed += 1
        if second:   # the Hessian of a function: its gradient first, checked, then the Jacobian of that
            base = self.checked_derivative(base, variable, envs)
            if base is None:
                raise NotSupported(f"cannot take the Hessian of line {base_line}: write its gradient first")
        # The complex step decides; a symbolic derivative that agrees with it serves the diagnosis.
        expected_values = [numeric_derivative(base, variable, env) for env in envs]
        expected = self.checked_derivative(base, variable, envs, expected_values)
        quantity = "hessian" if what == "Hessian" else "gradient"
        try:
            answer_values = values_of(answer, envs, "this line")
        except NotSupported:
            raise
        except DeriveError as error:   # not finite where the derivative is: a wrong line, diagnosed
            return False, undefined_answer(answer, expected, error, quantity=quantity, reference=noun,
                                           subject="this line", parameter=variable)
        c = Comparison(answer_values, expected_values, envs, answer, expected, reference=noun, subject="this line",
                       quantity=quantity, model=self.model, parameter=variable,
                       function=f"line {base_line}")
        if c.equal:
            return True, noun
        return False, diagnose(c)

    def checked_derivative(self, f, variable, envs, values=None):
        """∂f/∂v as an expression (derive.calculus.differentials, or SymPy's diff for scalars), kept only when it equals
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
        """∇f (∂f/∂vᵀ for a vector f) by derive.calculus.differentials, each of its steps verified; None where it cannot."""
        from derive.calculus.differentials import gradient, jacobian
        from derive.core.steps import Derivation
        from derive.expr.notation import Notation
        scratch = Derivation("check", domains=self.domains)
        name = Notation("f", "f")
        try:
            with time_limit(DERIVATIVE_SECONDS, "differentiating"):
                if _is_column(f):
                    return jacobian(scratch, f, variable, lhs=name)
                return gradient(scratch, f, variable, lhs=name)
        except (DeriveError, TypeError, AttributeError, ValueError):
            return None

    # -- equations -----------------------------------------------------------------------------------------
    def equation_line(self, line: WrittenLine, lhs, rhs, more) -> tuple[bool, str]:
        chain = self.chain
        residual = _difference(lhs, rhs)
        reference, variable, what = self.equation_to_solve(line)
        ok, reason = self.same_solutions(reference, residual, variable, what)
        self.chain = _Chain(None, -1, line.number, dict(chain.functions), (residual, line.number, variable))
        if more:
            raise NotSupported("write one equation per line")
        return ok, reason

    def solution_line(self, line: WrittenLine, sides) -> tuple[bool, str]:
        chain = self.chain
        reference, variable, what = self.equation_to_solve(line)
        solution = sides[0]
        if solution.has(variable):
            raise NotSupported(f"the estimate on line {line.number} still contains {unicode(variable)}")
        ok, reason = self.same_solutions(reference, _difference(variable, solution), variable, what,
                                         solution=solution)
        for before, after in zip(sides, sides[1:]):
            ok, reason = self.next_side(before, after, ok, reason)
        self.chain = _Chain(sides[-1], 3, line.number, dict(chain.functions), chain.equation)
        return ok, reason

    def equation_to_solve(self, line: WrittenLine) -> tuple:
        """(residual, variable, what it is) of the equation a line must have the same solution as: the latest
        equation, else the latest derivative set to zero."""
        chain = self.chain
        if chain.order == -1:
            reference, ref_line, variable = chain.equation
            return reference, variable, f"the equation of line {ref_line}"
        if chain.order >= 1:
            return chain.expr, self.variable(line, chain.expr), f"line {chain.line} set to zero"
        raise NotSupported("an estimate (β̂ = …) needs a gradient or an equation above it to solve")

    def same_solutions(self, old, new, variable, what: str, solution=None) -> tuple[bool, str]:
        """Do the equations old = 0 and new = 0 (in `variable`) have the same solution?"""
        envs = self.domains.points([old, new, variable], seed=self.seed)
        self.seed += 1
        old_solutions = [linear_solution(old, variable, env) for env in envs]
        new_solutions = [linear_solution(new, variable, env) for env in envs]
        expected = None
        if any(s is None for s in old_solutions):   # n/(2σ²) − Σ(xᵢ − μ)²/(2σ⁴) = 0: solved for σ² in closed form
            expected = scalar_solution(old, variable, envs)
            if expected is not None:
                old_solutions = values_of(expected, envs, f"the solution of {what}")
        if all(s is not None for s in old_solutions + new_solutions):
            c = Comparison(new_solutions, old_solutions, envs, reference=f"the solution of {what}",
                           subject="this line's solution", quantity="solution", model=self.model,
                           answer=solution, expected=expected)
            if c.equal:
                return True, f"the same solution as {what}" if solution is None else f"solves {what}"
            return False, diagnose(c)
        # One side nonlinear in the variable (n/(2σ²) − Σ(xᵢ − μ)²/(2σ⁴) = 0 and nσ² = Σ(xᵢ − μ)²): the
        # solution of the linear one must solve the other.
        for solved, other, other_what in ((new_solutions, old, what), (old_solutions, new, "this line")):
            if all(v is not None for v in solved):
                held = [vanishes_at(other, variable, env, v) for env, v in zip(envs, solved)]
                if all(held):
                    return True, f"the same solution as {what}" if solution is None else f"solves {what}"
                return False, (f"{'the estimate' if solution is not None else 'the solution of this line'} does "
                               f"not solve {what}" if other_what == what else
                               f"the solution of {what} does not solve this line")
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


def _is_column(expr) -> bool:
    """A vector (n×1, not 1×1): its derivative is a Jacobian ∂f/∂vᵀ, not a gradient."""
    return getattr(expr, "is_Matrix", False) and expr.shape[1] == 1 and expr.shape != (1, 1)


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
    for unit in _unit_directions(shape):
        with np.errstate(all="ignore"):
            columns.append(np.asarray(directional_derivative(f, env, {name: unit}), dtype=float))
    if all(c.size == 1 for c in columns):
        return _as_variable_values(np.array([c.item() for c in columns]), shape)
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
        J = np.column_stack([at(unit) - c for unit in _unit_directions(shape)])
        probe = np.asarray(env[name], dtype=float)
        if not close(at(probe), J @ probe.reshape(-1) + c, 1e-7):
            return None
        if J.shape[0] != J.shape[1] or np.linalg.cond(J) > 1e10:
            return None
        return _as_variable_values(np.linalg.solve(J, -c), shape)
    except (np.linalg.LinAlgError, ValueError, TypeError, ZeroDivisionError, IndexError, KeyError, NotSupported):
        return None


def scalar_solution(residual, variable, envs):
    """The one solution of residual = 0 for a scalar variable, by SymPy's solve, kept only when it makes the
    residual vanish at every point; None otherwise."""
    if not isinstance(variable, sp.Symbol) or getattr(residual, "is_Matrix", False):
        return None
    try:
        with time_limit(DERIVATIVE_SECONDS, "solving"):
            solutions = sp.solve(residual, variable)
    except Exception:  # noqa: BLE001 - only a candidate; the numbers decide
        return None
    if len(solutions) != 1:
        return None
    try:
        values = values_of(solutions[0], envs)
    except DeriveError:
        return None
    held = all(vanishes_at(residual, variable, env, value) for env, value in zip(envs, values))
    return solutions[0] if held else None


def vanishes_at(residual, variable, env, value) -> bool:
    """residual(variable = value) = 0, relative to the residual's size near there."""
    name = variable.name
    at = lambda v: np.asarray(values_of(residual, [{**env, name: _as_env_value(v, env[name])}])[0])
    try:
        zero, near = at(value), max(float(np.max(np.abs(at(value * 2)))), float(np.max(np.abs(at(value / 2)))))
    except DeriveError:
        return False
    return float(np.max(np.abs(zero))) <= 1e-7 * max(near, 1e-300)


def _as_env_value(value, like):
    """A solution in the form the point holds the variable in (a float for a scalar)."""
    return np.asarray(value, dtype=float).reshape(np.shape(like)) if np.ndim(like) else float(np.ravel(value)[0])


def _unit_directions(shape):
    """One array per entry of a variable of this shape: 1 at that entry, 0 elsewhere."""
    for index in np.ndindex(*shape):
        unit = np.zeros(shape)
        unit[index] = 1.0
        yield unit


def _as_variable_values(flat: np.ndarray, shape) -> np.ndarray:
    """Numbers for each entry of a variable, shaped as `values_of` gives its values (a column, 1×1 for a scalar)."""
    return flat.reshape(shape if len(shape) == 2 else (-1, 1) if shape else (1, 1))
