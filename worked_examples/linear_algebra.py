"""Linear algebra: least squares as a linear system.

Run it with

    python worked_examples/linear_algebra.py [OUTPUT_FOLDER]

What it shows, top to bottom:
1. The normal equations XᵀXβ = Xᵀy, taken from derive's verified OLS derivation, are an ordinary
   linear system Aβ = b. We evaluate A and b on a small data set and solve the system with
   numpy.linalg.solve, and compare with numpy.linalg.lstsq, which solves the least-squares problem
   directly from X (by an orthogonal factorisation, without forming XᵀX).
2. The hat matrix H = X(XᵀX)⁻¹Xᵀ maps y to the fitted values ŷ = Hy. It is an orthogonal projection:
   symmetric (Hᵀ = H) and idempotent (H² = H: projecting twice changes nothing), with trace d.
3. XᵀX is positive semidefinite: vᵀXᵀXv = ‖Xv‖² ≥ 0, so its eigenvalues are ≥ 0.
4. Rank deficiency: a duplicated column makes XᵀX singular (an eigenvalue 0), the coefficients are no
   longer determined by the data, derive.fit refuses with an error naming the columns, and ridge
   regression (XᵀX + λI is invertible for λ > 0) still has a unique solution.
It writes one plot, `linear_algebra_eigenvalues.png`: the eigenvalues of XᵀX with and without the
duplicated column.
"""
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # write image files; no window needed
import matplotlib.pyplot as plt
import numpy as np
from course import heading, save_figure

import derive
from derive.core.numeval import evaluate
from derive.expr.printing import unicode


def make_data(n=20, seed=0):
    """A small regression data set: an intercept column and two random features."""
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.normal(size=n), rng.normal(size=n)])
    beta_true = np.array([1.0, 2.0, -0.5])
    y = X @ beta_true + 0.3 * rng.normal(size=n)
    return X, y


