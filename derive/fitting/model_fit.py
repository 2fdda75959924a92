"""Fitting any model from its derived results (DESIGN §8): a model file, a `Model`, or a built-in the planner
derives (wls, gaussian-linear, exponential).

What the data are: the model's n×d matrix is the design matrix X; the observed n-vector of the likelihood
(a loss's one vector) is the target y, and an iid sample may be given as X alone; any other n-vector (an
offset o in exp(x_i' beta + o_i)) comes from `values={"o": array}` or, when it is the only one, from
`offset=`/`--offset COL` (`exposure=` adds its log); an n×n matrix is diag(weights) (`--weights COL`); known
scalars come from `values` (the file's, overridden by `fit(..., values=)` / `--set lam=0.5`).

How it is fitted, from the planner's results:
- every parameter has a closed form: the closed forms, in the order they were solved (σ̂² after β̂),
  through generated code (solve, never an explicit inverse); a least-squares form (AᵀSA + κI)⁻¹AᵀSb by the
  least-squares methods (exact, QR, Cholesky), and a later c·(b − Aβ̂)ᵀS(b − Aβ̂) (σ̂² = RSS/n) with that
  fit's residual sum of squares rather than from residuals in floating point;
- otherwise Newton on all the parameters at once (one vector, or several scalars such as a Gamma's shape
  and rate, with the derived joint Hessian, mixed second derivatives and all): the step solves HΔ = −g
  (Cholesky), is halved while the loss does not decrease or a positive parameter would leave (0, ∞), and stops when the Newton decrement √(gᵀH⁻¹g) is below `tol`; a Bernoulli
  likelihood is checked for separated classes (which have no maximum).
Standard errors, for a likelihood, are √diag(H⁻¹) of the negative log-likelihood's Hessian at the estimate
(the observed information; σ̂² the MLE for the Gaussian linear model). Where the derived Hessian overflows
in a form the generated code has no stable spelling for (the probit's has one: `fitting.stable_quotients`),
central differences of the derived gradient stand in for it, with a note. The
log-likelihood includes the constant the derivation dropped (Σᵢ log yᵢ! of a Poisson).
A model the planner derives only in part (a non-differentiable loss) is refused with where it stopped.
"""
from __future__ import annotations

import functools

import numpy as np
import sympy as sp

from derive.derivations import Model, resolve
from derive.derivations.planner import plan, softmax_blocks
from derive.derivations.vector_form import Scalar
from derive.errors import DataError, DeriveError, NotSupported, VerificationError
from derive.expr.printing import unicode
from derive.fitting.codegen import lambdify
from derive.fitting.result import FitResult
from derive.fitting.separation import check_separation
from derive.fitting.softmax_fitting import fit_softmax, one_hot

MAX_HALVINGS = 40
METHODS = ("auto", "exact", "qr", "cholesky", "newton")


def fit_model(model, X, y, method: str = "auto", *, values=None, weights=None, offset=None, names=None, tol=None,
              max_iter=None, exact_data=None, progress=None) -> FitResult:
    """Fit `model` (a Model, a model file, or a planner-derived built-in) to the data (see the module)."""
    resolved = resolve(model)
    if not isinstance(resolved, Model):
        raise NotSupported(f"cannot fit {resolved!r} yet; fit supports ols, ridge, logistic, poisson and every "
                           "model the planner derives (model files; built-in: wls, gaussian-linear, probit, "
                           "exponential)")
    P = plan(resolved)
    if P.stopped:
        raise NotSupported(f"cannot fit {resolved.name}: {P.stopped}")
    blocks = softmax_blocks(P.hessians[P.parameters[0]]) if len(P.parameters) == 1 else None
    if blocks is not None and method in ("auto", "newton"):
        return _fit_softmax(resolved, P, blocks, X, y, values, names, tol, max_iter, progress)
    data, names = _bind(resolved, P, X, y, values, weights, names, offset)
    parameters = P.parameters
    if method not in METHODS:
        raise NotSupported(f"method {method!r} does not apply to {resolved.name}; use auto (the closed form when "
                           "there is one, else Newton), exact/qr/cholesky (a least-squares closed form) or newton")
    least_squares_errors, notes, sums_of_squares = {}, [], {}
    if all(P.solutions[p] is not None for p in parameters) and method != "newton":
        estimates, how, least_squares_errors, sums_of_squares = _closed_forms(P, data, method, names, exact_data)
        iterations, converged = None, True
    else:
        estimates, iterations, converged = _newton(P, data, names, tol or 1e-10, max_iter or 100, notes)
        how = "newton"
    covariances = [p for p in parameters if _is_covariance(resolved, p)]
    for p in covariances:
        _require_positive_definite(p, estimates[p], data)
    loss_expr = _with_sums_of_squares(P.derivation.results["loss"], sums_of_squares)
    loss = float(np.real(_function(P, loss_expr, _sizes(P, data))(*_arguments(P, estimates, data))))
    # a likelihood's from its Hessian; a least-squares loss's as for OLS/WLS, σ̂²(AᵀSA)⁻¹ with σ̂² = RSS/(n − d)
    errors = _standard_errors(P, estimates, data, notes) if resolved.likelihood else (least_squares_errors or None)
    reported = [p for p in parameters if p not in covariances] if len(covariances) == 1 else parameters
    coef, labels, se = _flatten(resolved, reported, estimates, names, errors, P.statement is not None and P.statement.rows)
    constant = _dropped_constant(P, data)
    is_likelihood = resolved.likelihood and not (resolved.prior or resolved.penalty)
    result = FitResult(model=resolved.name, method=how, names=labels, coef=coef, std_errors=se,
                       converged=converged, iterations=iterations, loss=loss,
                       loglike=-(loss + (constant or 0.0)) if is_likelihood else None, nobs=_observations(data),
                       loss_label=_loss_label(resolved, P, constant), notes=notes)
    if reported != parameters:   # one covariance matrix: the d×d estimate beside the coefficients
        result.covariance = np.asarray(np.real(estimates[covariances[0]]), dtype=float)
        result.notes.append(f"{resolved.name}: the estimate of {covariances[0].name} (d×d) is in .covariance "
                            "(\"covariance\" in --json); standard errors are those of the other parameters, "
                            "from their derived Hessian at the estimate")
    return result


