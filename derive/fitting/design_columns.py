"""What the fitting methods need to know about the columns of a design X: which one is the intercept,
whether one is a linear combination of others (and of which), and how many digits floating point may
lose on them."""
import numpy as np

from derive.errors import DataError
from derive.fitting.triangular import scaled_condition, solve_upper

# A column whose distance from the span of the previous columns is below this fraction of its norm is
# taken as a linear combination of them (exactly collinear columns give ~1e-16 in floating point).
COLLINEAR = 1e-11


class ValueAtRow(DataError):
    """A value the fit cannot take, in data row `row` (0-based) of `column`, or, when `column` is None, of
    the per-row values of `role` ("weights", "offset", "exposure"; None: the target). From Python the
    message ends "at row 3"; `located` names the file and line instead (what an editor shows)."""

    def __init__(self, message: str, row: int, column: str | None = None, role: str | None = None):
        self.message, self.row, self.column, self.role = message, row, column, role
        super().__init__(f"{message} at row {row + 1}" + (f", column {column!r}" if column else ""))

    def __reduce__(self):  # raised in a dask worker, it reaches the client pickled
        return type(self), (self.message, self.row, self.column, self.role)

    def column_in(self, target: str, per_row: dict | None = None) -> str:
        """The column of a data file the value is in: its own, the target's, or the one given for its role
        in `per_row` ({"weights": "w", ...})."""
        return self.column or ((per_row or {}).get(self.role) if self.role else target)

    def located(self, where, target: str, per_row: dict | None = None) -> DataError:
        """The error at `where(row, column)` ("data.csv, line 4, column 'y'")."""
        return DataError(f"{where(self.row, self.column_in(target, per_row))}: {self.message}")


class NonFiniteValue(ValueAtRow):
    """A NaN or ±inf where a finite number is needed (in a data file, the cell says better what it holds)."""


# What each column given per row (`derive fit --weights COL`, ...) must hold.
PER_ROW_REQUIREMENTS = {"weights": "finite and ≥ 0", "offset": "finite", "exposure": "finite and > 0"}


def invalid_per_row(role: str, values):
    """True where a per-row column of this role holds a value it may not (see PER_ROW_REQUIREMENTS); numpy
    or dask arrays alike."""
    valid = np.isfinite(values)
    if role == "weights":
        valid &= values >= 0
    elif role == "exposure":
        valid &= values > 0
    return ~valid


def first_invalid(role: str, values) -> int | None:
    """The index of the first value that a per-row column of this role may not hold, or None."""
    bad = np.flatnonzero(invalid_per_row(role, values))
    return int(bad[0]) if bad.size else None


def per_row_error(role: str, value, row: int) -> ValueAtRow:
    """The error for a per-row value its role does not allow: "the weights must be finite and ≥ 0; -1.0 is
    not at row 3"."""
    return ValueAtRow(f"the {role} must be {PER_ROW_REQUIREMENTS[role]}; {float(value)!r} is not", row, role=role)


def power_of_two_scale(values):
    """For each value far from 1 (beyond 2^±100, where squares and products near overflow or underflow),
    the power of two nearest to it, else 1 (no copy of the data is needed then): dividing by it is exact,
    so columns scaled by it lose no digit, and values near 1e±300 neither overflow nor look constant."""
    values = np.asarray(values, dtype=float)
    exponents = np.frexp(np.where(values > 0, values, 1.0))[1] - 1
    return np.ldexp(1.0, np.where(np.abs(exponents) > 100, exponents, 0))


def check_finite(X, y, names, first_row: int = 0) -> None:
    """ValueAtRow naming the first NaN or infinite value of X (its row and column name) or of y; the rows
    are counted from `first_row` (X and y may be a block of a larger design)."""
    for values, what in ((X, "X"), (y, "y")):
        # A NaN or ±inf makes the sum non-finite; the sum is a cheaper pass than an elementwise test,
        # which runs only then (a finite sum can still overflow, so the test decides).
        if np.isfinite(values.sum()) or np.isfinite(values).all():
            continue
        first_bad = np.argwhere(~np.isfinite(values))[0]
        i, *j = first_bad
        raise NonFiniteValue(f"{what} has {'a NaN' if np.isnan(values[tuple(first_bad)]) else 'an infinite'} value",
                         first_row + int(i), names[j[0]] if j else None)


def column_scale(X, squares=None):
    """`power_of_two_scale` of each column's largest |value|: 1 everywhere, known from the columns' sums of
    squares (one fast pass, or `squares` when the caller formed them already), when none comes near
    overflow or underflow; else from the magnitudes."""
    if squares is None:
        with np.errstate(over="ignore"):
            squares = np.einsum("ij,ij->j", X, X)
    if np.all((squares >= 2.0 ** -200) & (squares <= 2.0 ** 200)):  # then every |value| ≤ 2^100
        return np.ones(X.shape[1])
    return power_of_two_scale(column_magnitudes(X))


def column_magnitudes(X):
    """max |xᵢⱼ| of each column, by two reductions (np.abs(X) would copy the whole design)."""
    return np.maximum(X.max(axis=0), -X.min(axis=0))


def constant_column(X) -> int | None:
    """The index of a nonzero constant column (an intercept), if X has one."""
    if len(X) < 2:
        return None
    for j in np.flatnonzero((X[1] == X[0]) & (X[0] != 0)):  # candidates from two rows, then checked
        if np.all(X[:, j] == X[0, j]):
            return int(j)
    return None


def split_intercept(X) -> tuple[int | None, list[int]]:
    """The intercept column to centre the other columns on, and the indices of the others. No intercept
    (None) when X has no constant column, or when that is its only column: nothing is left to centre."""
    c = constant_column(X)
    if c is not None and X.shape[1] == 1:
        c = None
    return c, [j for j in range(X.shape[1]) if j != c]


def design_condition(X, names):
    """The condition number of the design with its columns centred (when there is an intercept) and
    scaled to unit norm, the usual measure of how many digits floating point can lose; DataError if a
    column is a combination of others to within rounding (then even exact results mean nothing)."""
    c, keep = split_intercept(X)
    Z = X[:, keep] - X[:, keep].mean(axis=0) if c is not None else X
    R = np.linalg.qr(Z, mode="r")
    check_collinear(R, np.linalg.norm(Z, axis=0), [names[j] for j in keep], names[c] if c is not None else None)
    return scaled_condition(R)


def check_collinear(R, column_norms, names, intercept_name):
    """DataError naming the columns if one is (numerically) a combination of the ones before it.

    R is the triangular factor of the columns (centred on the intercept `intercept_name`, if not None),
    `column_norms` their norms, `names` their names."""
    for k in range(len(R)):
        if column_norms[k] == 0 or abs(R[k, k]) <= COLLINEAR * column_norms[k]:
            if column_norms[k] == 0:
                raise DataError(f"{names[k]} is constant, like the intercept" if intercept_name
                                else f"{names[k]} is all zeros")
            coefficients = solve_upper(R[:k, :k], R[:k, k]) if k else np.zeros(0)
            involved = [names[j] for j in range(k) if abs(coefficients[j]) * column_norms[j] > 1e-8 * column_norms[k]]
            if intercept_name:
                involved.append(intercept_name)
            raise DataError(collinear_message(names[k], involved))


def collinear_message(column, involved):
    others = ", ".join(involved) if involved else "the columns before it"
    return (f"collinear columns: {column} is a linear combination of {others}; "
            "drop one of them (the coefficients are not identifiable)")
