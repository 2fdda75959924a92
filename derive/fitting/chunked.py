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
Logistic and Poisson regression: Newton's method as in memory, one pass over the chunks per iteration;
`gd`, gradient descent as in memory, one pass per step. Softmax regression: one pass for the classes, then
Newton with its loss, gradient and block Hessian summed over the chunks (`fit_softmax_chunked`).

As in memory: weights (weighted least squares, on √w·X and √w·y), a Poisson offset and exposure, and
columns or y near 1e±300, refitted on the data scaled by powers of two (one more pass).
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from derive.errors import DataError, NotSupported
from derive.expr import symbols as S
from derive.fitting.codegen import lambdify_results
from derive.fitting.design_columns import (
    NonFiniteValue,
    ValueAtRow,
    check_collinear,
    check_finite,
    invalid_per_row,
    per_row_error,
    power_of_two_scale,
)
from derive.fitting.glm_fitting import (
    GD_TOLERANCE,
    gradient_descent,
    newton,
    offset_functions,
    poisson_likelihood_terms,
    restore_offset_loss,
    standardising_map,
    sum_over_row_blocks,
)
from derive.fitting.least_squares import CHOLESKY_LIMIT, residual_sum_of_squares
from derive.fitting.linear_fitting import ILL_CONDITIONED, in_data_units, weighted_statistics
from derive.fitting.result import FitResult
from derive.fitting.support import SUPPORTS, outside_error
from derive.fitting.triangular import inverse_gram_diagonal, scaled_condition, solve_gram, solve_upper

ACCURACY = {
    "qr": "tall-and-skinny QR over the chunks: about 16 − log10(κ) correct digits, as in-memory QR",
    "cholesky": "normal equations summed over the chunks: about 16 − 2·log10(κ) correct digits",
}


def fit_data_file(model, design, method, lam) -> FitResult:
    """Fit a design read chunk by chunk from a file (`derive fit --engine dask`). A value the fit cannot
    take is named by the file's line (as an editor counts it) and column: a cell that cannot be read as
    a finite number by one more streaming pass over the file, which says what the cell holds; any other
    (a y outside the model's support, a negative weight, a missing class label) by its row, found as the
    chunks are checked. A model whose target holds class labels (softmax) is fitted by `fit_softmax_chunked`."""
    from derive.fitting.model_fit import takes_class_labels
    try:
        if takes_class_labels(model):
            if lam is not None or design.per_row:
                raise NotSupported(f"{getattr(model, 'name', model)} takes no penalty, weights, offset or exposure")
            return fit_softmax_chunked(design.X, design.y, design.names, None, None, model)
        return fit_chunked(model, design.X, design.y, method, lam, design.names, None, None, **design.per_row)
    except ValueAtRow as error:
        raise design.located(error) from None
    except ValueError as error:  # a cell dask could not read as a number: found by reading the file again
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