def _is_covariance(model: Model, p) -> bool:
    """A square matrix parameter declared positive definite (Σ of xᵢ ~ N(μ, Σ))."""
    spec = model.symbol(model.parameters[model.parameter_objects().index(p)])
    return p.is_Matrix and p.rows == p.cols and p.cols != 1 and "pd" in spec.assumptions


def _require_positive_definite(p, value, data) -> None:
    """A covariance estimate must be positive definite: it is not when the observations do not span ℝᵈ
    (n ≤ d, or a column a combination of the others)."""
    try:
        np.linalg.cholesky(np.real(value))
    except np.linalg.LinAlgError:
        rows = _observations(data)
        raise DataError(f"the estimate of {p.name} is not positive definite on these data ({rows} observations in "
                        f"{np.shape(value)[0]} dimensions): it needs more observations than dimensions, and no "
                        "column a linear combination of the others") from None


def observes_rows(model) -> bool:
    """Whether `model`'s likelihood is of vector observations, the rows of a matrix (xᵢ ~ N(μ, Σ)): then its
    data are that matrix's columns as given (no intercept, no target)."""
    from derive.derivations.statement import read_statement
    resolved = resolve(model)
    if not isinstance(resolved, Model) or not resolved.likelihood:
        return False
    try:
        return read_statement(resolved.likelihood, resolved.context(), resolved.expression).rows
    except DeriveError:   # a statement derive cannot read: the fit says so, naming the model file's line
        return False


def _fit_softmax(model: Model, P, blocks, X, y, values, names, tol, max_iter, progress) -> FitResult:
    """A loss that sees its matrix parameter W through softmax(AW) (softmax regression), whose derived Hessian
    is (I ⊗ A)ᵀS(I ⊗ A): Newton on W with its last column the reference (`softmax_fitting`), from the generated
    code of the derived loss, gradient and P = softmax(AW). y is a vector of class labels of any kind, or the
    n×K rows of probabilities."""
    y = np.asarray(y)
    Y, classes = one_hot(y) if y.ndim == 1 else (y, list(range(1, y.shape[1] + 1)))
    data, names = _bind(model, P, X, Y, values, None, names)
    design = data[str(blocks[0])]
    functions, roles = softmax_code(model, design.shape[1], Y.shape[1])

    def evaluate(W):
        return functions(*[{"parameter": W, "design": design, "target": Y}[role] for role in roles])

    result = fit_softmax(evaluate, design, Y, names, classes, tol or 1e-10, max_iter or 100, progress)
    result.model, result.loss_label = model.name, _loss_label(model, P, None)
    return result


def softmax_code(model, d: int, K: int):
    """(functions, roles) for fitting softmax regression on chunks of rows of any length: the generated code of
    its derived loss, gradient and P = softmax(AW), and what each argument is ("parameter", "design",
    "target"), in order. NotSupported when the model's Hessian is not softmax regression's."""
    resolved = resolve(model)
    P = plan(resolved)
    blocks = softmax_blocks(P.hessians[P.parameters[0]]) if len(P.parameters) == 1 and not P.stopped else None
    if blocks is None:
        raise NotSupported(f"{resolved.name} is not softmax regression (a loss that sees W through softmax(XW))")
    results, (A, probabilities) = P.derivation.results, blocks
    sizes = {str(p.rows): d for p in P.parameters} | {str(p.cols): K for p in P.parameters}
    functions = _function(P, [results["loss"], results["gradient"], probabilities], sizes)
    target = _target(resolved, P, dict(resolved.values))
    roles = tuple("parameter" if s == P.parameters[0] else "design" if str(s) == str(A) else
                  "target" if str(s) == target else None for s in _argument_symbols(P))
    if None in roles:
        raise NotSupported(f"{resolved.name} has data besides its design matrix and labels: fit it in memory")
    return functions, roles


