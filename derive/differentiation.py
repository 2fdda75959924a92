"""`derive.diff`: the derivative of any expression, step by step, every step verified.

    >>> import derive
    >>> r = derive.diff("x'*A*x", wrt="x", shapes={"x": ("n", 1), "A": ("n", "n")})
    >>> derive.printing.unicode(r.result)
    '(A + Aᵀ)x'
    >>> derive.printing.unicode(derive.diff("sin(x^2)", wrt="x").result)
    '2·x·cos(x²)'

What is differentiated, and how:

| expression                 | with respect to        | result (`results` key)                       | engine      |
|----------------------------|------------------------|----------------------------------------------|-------------|
| scalar of one scalar       | x                      | f′, f″ (`derivative`, `second derivative`)   | scalar rules |
| scalar of several scalars  | "x, y"                 | gradient, Hessian (`gradient`, `hessian`)    | scalar rules |
| vector of scalar functions | "x, y" (or one scalar) | Jacobian matrix (`jacobian`)                 | scalar rules |
| scalar of a vector x       | x                      | ∇f, ∇²f (`gradient`, `hessian`)              | differentials |
| scalar of a matrix X       | X                      | ∂f/∂X (`gradient`)                           | differentials |
| vector of a vector x       | x                      | ∂g/∂xᵀ (`jacobian`)                          | differentials |

Scalar rules are `derive.rules` (Leibniz style, one partial derivative at a time); differentials are
`derive.calculus` (df = gᵀdx, then the textbook form).

Input is a string in `derive`'s grammar (`derive.parse`), a SymPy expression, or a plain Python function
(`derive.python_input`). Anything outside the rules raises `NotSupported` naming the sub-expression; a
derivative that fails its numerical check raises `VerificationError`: a wrong derivative is never returned.
Every symbolic operation runs under a time limit.

`form="components"` derives in matrix form and then writes the result out entry by entry for explicit
sizes (`dim`), which is much faster than differentiating the written-out function entry by entry.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Union

import numpy as np
import sympy as sp
from sympy.matrices.expressions.diagonal import DiagMatrix
from sympy.matrices.expressions.hadamard import HadamardPower, HadamardProduct

from .algebra import factor_common, multiply, split_product, transpose_shallow
from .calculus import gradient, jacobian
from .errors import DeriveError, LimitExceeded, NotSupported, VerificationError
from .functions import FUNCTION_NAMES, Elementwise, sigmoid, softplus
from .limits import time_limit
from .numeval import directional_derivative, evaluate
from .printing import latex, unicode
from .rules import leibniz_derivative
from .symbols import evaluable
from .steps import Check, Derivation, Domains, IsGradient, IsJacobian, Notation, Step, positive, spd

DIFF_SECONDS = 15.0        # wall-clock budget for one whole derivation (parsing has its own, shorter one)
SIMPLIFY_SECONDS = 2.0     # for tidying one result; past it the untidied (still verified) form is kept
HUGE = 1e100               # values beyond this at the check points leave no room for derivatives' growth
COMPONENT_CHECKS = 3       # random entries compared per point when checking a written-out result

__all__ = ["diff", "diff_json", "DiffDerivation"]


@dataclass
class DiffDerivation(Derivation):
    """A `Derivation` that also knows what was differentiated (`expression`) and with respect to what."""

    expression: Optional[sp.Basic] = None
    wrt: tuple = ()                        # the variables, SymPy symbols
    source_latex: Optional[str] = None     # a Python function's definition as LaTeX (latexify), else None

    def to_dict(self) -> dict:
        return diff_json(self)


# ---------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------
def diff(expr, wrt, shapes: Optional[Mapping] = None, order: int = 1, *, symbols: Optional[Mapping] = None,
         form: str = "matrix", dim: Union[int, Mapping, None] = None) -> DiffDerivation:
    """The derivative of `expr` with respect to `wrt`, as a verified step-by-step derivation.

    `expr`: text (LaTeX or plain, read by `derive.parse`), a SymPy expression, a list of scalar expressions
    or text ``"f, g"`` (a vector function), or a Python function. `wrt`: a name (``"x"``, ``"beta"``,
    ``"β"``), several scalar names (``"x, y"`` or a list), or SymPy symbols. `shapes` declares matrices as
    for `derive.parse` (``{"x": ("n", 1), "A": ("n", "n")}``; undeclared names are scalars). `order`: 1, or
    2 for the second derivative / Hessian. `form="components"` with `dim` (a size for every dimension, or
    ``{"d": 50}``) writes a vector/matrix result out entry by entry.

    `result` is the last derivative derived; `results` holds each one by name (``derivative``,
    ``second derivative``, ``gradient``, ``hessian``, ``jacobian``).
    """
    if order not in (1, 2):
        raise NotSupported(f"order {order} is not supported: derive takes first (1) and second (2) derivatives")
    if form not in ("matrix", "components"):
        raise NotSupported(f"no form {form!r} for derive diff (forms: matrix, components)")
    with time_limit(DIFF_SECONDS, "differentiating"):
        expression, source = _read(expr, shapes, symbols)
        variables = _variables(wrt, expression, shapes, symbols)
        expression = _sized_indexed(expression)
        D = DiffDerivation(_title(expression, variables), form="matrix", expression=expression,
                           wrt=tuple(variables), domains=choose_domains(expression, variables))
        if source is not None:
            D.source_latex = source.latex
            D.notes.append(f"From the Python function {source.signature}"
                           + (f", which latexify-py writes as {source.latex}." if source.latex else "."))
        try:
            _dispatch(D, expression, variables, order)
        except OverflowError:
            raise NotSupported(f"the numbers in the derivative of {unicode(expression)} overflow at the random "
                               "points of the checks, so its steps cannot be verified") from None
        except (VerificationError, DeriveError) as error:
            # a rule that does not apply names the sub-expression (more useful than "cannot be evaluated");
            # a check that fails where the function is undefined is reported as that, not as a bug
            if isinstance(D.domains, _Unverifiable) and not isinstance(error, (NotSupported, LimitExceeded)):
                raise NotSupported(D.domains.problem) from None
            raise
        if form == "components":
            write_components(D, variables, dim)
        D.results = {quantity: evaluable(result) for quantity, result in D.results.items()}
        return D


def diff_json(derivation: DiffDerivation) -> dict:
    """The JSON of `derive diff --json` (DESIGN §4): expression, wrt, result, steps."""
    from .render import expression_dict, step_dict
    return {
        "expression": expression_dict(derivation.expression),
        "wrt": ", ".join(_name(v) for v in derivation.wrt),
        "result": expression_dict(derivation.result),
        "steps": [step_dict(s) for s in derivation.steps],
    }


# ---------------------------------------------------------------------------------------------------
# Reading the input
# ---------------------------------------------------------------------------------------------------
def _read(expr, shapes, symbols):
    """(SymPy expression, the traced Python function or None)."""
    if isinstance(expr, str):
        return _parse_text(expr, shapes, symbols), None
    if callable(expr) and not isinstance(expr, sp.Basic):
        from .python_input import trace_function
        traced = trace_function(expr, shapes)
        return traced.expression, traced
    if isinstance(expr, (list, tuple)):
        return _vector([_read(e, shapes, symbols)[0] for e in expr]), None
    if isinstance(expr, sp.MatrixBase):
        return sp.ImmutableMatrix(expr), None
    if isinstance(expr, sp.Basic):
        return expr, None
    if isinstance(expr, (int, float)):
        return sp.sympify(expr), None
    raise NotSupported(f"cannot differentiate a {type(expr).__name__}: give text, a SymPy expression or a "
                       "Python function")


def _parse_text(text: str, shapes, symbols):
    """The expression; "f, g" (a list of functions, not in the grammar itself) is the vector [f; g]."""
    from .errors import ParseError
    from .parse import parse
    try:
        return parse(text, shapes, symbols=symbols)
    except ParseError:
        parts = _split_commas(text)
        if len(parts) == 1:
            raise
    return _vector([parse(p, shapes, symbols=symbols) for p in parts])


def _split_commas(text: str) -> list[str]:
    """"f, g" → ["f", "g"] at top-level commas only (not inside brackets: ones(n, 1))."""
    parts, depth, start = [], 0, 0
    for k, ch in enumerate(text):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(text[start:k])
            start = k + 1
    parts.append(text[start:])
    return [p.strip() for p in parts] if len(parts) > 1 else [text]


def _vector(entries):
    for e in entries:
        if getattr(e, "is_Matrix", False):
            raise NotSupported(f"a list of functions must hold scalars, but {unicode(e)} is a "
                               f"{e.shape[0]}×{e.shape[1]} matrix")
    return sp.ImmutableMatrix([sp.sympify(e) for e in entries])


def _sized_indexed(expression):
    """x_i inside Σ_{i=1}^{n} gets the size n (x = IndexedBase("x", shape=(n,))), so the checks can draw it."""
    if not expression.has(sp.Indexed):
        return expression
    ranges = {}
    for node in sp.preorder_traversal(expression):
        if isinstance(node, sp.Sum):
            ranges.update({index: high for index, low, high in node.limits})
    sized = {}
    for node in sp.preorder_traversal(expression):
        if isinstance(node, sp.Indexed) and node.base.shape is None:
            sizes = tuple(ranges.get(i) for i in node.indices)
            if any(k is None for k in sizes):
                raise NotSupported(f"cannot tell the range of the subscript of {unicode(node)}: sum over it "
                                   "with limits, or declare the shape of " + str(node.base.label))
            sized[node.base] = sp.IndexedBase(node.base.label, shape=sizes)
    return expression.xreplace(sized) if sized else expression


def _name(v) -> str:
    return v.name


def _variables(wrt, expression, shapes, symbols) -> list:
    """The SymPy symbols to differentiate by, matched by name against the expression's symbols."""
    if isinstance(wrt, (sp.Symbol, sp.MatrixSymbol)):
        wanted = [wrt]
    elif isinstance(wrt, str):
        wanted = [w.strip() for w in wrt.replace(";", ",").split(",") if w.strip()]
    elif isinstance(wrt, Iterable):
        wanted = list(wrt)
    else:
        raise NotSupported(f"cannot read the variable {wrt!r}: give a name such as 'x' or 'x, y'")
    if not wanted:
        raise NotSupported("no variable to differentiate with respect to: give --wrt NAME")
    present = _symbols_by_name(expression)
    dimensions = {s.name for s in _dimension_symbols(expression)}
    found = []
    for w in wanted:
        declared = w if isinstance(w, (sp.Symbol, sp.MatrixSymbol)) else _variable_name(str(w), shapes, symbols)
        name = declared.name
        if name in dimensions:
            raise NotSupported(f"{name} is a dimension (a size), not a variable one can differentiate by")
        # absent from the expression: the derivative is zero (by the constant rule)
        variable = present.get(name) or declared or sp.Symbol(name)
        if isinstance(variable, sp.Symbol) and variable.is_integer:
            raise NotSupported(f"{name} is an integer (an index or size); derive differentiates by real variables")
        if not isinstance(variable, (sp.Symbol, sp.MatrixSymbol)):
            raise NotSupported(f"cannot differentiate with respect to {unicode(variable)}: give a variable name")
        if variable in found:
            raise NotSupported(f"{name} is listed twice in the variables")
        found.append(variable)
    matrices = [v for v in found if isinstance(v, sp.MatrixSymbol)]
    if matrices and len(found) > 1:
        raise NotSupported("differentiate with respect to one vector or matrix at a time, or several scalars; "
                           f"not {', '.join(v.name for v in found)} together")
    return found


