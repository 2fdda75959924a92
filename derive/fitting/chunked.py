"""Fitting data that need not fit in memory: dask arrays and dask DataFrames, chunk by chunk.

The derived quantities are sums over observations: XᵀX and Xᵀy, and for logistic and Poisson
regression the loss, the gradient Xᵀ(μ − y) and the Hessian XᵀSX. Each is computed per chunk of rows
and the chunks' parts are added, on the dask scheduler in use (`dask.compute`: a `dask.distributed`
client where one is connected). Nothing but a chunk and d×d matrices is ever in memory at once.

Methods for ols and ridge, as the data cannot all be in memory at once:
- `qr` (and `auto`, `exact`): the R factor of [X y] by tall-and-skinny QR (`dask.array.linalg.tsqr`,
  Householder QR of each chunk, then of the stacked factors): as accurate as an in-memory Householder
  QR, about 16 − log10(κ) digits for a design of condition number κ. `exact` says that it was replaced.
- `cholesky`: the normal equations summed over chunks, about 16 − 2·log10(κ) digits, refused above
  κ² = 1e12 (then use qr).
Logistic and Poisson regression: Newton's method as in memory, one pass over the chunks per iteration.
"""
from __future__ import annotations

import math

import numpy as np

from derive.errors import DataError, NotSupported
from derive.expr import symbols as S
from derive.fitting.codegen import lambdify_results
from derive.fitting.design_columns import check_collinear
from derive.fitting.glm_fitting import newton, poisson_likelihood_terms
from derive.fitting.least_squares import CHOLESKY_LIMIT
from derive.fitting.linear_fitting import ILL_CONDITIONED
from derive.fitting.result import FitResult
from derive.fitting.support import SUPPORTS, needs
from derive.fitting.triangular import inverse_gram_diagonal, scaled_condition, solve_gram, solve_upper

ACCURACY = {
    "qr": "tall-and-skinny QR over the chunks: about 16 − log10(κ) correct digits, as in-memory QR",
    "cholesky": "normal equations summed over the chunks: about 16 − 2·log10(κ) correct digits",
}


class NonFiniteData(DataError):
    """NaN or infinite values somewhere in data read in chunks."""


def fit_data_file(model, design, method, lam) -> FitResult:
    """Fit a design read chunk by chunk from a file (`derive fit --engine dask`); if a cell cannot be read
    as a finite number, the message names its line and column (found by one more streaming pass)."""
    try:
        return fit_chunked(model, design.X, design.y, method, lam, design.names, None, None)
    except (NonFiniteData, ValueError) as error:
        design.diagnose()
        raise DataError(f"the data could not be read: {' '.join(str(error).split())}") from None


def as_dask_arrays(X, y, names):
    """X as a dask array chunked by rows only, y as a dask vector with the same row chunks, and names."""
    import dask.array as da
    if hasattr(X, "columns"):  # a dask DataFrame: its column names (its chunks' lengths stay unknown:
        names = names or [str(c) for c in X.columns]  # learning them would be another pass over the data)
        X = X.to_dask_array()
    if hasattr(y, "to_dask_array"):
        y = y.to_dask_array()
    X, y = da.asarray(X).astype(float), da.asarray(y).astype(float)
    if X.ndim == 1:
        X = X[:, None]
    if y.ndim == 2 and 1 in y.shape:
        y = y.reshape(-1)
    rows_differ = X.ndim >= 1 and y.ndim >= 1 and not math.isnan(X.shape[0]) and X.shape[0] != y.shape[0]
    if X.ndim != 2 or y.ndim != 1 or rows_differ:
        raise DataError(f"X must be n×d and y a vector of its n rows; got shapes {X.shape} and {y.shape}")
    X = X.rechunk({1: -1})
    if y.chunks[0] != X.chunks[0]:
        if any(math.isnan(c) for c in X.chunks[0] + y.chunks[0]):
            raise DataError("X and y must come in the same chunks of rows (e.g. columns of one dask DataFrame)")
        y = y.rechunk((X.chunks[0],))
    d = X.shape[1]
    names = [f"x{j + 1}" for j in range(d)] if names is None else [str(v) for v in names]
    if len(names) != d:
        raise DataError(f"{len(names)} names for {d} columns")
    return X, y, names


def fit_chunked(model, X, y, method, lam, names, tol, max_iter) -> FitResult:
    import dask
    X, y, names = as_dask_arrays(X, y, names)
    d = X.shape[1]
    # One pass over the data for the checks every model needs (size, finiteness, constant columns, the
    # targets' kind) and, for ols and ridge, the whole fit: XᵀX and Xᵀy, or the R factor of [X y].
    checks = {"n": X[:, 0].map_blocks(np.ones_like).sum(), "low": X.min(axis=0), "high": X.max(axis=0), "total": X.sum() + y.sum(),
              "y_sum": y.sum(), "y_squares": (y * y).sum(),
              "outside": SUPPORTS[model][1].outside(y).sum() if model in SUPPORTS else 0}
    pieces = _linear_pieces(X, y, method, lam) if model in ("ols", "ridge") else {}
    lazy = {**checks, **pieces}
    values = dict(zip(lazy, dask.compute(*lazy.values())))
    n, low, high = int(values["n"]), values["low"], values["high"]
    if not np.isfinite(values["total"]) and not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
        raise NonFiniteData("the data hold NaN or infinite values (dask data are checked as a whole; "
                            "find the rows with X.isna() or numpy.isfinite)")
    if not np.isfinite(values["y_sum"]):
        raise NonFiniteData("y holds NaN or infinite values")
    if n < d:
        raise DataError(f"{n} rows are fewer than the {d} parameters to fit")
    constant = [j for j in range(d) if low[j] == high[j] and low[j] != 0]
    if model in ("ols", "ridge"):
        return _linear(model, values, method, lam, names, n, constant)
    if values["outside"]:
        raise DataError(f"{needs(model, 'y')}; {int(values['outside'])} values of y are not")
    if method == "gd":
        raise NotSupported("gradient descent is not offered for dask data: use --method newton")
    return _glm(model, X, y, names, n, constant, low, values["y_sum"], tol or 1e-8, max_iter or 100)