def takes_class_labels(model) -> bool:
    """Whether the target of `model` (a name, a model file, a Model) is an n×K matrix of class probabilities
    (softmax's Y): a data file's target column then holds class labels, of any kind (text too)."""
    try:
        resolved = resolve(model)
    except DeriveError:
        return False
    return isinstance(resolved, Model) and not resolved.likelihood and any(
        "prob" in s.assumptions and len(s.shape) == 2 and s.shape[1] != 1
        for s in resolved.symbols if s.name not in resolved.parameters)


def _dropped_constant(P, data):
    """The value of the sum free of the parameters that the derivation dropped from the negative
    log-likelihood (Σᵢ log yᵢ! of a Poisson), so that the log-likelihood is the whole one; None if none."""
    from derive.fitting.sums import value_of_sums
    dropped = [s for s in P.derivation.steps if s.rule == "drop a constant"]
    if not dropped:
        return None
    constant = dropped[0].before - dropped[0].after
    target = _target(P.model, P, {})
    if any(str(i.base.label) != target for i in constant.atoms(sp.Indexed)):
        raise NotSupported(f"cannot evaluate the dropped constant {constant} of {P.model.name}: it is not a sum "
                           f"over the observations {target} alone")
    return float(value_of_sums(constant, {"n": len(data[target])}, data[target]))


def _observations(data):
    lengths = [len(v) for v in data.values() if np.ndim(v) >= 1]
    return max(lengths) if lengths else None


def _loss_label(model: Model, P, constant) -> str:
    """What the loss printed with a fit is, in words."""
    if not model.likelihood:
        return "loss (as stated in the model)"
    what = "−log-likelihood"
    if model.penalty:
        what += " + penalty"
    if model.prior:
        what = "−log posterior, up to a constant"
    if constant is not None:
        dropped = [s for s in P.derivation.steps if s.rule == "drop a constant"][0]
        what += f" without {unicode(dropped.before - dropped.after)}"
    return f"loss ({what})"


# ---------------------------------------------------------------------------------------------------
# The data, bound to the model's symbols
# ---------------------------------------------------------------------------------------------------
def _bind(model: Model, P, X, y, values, weights, names, offset=None):
    """name → array for every symbol that is not a parameter; checks shapes and the support of the data.

    The observed vector of a likelihood (or a loss's one vector) is the target y (a sample given as X alone,
    when the model has no design matrix, is that vector too); any other n-vector comes from `values` by
    name, or is the `offset` when it is the only one."""
    objects = model.objects()
    known = dict(model.values) | dict(values or {})
    X = None if X is None else np.asarray(X, dtype=float)
    if X is not None and X.ndim == 1:
        X = X[:, None]
    matrices = [s.name for s in model.symbols if s.name not in model.parameters and len(s.shape) == 2
                and objects[s.name].cols != 1 and objects[s.name].rows != objects[s.name].cols]
    if y is None and X is not None and not matrices and X.shape[1] == 1:
        X, y = None, X[:, 0]            # an iid sample: the observations
    y = None if y is None else np.asarray(y, dtype=float)
    if y is not None and not (y.ndim == 2 and y.shape[1] > 1):   # a matrix target: the rows of Y (softmax)
        y = y.reshape(-1)
    n = len(y) if y is not None else (len(X) if X is not None else None)
    target = _target(model, P, known)
    others = [s.name for s in model.symbols if s.name not in model.parameters and s.name != target and s.shape
              and objects[s.name].cols == 1 and s.name not in known]
    if offset is not None and len(others) != 1:
        raise DataError(f"an offset is one n-vector of the model; {model.name} has "
                        f"{', '.join(others) or 'none'} besides the target {target}")
    data = {}
    for spec in model.symbols:
        if spec.name in model.parameters:
            continue
        obj = objects[spec.name]
        if "prob" in spec.assumptions and obj.cols != 1:
            data[spec.name] = _probability_rows(spec.name, y if spec.name == target else known.get(spec.name), n)
        elif not spec.shape:
            if spec.name not in known:
                raise DataError(f"the model needs the value of {spec.name}: give --set {spec.name}=… "
                                f"(or values={{'{spec.name}': …}}, or values in the model file)")
            data[spec.name] = float(known[spec.name])
        elif obj.cols == 1:
            vector = y if spec.name == target else known.get(spec.name, offset)
            if vector is None:
                raise DataError(f"the model needs the n-vector {spec.name}" + (
                    " (the target)" if spec.name == target else
                    f": give --offset COL (values={{'{spec.name}': array}} in Python)"))
            vector = np.asarray(vector, dtype=float).reshape(-1)
            if n is not None and len(vector) != n:
                raise DataError(f"{spec.name} has {len(vector)} values for {n} rows")
            data[spec.name] = vector
        elif obj.rows == obj.cols:
            if weights is None:
                raise DataError(f"the model needs the n×n matrix {spec.name}: give --weights COL "
                                "(it is diag(COL)), or weights= in Python")
            w = np.asarray(weights, dtype=float).reshape(-1)
            if len(w) != n or np.any(~np.isfinite(w)) or np.any(w <= 0):
                raise DataError(f"the weights must be {n} positive numbers")
            data[spec.name] = w        # a diagonal: the generated code never forms the n×n matrix
        else:
            if X is None:
                raise DataError(f"the model needs the matrix {spec.name} (the design matrix)")
            if len(X) != n:
                raise DataError(f"X has {len(X)} rows but the target has {n}")
            data[spec.name] = X
    for name, value in known.items():
        if name not in data and name not in model.parameters:
            data[name] = float(value)
    _check_support(model, P, data)
    d = X.shape[1] if X is not None else None
    names = list(names) if names is not None else ([f"x{j + 1}" for j in range(d)] if d else [])
    if X is not None and n is not None and n < d:
        raise DataError(f"{n} rows are fewer than the {d} coefficients to fit")
    return data, names