def _variable_name(text: str, shapes, symbols):
    """The symbol a variable name denotes, read by the same grammar as the expression (β, \\beta, beta)."""
    from .parse import parse
    try:
        found = parse(text, shapes, symbols=symbols)
    except DeriveError:
        found = None
    if not isinstance(found, (sp.Symbol, sp.MatrixSymbol)):
        raise NotSupported(f"cannot differentiate with respect to {text!r}: give a variable's name, such as x, "
                           "beta or β (several scalars separated by commas)")
    return found


def _symbols_by_name(expression) -> dict:
    """The variables of the expression by name: matrix symbols and scalars (not the names of x_i arrays)."""
    labels = {b.label for b in expression.atoms(sp.IndexedBase)}
    found = {}
    for node in sp.preorder_traversal(expression):
        if isinstance(node, sp.MatrixSymbol):
            found[node.name] = node
        elif isinstance(node, sp.Symbol) and not isinstance(node, sp.Dummy) and node not in labels:
            found.setdefault(node.name, node)
    return found


def _dimension_symbols(expression) -> set:
    found = set()
    for node in sp.preorder_traversal(expression):
        if isinstance(node, (sp.MatrixSymbol, sp.OneMatrix, sp.ZeroMatrix, sp.Identity)):
            found |= {s for s in sp.Tuple(*node.shape).free_symbols if isinstance(s, sp.Symbol)}
    return found


