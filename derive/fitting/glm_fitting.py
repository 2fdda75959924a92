"""Logistic and Poisson regression by Newton/IRLS or gradient descent on the lambdified derived loss,
gradient and Hessian; standard errors √diag(H⁻¹) from the Cholesky factor of the Hessian at the optimum."""
from __future__ import annotations

import functools
import math

import numpy as np
import sympy as sp

from derive.errors import DataError, NotSupported
from derive.expr import symbols as S
from derive.fitting.codegen import derived_results, lambdify, lambdify_results
from derive.fitting.design_columns import check_collinear, column_scale, constant_column
from derive.fitting.progress import Progress
from derive.fitting.result import FitResult
from derive.fitting.separation import SeparatedClasses, check_quasi_separation, check_separation
from derive.fitting.support import check_support
from derive.fitting.triangular import solve_lower, solve_upper

# Gradient descent stops when the gradient (in the coordinates it works in) has shrunk by this factor: the
# coefficients then agree with Newton's to about 1e-9 relative.
GD_TOLERANCE = 1e-10
# Gradient descent compares losses only while their difference is above this fraction of the loss, the
# size of its rounding errors (with room to spare).
LOSS_ROUNDING = 1e-10
# Rows per block when evaluating the derived sums in memory: about 1 MB of X, which stays in cache.
ROW_BLOCK_BYTES = 1 << 20


def fit_glm(model, X, y, method, names, tol, max_iter, progress, offset=None) -> FitResult:
    """`offset` (Poisson): a known term of the linear predictor, log μ = Xβ + offset. Columns with values
    near 1e±300 are fitted scaled by powers of two (exactly), and the coefficients scaled back."""
    scale = column_scale(X)
    if np.all(scale == 1):
        return _fit_glm(model, X, y, method, names, tol, max_iter, progress, offset)
    try:
        result = _fit_glm(model, X / scale, y, method, names, tol, max_iter, progress, offset)
    except SeparatedClasses as separated:
        raise separated.in_units(X, y, scale) from None
    result.coef = result.coef / scale
    if result.std_errors is not None:
        result.std_errors = result.std_errors / scale
    return result


def _fit_glm(model, X, y, method, names, tol, max_iter, progress, offset=None) -> FitResult:
    _check_targets(model, y)
    beta = _starting_point(model, X, y, offset)
    if method in ("auto", "newton"):
        if offset is None:
            functions, arrays = lambdify_results(model, ("loss", "gradient", "hessian"), (S.X * S.beta,)), (X, y)
        else:
            functions, arrays = offset_functions(model), (X, y, offset)
        evaluate = functools.partial(sum_over_row_blocks, functions, arrays)
        result = newton(model, evaluate, beta, names, tol or 1e-8, max_iter or 100, progress, (X, y))
    elif offset is not None:
        raise NotSupported("gradient descent with an offset or exposure is not implemented: use --method newton")
    else:
        functions = lambdify_results(model, ("loss", "gradient"), (S.X * S.beta,))
        hessian = lambdify_results(model, ("hessian",))
        c = constant_column(X)
        centred = X - X.mean(axis=0) if c is not None else X
        T = standardising_map(X.mean(axis=0), np.sqrt(np.mean(centred ** 2, axis=0)), c, X[0, c] if c is not None else 1)
        result = gradient_descent(model, functools.partial(sum_over_row_blocks, functions, (X, y)),
                                  lambda b: hessian(b, X, y), T, X.T @ X, beta, names, tol or GD_TOLERANCE,
                                  max_iter or 100_000, progress, (X, y))
    if offset is not None:
        restore_offset_loss(result, float(y @ offset))
    _add_likelihood(model, result, X, y, offset)
    return result


def restore_offset_loss(result: FitResult, y_dot_offset: float):
    """The derived loss with Xβ + o in place of Xβ lacks the constant −yᵀo: the loss is restored."""
    result.loss -= y_dot_offset
    result.history = [h - y_dot_offset for h in result.history]
    result.notes.append("offset: log μ = Xβ + offset (its coefficient fixed at 1)")


