"""Triangular algebra with numpy alone, for the fitting code.

`np.linalg.solve` on an upper-triangular matrix does no pivoting (every entry below the diagonal is zero),
so it is back substitution; lower-triangular systems are solved as upper ones by reversing the order of
rows and columns.
"""
import numpy as np


def solve_upper(R, b):
    return np.linalg.solve(R, b)


def solve_lower(L, b):
    return np.linalg.solve(L[::-1, ::-1], b[::-1])[::-1]


def solve_gram(R, b):
    """x with RᵀR·x = b, by two triangular solves: RᵀR itself is never formed (it squares the condition)."""
    return solve_upper(R, solve_lower(R.T, b))


def inverse_gram_diagonal(R):
    """diag((RᵀR)⁻¹) = squared row norms of R⁻¹, for the standard errors."""
    R_inv = solve_upper(R, np.eye(len(R)))
    return np.einsum("ij,ij->i", R_inv, R_inv)


def scaled_condition(R):
    """The condition number of an upper-triangular factor with its columns scaled to unit norm."""
    norms = np.linalg.norm(R, axis=0)
    return float(np.linalg.cond(R / np.where(norms > 0, norms, 1.0)))