def _target(model: Model, P, known) -> str | None:
    """The vector the data's y is: the observed vector of a likelihood, else a loss's one unnamed vector, else
    its matrix of probabilities (Y, one row per observation, of a softmax loss)."""
    if model.likelihood:
        return P.statement.observed.name
    objects = model.objects()
    unknown = [s for s in model.symbols if s.shape and s.name not in model.parameters and s.name not in known]
    vectors = [s.name for s in unknown if objects[s.name].cols == 1]
    rows = [s.name for s in unknown if "prob" in s.assumptions]
    return (vectors or rows or [None])[0]


def _probability_rows(name, Y, n):
    """The n×K matrix of probabilities, checked: each row ≥ 0 and summing to 1; a vector of class labels
    (a CSV's target column) is its one-hot rows, the classes in sorted order."""
    if Y is not None and np.ndim(Y) == 1:
        Y, _ = one_hot(Y)
    if Y is None or np.ndim(Y) != 2:
        raise DataError(f"the model needs the n×K matrix {name} of probabilities (one row per observation, "
                        "such as one-hot labels)")
    Y = np.asarray(Y, dtype=float)
    if n is not None and len(Y) != n:
        raise DataError(f"{name} has {len(Y)} rows for {n} observations")
    if np.any(~np.isfinite(Y)) or np.any(Y < 0) or not np.allclose(Y.sum(axis=1), 1.0, rtol=0, atol=1e-9):
        raise DataError(f"each row of {name} must hold probabilities: entries ≥ 0 summing to 1")
    return Y


def _check_support(model: Model, P, data) -> None:
    if not model.likelihood:
        return
    statement = P.statement
    values = data.get(statement.observed.name)
    support = statement.family.support
    bad = np.flatnonzero(~support.contains(np.asarray(values)))
    if bad.size:
        value = values[bad[0]]
        shown = repr(float(value)) if np.ndim(value) == 0 else "[" + ", ".join(repr(float(v)) for v in value) + "]"
        raise DataError(f"{model.name}: {statement.observed.name} must be {support.name} "
                        f"({statement.family.signature}); it is {shown} at row {bad[0] + 1}")


# ---------------------------------------------------------------------------------------------------
# Generated functions of the derived results
# ---------------------------------------------------------------------------------------------------
def _diagonal_weights(P, expr):
    """Every n×n weight matrix W as diag(w): the generated code then weights rows, never forms W."""
    model = P.model
    for spec in model.symbols:
        obj = model.objects()[spec.name]
        if spec.shape and obj.rows == obj.cols and spec.name not in model.parameters and obj.rows != 1:
            w = sp.MatrixSymbol(spec.name, obj.rows, 1)
            expr = expr.xreplace({obj: sp.DiagMatrix(w), sp.Transpose(obj): sp.DiagMatrix(w)})
    return expr


def _argument_symbols(P):
    model = P.model
    symbols = list(P.parameters)
    for spec in model.symbols:
        if spec.name in model.parameters:
            continue
        obj = model.objects()[spec.name]
        if spec.shape and obj.rows == obj.cols and obj.rows != 1:
            obj = sp.MatrixSymbol(spec.name, obj.rows, 1)
        symbols.append(obj)
    return symbols + [sp.Symbol(k) for k in _undeclared(P)]


def _undeclared(P) -> list:
    """Known scalars a statement uses without declaring them (tau2 in a prior): they are plain symbols."""
    declared = {s.name for s in P.model.symbols}
    return sorted(k for k, _ in P.model.values if k not in declared)


def _function(P, expr, sizes=None):
    """The generated numpy function of `expr` (or a list of them), W as a diagonal; `sizes` gives the
    dimensions (n, d) that no argument's shape carries (n/λ² in the exponential model's Hessian)."""
    several = isinstance(expr, (sp.Tuple, list, tuple))
    return _generated(P.model, tuple(expr) if several else expr, tuple(sorted((sizes or {}).items())), several)


@functools.lru_cache(maxsize=256)
def _generated(model: Model, expr, sizes: tuple, several: bool):
    """`_function`'s code, generated once per model, expressions and data sizes (generating it takes longer
    than a small fit)."""
    P = plan(model)
    sizes = {sp.Symbol(k, integer=True, positive=True): v for k, v in sizes}
    exprs = list(expr) if several else [expr]
    exprs = [_diagonal_weights(P, e).xreplace(sizes) if sizes else _diagonal_weights(P, e) for e in exprs]
    arguments = [a.xreplace(sizes) if sizes else a for a in _argument_symbols(P)]
    return lambdify(exprs if several else exprs[0], arguments, name="fit")