def sum_over_row_blocks(functions, arrays, beta):
    """`functions(β, *arrays)` = (sums over the rows: loss, gradient[, Hessian], then Xβ), evaluated on
    blocks of rows and added (Xβ stacked): each block stays in cache while every term reads it, so X comes
    from memory once per evaluation instead of once per term."""
    X = arrays[0]
    n, d = X.shape
    rows = max(1, ROW_BLOCK_BYTES // (8 * d))
    if rows >= n:
        return functions(beta, *arrays)
    totals, eta = None, np.empty(n)
    for start in range(0, n, rows):
        *sums, eta[start:start + rows] = functions(beta, *(a[start:start + rows] for a in arrays))
        totals = sums if totals is None else [total + part for total, part in zip(totals, sums)]
    return (*totals, eta)


OFFSET = sp.MatrixSymbol("offset", S.X.shape[0], 1)


@functools.lru_cache(maxsize=None)
def offset_functions(model):
    """The derived loss, gradient and Hessian with the linear predictor Xβ replaced by Xβ + offset (what
    β sees is unchanged: the offset only shifts the predictor); NotSupported if the derived results do
    not hold Xβ as one term to shift."""
    results = derived_results(model)
    shift = {S.X * S.beta: S.X * S.beta + OFFSET}
    exprs = [results[q].xreplace(shift) for q in ("loss", "gradient", "hessian")]
    if any(OFFSET not in e.free_symbols for e in exprs[1:]):
        raise NotSupported(f"an offset is not supported for {model}: its derived results do not hold Xβ as a term")
    return lambdify([*exprs, S.X * S.beta + OFFSET], [S.beta, S.X, S.y, OFFSET], name=f"{model}_with_offset")


def _check_targets(model, y):
    check_support(model, y, "y")
    if model == "logistic" and np.all(y == y[0]):
        raise DataError(f"every y is {int(y[0])}: the classes are perfectly separated by any direction, "
                        "and the coefficients have no maximum-likelihood estimate")
    if model == "poisson" and not np.any(y > 0):
        raise DataError("every count is 0: the Poisson coefficients have no maximum-likelihood estimate")


def _starting_point(model, X, y, offset=None):
    """The intercept-only fit when X has a constant column (zero otherwise): Newton starts close."""
    beta = np.zeros(X.shape[1])
    c = constant_column(X)
    if c is not None:
        mean = y.mean()
        if model == "logistic":
            beta[c] = math.log(mean / (1 - mean)) / X[0, c]
        else:  # Σ exp(β₀ + oᵢ) = Σ yᵢ
            exposure = len(y) if offset is None else float(np.exp(offset).sum())
            beta[c] = math.log(y.sum() / exposure) / X[0, c]
    return beta


def newton(model, evaluate, beta, names, tol, max_iter, progress, data=None, separated=None) -> FitResult:
    """Newton's method from `beta` on `evaluate(β)` = (loss, gradient, Hessian, Xβ): the derived results
    at β, computed in memory or summed over chunks. With `data` = (X, y) in memory, separated classes
    and collinear columns are diagnosed by name; `separated(β, Xβ, Hessian or None)` raises for separated
    classes (logistic's by default; softmax passes its own)."""
    X, y = data if data is not None else (None, None)
    if separated is None and model == "logistic" and data is not None:
        separated = functools.partial(_logistic_separation, X, y, names)
    history, warnings = [], []
    bar = Progress(progress, max_iter)
    loss, gradient, hessian, eta = evaluate(beta)
    converged, iteration, halvings = False, 0, 0
    step = None
    while True:
        if not np.isfinite(loss):
            raise DataError(f"the {model} loss is not finite at iteration {iteration}: the data overflow the model "
                            "(very large values in X? try rescaling the columns)")
        if step is not None and loss > history[-1] + 1e-12 * abs(history[-1]):  # no decrease: halve the step
            halvings += 1
            if halvings > 50:
                warnings.append("Newton's method could not decrease the loss further")
                beta = beta - step
                loss, gradient, hessian, eta = evaluate(beta)
                break
            step = step / 2
            beta = beta - step
            loss, gradient, hessian, eta = evaluate(beta)
            continue
        halvings = 0
        history.append(loss)
        bar.update(iteration, loss)
        if separated is not None:
            separated(beta, eta, None)
        try:
            factor, scale = _hessian_factor(hessian, X, names)
        except DataError:
            if separated is not None:  # a flat direction: name it if it separates the classes
                separated(beta, eta, hessian)
            raise
        scaled_gradient = solve_lower(factor, gradient / scale)
        decrement = float(np.sqrt(scaled_gradient @ scaled_gradient))
        step = -solve_upper(factor.T, scaled_gradient) / scale
        if decrement <= tol or iteration >= max_iter:
            converged = decrement <= tol
            if converged:  # the last step squares the remaining error; the statistics are taken there
                beta = beta + step
                iteration += 1
                loss, gradient, hessian, eta = evaluate(beta)
            break
        beta = beta + step
        iteration += 1
        loss, gradient, hessian, eta = evaluate(beta)
    bar.close()
    if separated is not None:
        separated(beta, eta, hessian)
    std_errors, condition_number = _standard_errors(None, X, y, beta, eta, hessian, names)
    if not converged:
        warnings.append(f"Newton's method did not converge in {max_iter} iterations")
    return FitResult(model, "newton", names, beta, std_errors, converged, iteration, float(loss),
                     condition_number=condition_number, warnings=warnings, history=history)


def gradient_descent(model, evaluate, hessian_at, T, gram, beta, names, tol, max_iter, progress,
                     data=None) -> FitResult:
    """Gradient descent from `beta` with the derived gradient (`evaluate(β)` = loss, gradient, Xβ or None;
    in memory or summed over chunks), in the coordinates γ where the design's columns are orthonormal
    (β = Tγ, gradient Tᵀg; T from the standardising map `T` and `gram` = XᵀX), where the curvature is as
    even across directions as the model's weights allow; XᵀX/4 bounds the logistic Hessian, which fixes
    its step. Stops when the gradient in γ has shrunk by `tol`. With `data` = (X, y) in memory, separated
    classes are diagnosed by name."""
    X, y = data if data is not None else (None, None)
    bar = Progress(progress, max_iter)
    T = orthonormalising_map(T, gram)
    # Logistic: the Hessian in γ is TᵀXᵀSXT ⪯ TᵀXᵀXT/4, so 1/L with L = ‖XT‖₂²/4 is a safe step.
    # Poisson has no global curvature bound: each trial step is the inverse curvature along the last step
    # (Barzilai–Borwein), cut back until the loss decreases enough (Armijo).
    step = 4 / np.linalg.eigvalsh(T.T @ gram @ T)[-1] if model == "logistic" else 1.0
    gamma = np.linalg.solve(T, beta)
    loss, gradient, eta = evaluate(T @ gamma)
    direction = T.T @ gradient
    first = max(float(np.linalg.norm(direction)), np.finfo(float).tiny)
    history, converged, iteration = [loss], False, 0
    while iteration < max_iter:
        norm = float(np.linalg.norm(direction))
        if norm <= tol * first:
            converged = True
            break
        if model == "logistic" and data is not None and iteration % 100 == 0:
            check_separation(X, eta.reshape(-1), y, T @ gamma, names)
        while True:
            candidate = gamma - step * direction
            with np.errstate(over="ignore", invalid="ignore"):  # a step too long overflows exp: it is halved
                new_loss, new_gradient, new_eta = evaluate(T @ candidate)
            decrease = 0.5 * step * norm ** 2
            if model == "logistic" or new_loss <= loss - decrease:  # Armijo condition
                break
            # Near the minimum the decrease is below the rounding of the loss (a sum over the rows), which
            # can no longer tell a good step: one that shrinks the gradient is taken then (where the loss is
            # nearly quadratic, exactly the steps below 2/curvature do).
            if decrease <= LOSS_ROUNDING * abs(loss) and np.linalg.norm(T.T @ new_gradient) < norm:
                break
            step /= 2
        moved, previous = candidate - gamma, direction
        gamma, loss, gradient, eta = candidate, new_loss, new_gradient, new_eta
        direction = T.T @ gradient
        if model == "poisson":  # the next trial step: the curvature along the last step (Barzilai–Borwein)
            change = float(moved @ (direction - previous))
            step = float(moved @ moved) / change if change > 0 else 2 * step
        iteration += 1
        history.append(loss)
        bar.update(iteration, loss)
    bar.close()
    beta = T @ gamma
    warnings = [] if converged else [f"gradient descent did not converge in {max_iter} iterations "
                                     f"(gradient norm {np.linalg.norm(gradient):.3g}); try --method newton"]
    std_errors, condition_number = _standard_errors(model, X, y, beta, eta, hessian_at(beta), names)
    return FitResult(model, "gd", names, beta, std_errors, converged, iteration, float(loss),
                     condition_number=condition_number, warnings=warnings, history=history)


def orthonormalising_map(T, gram):
    """T·L⁻ᵀ for the Cholesky factor L of TᵀXᵀXT (`gram` = XᵀX, T a standardising map, so that L is
    computed on a well-scaled matrix): with it the columns of the design are orthonormal, TᵀXᵀXT = I,
    and the curvature of a GLM's loss (XᵀWX) is as even across directions as its weights W are; T itself
    when the columns are collinear (the Hessian's factor names them later)."""
    try:
        L = np.linalg.cholesky(T.T @ gram @ T)
    except np.linalg.LinAlgError:
        return T
    # NOTE: a change of variables, not a solve: β = Tγ is evaluated at every step, so the map is formed once.
    return T @ solve_upper(L.T, np.eye(len(L)))


def standardising_map(means, spread, c, value):
    """T with XT = the design with its columns centred on `means` (when column c is the intercept, of
    constant `value`) and scaled by `spread` (their standard deviations, or root mean squares without an
    intercept) to unit spread; the intercept column becomes all ones."""
    d = len(means)
    T = np.zeros((d, d))
    for j in range(d):
        if j == c:
            T[j, j] = 1 / value
        else:
            T[j, j] = 1 / spread[j] if spread[j] > 0 else 1.0
            if c is not None:
                T[c, j] = -means[j] * T[j, j] / value
    return T


def _standard_errors(model, X, y, beta, eta, hessian, names):
    """√diag(H⁻¹) and the condition number of H (with its rows and columns scaled to a unit diagonal) for
    the derived Hessian H at the optimum β; DataError when H is singular because columns are collinear
    or (logistic) the classes are quasi-completely separated, for then the standard errors mean nothing."""
    factor, scale = _hessian_factor(hessian, X, names)
    if model == "logistic" and X is not None:
        check_quasi_separation(X, eta.reshape(-1), y, beta, hessian, names)
    L_inv = solve_lower(factor, np.eye(len(factor)))
    std_errors = np.sqrt(np.einsum("ij,ij->j", L_inv, L_inv)) / scale
    return std_errors, float(np.linalg.cond(factor)) ** 2


def _logistic_separation(X, y, names, beta, eta, hessian):
    """Logistic regression's separated classes: perfectly (at every iterate), or quasi-completely (given H)."""
    if hessian is None:
        check_separation(X, eta.reshape(-1), y, beta, names)
    else:
        check_quasi_separation(X, eta.reshape(-1), y, beta, hessian, names)


def _hessian_factor(H, X, names):
    """L and D with H = D·L·Lᵀ·D (D = √diag H), or DataError naming collinear columns if H is singular."""
    scale = np.sqrt(np.diag(H))
    try:
        if np.any(scale == 0) or not np.all(np.isfinite(H)):
            raise np.linalg.LinAlgError
        L = np.linalg.cholesky(H / np.outer(scale, scale))
        if np.min(np.diag(L)) ** 2 > 1e-13:
            return L, scale
    except np.linalg.LinAlgError:
        pass
    # Singular or nearly: a rank-revealing check on X itself (when in memory) says which columns are to blame.
    if X is not None:
        Rx = np.linalg.qr(X, mode="r")
        check_collinear(Rx, np.linalg.norm(X, axis=0), names, None)
    raise DataError("the Hessian is singular at these coefficients: some fitted probabilities or rates are 0 "
                    "or 1 (separated classes?), so the coefficients are not identifiable")


def _add_likelihood(model, result: FitResult, X, y, offset=None):
    """Log-likelihood and deviance: logistic's from the loss; Poisson's summed term by term (the derived
    loss omits Σ log yᵢ!, and adding it back would cancel digits)."""
    result.nobs = len(y)
    if model == "logistic":
        result.loglike = -result.loss
        result.deviance = 2 * result.loss
        return
    result.loglike, result.deviance = poisson_likelihood_terms(result.coef, X, y, offset)


def poisson_likelihood_terms(beta, X, y, offset=None) -> tuple[float, float]:
    """The log-likelihood Σ[yᵢ log μᵢ − μᵢ − log yᵢ!] and the deviance 2Σ[yᵢ log(yᵢ/μᵢ) − (yᵢ − μᵢ)], sums
    over the rows (so that chunks of rows can be added), each term in a form that does not cancel: with
    rᵢ = μᵢ/yᵢ and log yᵢ! = yᵢ log yᵢ − yᵢ + s(yᵢ) (Stirling), a term is yᵢ(log rᵢ − (rᵢ − 1)) − s(yᵢ) (and −μᵢ
    where yᵢ = 0). Summing yᵢ log μᵢ − μᵢ and log yᵢ! apart would lose their common digits: counts near 5e10
    make both about 1e14, and the log-likelihood about 1e3."""
    mu = np.exp(X @ beta + (0 if offset is None else offset))
    positive = y > 0
    t = mu[positive] / y[positive] - 1
    closeness = float(np.sum(y[positive] * (np.log1p(t) - t)))  # y(log r − (r − 1)) ≤ 0, small near r = 1
    absent = float(np.sum(mu[~positive]))  # rows with yᵢ = 0: their term is −μᵢ
    counts, repeats = np.unique(y[positive], return_counts=True)
    stirling = sum(k * _stirling_remainder(c) for c, k in zip(counts.tolist(), repeats.tolist()))
    return closeness - absent - stirling, 2 * (absent - closeness)


def _stirling_remainder(y: float) -> float:
    """s(y) = log y! − (y log y − y) for a count y ≥ 1: directly below 100 (log y! ≤ 364 loses no digit),
    else by Stirling's series ½ log(2πy) + 1/(12y) − 1/(360y³) + 1/(1260y⁵) (next term < 1e-17)."""
    if y < 100:
        return math.lgamma(y + 1) - (y * math.log(y) - y)
    return 0.5 * math.log(2 * math.pi * y) + 1 / (12 * y) - 1 / (360 * y ** 3) + 1 / (1260 * y ** 5)
