"""Ols and ridge: solve the least-squares problem by the chosen method, then the fit's statistics
(standard errors σ̂·√diag((XᵀX)⁻¹), residual SD, R², the conditioning warning), exactly rounded from exact
values when the solution was exact."""
from __future__ import annotations

import math
from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np

from derive.errors import DataError, NotSupported
from derive.fitting.design_columns import (
    check_finite,
    column_scale,
    constant_column,
    first_invalid,
    per_row_error,
    power_of_two_scale,
)
from derive.fitting.exact_least_squares import exact_least_squares, fraction
from derive.fitting.least_squares import (
    LeastSquaresSolution,
    cholesky_least_squares,
    normal_equations,
    qr_least_squares,
)
from derive.fitting.result import FitResult

# `auto` computes exactly when n·d² (the size of the exact Gram matrix) is at most this.
EXACT_WORK_LIMIT = 200_000
# Above this condition number (of the centred and scaled design) results are flagged ill-conditioned.
ILL_CONDITIONED = 1e8


def fit_linear(model, X, y, method, lam, names, exact_data) -> FitResult:
    """The fit on the data scaled by powers of two (exact in binary floating point: no digit is lost),
    so that values near 1e±300 neither overflow nor look constant, then the result in the data's units.

    X and y are checked to be finite here (ValueAtRow names the first value that is not). The cholesky
    method reads X once: XᵀX is formed first, and its diagonal both shows that every value is finite
    (a NaN or ±inf reaches it) and gives the columns' sums of squares that decide the scaling."""
    sums = normal_equations(X, y) if method == "cholesky" else None
    if sums is None or not sums.finite:
        check_finite(X, y, names)
    # λ‖β‖² fixes β's units
    scale = np.ones(X.shape[1]) if lam else column_scale(X, None if sums is None else sums.column_squares)
    y_scale = power_of_two_scale(np.max(np.abs(y)))  # a numpy float: y_scale ** 2 overflows to inf, not an error
    if np.all(scale == 1) and y_scale == 1:
        return _fit_linear(model, X, y, method, lam, names, exact_data, sums)
    def scaled_exact():  # the exact data (by default the shortest decimals of the unscaled floats), scaled
        data = exact_data() if callable(exact_data) else exact_data
        rows, targets = data if data is not None else (
            [[fraction(v) for v in row] for row in X.tolist()], [fraction(v) for v in y.tolist()])
        factors = [fraction(1 / s) for s in scale]
        return ([[Fraction(v) * f for v, f in zip(row, factors)] for row in rows],
                [Fraction(v) * fraction(1 / y_scale) for v in targets])
    with np.errstate(over="ignore"):
        result = _fit_linear(model, X / scale, y / y_scale, method, lam, names, scaled_exact)
    return in_data_units(result, scale, y_scale, len(y))


def in_data_units(result: FitResult, scale, y_scale, n) -> FitResult:
    """The result of a fit to X/scale and y/y_scale (powers of two) in the data's units; DataError when its
    values are too large for double precision."""
    with np.errstate(over="ignore"):
        units = y_scale / scale
        result.coef = result.coef * units
        if result.std_errors is not None:
            result.std_errors = result.std_errors * units
        result.loss *= y_scale ** 2
        if result.residual_sd is not None:
            result.residual_sd *= y_scale
        if result.loglike is not None:
            result.loglike -= n * math.log(float(y_scale))
    values = [result.loss, *result.coef, *(result.std_errors if result.std_errors is not None else [])]
    if not np.all(np.isfinite(values)):
        raise DataError("the fit's values are too large to fit in double precision (at most about 1.8e308): "
                        "y is too large for its residual sum of squares to be represented; rescale y (divide it by a "
                        "power of ten)")
    return result


def _fit_linear(model, X, y, method, lam, names, exact_data, sums=None) -> FitResult:
    """`sums`: the normal equations of X and y, when they were formed already."""
    n, d = X.shape
    if method == "auto":
        method = "exact" if n * d * d <= EXACT_WORK_LIMIT else "qr"
    if method == "exact":
        solution = exact_least_squares(X, y, lam, names, exact_data)
    elif method == "cholesky":
        solution = cholesky_least_squares(X, y, lam, names, sums)
    else:
        solution = qr_least_squares(X, y, lam, names)
    return _linear_result(model, X, y, lam, names, solution)