def fit_chunked(model, X, y, method, lam, names, tol, max_iter, weights=None, offset=None,
                exposure=None) -> FitResult:
    """`weights` (ols, ridge), `offset` and `exposure` (poisson): per-row vectors in the chunks of y (dask
    arrays or Series, or numpy arrays, which are chunked like y)."""
    import dask
    import dask.array as da
    X, y, names = as_dask_arrays(X, y, names)
    d = X.shape[1]
    per_row = {role: _per_row(values, y, role) for role, values in
               (("weights", weights), ("offset", offset), ("exposure", exposure)) if values is not None}
    weights, offset = per_row.get("weights"), _offset(per_row.get("offset"), per_row.get("exposure"))
    # One pass over the data for the checks every model needs (size, finiteness, constant columns, the
    # targets' kind) and, for ols and ridge, the whole fit: XᵀX and Xᵀy, or the R factor of [X y]. A check
    # that fails counts the rows; one more pass finds the first, to name it.
    data = (X, y)
    checks = {"n": X[:, 0].map_blocks(np.ones_like).sum(), "low": X.min(axis=0), "high": X.max(axis=0),
              "y_sum": y.sum(), "y_squares": (y * y).sum(), "y_low": y.min(), "y_high": y.max(),
              "outside": SUPPORTS[model][1].outside(y).sum() if model in SUPPORTS else 0,
              **{f"invalid_{role}": invalid_per_row(role, values).sum() for role, values in per_row.items()}}
    if weights is not None:  # weighted least squares: least squares of √w·y on √w·X
        checks.update(zero_weights=(weights == 0).sum(),
                      w_sum=weights.sum(), wy_sum=(weights * y).sum(), wyy=(weights * y * y).sum(),
                      log_weights=da.log(da.where(weights > 0, weights, 1.0)).sum())
        root = da.sqrt(da.maximum(weights, 0))
        X, y = X * root[:, None], y * root
    if offset is not None:
        checks.update(exp_offset_sum=da.exp(offset).sum(), y_dot_offset=(y * offset).sum())
    pieces = _linear_pieces(X, y, method, lam) if model in ("ols", "ridge") else {}
    lazy = {**checks, **pieces}
    with warnings.catch_warnings():  # squares of values near 1e300 overflow here: found below, and refitted scaled
        warnings.simplefilter("ignore", RuntimeWarning)
        values = dict(zip(lazy, dask.compute(*lazy.values())))
    n, low, high = int(values["n"]), values["low"], values["high"]
    if not all(np.all(np.isfinite(values[k])) for k in ("low", "high", "y_low", "y_high")):  # NaN and ±inf reach them
        _raise_first_non_finite(*data, names)
    for role in per_row:
        if values[f"invalid_{role}"]:
            row, (value,) = _first_row(invalid_per_row(role, per_row[role]), per_row[role])
            error = per_row_error(role, value, row)
            raise NonFiniteValue(error.message, row, role=role) if not np.isfinite(value) else error
    if n < d:
        raise DataError(f"{n} rows are fewer than the {d} parameters to fit")
    linear = model in ("ols", "ridge")
    # Values near 1e±300: fitted as in memory, on the data scaled by powers of two (one more pass).
    scale = np.ones(d) if lam else power_of_two_scale(np.maximum(-low, high))
    y_scale = power_of_two_scale(max(-values["y_low"], values["y_high"])) if linear else 1.0
    if np.any(scale != 1) or y_scale != 1:
        with np.errstate(over="ignore"):
            result = fit_chunked(model, data[0] / scale, data[1] / y_scale, method, lam, names, tol, max_iter,
                                 weights, offset)
        return in_data_units(result, scale, y_scale, n)
    constant = [j for j in range(d) if low[j] == high[j] and low[j] != 0]
    if linear:
        if weights is None:
            return _linear(model, values, method, lam, names, n, constant, (X, y))
        return _weighted_linear(model, values, method, lam, names, n, constant, (X, y))
    if values["outside"]:
        row, (value,) = _first_row(SUPPORTS[model][1].outside(data[1]), data[1])
        raise outside_error(model, "y", value, row)
    if method == "gd":
        if offset is not None:
            raise NotSupported("gradient descent with an offset or exposure is not implemented: use --method newton")
        return _gradient_descent(model, X, y, names, n, constant, low, values, tol or GD_TOLERANCE, max_iter or 100_000)
    return _glm(model, X, y, names, n, constant, low, values, offset, tol or 1e-8, max_iter or 100)


def _per_row(values, y, what):
    """A per-row vector as a dask vector in the chunks of y, or None."""
    if values is None:
        return None
    import dask.array as da
    if hasattr(values, "to_dask_array"):
        values = values.to_dask_array()
    values = da.asarray(values).astype(float).reshape(-1)
    if not math.isnan(y.shape[0]) and not math.isnan(values.shape[0]) and values.shape[0] != y.shape[0]:
        raise DataError(f"{values.shape[0]} {what} values for {y.shape[0]} rows")
    if values.chunks[0] != y.chunks[0]:
        if any(math.isnan(c) for c in values.chunks[0] + y.chunks[0]):
            raise DataError(f"the {what} must come in the same chunks of rows as y (e.g. columns of one dask DataFrame)")
        values = values.rechunk((y.chunks[0],))
    return values