def _sizes(P, data) -> dict:
    """The value of every dimension name, from the data's shapes."""
    sizes = {}
    for spec in P.model.symbols:
        value = data.get(spec.name)
        for axis, k in enumerate(spec.shape):
            if isinstance(k, str) and value is not None and np.ndim(value) > axis:
                sizes[k] = np.shape(value)[axis]
    return sizes


def _arguments(P, estimates, data):
    values = [estimates.get(p) for p in P.parameters]
    for spec in P.model.symbols:
        if spec.name not in P.model.parameters:
            values.append(data[spec.name])
    return values + [data[k] for k in _undeclared(P)]


def _closed_forms(P, data, method, names, exact_data):
    """Each parameter's closed form in turn; a least-squares form (AᵀSA + κI)⁻¹AᵀSb is evaluated by the
    least-squares methods (exact rational arithmetic, QR, Cholesky), as accurate as `fit ols` on NIST data."""
    estimates, how, errors, sums_of_squares = {}, "closed form", {}, {}
    for p in P.parameters:
        form = least_squares_form(P.solutions[p])
        if form is not None:
            solved = _least_squares(P, form, estimates, data, method, names, exact_data)
            estimates[p], how, errors[p] = solved.coef, solved.method, solved.std_errors
            if form[3] is None:   # no penalty: the fit's loss is the residual sum of squares at p̂
                sums_of_squares[_residual(form, p)] = solved.loss
            continue
        factor, rss = _of_a_residual_sum_of_squares(P.solutions[p], sums_of_squares)
        if rss is not None:
            # NOTE: c·(b − Ap̂)ᵀS(b − Ap̂) with the least-squares fit's RSS (exact, or from residuals in
            # double-double), not from residuals in floating point: σ̂² = RSS/n keeps its digits on Longley
            value = float(_function(P, factor, _sizes(P, data))(*_arguments(P, estimates, data))) * rss
        else:
            value = _function(P, P.solutions[p], _sizes(P, data))(*_arguments(P, estimates, data))
        estimates[p] = _inside_domain(P, p, _checked(np.real(value), p), data)
    return estimates, how, errors, sums_of_squares


def _residual(form, p):
    """(b − Ap, S): the residual of a least-squares form in the parameter p (its terms, in any order), and its
    weight matrix."""
    A, S, b, _ = form
    return frozenset((b, sp.MatMul(-1, A, p))), S


def _of_a_residual_sum_of_squares(solution, sums_of_squares):
    """(c, RSS) when `solution` is c·rᵀr (or c·rᵀSr) for a residual r whose sum of squares a least-squares
    fit has computed; (None, None) otherwise."""
    if not isinstance(solution, sp.Mul):
        return None, None
    factor, quadratic = solution.as_independent(sp.MatrixExpr)
    rss = _known_sum_of_squares(quadratic, sums_of_squares)
    return (factor, rss) if rss is not None else (None, None)


def _known_sum_of_squares(quadratic, sums_of_squares):
    """The least-squares fit's value of rᵀr (or rᵀSr), or None when `quadratic` is no such form."""
    quadratic = quadratic.args[0] if isinstance(quadratic, Scalar) else quadratic   # rᵀr, 1×1, as a scalar
    if not isinstance(quadratic, sp.MatMul) or not isinstance(quadratic.args[0], sp.Transpose):
        return None
    r, *middle = quadratic.args[0].arg, *quadratic.args[1:-1]
    if quadratic.args[-1] != r or len(middle) > 1:
        return None
    terms = frozenset(r.args) if isinstance(r, sp.MatAdd) else None
    return sums_of_squares.get((terms, middle[0] if middle else None))


def _with_sums_of_squares(expr, sums_of_squares):
    """`expr` with each residual sum of squares a least-squares fit computed written as its value (the
    Gaussian linear model's loss at β̂ keeps its digits)."""
    if not sums_of_squares:
        return expr
    return expr.replace(lambda e: isinstance(e, Scalar) and _known_sum_of_squares(e, sums_of_squares) is not None,
                        lambda e: sp.Float(repr(_known_sum_of_squares(e, sums_of_squares)), 17))


def least_squares_form(solution):
    """(A, S, b, κ) when `solution` is (AᵀSA + κI)⁻¹AᵀSb (S a weight matrix or None, κ a scalar or None)."""
    if not isinstance(solution, sp.MatMul):
        return None
    coefficient, factors = solution.as_coeff_matrices()
    if coefficient != 1 or len(factors) not in (3, 4) or not isinstance(factors[0], sp.Inverse):
        return None
    At, b = factors[1], factors[-1]
    S = factors[2] if len(factors) == 4 else None
    if not (isinstance(At, sp.Transpose) and isinstance(At.arg, sp.MatrixSymbol) and isinstance(b, sp.MatrixSymbol)):
        return None
    A = At.arg
    gram = [At, S, A] if S is not None else [At, A]
    inner, kappa = factors[0].arg, None
    if isinstance(inner, sp.MatAdd) and len(inner.args) == 2:
        terms = sorted(inner.args, key=lambda t: isinstance(t.as_coeff_matrices()[1][-1], sp.Identity))
        k, identity = terms[1].as_coeff_matrices()
        if len(identity) != 1 or not isinstance(identity[0], sp.Identity):
            return None
        inner, kappa = terms[0], k
    if not isinstance(inner, sp.MatMul) or list(inner.args) != gram:
        return None
    if S is not None and not isinstance(S, sp.MatrixSymbol):
        return None
    return A, S, b, kappa


