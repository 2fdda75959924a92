"""`derive.diff`: the derivative of any expression, step by step, every step verified.

    >>> import derive
    >>> r = derive.diff("x'*A*x", wrt="x", shapes={"x": ("n", 1), "A": ("n", "n")})
    >>> derive.expr.printing.unicode(r.result)
    '(A + Aᵀ)x'
    >>> derive.expr.printing.unicode(derive.diff("sin(x^2)", wrt="x").result)
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

Scalar rules are `derive.calculus.scalar_rules` (Leibniz style, one partial derivative at a time); differentials are
`derive.calculus.differentials` (df = gᵀdx, then the textbook form of `derive.calculus.textbook_form`).

Input is a string in `derive`'s grammar (`derive.parse`), a SymPy expression, or a plain Python function
(`derive.parse.python_input`). Anything outside the rules raises `NotSupported` naming the sub-expression; a
derivative that fails its numerical check raises `VerificationError`: a wrong derivative is never returned.
The checks' random points are drawn where the function is defined (`derive.core.where_defined`).
Every symbolic operation runs under a time limit.

`form="components"` derives in matrix form and then writes the result out entry by entry for explicit
sizes (`dim`, `derive.calculus.components`), which is much faster than differentiating the written-out function
entry by entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Union

import numpy as np
import sympy as sp

from derive.calculus.components import dimension_symbols, write_components
from derive.calculus.differentials import gradient, jacobian
from derive.calculus.matrix_hessian import matrix_hessian
from derive.calculus.scalar_rules import EqualIn, leibniz_derivative
from derive.calculus.textbook_form import recognise_special_functions, textbook_form
from derive.core.limits import time_limit
from derive.core.numeval import directional_derivative, evaluate
from derive.core.steps import Check, Derivation, DerivativeIs
from derive.core.where_defined import Unverifiable, choose_domains, real_scalars
from derive.errors import DeriveError, LimitExceeded, NotSupported, VerificationError
from derive.expr.notation import Notation
from derive.expr.printing import latex, unicode
from derive.expr.symbols import evaluable

DIFF_SECONDS = 15.0        # wall-clock budget for one whole derivation (parsing has its own, shorter one)

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
    for `derive.parse` (``{"x": ("n", 1), "A": ("n", "n")}``, or the command line's text ``"x:n, A:nxn"``;
    undeclared names are scalars). `order`: 1, or
    2 for the second derivative / Hessian. `form="components"` with `dim` (a size for every dimension, or
    ``{"d": 50}``) writes a vector/matrix result out entry by entry.

    `result` is the last derivative derived; `results` holds each one by name (``derivative``,
    ``second derivative``, ``gradient``, ``hessian``, ``jacobian``).
    """
    if order not in (1, 2):
        raise NotSupported(f"order {order} is not supported: derive takes first (1) and second (2) derivatives")
    if form not in ("matrix", "components"):
        raise NotSupported(f"no form {form!r} for derive diff (forms: matrix, components)")
    if isinstance(shapes, str):  # the command line's --shapes text, "x:n, A:nxn"
        from derive.parse import parse_shapes
        shapes = parse_shapes(shapes)
    with time_limit(DIFF_SECONDS, "differentiating"):
        expression, source = _read(expr, shapes, symbols)
        variables = _variables(wrt, expression, shapes, symbols)
        expression = _sized_indexed(expression)
        D = DiffDerivation(_title(expression, variables), form="matrix", expression=expression,
                           wrt=tuple(variables), domains=choose_domains(expression, variables))
        for variable in variables:
            if not expression.has(variable):
                D.notes.append(f"{unicode(variable)} does not appear in {unicode(expression)}, so every "
                               "derivative with respect to it is 0.")
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
            if isinstance(D.domains, Unverifiable) and not isinstance(error, (NotSupported, LimitExceeded)):
                raise NotSupported(D.domains.problem) from None
            raise
        if form == "components":
            write_components(D, variables, dim)
        D.results = {quantity: evaluable(result) for quantity, result in D.results.items()}
        return D


