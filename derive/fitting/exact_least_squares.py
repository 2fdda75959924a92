"""Linear least squares in exact rational arithmetic: the normal equations XᵀXβ = Xᵀy (+ λβ) on the
decimal numbers themselves, solved by fraction-free (Bareiss) elimination on integers."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from derive.errors import DataError
from derive.fitting.design_columns import collinear_message, design_condition
from derive.fitting.least_squares import LeastSquaresSolution


def exact_least_squares(X, y, lam, names, exact_data) -> LeastSquaresSolution:
    rows, targets = _exact_values(X, y, exact_data)
    n, d = len(rows), len(names)
    # Integers: column j scaled by the common denominator D_j of its entries, y by D_y.
    scales = [_common_denominator(row[j] for row in rows) for j in range(d)]
    y_scale = _common_denominator(targets)
    A = np.array([[int(row[j] * scales[j]) for j in range(d)] for row in rows], dtype=object).reshape(n, d)
    t = np.array([int(v * y_scale) for v in targets], dtype=object)
    G, b = A.T.dot(A), A.T.dot(t)
    system = [[int(v) for v in G_row] for G_row in G]
    rhs = [int(v) for v in b]
    if lam:
        q = fraction(lam)
        system = [[v * q.denominator + (q.numerator * scales[i] ** 2 if i == j else 0) for j, v in enumerate(row)]
                  for i, row in enumerate(system)]
        rhs = [v * q.denominator for v in rhs]
    identity = [[int(i == j) for j in range(d)] for i in range(d)]
    det, solutions = _bareiss_solve(system, [rhs] + identity, names)
    z = [Fraction(v, det) for v in solutions[0]]
    coef_q = [z[j] * scales[j] / y_scale for j in range(d)]
    # ‖y − Xβ‖² = (tᵀt − 2zᵀb + zᵀGz)/D_y², with the unpenalised G.
    Gz = [sum(int(G[i, j]) * z[j] for j in range(d)) for i in range(d)]
    tt = sum(int(v) * int(v) for v in t)
    rss_q = (tt - 2 * sum(z[i] * int(b[i]) for i in range(d)) + sum(z[i] * Gz[i] for i in range(d))) / y_scale ** 2
    # Ridge (λ > 0) is well posed even for collinear columns: no standard errors, no collinearity check.
    inverse_diagonal = None if lam else [Fraction(solutions[1 + j][j], det) * scales[j] ** 2 for j in range(d)]
    return LeastSquaresSolution(np.array([float(c) for c in coef_q]), float(rss_q), inverse_diagonal,
                                None if lam else design_condition(X, names), "exact", exact=(coef_q, rss_q, targets))


def fraction(value) -> Fraction:
    """A number as an exact fraction: a float by its shortest decimal (what was typed)."""
    return value if isinstance(value, Fraction) else Fraction(repr(float(value)))


def _exact_values(X, y, exact_data):
    if callable(exact_data):  # computed only now that the exact method needs it
        exact_data = exact_data()
    if exact_data is None:  # the shortest decimal that reads back as each float: what was typed
        return [[fraction(v) for v in row] for row in X.tolist()], [fraction(v) for v in y.tolist()]
    rows, targets = exact_data
    try:
        rows = [[Fraction(v) for v in row] for row in rows]
        targets = [Fraction(v) for v in targets]
    except (TypeError, ValueError) as error:
        raise DataError(f"exact arithmetic needs rational data: {error}") from None
    if len(rows) != len(X) or any(len(row) != X.shape[1] for row in rows) or len(targets) != len(y):
        raise DataError("the exact data do not have the shape of X and y")
    return rows, targets


def _common_denominator(values) -> int:
    result = 1
    for v in values:
        result = math.lcm(result, v.denominator)
    return result


def _bareiss_solve(M, right_hand_sides, names):
    """Solve the symmetric positive (semi)definite integer system M·x = r for each r, fraction-free.

    Returns det(M) and, for each r, the integers det(M)·x (Cramer: they are integers). No pivoting: for a
    Gram matrix a zero pivot k means column k is a combination of the columns before it.
    """
    d = len(M)
    A = [list(M[i]) + [r[i] for r in right_hand_sides] for i in range(d)]
    width = len(A[0])
    previous = 1
    for k in range(d):
        if A[k][k] == 0:
            raise DataError(_collinear_message_exact(M, k, names))
        pivot_row = A[k]
        for i in range(k + 1, d):
            row = A[i]
            factor = row[k]
            for j in range(k + 1, width):
                row[j] = (row[j] * pivot_row[k] - factor * pivot_row[j]) // previous
            row[k] = 0
        previous = pivot_row[k]
    det = A[d - 1][d - 1]
    solutions = []
    for c in range(d, width):
        x = [0] * d
        for i in range(d - 1, -1, -1):
            total = det * A[i][c] - sum(A[i][j] * x[j] for j in range(i + 1, d))
            x[i] = total // A[i][i]
        solutions.append(x)
    return det, solutions


def _collinear_message_exact(G, k, names):
    """Which earlier columns column k is a combination of: solve G[:k,:k] c = G[:k,k] exactly."""
    if k == 0 or G[k][k] == 0:
        return f"{names[k]} is all zeros"
    A = [[Fraction(G[i][j]) for j in range(k)] + [Fraction(G[i][k])] for i in range(k)]
    for p in range(k):
        pivot = next(i for i in range(p, k) if A[i][p] != 0)
        A[p], A[pivot] = A[pivot], A[p]
        for i in range(k):
            if i != p and A[i][p] != 0:
                f = A[i][p] / A[p][p]
                A[i] = [a - f * b for a, b in zip(A[i], A[p])]
    involved = [names[i] for i in range(k) if A[i][k] != 0]
    return collinear_message(names[k], involved)
