"""Separated classes in logistic regression: when a direction of the coefficients splits y = 0 from
y = 1 (perfectly, or but for ties), the likelihood has no maximum, and the message names that direction."""
import numpy as np

from derive.errors import DataError
from derive.fitting.triangular import solve_lower, solve_upper


class SeparatedClasses(DataError):
    """Separated classes, with the separating direction (so that a fit on rescaled columns can restate
    it in the columns' own units)."""

    def __init__(self, X, y, direction, names, quasi):
        super().__init__(_separation_message(X, y, direction, names, quasi))
        self.direction, self.names, self.quasi = direction, names, quasi

    def in_units(self, X, y, scale) -> "SeparatedClasses":
        """The same separation stated for X = (the fitted columns)·scale."""
        return SeparatedClasses(X, y, self.direction / scale, self.names, self.quasi)


def check_separation(X, eta, y, beta, names):
    """If Xβ > 0 exactly where y = 1, the classes are linearly separated and the likelihood has no maximum."""
    positive = eta > 0
    if np.all(positive == (y == 1)) and np.all(eta != 0):
        raise SeparatedClasses(X, y, beta, names, quasi=False)


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
    raise SeparatedClasses(X, y, direction * np.sign(direction @ beta), names, quasi=True)


def _separation_message(X, y, direction, names, quasi):
    w = printable_direction(X, y, direction, quasi)
    if w is None:
        where = "a direction of the coefficients (too long to print) separates them"
    else:
        terms = [(v, name) for v, name in zip(w, names) if v != 0]
        terms.sort(key=lambda t: t[0] < 0)  # positive terms first: 0.4·x − 1·intercept, as one writes it
        text = " ".join(f"{'−' if v < 0 else '+'} {repr(abs(float(v))).removesuffix('.0')}·{name}" for v, name in terms)
        where = (text[2:] if text.startswith("+ ") else "−" + text[2:]) + \
            f" > 0 {'almost ' if quasi else ''}exactly when y = 1"
    kind = "quasi-completely separated" if quasi else "perfectly separated"
    return (f"the classes are {kind}: {where}, so the coefficients grow without bound (no maximum-likelihood "
            "estimate); drop or merge the separating columns, or use a penalised model")


def printable_direction(X, y, direction, quasi):
    """The direction, scaled so that the term contributing most has coefficient ±1, rounded to as few
    significant digits as still separate the classes (checked on every row), with the terms whose largest contribution |wⱼ|·max|xⱼ| is negligible left out where that
    too keeps the separation; None if no rounding separates (then no direction is printed)."""
    scale = np.max(np.abs(X), axis=0)
    k = int(np.argmax(np.abs(direction) * scale))  # the term that contributes most gets coefficient ±1
    w = direction / abs(direction[k])
    largest = abs(w[k]) * scale[k]
    for digits in range(3, 18):
        rounded = np.array([float(f"{v:.{digits}g}") for v in w])
        for cutoff in (1e-6 * largest, 0.0):
            candidate = np.where(np.abs(rounded) * scale > cutoff, rounded, 0.0)
            if separates(X, y, candidate, quasi):
                return candidate
    return None


def separates(X, y, w, quasi) -> bool:
    """Whether Xw > 0 exactly where y = 1 (quasi: Xw ≥ 0 where y = 1 and ≤ 0 where y = 0, up to rounding)."""
    margin = (X @ w) * np.where(y == 1, 1.0, -1.0)
    if not quasi:
        return bool(np.all(margin > 0))
    return bool(np.all(margin >= -1e-9 * (np.abs(X) @ np.abs(w))))