def _title(expression, variables) -> str:
    names = ", ".join(unicode(v) for v in variables)
    text = unicode(expression)
    if len(text) > 60:
        text = text[:57] + "…"
    return f"Derivative of {text} with respect to {names}"


# ---------------------------------------------------------------------------------------------------
# Random points for the checks: where the function is defined and well conditioned
# ---------------------------------------------------------------------------------------------------
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


def _interval(low, high):
    return lambda rng, shape: rng.uniform(low, high, shape) if shape else float(rng.uniform(low, high))


def _spd_or(sampler):
    return lambda rng, shape: spd(rng, shape) if len(shape) == 2 and shape[0] == shape[1] else sampler(rng, shape)


SCALAR_RANGES = [(0.5, 2.0), (0.1, 0.9), (1.5, 3.0), (-2.0, -0.5), (3.0, 6.0), (-0.9, -0.1), (6.0, 12.0),
                 (-6.0, -2.0), (15.0, 40.0), (150.0, 400.0)]


def choose_domains(expression, variables) -> Domains:
    """Samplers under which the function is finite and real at random points (so its checks are meaningful).

    Matrices inside an inverse, det or log det are symmetric positive definite; scalars are tried in a few
    ranges in turn (0.5…2 first, then 0.1…0.9 for log(1 − x), ...)."""
    matrices = {n.name: n for n in sp.preorder_traversal(expression) if isinstance(n, sp.MatrixSymbol)}
    scalars = {s.name for s in _scalars(expression)}
    scalars |= {v.name for v in variables if isinstance(v, sp.Symbol)}
    special = _in_inverse_or_det(expression)
    attempts = []
    for low, high in SCALAR_RANGES:
        samplers = {name: _interval(low, high) for name in scalars}
        attempts.append({**samplers, **{name: spd for name in special}})
    attempts.append({**{name: _interval(0.5, 2.0) for name in scalars},
                     **{name: _spd_or(positive) for name in matrices}})
    rng = np.random.default_rng(2024)
    problems = []
    for samplers in attempts:
        domains = Domains(samplers)
        problem = _problem_at_random_points(expression, domains, rng)
        if problem is None:
            return domains
        problems.append(problem)
    return _Unverifiable(attempts[0], f"cannot check the steps: {unicode(expression)} {problems[0]} at the random "
                         "points tried (several ranges of values), so no step could be verified")


@dataclass(frozen=True)
class _Unverifiable(Domains):
    """The samplers to try when no range made the function real and finite, and what went wrong."""

    problem: str = ""


def _problem_at_random_points(expression, domains, rng, points: int = 4) -> Optional[str]:
    """None when the expression is real and finite at random points, else what went wrong."""
    try:
        with np.errstate(all="ignore"):
            for _ in range(points):
                env = domains.sample([expression], rng)
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


# ---------------------------------------------------------------------------------------------------
# Dispatch
# ---------------------------------------------------------------------------------------------------
def _has_matrices(expr) -> bool:
    return any(isinstance(n, (sp.MatrixSymbol, sp.OneMatrix, sp.Identity, sp.ZeroMatrix)) or
               getattr(n, "is_Matrix", False) and not isinstance(n, sp.MatrixBase)
               for n in sp.preorder_traversal(expr))


def _dispatch(D: DiffDerivation, f, variables, order: int) -> None:
    matrix_variable = variables[0] if isinstance(variables[0], sp.MatrixSymbol) else None
    if isinstance(f, sp.MatrixBase):
        if 1 not in f.shape:
            raise NotSupported(f"the derivative of the {f.shape[0]}×{f.shape[1]} matrix of functions {unicode(f)}: "
                               "derive differentiates scalar functions and vectors of them")
        f = sp.ImmutableMatrix(list(f))
        D.expression = f
        if matrix_variable is not None:
            raise NotSupported("a list of scalar functions is differentiated with respect to scalar variables, "
                               f"not the {_shape(matrix_variable)} matrix {matrix_variable.name}")
        if any(_has_matrices(e) for e in f):
            raise NotSupported("the entries of a list of functions must be scalar expressions")
        if order != 1:
            raise NotSupported("second derivatives of a vector-valued function are a third-order tensor; "
                               "derive gives its Jacobian (order 1)")
        return _scalar_jacobian(D, f, variables)
    if f.is_Matrix and f.shape != (1, 1):
        if matrix_variable is None or matrix_variable.cols != 1 or f.cols != 1:
            raise NotSupported(f"the derivative of the {_shape(f)} matrix expression {unicode(f)} with respect to "
                               f"{', '.join(unicode(v) for v in variables)}: derive differentiates scalar "
                               "functions, and column vectors with respect to a column vector (the Jacobian)")
        if order != 1:
            raise NotSupported("second derivatives of a vector-valued function are a third-order tensor; "
                               "derive gives its Jacobian (order 1)")
        return _matrix_jacobian(D, f, matrix_variable)
    if matrix_variable is not None:
        if matrix_variable.cols != 1 and order == 2:
            raise NotSupported(f"the second derivative with respect to the {_shape(matrix_variable)} matrix "
                               f"{matrix_variable.name} is a fourth-order tensor; derive gives Hessians with "
                               "respect to column vectors (order 2) and gradients with respect to matrices (order 1)")
        if matrix_variable.rows == 1 and matrix_variable.cols != 1:
            raise NotSupported(f"{matrix_variable.name} is a row vector: differentiate with respect to a column "
                               "vector (declare it as n×1)")
        return _matrix_gradient(D, f, matrix_variable, order)
    if _has_matrices(f):
        raise NotSupported("the derivative of a matrix expression with respect to the scalar "
                           f"{', '.join(unicode(v) for v in variables)} is not supported; differentiate with "
                           "respect to a vector or matrix, or write the function in scalars")
    if len(variables) == 1:
        return _scalar_derivative(D, f, variables[0], order)
    return _scalar_gradient(D, f, variables, order)