def _offset(offset, exposure):
    """offset + log(exposure) as a dask vector, or None (a non-positive exposure, refused by the checks,
    gives NaN here, not a warning)."""
    import dask.array as da
    if exposure is not None:
        exposure = da.log(da.where(exposure > 0, exposure, np.nan))
    terms = [t for t in (offset, exposure) if t is not None]
    return sum(terms[1:], terms[0]) if terms else None


def _first_row(mask, *arrays):
    """The index of the first row where the lazy boolean vector `mask` is true (chunks of unknown length
    alike) and the arrays' values in that row, in one pass over the chunks: only on the way to an error."""
    import dask
    chunks = zip(mask.to_delayed().ravel(), *(a.to_delayed().ravel() for a in arrays))
    parts = dask.compute(*[dask.delayed(_first_in_chunk)(*chunk) for chunk in chunks])
    start = 0
    for length, first, row in parts:
        if first is not None:
            return start + first, row
        start += length
    raise AssertionError("a check counted rows that no chunk holds")


def _first_in_chunk(mask, *arrays):
    """(the chunk's number of rows, the first row where `mask` is true or None, the arrays' values there)."""
    hits = np.flatnonzero(mask)
    if not hits.size:
        return len(mask), None, None
    return len(mask), int(hits[0]), [np.asarray(a)[hits[0]] for a in arrays]


def _raise_first_non_finite(X, y, names):
    """NonFiniteValue naming the first NaN or infinite value of X (row and column) or y."""
    import dask.array as da
    row, (x_row, y_value) = _first_row(~(da.isfinite(X).all(axis=1) & da.isfinite(y)), X, y)
    check_finite(x_row[None, :], np.array([y_value]), names, first_row=row)


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


def _weighted_linear(model, values, method, lam, names, n, constant, data) -> FitResult:
    """Least squares of √w·y on √w·X, with the statistics of weighted least squares."""
    if values["zero_weights"] == n:
        raise DataError("every weight is 0: no row takes part in the fit")
    result = _linear(model, {**values, "y_squares": values["wyy"]}, method, lam, names, n, constant,  # ‖√w·y‖²
                     data)
    w_sum, wy_sum, wyy = values["w_sum"], values["wy_sum"], values["wyy"]
    total = wyy - wy_sum ** 2 / w_sum if constant else wyy
    return weighted_statistics(result, lam, total, None if values["zero_weights"] else values["log_weights"])


def _linear(model, values, method, lam, names, n, constant, data) -> FitResult:
    """`data`: X and y (dask arrays) for the residuals, when the normal equations' sums cancel too far to
    give the residual sum of squares."""
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
        rss = residual_sum_of_squares(*data, coef, lam, b, y_squares)
        used = "cholesky"
    else:
        R_full = values["R"]
        R, z = R_full[:d, :d], R_full[:d, d]
        check_collinear(R, np.linalg.norm(R, axis=0), names, None)
        coef = solve_upper(R, z)
        residual = R_full[d, d] if len(R_full) > d else 0.0  # no row is left over when n = d
        rss = float(residual ** 2) - (lam * float(coef @ coef) if lam else 0.0)
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


def _summed_over_chunks(functions, blocks):
    """evaluate(β): the derived sums (`functions(β, *chunk)` = sums..., Xβ) added over the chunks, and
    None for Xβ (which stays where the chunks are)."""
    import dask

    def evaluate(beta):
        parts = dask.compute(*[dask.delayed(_block_sums)(functions, beta, *block) for block in blocks])
        return (*(sum(p[k] for p in parts) for k in range(len(parts[0]))), None)
    return evaluate


def _blocks(*arrays) -> list:
    """The chunks of the arrays, chunk by chunk (lazy)."""
    return list(zip(*(a.to_delayed().ravel() for a in arrays)))


def _starting_point(model, d, n, constant, low, values, offset=None):
    """The intercept-only fit when X has a constant column (zero otherwise), as in memory."""
    beta = np.zeros(d)
    if constant:
        mean = values["y_sum"] / n
        c = constant[0]
        rate = values["y_sum"] / values["exp_offset_sum"] if offset is not None else mean
        beta[c] = (math.log(mean / (1 - mean)) if model == "logistic" else math.log(rate)) / low[c]
    return beta