def diff_json(derivation: DiffDerivation) -> dict:
    """The JSON of `derive diff --json`: expression, wrt, result, steps."""
    from derive.parse import reading
    from derive.render.formats import expression_dict, step_dict
    return {
        "expression": expression_dict(derivation.expression),
        "read_as": reading(derivation.expression),
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
        from derive.parse.python_input import trace_function
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
    from derive.errors import ParseError
    from derive.parse import parse, parse_equation
    try:
        # a named left side (\hat\beta = ..., \nabla L = ...) is a name: the right side is differentiated
        equation = parse_equation(text, shapes, symbols=symbols)
        if len(equation.sides) != 1 or equation.continued:
            raise ParseError(f'"{text}" is an equation: give the one expression to differentiate')
        return equation.sides[0]
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
    dimensions = {s.name for s in dimension_symbols(expression)}
    found = []
    for w in wanted:
        declared = w if isinstance(w, (sp.Symbol, sp.MatrixSymbol)) else _variable_name(str(w), shapes, symbols)
        name = declared.name
        if name in dimensions:
            raise NotSupported(f"{name} is a dimension (a size), not a variable one can differentiate by")
        # absent from the expression: the derivative is zero (by the constant rule), unless the name is
        # probably a slip: x² has no X, and a derivative 0 with respect to X would hide the typo
        similar = [other for other in present if other != name and other.lower() == name.lower()]
        if name not in present and similar:
            raise NotSupported(f"{unicode(declared)} does not appear in {unicode(expression)}; names are "
                               f"case-sensitive: did you mean {similar[0]}?")
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
    from derive.parse import parse
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


def _title(expression, variables) -> str:
    names = ", ".join(unicode(v) for v in variables)
    text = unicode(expression)
    if len(text) > 60:
        text = text[:57] + "…"
    return f"Derivative of {text} with respect to {names}"


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
        if matrix_variable.rows == 1 and matrix_variable.cols != 1:
            raise NotSupported(f"{matrix_variable.name} is a row vector: differentiate with respect to a column "
                               "vector (declare it as n×1)")
        return _matrix_gradient(D, f, matrix_variable, order)
    if _has_matrices(f):
        if len(variables) != 1:
            raise NotSupported("a scalar function of matrices is differentiated with respect to one scalar at a "
                               f"time, not {', '.join(unicode(v) for v in variables)} together")
        return _scalar_in_matrices(D, f, variables[0], order)
    if len(variables) == 1:
        return _scalar_derivative(D, f, variables[0], order)
    return _scalar_gradient(D, f, variables, order)


def _shape(e) -> str:
    return f"{unicode(e.shape[0])}×{unicode(e.shape[1])}"


# ---------------------------------------------------------------------------------------------------
# Scalars: the rules of derive.calculus.scalar_rules, one partial derivative at a time
# ---------------------------------------------------------------------------------------------------
def _scalar_derivative(D, f, x, order):
    D.form = "scalar"
    first = leibniz_derivative(D, f, x, variables=real_scalars(f))
    D.results["derivative"] = first
    if order == 2:
        D.section("The second derivative")
        start = sp.Derivative(first, x)
        lhs = sp.Derivative(f, (x, 2))
        D.results["second derivative"] = leibniz_derivative(D, first, x, lhs=lhs, start=start,
                                                            variables=real_scalars(f))


def _partials(D, f, variables):
    """∂f/∂xᵢ for each variable, each its own section; returns the list."""
    partials = []
    for v in variables:
        held = [unicode(w) for w in variables if w != v]
        heading = f"∂/∂{unicode(v)}" + (f", holding {', '.join(held)} fixed" if held else "")
        D.section(heading)
        partials.append(leibniz_derivative(D, f, v, variables=tuple(variables) + real_scalars(f)))
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
                                                       variables=tuple(variables) + real_scalars(f))
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
            row.append(leibniz_derivative(D, component, v, variables=tuple(variables) + real_scalars(g)))
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
# Vectors and matrices: differentials (derive.calculus.differentials), then the textbook form
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
                   sp.ZeroMatrix(*v.shape), check=DerivativeIs(v), lhs=grad_label)
    else:
        G = gradient(D, f, v, lhs=F, result_lhs=grad_label)
        G = textbook_form(D, G, grad_label)
    D.results["gradient"] = G
    D.notes.append(f"Denominator layout: the gradient has the shape of the variable ({unicode(v)} is "
                   f"{_shape(v)}, and so is ∂f/∂{unicode(v)}).")
    if order == 2 and v.cols != 1:
        D.section("The Hessian (vec form)")
        hessian_label = Notation(f"∂²f/∂vec({unicode(v)})∂vec({unicode(v)})ᵀ",
                                 r"\frac{\partial^{2} f}{\partial \operatorname{vec}(%s) \partial \operatorname{vec}(%s)^{\top}}"
                                 % (latex(v), latex(v)))
        D.results["hessian"] = textbook_form(D, matrix_hessian(D, G, v, grad_label, hessian_label), hessian_label)
        name = unicode(v)
        D.notes.append(f"The Hessian with respect to the {_shape(v)} matrix {name} is the matrix H with "
                       f"d vec(∂f/∂{name}) = H d vec({name}), vec stacking the columns; ⊗ is the Kronecker product "
                       "and K the commutation matrix (K vec(A) = vec(Aᵀ)).")
    elif order == 2:
        D.section("The Hessian")
        H = _jacobian_of(D, G, v, grad_label, hess_label)
        D.results["hessian"] = H
        name = unicode(v)
        D.notes.append(f"The Hessian is ∂(∇f)/∂{name}ᵀ, read off d(∇f) = H d{name}; it is symmetric, as "
                       "every Hessian of a twice continuously differentiable function is.")


def _scalar_in_matrices(D, f, v, order):
    """d f/d s for a scalar s inside a matrix expression (−(n/2)log s² − ‖y − Xβ‖²/(2s²) in s²), by
    differentials: df = f′ ds, read off the coefficient of ds; the second derivative the same way."""
    F = Notation("f", "f")
    D.section("The function")
    D.step("definition", "The function to differentiate.", f, f, lhs=F)
    name = unicode(v)
    first = Notation(f"df/d{name}", r"\frac{df}{d%s}" % latex(v))
    D.section("The derivative")
    if not f.has(v):
        derivative = D.step("constant rule", f"f does not depend on {name}: its derivative is 0.",
                            sp.Derivative(f, v), sp.S.Zero, lhs=first, check=EqualIn((v,)))
    else:
        derivative = textbook_form(D, gradient(D, f, v, lhs=F, result_lhs=first), first)
    D.results["derivative"] = derivative
    if order == 2 and derivative == 0:
        D.results["second derivative"] = sp.S.Zero
    elif order == 2:
        D.section("The second derivative")
        second = Notation(f"d²f/d{name}²", r"\frac{d^{2}f}{d%s^{2}}" % latex(v))
        D.results["second derivative"] = textbook_form(D, gradient(D, derivative, v, lhs=first, result_lhs=second),
                                                       second)


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
                      g, sp.ZeroMatrix(g.rows, v.rows), check=DerivativeIs(v, "jacobian"), lhs=result_lhs)
    J = jacobian(D, g, v, lhs=lhs, result_lhs=result_lhs)
    return textbook_form(D, J, result_lhs)
