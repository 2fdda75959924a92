"""Softmax (multinomial logistic) regression fitted with its derived loss, gradient and Hessian.

The plan derives ℓ(W) = −tr(Yᵀ log softmax(XW)), ∇ℓ = Xᵀ(P − Y) with P = softmax(XW), and the Hessian of vec(W)
as (I ⊗ X)ᵀS(I ⊗ X), S the covariance diag(pᵢ) − pᵢpᵢᵀ of each row of P (`planner.softmax_blocks` recognises
it). As written, S is an nK×nK matrix; its block (k, l) is diag(pₖ ⊙ (δₖₗ𝟏 − pₗ)), so the Hessian is the K×K
grid of d×d blocks Xᵀdiag(pₖ ⊙ (δₖₗ𝟏 − pₗ))X: O(nd²K²) time and O(nK + d²K²) memory beside X.

The loss is the same at W and W + a𝟏ᵀ (a verified step of the plan), so W is identified by fixing the last
class's column at 0: it is the reference, and each other column is that class's log-odds against it
(statsmodels' MNLogit takes the first class instead). Newton's method (`glm_fitting.newton`, with step
halving) runs on the d×(K − 1) free coefficients, and the standard errors are √diag(H⁻¹) of their Hessian at
the estimate. Perfectly separated classes (every row's own class scores highest) have no maximum-likelihood
estimate and are refused, naming the separating coefficients; so are quasi-completely separated ones.
The same Newton serves data in memory (`fit_softmax`) and in chunks (`chunked.fit_softmax_chunked`, where
the sums and the rows' margins are added over the chunks).
"""
from __future__ import annotations

import numpy as np

from derive.errors import DataError
from derive.fitting.glm_fitting import newton
from derive.fitting.triangular import solve_lower


def one_hot(labels) -> tuple[np.ndarray, list]:
    """(Y, classes): the n×K one-hot rows of a vector of class labels of any kind, the classes sorted."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise DataError(f"the class labels must be one column; got an array of shape {labels.shape}")
    missing = np.flatnonzero(labels != labels) if labels.dtype.kind == "f" else ()   # NaN ≠ NaN
    if len(missing):
        raise DataError(f"the class label is missing (NaN) at row {missing[0] + 1}")
    classes = np.unique(labels)
    if len(classes) < 2:
        raise DataError(f"every label is {classes[0]!r}: softmax regression needs two or more classes")
    named = classes.tolist()
    if classes.dtype.kind == "f" and np.all(np.isfinite(classes)) and np.all(classes == np.round(classes)):
        named = [int(c) for c in named]   # classes 0, 1, 2 read as numbers from a CSV: named 0, 1, 2, not 0.0
    return (labels[:, None] == classes[None, :]).astype(float), named


ROWS_PER_CHUNK = 8192   # rows of X taken at a time: the working memory is this many rows × d(K − 1)


def block_hessian(X, P) -> np.ndarray:
    """The Hessian of the loss in the free coefficients θ = vec of W[:, :K−1] by rows (θ[j(K−1) + k] = W_jk):
    block (k, l) = Xᵀdiag(pₖ ⊙ (δₖₗ𝟏 − pₗ))X for the K − 1 free classes. Chunk by chunk of rows, with
    G = [diag(p₁)X … diag(p_{K−1})X]: the blocks are Xᵀdiag(pₖ)X on the diagonal minus GᵀG, one product."""
    n, d = X.shape
    free = P.shape[1] - 1
    H = np.zeros((free * d, free * d))          # class-major: rows k·d + j
    for start in range(0, n, ROWS_PER_CHUNK):
        rows = X[start:start + ROWS_PER_CHUNK]
        G = (P[start:start + ROWS_PER_CHUNK, :free, None] * rows[:, None, :]).reshape(len(rows), free * d)
        H -= G.T @ G
        for k in range(free):
            H[k * d:(k + 1) * d, k * d:(k + 1) * d] += rows.T @ G[:, k * d:(k + 1) * d]
    return H.reshape(free, d, free, d).transpose(1, 0, 3, 2).reshape(d * free, d * free)


def with_reference(theta, d, K):
    """W (d×K) from the free coefficients θ (W[:, :K−1] by rows), the reference class's column 0."""
    W = np.zeros((d, K))
    W[:, :-1] = theta.reshape(d, K - 1)
    return W


def free_part(gradient):
    """The gradient in the free coefficients: ∇ℓ (d×K) without the reference class's column, by rows."""
    return np.asarray(gradient, dtype=float)[:, :-1].reshape(-1)


def fit_softmax(evaluate, X, Y, names, classes, tol, max_iter, progress):
    """Newton's method on the free coefficients, from W = 0, with the data in memory. `evaluate(W)` is
    (loss, gradient d×K, P) from the derived results; X is the design matrix (the A of the Hessian's I ⊗ A)."""
    d, K = X.shape[1], Y.shape[1]
    labels = np.argmax(Y, axis=1) if np.all((Y == 0) | (Y == 1)) else None

    def at(theta):
        W = with_reference(theta, d, K)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            loss, gradient, P = evaluate(W)
        return float(loss), free_part(gradient), block_hessian(X, np.asarray(P, dtype=float)), X @ W

    def separated(theta, scores, hessian):
        if labels is not None:
            W = with_reference(theta, d, K)
            check_softmax_separation(margin_summary(scores, labels, K), W, hessian, lambda: X.T @ X, names, classes,
                                     lambda: printable(W, X, labels))

    return newton_with_reference(at, separated, X, len(X), d, names, classes, labels is not None, tol, max_iter,
                                 progress)


