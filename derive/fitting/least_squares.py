"""Linear least squares in floating point: β minimising ‖y − Xβ‖² (+ λ‖β‖²), by QR with corrected
semi-normal equations (`qr_least_squares`) or by the normal equations with a condition check
(`cholesky_least_squares`). Both return a `LeastSquaresSolution`; `derive.fitting.linear_fitting` turns it into
statistics."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from derive.fitting.design_columns import check_collinear, split_intercept
from derive.fitting.double_double import two_product, two_sum
from derive.fitting.triangular import (
    inverse_gram_diagonal,
    scaled_condition,
    solve_gram,
    solve_lower,
)

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
# The cholesky method takes ‖y − Xβ‖² = yᵀy − βᵀXᵀy from the sums it formed (no second pass over X) while
# their rounding errors, about d·ε·yᵀy, are below this fraction of it; else it computes the residuals.
# Measured (n = 2e5, d = 100, against residuals in extended precision): at yᵀy/RSS = 81 (R² ≈ 0.99) the
# sums give RSS to 1.2e-14; at yᵀy/RSS = 1e8 (R² = 1 − 1e-6, or y offset by 1e4) they were 2e-8 and 1e-7
# off, and the residuals (one more pass, about 10% of the fit's time) give 1.4e-14.
RSS_FROM_SUMS_TOLERANCE = 1e-10


@dataclass
class LeastSquaresSolution:
    """What a least-squares method found, before the statistics (exact or floating point alike)."""
    coef: np.ndarray
    rss: float
    inverse_gram_diagonal: np.ndarray | None  # diag((XᵀX)⁻¹), or None (ridge)
    condition_number: float | None
    method: str
    warnings: list[str] = field(default_factory=list)
    exact: tuple | None = None  # (coef, rss, y) as Fractions, for exactly rounded statistics


# -- QR

def qr_least_squares(X, y, lam, names) -> LeastSquaresSolution:
    n, d = X.shape
    penalised = bool(lam)
    c, keep = (None, list(range(d))) if penalised else split_intercept(X)
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
    check_collinear(R, column_norms, [names[j] for j in keep], names[c] if c is not None else None)
    means = X.mean(axis=0)[keep] if c is not None else None
    coef, r = _refined_solution(X, y, lam, R, c, keep, means, extended=n * d <= TALL_CELLS)
    rss = float(r @ r)
    inverse_diagonal = None
    if not penalised:
        inner = inverse_gram_diagonal(R)
        inverse_diagonal = np.empty(d)
        inverse_diagonal[keep] = inner
        if c is not None:  # var(β_c)/σ² = (1/n + ‖R⁻ᵀm‖²)/c² for the constant column value c
            u = solve_lower(R.T, means)
            inverse_diagonal[c] = (1 / n + u @ u) / X[0, c] ** 2
    return LeastSquaresSolution(coef, rss, inverse_diagonal, scaled_condition(R), "qr", warnings)


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
    G = normal_equations(X, y, means).gram[np.ix_(keep, keep)]
    scale = np.sqrt(np.diag(G))
    if np.any(scale == 0):
        return None
    try:
        L = np.linalg.cholesky(G / np.outer(scale, scale))
    except np.linalg.LinAlgError:
        return None
    R = L.T * scale
    return R if scaled_condition(R) <= TALL_LIMIT else None


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
            delta[keep] = solve_gram(R, g[keep])
        else:
            value = X[0, c]
            g_c = g[c] / value
            delta[keep] = solve_gram(R, g[keep] - means * g_c)
            delta[c] = (g_c / n - means @ delta[keep]) / value
        beta = beta + delta
        if np.all(np.abs(delta) <= 4 * np.finfo(float).eps * np.abs(beta)):
            break
    return beta, r


def _residual_and_gradient(X, y, beta, extended: bool):
    """r = y − Xβ and g = Xᵀr. With `extended`, both in about twice double precision: that is what lets
    the semi-normal correction recover digits that the factorisation lost (Xᵀr cancels to ~0 at the
    solution)."""
    if not extended:
        r = y - X @ beta
        return r, X.T @ r
    hi, lo = y.copy(), np.zeros_like(y)
    for j in range(X.shape[1]):
        p, e = two_product(X[:, j], -beta[j])
        hi, err = two_sum(hi, p)
        lo += err + e
    r_hi, r_lo = two_sum(hi, lo)
    g = np.empty(X.shape[1])
    for j in range(X.shape[1]):
        p, e = two_product(X[:, j], r_hi)
        g[j] = math.fsum(np.concatenate([p, e, X[:, j] * r_lo]).tolist())
    return r_hi, g


# -- normal equations

def cholesky_least_squares(X, y, lam, names, sums: NormalEquations | None = None) -> LeastSquaresSolution:
    """`sums`: the normal equations of X and y when the caller formed them already."""
    n, d = X.shape
    sums = sums or normal_equations(X, y)
    G, b, yy = sums.gram + lam * np.eye(d) if lam else sums.gram, sums.moment, sums.yy
    scale = np.sqrt(np.diag(G))
    if np.any(scale == 0):
        return qr_least_squares(X, y, lam, names)
    Gs = G / np.outer(scale, scale)
    condition = float(np.linalg.cond(Gs))
    try:
        L = np.linalg.cholesky(Gs) if condition <= CHOLESKY_LIMIT else None
    except np.linalg.LinAlgError:
        L = None
    if L is None:
        fallback = qr_least_squares(X, y, lam, names)
        fallback.warnings.insert(0, f"XᵀX is too ill-conditioned for the normal equations (condition number "
                                    f"{condition:.2g} after scaling); solved by QR instead")
        return fallback
    R = L.T * scale  # XᵀX (+ λI) = RᵀR
    coef = solve_gram(R, b)
    inverse_diagonal = None if lam else inverse_gram_diagonal(R)
    return LeastSquaresSolution(coef, residual_sum_of_squares(X, y, coef, lam, b, yy), inverse_diagonal,
                                math.sqrt(condition), "cholesky")


def residual_sum_of_squares(X, y, coef, lam, b, yy) -> float:
    """‖y − Xβ‖² for β solving (XᵀX + λI)β = b = Xᵀy: yᵀy − βᵀb − λβᵀβ from the sums, unless they cancel
    so far that their rounding errors matter; then from the residuals, one more pass over X (numpy or
    dask arrays: `float` computes the dask sum over the chunks)."""
    rss = float(yy - coef @ b - (lam * coef @ coef if lam else 0.0))
    if X.shape[1] * np.finfo(float).eps * yy <= RSS_FROM_SUMS_TOLERANCE * rss:
        return rss
    r = y - X @ coef
    return float(r @ r)


@dataclass
class NormalEquations:
    """XᵀX, Xᵀy and yᵀy: the Gram matrix of [X y]."""
    augmented: np.ndarray  # [X y]ᵀ[X y], (d + 1)×(d + 1)

    @property
    def gram(self) -> np.ndarray:
        return self.augmented[:-1, :-1]

    @property
    def moment(self) -> np.ndarray:
        return self.augmented[:-1, -1]

    @property
    def yy(self) -> float:
        return float(self.augmented[-1, -1])

    @property
    def column_squares(self) -> np.ndarray:
        """Σᵢ xᵢⱼ² for each column j of X."""
        return np.diag(self.gram)

    @property
    def finite(self) -> bool:
        """Whether every sum is finite: false when X or y holds a NaN or ±inf (it reaches the diagonal), or
        when squares overflow."""
        return bool(np.all(np.isfinite(np.diag(self.augmented))))


def normal_equations(X, y, means=None) -> NormalEquations:
    """XᵀX, Xᵀy and yᵀy in one pass over X: the Gram matrix of [X y], accumulated block by block by BLAS
    syrk (numpy's `B.T @ B`, half the work of a general product) on a buffer of rows that stays in cache,
    so X is read once and never copied whole; X and y centred (X at `means`, a vector over all columns)
    when `means` is given."""
    n, d = X.shape
    rows = max(1, min(n, BLOCK_BYTES // (8 * (d + 1))))
    buffer = np.empty((rows, d + 1))
    gram = np.zeros((d + 1, d + 1))
    y_mean = y.mean() if means is not None else 0.0
    with np.errstate(over="ignore", invalid="ignore"):  # NaN, ±inf and overflow: `finite` says so
        for start in range(0, n, rows):
            block = buffer[:min(rows, n - start)]
            if means is None:  # a plain copy: about 10% of the pass faster than subtracting 0
                block[:, :d] = X[start:start + rows]
                block[:, d] = y[start:start + rows]
            else:
                np.subtract(X[start:start + rows], means, out=block[:, :d])
                np.subtract(y[start:start + rows], y_mean, out=block[:, d])
            gram += block.T @ block
    return NormalEquations(gram)