def _least_squares(P, form, estimates, data, method, names, exact_data):
    from derive.fitting.linear_fitting import fit_linear
    A, S, b, kappa = form
    X, y = data[A.name], data[b.name]
    lam = None
    if kappa is not None:
        lam = float(_function(P, kappa)(*_arguments(P, estimates, data)))
    if S is not None:   # weighted: the rows scaled by √w, then ordinary least squares (the decimals are lost)
        root = np.sqrt(data[S.name])
        X, y, exact_data = X * root[:, None], y * root, None
        method = "qr" if method == "auto" else method
    return fit_linear("ridge" if lam is not None else "ols", X, y, method, lam, names or
                      [f"x{j + 1}" for j in range(X.shape[1])], exact_data)


def _checked(value, p):
    if not np.all(np.isfinite(value)):
        raise DataError(f"the closed form for {p} is not finite on these data (collinear columns, or too few rows?)")
    return value


def _inside_domain(P, p, value, data):
    """A closed-form estimate of a likelihood's parameter on the boundary of its domain (σ̂² = 0 when every
    observation is the same, p̂ = 0 or 1 when they are all 0 or all 1) is refused: the likelihood has no
    maximum inside the domain, and the Hessian there (so every standard error) does not exist."""
    statement = P.statement
    domain = next((d for (_, d), a in zip(statement.family.parameters, statement.arguments) if a == p), None) \
        if statement is not None else None
    if domain is None or np.ndim(value) or domain.contains(np.asarray(float(value))):
        return value
    observed = np.asarray(data.get(statement.observed.name), dtype=float).reshape(-1)
    same = f"every observation is {observed[0]:g}, so " if observed.size and np.all(observed == observed[0]) else ""
    raise DataError(f"{same}the maximum-likelihood estimate of {unicode(p)} is {float(value):g}, on the boundary of "
                    f"its domain ({domain.name}): the likelihood has no maximum inside it, and no standard errors")


def _newton(P, data, names, tol, max_iter, notes):
    """Newton's method on all the parameters at once (one vector, or several scalars such as a Gamma's shape
    and rate), from the start `_start` gives; the step solves HΔ = −g and is halved while the loss does not
    decrease or a positive parameter would leave (0, ∞)."""
    derivatives = _Derivatives(P, data)
    _require_small_vec_hessian(P, data, derivatives.shapes)
    theta = _start(P, data, derivatives.shapes)
    positive = np.concatenate([np.full(max(1, int(np.prod(shape))), _is_positive(p))
                               for p, shape in zip(P.parameters, derivatives.shapes)])
    observed = _bernoulli_target(P, data)
    loss, g, H = derivatives.at(theta)
    shifts = _ignored_shifts(P, derivatives.shapes)
    if shifts is not None:
        notes.append("the loss is the same at W and W + a𝟏ᵀ (softmax ignores a common shift): W is identified by "
                     "columns summing to zero, W𝟏 = 0 (compare predicted probabilities, or differences of columns)")
    for iteration in range(1, max_iter + 1):
        step, newton = _descent_direction(g, H if shifts is None else H + shifts @ shifts.T)
        decrement = float(np.sqrt(max(-g @ step, 0.0))) if newton else np.inf
        t = 1.0
        for _ in range(MAX_HALVINGS):
            trial = theta + t * step
            if not np.any(positive & (trial <= 0)):
                trial_loss, trial_g, trial_H = derivatives.at(trial)
                if np.isfinite(trial_loss) and trial_loss <= loss + 1e-12 * abs(loss):
                    break
            t /= 2
        else:
            raise DataError(f"Newton's method made no progress for {P.model.name} (the loss does not decrease "
                            "along the Newton direction)")
        theta, loss, g, H = trial, trial_loss, trial_g, trial_H
        if observed is not None:
            design = data[_data_matrix(P)]
            check_separation(design, design @ theta, observed, theta, names)
        if decrement < tol:
            notes.extend(derivatives.notes)
            return derivatives.unpacked(theta), iteration, True
    notes.extend(derivatives.notes)
    return derivatives.unpacked(theta), max_iter, False