def _gradient_descent(model, X, y, names, n, constant, low, values, tol, max_iter) -> FitResult:
    """Gradient descent as in memory, each step one pass over the chunks; the centring and scaling map and
    XᵀX from one more pass."""
    import dask
    blocks = _blocks(X, y)
    sums, squares, gram = dask.compute(X.sum(axis=0), (X * X).sum(axis=0), X.T @ X)
    means = sums / n
    c = constant[0] if constant else None
    spread = np.sqrt(np.maximum(squares / n - (means ** 2 if c is not None else 0), 0))
    T = standardising_map(means, spread, c, low[c] if c is not None else 1)
    hessian = _summed_over_chunks(lambdify_results(model, ("hessian",), (S.X * S.beta,)), blocks)
    result = gradient_descent(model, _summed_over_chunks(lambdify_results(model, ("loss", "gradient"), (S.X * S.beta,)),
                                                         blocks),
                              lambda beta: hessian(beta)[0], T, gram,
                              _starting_point(model, X.shape[1], n, constant, low, values), names, tol, max_iter, None)
    result.notes.append("dask: gradient descent with the derived gradient summed over the chunks")
    return _with_likelihood(model, result, n, blocks)


def _glm(model, X, y, names, n, constant, low, values, offset, tol, max_iter) -> FitResult:
    if offset is None:
        functions, blocks = lambdify_results(model, ("loss", "gradient", "hessian"), (S.X * S.beta,)), _blocks(X, y)
    else:
        functions, blocks = offset_functions(model), _blocks(X, y, offset)
    beta = _starting_point(model, X.shape[1], n, constant, low, values, offset)
    result = newton(model, _summed_over_chunks(functions, blocks), beta, names, tol, max_iter, None)
    if offset is not None:
        restore_offset_loss(result, values["y_dot_offset"])
    result.notes.append("dask: Newton's method with the derived gradient and Hessian summed over the chunks")
    return _with_likelihood(model, result, n, blocks)


def _with_likelihood(model, result, n, blocks) -> FitResult:
    """The log-likelihood and deviance, as in memory (Poisson's: one more pass over the chunks)."""
    import dask
    result.nobs = n
    if model == "logistic":
        result.loglike, result.deviance = -result.loss, 2 * result.loss
    else:
        extras = dask.compute(*[dask.delayed(_poisson_terms)(result.coef, *block) for block in blocks])
        result.loglike, result.deviance = (sum(p[k] for p in extras) for k in range(2))
    return result


def _block_sums(functions, beta, *arrays):
    *sums, _ = sum_over_row_blocks(functions, arrays, beta)
    return tuple(float(part) if np.ndim(part) == 0 else np.asarray(part) for part in sums)


def _poisson_terms(beta, X, y, offset=None):
    return poisson_likelihood_terms(beta, X, y, offset)


