"""Fitting any model from its derived results (DESIGN §8): a model file, a `Model`, or a built-in the planner
derives (wls, gaussian-linear, probit, exponential).

What the data are: the model's n×d matrix is the design matrix X, its observed n-vector the target y (for
an iid sample, the sample), an n×n matrix is diag(weights) (`--weights COL`), and known scalars come from
`values` (the file's, overridden by `fit(..., values=)` / `--set lam=0.5`).

How it is fitted, from the planner's results:
- every parameter has a closed form: the closed forms, in the order they were solved (σ̂² after β̂),
  through generated code (solve, never an explicit inverse);
- otherwise Newton on the generated loss, gradient and Hessian: the step solves HΔ = −g (Cholesky),
  is halved while the loss does not decrease, and stops when the Newton decrement √(gᵀH⁻¹g) is below
  `tol`; a Bernoulli likelihood is checked for separated classes (which have no maximum).
Standard errors, for a likelihood, are √diag(H⁻¹) of the negative log-likelihood's Hessian at the estimate
(the observed information; σ̂² the MLE for the Gaussian linear model).
"""
from __future__ import annotations

import numpy as np
import sympy as sp

from derive.derivations import Model, resolve
from derive.derivations.planner import plan
from derive.errors import DataError, NotSupported
from derive.fitting.codegen import lambdify
from derive.fitting.result import FitResult
from derive.fitting.separation import check_separation

MAX_HALVINGS = 40
METHODS = ("auto", "exact", "qr", "cholesky", "newton")


def fit_model(model, X, y, method: str = "auto", *, values=None, weights=None, names=None, tol=None,
              max_iter=None, exact_data=None) -> FitResult:
    """Fit `model` (a Model, a model file, or a planner-derived built-in) to the data (see the module)."""
    resolved = resolve(model)
    if not isinstance(resolved, Model):
        raise NotSupported(f"cannot fit {resolved!r} yet; fit supports ols, ridge, logistic, poisson and every "
                           "model the planner derives (model files; built-in: wls, gaussian-linear, probit, "
                           "exponential)")
    P = plan(resolved)
    data, names = _bind(resolved, P, X, y, values, weights, names)
    parameters = P.parameters
    if method not in METHODS:
        raise NotSupported(f"method {method!r} does not apply to {resolved.name}; use auto (the closed form when "
                           "there is one, else Newton), exact/qr/cholesky (a least-squares closed form) or newton")
    least_squares_errors = {}
    if all(P.solutions[p] is not None for p in parameters) and method != "newton":
        estimates, how, least_squares_errors = _closed_forms(P, data, method, names, exact_data)
        iterations, converged = None, True
    else:
        estimates, iterations, converged = _newton(P, data, names, tol or 1e-10, max_iter or 100)
        how = "newton"
    loss = float(np.real(_function(P, P.derivation.results["loss"], _sizes(P, data))(*_arguments(P, estimates, data))))
    # a likelihood's from its Hessian; a least-squares loss's as for OLS/WLS, σ̂²(AᵀSA)⁻¹ with σ̂² = RSS/(n − d)
    errors = _standard_errors(P, estimates, data) if resolved.likelihood else (least_squares_errors or None)
    coef, labels, se = _flatten(resolved, parameters, estimates, names, errors)
    return FitResult(model=resolved.name, method=how, names=labels, coef=coef, std_errors=se,
                     converged=converged, iterations=iterations, loss=loss,
                     loglike=-loss if resolved.likelihood and not (resolved.prior or resolved.penalty) else None)


# ---------------------------------------------------------------------------------------------------
# The data, bound to the model's symbols
# ---------------------------------------------------------------------------------------------------
def _bind(model: Model, P, X, y, values, weights, names):
    """name → array for every symbol that is not a parameter; checks shapes and the support of the data."""
    objects = model.objects()
    known = dict(model.values) | dict(values or {})
    data, y = {}, None if y is None else np.asarray(y, dtype=float).reshape(-1)
    X = None if X is None else np.asarray(X, dtype=float)
    if X is not None and X.ndim == 1:
        X = X[:, None]
    n = len(y) if y is not None else (len(X) if X is not None else None)
    for spec in model.symbols:
        if spec.name in model.parameters:
            continue
        obj = objects[spec.name]
        if not spec.shape:
            if spec.name not in known:
                raise DataError(f"the model needs the value of {spec.name}: give --set {spec.name}=… "
                                f"(or values={{'{spec.name}': …}}, or values in the model file)")
            data[spec.name] = float(known[spec.name])
        elif obj.cols == 1:
            if y is None:
                raise DataError(f"the model needs the vector {spec.name} (the target)")
            data[spec.name] = y
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


