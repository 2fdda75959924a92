"""Multinomial logistic (softmax) regression with the derived loss and gradient, loss
−Σᵢ [log Σₖ exp(xᵢᵀwₖ) − xᵢᵀw_{yᵢ}], gradient Xᵀ(P − Y).

The coefficients W (d×K, a column per class) are identified by fixing the last class's column at 0:
it is the reference, and each other column is that class's log-odds against it (statsmodels' MNLogit
takes the first class instead). Newton's method on the d×(K − 1) free coefficients; the Hessian, which
the derivation does not give for a matrix parameter, is the central difference of the derived gradient
(about 9 correct digits), and so are the standard errors taken from it at the estimate.
"""
from __future__ import annotations

import numpy as np

from derive.errors import DataError
from derive.fitting.codegen import lambdify_results
from derive.fitting.glm_fitting import newton
from derive.fitting.result import FitResult


def fit_softmax(X, labels, names, tol, max_iter, progress) -> FitResult:
    labels = np.asarray(labels)
    if labels.ndim != 1 or len(labels) != len(X):
        raise DataError(f"y must be a vector of the {len(X)} class labels; got shape {labels.shape}")
    classes = _classes(labels)
    if len(classes) < 2:
        raise DataError(f"every y is {classes[0]!r}: softmax regression needs two or more classes")
    Y = (labels[:, None] == np.array(classes, dtype=labels.dtype)[None, :]).astype(float)
    n, d = X.shape
    K = len(classes)
    functions = lambdify_results("softmax", ("loss", "gradient"))

    def loss_and_gradient(theta):
        W = np.zeros((d, K))
        W[:, :-1] = theta.reshape(d, K - 1)
        with np.errstate(over="ignore", invalid="ignore"):
            loss, gradient = functions(None, X, None, W, Y)
        return float(loss), np.asarray(gradient)[:, :-1].reshape(-1)

    def evaluate(theta):
        loss, gradient = loss_and_gradient(theta)
        return loss, gradient, _central_difference_hessian(loss_and_gradient, theta), None

    free = [f"{name}[{c}]" for name in names for c in classes[:-1]]
    result = newton("softmax", evaluate, np.zeros(d * (K - 1)), free, tol or 1e-8, max_iter or 100, progress)
    result.nobs = n
    result.loglike = -result.loss
    result.classes = list(classes)
    result.notes.append(f"softmax: W is d×K, a column per class; the last class ({classes[-1]}) is the reference, "
                        "its column fixed at 0; standard errors from the central-difference Hessian of the "
                        "derived gradient")
    return result


def _classes(labels) -> list:
    values = np.unique(labels)
    return sorted(values.tolist())


def _central_difference_hessian(loss_and_gradient, theta):
    """H[:, j] = (g(θ + hⱼeⱼ) − g(θ − hⱼeⱼ)) / 2hⱼ with hⱼ = ε^(1/3)·max(1, |θⱼ|), symmetrised."""
    step = np.finfo(float).eps ** (1 / 3) * np.maximum(1.0, np.abs(theta))
    H = np.empty((len(theta), len(theta)))
    for j in range(len(theta)):
        e = np.zeros(len(theta))
        e[j] = step[j]
        H[:, j] = (loss_and_gradient(theta + e)[1] - loss_and_gradient(theta - e)[1]) / (2 * step[j])
    return (H + H.T) / 2