class _Derivatives:
    """The loss, gradient and Hessian in all the parameters at a point θ (the parameters' entries, flat), from
    the generated code of the derived results.

    Where the derived Hessian is not finite although the gradient is (a quotient the generated code has no
    stable form for, overflowing at large |xᵢᵀβ|), it is replaced by central differences of the derived
    gradient, symmetrised, and a note says so: the estimate (where the gradient vanishes) is unchanged, and the
    standard errors keep about 8 digits."""

    def __init__(self, P, data):
        self.P, self.data, self.notes = P, data, []
        loss = P.derivation.results["loss"]
        self.functions = _function(P, [loss, *_gradient_entries(P), *_hessian_entries(P)], _sizes(P, data))
        sizes = _sizes(P, data)
        self.shapes = [() if not p.is_Matrix else (int(data[_data_matrix(P)].shape[1]),) if p.cols == 1
                       else tuple(int(k) if k.is_Integer else int(sizes[str(k)]) for k in p.shape)
                       for p in P.parameters]

    def unpacked(self, theta) -> dict:
        return _unpacked(theta, self.P.parameters, self.shapes)

    def at(self, theta):
        loss, g, H = _loss_gradient_hessian(self.functions, self.P, self.unpacked(theta), self.data)
        if np.all(np.isfinite(g)) and not np.all(np.isfinite(H)):
            H = self._differenced_hessian(theta)
        return loss, g, H

    def _differenced_hessian(self, theta):
        def gradient(point):
            return _loss_gradient_hessian(self.functions, self.P, self.unpacked(point), self.data)[1]
        columns = []
        for j in range(len(theta)):
            h = 1e-5 * max(1.0, abs(float(theta[j])))
            e = np.zeros_like(theta)
            e[j] = h
            columns.append((gradient(theta + e) - gradient(theta - e)) / (2 * h))
        H = np.column_stack(columns)
        note = ("the derived Hessian overflows at these data (large |linear predictor|): Newton's method and the "
                "standard errors used central differences of the derived gradient there")
        if note not in self.notes:
            self.notes.append(note)
        return (H + H.T) / 2


# NOTE: the derived Hessian of a matrix parameter other than softmax regression's (which `_fit_softmax` takes
# block by block) is generated as written, with nK×nK matrices: beyond this many rows its memory is the limit.
LARGEST_VEC_HESSIAN_ROWS = 3000


def _require_small_vec_hessian(P, data, shapes) -> None:
    rows = _observations(data) or 0
    for p, shape in zip(P.parameters, shapes):
        if p.is_Matrix and p.cols != 1 and rows * shape[1] > LARGEST_VEC_HESSIAN_ROWS:
            raise NotSupported(f"{P.model.name}: the derived Hessian in {p} is evaluated with {rows * shape[1]}×"
                               f"{rows * shape[1]} matrices (n·K rows), too large here (at most "
                               f"{LARGEST_VEC_HESSIAN_ROWS}); derive evaluates it block by block only in the form "
                               "(I ⊗ X)ᵀS(I ⊗ X) of softmax regression")


def _ignored_shifts(P, shapes):
    """N with the loss unchanged along its columns (vec(a𝟏ᵀ) = (𝟏 ⊗ I)a for a matrix parameter whose loss sees
    it through softmax, a verified step of the plan), or None. The Hessian is singular there; Newton on
    H + NNᵀ, whose inverse agrees with H's on the gradient (which is orthogonal to N), keeps W𝟏 = 0 from the
    start W = 0."""
    matrices = [(p, shape) for p, shape in zip(P.parameters, shapes) if p in P.updates]
    if not matrices or len(P.parameters) != 1:
        return None
    rows, columns = matrices[0][1]
    return np.kron(np.ones((columns, 1)), np.eye(rows))


def _descent_direction(g, H):
    """(the Newton step −H⁻¹g, True) where H is positive definite, else (−g scaled by H's diagonal, False)."""
    try:
        factor = np.linalg.cholesky(H)
        return -np.linalg.solve(factor.T, np.linalg.solve(factor, g)), True   # NOTE: solve, never inv(H)
    except np.linalg.LinAlgError:
        return -g / np.maximum(np.abs(np.diag(H)), 1e-12), False


def _gradient_entries(P) -> list:
    gradient = P.derivation.results["gradient"]
    return list(gradient) if isinstance(gradient, (sp.Tuple, sp.MatrixBase)) else [gradient]


def _hessian_entries(P) -> list:
    """The Hessian of the loss in all the parameters, as derived: one parameter's, or for several scalars the
    matrix of second derivatives (the mixed ones ∂²ℓ/∂θᵢ∂θⱼ among them), entry by entry."""
    hessian = P.derivation.results["hessian"]
    if isinstance(hessian, sp.MatrixBase) and not any(p.is_Matrix for p in P.parameters):
        return list(hessian)
    if len(P.parameters) > 1:
        raise NotSupported(f"Newton's method on several parameters is implemented for scalars; {P.model.name} "
                           f"has the vector {next(p for p in P.parameters if p.is_Matrix)} without a closed form "
                           "among its parameters " + ", ".join(map(str, P.parameters)))
    return [hessian]


