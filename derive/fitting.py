"""Fitting models to data with the derived formulas, as accurately as the best statistics packages.

`fit(model, X, y, method)` returns a `FitResult`. X is used as given (no intercept is added; `derive.data`
adds one for the command line), y is a vector.

Linear models, loss ‖y − Xβ‖² (+ λ‖β‖² for ridge, on every column of X as given: the derived formula,
and scikit-learn's `Ridge(fit_intercept=False)`):
- `exact`: the normal equations XᵀXβ = Xᵀy (+ λβ) solved in exact rational arithmetic on the decimal
  numbers themselves (the text in the file, or the shortest decimal of each float), by fraction-free
  (Bareiss) elimination on integers. Reproduces NIST's certified values to the last digit.
- `qr`: the R factor of the centred design (Householder QR; for tall, well-conditioned data, the Cholesky
  factor of the centred Gram matrix, one pass over X), then corrected semi-normal equations: residuals
  and Xᵀr in double-double arithmetic, and RᵀRδ = Xᵀr, until the correction is negligible.
- `cholesky`: the normal equations in floating point, formed in one pass over X; falls back to `qr`
  (with a warning) when the scaled XᵀX is too ill-conditioned to trust.
- `auto`: `exact` when the data are small enough for it to be quick, `qr` otherwise.
Standard errors are σ̂·√diag((XᵀX)⁻¹), from the triangular factor (never an inverse of XᵀX).

Logistic and Poisson regression (loss = negative log-likelihood):
- `newton` (= `auto`): Newton/IRLS with the lambdified derived loss, gradient and Hessian, step halving
  when the loss does not decrease, stopping when the Newton decrement √(gᵀH⁻¹g) — which bounds each
  coefficient's remaining error in standard errors — is below `tol`.
- `gd`: gradient descent with the derived gradient, step 1/L from the bound L = ‖X‖₂²/4 on the logistic
  Hessian; backtracking for Poisson, whose curvature has no global bound.
Standard errors are √diag(H⁻¹) for the derived Hessian H at the optimum, from its Cholesky factor.

Bad data raises `DataError`: collinear columns (naming them), separated classes (naming the separating
direction), y outside {0, 1} for logistic, negative or fractional counts for Poisson.
"""
from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Sequence

import numpy as np

from . import symbols as S
from .errors import DataError, NotSupported
from .codegen import lambdify_results

METHODS = {
    "ols": ("auto", "exact", "qr", "cholesky"),
    "ridge": ("auto", "exact", "qr", "cholesky"),
    "logistic": ("auto", "newton", "gd"),
    "poisson": ("auto", "newton", "gd"),
}
# `auto` computes exactly when n·d² (the size of the exact Gram matrix) is at most this.
EXACT_WORK_LIMIT = 200_000
# A column whose distance from the span of the previous columns is below this fraction of its norm is
# taken as a linear combination of them (exactly collinear columns give ~1e-16 in floating point).
COLLINEAR = 1e-11
# Above this condition number (of the centred and scaled design) results are flagged ill-conditioned.
ILL_CONDITIONED = 1e8
# The cholesky method trusts the normal equations up to this condition number of the scaled XᵀX
# (they lose about log10 of it in digits).
CHOLESKY_LIMIT = 1e6
# The one-pass R factor (Cholesky of the centred Gram matrix) is used up to this condition number:
# each semi-normal correction then gains a factor κ²ε ≤ 1e-4.
TALL_LIMIT = 1e6
# Designs with more cells than this use the one-pass R factor and double-precision corrections.
TALL_CELLS = 4_000_000
# Rows per block (about 2 MB) when accumulating Gram matrices, so each block is in cache when BLAS reads
# it again.
BLOCK_BYTES = 1 << 21


@dataclass
class FitResult:
    """A fitted model. `coef` and `std_errors` are in the order of X's columns (`names`)."""
    model: str
    method: str
    names: list[str]
    coef: np.ndarray
    std_errors: np.ndarray | None
    converged: bool
    iterations: int | None
    loss: float
    residual_sd: float | None = None
    r_squared: float | None = None
    loglike: float | None = None
    deviance: float | None = None
    condition_number: float | None = None
    lam: float | None = None
    warnings: list[str] = field(default_factory=list)
    history: list[float] = field(default_factory=list)  # the loss at each iteration of an iterative method

    def summary(self) -> str:
        """A table for the terminal: coefficients, standard errors and the fit's statistics."""
        width = max(len(n) for n in self.names + ["coefficient"])
        lines = [f"{self.model} fit by {self.method}" + (f" (λ = {self.lam:g})" if self.lam is not None else ""),
                 f"{'':<{width}}  {'estimate':>22}  {'std. error':>12}"]
        errors = self.std_errors if self.std_errors is not None else [None] * len(self.names)
        for name, value, error in zip(self.names, self.coef, errors):
            lines.append(f"{name:<{width}}  {value:>22.15g}  " + (f"{error:>12.6g}" if error is not None else f"{'—':>12}"))
        facts = [("loss", self.loss), ("residual SD", self.residual_sd), ("R²", self.r_squared),
                 ("log-likelihood", self.loglike), ("deviance", self.deviance),
                 ("condition number", self.condition_number)]
        lines += [f"{label}: {value:.10g}" for label, value in facts if value is not None]
        if self.iterations is not None:
            lines.append(f"{'converged' if self.converged else 'NOT converged'} after {self.iterations} iterations")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """The JSON of `derive fit --json` (DESIGN §4), with the extra statistics after the fixed keys."""
        def named(values):
            return None if values is None else {k: float(v) for k, v in zip(self.names, values)}
        return {
            "model": self.model, "method": self.method,
            "coefficients": named(self.coef), "std_errors": named(self.std_errors),
            "converged": self.converged, "iterations": self.iterations, "loss": float(self.loss),
            "residual_sd": self.residual_sd, "r_squared": self.r_squared, "loglike": self.loglike,
            "deviance": self.deviance, "condition_number": self.condition_number, "lam": self.lam,
            "warnings": list(self.warnings),
        }