def _linear_pieces(X, y, method, lam) -> dict:
    """The lazy sums a linear fit needs: XᵀX and Xᵀy (cholesky), or the R factor of [X y] (qr)."""
    import dask.array as da
    if method == "cholesky":
        return {"gram": X.T @ X, "moment": X.T @ y}
    d = X.shape[1]
    A = da.concatenate([X, y[:, None]], axis=1, allow_unknown_chunksizes=True)  # the same row chunks
    if lam:  # ridge: the rows √λ·I under X (and 0 under y) make it least squares
        penalty = np.hstack([math.sqrt(lam) * np.eye(d), np.zeros((d, 1))])
        A = da.concatenate([A, da.from_array(penalty, chunks=penalty.shape)], axis=0, allow_unknown_chunksizes=True)
    A = A.rechunk({1: -1})
    if not math.isnan(A.chunks[0][0]):  # each chunk of rows must be at least as tall as [X y] is wide
        A = A.rechunk({0: max(A.chunks[0][0], d + 1)})
    return {"R": da.linalg.tsqr(A, compute_svd=False)[1]}


def _linear(model, values, method, lam, names, n, constant) -> FitResult:
    d = len(names)
    y_sum, y_squares = values["y_sum"], values["y_squares"]
    warnings = []
    if method == "exact":
        warnings.append("exact arithmetic needs every row in memory at once; used " + ACCURACY["qr"])
    if method == "cholesky":
        G, b = values["gram"], values["moment"]
        if lam:
            G[np.diag_indices(d)] += lam
        scale = np.sqrt(np.diag(G))
        condition = float(np.linalg.cond(G / np.outer(scale, scale))) if np.all(scale > 0) else math.inf
        if condition > CHOLESKY_LIMIT:
            raise DataError(f"XᵀX is too ill-conditioned for the normal equations (condition number {condition:.2g} "
                            "after scaling): use --method qr")
        R = np.linalg.cholesky(G / np.outer(scale, scale)).T * scale
        coef = solve_gram(R, b)
        rss = float(y_squares - 2 * coef @ b + coef @ (G @ coef) - (lam * coef @ coef if lam else 0))
        used = "cholesky"
    else:
        R_full = values["R"]
        R, z = R_full[:d, :d], R_full[:d, d]
        check_collinear(R, np.linalg.norm(R, axis=0), names, None)
        coef = solve_upper(R, z)
        rss = float(R_full[d, d] ** 2) - (lam * float(coef @ coef) if lam else 0.0)
        used = "qr"
    condition = scaled_condition(R)
    if condition > ILL_CONDITIONED:
        warnings.append(f"the design is ill-conditioned (condition number {condition:.2g} after scaling the "
                        f"columns): {ACCURACY[used].split(': ')[1]}")
    df = n - d
    std_errors = residual_sd = loglike = None
    if model == "ols" and df > 0 and not lam:
        residual_sd = math.sqrt(rss / df)
        std_errors = residual_sd * np.sqrt(inverse_gram_diagonal(R))
        loglike = -n / 2 * (math.log(2 * math.pi * rss / n) + 1) if rss > 0 else None
    total = y_squares - y_sum ** 2 / n if constant else y_squares
    loss = rss + (lam * float(coef @ coef) if lam else 0.0)
    return FitResult(model, used, names, coef, std_errors, True, None, loss, residual_sd,
                     None if total == 0 else 1 - rss / total, loglike=loglike, condition_number=condition, lam=lam,
                     warnings=warnings, nobs=n, notes=[f"dask: {ACCURACY[used]}"])


def _glm(model, X, y, names, n, constant, low, y_sum, tol, max_iter) -> FitResult:
    import dask
    functions = lambdify_results(model, ("loss", "gradient", "hessian"), (S.X * S.beta,))
    blocks = list(zip(X.to_delayed().ravel(), y.to_delayed().ravel()))

    def evaluate(beta):
        parts = dask.compute(*[dask.delayed(_block_sums)(functions, beta, Xb, yb) for Xb, yb in blocks])
        loss, gradient, hessian = (sum(p[k] for p in parts) for k in range(3))
        return loss, gradient, hessian, None

    beta = np.zeros(X.shape[1])
    if constant:  # the intercept-only fit, as in memory
        mean = y_sum / n
        c = constant[0]
        beta[c] = (math.log(mean / (1 - mean)) if model == "logistic" else math.log(mean)) / low[c]
    result = newton(model, evaluate, beta, names, tol, max_iter, None)
    result.nobs = n
    if model == "logistic":
        result.loglike, result.deviance = -result.loss, 2 * result.loss
    else:
        extras = dask.compute(*[dask.delayed(poisson_likelihood_terms)(result.coef, Xb, yb) for Xb, yb in blocks])
        log_factorials, deviance = (sum(p[k] for p in extras) for k in range(2))
        result.loglike, result.deviance = -result.loss - log_factorials, deviance
    result.notes.append("dask: Newton's method with the derived gradient and Hessian summed over the chunks")
    return result


def _block_sums(functions, beta, X, y):
    loss, gradient, hessian, _ = functions(beta, X, y)
    return float(loss), np.asarray(gradient), np.asarray(hessian)