def _shape(e) -> str:
    return f"{unicode(e.shape[0])}×{unicode(e.shape[1])}"


# ---------------------------------------------------------------------------------------------------
# Scalars: the rules of derive.rules, one partial derivative at a time
# ---------------------------------------------------------------------------------------------------
def _scalar_derivative(D, f, x, order):
    D.form = "scalar"
    first = leibniz_derivative(D, f, x, variables=_scalars(f))
    D.results["derivative"] = first
    if order == 2:
        D.section("The second derivative")
        start = sp.Derivative(first, x)
        lhs = sp.Derivative(f, (x, 2))
        D.results["second derivative"] = leibniz_derivative(D, first, x, lhs=lhs, start=start,
                                                            variables=_scalars(f))


def _scalars(f) -> tuple:
    """The real scalar symbols of f (not sizes, subscripts or the names of indexed arrays)."""
    labels = {b.label for b in f.atoms(sp.IndexedBase)}
    return tuple(sorted((s for s in f.free_symbols if isinstance(s, sp.Symbol) and not s.is_integer
                         and s not in labels), key=str))


def _partials(D, f, variables):
    """∂f/∂xᵢ for each variable, each its own section; returns the list."""
    partials = []
    for v in variables:
        held = [unicode(w) for w in variables if w != v]
        heading = f"∂/∂{unicode(v)}" + (f", holding {', '.join(held)} fixed" if held else "")
        D.section(heading)
        partials.append(leibniz_derivative(D, f, v, variables=tuple(variables) + _scalars(f)))
    return partials


def _scalar_gradient(D, f, variables, order):
    D.form = "scalar"
    partials = _partials(D, f, variables)
    grad = sp.ImmutableMatrix(partials)
    names = ", ".join(unicode(v) for v in variables)
    D.section("The gradient")
    D.step("stack the partial derivatives", f"The gradient is the column of partial derivatives with respect to "
           f"{names}.", f, grad, check=GradientOf(variables), lhs=Notation("∇f", r"\nabla f"))
    D.results["gradient"] = grad
    if order == 2:
        k = len(variables)
        H = [[None] * k for _ in range(k)]
        for i, vi in enumerate(variables):
            for j in range(i, k):
                vj = variables[j]
                D.section(f"∂²f/∂{unicode(vi)}²" if i == j else f"∂²f/∂{unicode(vj)}∂{unicode(vi)}")
                lhs = sp.Derivative(f, vi, vj)
                H[i][j] = H[j][i] = leibniz_derivative(D, partials[i], vj, lhs=lhs,
                                                       start=sp.Derivative(partials[i], vj),
                                                       variables=tuple(variables) + _scalars(f))
        hessian = sp.ImmutableMatrix(H)
        D.section("The Hessian")
        D.step("the matrix of second partial derivatives", "Entry (i, j) is ∂²f/∂xᵢ∂xⱼ; the mixed partials agree "
               "(Schwarz's theorem), so the Hessian is symmetric and each pair is derived once.",
               grad, hessian, check=JacobianOf(variables), lhs=Notation("∇²f", r"\nabla^{2} f"))
        D.results["hessian"] = hessian


def _scalar_jacobian(D, g, variables):
    D.form = "scalar"
    rows = []
    for r, component in enumerate(g):
        row = []
        for v in variables:
            D.section(f"∂g{_subscript(r + 1)}/∂{unicode(v)}")
            row.append(leibniz_derivative(D, component, v, variables=tuple(variables) + _scalars(g)))
        rows.append(row)
    J = sp.ImmutableMatrix(rows)
    D.section("The Jacobian")
    D.step("stack the partial derivatives", "Row i of the Jacobian holds the partial derivatives of gᵢ, one column "
           "per variable: dg = J dx.", g, J, check=JacobianOf(variables), lhs=Notation("J", "J"))
    D.results["jacobian"] = J