def fit(model: str, X, y, method: str = "auto", *, lam: float | None = None, names: Sequence[str] | None = None,
        exact_data=None, tol: float | None = None, max_iter: int | None = None, progress: bool | None = None
        ) -> FitResult:
    """Fit `model` to X (n×d, as given) and y (n) with `method` (see the module docstring).

    `exact_data` = (rows of X, y) as `Fraction`s (or decimal strings) for the exact method; by default the
    shortest decimal of each float. `tol`, `max_iter` tune the iterative methods. `progress` shows a
    progress line on stderr for iterative fits longer than a second (default: when stderr is a terminal).
    """
    if model not in METHODS:
        raise NotSupported(f"cannot fit {model!r}; fit supports: {', '.join(METHODS)}")
    if method not in METHODS[model]:
        raise NotSupported(f"method {method!r} does not apply to {model}; use one of: {', '.join(METHODS[model])}")
    X, y, names = _validated(X, y, names)
    if model == "ridge":
        if lam is None or not np.isfinite(lam) or lam < 0:
            raise DataError("ridge needs its penalty λ ≥ 0: give --lam on the command line, lam= in Python")
    elif lam is not None:
        raise NotSupported(f"lam (the ridge penalty) does not apply to {model}")
    if model in ("ols", "ridge"):
        return _fit_linear(model, X, y, method, lam, names, exact_data)
    return _fit_glm(model, X, y, method, names, tol, max_iter, progress)


def _validated(X, y, names):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2:
        raise DataError(f"X must be a matrix (n×d); got an array of shape {X.shape}")
    y = y.reshape(-1) if y.ndim == 2 and 1 in y.shape else y
    if y.ndim != 1 or len(y) != len(X):
        raise DataError(f"y must be a vector of the {len(X)} rows of X; got shape {np.shape(y)}")
    n, d = X.shape
    names = [f"x{j + 1}" for j in range(d)] if names is None else [str(v) for v in names]
    if len(names) != d:
        raise DataError(f"{len(names)} names for {d} columns")
    for values, what in ((X, "X"), (y, "y")):
        if np.isfinite(values).all():
            continue
        bad = np.argwhere(~np.isfinite(values))
        if bad.size:
            i, *j = bad[0]
            where = f"row {i + 1}" + (f", column {names[j[0]]!r}" if j else "")
            raise DataError(f"{what} has a {'NaN' if np.isnan(values[tuple(bad[0])]) else 'infinite'} value "
                            f"at {where}")
    if d == 0:
        raise DataError("X has no columns")
    if n < d:
        raise DataError(f"{n} rows are fewer than the {d} parameters to fit")
    return X, y, names


def _constant_column(X) -> int | None:
    """The index of a nonzero constant column (an intercept), if X has one."""
    if len(X) < 2:
        return None
    for j in np.flatnonzero((X[1] == X[0]) & (X[0] != 0)):  # candidates from two rows, then checked
        if np.all(X[:, j] == X[0, j]):
            return int(j)
    return None


# ----------------------------------------------------------------------------------------------------
# Triangular algebra with numpy alone: `np.linalg.solve` on an upper-triangular matrix does no pivoting
# (every entry below the diagonal is zero), so it is back substitution; lower-triangular systems are
# solved as upper ones by reversing the order of rows and columns.

def _solve_upper(R, b):
    return np.linalg.solve(R, b)


def _solve_lower(L, b):
    return np.linalg.solve(L[::-1, ::-1], b[::-1])[::-1]


def _inverse_gram_diagonal(R):
    """diag((RᵀR)⁻¹) = squared row norms of R⁻¹, for the standard errors."""
    R_inv = _solve_upper(R, np.eye(len(R)))
    return np.einsum("ij,ij->i", R_inv, R_inv)


