"""Separated classes in logistic regression: when a direction of the coefficients splits y = 0 from
y = 1 (perfectly, or but for ties), the likelihood has no maximum, and the message names that direction."""
import numpy as np

from derive.errors import DataError
from derive.fitting.triangular import solve_lower, solve_upper


def check_separation(eta, y, beta, names):
    """If Xβ > 0 exactly where y = 1, the classes are linearly separated and the likelihood has no maximum."""
    positive = eta > 0
    if np.all(positive == (y == 1)) and np.all(eta != 0):
        raise DataError(_separation_message(beta, names, quasi=False))


def check_quasi_separation(X, eta, y, beta, hessian, names):
    """Quasi-complete separation: some observations are fitted with probability 0 or 1 (all correctly),
    and along some direction v the likelihood is flat: vᵀHv ≪ vᵀ(XᵀX/4)v, the most curvature the
    logistic loss can have there. The coefficients would grow along v without bound; v is reported."""
    saturated = np.abs(eta) > 25  # fitted probability within 1e-11 of 0 or 1
    if not saturated.any() or np.any((eta[saturated] > 0) != (y[saturated] == 1)):
        return
    scale = np.linalg.norm(X, axis=0)
    L = np.linalg.cholesky((X.T @ X) / np.outer(scale, scale) / 4)
    M = solve_lower(L, solve_lower(L, hessian / np.outer(scale, scale)).T)  # L⁻¹ Hs L⁻ᵀ
    values, vectors = np.linalg.eigh((M + M.T) / 2)
    flat = vectors[:, values <= 1e-10]
    if not flat.size:
        return
    # Of the flat directions, the one the coefficients are running off along (with several flat
    # directions, an arbitrary eigenvector need not separate anything).
    running = flat @ (flat.T @ (L.T @ (scale * beta)))
    w = running if np.linalg.norm(running) > 0 else flat[:, 0]
    direction = solve_upper(L.T, w) / scale
    raise DataError(_separation_message(direction * np.sign(direction @ beta), names, quasi=True))


def _separation_message(beta, names, quasi):
    direction = beta / np.max(np.abs(beta))
    terms = [(w, name) for w, name in zip(direction, names) if abs(w) > 1e-4]  # rounding noise left out
    terms.sort(key=lambda t: t[0] < 0)  # positive terms first: 0.4·x − 1·intercept, as one writes it
    text = " ".join(f"{'−' if w < 0 else '+'} {abs(w):.4g}·{name}" for w, name in terms)
    terms = text[2:] if text.startswith("+ ") else "−" + text[2:]
    kind = "quasi-completely separated" if quasi else "perfectly separated"
    return (f"the classes are {kind}: {terms} > 0 {'almost ' if quasi else ''}exactly when y = 1, so the "
            "coefficients grow without bound (no maximum-likelihood estimate); drop or merge the separating "
            "columns, or use a penalised model")