def _check_support(model: Model, P, data) -> None:
    if not model.likelihood:
        return
    from derive.derivations.statement import read_statement
    statement = read_statement(model.likelihood, model.context(), model.expression)
    values = data.get(statement.observed.name)
    support = statement.family.support
    bad = np.flatnonzero(~support.contains(np.asarray(values)))
    if bad.size:
        raise DataError(f"{model.name}: {statement.observed.name} must be {support.name} "
                        f"({statement.family.signature}); it is {values[bad[0]]!r} at row {bad[0] + 1}")


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
    sizes = {sp.Symbol(k, integer=True, positive=True): v for k, v in (sizes or {}).items()}
    exprs = list(expr) if isinstance(expr, (sp.Tuple, list, tuple)) else [expr]
    exprs = [_diagonal_weights(P, e).subs(sizes) if sizes else _diagonal_weights(P, e) for e in exprs]
    arguments = [a.subs(sizes) if sizes else a for a in _argument_symbols(P)]
    return lambdify(exprs if isinstance(expr, (sp.Tuple, list, tuple)) else exprs[0], arguments, name="fit")


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
    estimates, how, errors = {}, "closed form", {}
    for p in P.parameters:
        form = least_squares_form(P.solutions[p])
        if form is not None:
            solved = _least_squares(P, form, estimates, data, method, names, exact_data)
            estimates[p], how, errors[p] = solved.coef, solved.method, solved.std_errors
            continue
        value = _function(P, P.solutions[p], _sizes(P, data))(*_arguments(P, estimates, data))
        estimates[p] = _checked(np.real(value), p)
    return estimates, how, errors


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


def _newton(P, data, names, tol, max_iter):
    unsolved = [p for p in P.parameters if P.solutions[p] is None]
    if len(unsolved) != 1 or len(P.parameters) != 1:
        raise NotSupported("Newton's method is implemented for one parameter (vector) without a closed form; "
                           f"{P.model.name} has {', '.join(map(str, unsolved))} unsolved of "
                           f"{', '.join(map(str, P.parameters))}")
    p = unsolved[0]
    results = P.derivation.results
    functions = _function(P, [results["loss"], results["gradient"], results["hessian"]], _sizes(P, data))
    shape = (int(data[_data_matrix(P)].shape[1]),) if p.is_Matrix else ()
    theta = np.zeros(shape)
    observed = _bernoulli_target(P, data)

    def evaluate(value):
        loss, g, H = functions(*_arguments(P, {p: value}, data))
        return float(loss), np.atleast_1d(g).astype(float), np.atleast_2d(H).astype(float)

    loss, g, H = evaluate(theta)
    for iteration in range(1, max_iter + 1):
        try:
            factor = np.linalg.cholesky(H)
            step = -np.linalg.solve(factor.T, np.linalg.solve(factor, g))   # NOTE: solve, never inv(H)
        except np.linalg.LinAlgError:
            step = -np.linalg.lstsq(H, g, rcond=None)[0]
        decrement = float(np.sqrt(max(-g @ step, 0.0)))
        t = 1.0
        for _ in range(MAX_HALVINGS):
            trial = theta + t * step.reshape(shape)
            trial_loss, trial_g, trial_H = evaluate(trial)
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
            return {p: theta}, iteration, True
    return {p: theta}, max_iter, False


def _data_matrix(P) -> str:
    for spec in P.model.symbols:
        if len(spec.shape) == 2 and spec.shape[1] != 1 and spec.shape[0] != spec.shape[1]:
            return spec.name
    raise NotSupported(f"{P.model.name} has no n×d design matrix for Newton's method")


def _bernoulli_target(P, data):
    if not P.model.likelihood:
        return None
    from derive.derivations.statement import read_statement
    statement = read_statement(P.model.likelihood, P.model.context(), P.model.expression)
    return data[statement.observed.name] if statement.family.name == "Bernoulli" else None


def _standard_errors(P, estimates, data):
    """√diag(H⁻¹) per parameter, H the Hessian of the negative log-likelihood in that parameter at the estimate."""
    hessians = P.derivation.results["hessian"]
    hessians = list(hessians) if isinstance(hessians, sp.Tuple) else [hessians]
    errors = {}
    for p, H in zip(P.parameters, hessians):
        value = np.atleast_2d(np.real(_function(P, H, _sizes(P, data))(*_arguments(P, estimates, data))))
        try:
            factor = np.linalg.cholesky(value)
        except np.linalg.LinAlgError:
            errors[p] = None
            continue
        inverse_factor = np.linalg.solve(factor, np.eye(len(value)))   # L⁻¹: diag(H⁻¹) = column norms²
        errors[p] = np.sqrt(np.sum(inverse_factor ** 2, axis=0))
    return errors


def _flatten(model, parameters, estimates, names, errors):
    """One coefficient per entry: a vector parameter's entries take the column names, a scalar its own."""
    coef, labels, se = [], [], []
    spelled = dict(zip(model.parameter_objects(), model.parameters))
    for p in parameters:
        value = np.atleast_1d(np.asarray(estimates[p], dtype=float)).reshape(-1)
        coef += list(value)
        labels += list(names) if p.is_Matrix and len(names) == len(value) else \
            ([spelled[p]] if not p.is_Matrix else [f"{spelled[p]}{k + 1}" for k in range(len(value))])
        e = None if errors is None else errors.get(p)
        se += list(e) if e is not None else [np.nan] * len(value)
    se_array = None if errors is None else np.array(se)
    return np.array(coef), labels, se_array