def _condition(R):
    """The condition number of an upper-triangular factor with its columns scaled to unit norm."""
    norms = np.linalg.norm(R, axis=0)
    return float(np.linalg.cond(R / np.where(norms > 0, norms, 1.0)))


# ----------------------------------------------------------------------------------------------------
# Double-double arithmetic (Dekker, Knuth): exact products and sums of floats as pairs hi + lo.

_SPLITTER = 134217729.0  # 2^27 + 1


def _two_product(a, b):
    """a·b = p + e exactly."""
    p = a * b
    ca, cb = _SPLITTER * a, _SPLITTER * b
    a_hi, b_hi = ca - (ca - a), cb - (cb - b)
    a_lo, b_lo = a - a_hi, b - b_hi
    return p, ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


def _two_sum(a, b):
    """a + b = s + e exactly."""
    s = a + b
    v = s - a
    return s, (a - (s - v)) + (b - v)


def _residual_and_gradient(X, y, beta, extended: bool):
    """r = y − Xβ and g = Xᵀr. With `extended`, both in about twice double precision: that is what lets
    the semi-normal correction recover digits that the factorisation lost (Xᵀr cancels to ~0 at the
    solution)."""
    if not extended:
        r = y - X @ beta
        return r, X.T @ r
    hi, lo = y.copy(), np.zeros_like(y)
    for j in range(X.shape[1]):
        p, e = _two_product(X[:, j], -beta[j])
        hi, err = _two_sum(hi, p)
        lo += err + e
    r_hi, r_lo = _two_sum(hi, lo)
    g = np.empty(X.shape[1])
    for j in range(X.shape[1]):
        p, e = _two_product(X[:, j], r_hi)
        g[j] = math.fsum(np.concatenate([p, e, X[:, j] * r_lo]).tolist())
    return r_hi, g


# ----------------------------------------------------------------------------------------------------
# Linear least squares (ols, ridge).

@dataclass
class _LinearSolution:
    coef: np.ndarray
    rss: float
    inverse_gram_diagonal: np.ndarray | None  # diag((XᵀX)⁻¹), or None (ridge)
    condition_number: float | None
    method: str
    warnings: list[str] = field(default_factory=list)
    exact: tuple | None = None  # (coef, rss, y) as Fractions, for exactly rounded statistics


def _fit_linear(model, X, y, method, lam, names, exact_data) -> FitResult:
    n, d = X.shape
    if method == "auto":
        method = "exact" if n * d * d <= EXACT_WORK_LIMIT else "qr"
    if method == "exact":
        solution = _exact_least_squares(X, y, lam, names, exact_data)
    elif method == "cholesky":
        solution = _cholesky_least_squares(X, y, lam, names)
    else:
        solution = _qr_least_squares(X, y, lam, names)
    return _linear_result(model, X, y, lam, names, solution)


def _linear_result(model, X, y, lam, names, s: _LinearSolution) -> FitResult:
    n, d = X.shape
    intercept = _constant_column(X) is not None
    warnings = list(s.warnings)
    if s.condition_number is not None and s.condition_number > ILL_CONDITIONED:
        digits = math.log10(s.condition_number)
        note = ("exact arithmetic is unaffected" if s.method == "exact" else
                f"floating-point methods may lose about {digits:.0f} of 16 digits")
        warnings.append(f"the design is ill-conditioned (condition number {s.condition_number:.2g} after "
                        f"centring and scaling the columns): {note}")
    df = n - d
    if s.exact is not None:  # statistics exactly rounded from exact values
        coef_q, rss_q, _ = s.exact
        loss_q = rss_q + (_fraction(lam) * sum(c * c for c in coef_q) if lam else 0)
        rss, loss = float(rss_q), float(loss_q)
    else:
        rss = s.rss
        loss = rss + (lam * float(s.coef @ s.coef) if lam else 0.0)
    std_errors = residual_sd = None
    if model == "ols" and df > 0:
        variance = (s.exact[1] / df) if s.exact is not None else rss / df
        residual_sd = _sqrt(variance)
        std_errors = np.array([_sqrt(variance * v) for v in s.inverse_gram_diagonal])
    elif model == "ols":
        warnings.append("no residual degrees of freedom (as many rows as parameters): no standard errors")
    total = _total_sum_of_squares(y, intercept, s)
    r_squared = None if total == 0 else float(1 - (s.exact[1] if s.exact else rss) / total)
    return FitResult(model, s.method, names, s.coef, std_errors, True, None, loss, residual_sd, r_squared,
                     condition_number=s.condition_number, lam=lam, warnings=warnings)


def _sqrt(value) -> float:
    """√value, correctly rounded also when value is an exact Fraction."""
    if isinstance(value, Fraction):
        with localcontext() as context:
            context.prec = 40
            return float((Decimal(value.numerator) / Decimal(value.denominator)).sqrt())
    return math.sqrt(value)