def newton_with_reference(at, separated, X, n, d, names, classes, one_hot_rows, tol, max_iter, progress):
    """`glm_fitting.newton` on θ from 0 with `at(θ)` = (loss, gradient, Hessian, scores), in memory or summed
    over chunks (X None: then collinear columns are not named), and the record a softmax fit states."""
    # the column names for messages about the columns of X (collinear ones); the coefficients' own after
    result = newton("softmax", at, np.zeros(d * (len(classes) - 1)), names, tol, max_iter, progress,
                    data=None if X is None else (X, None), separated=separated)
    result.names = [f"{name}[{c}]" for name in names for c in classes[:-1]]
    result.nobs = n
    result.classes = list(classes)
    if one_hot_rows:   # the loss is then the negative log-likelihood of the categorical model
        result.loglike = -result.loss
    result.notes.append(f"softmax: W is d×K, a column per class; the loss is the same at W and W + a𝟏ᵀ, so the last "
                        f"class ({classes[-1]}) is the reference, its column fixed at 0, and each other column is "
                        "that class's log-odds against it; standard errors from the derived Hessian "
                        "(I ⊗ X)ᵀS(I ⊗ X) at the estimate, evaluated block by block")
    return result


def margin_summary(scores, labels, K):
    """(for each class, the least margin of its rows, +inf for none; the largest margin of any row), the margin
    of row i being its own class's score minus the largest other score: sums over chunks combine them."""
    own = scores[np.arange(len(labels)), labels]
    others = np.where(np.arange(K)[None, :] == labels[:, None], -np.inf, scores)
    margin = own - others.max(axis=1)
    least = np.full(K, np.inf)
    np.minimum.at(least, labels, margin)
    return least, float(margin.max()) if len(margin) else -np.inf


def check_softmax_separation(summary, W, hessian, gram, names, classes, shown):
    """No maximum-likelihood estimate: when every row's own class has the strictly largest score (perfect
    separation: scaling W up lowers the loss towards 0), or when the rows fitted with probability within 1e-11
    of 0 or 1 are all fitted correctly and the Hessian has a flat direction (quasi-complete separation).
    `summary` is `margin_summary`'s; `gram()` gives XᵀX; `shown()` W as printed, checked to separate."""
    least, largest = summary
    if np.all(least > 0):
        raise DataError(_separation_message(shown(), names, classes, quasi=False))
    if hessian is None or not largest > 25 or np.min(least) < -25:
        return
    # Flat relative to the most curvature the loss can have, (XᵀX ⊗ I)/2 in θ's order (each pᵢ's covariance
    # is at most I/2): as for logistic regression (separation.check_quasi_separation).
    bound = np.kron(gram(), np.eye(W.shape[1] - 1)) / 2
    try:
        L = np.linalg.cholesky(bound)
    except np.linalg.LinAlgError:   # collinear columns: said elsewhere, by name
        return
    M = solve_lower(L, solve_lower(L, hessian).T)
    if np.linalg.eigvalsh((M + M.T) / 2)[0] <= 1e-10:
        apart = [classes[c] for c in range(W.shape[1]) if least[c] > 25]
        raise DataError(_separation_message(None, names, classes, quasi=True, apart=apart))


def _separation_message(shown, names, classes, quasi, apart=()) -> str:
    kind = "quasi-completely separated" if quasi else "perfectly separated"
    which = (f"class {', '.join(map(str, apart))} is separated from the others by a linear function of "
             f"{', '.join(names)} (its rows are fitted with probability 1 to within 1e-11)" if apart else
             "the rows fitted with probability near 1 are all of their own class")
    where = (f"{which}, and the likelihood is flat along a direction of the coefficients" if quasi else
             f"with W = [{shown}] (a column per class, in the order {', '.join(map(str, classes))}; "
             f"rows {', '.join(names)}) every row's own class has the largest score xᵢᵀw_c")
    return (f"the classes are {kind}: {where}, so the coefficients grow without bound (no maximum-likelihood "
            "estimate); drop or merge the separating columns, or use a penalised model")


def printable(W, X=None, labels=None) -> str:
    """W to as few significant digits as still separate every row of X (checked), as rows of numbers; in
    full without X (then W itself is what separated them)."""
    for digits in range(3, 18) if X is not None else ():
        rounded = np.array([[float(f"{v:.{digits}g}") for v in row] for row in W])
        scores = X @ rounded
        own = scores[np.arange(len(labels)), labels]
        scores[np.arange(len(labels)), labels] = -np.inf
        if np.all(own > scores.max(axis=1)):
            return "; ".join(", ".join(repr(float(v)).removesuffix(".0") for v in row) for row in rounded)
    return "; ".join(", ".join(repr(float(v)) for v in row) for row in W)
