"""The iid models fitted to a sample: gaussian (μ, σ²) and bernoulli (p) to a column.

Each estimate is the model's derived `solution` (its MLE), evaluated at the data, and each standard error
comes from the derived `hessian` of the negative log-likelihood at that estimate, √diag(H⁻¹) (the
inverse observed information). The derived results of gaussian and bernoulli are in summation notation
(Σᵢ over the observations xᵢ): they are evaluated here with each sum a vectorised numpy sum (math.fsum,
correctly rounded), never term by term. (mvn is a model file, fitted by `model_fit`.)
"""
from __future__ import annotations

import math

import numpy as np
import sympy as sp

from derive.errors import DataError, NotSupported
from derive.fitting.codegen import derived_results
from derive.fitting.result import FitResult
from derive.fitting.support import check_support

# The parameters of each iid model, in the order of its derived solution, and what a sample must be.
PARAMETERS = {"gaussian": ("mu", "sigma^2"), "bernoulli": ("p",)}

_FUNCTIONS = {sp.log: np.log, sp.exp: np.exp}


def fit_iid(model: str, sample, names=None) -> FitResult:
    sample = np.asarray(sample, dtype=float)
    if sample.ndim == 2 and 1 in sample.shape:
        sample = sample.reshape(-1)
    if sample.ndim != 1:
        raise DataError(f"{model} is fitted to one column; got an array of shape {sample.shape}")
    _check_sample(model, sample)
    n = len(sample)
    results = derived_results(model)
    symbols = {str(s): s for e in results.values() for s in e.free_symbols if isinstance(s, sp.Symbol)}
    scalars = {"n": n}
    solution = value_of_sums(results["solution"], scalars, sample)
    estimates = np.atleast_1d(np.asarray(solution, dtype=float)).reshape(-1)
    scalars.update(zip(PARAMETERS[model], estimates.tolist()))
    missing = [p for p in PARAMETERS[model] if p not in symbols]
    if missing:
        raise NotSupported(f"the derived results of {model} have no parameter {missing[0]!r}")
    hessian = np.atleast_2d(np.asarray(value_of_sums(results["hessian"], scalars, sample), dtype=float))
    loss = float(value_of_sums(results["loss"], scalars, sample))
    std_errors, condition = _hessian_errors(hessian)
    result = FitResult(model, "closed form", list(PARAMETERS[model]), estimates, std_errors, True, None, loss,
                       loglike=-loss, condition_number=condition, nobs=n)
    result.notes.append(f"{model}: the MLE from the derived solution; standard errors √diag(H⁻¹) from the derived "
                        "Hessian at the MLE")
    return result


def _check_sample(model, sample):
    if not np.all(np.isfinite(sample)):
        i = int(np.flatnonzero(~np.isfinite(sample))[0])
        raise DataError(f"the sample has a non-finite value at row {i + 1}")
    if len(sample) < 2:
        raise DataError(f"{model} needs two or more observations")
    if model == "bernoulli":
        check_support(model, sample, "x")
        if np.all(sample == sample[0]):
            raise DataError(f"every observation is {int(sample[0])}: the MLE p̂ = {int(sample[0])} is on the boundary, "
                            "where the Hessian (and so the standard error) does not exist")
    if model == "gaussian" and np.all(sample == sample[0]):
        raise DataError("every observation is the same: σ̂² = 0, at the boundary of the model")


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