def _total_sum_of_squares(y, intercept, s: _LinearSolution):
    """Σ(y − ȳ)² with an intercept, Σy² without (the uncentred R² NIST uses for NoInt1/2); exact when the
    fit was."""
    if s.exact is not None:
        values = s.exact[2]
        total = sum(v * v for v in values)
        return total - sum(values) ** 2 / len(values) if intercept else total
    centred = y - y.mean() if intercept else y
    return float(centred @ centred)


# -- exact

def _exact_least_squares(X, y, lam, names, exact_data) -> _LinearSolution:
    rows, targets = _exact_values(X, y, exact_data)
    n, d = len(rows), len(names)
    # Integers: column j scaled by the common denominator D_j of its entries, y by D_y.
    scales = [_common_denominator(row[j] for row in rows) for j in range(d)]
    y_scale = _common_denominator(targets)
    A = np.array([[int(row[j] * scales[j]) for j in range(d)] for row in rows], dtype=object).reshape(n, d)
    t = np.array([int(v * y_scale) for v in targets], dtype=object)
    G, b = A.T.dot(A), A.T.dot(t)
    system = [[int(v) for v in G_row] for G_row in G]
    rhs = [int(v) for v in b]
    if lam:
        q = _fraction(lam)
        system = [[v * q.denominator + (q.numerator * scales[i] ** 2 if i == j else 0) for j, v in enumerate(row)]
                  for i, row in enumerate(system)]
        rhs = [v * q.denominator for v in rhs]
    identity = [[int(i == j) for j in range(d)] for i in range(d)]
    det, solutions = _bareiss_solve(system, [rhs] + identity, names)
    z = [Fraction(v, det) for v in solutions[0]]
    coef_q = [z[j] * scales[j] / y_scale for j in range(d)]
    # ‖y − Xβ‖² = (tᵀt − 2zᵀb + zᵀGz)/D_y², with the unpenalised G.
    Gz = [sum(int(G[i, j]) * z[j] for j in range(d)) for i in range(d)]
    tt = sum(int(v) * int(v) for v in t)
    rss_q = (tt - 2 * sum(z[i] * int(b[i]) for i in range(d)) + sum(z[i] * Gz[i] for i in range(d))) / y_scale ** 2
    # Ridge (λ > 0) is well posed even for collinear columns: no standard errors, no collinearity check.
    inverse_diagonal = None if lam else [Fraction(solutions[1 + j][j], det) * scales[j] ** 2 for j in range(d)]
    return _LinearSolution(np.array([float(c) for c in coef_q]), float(rss_q), inverse_diagonal,
                           None if lam else _design_condition(X, names), "exact", exact=(coef_q, rss_q, targets))


def _fraction(value) -> Fraction:
    """A number as an exact fraction: a float by its shortest decimal (what was typed)."""
    return value if isinstance(value, Fraction) else Fraction(repr(float(value)))


def _exact_values(X, y, exact_data):
    if exact_data is None:  # the shortest decimal that reads back as each float: what was typed
        return [[_fraction(v) for v in row] for row in X.tolist()], [_fraction(v) for v in y.tolist()]
    rows, targets = exact_data
    try:
        rows = [[Fraction(v) for v in row] for row in rows]
        targets = [Fraction(v) for v in targets]
    except (TypeError, ValueError) as error:
        raise DataError(f"exact arithmetic needs rational data: {error}") from None
    if len(rows) != len(X) or any(len(row) != X.shape[1] for row in rows) or len(targets) != len(y):
        raise DataError("the exact data do not have the shape of X and y")
    return rows, targets


def _common_denominator(values) -> int:
    result = 1
    for v in values:
        result = math.lcm(result, v.denominator)
    return result


def _bareiss_solve(M, right_hand_sides, names):
    """Solve the symmetric positive (semi)definite integer system M·x = r for each r, fraction-free.

    Returns det(M) and, for each r, the integers det(M)·x (Cramer: they are integers). No pivoting: for a
    Gram matrix a zero pivot k means column k is a combination of the columns before it.
    """
    d = len(M)
    A = [list(M[i]) + [r[i] for r in right_hand_sides] for i in range(d)]
    width = len(A[0])
    previous = 1
    for k in range(d):
        if A[k][k] == 0:
            raise DataError(_collinear_message_exact(M, k, names))
        pivot_row = A[k]
        for i in range(k + 1, d):
            row = A[i]
            factor = row[k]
            for j in range(k + 1, width):
                row[j] = (row[j] * pivot_row[k] - factor * pivot_row[j]) // previous
            row[k] = 0
        previous = pivot_row[k]
    det = A[d - 1][d - 1]
    solutions = []
    for c in range(d, width):
        x = [0] * d
        for i in range(d - 1, -1, -1):
            total = det * A[i][c] - sum(A[i][j] * x[j] for j in range(i + 1, d))
            x[i] = total // A[i][i]
        solutions.append(x)
    return det, solutions


