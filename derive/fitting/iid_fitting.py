"""The iid sample of vectors, mvn (μ, Σ), fitted to columns; and the evaluation of a derived result in
summation notation (`value_of_sums`), which the model-file fit uses for the sums a derivation drops.

The estimates are the derived `solution` (the MLE) at the data; the standard errors of μ̂ come from the
derived `hessian` of μ (nΣ⁻¹) at that estimate, √diag(H⁻¹) (the inverse observed information): Σ̂ has none.
The scalar iid models (gaussian, bernoulli, exponential, …) are model files, fitted by `model_fit`.
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from derive.errors import DataError, NotSupported
from derive.fitting.codegen import derived_results, lambdify, model_arguments
from derive.fitting.result import FitResult

_FUNCTIONS = {sp.log: np.log, sp.exp: np.exp}


def fit_iid(model: str, sample, names=None) -> FitResult:
    """Fit the iid model `model` (mvn) to the sample's rows."""
    sample = np.asarray(sample, dtype=float)
    return _fit_mvn(sample if sample.ndim == 2 else sample[:, None], names)


def _hessian_errors(H):
    """√diag(H⁻¹) from the Cholesky factor of H scaled to a unit diagonal, and that scaled H's condition."""
    scale = np.sqrt(np.diag(H))
    try:
        L = np.linalg.cholesky(H / np.outer(scale, scale))
    except np.linalg.LinAlgError:
        raise DataError("the derived Hessian is not positive definite at the estimate: no standard errors") from None
    L_inv = np.linalg.solve(L, np.eye(len(L)))
    return np.sqrt(np.einsum("ij,ij->j", L_inv, L_inv)) / scale, float(np.linalg.cond(L)) ** 2


def value_of_sums(expr, scalars, sample, index=None):
    """The value of a derived result in summation notation: scalars by name, x[i] as the sample (a vector
    over i inside Σᵢ), each Σ a correctly rounded sum."""
    if isinstance(expr, sp.MatrixBase):
        return np.array([[value_of_sums(e, scalars, sample, index) for e in row] for row in expr.tolist()])
    if expr.is_number:  # a constant: 2, 1/2, π
        return float(expr)
    if isinstance(expr, sp.Symbol):
        if str(expr) not in scalars:
            raise NotSupported(f"no value for {expr} in the derived result")
        return scalars[str(expr)]
    if isinstance(expr, sp.Indexed):
        if expr.indices != (index,):
            raise NotSupported(f"cannot evaluate {expr} outside its sum")
        return sample
    if isinstance(expr, sp.Sum):
        (i, low, high), *rest = expr.limits
        if rest or low != 1 or str(high) != "n":
            raise NotSupported(f"cannot evaluate the sum {expr}")
        terms = np.broadcast_to(value_of_sums(expr.function, scalars, sample, i), sample.shape)
        return math.fsum(terms.tolist())
    if isinstance(expr, sp.Add):
        return sum((value_of_sums(a, scalars, sample, index) for a in expr.args), 0.0)
    if isinstance(expr, sp.Mul):
        return math.prod((value_of_sums(a, scalars, sample, index) for a in expr.args), start=1.0)
    if isinstance(expr, sp.Pow):
        return value_of_sums(expr.base, scalars, sample, index) ** value_of_sums(expr.exp, scalars, sample, index)
    if isinstance(expr, sp.log) and isinstance(expr.args[0], sp.factorial):
        from scipy.special import gammaln  # log(k!) = log Γ(k + 1): k! itself overflows beyond k = 170
        return gammaln(value_of_sums(expr.args[0].args[0], scalars, sample, index) + 1.0)
    if type(expr) in _FUNCTIONS:
        return _FUNCTIONS[type(expr)](value_of_sums(expr.args[0], scalars, sample, index))
    raise NotSupported(f"cannot evaluate {type(expr).__name__} in a derived result: {expr}")


def _fit_mvn(X, names) -> FitResult:
    n, d = X.shape
    if not np.all(np.isfinite(X)):
        raise DataError("the sample has NaN or infinite values")
    if n <= d:
        raise DataError(f"mvn needs more observations ({n}) than dimensions ({d}) for Σ̂ to be invertible")
    results = derived_results("mvn")
    mean_expr, covariance_expr = results["solution"]
    mu = np.asarray(lambdify(mean_expr, model_arguments(mean_expr))(None, X), dtype=float).reshape(-1)
    Sigma = np.asarray(lambdify(covariance_expr, model_arguments(covariance_expr))(None, X), dtype=float)
    hessian_expr, loss_expr = results["hessian"], results["loss"]
    H = lambdify(hessian_expr, model_arguments(hessian_expr))
    arguments = {str(a): a for a in model_arguments(hessian_expr)}
    if set(arguments) - {"beta", "X", "y", "Sigma", "n"}:
        raise NotSupported(f"the derived Hessian of mvn has arguments {sorted(arguments)}")
    hessian = np.asarray(H(None, None, None, Sigma, n), dtype=float)
    loss = float(lambdify(loss_expr, model_arguments(loss_expr))(None, X, None, Sigma, mu))
    std_errors, condition = _hessian_errors(hessian)
    names = [str(v) for v in names] if names is not None else [f"x{j + 1}" for j in range(d)]
    result = FitResult("mvn", "closed form", [f"mu[{v}]" for v in names], mu, std_errors, True, None, loss,
                       loglike=-loss, condition_number=condition, nobs=n)
    result.covariance = Sigma
    result.notes.append("mvn: μ̂ and Σ̂ from the derived solution (Σ̂ in .covariance, no standard errors); standard "
                        "errors of μ̂ from the derived Hessian nΣ⁻¹ at the MLE")
    return result