def _subscript(k: int) -> str:
    return str(k).translate(str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉"))


class GradientOf(Check):
    """after = (∂before/∂x₁, …, ∂before/∂xₖ): ⟨after, u⟩ = d/dt before(x + t·u) for a random direction u."""

    def __init__(self, variables):
        super().__init__()
        self.variables = tuple(variables)

    def symbols(self, before, after):
        return [before, after, *self.variables]

    def _direction(self, env):
        return np.random.default_rng(len(env)).standard_normal(len(self.variables))

    def values(self, before, after, env):
        u = self._direction(env)
        along = {v.name: u[k] for k, v in enumerate(self.variables)}
        return (np.sum(np.real(np.asarray(evaluate(after, env))).ravel() * u),
                directional_derivative(before, env, along))


class JacobianOf(GradientOf):
    """after = ∂before/∂(x₁, …, xₖ), one row per entry of before: after·u = d/dt before(x + t·u)."""

    def values(self, before, after, env):
        u = self._direction(env)
        along = {v.name: u[k] for k, v in enumerate(self.variables)}
        return (np.real(np.asarray(evaluate(after, env))) @ u,
                np.ravel(directional_derivative(before, env, along)))


# ---------------------------------------------------------------------------------------------------
# Vectors and matrices: differentials (derive.calculus), then the textbook form
# ---------------------------------------------------------------------------------------------------
def _labels(v):
    name, tex = unicode(v), latex(v)
    if v.cols == 1:
        return (Notation(f"∇_{name} f", r"\nabla_{%s} f" % tex),
                Notation(f"∇²_{name} f", r"\nabla^{2}_{%s} f" % tex))
    return Notation(f"∂f/∂{name}", r"\frac{\partial f}{\partial %s}" % tex), None


def _matrix_gradient(D, f, v, order):
    F = Notation("f", "f")
    D.section("The function")
    D.step("definition", "The function to differentiate.", f, f, lhs=F)
    f = recognise_special_functions(D, f, F)
    D.section("The gradient")
    grad_label, hess_label = _labels(v)
    if not f.has(v):
        G = D.step("constant rule", f"f does not depend on {unicode(v)}: its gradient is zero.", f,
                   sp.ZeroMatrix(*v.shape), check=_IsGradientIn(v), lhs=grad_label)
    else:
        G = gradient(D, f, v, lhs=F, result_lhs=grad_label)
        G = textbook_form(D, G, grad_label)
    D.results["gradient"] = G
    D.notes.append(f"Denominator layout: the gradient has the shape of the variable ({unicode(v)} is "
                   f"{_shape(v)}, and so is ∂f/∂{unicode(v)}).")
    if order == 2:
        D.section("The Hessian")
        H = _jacobian_of(D, G, v, grad_label, hess_label)
        D.results["hessian"] = H
        name = unicode(v)
        D.notes.append(f"The Hessian is ∂(∇f)/∂{name}ᵀ, read off d(∇f) = H d{name}; it is symmetric, as "
                       "every Hessian of a twice continuously differentiable function is.")


def _matrix_jacobian(D, g, v):
    G = Notation("g", "g")
    D.section("The function")
    D.step("definition", "The vector-valued function to differentiate.", g, g, lhs=G)
    g = recognise_special_functions(D, g, G)
    D.section("The Jacobian")
    J = _jacobian_of(D, g, v, G, Notation(f"∂g/∂{unicode(v)}ᵀ", r"\frac{\partial g}{\partial %s^{\top}}" % latex(v)))
    D.results["jacobian"] = J
    D.notes.append(f"The Jacobian J = ∂g/∂{unicode(v)}ᵀ has one row per entry of g and one column per entry of "
                   f"{unicode(v)}: dg = J d{unicode(v)}.")


def _jacobian_of(D, g, v, lhs, result_lhs):
    if not g.has(v):
        return D.step("constant rule", f"{unicode(g)} does not depend on {unicode(v)}: its derivative is zero.",
                      g, sp.ZeroMatrix(g.rows, v.rows), check=_IsJacobianIn(v), lhs=result_lhs)
    J = jacobian(D, g, v, lhs=lhs, result_lhs=result_lhs)
    return textbook_form(D, J, result_lhs)


class _IsGradientIn(IsGradient):
    """IsGradient, with the variable sampled although `before` does not hold it (a zero gradient)."""

    def symbols(self, before, after):
        return [before, after, self.wrt]


class _IsJacobianIn(IsJacobian):
    def symbols(self, before, after):
        return [before, after, self.wrt]

    def values(self, before, after, env):
        u = np.random.default_rng(len(env)).standard_normal(np.shape(env[self.wrt.name]))
        return np.asarray(evaluate(after, env)) @ u, np.zeros((np.shape(evaluate(before, env))[0], 1))


# --- before differentiating: log(1 + eᵘ) is softplus(u) ----------------------------------------------
def recognise_special_functions(D, f, lhs):
    """Rewrite log(𝟏 + exp(u)) as softplus(u), and log σ(u), log(𝟏 − σ(u)) as −softplus(∓u), as a step."""
    rewritten = _softplus_forms(f)
    if rewritten == f:
        return f
    return D.step("recognise softplus", "log(1 + eᵘ) is softplus(u), whose derivative is σ(u); log σ(u) = "
                  "−softplus(−u) and log(1 − σ(u)) = −softplus(u). Entrywise on vectors.", f, rewritten, lhs=lhs)


def _softplus_forms(f):
    def is_one(e):
        return isinstance(e, sp.OneMatrix) or e == 1

    def match(e):
        if isinstance(e, Elementwise) and e.name == "log":
            inner = e.arg
        elif isinstance(e, sp.log):
            inner = e.args[0]
        else:
            return None
        vector = isinstance(e, Elementwise)
        terms = inner.args if isinstance(inner, (sp.MatAdd, sp.Add)) else (inner,)
        if len(terms) == 2:
            one = [t for t in terms if is_one(t)]
            rest = [t for t in terms if not is_one(t)]
            if len(one) == 1 and len(rest) == 1:
                t = rest[0]
                if isinstance(t, Elementwise) and t.name == "exp":
                    return Elementwise("softplus", t.arg)
                if isinstance(t, sp.exp) and not vector:
                    return softplus(t.args[0])
                negated = _negated(t)
                if negated is not None and isinstance(negated, Elementwise) and negated.name == "sigmoid":
                    return -Elementwise("softplus", negated.arg)              # log(1 − σ(u)) = −softplus(u)
                if negated is not None and isinstance(negated, sigmoid) and not vector:
                    return -softplus(negated.args[0])
        if isinstance(inner, Elementwise) and inner.name == "sigmoid":
            return -Elementwise("softplus", -inner.arg)                       # log σ(u) = −softplus(−u)
        if isinstance(inner, sigmoid):
            return -softplus(-inner.args[0])
        return None

    def go(e):
        if not e.args:
            return e
        found = match(e)
        if found is not None:
            return found
        args = [go(a) for a in e.args]
        if all(a is b for a, b in zip(args, e.args)):
            return e
        return _flat_product(args) if isinstance(e, sp.MatMul) else e.func(*args)

    return go(f)


def _flat_product(args):
    """The matrix product of args with nested products flattened and the numbers multiplied: −A(−B) = AB."""
    flat = []
    for a in args:
        flat.extend(a.args if isinstance(a, sp.MatMul) else [a])
    coefficient = sp.Mul(*[a for a in flat if not a.is_Matrix])
    matrices = [a for a in flat if a.is_Matrix]
    if coefficient == 1:
        return matrices[0] if len(matrices) == 1 else sp.MatMul(*matrices)
    return sp.MatMul(coefficient, *matrices)


def _negated(t):
    """u when t is −u (−1·u as a product), else None."""
    if isinstance(t, sp.MatMul):
        c, ms = t.as_coeff_matrices()
        if c == -1:
            return ms[0] if len(ms) == 1 else sp.MatMul(*ms)
    if isinstance(t, sp.Mul) and t.could_extract_minus_sign():
        return -t
    return None


# --- after differentiating: the form a person writes ---------------------------------------------------
def textbook_form(D, expr, lhs):
    """Collect terms, merge diagonal matrices and simplify entrywise expressions, each change a verified step."""
    moves = [("a 1×1 matrix equals its transpose", "uᵀ = u for a 1×1 matrix u.", untranspose_scalars),
             ("collect terms", "Take out the factors the terms share: AB + AC = A(B + C), BA + CA = (B + C)A.",
              collect_terms),
             ("diag(a)diag(b) = diag(a ⊙ b)", "Products and sums of diagonal matrices are taken entry by entry.",
              merge_diagonals),
             ("simplify entry by entry", "The vector's entries are the same scalar formula in the entries of its "
              "arguments; simplify that formula (σ(−z) = 1 − σ(z), collect factors).", simplify_entrywise)]
    canonical = canonical_sums(expr)
    if canonical != expr and D.steps and D.steps[-1].after == expr:
        # the same sum with its terms in derive's canonical order (as `derive.parse` builds it)
        D.steps[-1] = dataclasses.replace(D.steps[-1], after=canonical, verified=False).verify(len(D.steps) - 1)
        expr = canonical
    for _ in range(3):
        changed = False
        for rule_name, why, move in moves:
            try:
                with time_limit(SIMPLIFY_SECONDS, "simplifying"):
                    after = move(expr)
            except LimitExceeded:
                continue
            after = canonical_sums(order_hadamard(after))
            if after != expr:
                expr = D.step(rule_name, why, expr, after, lhs=lhs)
                changed = True
        if not changed:
            break
    return expr


def canonical_sums(expr):
    """Every matrix sum with its terms sorted as `derive.parse` sorts them, so that the text of a result
    parses back to the identical expression (the printers still show positive terms first)."""
    if not expr.args:
        return expr
    args = [canonical_sums(a) for a in expr.args]
    if isinstance(expr, sp.MatAdd):
        return sp.MatAdd(*sorted(args, key=sp.default_sort_key))
    return expr if all(a is b for a, b in zip(args, expr.args)) else expr.func(*args)


def untranspose_scalars(expr):
    """uᵀ = u wherever u is 1×1: exp(xᵀAx)ᵀ = exp(xᵀAx), xᵀAᵀx = xᵀAx (the form with fewer transposes)."""
    expr = expr.replace(lambda e: isinstance(e, sp.Transpose) and e.arg.shape == (1, 1), lambda e: e.arg)

    def fewer_transposes(m):
        flipped = transpose_shallow(m)
        return flipped if flipped.count(sp.Transpose) < m.count(sp.Transpose) else m

    return expr.replace(lambda e: isinstance(e, sp.MatMul) and e.shape == (1, 1), fewer_transposes)


def collect_terms(expr):
    """Xᵀa − Xᵀb = Xᵀ(a − b); Ax + Aᵀx + b = (A + Aᵀ)x + b; 2a − 2b = 2(a − b). Recursively inside products."""
    if isinstance(expr, sp.MatMul):
        c, ms = expr.as_coeff_matrices()
        inner = [collect_terms(m) for m in ms]
        return multiply([c] + inner, expr) if inner != list(ms) else expr
    if not isinstance(expr, sp.MatAdd):
        return expr
    whole = factor_common(expr)
    if whole != expr:
        return _numeric_factor(whole)
    for side in (-1, 0):
        groups: dict = {}
        for t in expr.args:
            _, ms = split_product(t)
            key = ms[side] if len(ms) > 1 else None
            groups.setdefault(key, []).append(t)
        if any(key is not None and len(ts) > 1 for key, ts in groups.items()):
            terms = []
            for key, ts in groups.items():
                terms.extend(ts if key is None or len(ts) == 1 else [_numeric_factor(factor_common(sp.MatAdd(*ts)))])
            return terms[0] if len(terms) == 1 else sp.MatAdd(*terms)
    return _numeric_factor(expr)


def _numeric_factor(expr):
    """2a − 2b = 2(a − b), inside products too: the common rational factor of a sum's terms in front."""
    if isinstance(expr, sp.MatMul):
        c, ms = expr.as_coeff_matrices()
        factored = [_numeric_factor(m) for m in ms]
        pulled = sp.S.One
        for k, m in enumerate(factored):
            if isinstance(m, sp.MatMul) and isinstance(ms[k], sp.MatAdd):
                mc, mms = m.as_coeff_matrices()
                pulled *= mc
                factored[k] = mms[0] if len(mms) == 1 else sp.MatMul(*mms)
        return multiply([c * pulled] + factored, expr) if factored != list(ms) or pulled != 1 else expr
    if not isinstance(expr, sp.MatAdd):
        return expr
    coefficients = [split_product(t)[0] for t in expr.args]
    if not all(c.is_Rational for c in coefficients):
        return expr
    common = sp.gcd_list([abs(c) for c in coefficients])
    if common in (0, 1):
        return expr
    return sp.MatMul(common, sp.MatAdd(*[multiply([c / common] + split_product(t)[1], t)
                                          for c, t in zip(coefficients, expr.args)]))


def merge_diagonals(expr):
    """diag(a)diag(b) = diag(a ⊙ b) and diag(a) + diag(b) = diag(a + b), everywhere in expr."""
    if not expr.args or not expr.has(DiagMatrix):
        return expr
    args = [merge_diagonals(a) for a in expr.args]
    if isinstance(expr, sp.MatMul):
        merged = []
        for a in args:
            if merged and isinstance(a, DiagMatrix) and isinstance(merged[-1], DiagMatrix):
                merged[-1] = DiagMatrix(HadamardProduct(merged[-1].args[0], a.args[0]))
            else:
                merged.append(a)
        return merged[0] if len(merged) == 1 else sp.MatMul(*merged)
    if isinstance(expr, sp.MatAdd):
        diagonal = [a for a in args if _diag_term(a) is not None]
        if len(diagonal) > 1:
            others = [a for a in args if _diag_term(a) is None]
            combined = DiagMatrix(sp.MatAdd(*[_diag_term(a) for a in diagonal]))
            return combined if not others else sp.MatAdd(combined, *others)
    return expr.func(*args)


def _diag_term(term):
    """a for diag(a), c·a for c·diag(a) (c a number), else None."""
    if isinstance(term, DiagMatrix):
        return term.args[0]
    if isinstance(term, sp.MatMul):
        c, ms = term.as_coeff_matrices()
        if len(ms) == 1 and isinstance(ms[0], DiagMatrix):
            return sp.MatMul(c, ms[0].args[0])
    return None


def order_hadamard(expr):
    """σ(u) ⊙ (𝟏 − σ(u)) rather than (𝟏 − σ(u)) ⊙ σ(u): plain applications first, as textbooks write them."""
    if not expr.args or not expr.has(HadamardProduct):
        return expr
    args = [order_hadamard(a) for a in expr.args]
    if isinstance(expr, HadamardProduct):
        ordered = sorted(args, key=lambda a: isinstance(a, sp.MatAdd))
        return HadamardProduct(*ordered)
    return expr if all(a is b for a, b in zip(args, expr.args)) else expr.func(*args)


# Entrywise algebra: a vector built with ⊙, entrywise functions and sums is one scalar formula per entry.
_ENTRYWISE = (HadamardProduct, HadamardPower, Elementwise)


def simplify_entrywise(expr):
    """Simplify every entrywise sub-expression through its scalar formula (σ(−u) = 𝟏 − σ(u), factor)."""
    if not getattr(expr, "is_Matrix", False) or not expr.has(*_ENTRYWISE):
        if expr.args and expr.has(*_ENTRYWISE):
            args = [simplify_entrywise(a) for a in expr.args]
            return expr if all(a is b for a, b in zip(args, expr.args)) else expr.func(*args)
        return expr
    if _is_entrywise(expr):
        atoms: dict = {}
        try:
            scalar = _lower(expr, atoms)
        except ValueError:
            return expr
        better = _simplest_scalar(scalar)
        if better == scalar:
            return expr
        lifted = _lift(better, {v: k for k, v in atoms.items()}, expr.shape)
        if lifted is None or sp.count_ops(better) >= sp.count_ops(scalar):
            return expr
        return lifted
    args = [simplify_entrywise(a) for a in expr.args]
    return expr if all(a is b for a, b in zip(args, expr.args)) else expr.func(*args)


def _is_entrywise(expr) -> bool:
    if isinstance(expr, _ENTRYWISE):
        return True
    if isinstance(expr, sp.MatAdd):
        return any(_is_entrywise(a) for a in expr.args) and expr.has(*_ENTRYWISE)
    if isinstance(expr, sp.MatMul):
        c, ms = expr.as_coeff_matrices()
        return len(ms) == 1 and _is_entrywise(ms[0])
    return False


def _lower(expr, atoms: dict):
    """The scalar formula of one entry; matrix leaves (x, Xβ, ...) become scalar symbols."""
    if isinstance(expr, sp.OneMatrix):
        return sp.S.One
    if isinstance(expr, sp.ZeroMatrix):
        return sp.S.Zero
    if isinstance(expr, sp.MatAdd):
        return sp.Add(*[_lower(a, atoms) for a in expr.args])
    if isinstance(expr, HadamardProduct):
        return sp.Mul(*[_lower(a, atoms) for a in expr.args])
    if isinstance(expr, HadamardPower):
        return _lower(expr.base, atoms) ** expr.exp
    if isinstance(expr, Elementwise):
        return expr.function(_lower(expr.arg, atoms))
    if isinstance(expr, sp.MatMul):
        c, ms = expr.as_coeff_matrices()
        if c != 1:
            return c * _lower(ms[0] if len(ms) == 1 else sp.MatMul(*ms), atoms)
    if not expr.is_Matrix:
        raise ValueError("not an entrywise expression")
    if expr not in atoms:
        atoms[expr] = sp.Dummy(f"u{len(atoms)}", real=True)
    return atoms[expr]


def _sigmoid_of_negative(e):
    """σ(−z) = 1 − σ(z)."""
    return e.replace(lambda t: isinstance(t, sigmoid) and t.args[0].could_extract_minus_sign(),
                     lambda t: 1 - sigmoid(-t.args[0]))


def _simplest_scalar(scalar):
    candidates = [scalar]
    rewritten = _sigmoid_of_negative(scalar)
    for base in {scalar, rewritten}:
        candidates.append(base)
        for transform in (sp.expand, sp.factor):
            try:
                candidates.append(transform(base))
            except (sp.PolynomialError, TypeError, ValueError):
                pass
    return min(candidates, key=lambda e: (sp.count_ops(e), len(str(e))))


def _lift(e, atoms: dict, shape):
    """The scalar formula back as a vector expression: symbols → their matrices, · → ⊙, f → entrywise f."""
    ones = sp.OneMatrix(*shape)

    def go(t):
        if t in atoms:
            return atoms[t]
        if not t.has(*atoms):
            return ones if t == 1 else sp.MatMul(t, ones)
        if isinstance(t, sp.Add):
            return sp.MatAdd(*[go(a) for a in t.args])
        if isinstance(t, sp.Mul):
            coefficient, rest = t.as_independent(*atoms, as_Add=False)
            factors = sorted((go(a) for a in sp.Mul.make_args(rest)), key=lambda f: isinstance(f, sp.MatAdd))
            product = factors[0] if len(factors) == 1 else HadamardProduct(*factors)
            return product if coefficient == 1 else sp.MatMul(coefficient, product)
        if isinstance(t, sp.Pow) and not t.exp.has(*atoms):
            return HadamardPower(go(t.base), t.exp)
        if isinstance(t, sp.Function) and len(t.args) == 1 and type(t) in FUNCTION_NAMES:
            return Elementwise(FUNCTION_NAMES[type(t)], go(t.args[0]))
        raise ValueError(f"cannot write {t} entrywise")

    try:
        return go(e)
    except ValueError:
        return None


# ---------------------------------------------------------------------------------------------------
# Components: the matrix-form result written out for explicit sizes
# ---------------------------------------------------------------------------------------------------
def write_components(D: DiffDerivation, variables, dim) -> None:
    """Replace each vector/matrix result by its explicit entries for the sizes `dim` (a verified step each)."""
    if not isinstance(variables[0], sp.MatrixSymbol):
        return  # scalar derivatives are already written in components
    if dim is None:
        raise NotSupported("form='components' needs the sizes: dim=50 or dim={'d': 50}")
    dimensions = sorted(_dimension_symbols(D.expression) | _dimension_symbols(variables[0]), key=str)
    sizes = {}
    for s in dimensions:
        value = dim.get(s.name) if isinstance(dim, Mapping) else dim
        if value is None:
            raise NotSupported(f"form='components' needs a size for {s.name}: dim={{'{s.name}': ...}}")
        if not isinstance(value, (int, np.integer)) or not 1 <= int(value) <= 200:
            raise NotSupported(f"the size of {s.name} must be a whole number from 1 to 200, not {value!r}")
        sizes[s] = int(value)
    matrices = {n for n in sp.preorder_traversal(D.expression) if isinstance(n, sp.MatrixSymbol)} | {variables[0]}
    explicit = {M: _explicit(M, sizes) for M in matrices}
    fixed = Domains({**D.domains.samplers, **{s.name: (lambda k: lambda rng, shape: k)(k) for s, k in sizes.items()}})
    D.section("Components (" + ", ".join(f"{s.name} = {k}" for s, k in sizes.items()) + ")")
    for name in [q for q in D.results if q in ("gradient", "hessian", "jacobian")]:
        matrix_form = D.results[name]
        written = _expand(matrix_form, explicit, sizes)
        step = Step("write out the components", f"Put the entries of {', '.join(sorted(M.name for M in matrices))} "
                    f"into the {name} and multiply out: entry by entry, as one would check by hand.",
                    matrix_form, written, lhs=Notation(name, r"\text{%s}" % name),
                    check=ComponentsOf(explicit), domains=fixed).verify(seed=len(D.steps))
        D.steps.append(step)
        D.results[name] = written
    D.form = "components"


def _explicit(M, sizes):
    rows, cols = (int(sp.sympify(k).xreplace(sizes)) for k in M.shape)
    if cols == 1:
        return sp.ImmutableMatrix([[sp.Symbol(f"{M.name}_{i}")] for i in range(rows)])
    sep = "" if rows <= 10 and cols <= 10 else "_"
    return sp.ImmutableMatrix([[sp.Symbol(f"{M.name}_{i}{sep}{j}") for j in range(cols)] for i in range(rows)])


def _expand(expr, explicit, sizes):
    """expr with explicit matrices put in, multiplied out node by node (shared sub-results computed once)."""
    memo: dict = {}

    def go(e):
        if e in memo:
            return memo[e]
        memo[e] = value = _explicit_node(e, go, explicit, sizes)
        return value

    value = go(expr)
    return sp.ImmutableMatrix(value) if isinstance(value, sp.MatrixBase) else value


def _explicit_node(e, go, explicit, sizes):
    if isinstance(e, sp.MatrixSymbol):
        return explicit[e]
    if not e.args:
        return e.xreplace(sizes)
    shape = tuple(int(sp.sympify(k).xreplace(sizes)) for k in e.shape) if e.is_Matrix else None
    if isinstance(e, sp.OneMatrix):
        return sp.ones(*shape)
    if isinstance(e, sp.ZeroMatrix):
        return sp.zeros(*shape)
    if isinstance(e, sp.Identity):
        return sp.eye(shape[0])
    if isinstance(e, sp.MatAdd):
        total = go(e.args[0])
        for a in e.args[1:]:
            total = total + go(a)
        return total
    if isinstance(e, sp.MatMul):
        scalar, product = sp.S.One, None
        for a in e.args:
            value = go(a)
            if isinstance(value, sp.MatrixBase):
                product = value if product is None else product * value
            else:
                scalar = scalar * value
        return product if scalar == 1 else product.applyfunc(lambda t: scalar * t)
    if isinstance(e, sp.Transpose):
        return go(e.arg).T
    if isinstance(e, sp.Inverse):
        return go(e.arg).inv()
    if isinstance(e, HadamardProduct):
        total = go(e.args[0])
        for a in e.args[1:]:
            total = total.multiply_elementwise(go(a))
        return total
    if isinstance(e, HadamardPower):
        k = go(e.exp)
        return go(e.base).applyfunc(lambda t: t ** k)
    if isinstance(e, Elementwise):
        return go(e.arg).applyfunc(e.function)
    if isinstance(e, DiagMatrix):
        return sp.diag(*list(go(e.args[0])))
    if isinstance(e, sp.Trace):
        return go(e.arg).trace()
    if isinstance(e, sp.Determinant):
        return go(e.arg).det()
    if isinstance(e, sp.MatPow):
        return go(e.base) ** int(go(e.exp))
    if e.is_Matrix:
        raise NotSupported(f"cannot write {unicode(e)} out in components")
    args = [go(a) for a in e.args]
    if any(isinstance(a, sp.MatrixBase) for a in args):   # a 1×1 matrix inside a scalar formula
        args = [a[0, 0] if isinstance(a, sp.MatrixBase) and a.shape == (1, 1) else a for a in args]
    return e.func(*args)


class ComponentsOf(Check):
    """after is before written out entry by entry: the same numbers, at random entries (checked spot-wise,
    since a written-out 50×50 Hessian has thousands of entries)."""

    def __init__(self, explicit):
        super().__init__()
        self.explicit = explicit

    def symbols(self, before, after):
        return [before]

    def values(self, before, after, env):
        filled = dict(env)
        for M, entries in self.explicit.items():
            values = np.atleast_2d(np.asarray(env[M.name], dtype=float))
            for (i, j), s in np.ndenumerate(np.array(entries.tolist(), dtype=object)):
                filled[s.name] = float(values[i, j])
        left = np.atleast_2d(np.asarray(evaluate(before, env)))
        if not isinstance(after, sp.MatrixBase):
            return left.ravel(), np.ravel(evaluate(after, filled))
        rng = np.random.default_rng(len(env))
        picks = [tuple(int(rng.integers(0, k)) for k in after.shape) for _ in range(COMPONENT_CHECKS)]
        return (np.array([left[i, j] for i, j in picks]),
                np.array([evaluate(after[i, j], filled) for i, j in picks]))