def _collinear_message_exact(G, k, names):
    """Which earlier columns column k is a combination of: solve G[:k,:k] c = G[:k,k] exactly."""
    if k == 0 or G[k][k] == 0:
        return f"{names[k]} is all zeros"
    A = [[Fraction(G[i][j]) for j in range(k)] + [Fraction(G[i][k])] for i in range(k)]
    for p in range(k):
        pivot = next(i for i in range(p, k) if A[i][p] != 0)
        A[p], A[pivot] = A[pivot], A[p]
        for i in range(k):
            if i != p and A[i][p] != 0:
                f = A[i][p] / A[p][p]
                A[i] = [a - f * b for a, b in zip(A[i], A[p])]
    involved = [names[i] for i in range(k) if A[i][k] != 0]
    return _collinear_text(names[k], involved)


def _collinear_text(column, involved):
    others = ", ".join(involved) if involved else "the columns before it"
    return (f"collinear columns: {column} is a linear combination of {others}; "
            "drop one of them (the coefficients are not identifiable)")


def _design_condition(X, names):
    """The condition number of the design with its columns centred (when there is an intercept) and
    scaled to unit norm, the usual measure of how many digits floating point can lose; DataError if a
    column is a combination of others to within rounding (then even exact results mean nothing)."""
    c = _constant_column(X)
    if c is not None and X.shape[1] == 1:
        c = None
    keep = [j for j in range(X.shape[1]) if j != c]
    Z = X[:, keep] - X[:, keep].mean(axis=0) if c is not None else X
    if Z.shape[1] == 0:
        return 1.0
    R = np.linalg.qr(Z, mode="r")
    _check_collinear(R, np.linalg.norm(Z, axis=0), [names[j] for j in keep], names[c] if c is not None else None)
    return _condition(R)


# -- floating point