def _linear_result(model, X, y, lam, names, s: LeastSquaresSolution) -> FitResult:
    n, d = X.shape
    intercept = constant_column(X) is not None
    warnings = list(s.warnings)
    if s.condition_number is not None and s.condition_number > ILL_CONDITIONED:
        digits = math.log10(s.condition_number)
        note = ("exact arithmetic is unaffected" if s.method == "exact" else
                f"floating-point methods may lose about {digits:.0f} of 16 digits")
        warnings.append(f"the design is ill-conditioned (condition number {s.condition_number:.2g} after "
                        f"centring and scaling the columns): {note}")
    df = n - d
    if s.exact is not None:  # statistics exactly rounded from exact values: rss is a Fraction
        coef_q, rss, _ = s.exact
        loss = float(rss + (fraction(lam) * sum(c * c for c in coef_q) if lam else 0))
    else:
        rss = s.rss
        loss = rss + (lam * float(s.coef @ s.coef) if lam else 0.0)
    std_errors = residual_sd = None
    if model == "ols" and df > 0:
        variance = rss / df
        residual_sd = _sqrt(variance)
        std_errors = np.array([_sqrt(variance * v) for v in s.inverse_gram_diagonal])
    elif model == "ols":
        warnings.append("no residual degrees of freedom (as many rows as parameters): no standard errors")
    total = _total_sum_of_squares(y, intercept, s)
    r_squared = None if total == 0 else float(1 - rss / total)
    # The Gaussian log-likelihood at the MLE σ̂² = RSS/n, as statsmodels' OLS reports it.
    loglike = -n / 2 * (math.log(2 * math.pi * float(rss) / n) + 1) if model == "ols" and rss > 0 else None
    return FitResult(model, s.method, names, s.coef, std_errors, True, None, loss, residual_sd, r_squared,
                     loglike=loglike, condition_number=s.condition_number, lam=lam, warnings=warnings, nobs=n)


def _sqrt(value) -> float:
    """√value, correctly rounded also when value is an exact Fraction."""
    if isinstance(value, Fraction):
        with localcontext() as context:
            context.prec = 40
            return float((Decimal(value.numerator) / Decimal(value.denominator)).sqrt())
    return math.sqrt(value)


def _total_sum_of_squares(y, intercept, s: LeastSquaresSolution):
    """Σ(y − ȳ)² with an intercept, Σy² without (the uncentred R² NIST uses for NoInt1/2); exact when the
    fit was."""
    if s.exact is not None:
        values = s.exact[2]
        total = sum(v * v for v in values)
        return total - sum(values) ** 2 / len(values) if intercept else total
    centred = y - y.mean() if intercept else y
    return float(centred @ centred)


def fit_weighted(model, X, y, weights, method, lam, names) -> FitResult:
    """Weighted least squares, Σ wᵢ(yᵢ − xᵢᵀβ)² (+ λ‖β‖²): least squares of √w·y on √w·X, with the
    statistics statsmodels' WLS reports (R² about the weighted mean, the log-likelihood of yᵢ ~ N(xᵢᵀβ, σ²/wᵢ))."""
    weights = np.asarray(weights, dtype=float).reshape(-1)
    if len(weights) != len(y):
        raise DataError(f"{len(weights)} weights for {len(y)} rows")
    bad = first_invalid("weights", weights)
    if bad is not None:
        raise per_row_error("weights", weights[bad], bad)
    if not np.any(weights > 0):
        raise DataError("every weight is 0: no row takes part in the fit")
    check_finite(X, y, names)  # here, where the values are the caller's (√w·X may overflow)
    if method == "exact":
        raise NotSupported("exact arithmetic with weights is not implemented (√w is irrational): "
                           "use --method qr or cholesky")
    root = np.sqrt(weights)
    result = fit_linear(model, X * root[:, None], y * root, "qr" if method == "auto" else method, lam, names, None)
    if constant_column(X) is not None:
        mean = float(weights @ y / weights.sum())
        total = float(weights @ (y - mean) ** 2)
    else:
        total = float(weights @ (y * y))
    log_weights = float(np.sum(np.log(weights))) if np.all(weights > 0) else None
    return weighted_statistics(result, lam, total, log_weights)


def weighted_statistics(result: FitResult, lam, total, log_weights) -> FitResult:
    """The fit of √w·y on √w·X with the statistics statsmodels' WLS reports: R² about the weighted mean
    (`total` = Σ wᵢ(yᵢ − ȳ_w)², or Σ wᵢyᵢ² without an intercept) and the log-likelihood of
    yᵢ ~ N(xᵢᵀβ, σ²/wᵢ) (`log_weights` = Σ log wᵢ; None when a weight is 0, and then no log-likelihood)."""
    rss = result.loss - (lam * float(result.coef @ result.coef) if lam else 0.0)
    result.r_squared = None if total == 0 else 1 - rss / total
    if result.loglike is not None:
        result.loglike = result.loglike + 0.5 * log_weights if log_weights is not None else None
    result.notes.append("weighted least squares: the loss is Σ wᵢ(yᵢ − xᵢᵀβ)²")
    return result
