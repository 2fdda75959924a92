"""Fitting models to data with the derived formulas, as accurately as the best statistics packages.

`fit(model, X, y, method)` returns a `FitResult`. X is used as given (no intercept is added; `derive.fitting.data`
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
- `gd`: gradient descent with the derived gradient, in the coordinates where the design's columns are
  orthonormal: step 1/L from the bound L = ‖X‖₂²/4 on the logistic Hessian; for Poisson, whose curvature
  has no global bound, Barzilai–Borwein trial steps cut back until the loss decreases (Armijo).
Standard errors are √diag(H⁻¹) for the derived Hessian H at the optimum, from its Cholesky factor.

Bad data raises `DataError`: collinear columns (naming them), separated classes (naming the separating
direction), y outside {0, 1} for logistic, negative or fractional counts for Poisson.

Softmax (`softmax_fitting`): Newton on the derived loss, gradient and block Hessian of its model file, the
last class the reference (dask data: `chunked.fit_softmax_chunked`). Every other model, the iid samples
gaussian, bernoulli and mvn among them, is fitted from its planned derivation (`model_fit`: a sample's
column, or its rows for a sample of vectors). Dask arrays and DataFrames (`chunked`): the same sums
chunk by chunk, on the dask scheduler in use.

This module checks the input and dispatches. The methods live in `linear_fitting` (ols, ridge: the
choice of method, then the statistics) over `exact_least_squares` and `least_squares`, and in
`glm_fitting` (logistic, poisson) with `separation`. They share `design_columns` (intercept,
collinearity, conditioning, scaling), `triangular` (triangular solves), `double_double` and `progress`;
`FitResult` (in `result`) carries the statistics statsmodels users expect, with `distributions` for
p-values and intervals. Data files and formulas: `data`, `tables`, `formula`.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from derive.errors import DataError, NotSupported
from derive.fitting.design_columns import check_finite, first_invalid, per_row_error
from derive.fitting.glm_fitting import fit_glm
from derive.fitting.linear_fitting import fit_linear, fit_weighted
from derive.fitting.result import FitResult

__all__ = ["FitResult", "METHODS", "fit"]

METHODS = {
    "ols": ("auto", "exact", "qr", "cholesky"),
    "ridge": ("auto", "exact", "qr", "cholesky"),
    "logistic": ("auto", "newton", "gd"),
    "poisson": ("auto", "newton", "gd"),
    "softmax": ("auto", "newton"),
}


def fit(model, X=None, y=None, method: str = "auto", *, data=None, formula: str | None = None,
        lam: float | None = None, names: Sequence[str] | None = None, weights=None, offset=None, exposure=None,
        exact_data=None, tol: float | None = None, max_iter: int | None = None, progress: bool | None = None,
        values=None) -> FitResult:
    """Fit `model` to X (n×d, as given) and y (n) with `method` (see the module docstring).

    X and y may be numpy arrays or pandas objects (a DataFrame's column names, a Series' values), or
    dask arrays or a dask DataFrame (then the fit runs chunk by chunk on the dask scheduler in use); or
    give `data=` (a pandas DataFrame) and `formula="y ~ a*b + C(g)"`, as in statsmodels' formula API.
    `weights` (ols, ridge): wᵢ ≥ 0 per row, for weighted least squares Σ wᵢ(yᵢ − xᵢᵀβ)².
    `offset`, `exposure` (poisson): log μᵢ = xᵢᵀβ + offsetᵢ + log exposureᵢ.
    `exact_data` = (rows of X, y) as `Fraction`s (or decimal strings), or a function returning them, for
    the exact method; by default the shortest decimal of each float. `tol`, `max_iter` tune the
    iterative methods. `progress` shows a progress line on stderr for iterative fits longer than a
    second (default: when stderr is a terminal).
    """
    if isinstance(model, str) and model.lower() in METHODS:
        model = model.lower()  # built-in names are case-insensitive
    if not isinstance(model, str) or model not in METHODS:
        # every other model (a model file, a Model, wls, probit, ...) is fitted from its planned derivation
        from derive.fitting.model_fit import fit_model
        return fit_model(model, X, y, method, values=values, weights=weights, names=names, tol=tol, max_iter=max_iter,
                         exact_data=exact_data, offset=None if offset is None and exposure is None else
                         _offset(offset, exposure, len(np.asarray(y if y is not None else X))))
    if method not in METHODS[model]:
        raise NotSupported(f"method {method!r} does not apply to {model}; use one of: {', '.join(METHODS[model])}")
    if data is not None or formula is not None:
        if data is None or formula is None or X is not None or y is not None:
            raise DataError("give data= and formula= together (instead of X and y)")
        from derive.fitting.data import frame_design
        design = frame_design(data, formula=formula)
        X, y, names = design.X, design.y, design.names
        exact_data = exact_data or (lambda: design.exact_data)
    elif X is None or y is None:
        raise DataError("give X and y (or data= and formula=)")
    if model == "ridge":
        if lam is None or not np.isfinite(lam) or lam < 0:
            raise DataError("ridge needs its penalty λ ≥ 0: give --lam on the command line, lam= in Python")
    elif lam is not None:
        raise NotSupported(f"lam (the ridge penalty) does not apply to {model}")
    if weights is not None and model not in ("ols", "ridge"):
        raise NotSupported(f"weights apply to ols and ridge (weighted least squares), not to {model}")
    if (offset is not None or exposure is not None) and model != "poisson":
        raise NotSupported(f"an offset or exposure applies to poisson, not to {model}")
    if model == "softmax" and (is_dask(X) or is_dask(y)):   # y holds class labels: its own chunked fit
        from derive.fitting.chunked import fit_softmax_chunked
        return fit_softmax_chunked(X, y, frame_names(X, names), tol, max_iter)
    if is_dask(X) or is_dask(y):
        from derive.fitting.chunked import fit_chunked
        return fit_chunked(model, X, y, method, lam, names, tol, max_iter, weights, offset, exposure)
    if model == "softmax":  # y holds class labels, of any kind: the model file's fit (its derived Hessian)
        X, _, names = _validated(X, np.zeros(len(X)), names)
        from derive.fitting.model_fit import fit_model
        return fit_model("softmax", X, np.asarray(y).reshape(-1), names=names, tol=tol, max_iter=max_iter,
                         progress=progress)
    # ols and ridge check the values themselves: the cholesky method sees them in XᵀX, its one pass over X
    X, y, names = _validated(X, y, names, check_values=model not in ("ols", "ridge"))
    if weights is not None:
        return fit_weighted(model, X, y, weights, method, lam, names)
    if model in ("ols", "ridge"):
        return fit_linear(model, X, y, method, lam, names, exact_data)
    return fit_glm(model, X, y, method, names, tol, max_iter, progress, _offset(offset, exposure, len(y)))


def _offset(offset, exposure, n):
    """offset + log(exposure), checked: finite, one per row, exposures > 0 (None when neither is given)."""
    total = None
    for values, what in ((offset, "offset"), (exposure, "exposure")):
        if values is None:
            continue
        values = np.asarray(values, dtype=float).reshape(-1)
        if len(values) != n:
            raise DataError(f"{len(values)} {what} values for {n} rows")
        bad = first_invalid(what, values)
        if bad is not None:
            raise per_row_error(what, values[bad], bad)
        term = np.log(values) if what == "exposure" else values
        total = term if total is None else total + term
    return total


def is_dask(value) -> bool:
    return type(value).__module__.split(".")[0] == "dask"


def frame_names(X, names):
    """Coefficient names: as given, else a DataFrame's column names (`sm.add_constant(df)` gives
    "const"), else x1, x2, ..."""
    if names is None and hasattr(X, "columns"):
        return [str(c) for c in X.columns]
    return names


def _validated(X, y, names, check_values=True):
    """X and y as float arrays of matching shapes, and the names; with `check_values`, every value finite."""
    names = frame_names(X, names)
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
    if check_values:
        check_finite(X, y, names)
    if d == 0:
        raise DataError("X has no columns")
    if n < d:
        raise DataError(f"{n} rows are fewer than the {d} parameters to fit")
    return X, y, names