def _gram(X, y, means=None):
    """[X y]ᵀ[X y] in one pass over X, block by block while each block is in cache; the columns centred
    at `means` (a vector over all columns) when given."""
    n, d = X.shape
    rows = max(1, BLOCK_BYTES // (8 * d))
    G, b, tt = np.zeros((d, d)), np.zeros(d), 0.0
    y_mean = y.mean() if means is not None else 0.0
    for start in range(0, n, rows):
        block = X[start:start + rows]
        target = y[start:start + rows]
        if means is not None:
            block, target = block - means, target - y_mean
        G += block.T @ block
        b += block.T @ target
        tt += target @ target
    return G, b, tt


def _qr_least_squares(X, y, lam, names) -> _LinearSolution:
    n, d = X.shape
    penalised = bool(lam)
    c = None if penalised else _constant_column(X)
    if c is not None and d == 1:
        c = None
    keep = [j for j in range(d) if j != c]
    warnings = []
    R = None
    if not penalised and n * d > TALL_CELLS:
        R = _tall_factor(X, y, c, keep)
        if R is None:
            warnings.append("the one-pass factorisation was too ill-conditioned; used Householder QR")
    if R is None:
        R, column_norms = _householder_factor(X, y, lam, c, keep)
    else:
        column_norms = np.sqrt(np.maximum(np.einsum("ij,ij->j", R, R), 0))
    _check_collinear(R, column_norms, [names[j] for j in keep], names[c] if c is not None else None)
    means = X.mean(axis=0)[keep] if c is not None else None
    coef, r = _refined_solution(X, y, lam, R, c, keep, means, extended=n * d <= TALL_CELLS)
    rss = float(r @ r)
    inverse_diagonal = None
    if not penalised:
        inner = _inverse_gram_diagonal(R)
        inverse_diagonal = np.empty(d)
        inverse_diagonal[keep] = inner
        if c is not None:  # var(β_c)/σ² = (1/n + ‖R⁻ᵀm‖²)/c² for the constant column value c
            u = _solve_lower(R.T, means)
            inverse_diagonal[c] = (1 / n + u @ u) / X[0, c] ** 2
    return _LinearSolution(coef, rss, inverse_diagonal, _condition(R), "qr", warnings)


def _householder_factor(X, y, lam, c, keep):
    """R of the Householder QR of [Z t] (Z, t: the design and y, centred when there is an intercept;
    for ridge, with √λ·I stacked under Z), and the column norms of Z."""
    n = len(X)
    Z = X[:, keep]
    if c is not None:
        Z = Z - Z.mean(axis=0)
    if lam:
        Z = np.vstack([Z, math.sqrt(lam) * np.eye(len(keep))])
    A = np.empty((len(Z), len(keep) + 1))
    A[:, :-1] = Z
    A[:n, -1] = y - y.mean() if c is not None else y
    A[n:, -1] = 0
    R = np.linalg.qr(A, mode="r")[:-1, :-1]
    return R, np.linalg.norm(Z, axis=0)


def _tall_factor(X, y, c, keep):
    """R from the Cholesky factor of the centred Gram matrix, formed in one pass over X; None when it is
    too ill-conditioned for semi-normal corrections to converge quickly."""
    means = X.mean(axis=0) if c is not None else None
    G, _, _ = _gram(X, y, means)
    G = G[np.ix_(keep, keep)]
    scale = np.sqrt(np.diag(G))
    if np.any(scale == 0):
        return None
    try:
        L = np.linalg.cholesky(G / np.outer(scale, scale))
    except np.linalg.LinAlgError:
        return None
    R = L.T * scale
    return R if _condition(R) <= TALL_LIMIT else None


def _refined_solution(X, y, lam, R, c, keep, means, extended):
    """β from RᵀRβ = Xᵀy (+ the centring algebra), corrected while the corrections matter: each step
    solves RᵀRδ_Z = Xᵀr − λβ (Schur complement of the intercept when centred). Returns β and the
    residual at the last β evaluated (the final correction is negligible, and the residual sum of
    squares is stationary at the solution)."""
    n, d = X.shape
    beta = np.zeros(d)
    for _ in range(4):
        r, g = _residual_and_gradient(X, y, beta, extended) if beta.any() else (y, X.T @ y)
        if lam:
            g = g - lam * beta
        delta = np.zeros(d)
        if c is None:
            delta[keep] = _solve_upper(R, _solve_lower(R.T, g[keep]))
        else:
            value = X[0, c]
            g_c = g[c] / value
            delta[keep] = _solve_upper(R, _solve_lower(R.T, g[keep] - means * g_c))
            delta[c] = (g_c / n - means @ delta[keep]) / value
        beta = beta + delta
        if np.all(np.abs(delta) <= 4 * np.finfo(float).eps * np.abs(beta)):
            break
    return beta, r


def _check_collinear(R, column_norms, names, intercept_name):
    """DataError naming the columns if one is (numerically) a combination of the ones before it."""
    for k in range(len(R)):
        if column_norms[k] == 0 or abs(R[k, k]) <= COLLINEAR * column_norms[k]:
            if column_norms[k] == 0:
                raise DataError(f"{names[k]} is constant, like the intercept" if intercept_name
                                else f"{names[k]} is all zeros")
            coefficients = _solve_upper(R[:k, :k], R[:k, k]) if k else np.zeros(0)
            involved = [names[j] for j in range(k) if abs(coefficients[j]) * column_norms[j] > 1e-8 * column_norms[k]]
            if intercept_name:
                involved.append(intercept_name)
            raise DataError(_collinear_text(names[k], involved))


def _cholesky_least_squares(X, y, lam, names) -> _LinearSolution:
    n, d = X.shape
    G, b, _ = _gram(X, y)
    if lam:
        G[np.diag_indices(d)] += lam
    scale = np.sqrt(np.diag(G))
    if np.any(scale == 0):
        return _qr_least_squares(X, y, lam, names)
    Gs = G / np.outer(scale, scale)
    condition = float(np.linalg.cond(Gs))
    try:
        L = np.linalg.cholesky(Gs) if condition <= CHOLESKY_LIMIT else None
    except np.linalg.LinAlgError:
        L = None
    if L is None:
        fallback = _qr_least_squares(X, y, lam, names)
        fallback.warnings.insert(0, f"XᵀX is too ill-conditioned for the normal equations (condition number "
                                    f"{condition:.2g} after scaling); solved by QR instead")
        return fallback
    R = L.T * scale  # XᵀX (+ λI) = RᵀR
    coef = _solve_upper(R, _solve_lower(R.T, b))
    r = y - X @ coef
    inverse_diagonal = None if lam else _inverse_gram_diagonal(R)
    return _LinearSolution(coef, float(r @ r), inverse_diagonal, math.sqrt(condition), "cholesky")


# ----------------------------------------------------------------------------------------------------
# Logistic and Poisson regression.

def _fit_glm(model, X, y, method, names, tol, max_iter, progress) -> FitResult:
    _check_targets(model, y)
    functions = lambdify_results(model, ("loss", "gradient", "hessian"), (S.X * S.beta,))
    beta = _starting_point(model, X, y)
    if method in ("auto", "newton"):
        result = _newton(model, functions, X, y, beta, names, tol or 1e-8, max_iter or 100, progress)
    else:
        result = _gradient_descent(model, X, y, beta, names, tol or 1e-6, max_iter or 100_000, progress)
    _add_likelihood(model, result, X, y)
    return result


def _check_targets(model, y):
    if model == "logistic":
        bad = np.flatnonzero((y != 0) & (y != 1))
        if bad.size:
            raise DataError(f"logistic regression needs y in {{0, 1}}; y = {float(y[bad[0]])!r} at row {bad[0] + 1}")
        if np.all(y == y[0]):
            raise DataError(f"every y is {int(y[0])}: the classes are perfectly separated by any direction, "
                            "and the coefficients have no maximum-likelihood estimate")
    else:
        bad = np.flatnonzero((y < 0) | (y != np.round(y)))
        if bad.size:
            raise DataError(f"poisson regression needs counts (integers ≥ 0); "
                            f"y = {float(y[bad[0]])!r} at row {bad[0] + 1}")
        if not np.any(y > 0):
            raise DataError("every count is 0: the Poisson coefficients have no maximum-likelihood estimate")


def _starting_point(model, X, y):
    """The intercept-only fit when X has a constant column (zero otherwise): Newton starts close."""
    beta = np.zeros(X.shape[1])
    c = _constant_column(X)
    if c is not None:
        mean = y.mean()
        beta[c] = (math.log(mean / (1 - mean)) if model == "logistic" else math.log(mean)) / X[0, c]
    return beta


def _newton(model, functions, X, y, beta, names, tol, max_iter, progress) -> FitResult:
    history, warnings = [], []
    bar = _Progress(progress, max_iter)
    loss, gradient, hessian, eta = functions(beta, X, y)
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
                loss, gradient, hessian, eta = functions(beta, X, y)
                break
            step = step / 2
            beta = beta - step
            loss, gradient, hessian, eta = functions(beta, X, y)
            continue
        halvings = 0
        history.append(loss)
        bar.update(iteration, loss)
        if model == "logistic":
            _check_separation(eta.reshape(-1), y, beta, names)
        factor, scale = _hessian_factor(hessian, X, names)
        scaled_gradient = _solve_lower(factor, gradient / scale)
        decrement = float(np.sqrt(scaled_gradient @ scaled_gradient))
        step = -_solve_upper(factor.T, scaled_gradient) / scale
        if decrement <= tol or iteration >= max_iter:
            converged = decrement <= tol
            if converged:  # the last step costs nothing and squares the remaining error
                beta = beta + step
                iteration += 1
            break
        beta = beta + step
        iteration += 1
        loss, gradient, hessian, eta = functions(beta, X, y)
    bar.close()
    factor, scale = _hessian_factor(hessian, X, names)
    if model == "logistic":
        _check_quasi_separation(X, eta.reshape(-1), y, beta, hessian, names)
    if not converged:
        warnings.append(f"Newton's method did not converge in {max_iter} iterations")
    L_inv = _solve_lower(factor, np.eye(len(factor)))
    std_errors = np.sqrt(np.einsum("ij,ij->j", L_inv, L_inv)) / scale
    return FitResult(model, "newton", names, beta, std_errors, converged, iteration, float(loss),
                     condition_number=float(np.linalg.cond(factor)) ** 2, warnings=warnings, history=history)


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
    # Singular or nearly: a rank-revealing check on X itself says which columns are to blame.
    Rx = np.linalg.qr(X, mode="r")
    _check_collinear(Rx, np.linalg.norm(X, axis=0), names, None)
    if np.any(scale == 0):
        raise DataError("the Hessian is singular: the fitted probabilities or rates are all 0 or 1 "
                        "(perfect separation?)")
    L = np.linalg.cholesky(H / np.outer(scale, scale) + 1e-300 * np.eye(len(H)))
    return L, scale


def _check_separation(eta, y, beta, names):
    """If Xβ > 0 exactly where y = 1, the classes are linearly separated and the likelihood has no maximum."""
    positive = eta > 0
    if np.all(positive == (y == 1)) and np.all(eta != 0):
        raise DataError(_separation_message(beta, names, quasi=False))


def _check_quasi_separation(X, eta, y, beta, hessian, names):
    """Quasi-complete separation: some observations are fitted with probability 0 or 1 (all correctly),
    and along some direction v the likelihood is flat: vᵀHv ≪ vᵀ(XᵀX/4)v, the most curvature the
    logistic loss can have there. The coefficients would grow along v without bound; v is reported."""
    saturated = np.abs(eta) > 25  # fitted probability within 1e-11 of 0 or 1
    if not saturated.any() or np.any((eta[saturated] > 0) != (y[saturated] == 1)):
        return
    scale = np.linalg.norm(X, axis=0)
    L = np.linalg.cholesky((X.T @ X) / np.outer(scale, scale) / 4)
    M = _solve_lower(L, _solve_lower(L, hessian / np.outer(scale, scale)).T)  # L⁻¹ Hs L⁻ᵀ
    values, vectors = np.linalg.eigh((M + M.T) / 2)
    if values[0] > 1e-10:
        return
    direction = _solve_upper(L.T, vectors[:, 0]) / scale
    raise DataError(_separation_message(direction * np.sign(direction @ beta), names, quasi=True))


def _separation_message(beta, names, quasi):
    direction = beta / np.max(np.abs(beta))
    terms = [(w, name) for w, name in zip(direction, names) if abs(w) > 1e-6]
    terms.sort(key=lambda t: t[0] < 0)  # positive terms first: 0.4·x − 1·intercept, as one writes it
    text = " ".join(f"{'−' if w < 0 else '+'} {abs(w):.4g}·{name}" for w, name in terms)
    terms = text[2:] if text.startswith("+ ") else "−" + text[2:]
    kind = "quasi-completely separated" if quasi else "perfectly separated"
    return (f"the classes are {kind}: {terms} > 0 {'almost ' if quasi else ''}exactly when y = 1, so the "
            "coefficients grow without bound (no maximum-likelihood estimate); drop or merge the separating "
            "columns, or use a penalised model")


def _gradient_descent(model, X, y, beta, names, tol, max_iter, progress) -> FitResult:
    """Gradient descent in the coordinates γ of the centred and scaled design (β = Tγ, gradient Tᵀg),
    where the curvature is even across directions, with the derived gradient g."""
    functions = lambdify_results(model, ("loss", "gradient"), (S.X * S.beta,))
    bar = _Progress(progress, max_iter)
    T = _standardising_map(X)
    # Logistic: the Hessian in γ is TᵀXᵀSXT ⪯ TᵀXᵀXT/4, so 1/L with L = ‖XT‖₂²/4 is a safe step.
    # Poisson has no global curvature bound: backtracking (Armijo) instead.
    step = 4 / np.linalg.eigvalsh(T.T @ (X.T @ X) @ T)[-1] if model == "logistic" else 1.0
    gamma = np.linalg.solve(T, beta)
    loss, gradient, eta = functions(T @ gamma, X, y)
    direction = T.T @ gradient
    first = max(float(np.linalg.norm(direction)), np.finfo(float).tiny)
    history, converged, iteration = [loss], False, 0
    while iteration < max_iter:
        norm = float(np.linalg.norm(direction))
        if norm <= tol * first:
            converged = True
            break
        if model == "logistic" and iteration % 100 == 0:
            _check_separation(eta.reshape(-1), y, T @ gamma, names)
        while True:
            candidate = gamma - step * direction
            new_loss, new_gradient, new_eta = functions(T @ candidate, X, y)
            if model == "logistic" or new_loss <= loss - 0.5 * step * norm ** 2:  # Armijo condition
                break
            step /= 2
        gamma, loss, gradient, eta = candidate, new_loss, new_gradient, new_eta
        direction = T.T @ gradient
        if model == "poisson":
            step *= 2  # let the step grow back where the curvature allows
        iteration += 1
        history.append(loss)
        bar.update(iteration, loss)
    bar.close()
    beta = T @ gamma
    warnings = [] if converged else [f"gradient descent did not converge in {max_iter} iterations "
                                     f"(gradient norm {np.linalg.norm(gradient):.3g}); try --method newton"]
    hessian = lambdify_results(model, ("hessian",))(beta, X, y)
    factor, scale = _hessian_factor(hessian, X, names)
    if model == "logistic":
        _check_quasi_separation(X, eta.reshape(-1), y, beta, hessian, names)
    L_inv = _solve_lower(factor, np.eye(len(factor)))
    std_errors = np.sqrt(np.einsum("ij,ij->j", L_inv, L_inv)) / scale
    return FitResult(model, "gd", names, beta, std_errors, converged, iteration, float(loss),
                     condition_number=float(np.linalg.cond(factor)) ** 2, warnings=warnings, history=history)


def _standardising_map(X):
    """T with XT = the design with its columns centred (when there is an intercept) and scaled to unit
    standard deviation; the intercept column becomes all ones."""
    n, d = X.shape
    c = _constant_column(X)
    means = X.mean(axis=0) if c is not None else np.zeros(d)
    spread = np.sqrt(np.mean((X - means) ** 2, axis=0)) if c is not None else np.sqrt(np.mean(X ** 2, axis=0))
    T = np.zeros((d, d))
    for j in range(d):
        if j == c:
            T[j, j] = 1 / X[0, c]
        else:
            T[j, j] = 1 / spread[j] if spread[j] > 0 else 1.0
            if c is not None:
                T[c, j] = -means[j] * T[j, j] / X[0, c]
    return T


def _add_likelihood(model, result: FitResult, X, y):
    """Log-likelihood and deviance from the loss (the derived Poisson loss omits Σ log yᵢ!)."""
    if model == "logistic":
        result.loglike = -result.loss
        result.deviance = 2 * result.loss
        return
    mu = np.exp(X @ result.coef)
    log_factorials = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, int(y.max()) + 1)))])
    result.loglike = -result.loss - float(log_factorials[y.astype(int)].sum())
    positive = y > 0
    result.deviance = 2 * float(np.sum(y[positive] * np.log(y[positive] / mu[positive])) - np.sum(y - mu))


# ----------------------------------------------------------------------------------------------------

class _Progress:
    """A one-line progress report on stderr, shown only once a fit has run for a second."""

    def __init__(self, enabled: bool | None, total: int):
        if enabled is None:
            enabled = hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
        self.enabled, self.total = enabled, total
        self.start = self.last = time.monotonic()
        self.shown = False

    def update(self, iteration: int, loss: float):
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self.start < 1.0 or now - self.last < 0.1:
            return
        self.last, self.shown = now, True
        width = 30
        filled = int(width * min(iteration / self.total, 1.0))
        sys.stderr.write(f"\rfitting [{'#' * filled}{'.' * (width - filled)}] iteration {iteration}, "
                         f"loss {loss:.10g}   ")
        sys.stderr.flush()

    def close(self):
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()