# ---------------------------------------------------------------------------------------------------
# Softmax regression: the classes in one pass, then Newton with sums over the chunks
# ---------------------------------------------------------------------------------------------------
def fit_softmax_chunked(X, labels, names, tol, max_iter, model="softmax") -> FitResult:
    """Softmax regression (`model`: its name or model file) on dask data: one pass for the classes, XᵀX, the
    finiteness of X and the missing labels (None, NaN, pandas' NA or ""), then Newton
    (`softmax_fitting.newton_with_reference`) on the derived loss, gradient and block Hessian, each a sum over
    the chunks of rows (their generated code run on each chunk), with the rows' margins for separated classes."""
    import dask
    import dask.array as da

    from derive.fitting.model_fit import softmax_code
    from derive.fitting.softmax_fitting import (
        check_softmax_separation,
        free_part,
        newton_with_reference,
        printable,
        with_reference,
    )
    if hasattr(X, "columns"):
        names = names or [str(c) for c in X.columns]
        X = X.to_dask_array()
    with warnings.catch_warnings():   # text labels in a dask Series: "converting string to object dtype", as meant
        warnings.simplefilter("ignore", UserWarning)
        labels = labels.to_dask_array() if hasattr(labels, "to_dask_array") else labels
    X, labels = da.asarray(X).astype(float), da.asarray(labels)
    X = X[:, None] if X.ndim == 1 else X
    if X.ndim != 2 or labels.ndim != 1:
        raise DataError(f"X must be n×d and the labels a vector of its n rows; got shapes {X.shape}, {labels.shape}")
    X = X.rechunk({1: -1})
    if labels.chunks[0] != X.chunks[0]:
        labels = labels.rechunk((X.chunks[0],))
    d = X.shape[1]
    names = [f"x{j + 1}" for j in range(d)] if names is None else [str(v) for v in names]
    blocks = _blocks(X, labels)
    firsts = dask.compute(*[dask.delayed(_softmax_first_pass)(*block) for block in blocks])
    if not all(f[3] for f in firsts):
        row, (x_row,) = _first_row(~da.isfinite(X).all(axis=1), X)   # named by its row and column, as for glms
        check_finite(x_row[None, :], np.zeros(1), names, first_row=row)
    if any(f[4] for f in firsts):
        row, _ = _first_row(labels.map_blocks(_missing_labels, dtype=bool))
        raise ValueAtRow("the class label is missing", row)
    n, gram = sum(f[0] for f in firsts), sum(f[1] for f in firsts)
    classes = np.unique(np.concatenate([f[2] for f in firsts]))
    if len(classes) < 2:
        raise DataError("every label is the same: softmax regression needs two or more classes")
    if n < d:
        raise DataError(f"{n} rows are fewer than the {d} columns")
    K = len(classes)
    functions, roles = softmax_code(model, d, K)
    named = [int(c) if isinstance(c, float) and float(c).is_integer() else c for c in classes.tolist()]

    def at(theta):
        W = with_reference(theta, d, K)
        parts = dask.compute(*[dask.delayed(_softmax_chunk_sums)(functions, roles, W, classes, *block)
                               for block in blocks])
        least = np.min([p[3] for p in parts], axis=0)
        return (float(sum(p[0] for p in parts)), free_part(sum(p[1] for p in parts)), sum(p[2] for p in parts),
                (least, max(p[4] for p in parts)))

    def separated(theta, summary, hessian):
        W = with_reference(theta, d, K)
        check_softmax_separation(summary, W, hessian, lambda: gram, names, named, lambda: printable(W))

    result = newton_with_reference(at, separated, None, n, d, names, named, True, tol or 1e-10, max_iter or 100,
                                   None)
    result.notes.append("fitted chunk by chunk on dask (the sums over the rows added over the chunks)")
    return result


def _softmax_first_pass(X, labels):
    """(rows, XᵀX, the labels that occur, whether X is finite, whether a label is missing) of one chunk."""
    missing = _missing_labels(labels)
    return (len(X), X.T @ X, np.unique(np.asarray(labels)[~missing]), bool(np.all(np.isfinite(X))),
            bool(missing.any()))


def _missing_labels(labels) -> np.ndarray:
    """True where a class label is missing: None, NaN, pandas' NA (which has no truth value, so each cell is
    asked alone), or an empty cell ("")."""
    import pandas as pd
    labels = np.asarray(labels)
    missing = np.asarray(pd.isna(labels), dtype=bool)
    if labels.dtype.kind not in "OUS":
        return missing
    return np.array([m or isinstance(v, str) and not v.strip() for m, v in zip(missing.tolist(), labels.tolist())],
                    dtype=bool)


def _softmax_chunk_sums(functions, roles, W, classes, X, labels):
    """One chunk's loss, gradient (d×K), block Hessian in the free coefficients, and its rows' margins."""
    from derive.fitting.softmax_fitting import block_hessian, margin_summary
    observed = np.searchsorted(classes, np.asarray(labels))
    Y = np.zeros((len(X), len(classes)))
    Y[np.arange(len(X)), observed] = 1.0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        loss, gradient, P = functions(*[{"parameter": W, "design": X, "target": Y}[role] for role in roles])
    least, largest = margin_summary(X @ W, observed, len(classes))
    return float(loss), np.asarray(gradient, dtype=float), block_hessian(X, np.asarray(P, dtype=float)), least, largest