def main(output_dir=".") -> dict:
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    X, y = make_data()
    n, d = X.shape

    # ------------------------------------------------------------------------------------------------
    heading("1. The normal equations are a linear system")
    ols = derive.derivation("ols")
    # The step named "normal equations" holds the equation XᵀXβ = Xᵀy as a SymPy Eq(lhs, rhs).
    normal_step = next(step for step in ols.steps if step.rule == "normal equations")
    print(f"derive's step {ols.steps.index(normal_step) + 1}, '{normal_step.rule}' "
          f"(verified: {normal_step.verified}):  {unicode(normal_step.after)}")

    # To evaluate a derived expression we give every symbol a value: matrices as 2-d arrays
    # (vectors as n×1 columns) and the sizes n and d as integers.
    env = {"X": X, "y": y.reshape(-1, 1), "n": n, "d": d}

    # The left-hand side is linear in β: it is Aβ with A = XᵀX. Column j of A is A·eⱼ (eⱼ the j-th unit
    # vector), so evaluating the left-hand side with β = I (all unit vectors side by side) gives A itself.
    A = evaluate(normal_step.after.lhs, {**env, "beta": np.eye(d)})
    b = evaluate(normal_step.after.rhs, env)
    print(f"A = XᵀX is {A.shape[0]}×{A.shape[1]}, b = Xᵀy is {b.shape[0]}×{b.shape[1]}")

    beta_solve = np.linalg.solve(A, b).ravel()                # Gaussian elimination on Aβ = b
    beta_lstsq = np.linalg.lstsq(X, y, rcond=None)[0]        # least squares straight from X (SVD)
    # The derived closed form (XᵀX)⁻¹Xᵀy, evaluated literally (with an explicit inverse: fine for this
    # small, well-conditioned X; derive.fit never fits this way, see linear_regression.py).
    beta_formula = evaluate(ols.results["solution"], env).ravel()
    solve_vs_lstsq = float(np.max(np.abs(beta_solve - beta_lstsq)))
    formula_vs_lstsq = float(np.max(np.abs(beta_formula - beta_lstsq)))
    print(f"solve(A, b)           = {np.array2string(beta_solve, precision=10)}")
    print(f"lstsq(X, y)           = {np.array2string(beta_lstsq, precision=10)}")
    print(f"(XᵀX)⁻¹Xᵀy (derived)  = {np.array2string(beta_formula, precision=10)}")
    print(f"largest difference solve vs lstsq: {solve_vs_lstsq:.2e}, formula vs lstsq: {formula_vs_lstsq:.2e}")
    # At the solution the gradient 2XᵀXβ − 2Xᵀy (also derived) is zero.
    gradient_at_solution = evaluate(ols.results["gradient"], {**env, "beta": beta_solve.reshape(-1, 1)})
    print(f"derived gradient {unicode(ols.results['gradient'])} at the solution: "
          f"largest entry {np.max(np.abs(gradient_at_solution)):.2e}")

    # ------------------------------------------------------------------------------------------------
    heading("2. The hat matrix H = X(XᵀX)⁻¹Xᵀ is a projection")
    # NOTE: solve, not inv: (XᵀX)⁻¹Xᵀ is the solution Z of (XᵀX) Z = Xᵀ.
    H = X @ np.linalg.solve(X.T @ X, X.T)
    symmetry_error = float(np.max(np.abs(H - H.T)))
    idempotence_error = float(np.max(np.abs(H @ H - H)))
    fitted_error = float(np.max(np.abs(H @ y - X @ beta_solve)))
    trace = float(np.trace(H))
    print(f"H is {n}×{n}")
    print(f"max |H − Hᵀ|  = {symmetry_error:.2e}   (symmetric)")
    print(f"max |H² − H|  = {idempotence_error:.2e}   (idempotent: projecting twice = projecting once)")
    print(f"max |Hy − Xβ̂| = {fitted_error:.2e}   (H puts the hat on y: ŷ = Hy)")
    print(f"trace(H)      = {trace:.12f}   (= d = {d}, the dimension of the space it projects onto)")
    # Why H² = H, on paper: H² = X(XᵀX)⁻¹(XᵀX)(XᵀX)⁻¹Xᵀ = X(XᵀX)⁻¹Xᵀ = H.

    # ------------------------------------------------------------------------------------------------
    heading("3. XᵀX is positive semidefinite")
    psd_step = next(step for step in ols.steps if step.rule == "positive semidefinite")
    print(f"derive: {psd_step.explanation}")
    eigenvalues = np.linalg.eigvalsh(A)   # eigvalsh: for symmetric matrices, real eigenvalues, ascending
    print(f"eigenvalues of XᵀX: {np.array2string(eigenvalues, precision=6)}")
    condition_number = float(eigenvalues[-1] / eigenvalues[0])
    print(f"all > 0, so XᵀX is positive definite here (X has full column rank); "
          f"condition number λmax/λmin = {condition_number:.3g}")
    rng = np.random.default_rng(1)
    v = rng.normal(size=d)
    print(f"for a random v: vᵀXᵀXv = {v @ A @ v:.10f} and ‖Xv‖² = {np.sum((X @ v) ** 2):.10f}")

    # ------------------------------------------------------------------------------------------------
    heading("4. Rank deficiency: a duplicated column")
    names = ["intercept", "x1", "x2", "x1 copy"]
    X_dup = np.column_stack([X, X[:, 1]])
    A_dup = X_dup.T @ X_dup
    eigenvalues_dup = np.linalg.eigvalsh(A_dup)
    rank_full = int(np.linalg.matrix_rank(X))
    rank_dup = int(np.linalg.matrix_rank(X_dup))
    print(f"columns {names}: rank {rank_dup} < {X_dup.shape[1]} columns")
    print(f"eigenvalues of XᵀX: {np.array2string(eigenvalues_dup, precision=6)}  (one is 0 up to rounding)")
    # With a zero eigenvalue there is a direction v with X v = 0: here v = (0, 1, 0, −1). Adding any
    # multiple of v to a solution changes no fitted value, so the data cannot tell the solutions apart.
    null_direction = np.array([0.0, 1.0, 0.0, -1.0])
    print(f"X·(0, 1, 0, −1) = 0 up to {np.max(np.abs(X_dup @ null_direction)):.1e}: "
          "β and β + t·(0, 1, 0, −1) fit equally well for every t")
    # lstsq still returns something: of all the solutions, the one with the smallest norm, which splits
    # the x1 coefficient evenly between the two copies.
    beta_min_norm = np.linalg.lstsq(X_dup, y, rcond=None)[0]
    print(f"lstsq picks the minimum-norm solution: {np.array2string(beta_min_norm, precision=6)}")

    # derive.fit refuses: the coefficients are not identifiable, and it says which columns are to blame.
    try:
        derive.fit("ols", X_dup, y, names=names)
        collinear_message = None
    except derive.DataError as error:
        collinear_message = str(error)
    print(f"derive.fit('ols', ...) raises DataError: {collinear_message}")

    # Ridge adds λI: vᵀ(XᵀX + λI)v = ‖Xv‖² + λ‖v‖² > 0, so the system has exactly one solution.
    lam = 1.0
    ridge_eigenvalues = np.linalg.eigvalsh(A_dup + lam * np.eye(4))
    print(f"eigenvalues of XᵀX + λI (λ = {lam:g}): {np.array2string(ridge_eigenvalues, precision=6)}")
    ridge = derive.fit("ridge", X_dup, y, lam=lam, names=names)
    ridge_solution = derive.derivation("ridge").results["solution"]   # (XᵀX + λI)⁻¹Xᵀy
    ridge_formula = evaluate(ridge_solution, {"X": X_dup, "y": y.reshape(-1, 1), "lambda": lam,
                                              "n": n, "d": 4}).ravel()
    print(f"derive.fit('ridge', λ = {lam:g}): {np.array2string(ridge.coef, precision=6)}")
    print(f"derived {unicode(ridge_solution)}: {np.array2string(ridge_formula, precision=6)}")
    print("the two copies of x1 share the coefficient equally: the penalty λ‖β‖² prefers equal shares")

    # ------------------------------------------------------------------------------------------------
    figure, axis = plt.subplots(figsize=(6, 4))
    axis.semilogy(range(1, d + 1), eigenvalues, "o-", label="X (full column rank)")
    axis.semilogy(range(1, 5), np.maximum(np.abs(eigenvalues_dup), 1e-18), "s--", label="X with a duplicated column")
    axis.semilogy(range(1, 5), ridge_eigenvalues, "^:", label=f"duplicated column, XᵀX + λI (λ = {lam:g})")
    axis.set_xticks(range(1, 5))
    axis.set_xlabel("eigenvalue number (ascending)")
    axis.set_ylabel("eigenvalue of XᵀX (log scale)")
    axis.set_title("Eigenvalues of XᵀX")
    axis.legend()
    plot = save_figure(figure, output_dir, "linear_algebra_eigenvalues.png")

    return {
        "beta_solve": beta_solve, "beta_lstsq": beta_lstsq, "beta_formula": beta_formula,
        "solve_vs_lstsq": solve_vs_lstsq, "formula_vs_lstsq": formula_vs_lstsq,
        "gradient_at_solution": float(np.max(np.abs(gradient_at_solution))),
        "hat_symmetry_error": symmetry_error, "hat_idempotence_error": idempotence_error,
        "hat_trace": trace, "eigenvalues": eigenvalues, "condition_number": condition_number,
        "rank_full": rank_full, "rank_duplicated": rank_dup, "eigenvalues_duplicated": eigenvalues_dup,
        "beta_min_norm": beta_min_norm, "collinear_message": collinear_message,
        "ridge_coef": ridge.coef, "ridge_formula": ridge_formula, "plots": [plot],
    }


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else ".")