def _loss_gradient_hessian(functions, P, estimates, data):
    """The loss, the gradient (flat) and the Hessian (2-d) at `estimates`; a Hessian that is not symmetric is
    a bug (a failing check, never a result)."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):   # non-finite values are handled
        loss, *rest = functions(*_arguments(P, estimates, data))
    k = len(P.parameters)
    gradients, hessians = rest[:k], rest[k:]
    g = np.concatenate([np.atleast_1d(np.real(v)).astype(float).reshape(-1, order="F") for v in gradients])
    if k == 1:
        return float(np.real(loss)), g, np.atleast_2d(np.real(hessians[0])).astype(float)
    H = np.array([float(np.real(v)) for v in hessians]).reshape(k, k)
    if not np.allclose(H, H.T, rtol=1e-8, atol=1e-12 * np.abs(H).max()):
        raise VerificationError(f"the derived Hessian of {P.model.name} is not symmetric: {H}")
    return float(np.real(loss)), g, (H + H.T) / 2


def _start(P, data, shapes):
    """Zero for a vector, 1 for a positive scalar, 0 for another scalar; then each parameter with a closed
    form given the others (a Gamma's rate, given its shape) at that value."""
    estimates = {p: np.zeros(shape) if shape else (1.0 if _is_positive(p) else 0.0)
                 for p, shape in zip(P.parameters, shapes)}
    for p in P.parameters:
        if P.solutions[p] is not None:
            value = np.real(_function(P, P.solutions[p], _sizes(P, data))(*_arguments(P, estimates, data)))
            if np.all(np.isfinite(value)) and not (_is_positive(p) and np.any(value <= 0)):
                estimates[p] = np.asarray(value, dtype=float).reshape(np.shape(estimates[p]))
    return np.concatenate([np.atleast_1d(estimates[p]).astype(float).reshape(-1, order="F") for p in P.parameters])


def _unpacked(theta, parameters, shapes) -> dict:
    values, at = {}, 0
    for p, shape in zip(parameters, shapes):
        size = int(np.prod(shape)) if shape else 1
        values[p] = theta[at:at + size].reshape(shape, order="F") if shape else float(theta[at])   # vec
        at += size
    return values


def _is_positive(p) -> bool:
    return bool(p.is_positive)


def _data_matrix(P) -> str:
    for spec in P.model.symbols:
        if len(spec.shape) == 2 and spec.shape[1] != 1 and spec.shape[0] != spec.shape[1]:
            return spec.name
    raise NotSupported(f"{P.model.name} has no n×d design matrix for Newton's method")


def _bernoulli_target(P, data):
    if not P.model.likelihood:
        return None
    statement = P.statement
    return data[statement.observed.name] if statement.family.name == "Bernoulli" else None


def _standard_errors(P, estimates, data, notes):
    """√diag(H⁻¹), H the Hessian of the negative log-likelihood at the estimate (the observed information):
    the whole Hessian for one parameter or several scalars (their mixed derivatives, a Gamma's −n/b, matter);
    per parameter otherwise (for β and σ² of the Gaussian linear model the mixed block −Xᵀ(y − Xβ̂)/σ⁴ is 0)."""
    parameters = P.parameters
    if len(parameters) == 1 or not any(p.is_Matrix for p in parameters):
        derivatives = _Derivatives(P, data)
        theta = np.concatenate([np.atleast_1d(np.asarray(estimates[p], dtype=float)).reshape(-1, order="F")
                                for p in parameters])
        errors = _inverse_diagonal_root(derivatives.at(theta)[2])
        notes.extend(n for n in derivatives.notes if n not in notes)
        if errors is None:
            return dict.fromkeys(parameters)
        return derivatives.unpacked(errors) if len(parameters) > 1 else {parameters[0]: errors}
    hessians = P.derivation.results["hessian"]
    # one block per parameter that has one (a covariance Σ has none: its second-order check is directional)
    blocks = dict(zip([p for p in parameters if P.hessians.get(p) is not None],
                      hessians if isinstance(hessians, sp.Tuple) else [hessians]))
    return {p: _inverse_diagonal_root(np.atleast_2d(np.real(_function(P, blocks[p], _sizes(P, data))(
        *_arguments(P, estimates, data))))) if p in blocks else None for p in parameters}


def _inverse_diagonal_root(H):
    """√diag(H⁻¹) from the Cholesky factor of H (column norms of L⁻¹), or None when H is not positive definite."""
    try:
        factor = np.linalg.cholesky(H)
    except np.linalg.LinAlgError:
        return None
    inverse_factor = np.linalg.solve(factor, np.eye(len(H)))
    return np.sqrt(np.sum(inverse_factor ** 2, axis=0))


def _flatten(model, parameters, estimates, names, errors, sample=False):
    """One coefficient per entry: a vector parameter's entries take the column names (mu[a] for the mean of
    a `sample` of vector observations), a scalar its own."""
    coef, labels, se = [], [], []
    spelled = dict(zip(model.parameter_objects(), model.parameters))
    for p in parameters:
        value = np.atleast_1d(np.asarray(estimates[p], dtype=float)).reshape(-1, order="F")   # vec: by columns
        coef += list(value)
        if p.is_Matrix and p.cols != 1:   # W d×K: a column per class, each named by the design's columns
            columns = np.shape(estimates[p])[1]
            rows = list(names) if len(names) * columns == len(value) else [f"x{j + 1}" for j in range(len(value) // columns)]
            labels += [f"{row}[{k + 1}]" for k in range(columns) for row in rows]
        else:
            labels += [f"{spelled[p]}[{v}]" for v in names] if sample and p.is_Matrix and len(names) == len(value) \
                else list(names) if p.is_Matrix and len(names) == len(value) else \
                ([spelled[p]] if not p.is_Matrix else [f"{spelled[p]}{k + 1}" for k in range(len(value))])
        e = None if errors is None else errors.get(p)
        se += list(np.atleast_1d(e)) if e is not None else [np.nan] * len(value)
    se_array = None if errors is None else np.array(se)
    return np.array(coef), labels, se_array
